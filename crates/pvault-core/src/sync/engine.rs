//! One sync: pull what changed there, push what changed here, settle what the server refused, pull
//! again.
//!
//! Every step commits locally before the next request, together with the position it reached, so an
//! interrupted sync loses nothing and the next one resumes: a pushed row stays dirty until the server's
//! answer is stored; a pulled page and the sequence number after it commit in one transaction.
//!
//! Nothing the server says is taken on trust. A page must extend the hash chain this device saw; the
//! changes this device pushed must be in the log where the server acknowledged them; each version
//! of a record must take its place in the record's own chain (`n` moves forward, `prev` names the
//! version before it: see `replica/item.rs`), which the server cannot forge; and a change the server
//! sends without its contents must be superseded by a later one. Whatever fails stops the sync
//! before anything of the page is stored, and the first pull comes before the first push, so a
//! server caught lying gets nothing new.

use std::collections::{BTreeMap, HashMap};

use pvault_proto::batch::{
    CONTENT_TYPE, Change, PullPage, PushItem, PushRequest, PushResult, RemoteRecord,
};
use pvault_proto::chain::{ChainHead, blob_hash};

use super::device::credentials;
use super::state::SyncReport;
use super::transport::{Server, Signer};
use crate::error::{Error, Result};
use crate::replica::{Link, OpenedItem};
use crate::store::{self, DirtyRow, Row, SyncPoint, WriteTx};
use crate::vault::Vault;
use pvault_model::Policy;
use pvault_model::resolve::{self, Context, Decision};

/// Rows per push request.
pub(super) const PUSH_ITEMS: usize = 2000;
/// Bytes of sealed rows per push request (the server's default limit is 32 MiB).
const PUSH_BYTES: usize = 8 << 20;
/// Changes per pull page.
const PULL_LIMIT: usize = 2000;
/// Push/pull rounds before giving up on a profile that other devices keep changing.
const MAX_ROUNDS: u32 = 8;

/// What a sync is doing, for progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Sending local changes (done, total).
    Push,
    /// Receiving changes (done so far, the server's head).
    Pull,
}

pub(crate) struct Engine<'a> {
    pub vault: &'a Vault,
    pub server: Server,
    pub signer: Signer,
    pub account: [u8; 16],
    pub policy: &'a Policy,
    pub report: SyncReport,
    /// Records this sync pushed, with the sequence number the server gave each and the hash of
    /// what was pushed: the pull that follows skips decrypting them (it still chains them).
    pub pushed: HashMap<[u8; 16], u64>,
    /// The same by sequence number: the log must hold exactly these changes there.
    pub acked: BTreeMap<u64, ([u8; 16], [u8; 32])>,
    /// Other devices' keys and checkpoints this sync found good, stored when it ends.
    pub peers_seen: store::PeersSeen,
    /// The checkpoints the last pull page carried, with the size their proofs go to.
    pub published: Option<(u64, pvault_proto::api::Checkpoints)>,
}

/// A pulled change opened: a record's version, or an audit item.
enum Opened {
    Row(OpenedItem),
    Audit(crate::replica::AuditItem),
}

impl<'a> Engine<'a> {
    /// The engine of a profile set up for sync.
    pub(super) fn open(vault: &'a Vault, policy: &'a Policy) -> Result<Engine<'a>> {
        let (cfg, server, signer) = credentials(vault)?;
        let account = pvault_proto::parse_id16("account id", &cfg.account_id)
            .map_err(|_| Error::SyncTampered("account id".into()))?;
        Ok(Engine {
            vault,
            server,
            signer,
            account,
            policy,
            report: SyncReport::default(),
            pushed: Default::default(),
            acked: Default::default(),
            peers_seen: Default::default(),
            published: None,
        })
    }

    pub(super) fn path(&self, tail: &str) -> String {
        format!("/v1/profiles/{}/{tail}", hex::encode(self.account))
    }

    /// Records that the server acknowledged `rid` at `seq` with the item hashing to `hash`.
    pub(super) fn acknowledged(&mut self, rid: [u8; 16], seq: u64, hash: [u8; 32]) {
        self.pushed.insert(rid, seq);
        self.acked.insert(seq, (rid, hash));
    }

    /// Pull, then push and pull until nothing is left to push.
    pub fn run(&mut self, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<()> {
        // What the server says now is checked before anything is given to it: a rolled-back,
        // rewritten or withholding log stops the sync here, with nothing pushed.
        self.pull_all(progress)?;
        // So is what the other devices signed: a fork or a change withheld from this device.
        let started = std::time::Instant::now();
        self.check_peers_before_push()?;
        self.report.peer_check_us = started.elapsed().as_micros() as u64;
        // New keys reach the server before anything sealed under them.
        if super::bundle::refresh_bundle(self.vault, &self.server, &self.signer, &self.account)? {
            store::add_history(
                self.vault.conn(),
                "keys",
                None,
                "uploaded the key bundle (new key epoch or password)",
                None,
            )?;
        }
        for round in 1..=MAX_ROUNDS {
            self.report.rounds = round;
            let before = (self.acked.len(), self.report.conflicts);
            self.push_all(progress)?;
            self.push_audit()?;
            if (self.acked.len(), self.report.conflicts) == before {
                // Nothing went to the server: the pull before this round is as fresh as it gets.
                // (Rows left dirty were answered "absent": the next round pushes them as new.)
                if store::dirty_count(self.vault.conn())? == 0 {
                    break;
                }
                continue;
            }
            self.pull_all(progress)?;
            if store::dirty_count(self.vault.conn())? == 0 {
                break;
            }
        }
        let started = std::time::Instant::now();
        let published = self.publish_checkpoint()?;
        self.report.checkpoint_publish_us = started.elapsed().as_micros() as u64;
        self.report.pending = store::dirty_count(self.vault.conn())?;
        let conn = self.vault.conn();
        self.report.head_seq = store::meta_u64(conn, store::SYNC_PULLED_SEQ)?;
        let tx = WriteTx::begin(conn)?;
        store::set_meta_u64(&tx, store::SYNC_LAST_SYNC, store::now_ms() as u64)?;
        if let Some(body) = published {
            store::set_meta_bytes(&tx, store::SYNC_CHECKPOINT, body.as_bytes())?;
        }
        self.peers_seen.store(&tx)?;
        let r = &self.report;
        if r.pushed + r.pulled + r.conflicts > 0 {
            store::add_history(
                &tx,
                "sync",
                None,
                &format!(
                    "pushed {}, pulled {}, conflicts {} ({} kept for you), now at #{}",
                    r.pushed, r.pulled, r.conflicts, r.kept_for_user, r.head_seq
                ),
                None,
            )?;
        }
        tx.commit()
    }

    fn push_all(&mut self, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<()> {
        let conn = self.vault.conn();
        let total = store::dirty_count(conn)?;
        let mut done = 0u64;
        let mut after = 0;
        loop {
            let rows = store::dirty_rows(conn, after, PUSH_ITEMS)?;
            let Some(last) = rows.last() else { break };
            after = last.pos;
            let mut batch: Vec<(DirtyRow, PushItem)> = Vec::with_capacity(rows.len());
            let mut bytes = 0;
            for d in rows {
                let link = Link {
                    n: d.base.n + 1,
                    prev: if d.base.seq == 0 {
                        Some([0; 32])
                    } else {
                        d.base.hash
                    },
                };
                let blob = self.vault.seal_linked_item(&d.row, &link)?;
                bytes += blob.len();
                let item = PushItem {
                    rid: d.row.rid,
                    base_seq: d.base.seq,
                    tombstone: d.row.deleted,
                    blob,
                };
                let pos = d.pos;
                batch.push((d, item));
                if bytes >= PUSH_BYTES {
                    after = pos;
                    break;
                }
            }
            self.push_batch(batch)?;
            done += 1;
            progress(Phase::Push, done.min(total), total);
        }
        Ok(())
    }

    /// Sends one push request and reads the server's answer.
    pub(super) fn send_push(&self, items: Vec<PushItem>) -> Result<PushResult> {
        let body = PushRequest { items }.encode();
        let answer = self.server.send(
            "POST",
            &self.path("push"),
            &body,
            CONTENT_TYPE,
            Some(&self.signer),
        )?;
        PushResult::decode(&answer).map_err(|e| Error::Protocol(e.to_string()))
    }

    fn push_batch(&mut self, batch: Vec<(DirtyRow, PushItem)>) -> Result<()> {
        let (rows, items): (Vec<DirtyRow>, Vec<PushItem>) = batch.into_iter().unzip();
        let hashes: Vec<[u8; 32]> = items.iter().map(|i| blob_hash(&i.blob)).collect();
        let result = self.send_push(items)?;
        let by_rid: HashMap<[u8; 16], (&DirtyRow, [u8; 32])> = rows
            .iter()
            .zip(hashes)
            .map(|(d, h)| (d.row.rid, (d, h)))
            .collect();
        let conn = self.vault.conn();
        let tx = WriteTx::begin(conn)?;
        for (rid, seq) in &result.applied {
            let (d, hash) = by_rid
                .get(rid)
                .ok_or_else(|| Error::Protocol("push result names a record not pushed".into()))?;
            let at = SyncPoint {
                seq: *seq,
                hash: Some(*hash),
                n: d.base.n + 1,
            };
            store::mark_pushed(&tx, &d.row.collection, rid, d.row.revision, &at)?;
            self.acknowledged(*rid, *seq, *hash);
            self.report.pushed += 1;
        }
        for remote in &result.conflicts {
            let (d, _) = by_rid
                .get(&remote.rid)
                .ok_or_else(|| Error::Protocol("push result names a record not pushed".into()))?;
            if remote.seq == 0 {
                // The server has no such record (it lost it, or this device was set up against
                // another server): push it again as new.
                store::set_sync_point(&tx, &d.row.collection, &remote.rid, &SyncPoint::default())?;
                continue;
            }
            // The row may have changed since it was read: settle against what is stored now.
            let local = store::get_row(&tx, &d.row.collection, &remote.rid)?
                .unwrap_or_else(|| d.row.clone());
            self.settle(&tx, &local, &d.base, remote)?;
        }
        tx.commit()
    }

    /// Only the pulls of a sync, with their checks (for `pvault sync verify`).
    pub(super) fn pull_only(&mut self, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<()> {
        self.pull_all(progress)
    }

    /// Pulls to the server's head; then every change this device had acknowledged must have been
    /// in the log, and every change that came without its contents must have been superseded.
    fn pull_all(&mut self, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<()> {
        // A store that predates the tree builds it first.
        self.tree()?;
        let mut end = self.pull_pages(progress)?;
        if let Some((&seq, _)) = self.acked.last_key_value()
            && end < seq
        {
            return Err(Error::SyncIntegrity(format!(
                "the server acknowledged change #{seq} to this device, but its log ends at #{end}"
            )));
        }
        let conn = self.vault.conn();
        if store::superseded_waiting(conn, 0)?.1 > 0 {
            // Their successors may have come after the last page was read: one more look.
            end = self.pull_pages(progress)?;
            let (seqs, count) = store::superseded_waiting(conn, 5)?;
            if count > 0 {
                let list: Vec<String> = seqs.iter().map(|s| format!("#{s}")).collect();
                return Err(Error::SyncIntegrity(format!(
                    "the server withholds the current version of {count} record(s): its log (to #{end}) \
                     lists their newest change ({}{}) without its contents and nothing after it",
                    list.join(", "),
                    if count > seqs.len() as u64 {
                        ", ..."
                    } else {
                        ""
                    }
                )));
            }
        }
        Ok(())
    }

    /// Pulls pages until the server says there are no more; returns the position reached.
    fn pull_pages(&mut self, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<u64> {
        loop {
            let mut page = self.verified_page()?;
            self.apply_page(&page)?;
            progress(Phase::Pull, page.end.seq, page.end.seq);
            if !page.more {
                self.published = page.checkpoints.take().map(|c| (page.end.seq, c));
                return Ok(page.end.seq);
            }
        }
    }

    /// The next page after the position this device reached, checked against the hash chain it
    /// saw: a rollback, a rewritten or a withheld change is refused before anything is applied.
    fn verified_page(&self) -> Result<PullPage> {
        let conn = self.vault.conn();
        let since = store::meta_u64(conn, store::SYNC_PULLED_SEQ)?;
        let head = ChainHead {
            seq: since,
            hash: match store::meta_bytes(conn, store::SYNC_PULLED_HASH)? {
                Some(h) => <[u8; 32]>::try_from(h.as_slice())
                    .map_err(|_| Error::SyncIntegrity("stored chain head is damaged".into()))?,
                None => ChainHead::genesis(&self.account).hash,
            },
        };
        self.page_after(&head, true)
    }

    /// The page after `head`, checked to extend it; with `checkpoints`, the last page carries the
    /// other devices' checkpoints and proofs (a sync checks them next).
    pub(super) fn page_after(&self, head: &ChainHead, checkpoints: bool) -> Result<PullPage> {
        let since = head.seq;
        let ask = if checkpoints { "&checkpoints=1" } else { "" };
        let path = self.path(&format!("pull?since={since}&limit={PULL_LIMIT}{ask}"));
        let answer = match self.server.send("GET", &path, &[], "", Some(&self.signer)) {
            Err(Error::Server { code, .. }) if code == "since_ahead" => {
                return Err(Error::SyncIntegrity(format!(
                    "the server's log is shorter than what this device already saw (#{since})"
                )));
            }
            other => other?,
        };
        let page = PullPage::decode(&answer).map_err(|e| Error::Protocol(e.to_string()))?;
        if page.since != since {
            return Err(Error::Protocol(
                "pull page does not start where asked".into(),
            ));
        }
        let mut next = *head;
        for c in &page.changes {
            next = next.next(c.seq, &c.rid, c.tombstone, &c.blob_hash);
        }
        if next != page.end {
            return Err(Error::SyncIntegrity(format!(
                "changes #{}..#{} do not extend the hash chain this device saw",
                since + 1,
                page.end.seq
            )));
        }
        for c in &page.changes {
            if let Some((rid, hash)) = self.acked.get(&c.seq)
                && (c.rid != *rid || c.blob_hash != *hash)
            {
                return Err(Error::SyncIntegrity(format!(
                    "change #{} in the server's log is not the one this device pushed and the server acknowledged as #{}",
                    c.seq, c.seq
                )));
            }
        }
        Ok(page)
    }

    /// Stores (or settles against local changes) every item of a verified page, and moves the
    /// position to its end, in one transaction.
    fn apply_page(&mut self, page: &PullPage) -> Result<()> {
        if page.changes.is_empty() {
            // Nothing new (the page was checked to end where it started): nothing to write.
            return Ok(());
        }
        let conn = self.vault.conn();
        // Open every item before writing; a body that does not open fails in the transaction
        // below, which then rolls back: a page that does not decrypt changes nothing.
        let mut opened: HashMap<u64, Opened> = HashMap::new();
        for c in &page.changes {
            let Some(blob) = &c.blob else { continue };
            if self.pushed.get(&c.rid) == Some(&c.seq) {
                continue;
            }
            let item = if crate::replica::is_audit_item(blob) {
                Opened::Audit(self.vault.open_audit_item(&c.rid, blob)?)
            } else {
                Opened::Row(self.vault.open_linked_item(&c.rid, c.tombstone, blob)?)
            };
            opened.insert(c.seq, item);
        }
        let tx = WriteTx::begin(conn)?;
        let newest = opened
            .values()
            .filter_map(|o| match o {
                Opened::Row(item) => Some(item.row.revision),
                Opened::Audit(_) => None,
            })
            .max();
        // Changes sent without contents, newest per record, until a later change supersedes them.
        let mut waiting: HashMap<[u8; 16], (u64, [u8; 32])> = HashMap::new();
        let stored_waiting = store::superseded_waiting(&tx, 0)?.1 > 0;
        for c in &page.changes {
            if c.blob.is_none() {
                waiting.insert(c.rid, (c.seq, c.blob_hash));
                continue;
            }
            let before = match waiting.remove(&c.rid) {
                Some(w) => Some(w),
                None if stored_waiting => {
                    let w = store::superseded_of(&tx, &c.rid)?;
                    if w.is_some() {
                        store::clear_superseded(&tx, &c.rid)?;
                    }
                    w
                }
                None => None,
            };
            match opened.remove(&c.seq) {
                Some(Opened::Row(item)) => self.apply_change(&tx, c, item, before)?,
                Some(Opened::Audit(item)) => self.apply_audit_item(&tx, item)?,
                None => {}
            }
        }
        for (rid, (seq, hash)) in &waiting {
            store::note_superseded(&tx, rid, *seq, hash)?;
        }
        self.extend_tree(&tx, page)?;
        if let Some(rev) = newest {
            self.vault.observe_revision(&tx, rev)?;
        }
        store::set_meta_u64(&tx, store::SYNC_PULLED_SEQ, page.end.seq)?;
        store::set_meta_bytes(&tx, store::SYNC_PULLED_HASH, &page.end.hash)?;
        tx.commit()?;
        Ok(())
    }

    /// Takes one pulled version of a record: checks its place in the record's chain against what
    /// this device knows (`before`: a change of the same record this pull saw without contents),
    /// then stores it, or settles it against a local change.
    fn apply_change(
        &mut self,
        tx: &WriteTx<'_>,
        c: &Change,
        item: OpenedItem,
        before: Option<(u64, [u8; 32])>,
    ) -> Result<()> {
        let OpenedItem { row, id, link } = item;
        let local = store::sync_point_of(tx, &row.collection, &row.rid)?;
        let known = local.map(|(p, _)| p).unwrap_or_default();
        let what = format!("change #{}: {} record '{id}'", c.seq, row.collection);
        if known.seq == c.seq {
            if known.hash.is_some_and(|h| h != c.blob_hash) {
                return Err(Error::SyncIntegrity(format!(
                    "{what} is not the version the server acknowledged to this device at #{}",
                    c.seq
                )));
            }
            return Ok(());
        }
        if known.seq > c.seq {
            return Err(Error::SyncIntegrity(format!(
                "{what} is sent as the record's current version, but the server acknowledged a \
                 newer one (#{}) to this device: that change is withheld",
                known.seq
            )));
        }
        let expected = match before {
            Some((_, hash)) => Some(hash),
            None if known.seq == 0 => Some([0; 32]),
            None => known.hash,
        };
        if let (Some(want), Some(got)) = (expected, link.prev)
            && want != got
        {
            return Err(Error::SyncIntegrity(format!(
                "{what} does not follow the version before it in the log: the server replayed or \
                 reordered the record's versions"
            )));
        }
        check_forward(&what, &known, &link)?;
        let at = SyncPoint {
            seq: c.seq,
            hash: Some(c.blob_hash),
            n: link.n,
        };
        match local {
            Some((_, true)) => {
                let local = store::get_row(tx, &row.collection, &row.rid)?.expect("row exists");
                let remote = RemoteRecord {
                    rid: c.rid,
                    seq: c.seq,
                    tombstone: c.tombstone,
                    blob: c.blob.clone().unwrap_or_default(),
                };
                self.settle_opened(tx, &local, &remote, row, id, &at)?;
            }
            _ => self.vault.store_remote(tx, &row, &id, &at)?,
        }
        self.report.pulled += 1;
        Ok(())
    }

    /// Settles a local change (based on the server version `base`) against the server's current
    /// version of the same record, which must be newer than `base`.
    fn settle(
        &mut self,
        tx: &WriteTx<'_>,
        local: &Row,
        base: &SyncPoint,
        remote: &RemoteRecord,
    ) -> Result<()> {
        let OpenedItem { row, id, link } =
            self.vault
                .open_linked_item(&remote.rid, remote.tombstone, &remote.blob)?;
        let what = format!(
            "the server's answer to a push (#{}): {} record '{id}'",
            remote.seq, row.collection
        );
        check_forward(&what, base, &link)?;
        let at = SyncPoint {
            seq: remote.seq,
            hash: Some(blob_hash(&remote.blob)),
            n: link.n,
        };
        self.settle_opened(tx, local, remote, row, id, &at)
    }

    fn settle_opened(
        &mut self,
        tx: &WriteTx<'_>,
        local: &Row,
        remote: &RemoteRecord,
        rrow: Row,
        id: String,
        at: &SyncPoint,
    ) -> Result<()> {
        let vault = self.vault;
        vault.observe_revision(tx, rrow.revision)?;
        let collection = local.collection.as_str();
        let strategy = self.policy.for_collection(collection);
        let lv = vault.read_version(local, &id)?;
        let rv = vault.read_version(&rrow, &id)?;
        let base = match store::base_of(tx, collection, &local.rid)? {
            Some(b) => vault.read_version(&b, &id).ok(),
            None => None,
        };
        let ctx = Context {
            collection,
            device_rank: &self.policy.device_rank,
        };
        if lv.data == rv.data && lv.classification == rv.classification {
            // The same content on both sides (typically this device's own push whose answer was
            // lost): nothing to settle.
            return vault.store_remote(tx, &rrow, &id, at);
        }
        let resolution = resolve::resolve(strategy, &ctx, base.as_ref(), &lv, &rv);
        self.report.conflicts += 1;
        let who = |s: &str| format!("{collection} record: {s} ({})", strategy.as_str());
        let dropped = resolution.dropped.join("; ");
        let record = Some((collection, &local.rid));
        match resolution.decision {
            Decision::KeepRemote => {
                vault.store_remote(tx, &rrow, &id, at)?;
                let lost = vault.seal_item(local)?;
                let detail = who(&format!(
                    "the other device's version was kept; this device's version is set aside. {dropped}"
                ));
                store::add_history(tx, "conflict", record, &detail, Some(&lost[..]))?;
            }
            Decision::KeepLocal => {
                store::set_sync_point(tx, collection, &local.rid, at)?;
                store::set_base(tx, &rrow, remote.seq)?;
                store::add_history(
                    tx,
                    "conflict",
                    record,
                    &who(&format!(
                        "this device's version was kept; the other device's version is set aside. {dropped}"
                    )),
                    Some(&remote.blob),
                )?;
            }
            Decision::Merged {
                data,
                classification,
            } => {
                let clash = Clash {
                    local,
                    remote,
                    at,
                    rrow: &rrow,
                    id: &id,
                    strategy,
                };
                self.write_merge(tx, &clash, (data, classification), &resolution.dropped)?;
            }
            Decision::Manual => {
                let clash = Clash {
                    local,
                    remote,
                    at,
                    rrow: &rrow,
                    id: &id,
                    strategy,
                };
                self.keep_for_user(tx, &clash)?;
            }
        }
        Ok(())
    }

    /// A merge: the merged version becomes a new local revision on top of the server's; both inputs
    /// stay recoverable in the history when the merge dropped anything.
    fn write_merge(
        &mut self,
        tx: &WriteTx<'_>,
        clash: &Clash<'_>,
        merged: (Option<serde_json::Value>, pvault_crypto::Classification),
        dropped: &[String],
    ) -> Result<()> {
        let (vault, local, remote, collection) = (
            self.vault,
            clash.local,
            clash.remote,
            clash.local.collection.as_str(),
        );
        let lost_local = vault.seal_item(local)?;
        let after = local.revision.max(clash.rrow.revision);
        vault.write_resolved(tx, collection, clash.id, merged, clash.at, after)?;
        store::set_base(tx, clash.rrow, remote.seq)?;
        let detail = if dropped.is_empty() {
            clash.who("both versions merged, nothing dropped")
        } else {
            clash.who(&format!("both versions merged; {}", dropped.join("; ")))
        };
        // Both inputs stay recoverable: the merge may have dropped a value of either side.
        let keep = !dropped.is_empty();
        let record = Some((collection, &local.rid));
        store::add_history(
            tx,
            "conflict",
            record,
            &format!("{detail} [this device's version]"),
            keep.then_some(&lost_local[..]),
        )?;
        store::add_history(
            tx,
            "conflict",
            record,
            &format!("{detail} [other device's version]"),
            keep.then_some(&remote.blob[..]),
        )?;
        Ok(())
    }

    /// Strategy `manual`: the server's version becomes the record, this device's stays as an open
    /// conflict.
    fn keep_for_user(&mut self, tx: &WriteTx<'_>, clash: &Clash<'_>) -> Result<()> {
        let (vault, local, remote, collection) = (
            self.vault,
            clash.local,
            clash.remote,
            clash.local.collection.as_str(),
        );
        vault.store_remote(tx, clash.rrow, clash.id, clash.at)?;
        let item = vault.seal_item(local)?;
        let cid = store::add_conflict(
            tx,
            collection,
            &local.rid,
            clash.strategy.as_str(),
            &item,
            remote.seq,
        )?;
        store::add_history(
            tx,
            "conflict",
            Some((collection, &local.rid)),
            &clash.who(&format!(
                "kept both for you: conflict #{cid} (`pvault conflicts resolve {cid} --keep local|remote|both`)"
            )),
            None,
        )?;
        self.report.kept_for_user += 1;
        Ok(())
    }
}

/// Two versions of one record being settled.
struct Clash<'a> {
    local: &'a Row,
    remote: &'a RemoteRecord,
    /// The remote version's place in the log.
    at: &'a SyncPoint,
    rrow: &'a Row,
    id: &'a str,
    strategy: pvault_model::Strategy,
}

impl Clash<'_> {
    /// A history line about this record.
    fn who(&self, s: &str) -> String {
        format!(
            "{} record: {s} ({})",
            self.local.collection,
            self.strategy.as_str()
        )
    }
}

/// A version coming after `known` must move the record's change counter forward; a version
/// without one (format 1) is refused once the record has a counter.
fn check_forward(what: &str, known: &SyncPoint, link: &Link) -> Result<()> {
    if link.n == 0 && known.n > 0 {
        return Err(Error::SyncIntegrity(format!(
            "{what} is a version from before the record's chain (pvault 0.1) coming after version \
             {} of it: the server replayed an old version",
            known.n
        )));
    }
    if link.n != 0 && link.n <= known.n {
        return Err(Error::SyncIntegrity(format!(
            "{what} is version {} of the record, but this device already has version {}: the server \
             replayed an old version",
            link.n, known.n
        )));
    }
    Ok(())
}
