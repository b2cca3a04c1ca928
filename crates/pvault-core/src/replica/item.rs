//! The sealed sync item: a record row in transit, and the small secrets of the sync state.
//!
//! A sync item is a row in transit. Its body and id box are the row's own envelopes (already bound to
//! profile, collection, id and classification); what the server must not see (collection name,
//! classification, revision, device, version, deletion) is sealed in a small envelope of kind
//! `SyncItem` bound to the row key. Layout (lengths are u32 big-endian):
//!
//! `"PVI1" | len | meta envelope | len | id box | len | body (empty for a tombstone)`
//!
//! meta (format 2): `u8 2 | u16 len collection | u8 classification | u64 revision | u64 version |
//! u8 deleted | u16 len device | u64 n | u8 has_prev | [32 prev]`
//!
//! `n` and `prev` chain the record's versions in the server's log, where the server cannot forge
//! them: `n` is the record's change counter (1 for its first version on the server, one more for
//! each version after) and `prev` is the SHA-256 of the sealed item of the version this one
//! replaces (32 zero bytes for a first version; absent when the writer did not know it, for a row
//! synced before these fields existed). A replayed older version has a smaller `n`; a version the
//! server slipped in out of order does not name the one before it. Format 1 (without them, written
//! by pvault 0.1) still opens, as `n = 0`, prev unknown; the engine refuses it for a record it has
//! seen a format-2 version of.

use pvault_crypto::codec::{Reader, Writer};
use pvault_crypto::{Aad, Classification, Kind, envelope};

use crate::error::{Error, Result};
use crate::store::Row;
use crate::vault::{Vault, class_of};
use pvault_model::models::CollectionName;

const SYNC_KEYS: &str = "pvault-sync";
const ITEM_MAGIC: &[u8; 4] = b"PVI1";
const META_FORMAT: u8 = 2;
/// pvault 0.1's description, without `n` and `prev`.
const META_FORMAT_1: u8 = 1;

/// Where a version stands in its record's chain on the server (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Link {
    /// The record's change counter at this version; 0 for an item of format 1.
    pub n: u64,
    /// SHA-256 of the item this version replaces (zeros: a first version), if the writer knew it.
    pub prev: Option<[u8; 32]>,
}

/// An item opened: the row, its record id and its link.
pub(crate) struct OpenedItem {
    pub row: Row,
    pub id: String,
    pub link: Link,
}

/// What the sealed description of an item says about its row.
struct Description {
    collection: String,
    classification: u8,
    revision: u64,
    version: u64,
    deleted: bool,
    device: String,
    link: Link,
}

impl Description {
    fn encode(row: &Row, link: &Link) -> Vec<u8> {
        let mut w = Writer::with_capacity(112);
        w.u8(META_FORMAT);
        w.u16(row.collection.len() as u16);
        w.raw(row.collection.as_bytes());
        w.u8(row.classification);
        w.u64(row.revision);
        w.u64(row.version);
        w.u8(u8::from(row.deleted));
        w.u16(row.device.len() as u16);
        w.raw(row.device.as_bytes());
        w.u64(link.n);
        match &link.prev {
            Some(prev) => {
                w.u8(1);
                w.raw(prev);
            }
            None => w.u8(0),
        }
        w.into_inner()
    }

    /// `None` for anything but a well-formed description of this format.
    fn decode(meta: &[u8]) -> Option<Description> {
        let mut m = Reader::new(meta);
        let format = m.u8("format").ok()?;
        if format != META_FORMAT && format != META_FORMAT_1 {
            return None;
        }
        let text = |m: &mut Reader<'_>, what| {
            let n = m.u16(what).ok()?;
            String::from_utf8(m.take(usize::from(n), what).ok()?.to_vec()).ok()
        };
        let collection = text(&mut m, "collection")?;
        let classification = m.u8("classification").ok()?;
        let revision = m.u64("revision").ok()?;
        let version = m.u64("version").ok()?;
        let deleted = m.u8("deleted").ok()? == 1;
        let device = text(&mut m, "device")?;
        let link = if format == META_FORMAT {
            let n = m.u64("n").ok()?;
            let prev = match m.u8("has prev").ok()? {
                0 => None,
                1 => Some(m.array::<32>("prev").ok()?),
                _ => return None,
            };
            Link { n, prev }
        } else {
            Link::default()
        };
        m.finish().ok()?;
        Some(Description {
            collection,
            classification,
            revision,
            version,
            deleted,
            device,
            link,
        })
    }
}

/// The three parts of an item: sealed description, id box, body (empty for a tombstone).
fn parts(item: &[u8]) -> std::result::Result<[&[u8]; 3], &'static str> {
    let mut r = Reader::new(item);
    if r.array::<4>("magic").ok() != Some(*ITEM_MAGIC) {
        return Err("not a sync item");
    }
    let mut part = |what| r.u32_bytes(what, usize::MAX).map_err(|_| "truncated");
    let parts = [part("description")?, part("id box")?, part("body")?];
    r.finish().map_err(|_| "trailing bytes")?;
    Ok(parts)
}

/// Whether a well-formed sync item is a tombstone (its body is empty); false for a malformed one.
pub(crate) fn item_is_tombstone(item: &[u8]) -> bool {
    parts(item).is_ok_and(|[_, _, body]| body.is_empty())
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

    /// Seals a row into a sync item (for keeping aside, not for the server's log: no link).
    pub(crate) fn seal_item(&self, row: &Row) -> Result<Vec<u8>> {
        self.seal_linked_item(row, &Link::default())
    }

    /// Seals a row into a sync item that takes its place in the record's chain after `link`.
    pub(crate) fn seal_linked_item(&self, row: &Row, link: &Link) -> Result<Vec<u8>> {
        let meta = Description::encode(row, link);
        let sealed = self.seal_sync_secret(&hex::encode(row.rid), &meta)?;
        let body = row.body.as_deref().unwrap_or(&[]);
        let mut w = Writer::with_capacity(16 + sealed.len() + row.id_box.len() + body.len());
        w.raw(ITEM_MAGIC);
        w.u32_bytes(&sealed);
        w.u32_bytes(&row.id_box);
        w.u32_bytes(body);
        Ok(w.into_inner())
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
        self.open_linked_item(rid, tombstone, blob)
            .map(|item| (item.row, item.id))
    }

    /// [`Vault::open_item`], with the item's place in its record's chain.
    pub(crate) fn open_linked_item(
        &self,
        rid: &[u8; 16],
        tombstone: bool,
        blob: &[u8],
    ) -> Result<OpenedItem> {
        let rid_hex = hex::encode(rid);
        let bad = |what: &str| Error::SyncTampered(format!("item #{rid_hex}: {what}"));
        let [sealed, id_box, body] = parts(blob).map_err(bad)?;
        let key_id = envelope::key_id(sealed).map_err(|_| bad("malformed envelope"))?;
        if !self.key_ids().contains(&key_id) {
            return Err(Error::UnknownEpoch(key_id));
        }
        let meta = self.open_sync_secret(&rid_hex, sealed)?;
        let Description {
            collection,
            classification,
            revision,
            version,
            deleted,
            device,
            link,
        } = Description::decode(&meta).ok_or_else(|| bad("malformed description"))?;
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
        Ok(OpenedItem { row, id, link })
    }
}
