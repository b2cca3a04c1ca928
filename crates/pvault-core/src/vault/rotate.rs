//! Key management: password change (rewrap only) and key rotation (new epoch, reseal in durable
//! batches, resumable, then destroy the old epochs unless the profile syncs).

use pvault_crypto::envelope;
use serde::Serialize;

use super::*;
use crate::audit::{Event, EventKind};
use crate::error::{Error, Result};
use crate::store::{self, Row, VersionRow};
use pvault_model::models::{self, CollectionName};

/// The result of [`Vault::rotate_keys`].
#[derive(Clone, Debug, Serialize)]
pub struct RotateReport {
    /// The epoch now in use.
    pub key_id: u32,
    /// Whether an interrupted rotation was resumed.
    pub resumed: bool,
    /// Record rows resealed.
    pub records: u64,
    /// Breakthrough versions resealed.
    pub versions: u64,
    /// Epochs destroyed.
    pub destroyed: Vec<u32>,
    /// Old epochs kept because the profile syncs: other devices may still send records sealed under
    /// them, and sync history refers to them. New data is sealed under `key_id` only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_for_sync: Vec<u32>,
}

impl Vault {
    /// Before an epoch is destroyed: every envelope (by its own header, not the key_id column) must be
    /// sealed under `current`, or destroying the old epoch would lose data.
    pub(crate) fn check_all_sealed_under(&self, current: u32) -> Result<()> {
        let rows = store::rows_of(&self.conn, None, true)?;
        let versions = store::all_versions(&self.conn)?;
        let stale = rows
            .iter()
            .flat_map(|r| [Some(&r.id_box), r.body.as_ref()])
            .flatten()
            .chain(versions.iter().map(|v| &v.body))
            .filter(|e| envelope::key_id(e).ok() != Some(current))
            .count();
        if stale > 0 {
            return Err(Error::RotationIncomplete(stale));
        }
        Ok(())
    }

    /// Changes the password: rewraps the root keys under a new KEK (new salt, the level's KDF cost).
    /// No record is re-encrypted. The caller has checked the old password.
    pub fn change_password(&mut self, new_password: &[u8]) -> Result<()> {
        let (file, keys) = self.key_file.change_password(
            &self.keys,
            new_password,
            self.summary.security.kdf_params(),
        )?;
        // The entry commits only once the new key file is in place.
        let tx = self.begin_write()?;
        self.record(&tx, Event::new(EventKind::PasswordChanged))?;
        self.write_key_file(&file)?;
        tx.commit()?;
        self.use_key_file(file, keys);
        Ok(())
    }

    /// Rotates keys: a new epoch becomes current, every record and version is resealed under it in
    /// batches (each batch durable on its own, so an interrupted rotation resumes where it stopped),
    /// then the old epochs are destroyed.
    pub fn rotate_keys(&mut self, progress: &mut dyn FnMut(u64, u64)) -> Result<RotateReport> {
        // A syncing profile keeps its old epochs, so an unfinished rotation is marked apart.
        let syncing = store::meta_bytes(&self.conn, store::SYNC_CONFIG)?.is_some();
        let unfinished = store::meta_u64(&self.conn, store::ROTATING)? != 0;
        let resumed = unfinished || (!syncing && self.keys.key_ids().len() > 1);
        if !resumed {
            let (file, keys) = self.key_file.add_epoch(&self.keys)?;
            self.store_key_file(file, keys)?;
            store::set_meta_u64(
                &self.conn,
                store::ROTATING,
                u64::from(self.keys.current().id()),
            )?;
        }
        let current = self.keys.current().id();
        // Fence: from now on, writers still holding only the old epoch are refused (see begin_write).
        {
            let tx = self.begin_write()?;
            store::set_meta_u64(&tx, store::KEY_ID, u64::from(current))?;
            let kind = if resumed {
                EventKind::RotationResumed
            } else {
                EventKind::RotationStarted
            };
            self.record(&tx, Event::new(kind).with("key_id", current))?;
            tx.commit()?;
        }
        let total = store::count_not_under(&self.conn, current)?;
        let mut done = (0u64, 0u64);
        while self.reseal_records(current, &mut done.0)? {
            progress(done.0 + done.1, total);
        }
        while self.reseal_versions(current, &mut done.1)? {
            progress(done.0 + done.1, total);
        }
        let (records, versions) = done;
        let mut report = RotateReport {
            key_id: current,
            resumed,
            records,
            versions,
            destroyed: Vec::new(),
            kept_for_sync: Vec::new(),
        };
        let old: Vec<u32> = self
            .keys
            .key_ids()
            .into_iter()
            .filter(|id| *id != current)
            .collect();
        if syncing {
            // Every record is pushed again under the new epoch; the old ones stay readable.
            report.kept_for_sync = old;
            let tx = self.begin_write()?;
            store::mark_all_dirty(&tx)?;
            store::set_meta_u64(&tx, store::ROTATING, 0)?;
            self.record(&tx, rotation_finished(&report))?;
            tx.commit()?;
            return Ok(report);
        }
        self.check_all_sealed_under(current)?;
        let (file, keys) = self.key_file.drop_old_epochs(&self.keys)?;
        self.store_key_file(file, keys)?;
        // Old ciphertext pages may linger in the WAL; checkpoint so they leave it (they are unreadable
        // without the destroyed keys either way).
        store::checkpoint_wal(&self.conn)?;
        report.destroyed = old;
        let tx = self.begin_write()?;
        store::set_meta_u64(&tx, store::ROTATING, 0)?;
        self.record(&tx, rotation_finished(&report))?;
        tx.commit()?;
        Ok(report)
    }

    /// Reseals one batch of record rows still sealed under an old epoch, in one durable
    /// transaction. Returns false when none was left.
    fn reseal_records(&self, current: u32, done: &mut u64) -> Result<bool> {
        let rows = store::rows_not_under(&self.conn, current, 256)?;
        if rows.is_empty() {
            return Ok(false);
        }
        let tx = self.begin_write()?;
        let mut seals = 0;
        for row in rows {
            let id = self.open_id(&row)?;
            let keys = self.keys_for(current, &row.collection)?;
            let id_box = envelope::seal(
                &keys,
                &self.id_aad(&row.collection, &hex::encode(row.rid)),
                id.as_bytes(),
            )?;
            let body = match &row.body {
                None => None,
                Some(_) => {
                    let payload = self.open_body(&row, &id)?;
                    let c = class_of(row.classification)?;
                    let name = CollectionName::parse(&row.collection)?;
                    let index = models::validate(&name, &id, payload.data.clone())?.index;
                    let plain = zeroize::Zeroizing::new(
                        serde_json::to_vec(&payload).expect("payload serializes"),
                    );
                    let sealed =
                        envelope::seal(&keys, &self.record_aad(&row.collection, &id, c), &plain)?;
                    let tokens = self.index_tokens(current, &row.collection, &index)?;
                    store::set_index(&tx, &row.collection, &row.rid, &tokens)?;
                    seals += 1;
                    Some(sealed)
                }
            };
            seals += 1;
            let resealed = Row {
                key_id: current,
                id_box,
                body,
                ..row
            };
            store::reseal_row(&tx, &resealed, &self.row_tag(&resealed))?;
            *done += 1;
        }
        self.count_seals(&tx, current, seals)?;
        tx.commit()?;
        Ok(true)
    }

    /// Reseals one batch of breakthrough versions still sealed under an old epoch. Returns false
    /// when none was left.
    fn reseal_versions(&self, current: u32, done: &mut u64) -> Result<bool> {
        let vs = store::versions_not_under(&self.conn, current, 256)?;
        if vs.is_empty() {
            return Ok(false);
        }
        let tx = self.begin_write()?;
        let batch = vs.len() as u64;
        for v in vs {
            let row =
                store::get_row(&tx, &v.collection, &v.rid)?.ok_or_else(|| Error::Tampered {
                    collection: v.collection.clone(),
                    id: format!("#{}", hex::encode(v.rid)),
                })?;
            let id = self.open_id(&row)?;
            let payload = self.open_version(&v, &id)?;
            let plain =
                zeroize::Zeroizing::new(serde_json::to_vec(&payload).expect("payload serializes"));
            let keys = self.keys_for(current, &v.collection)?;
            let vid = Self::version_record_id(&id, v.version);
            let body = envelope::seal(
                &keys,
                &self.record_aad(&v.collection, &vid, class_of(v.classification)?),
                &plain,
            )?;
            store::reseal_version(
                &tx,
                &VersionRow {
                    key_id: current,
                    body,
                    ..v
                },
            )?;
            *done += 1;
        }
        self.count_seals(&tx, current, batch)?;
        tx.commit()?;
        Ok(true)
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
}

/// The audit entry of a finished rotation.
fn rotation_finished(r: &RotateReport) -> Event {
    Event::new(EventKind::RotationFinished)
        .with("key_id", r.key_id)
        .with("records", r.records)
        .with("versions", r.versions)
        .with("destroyed", r.destroyed.clone())
        .with("kept_for_sync", r.kept_for_sync.clone())
}
