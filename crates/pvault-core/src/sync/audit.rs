//! The audit log's part of a sync: this device's entries and newest checkpoint are pushed, the
//! other devices' are taken in. An entry this device holds with other content than the server's
//! copy (a rewritten or cut-off log on one side) is not taken: it is recorded as an anomaly.

use std::collections::HashMap;

use pvault_proto::batch::{PushItem, PushResult};
use pvault_proto::chain::blob_hash;

use super::engine::{Engine, PUSH_ITEMS};
use crate::audit::{Event, EventKind, Received};
use crate::error::Result;
use crate::replica::AuditItem;
use crate::store::{self, WriteTx};

impl Engine<'_> {
    /// Pushes this device's entries the server does not have yet, then its newest checkpoint.
    pub(super) fn push_audit(&mut self) -> Result<()> {
        let vault = self.vault;
        let device = vault.log().device.to_string();
        loop {
            let rows = store::unsynced_audit(vault.conn(), &device, PUSH_ITEMS)?;
            if rows.is_empty() {
                break;
            }
            let mut by_rid = HashMap::new();
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                let seq = row.seq;
                let (rid, blob) = vault.seal_audit_item(&AuditItem::Entry(row))?;
                by_rid.insert(rid, (seq, blob_hash(&blob)));
                items.push(PushItem {
                    rid,
                    base_seq: 0,
                    tombstone: false,
                    blob,
                });
            }
            let result = self.send_push(items)?;
            let tx = WriteTx::begin(vault.conn())?;
            let progress = self.take_audit_result(&tx, &device, &by_rid, &result)?;
            tx.commit()?;
            if !progress {
                break;
            }
        }
        self.push_checkpoint(&device)
    }

    /// Marks what the server took; an entry it already holds is compared with this device's copy.
    /// Returns whether anything was settled (a server that settles nothing is tried again at the
    /// next sync).
    fn take_audit_result(
        &mut self,
        tx: &WriteTx<'_>,
        device: &str,
        by_rid: &HashMap<[u8; 16], (u64, [u8; 32])>,
        result: &PushResult,
    ) -> Result<bool> {
        let vault = self.vault;
        let mut settled = false;
        for (rid, server_seq) in &result.applied {
            if let Some((seq, hash)) = by_rid.get(rid) {
                store::mark_audit_synced(tx, device, *seq)?;
                self.acknowledged(*rid, *server_seq, *hash);
                self.report.audit_pushed += 1;
                settled = true;
            }
        }
        for remote in &result.conflicts {
            let Some((seq, _)) = by_rid.get(&remote.rid) else {
                continue;
            };
            if remote.seq == 0 {
                continue;
            }
            let same = match vault.open_audit_item(&remote.rid, &remote.blob)? {
                AuditItem::Entry(theirs) => store::audit_entry(tx, device, *seq)?
                    .is_some_and(|mine| mine.hash == theirs.hash),
                AuditItem::Checkpoint(_) => false,
            };
            if !same {
                vault.record(
                    tx,
                    Event::new(EventKind::Anomaly)
                        .with("what", "audit_fork")
                        .with("device", device)
                        .with("seq", *seq)
                        .with(
                            "detail",
                            "this device's audit entry differs from the copy the sync server already holds: one of the two logs was rewritten or cut off",
                        ),
                )?;
            }
            store::mark_audit_synced(tx, device, *seq)?;
            settled = true;
        }
        Ok(settled)
    }

    /// Publishes this device's newest checkpoint when it is newer than the one published.
    fn push_checkpoint(&mut self, device: &str) -> Result<()> {
        let vault = self.vault;
        let conn = vault.conn();
        let Some(newest) = store::checkpoints_of(conn, device)?.pop() else {
            return Ok(());
        };
        if newest.size <= store::meta_u64(conn, store::SYNC_AUDIT_CHECKPOINT)? {
            return Ok(());
        }
        let base_seq = store::meta_u64(conn, store::SYNC_AUDIT_CHECKPOINT_SEQ)?;
        let size = newest.size;
        let (rid, blob) = vault.seal_audit_item(&AuditItem::Checkpoint(newest))?;
        let hash = blob_hash(&blob);
        let result = self.send_push(vec![PushItem {
            rid,
            base_seq,
            tombstone: false,
            blob,
        }])?;
        let tx = WriteTx::begin(conn)?;
        if let Some((_, seq)) = result.applied.iter().find(|(r, _)| *r == rid) {
            store::set_meta_u64(&tx, store::SYNC_AUDIT_CHECKPOINT, size)?;
            store::set_meta_u64(&tx, store::SYNC_AUDIT_CHECKPOINT_SEQ, *seq)?;
            self.acknowledged(rid, *seq, hash);
        } else if let Some(remote) = result.conflicts.iter().find(|c| c.rid == rid) {
            // Only this device writes its checkpoint: a newer one on the server is one this device
            // published before its answer was lost. Build on it next time.
            store::set_meta_u64(&tx, store::SYNC_AUDIT_CHECKPOINT_SEQ, remote.seq)?;
        }
        tx.commit()
    }

    /// Takes in an audit item of a pulled page, inside the page's transaction.
    pub(super) fn apply_audit_item(&mut self, tx: &WriteTx<'_>, item: AuditItem) -> Result<()> {
        let vault = self.vault;
        let log = vault.log();
        match item {
            AuditItem::Entry(row) => match log.receive_entry(tx, &row)? {
                Received::New => self.report.audit_pulled += 1,
                Received::Known => {}
                Received::Differs => vault.record(
                    tx,
                    Event::new(EventKind::Anomaly)
                        .with("what", "audit_fork")
                        .with("device", row.device.as_str())
                        .with("seq", row.seq)
                        .with(
                            "detail",
                            "the sync server's copy of this audit entry differs from the one held here: one of the two logs was rewritten",
                        ),
                )?,
            },
            AuditItem::Checkpoint(c) => log.receive_checkpoint(tx, &c)?,
        }
        Ok(())
    }
}
