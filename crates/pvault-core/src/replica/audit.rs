//! The audit log in transit: each entry, and each device's newest checkpoint, travel as sync items
//! the server cannot read, so every device holds the whole profile's log.
//!
//! An entry item is filed under the row key of `("_audit", "<device>/<seq>")`, a checkpoint item
//! under `("_audit", "<device>/checkpoint")` (a collection name no record can have). Layout:
//!
//! `"PVA1" | len | envelope` for an entry, `"PVC1" | len | envelope` for a checkpoint; the envelope
//! (kind `SyncItem`, bound to the row key) holds
//!
//! - entry: `u16 len device | u64 seq | u32 len entry | hash (32) | mac (32)`
//! - checkpoint: `u16 len device | u64 size | hash (32) | i64 at | signature (64)`

use pvault_crypto::codec::{Reader, Writer};

use crate::error::{Error, Result};
use crate::store::{AuditRow, CheckpointRow};
use crate::vault::Vault;

const ENTRY_MAGIC: &[u8; 4] = b"PVA1";
const CHECKPOINT_MAGIC: &[u8; 4] = b"PVC1";
/// The collection name audit items are filed under (not a valid record collection).
const AUDIT_FILE: &str = "_audit";

/// An audit item, opened.
pub(crate) enum AuditItem {
    /// One entry of a device's chain.
    Entry(AuditRow),
    /// A device's newest checkpoint.
    Checkpoint(CheckpointRow),
}

/// Whether a sync item is an audit item (by its magic; it is checked when opened).
pub(crate) fn is_audit_item(blob: &[u8]) -> bool {
    blob.starts_with(ENTRY_MAGIC) || blob.starts_with(CHECKPOINT_MAGIC)
}

impl Vault {
    /// The row key an entry travels under.
    pub(crate) fn audit_entry_rid(&self, device: &str, seq: u64) -> [u8; 16] {
        self.rid(AUDIT_FILE, &format!("{device}/{seq}"))
    }

    /// The row key a device's checkpoint travels under.
    pub(crate) fn audit_checkpoint_rid(&self, device: &str) -> [u8; 16] {
        self.rid(AUDIT_FILE, &format!("{device}/checkpoint"))
    }

    /// Seals an audit item; returns its row key and blob.
    pub(crate) fn seal_audit_item(&self, item: &AuditItem) -> Result<([u8; 16], Vec<u8>)> {
        let mut w = Writer::with_capacity(256);
        let (rid, magic) = match item {
            AuditItem::Entry(e) => {
                text(&mut w, &e.device);
                w.u64(e.seq);
                w.u32_bytes(&e.entry);
                w.raw(&e.hash);
                w.raw(&e.mac);
                (self.audit_entry_rid(&e.device, e.seq), ENTRY_MAGIC)
            }
            AuditItem::Checkpoint(c) => {
                text(&mut w, &c.device);
                w.u64(c.size);
                w.raw(&c.hash);
                w.u64(c.at as u64);
                w.raw(&c.signature);
                (self.audit_checkpoint_rid(&c.device), CHECKPOINT_MAGIC)
            }
        };
        let sealed = self.seal_sync_secret(&hex::encode(rid), &w.into_inner())?;
        let mut out = Writer::with_capacity(8 + sealed.len());
        out.raw(magic);
        out.u32_bytes(&sealed);
        Ok((rid, out.into_inner()))
    }

    /// Opens an audit item the server filed under `rid`, checking that it belongs there.
    pub(crate) fn open_audit_item(&self, rid: &[u8; 16], blob: &[u8]) -> Result<AuditItem> {
        let rid_hex = hex::encode(rid);
        let bad = |what: &str| Error::SyncTampered(format!("audit item #{rid_hex}: {what}"));
        let mut r = Reader::new(blob);
        let magic = r.array::<4>("magic").map_err(|_| bad("truncated"))?;
        let sealed = r
            .u32_bytes("envelope", usize::MAX)
            .map_err(|_| bad("truncated"))?;
        r.finish().map_err(|_| bad("trailing bytes"))?;
        let plain = self.open_sync_secret(&rid_hex, sealed)?;
        let mut m = Reader::new(&plain);
        let malformed = || bad("malformed");
        let device = read_text(&mut m).ok_or_else(malformed)?;
        let item = match &magic {
            m_ if m_ == ENTRY_MAGIC => {
                let seq = m.u64("seq").map_err(|_| malformed())?;
                let entry = m
                    .u32_bytes("entry", usize::MAX)
                    .map_err(|_| malformed())?
                    .to_vec();
                let hash = m.array::<32>("hash").map_err(|_| malformed())?.to_vec();
                let mac = m.array::<32>("mac").map_err(|_| malformed())?.to_vec();
                if self.audit_entry_rid(&device, seq) != *rid {
                    return Err(bad("filed under another entry's key"));
                }
                AuditItem::Entry(AuditRow {
                    device,
                    seq,
                    entry,
                    hash,
                    mac,
                })
            }
            m_ if m_ == CHECKPOINT_MAGIC => {
                let size = m.u64("size").map_err(|_| malformed())?;
                let hash = m.array::<32>("hash").map_err(|_| malformed())?.to_vec();
                let at = m.u64("at").map_err(|_| malformed())? as i64;
                let signature = m
                    .array::<64>("signature")
                    .map_err(|_| malformed())?
                    .to_vec();
                if self.audit_checkpoint_rid(&device) != *rid {
                    return Err(bad("filed under another device's key"));
                }
                AuditItem::Checkpoint(CheckpointRow {
                    device,
                    size,
                    hash,
                    at,
                    signature,
                })
            }
            _ => return Err(bad("not an audit item")),
        };
        m.finish().map_err(|_| malformed())?;
        Ok(item)
    }
}

fn text(w: &mut Writer, s: &str) {
    w.u16(s.len() as u16);
    w.raw(s.as_bytes());
}

fn read_text(r: &mut Reader<'_>) -> Option<String> {
    let n = r.u16("device").ok()?;
    String::from_utf8(r.take(usize::from(n), "device").ok()?.to_vec()).ok()
}
