//! `BackupOptions::run`: a snapshot of an unlocked profile, writing only what changed since the
//! profile's last snapshot in this repository.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::pack::Packer;
use super::{
    BlobKeys, LOG_ID, NEWEST, POSITION, Repo, SNAPSHOT_VERSION, Snapshot, Tree, open_tree,
};
use crate::audit::{Event, EventKind};
use crate::error::{Error, IoContext, Result};
use crate::home::KEY_FILE;
use crate::store::{self, dump};
use crate::vault::Vault;

/// How to back up.
#[derive(Clone, Debug, Default)]
pub struct BackupOptions {
    /// Read every record again even if the log says nothing changed (a full snapshot; what is
    /// already in the repository is still not written twice).
    pub full: bool,
}

/// What a backup did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupReport {
    pub snapshot: Snapshot,
    /// Buckets read from the store, and blobs written (new) to the repository.
    pub buckets_read: u64,
    pub blobs_written: u64,
    /// Incremental (from the parent's log position) or full.
    pub incremental: bool,
}

impl BackupOptions {
    /// Takes a snapshot of `vault` into `repo`. `progress(done, total)` counts buckets read.
    pub fn run(
        &self,
        vault: &Vault,
        repo: &Repo,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupReport> {
        let conn = vault.conn();
        let log_id = match store::meta_bytes(conn, LOG_ID)? {
            Some(id) => String::from_utf8_lossy(&id).into_owned(),
            None => {
                let id = hex::encode(pvault_crypto::random::bytes::<16>());
                store::set_meta_bytes(conn, LOG_ID, id.as_bytes())?;
                id
            }
        };
        let summary = vault.summary().clone();
        let key_id = vault.key_id();
        let keys = BlobKeys::new(vault.unlocked(), key_id)?;
        let listed = repo.snapshots(Some(&summary.id))?;
        if !self.full {
            check_newest(conn, repo, &listed)?;
        }
        let parent = listed.into_iter().rfind(|s| s.device == vault.device());
        // A parent counts only if its blobs are sealed under this epoch and its log position is
        // this store's: else everything is read (and what is unchanged still dedupes by id).
        let usable = parent.as_ref().filter(|p| {
            !self.full
                && p.log_id == log_id
                && p.key_id == key_id
                && p.store_version == store::STORE_VERSION
        });
        let parent_tree = match usable {
            Some(p) => Some(open_tree(repo, &keys, p)?),
            None => None,
        };

        // Blobs go into packs (written, fsynced and renamed one by one); the packs' index is
        // written after the last, then the key file, and the snapshot last of all.
        repo.upgrade()?;
        let mut packer = Packer::new(repo, true)?;
        // One read transaction: every query sees the same state of the store.
        conn.execute_batch("BEGIN")?;
        let read = (|| {
            let upto = dump::log_position(conn)?;
            let changed = match (&usable, &parent_tree) {
                (Some(p), Some(_)) => dump::changed_buckets(conn, p.log_seq, upto)?,
                _ => None,
            };
            let incremental = changed.is_some();
            let to_read: Vec<u16> = match &changed {
                Some(set) => set.iter().copied().collect(),
                None => (0..dump::BUCKETS).collect(),
            };
            let mut buckets: BTreeMap<u16, (String, u64)> = match (&changed, &parent_tree) {
                (Some(_), Some(t)) => t
                    .buckets
                    .iter()
                    .map(|(b, id, n)| (*b, (id.clone(), *n)))
                    .collect(),
                _ => BTreeMap::new(),
            };
            let collections = dump::collections(conn)?;
            let mut written = 0u64;
            let total = to_read.len() as u64;
            for (i, bucket) in to_read.iter().enumerate() {
                let tables = dump::RECORD_TABLES
                    .iter()
                    .map(|t| dump::bucket_rows(conn, t, &collections, *bucket))
                    .collect::<Result<Vec<_>>>()?;
                let rows = tables[0].rows.len() as u64;
                if tables.iter().all(|t| t.rows.is_empty()) {
                    buckets.remove(bucket);
                } else {
                    let (id, sealed) = keys.seal(&dump::encode(&tables))?;
                    let n = packer.add(&id, &sealed)?;
                    written += u64::from(n > 0);
                    buckets.insert(*bucket, (id, rows));
                }
                if i % 64 == 63 {
                    progress(i as u64 + 1, total);
                }
            }
            progress(total, total);
            // Other tables: the audit log in chunks (a full chunk dedupes), the rest whole;
            // small tables share one blob.
            let mut tables_ids = Vec::new();
            let mut small = Vec::new();
            for t in dump::other_tables(conn)? {
                for chunk in dump::table_chunks(conn, &t)? {
                    if t == "audit_log" {
                        let (id, sealed) = keys.seal(&dump::encode(&[chunk]))?;
                        let n = packer.add(&id, &sealed)?;
                        written += u64::from(n > 0);
                        tables_ids.push(id);
                    } else {
                        small.push(chunk);
                    }
                }
            }
            let (id, sealed) = keys.seal(&dump::encode(&small))?;
            let n = packer.add(&id, &sealed)?;
            written += u64::from(n > 0);
            tables_ids.push(id);
            let tables_id = tables_ids;
            Ok::<_, Error>((upto, incremental, total, buckets, tables_id, written))
        })();
        let _ = conn.execute_batch("COMMIT");
        let (upto, incremental, buckets_read, buckets, tables_id, mut written) = read?;
        let mut added = 0u64;

        // The key file as it is on disk (wrapped under the password and Secret Key).
        let key_path = vault.dir().join(KEY_FILE);
        let key_bytes = std::fs::read(&key_path).at(&key_path)?;
        let key_sha = hex::encode(Sha256::digest(&key_bytes));
        let n = repo.put_once(&repo.key_path(&summary.id, &key_sha), &key_bytes)?;
        added += n;

        let records = buckets.values().map(|(_, n)| n).sum();
        let tree = Tree {
            buckets: buckets.into_iter().map(|(b, (id, n))| (b, id, n)).collect(),
            tables: tables_id,
            summary: summary.clone(),
        };
        let root = hex::encode(tree.root());
        let blobs = (tree.buckets.len() + tree.tables.len()) as u64;
        let (tree_id, sealed) = keys.seal(&serde_json::to_vec(&tree).expect("trees serialize"))?;
        let refs = tree.refs(&tree_id);
        let n = packer.add(&tree_id, &sealed)?;
        written += u64::from(n > 0);
        // Every byte of the packs (headers too) and of the index file.
        added += packer.finish()?;

        let now = time::OffsetDateTime::now_utc();
        let mut snapshot = Snapshot {
            pvault_snapshot: SNAPSHOT_VERSION,
            id: hex::encode(pvault_crypto::random::bytes::<8>()),
            repo: repo.id().to_string(),
            profile: summary.id.clone(),
            name: summary.name.clone(),
            time: now
                .format(&time::format_description::well_known::Rfc3339)
                .expect("formatting the current time"),
            unix_ms: (now.unix_timestamp_nanos() / 1_000_000) as i64,
            device: vault.device().to_string(),
            seq: parent.as_ref().map_or(0, |p| p.seq + 1),
            parent: parent.map(|p| p.id),
            key_file: key_sha,
            key_id,
            tree: tree_id,
            root,
            store_version: store::STORE_VERSION,
            log_id,
            log_seq: upto,
            records,
            blobs,
            added_bytes: 0,
            refs,
            signature: String::new(),
        };
        snapshot.added_bytes = added;
        snapshot.signature = hex::encode(vault.identity().sign(&snapshot.signed_bytes()));
        let bytes = serde_json::to_vec_pretty(&snapshot).expect("snapshots serialize");
        // Written last: a backup cut short before this leaves blobs no snapshot names (prune
        // removes them), never a snapshot with missing blobs.
        repo.put_once(&repo.snapshot_path(&summary.id, &snapshot.id), &bytes)?;
        crate::fsutil::sync_dir(&repo.root().join("snapshots").join(&summary.id))?;

        // This repository has the log up to `upto`: what every repository has can go.
        let tx = store::WriteTx::begin(conn)?;
        store::set_meta_u64(&tx, &format!("{POSITION}{}", repo.id()), upto)?;
        let newest = Newest {
            id: snapshot.id.clone(),
            time: snapshot.time.clone(),
            unix_ms: snapshot.unix_ms,
        };
        store::set_meta_bytes(
            &tx,
            &format!("{NEWEST}{}", repo.id()),
            &serde_json::to_vec(&newest).expect("serializes"),
        )?;
        let lowest = store::meta_with_prefix(&tx, POSITION)?
            .into_iter()
            .map(|(_, v)| v)
            .min()
            .unwrap_or(upto);
        dump::trim_log(&tx, lowest)?;
        vault.record_backup(
            &tx,
            Event::new(EventKind::Backup)
                .with("snapshot", snapshot.id.clone())
                .with("repository", repo.id().to_string())
                .with("added_bytes", added),
        )?;
        tx.commit()?;
        Ok(BackupReport {
            snapshot,
            buckets_read,
            blobs_written: written,
            incremental,
        })
    }
}

/// The newest snapshot this store wrote to a repository.
#[derive(Serialize, Deserialize)]
struct Newest {
    id: String,
    time: String,
    unix_ms: i64,
}

/// Refuses to build on a repository that no longer holds the newest snapshot this store wrote to
/// it, nor anything of the profile as new: it was rolled back (an older copy put in its place) or
/// snapshots were removed outside pvault. `forget` never removes a profile's newest snapshot, so
/// this does not happen in use; a full backup accepts the repository as it is.
fn check_newest(conn: &rusqlite::Connection, repo: &Repo, listed: &[Snapshot]) -> Result<()> {
    let Some(raw) = store::meta_bytes(conn, &format!("{NEWEST}{}", repo.id()))? else {
        return Ok(());
    };
    let Ok(newest) = serde_json::from_slice::<Newest>(&raw) else {
        return Ok(());
    };
    if listed
        .iter()
        .any(|s| s.id == newest.id || s.unix_ms >= newest.unix_ms)
    {
        return Ok(());
    }
    Err(Error::BackupDamaged {
        path: repo.root().to_path_buf(),
        problem: format!(
            "snapshot {} of this profile, the newest this device wrote here ({}), is gone and \
             nothing newer is in its place: the repository was rolled back or snapshots were \
             removed outside pvault (a full backup accepts it as it is)",
            newest.id, newest.time
        ),
    })
}
