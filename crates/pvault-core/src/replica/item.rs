//! The sealed sync item: a record row in transit, and the small secrets of the sync state.
//!
//! A sync item is a row in transit. Its body and id box are the row's own envelopes (already bound to
//! profile, collection, id and classification); what the server must not see (collection name,
//! classification, revision, device, version, deletion) is sealed in a small envelope of kind
//! `SyncItem` bound to the row key. Layout (lengths are u32 big-endian):
//!
//! `"PVI1" | len | meta envelope | len | id box | len | body (empty for a tombstone)`
//!
//! meta: `u8 1 | u16 len collection | u8 classification | u64 revision | u64 version | u8 deleted |
//! u16 len device`

use pvault_crypto::{Aad, Classification, Kind, envelope};

use crate::error::{Error, Result};
use crate::store::Row;
use crate::vault::{Vault, class_of};
use pvault_model::models::CollectionName;

const SYNC_KEYS: &str = "pvault-sync";
const ITEM_MAGIC: &[u8; 4] = b"PVI1";
const META_FORMAT: u8 = 1;

fn put_u32_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    fn u32_bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.take(4)?;
        let n = u32::from_be_bytes(n.try_into().expect("4 bytes")) as usize;
        self.take(n)
    }
}

/// Whether a well-formed sync item is a tombstone (its body is empty); false for a malformed one.
pub(crate) fn item_is_tombstone(item: &[u8]) -> bool {
    let mut c = Cursor(item);
    c.take(4) == Some(ITEM_MAGIC.as_slice())
        && c.u32_bytes().is_some()
        && c.u32_bytes().is_some()
        && c.u32_bytes().is_some_and(<[u8]>::is_empty)
}

impl Vault {
    pub(crate) fn sync_aad<'a>(&'a self, label: &'a str) -> Aad<'a> {
        Aad {
            profile: self.profile_id(),
            kind: Kind::SyncItem,
            collection: SYNC_KEYS,
            record_id: label,
            classification: Classification::Internal,
        }
    }

    /// Seals a secret of the sync state (the device key) under the current epoch.
    pub(crate) fn seal_sync_secret(&self, label: &str, secret: &[u8]) -> Result<Vec<u8>> {
        let keys = self.keys_for(self.key_id(), SYNC_KEYS)?;
        Ok(envelope::seal(&keys, &self.sync_aad(label), secret)?)
    }

    /// Opens a secret sealed by [`Vault::seal_sync_secret`].
    pub(crate) fn open_sync_secret(
        &self,
        label: &str,
        sealed: &[u8],
    ) -> Result<pvault_crypto::SecretVec> {
        let keys = self.keys_for(envelope::key_id(sealed)?, SYNC_KEYS)?;
        envelope::open(&keys, &self.sync_aad(label), sealed)
            .map_err(|_| Error::SyncTampered(format!("sealed sync state '{label}' does not open")))
    }

    /// Seals a row into a sync item.
    pub(crate) fn seal_item(&self, row: &Row) -> Result<Vec<u8>> {
        let mut meta = Vec::with_capacity(64);
        meta.push(META_FORMAT);
        meta.extend_from_slice(&(row.collection.len() as u16).to_be_bytes());
        meta.extend_from_slice(row.collection.as_bytes());
        meta.push(row.classification);
        meta.extend_from_slice(&row.revision.to_be_bytes());
        meta.extend_from_slice(&row.version.to_be_bytes());
        meta.push(u8::from(row.deleted));
        meta.extend_from_slice(&(row.device.len() as u16).to_be_bytes());
        meta.extend_from_slice(row.device.as_bytes());
        let sealed = self.seal_sync_secret(&hex::encode(row.rid), &meta)?;
        let body = row.body.as_deref().unwrap_or(&[]);
        let mut out = Vec::with_capacity(16 + sealed.len() + row.id_box.len() + body.len());
        out.extend_from_slice(ITEM_MAGIC);
        put_u32_bytes(&mut out, &sealed);
        put_u32_bytes(&mut out, &row.id_box);
        put_u32_bytes(&mut out, body);
        Ok(out)
    }

    /// Opens a sync item that the server filed under `rid`, checking that it belongs there: its
    /// meta opens under this profile's keys and that row key, and its id box names a record whose
    /// key is `rid`. Returns the row and the record id; the body is checked when it is read.
    pub(crate) fn open_item(
        &self,
        rid: &[u8; 16],
        tombstone: bool,
        blob: &[u8],
    ) -> Result<(Row, String)> {
        let rid_hex = hex::encode(rid);
        let bad = |what: &str| Error::SyncTampered(format!("item #{rid_hex}: {what}"));
        let mut c = Cursor(blob);
        if c.take(4) != Some(ITEM_MAGIC.as_slice()) {
            return Err(bad("not a sync item"));
        }
        let sealed = c.u32_bytes().ok_or_else(|| bad("truncated"))?;
        let id_box = c.u32_bytes().ok_or_else(|| bad("truncated"))?;
        let body = c.u32_bytes().ok_or_else(|| bad("truncated"))?;
        if !c.0.is_empty() {
            return Err(bad("trailing bytes"));
        }
        let key_id = envelope::key_id(sealed).map_err(|_| bad("malformed envelope"))?;
        if !self.key_ids().contains(&key_id) {
            return Err(Error::UnknownEpoch(key_id));
        }
        let meta = self.open_sync_secret(&rid_hex, sealed)?;
        let mut m = Cursor(&meta);
        let parsed = (|| {
            if m.u8()? != META_FORMAT {
                return None;
            }
            let n = m.u16()?;
            let collection = String::from_utf8(m.take(n)?.to_vec()).ok()?;
            let classification = m.u8()?;
            let revision = m.u64()?;
            let version = m.u64()?;
            let deleted = m.u8()? == 1;
            let n = m.u16()?;
            let device = String::from_utf8(m.take(n)?.to_vec()).ok()?;
            m.0.is_empty().then_some((
                collection,
                classification,
                revision,
                version,
                deleted,
                device,
            ))
        })();
        let (collection, classification, revision, version, deleted, device) =
            parsed.ok_or_else(|| bad("malformed description"))?;
        CollectionName::parse(&collection).map_err(|_| bad("unknown collection"))?;
        class_of(classification).map_err(|_| bad("unknown classification"))?;
        if deleted != tombstone || deleted != body.is_empty() {
            return Err(bad("deletion flag does not match"));
        }
        let row = Row {
            collection,
            rid: *rid,
            id_box: id_box.to_vec(),
            classification,
            key_id: envelope::key_id(id_box).map_err(|_| bad("malformed id box"))?,
            body: (!deleted).then(|| body.to_vec()),
            revision,
            device,
            version,
            deleted,
        };
        let id = self.open_id(&row).map_err(|_| bad("id does not open"))?;
        // The body is opened by whoever uses the row (store_remote, read_version), inside the
        // transaction that stores it: a body that does not open rolls the whole page back.
        Ok((row, id))
    }
}
