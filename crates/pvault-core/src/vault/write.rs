//! Writes: validate, seal and store records (one transaction per call), deletions as tombstones,
//! the epoch fence and the per-epoch seal count.

use pvault_crypto::envelope;
use rusqlite::Connection;

use super::*;
use crate::audit::{Event, EventKind};
use crate::error::{Error, Result};
use crate::store::{self, Row, VersionRow, WriteTx};
use pvault_model::hlc;
use pvault_model::models::{self, CollectionKind, CollectionName};

/// A record checked and ready to seal.
struct WritePlan {
    name: CollectionName,
    id: String,
    rid: [u8; 16],
    valid: models::Validated,
    existing: Option<Row>,
    classification: Classification,
}

impl Vault {
    /// Writes one record (insert or update) and returns once it is durable.
    pub fn put(&mut self, record: NewRecord) -> Result<Written> {
        Ok(self.put_many(vec![record], &mut |_, _| {})?.remove(0))
    }

    /// Writes records in one transaction: all of them are durable when this returns, or none is
    /// written. `progress(done, total)` is called as records are sealed.
    pub fn put_many(
        &mut self,
        records: Vec<NewRecord>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<Written>> {
        self.put_batch(records, progress, |_, _| Ok(()))
    }

    /// [`Vault::put_many`], with `also` run inside the same transaction on what was written (a
    /// migration's journal of the records it added).
    pub(crate) fn put_batch(
        &mut self,
        records: Vec<NewRecord>,
        progress: &mut dyn FnMut(u64, u64),
        also: impl FnOnce(&Connection, &[Written]) -> Result<()>,
    ) -> Result<Vec<Written>> {
        let total = records.len() as u64;
        let tx = self.begin_write()?;
        let mut revision = store::meta_u64(&tx, store::HLC)?;
        let key_id = self.keys.current().id();
        let mut seals = 0u64;
        let mut out = Vec::with_capacity(records.len());
        for (i, rec) in records.into_iter().enumerate() {
            revision = hlc::next(revision, hlc::wall_ms());
            let (written, n) = self.write_one(&tx, rec, revision, key_id)?;
            seals += n;
            out.push(written);
            if i % 1024 == 1023 {
                progress(i as u64 + 1, total);
            }
        }
        store::set_meta_u64(&tx, store::HLC, revision)?;
        self.count_seals(&tx, key_id, seals)?;
        self.record(&tx, written_event(&out))?;
        also(&tx, &out)?;
        tx.commit()?;
        progress(total, total);
        Ok(out)
    }

    /// Begins a write transaction, refusing if another process has rotated the keys since this vault
    /// was unlocked: writing under an epoch that rotation is about to destroy would lose the write.
    /// Events kept from before (an unlock the store could not take) are written first; while they
    /// cannot be, every write is refused.
    pub(crate) fn begin_write(&self) -> Result<WriteTx<'_>> {
        self.flush_audit()?;
        let tx = WriteTx::begin(&self.conn)?;
        let fenced = store::meta_u64(&tx, store::KEY_ID)?;
        if fenced > u64::from(self.keys.current().id()) {
            return Err(Error::KeysChanged);
        }
        Ok(tx)
    }

    pub(crate) fn count_seals(&self, conn: &Connection, key_id: u32, n: u64) -> Result<()> {
        let key = store::seals(key_id);
        let total = store::meta_u64(conn, &key)? + n;
        if total > MAX_SEALS_PER_EPOCH {
            return Err(Error::KeyExhausted(key_id));
        }
        store::set_meta_u64(conn, &key, total)
    }

    /// Validates, seals and stores one record at `revision` under epoch `key_id`; returns what it
    /// wrote and how many envelopes it sealed.
    pub(crate) fn write_one(
        &self,
        conn: &Connection,
        rec: NewRecord,
        revision: u64,
        key_id: u32,
    ) -> Result<(Written, u64)> {
        let mut plan = self.plan_write(conn, rec)?;
        let data = std::mem::take(&mut plan.valid.data);
        let now = now_rfc3339();
        let (created, version, previous_chain) = match &plan.existing {
            Some(row) => {
                let prev = if row.deleted {
                    None
                } else {
                    Some(self.open_body(row, &plan.id)?)
                };
                let created = prev.map(|p| p.created).unwrap_or_else(|| now.clone());
                let chain = self.last_chain_hash(conn, row, &plan.id)?;
                (created, row.version + 1, chain)
            }
            None => (now.clone(), 1, None),
        };
        let append_only = plan.name.kind() == CollectionKind::Breakthroughs;
        let attestation =
            append_only.then(|| self.attest(&plan.id, version, &data, previous_chain, &now));
        let payload = Payload {
            id: plan.id.clone(),
            schema: models::SCHEMA_VERSION,
            created,
            updated: now,
            data,
            attestation,
        };
        let seals = self.seal_and_store(conn, &plan, &payload, version, revision, key_id)?;
        let written = Written {
            collection: plan.name.to_string(),
            id: plan.id,
            classification: plan.classification,
            revision,
            version,
        };
        Ok((written, seals))
    }

    /// Checks a record as [`Vault::put`] would, writing nothing.
    pub(crate) fn check_record(&self, rec: NewRecord) -> Result<()> {
        self.plan_write(&self.conn, rec).map(drop)
    }

    /// Checks a record before anything is sealed: collection, id, size, schema, and the
    /// classification it gets (given, kept from the stored record, or the defaults).
    fn plan_write(&self, conn: &Connection, rec: NewRecord) -> Result<WritePlan> {
        let name = collection_name(&rec.collection)?;
        let id = match rec.id {
            Some(id) => {
                validate_record_id(&id)?;
                id
            }
            None => random_id(),
        };
        let size = json_len(&rec.data);
        if size > MAX_RECORD_BYTES {
            return Err(Error::TooLarge {
                size,
                limit: MAX_RECORD_BYTES,
            });
        }
        let valid = models::validate(&name, &id, rec.data)?;
        let rid = self.rid(name.as_str(), &id);
        let existing = store::get_row(conn, name.as_str(), &rid)?;
        let classification = match (rec.classification, &existing) {
            (Some(c), _) => c,
            (None, Some(row)) if !row.deleted => {
                class_of(row.classification)?.max(valid.min_classification)
            }
            (None, _) => self
                .summary
                .security
                .default_classification()
                .max(valid.default_classification),
        };
        if classification < valid.min_classification {
            return Err(Error::ClassificationTooLow {
                collection: name.to_string(),
                min: valid.min_classification,
                given: classification,
            });
        }
        Ok(WritePlan {
            name,
            id,
            rid,
            valid,
            existing,
            classification,
        })
    }

    /// Seals the payload (body, id box and, for append-only collections, the version) and stores
    /// the row and its blind-index entries. Returns the number of envelopes sealed.
    fn seal_and_store(
        &self,
        conn: &Connection,
        plan: &WritePlan,
        payload: &Payload,
        version: u64,
        revision: u64,
        key_id: u32,
    ) -> Result<u64> {
        let (collection, id, rid, c) =
            (plan.name.as_str(), &plan.id, plan.rid, plan.classification);
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(payload).expect("payload serializes"));
        let keys = self.keys_for(key_id, collection)?;
        let body = envelope::seal(&keys, &self.record_aad(collection, id, c), &plain)?;
        let id_box = envelope::seal(
            &keys,
            &self.id_aad(collection, &hex::encode(rid)),
            id.as_bytes(),
        )?;
        let mut seals = 2;
        if payload.attestation.is_some() {
            let vid = Self::version_record_id(id, version);
            let vbody = envelope::seal(&keys, &self.record_aad(collection, &vid, c), &plain)?;
            store::add_version(
                conn,
                &VersionRow {
                    collection: collection.to_string(),
                    rid,
                    version,
                    classification: c.as_byte(),
                    key_id,
                    body: vbody,
                    revision,
                },
            )?;
            seals += 1;
        }
        let row = Row {
            collection: collection.to_string(),
            rid,
            id_box,
            classification: c.as_byte(),
            key_id,
            body: Some(body),
            revision,
            device: self.device.clone(),
            version,
            deleted: false,
        };
        self.put_row(conn, &row)?;
        let tokens = self.index_tokens(key_id, collection, &plan.valid.index)?;
        // A new record has no old entries to replace; one without indexed fields has none at all.
        if plan.existing.is_some() || !tokens.is_empty() {
            store::set_index(conn, collection, &rid, &tokens)?;
        }
        Ok(seals)
    }

    /// Deletes a record, leaving a tombstone (for sync). Breakthrough versions are kept.
    pub fn remove(&mut self, collection: &str, id: &str) -> Result<Written> {
        let name = collection_name(collection)?;
        let rid = self.rid(name.as_str(), id);
        let tx = self.begin_write()?;
        let row = store::get_row(&tx, name.as_str(), &rid)?
            .filter(|r| !r.deleted)
            .ok_or_else(|| Error::NotFound {
                collection: name.to_string(),
                id: id.to_string(),
            })?;
        let revision = hlc::next(store::meta_u64(&tx, store::HLC)?, hlc::wall_ms());
        let tomb = self.write_tombstone(&tx, row, id, revision)?;
        store::set_meta_u64(&tx, store::HLC, revision)?;
        self.record(
            &tx,
            Event::new(EventKind::RecordDeleted)
                .with("collection", name.as_str())
                .with("id", id),
        )?;
        self.count_delete(&tx)?;
        tx.commit()?;
        Ok(Written {
            collection: name.to_string(),
            id: id.to_string(),
            classification: class_of(tomb.classification)?,
            revision,
            version: tomb.version,
        })
    }

    /// Replaces a record by its tombstone at `revision` (the id box resealed, the body and index
    /// entries gone) and returns the tombstone.
    pub(crate) fn write_tombstone(
        &self,
        conn: &Connection,
        row: Row,
        id: &str,
        revision: u64,
    ) -> Result<Row> {
        let key_id = self.keys.current().id();
        let keys = self.keys_for(key_id, &row.collection)?;
        let id_box = envelope::seal(
            &keys,
            &self.id_aad(&row.collection, &hex::encode(row.rid)),
            id.as_bytes(),
        )?;
        let tomb = Row {
            id_box,
            key_id,
            body: None,
            revision,
            device: self.device.clone(),
            version: row.version + 1,
            deleted: true,
            ..row
        };
        self.put_row(conn, &tomb)?;
        store::set_index(conn, &tomb.collection, &tomb.rid, &[])?;
        self.count_seals(conn, key_id, 1)?;
        Ok(tomb)
    }
}

/// Ids listed in full in a `records_written` entry; a larger write lists counts only.
const LISTED_IDS: usize = 32;

/// The audit entry of one write transaction: how many records per collection, and their ids when
/// there are few.
fn written_event(written: &[Written]) -> Event {
    let mut counts = serde_json::Map::new();
    for w in written {
        let n = counts
            .entry(w.collection.clone())
            .or_insert(serde_json::Value::from(0u64));
        *n = (n.as_u64().unwrap_or(0) + 1).into();
    }
    let mut event = Event::new(EventKind::RecordsWritten)
        .with("records", written.len() as u64)
        .with("collections", serde_json::Value::Object(counts));
    if written.len() <= LISTED_IDS {
        let ids: Vec<String> = written
            .iter()
            .map(|w| format!("{}/{}", w.collection, w.id))
            .collect();
        event = event.with("ids", ids);
    }
    event
}

/// The length of a value as compact JSON, counted as it is serialized: no copy of the plaintext is
/// made (one would be left in freed memory) and nothing is allocated.
fn json_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::json_len;

    #[test]
    fn json_len_counts_what_serialization_writes() {
        for v in [
            serde_json::json!(null),
            serde_json::json!({"text": "é\n\"quoted\"", "n": [1, 2.5, -3], "nested": {"a": true}}),
            serde_json::json!("x".repeat(10_000)),
        ] {
            assert_eq!(json_len(&v), serde_json::to_vec(&v).unwrap().len());
        }
    }
}
