//! One sync: push what changed here, settle what the server refused, pull what changed there.
//!
//! Every step commits locally before the next request, together with the position it reached, so an
//! interrupted sync loses nothing and the next one resumes: a pushed row stays dirty until the server's
//! answer is stored; a pulled page and the sequence number after it commit in one transaction.

use std::collections::HashMap;

use pvault_proto::batch::{
    CONTENT_TYPE, PullPage, PushItem, PushRequest, PushResult, RemoteRecord,
};
use pvault_proto::chain::ChainHead;

use super::device::credentials;
use super::state::SyncReport;
use super::transport::{Server, Signer};
use crate::error::{Error, Result};
use crate::store::{self, DirtyRow, Row, WriteTx};
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
    /// Records this sync pushed, with the sequence numbers the server gave them: the pull that
    /// follows skips decrypting them (it still chains them).
    pub pushed: HashMap<[u8; 16], u64>,
}

/// A pulled change opened: a record row and its id, or an audit item.
enum Opened<'p> {
    Row(&'p pvault_proto::batch::Change, Row, String),
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
        })
    }

    pub(super) fn path(&self, tail: &str) -> String {
        format!("/v1/profiles/{}/{tail}", hex::encode(self.account))
    }

    /// Push, then pull, until nothing is left to push.
    pub fn run(&mut self, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<()> {
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
            self.push_all(progress)?;
            self.push_audit()?;
            self.pull_all(progress)?;
            if store::dirty_count(self.vault.conn())? == 0 {
                break;
            }
        }
        self.report.pending = store::dirty_count(self.vault.conn())?;
        let conn = self.vault.conn();
        self.report.head_seq = store::meta_u64(conn, store::SYNC_PULLED_SEQ)?;
        let tx = WriteTx::begin(conn)?;
        store::set_meta_u64(&tx, store::SYNC_LAST_SYNC, store::now_ms() as u64)?;
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
        let mut after: Option<(String, [u8; 16])> = None;
        loop {
            let rows = store::dirty_rows(conn, after.as_ref(), PUSH_ITEMS)?;
            let Some(last) = rows.last() else { break };
            after = Some((last.row.collection.clone(), last.row.rid));
            let mut batch: Vec<(DirtyRow, PushItem)> = Vec::with_capacity(rows.len());
            let mut bytes = 0;
            for d in rows {
                let blob = self.vault.seal_item(&d.row)?;
                bytes += blob.len();
                let item = PushItem {
                    rid: d.row.rid,
                    base_seq: d.sync_seq,
                    tombstone: d.row.deleted,
                    blob,
                };
                let key = (d.row.collection.clone(), d.row.rid);
                batch.push((d, item));
                if bytes >= PUSH_BYTES {
                    after = Some(key);
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
        let result = self.send_push(items)?;
        let by_rid: HashMap<[u8; 16], &DirtyRow> = rows.iter().map(|d| (d.row.rid, d)).collect();
        let conn = self.vault.conn();
        let tx = WriteTx::begin(conn)?;
        for (rid, seq) in &result.applied {
            let d = by_rid
                .get(rid)
                .ok_or_else(|| Error::Protocol("push result names a record not pushed".into()))?;
            store::mark_pushed(&tx, &d.row.collection, rid, d.row.revision, *seq)?;
            self.pushed.insert(*rid, *seq);
            self.report.pushed += 1;
        }
        for remote in &result.conflicts {
            let d = by_rid
                .get(&remote.rid)
                .ok_or_else(|| Error::Protocol("push result names a record not pushed".into()))?;
            if remote.seq == 0 {
                // The server has no such record (it lost it, or this device was set up against
                // another server): push it again as new.
                store::set_sync_seq(&tx, &d.row.collection, &remote.rid, 0)?;
                continue;
            }
            // The row may have changed since it was read: settle against what is stored now.
            let local = store::get_row(&tx, &d.row.collection, &remote.rid)?
                .unwrap_or_else(|| d.row.clone());
            self.settle(&tx, &local, remote)?;
        }
        tx.commit()
    }

    fn pull_all(&mut self, progress: &mut dyn FnMut(Phase, u64, u64)) -> Result<()> {
        loop {
            let page = self.verified_page()?;
            self.apply_page(&page)?;
            progress(Phase::Pull, page.end.seq, page.end.seq);
            if !page.more {
                return Ok(());
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
        self.page_after(&head)
    }

    /// The page after `head`, checked to extend it.
    pub(super) fn page_after(&self, head: &ChainHead) -> Result<PullPage> {
        let since = head.seq;
        let path = self.path(&format!("pull?since={since}&limit={PULL_LIMIT}"));
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
        Ok(page)
    }

    /// Stores (or settles against local changes) every item of a verified page, and moves the
    /// position to its end, in one transaction.
    fn apply_page(&mut self, page: &PullPage) -> Result<()> {
        let conn = self.vault.conn();
        // Check every item before writing; a body that does not open fails in the transaction
        // below, which then rolls back: a page that does not decrypt changes nothing.
        let mut opened = Vec::new();
        for c in &page.changes {
            if self.pushed.get(&c.rid) == Some(&c.seq) {
                continue;
            }
            if let Some(blob) = &c.blob {
                if crate::replica::is_audit_item(blob) {
                    opened.push(Opened::Audit(self.vault.open_audit_item(&c.rid, blob)?));
                    continue;
                }
                let (row, id) = self.vault.open_item(&c.rid, c.tombstone, blob)?;
                opened.push(Opened::Row(c, row, id));
            }
        }
        let tx = WriteTx::begin(conn)?;
        let newest = opened
            .iter()
            .filter_map(|o| match o {
                Opened::Row(_, row, _) => Some(row.revision),
                Opened::Audit(_) => None,
            })
            .max();
        for o in opened {
            let (c, row, id) = match o {
                Opened::Row(c, row, id) => (c, row, id),
                Opened::Audit(item) => {
                    self.apply_audit_item(&tx, item)?;
                    continue;
                }
            };
            match store::sync_seq_of(&tx, &row.collection, &row.rid)? {
                Some((seq, _)) if seq >= c.seq => continue,
                Some((_, true)) => {
                    let local =
                        store::get_row(&tx, &row.collection, &row.rid)?.expect("row exists");
                    let remote = RemoteRecord {
                        rid: c.rid,
                        seq: c.seq,
                        tombstone: c.tombstone,
                        blob: c.blob.clone().unwrap_or_default(),
                    };
                    self.settle_opened(&tx, &local, &remote, row, id)?;
                }
                _ => self.vault.store_remote(&tx, &row, &id, c.seq)?,
            }
            self.report.pulled += 1;
        }
        if let Some(rev) = newest {
            self.vault.observe_revision(&tx, rev)?;
        }
        store::set_meta_u64(&tx, store::SYNC_PULLED_SEQ, page.end.seq)?;
        store::set_meta_bytes(&tx, store::SYNC_PULLED_HASH, &page.end.hash)?;
        tx.commit()?;
        Ok(())
    }

    /// Settles a local change against the server's version of the same record.
    fn settle(&mut self, tx: &WriteTx<'_>, local: &Row, remote: &RemoteRecord) -> Result<()> {
        let (rrow, id) = self
            .vault
            .open_item(&remote.rid, remote.tombstone, &remote.blob)?;
        self.settle_opened(tx, local, remote, rrow, id)
    }

    fn settle_opened(
        &mut self,
        tx: &WriteTx<'_>,
        local: &Row,
        remote: &RemoteRecord,
        rrow: Row,
        id: String,
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
            return vault.store_remote(tx, &rrow, &id, remote.seq);
        }
        let resolution = resolve::resolve(strategy, &ctx, base.as_ref(), &lv, &rv);
        self.report.conflicts += 1;
        let who = |s: &str| format!("{collection} record: {s} ({})", strategy.as_str());
        let dropped = resolution.dropped.join("; ");
        let record = Some((collection, &local.rid));
        match resolution.decision {
            Decision::KeepRemote => {
                vault.store_remote(tx, &rrow, &id, remote.seq)?;
                let lost = vault.seal_item(local)?;
                let detail = who(&format!(
                    "the other device's version was kept; this device's version is set aside. {dropped}"
                ));
                store::add_history(tx, "conflict", record, &detail, Some(&lost[..]))?;
            }
            Decision::KeepLocal => {
                store::set_sync_seq(tx, collection, &local.rid, remote.seq)?;
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
        vault.write_resolved(tx, collection, clash.id, merged, remote.seq, after)?;
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
        vault.store_remote(tx, clash.rrow, clash.id, remote.seq)?;
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
