//! Applying what other devices wrote: decrypted versions for conflict resolution, versions from
//! the server stored as they are, the clock's receive rule, and the outcome of a resolution
//! written as a new local revision.

use pvault_crypto::{Classification, envelope};
use rusqlite::Connection;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::{self, Row, SyncPoint};
use crate::vault::{NewRecord, Vault, class_of};
use pvault_model::models::CollectionName;
use pvault_model::resolve;

impl Vault {
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
        at: &SyncPoint,
    ) -> Result<()> {
        store::put_synced_row(conn, row, at, &self.row_tag(row))?;
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
        base: &SyncPoint,
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
        store::set_sync_point(conn, collection, &self.rid(collection, id), base)?;
        Ok(())
    }

    /// The row key of a record.
    pub(crate) fn row_key(&self, collection: &str, id: &str) -> [u8; 16] {
        self.rid(collection, id)
    }
}
