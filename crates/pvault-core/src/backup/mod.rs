//! Encrypted, incremental backups of profiles into a repository: a directory (on any mounted
//! disk or remote file system). See `docs/backup.md`.
//!
//! A snapshot reuses what the store already holds sealed: record rows (their envelopes as they
//! are), breakthrough versions, index tokens, the audit log, and the key file (wrapped under the
//! password and Secret Key). Record rows go into 4096 buckets by row key, each bucket one blob;
//! the other tables go into one blob. Every blob is sealed under the profile's backup key and
//! named by a keyed hash of its contents, so an unchanged bucket is never written again and a
//! backup after one change writes one bucket, the tables blob and the snapshot's tree. The tree
//! (sealed too) lists the blobs; the snapshot file names it, with the RFC 6962 root over the
//! blobs, and is signed by the profile identity.
//!
//! - [`Repo`]: init, open, the files of a repository.
//! - `create`: [`BackupOptions::run`], a snapshot of an unlocked profile.
//! - `restore`: [`RestoreOptions::run`] (a profile from a snapshot, with the password and Secret
//!   Key only) and [`check`] (every file of a snapshot authenticated).

mod create;
mod forget;
mod pack;
mod restore;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use pvault_crypto::envelope::{self, Aad, Kind};
use pvault_crypto::{Classification, ProfileId, UnlockedKeys};

pub use create::{BackupOptions, BackupReport};
pub use forget::{ForgetOptions, ForgetReport, PruneReport, parse_keep, prune};
pub use pvault_backup::retention::{Count, Decision, Policy};
pub use restore::{
    CheckReport, RestoreOptions, RestoreReport, VerifyOptions, VerifyReport, check,
    record_from_snapshot,
};

/// The repository format this code writes (it reads 1 too). Version 2 keeps blobs in packs
/// with an index (`index/`); version 1 had one file per blob, which this code still reads. Code
/// that knows only version 1 would take a packed repository's blobs for missing, so a version 1
/// repository becomes version 2 before the first pack is written into it.
pub const REPO_VERSION: u64 = 2;
/// The oldest repository format this code reads.
pub const REPO_VERSION_MIN: u64 = 1;
/// The snapshot format.
pub const SNAPSHOT_VERSION: u64 = 1;
const SNAPSHOT_CONTEXT: &[u8] = b"pvault/v1/backup-snapshot\n";
const BLOB_COLLECTION: &str = "pvault/backup";
/// Meta key of the store's backup-log id (a restored or recreated store gets a new one).
const LOG_ID: &str = "backup/log_id";
/// Meta key prefix of the log position each repository has (`backup/pos/<repo id>`).
const POSITION: &str = "backup/pos/";
/// Meta key prefix of the newest snapshot this store wrote to each repository
/// (`backup/newest/<repo id>`: `{"id", "unix_ms"}`), to notice a repository rolled back.
const NEWEST: &str = "backup/newest/";

/// `config.json`: what makes a directory a repository.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    pub pvault_backup: u64,
    /// Random id (hex), named by every snapshot.
    pub id: String,
    pub created: String,
    /// SHA-256 (hex) of the fields above ([`RepoConfig::digest`]): damage to any byte is seen.
    pub checksum: String,
}

impl RepoConfig {
    fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = format!(
            "pvault/backup/config\n{}\n{}\n{}\n",
            self.pvault_backup, self.id, self.created
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// A backup repository.
pub struct Repo {
    root: PathBuf,
    config: RepoConfig,
    index: std::sync::Mutex<Option<std::sync::Arc<pack::Index>>>,
}

/// A snapshot file: `snapshots/<profile>/<id>.json`. Everything but `signature` is signed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub pvault_snapshot: u64,
    /// The snapshot's id (hex; the file's name).
    pub id: String,
    pub repo: String,
    pub profile: String,
    /// Profile name at the time (for listing; the registry entry is in the tree).
    pub name: String,
    /// RFC 3339 and Unix milliseconds.
    pub time: String,
    pub unix_ms: i64,
    pub device: String,
    pub parent: Option<String>,
    /// 1 + the parent's (0 without one): orders snapshots taken within one millisecond.
    pub seq: u64,
    /// SHA-256 (hex) of the key file copy in `keys/<profile>/`.
    pub key_file: String,
    /// The epoch whose backup key sealed the blobs.
    pub key_id: u32,
    /// The sealed tree blob.
    pub tree: String,
    /// RFC 6962 root (hex) over the tree's blob list.
    pub root: String,
    pub store_version: i64,
    /// Where the store's backup log was (its id and position) when the snapshot was taken.
    pub log_id: String,
    pub log_seq: u64,
    pub records: u64,
    pub blobs: u64,
    /// Bytes this snapshot added to the repository.
    pub added_bytes: u64,
    /// Every blob it needs (the tree's and the tree itself), sorted: what `prune` keeps. Ids
    /// are keyed hashes; they show only which blobs snapshots share.
    pub refs: Vec<String>,
    pub signature: String,
}

impl Snapshot {
    /// The bytes the signature covers.
    fn signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = String::new();
        let mut out = SNAPSHOT_CONTEXT.to_vec();
        out.extend_from_slice(&serde_json::to_vec(&unsigned).expect("snapshots serialize"));
        out
    }
}

/// The sealed tree: the blobs of a snapshot and the profile's registry entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Tree {
    /// `(bucket, blob id, rows)` for every non-empty bucket, in bucket order.
    buckets: Vec<(u16, String, u64)>,
    /// The blobs of every other table (the audit log in chunks of 256 entries per device, so
    /// that a full chunk is written once; each other table whole).
    tables: Vec<String>,
    summary: crate::home::ProfileSummary,
}

impl Tree {
    /// Every blob the tree names, and the tree's own id, sorted.
    fn refs(&self, tree_id: &str) -> Vec<String> {
        let mut out: Vec<String> = self.buckets.iter().map(|(_, id, _)| id.clone()).collect();
        out.extend(self.tables.iter().cloned());
        out.push(tree_id.to_string());
        out.sort();
        out.dedup();
        out
    }

    /// RFC 6962 root over the blob list: buckets in order, then the tables blob.
    fn root(&self) -> [u8; 32] {
        use pvault_proto::merkle::{Frontier, leaf_hash};
        let mut f = Frontier::new();
        for (bucket, id, rows) in &self.buckets {
            f.push(leaf_hash(format!("bucket {bucket} {id} {rows}").as_bytes()));
        }
        for id in &self.tables {
            f.push(leaf_hash(format!("tables {id}").as_bytes()));
        }
        f.root()
    }
}

/// Opens a snapshot's tree and checks its root.
fn open_tree(repo: &Repo, keys: &BlobKeys, s: &Snapshot) -> Result<Tree> {
    let plain = keys.open(repo, &s.tree)?;
    let tree: Tree = serde_json::from_slice(&plain)
        .map_err(|e| damaged(&repo.blob_path(&s.tree), format!("the tree: {e}")))?;
    if hex::encode(tree.root()) != s.root
        || tree.summary.id != s.profile
        || tree.refs(&s.tree) != s.refs
    {
        return Err(damaged(
            &repo.blob_path(&s.tree),
            "the tree is not the one the snapshot signed",
        ));
    }
    Ok(tree)
}

fn damaged(path: &Path, what: impl Into<String>) -> Error {
    Error::BackupDamaged {
        path: path.to_path_buf(),
        problem: what.into(),
    }
}

impl Repo {
    /// Makes `dir` a repository (it must not exist, or be empty).
    pub fn init(dir: &Path) -> Result<Repo> {
        if dir.exists() && std::fs::read_dir(dir).at(dir)?.next().is_some() {
            return Err(Error::Home {
                path: dir.to_path_buf(),
                message: "not empty: a repository starts in a new or empty directory".into(),
            });
        }
        fsutil::create_private_dir(dir)?;
        for sub in ["data", "index", "snapshots", "keys"] {
            fsutil::create_private_dir(&dir.join(sub))?;
        }
        let mut config = RepoConfig {
            pvault_backup: REPO_VERSION,
            id: hex::encode(pvault_crypto::random::bytes::<16>()),
            created: crate::vault::now_rfc3339(),
            checksum: String::new(),
        };
        config.checksum = config.digest();
        let bytes = serde_json::to_vec_pretty(&config).expect("config serializes");
        fsutil::write_atomic(&dir.join("config.json"), &bytes)?;
        fsutil::sync_dir(dir)?;
        Ok(Repo {
            root: dir.to_path_buf(),
            config,
            index: Default::default(),
        })
    }

    /// Opens a repository.
    pub fn open(dir: &Path) -> Result<Repo> {
        let path = dir.join("config.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Home {
                    path: dir.to_path_buf(),
                    message: "not a pvault backup repository (no config.json)".into(),
                });
            }
            Err(e) => return Err(e).at(&path),
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| damaged(&path, "not JSON"))?;
        if let Some(v) = value
            .get("pvault_backup")
            .and_then(serde_json::Value::as_u64)
            && v > REPO_VERSION
        {
            return Err(Error::NewerFormat {
                what: path.display().to_string(),
                found: v as i64,
                supported: REPO_VERSION as i64,
            });
        }
        let config: RepoConfig =
            serde_json::from_value(value).map_err(|e| damaged(&path, e.to_string()))?;
        // One encoding only: the file is exactly what init wrote, so no byte of it can change
        // unnoticed (snapshots name the id; this covers the rest).
        if serde_json::to_vec_pretty(&config).ok().as_deref() != Some(&bytes[..])
            || config.id.len() != 32
            || hex::decode(&config.id).is_err()
            || config.checksum != config.digest()
            || config.pvault_backup < REPO_VERSION_MIN
        {
            return Err(damaged(&path, "not in its one form"));
        }
        Ok(Repo {
            root: dir.to_path_buf(),
            config,
            index: Default::default(),
        })
    }

    /// The repository's id.
    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes a version 1 repository version 2 (before packs are written into it: code that knows
    /// only version 1 then refuses it instead of taking its blobs for missing).
    fn upgrade(&self) -> Result<()> {
        if self.config.pvault_backup >= REPO_VERSION {
            return Ok(());
        }
        let mut config = self.config.clone();
        config.pvault_backup = REPO_VERSION;
        config.checksum = config.digest();
        let bytes = serde_json::to_vec_pretty(&config).expect("config serializes");
        fsutil::write_atomic(&self.root.join("config.json"), &bytes)
    }

    fn blob_path(&self, id: &str) -> PathBuf {
        self.root.join("data").join(&id[..2]).join(id)
    }

    fn key_path(&self, profile: &str, sha: &str) -> PathBuf {
        self.root
            .join("keys")
            .join(profile)
            .join(format!("{sha}.json"))
    }

    fn snapshot_path(&self, profile: &str, id: &str) -> PathBuf {
        self.root
            .join("snapshots")
            .join(profile)
            .join(format!("{id}.json"))
    }

    /// Writes a file once (content-addressed: if it exists, it is the same). Returns the bytes
    /// written (0 if it was there).
    fn put_once(&self, path: &Path, bytes: &[u8]) -> Result<u64> {
        if path.exists() {
            return Ok(0);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).at(dir)?;
        }
        fsutil::write_atomic(path, bytes)?;
        Ok(bytes.len() as u64)
    }

    /// Every snapshot of `profile` (or of every profile), oldest first; a file that does not
    /// parse is reported as damage.
    pub fn snapshots(&self, profile: Option<&str>) -> Result<Vec<Snapshot>> {
        let dir = self.root.join("snapshots");
        let mut out = Vec::new();
        let profiles: Vec<PathBuf> = match profile {
            Some(p) => vec![dir.join(p)],
            None => std::fs::read_dir(&dir)
                .at(&dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect(),
        };
        for p in profiles {
            let Ok(entries) = std::fs::read_dir(&p) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.extension().and_then(|x| x.to_str()) != Some("json") {
                    continue;
                }
                out.push(self.read_snapshot_file(&path)?);
            }
        }
        out.sort_by(|a, b| (a.unix_ms, a.seq, &a.id).cmp(&(b.unix_ms, b.seq, &b.id)));
        Ok(out)
    }

    fn read_snapshot_file(&self, path: &Path) -> Result<Snapshot> {
        let bytes = std::fs::read(path).at(path)?;
        let s: Snapshot =
            serde_json::from_slice(&bytes).map_err(|e| damaged(path, e.to_string()))?;
        if s.pvault_snapshot > SNAPSHOT_VERSION {
            return Err(Error::NewerFormat {
                what: path.display().to_string(),
                found: s.pvault_snapshot as i64,
                supported: SNAPSHOT_VERSION as i64,
            });
        }
        let name_ok = path.file_stem().and_then(|n| n.to_str()) == Some(s.id.as_str())
            && path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                == Some(s.profile.as_str());
        if !name_ok || s.repo != self.config.id {
            return Err(damaged(
                path,
                "it belongs to another place (its id, profile or repository)",
            ));
        }
        if serde_json::to_vec_pretty(&s).ok().as_deref() != Some(&bytes[..]) {
            return Err(damaged(path, "not in its one form"));
        }
        Ok(s)
    }

    /// The snapshot named `id` (a unique prefix will do), of `profile` if given.
    pub fn snapshot(&self, profile: Option<&str>, id: &str) -> Result<Snapshot> {
        let all = self.snapshots(profile)?;
        let found: Vec<&Snapshot> = if id == "latest" {
            all.last().into_iter().collect()
        } else {
            all.iter().filter(|s| s.id.starts_with(id)).collect()
        };
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::Home {
                path: self.root.clone(),
                message: format!("no snapshot {id:?} here"),
            }),
            _ => Err(Error::Home {
                path: self.root.clone(),
                message: format!("{id:?} names more than one snapshot: give more of its id"),
            }),
        }
    }
}

/// The keys that seal, open and name a profile's blobs, from its unlocked keys at epoch `key_id`.
struct BlobKeys {
    seal: std::sync::Arc<pvault_crypto::CollectionKeys>,
    name: pvault_crypto::IndexKey,
    profile: ProfileId,
}

impl BlobKeys {
    fn new(keys: &UnlockedKeys, key_id: u32) -> Result<BlobKeys> {
        let root = keys.root(key_id)?;
        let profile = *keys.profile_id();
        Ok(BlobKeys {
            seal: std::sync::Arc::new(root.collection_keys(&profile, BLOB_COLLECTION)),
            name: pvault_crypto::IndexKey::new(
                &root.derive(&profile, pvault_crypto::Purpose::Backup),
            ),
            profile,
        })
    }

    fn id_of(&self, plain: &[u8]) -> String {
        hex::encode(self.name.token(&[b"pvault/backup/blob", plain]))
    }

    fn aad<'a>(&'a self, id: &'a str) -> Aad<'a> {
        Aad {
            profile: &self.profile,
            kind: Kind::Backup,
            collection: BLOB_COLLECTION,
            record_id: id,
            classification: Classification::Secret,
        }
    }

    /// `(id, sealed)`.
    fn seal(&self, plain: &[u8]) -> Result<(String, Vec<u8>)> {
        let id = self.id_of(plain);
        let sealed = envelope::seal(&self.seal, &self.aad(&id), plain)?;
        Ok((id, sealed))
    }

    /// Opens a blob (found through the index, or loose) and checks it is the one its id names.
    fn open(&self, repo: &Repo, id: &str) -> Result<pvault_crypto::SecretVec> {
        if id.len() != 32 || hex::decode(id).is_err() {
            return Err(damaged(repo.root(), format!("blob id {id:?} is malformed")));
        }
        let (path, bytes) = repo.read_sealed(id)?;
        self.open_sealed(&path, id, &bytes)
    }

    /// Opens sealed bytes read from `path` as blob `id`.
    fn open_sealed(
        &self,
        path: &Path,
        id: &str,
        sealed: &[u8],
    ) -> Result<pvault_crypto::SecretVec> {
        let plain = envelope::open(&self.seal, &self.aad(id), sealed).map_err(|_| {
            damaged(
                path,
                format!("blob {id} does not decrypt: changed or damaged"),
            )
        })?;
        if self.id_of(&plain) != id {
            return Err(damaged(
                path,
                format!("blob {id}: its contents are not the ones its name says"),
            ));
        }
        Ok(plain)
    }
}
