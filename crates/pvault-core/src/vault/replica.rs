//! What sync needs from an unlocked profile: rows sealed into sync items and opened back, decrypted
//! versions for conflict resolution, and versions from other devices stored as they are.
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

use pvault_crypto::{Aad, Classification, Key32, Kind, envelope};
use rusqlite::Connection;
use serde_json::Value;

use super::{NewRecord, Vault, class_of};
use crate::error::{Error, Result};
use crate::store::{self, Row};
use crate::sync::resolve;
use pvault_model::models::CollectionName;

/// The reserved collection name whose keys seal sync items (user collections cannot start with
/// "pvault").
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
    /// The unlocked keys in transfer form, to open a second handle on the profile (a background
    /// sync thread).
    pub(crate) fn transfer_keys(&self) -> pvault_crypto::SecretVec {
        self.keys.to_transfer_bytes()
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The seed of the account key on the sync server (derived from the KEK).
    pub(crate) fn account_signing_seed(&self) -> Key32 {
        self.keys.account_signing_seed()
    }

    pub(crate) fn key_file_for_server(&self) -> pvault_crypto::KeyFile {
        let mut f = self.key_file.clone();
        // The stored Secret Key is wrapped under the password key alone: it must never leave.
        f.secret_key = None;
        f
    }

    fn sync_aad<'a>(&'a self, label: &'a str) -> Aad<'a> {
        Aad {
            profile: &self.profile,
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
        if self.keys.root(key_id).is_err() {
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

    /// A row decrypted for conflict resolution.
    pub(crate) fn read_version(&self, row: &Row, id: &str) -> Result<resolve::Version> {
        let data = if row.deleted {
            None
        } else {
            Some(self.open_body(row, id)?.data)
        };
        Ok(resolve::Version {
            data,
            classification: class_of(row.classification)?,
            revision: row.revision,
            device: row.device.clone(),
        })
    }

    /// Stores a version that came from the server as it is (no new revision, not dirty), with its
    /// blind-index entries and, for breakthroughs, its version history. The caller moves the clock
    /// past it ([`Vault::observe_revision`]).
    pub(crate) fn store_remote(
        &self,
        conn: &Connection,
        row: &Row,
        id: &str,
        seq: u64,
    ) -> Result<()> {
        store::put_synced_row(conn, row, seq)?;
        let tokens = if row.deleted {
            Vec::new()
        } else {
            let payload = self.open_body(row, id).map_err(|_| {
                Error::SyncTampered(format!(
                    "item #{}: body does not open",
                    hex::encode(row.rid)
                ))
            })?;
            let name = CollectionName::parse(&row.collection)?;
            let valid = pvault_model::models::validate(&name, id, payload.data.clone())?;
            if payload.attestation.is_some()
                && !store::versions_of(conn, &row.collection, &row.rid)?
                    .iter()
                    .any(|v| v.version == row.version)
            {
                let c = class_of(row.classification)?;
                let keys = self.keys_for(self.key_id(), &row.collection)?;
                let plain = zeroize::Zeroizing::new(
                    serde_json::to_vec(&payload).expect("payload serializes"),
                );
                let vid = Self::version_record_id(id, row.version);
                let body =
                    envelope::seal(&keys, &self.record_aad(&row.collection, &vid, c), &plain)?;
                store::add_version(
                    conn,
                    &store::VersionRow {
                        collection: row.collection.clone(),
                        rid: row.rid,
                        version: row.version,
                        classification: row.classification,
                        key_id: self.key_id(),
                        body,
                        revision: row.revision,
                    },
                )?;
            }
            self.index_tokens(self.key_id(), &row.collection, &valid.index)?
        };
        store::set_index(conn, &row.collection, &row.rid, &tokens)?;
        Ok(())
    }

    /// Moves the clock past a revision seen from another device (the hybrid logical clock's
    /// receive rule), so later local writes order after it.
    pub(crate) fn observe_revision(&self, conn: &Connection, revision: u64) -> Result<()> {
        if revision > store::meta_u64(conn, store::HLC)? {
            store::set_meta_u64(conn, store::HLC, revision)?;
        }
        Ok(())
    }

    /// Writes the outcome of a conflict resolution as a new local revision (later than both sides),
    /// to be pushed on top of the server's version `seq`. `None` data deletes the record. `after` is
    /// the highest revision of the versions it replaces.
    pub(crate) fn write_resolved(
        &self,
        conn: &Connection,
        collection: &str,
        id: &str,
        (data, classification): (Option<Value>, Classification),
        seq: u64,
        after: u64,
    ) -> Result<()> {
        let last = store::meta_u64(conn, store::HLC)?.max(after);
        let revision = pvault_model::hlc::next(last, pvault_model::hlc::wall_ms());
        let key_id = self.key_id();
        match data {
            Some(data) => {
                let record = NewRecord {
                    collection: collection.to_string(),
                    id: Some(id.to_string()),
                    classification: Some(classification),
                    data,
                };
                let (_, seals) = self.write_one(conn, record, revision, key_id)?;
                self.count_seals(conn, key_id, seals)?;
            }
            None => {
                let rid = self.rid(collection, id);
                let row =
                    store::get_row(conn, collection, &rid)?.ok_or_else(|| Error::NotFound {
                        collection: collection.to_string(),
                        id: id.to_string(),
                    })?;
                let row = Row {
                    classification: classification.as_byte(),
                    ..row
                };
                self.write_tombstone(conn, row, id, revision)?;
            }
        }
        store::set_meta_u64(conn, store::HLC, revision)?;
        store::set_sync_seq(conn, collection, &self.rid(collection, id), seq)?;
        Ok(())
    }

    /// Adds the key epochs of another device's key file (a rotation there) to this profile's
    /// keyring, on disk first. Returns the epochs added.
    pub(crate) fn adopt_epochs(&mut self, other: &pvault_crypto::KeyFile) -> Result<Vec<u32>> {
        let before = self.keys.key_ids();
        let (file, keys) = self.key_file.merge_epochs(&self.keys, other)?;
        let added: Vec<u32> = keys
            .key_ids()
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        if added.is_empty() {
            return Ok(added);
        }
        self.store_key_file(file, keys)?;
        // Other processes holding the old keyring must unlock again before they write.
        let current = u64::from(self.keys.current().id());
        if store::meta_u64(&self.conn, store::KEY_ID)? < current {
            store::set_meta_u64(&self.conn, store::KEY_ID, current)?;
        }
        Ok(added)
    }

    /// The row key of a record.
    pub(crate) fn row_key(&self, collection: &str, id: &str) -> [u8; 16] {
        self.rid(collection, id)
    }
}
