//! `RestoreOptions::run` (a profile from a snapshot, with its password and Secret Key only) and
//! [`check`] (every file a snapshot needs, authenticated).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{BlobKeys, LOG_ID, NEWEST, POSITION, Repo, Snapshot, damaged, open_tree};
use crate::error::{Error, Result};
use crate::home::ProfileSummary;
use crate::profile::{Credentials, Pvault};
use crate::store::{self, dump};
use pvault_crypto::{CryptoError, KeyFile, UnlockedKeys};

/// The snapshot's key file: present, the one it names, and the one that signed it.
fn key_file(repo: &Repo, s: &Snapshot) -> Result<(Vec<u8>, KeyFile)> {
    let path = repo.key_path(&s.profile, &s.key_file);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => damaged(&path, "missing"),
        _ => Error::Io {
            path: path.clone(),
            source: e,
        },
    })?;
    if hex::encode(Sha256::digest(&bytes)) != s.key_file {
        return Err(damaged(&path, "not the key file the snapshot names"));
    }
    let file = KeyFile::decode(&bytes).map_err(|e| damaged(&path, e.to_string()))?;
    if file.profile_id().map(|p| p.to_hex()).ok().as_deref() != Some(s.profile.as_str()) {
        return Err(damaged(&path, "the key file of another profile"));
    }
    let identity = file
        .public_identity()
        .map_err(|e| damaged(&path, e.to_string()))?;
    let signature = hex::decode(&s.signature).unwrap_or_default();
    identity
        .verify(&s.signed_bytes(), &signature)
        .map_err(|_| {
            damaged(
                &repo.snapshot_path(&s.profile, &s.id),
                "its signature does not verify with the profile's identity",
            )
        })?;
    Ok((bytes, file))
}

/// Unlocks a snapshot's key file (the password and Secret Key of the profile when it was taken).
fn unlock(file: &KeyFile, name: &str, creds: &Credentials) -> Result<UnlockedKeys> {
    file.unlock(&creds.password, creds.secret_key.as_ref())
        .map_err(|e| match e {
            CryptoError::WrongPassword => Error::WrongPassword {
                profile: name.to_string(),
                attempts_left: None,
            },
            CryptoError::WrongPasswordOrSecretKey => Error::WrongPasswordOrSecretKey {
                profile: name.to_string(),
                attempts_left: None,
            },
            CryptoError::SecretKeyRequired => Error::SecretKeyRequired(name.to_string()),
            other => other.into(),
        })
}

/// What [`check`] read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckReport {
    pub snapshot: String,
    pub blobs: u64,
    pub bytes: u64,
    pub records: u64,
}

/// Reads and authenticates every file `s` needs with `keys` (the profile's, unlocked): the key
/// file and the signature, the tree and its root, every pack holding a blob it needs (whole: its
/// hash is its name, its header lists blobs that tile it and agrees with the index), every such
/// blob (decrypted, and named by its contents), and that the rows decode. One pack is in memory at
/// a time.
pub fn check(repo: &Repo, s: &Snapshot, keys: &UnlockedKeys) -> Result<CheckReport> {
    use std::collections::{BTreeMap, HashMap};
    let _ = key_file(repo, s)?;
    let blob_keys = BlobKeys::new(keys, s.key_id)?;
    let tree = open_tree(repo, &blob_keys, s)?;
    // What each blob must hold: a bucket's rows, or (`None`) tables.
    let mut want: HashMap<&str, Option<(u16, u64)>> = HashMap::new();
    for (bucket, id, rows) in &tree.buckets {
        want.insert(id, Some((*bucket, *rows)));
    }
    for id in &tree.tables {
        want.insert(id, None);
    }
    let check_blob = |path: &std::path::Path, id: &str, plain: &[u8]| -> Result<u64> {
        let tables = dump::decode(plain).map_err(|e| damaged(path, format!("blob {id}: {e}")))?;
        if let Some(Some((bucket, rows))) = want.get(id) {
            let ok = tables.first().is_some_and(|t| {
                t.table == "records"
                    && t.rows.len() as u64 == *rows
                    && t.rows.iter().all(|r| match r.get(1) {
                        Some(rusqlite::types::Value::Blob(rid)) => dump::bucket_of(rid) == *bucket,
                        _ => false,
                    })
            });
            if !ok {
                return Err(damaged(
                    path,
                    format!("blob {id}: its rows are not the tree's"),
                ));
            }
        }
        Ok(plain.len() as u64)
    };
    let index = repo.index()?;
    // The packs the snapshot needs (the tree's among them), and the loose blobs.
    let mut packs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut loose = Vec::new();
    for id in &s.refs {
        match index.blobs.get(id) {
            Some(loc) => packs.entry(loc.pack.as_str()).or_default().push(id),
            None => loose.push(id.as_str()),
        }
    }
    let mut bytes = 0u64;
    for (pack, ids) in packs {
        let (data, header) = repo.read_pack(pack)?;
        let path = repo.pack_path(pack);
        for id in ids {
            let loc = &index.blobs[id];
            if !header.contains(&(id.to_string(), loc.offset, loc.len)) {
                return Err(damaged(
                    &path,
                    format!("its header does not list blob {id}"),
                ));
            }
            let sealed = &data[loc.offset as usize..(loc.offset + loc.len) as usize];
            let plain = blob_keys.open_sealed(&path, id, sealed)?;
            if id != s.tree {
                bytes += check_blob(&path, id, &plain)?;
            }
        }
    }
    for id in loose {
        let plain = blob_keys.open(repo, id)?;
        if id != s.tree {
            bytes += check_blob(&repo.blob_path(id), id, &plain)?;
        }
    }
    let records: u64 = tree.buckets.iter().map(|(_, _, n)| n).sum();
    if records != s.records {
        return Err(damaged(
            &repo.snapshot_path(&s.profile, &s.id),
            "its record count is not the tree's",
        ));
    }
    Ok(CheckReport {
        snapshot: s.id.clone(),
        blobs: (tree.buckets.len() + tree.tables.len()) as u64,
        bytes,
        records,
    })
}

/// What to restore.
pub struct RestoreOptions {
    /// The snapshot (an id, a unique prefix, or `latest`).
    pub snapshot: String,
    /// The profile whose snapshots are meant (its id), if known.
    pub profile: Option<String>,
    /// The restored profile's name (default: its name in the snapshot).
    pub name: Option<String>,
}

/// What a restore made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RestoreReport {
    pub snapshot: Snapshot,
    pub profile: ProfileSummary,
    pub records: u64,
}

impl RestoreOptions {
    /// Restores the snapshot as a profile in `pv`, opened with `creds` (the password and Secret
    /// Key the profile had when the snapshot was taken). All or nothing: the profile is registered
    /// only once every row is in; the sync setup is not restored (set it up, or join, again).
    pub fn run(&self, pv: &Pvault, repo: &Repo, creds: &Credentials) -> Result<RestoreReport> {
        let s = repo.snapshot(self.profile.as_deref(), &self.snapshot)?;
        let (key_bytes, file) = key_file(repo, &s)?;
        let keys = unlock(&file, &s.name, creds)?;
        check(repo, &s, &keys)?;
        let blob_keys = BlobKeys::new(&keys, s.key_id)?;
        let tree = open_tree(repo, &blob_keys, &s)?;
        // An older store version is restored as it was and then migrated like any older store.
        if s.store_version > store::STORE_VERSION {
            return Err(Error::NewerFormat {
                what: format!("snapshot {}'s store", s.id),
                found: s.store_version,
                supported: store::STORE_VERSION,
            });
        }
        let mut summary = tree.summary.clone();
        if let Some(name) = &self.name {
            summary.name = name.clone();
        }
        let restored =
            pv.restore_profile(summary, &key_bytes, file, keys, s.store_version, |conn| {
                let tx = store::WriteTx::begin(conn)?;
                for id in &tree.tables {
                    let plain = blob_keys.open(repo, id)?;
                    for t in dump::decode(&plain)? {
                        dump::insert_rows(&tx, &t)?;
                    }
                }
                for (_, id, _) in &tree.buckets {
                    let plain = blob_keys.open(repo, id)?;
                    for t in dump::decode(&plain)? {
                        dump::insert_rows(&tx, &t)?;
                    }
                }
                // Not restored: the sync setup (a device key must not live on two machines) and
                // the backup log's place (a new store starts its own log: its next backup is full).
                store::forget_sync(&tx)?;
                store::delete_meta_prefix(&tx, LOG_ID)?;
                store::delete_meta_prefix(&tx, POSITION)?;
                store::delete_meta_prefix(&tx, NEWEST)?;
                dump::clear_log(&tx)?;
                tx.commit()
            })?;
        Ok(RestoreReport {
            snapshot: s,
            profile: restored,
            records: tree.buckets.iter().map(|(_, _, n)| n).sum(),
        })
    }
}

/// What to verify.
pub struct VerifyOptions {
    /// The snapshot (an id, a unique prefix, or `latest`).
    pub snapshot: String,
    /// The profile whose snapshots are meant (its id), if known.
    pub profile: Option<String>,
    /// Also read and authenticate every blob of every other snapshot of the profile.
    pub read_data: bool,
}

/// What a verify found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyReport {
    pub snapshot: Snapshot,
    /// Every file the snapshot needs checked out.
    pub checked: CheckReport,
    /// The snapshot restored into a scratch home: records, and what its `verify` found wrong
    /// (each record opened, row tags, the audit log).
    pub restored_records: u64,
    pub problems: Vec<String>,
    /// With `read_data`: the other snapshots read.
    pub other_snapshots: Vec<CheckReport>,
}

impl VerifyOptions {
    /// Checks the snapshot's files, restores it into a scratch home (removed after) and verifies
    /// the restored profile there.
    pub fn run(&self, repo: &Repo, creds: &Credentials) -> Result<VerifyReport> {
        let s = repo.snapshot(self.profile.as_deref(), &self.snapshot)?;
        let (_, file) = key_file(repo, &s)?;
        let keys = unlock(&file, &s.name, creds)?;
        let checked = check(repo, &s, &keys)?;
        let mut other_snapshots = Vec::new();
        if self.read_data {
            for other in repo.snapshots(Some(&s.profile))? {
                if other.id == s.id {
                    continue;
                }
                let (_, f) = key_file(repo, &other)?;
                // An older snapshot may need its own password: the current keys first.
                let k = match BlobKeys::new(&keys, other.key_id) {
                    Ok(_) => None,
                    Err(_) => Some(unlock(&f, &other.name, creds)?),
                };
                other_snapshots.push(check(repo, &other, k.as_ref().unwrap_or(&keys))?);
            }
        }
        let verified = in_scratch(repo, &s, creds, |vault| {
            let report = vault.verify(&mut |_, _| {})?;
            Ok((report.records, report.problems))
        });
        let (restored_records, problems) = verified?;
        Ok(VerifyReport {
            snapshot: s,
            checked,
            restored_records,
            problems: problems
                .into_iter()
                .map(|p| format!("{}/{}: {}", p.collection, p.id, p.problem))
                .collect(),
            other_snapshots,
        })
    }
}

/// One record of a snapshot, read from a scratch restore (removed after): what
/// `backup restore --record` writes back into the living profile as a new version.
pub fn record_from_snapshot(
    repo: &Repo,
    snapshot: &str,
    profile: Option<&str>,
    creds: &Credentials,
    collection: &str,
    id: &str,
) -> Result<(Snapshot, crate::vault::Record)> {
    let s = repo.snapshot(profile, snapshot)?;
    let got = in_scratch(repo, &s, creds, |vault| vault.get(collection, id));
    Ok((s, got?))
}

/// Restores `s` into a scratch home (a private temporary directory, removed after, whatever
/// happens), unlocks and re-authenticates it, and hands it to `f`.
fn in_scratch<T>(
    repo: &Repo,
    s: &Snapshot,
    creds: &Credentials,
    f: impl FnOnce(&mut crate::vault::Vault) -> Result<T>,
) -> Result<T> {
    let scratch = std::env::temp_dir().join(format!(
        "pvault-scratch-{}",
        hex::encode(pvault_crypto::random::bytes::<8>())
    ));
    let result = (|| {
        crate::fsutil::create_private_dir(&scratch)?;
        let pv = Pvault::open(&scratch)?;
        let restored = RestoreOptions {
            snapshot: s.id.clone(),
            profile: Some(s.profile.clone()),
            name: None,
        }
        .run(&pv, repo, creds)?;
        let mut vault = pv.unlock(Some(&restored.profile.name), creds)?;
        pv.reauthenticate(&mut vault, creds)?;
        f(&mut vault)
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
