//! Packs and the index (repository version 2, restic's layout): sealed blobs are written one after
//! another into pack files of up to [`PACK_TARGET`] bytes, `data/<2 hex>/<pack id>`, each ending
//! in a header that lists its blobs and the header's length (4 bytes, little-endian). A pack's id
//! is the SHA-256 of the whole file, an index file's (`index/<id>`) the SHA-256 of its bytes: every
//! file is named by its contents, so any damaged byte is seen.
//!
//! Neither the header nor the index is sealed: they name blob ids (keyed hashes, which the
//! snapshot files list in the clear too), offsets and lengths (which the loose-blob layout showed
//! as file sizes), and `prune`, which needs no password, rewrites both. What a blob holds is
//! sealed and authenticated under its id as before.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Repo, damaged};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// A pack is closed once it holds this many bytes (a bigger blob goes into a pack of its own).
pub(super) const PACK_TARGET: u64 = 16 << 20;
const INDEX_VERSION: u64 = 1;
/// Temporary pack files are written in `data/` under this prefix, then renamed into place.
pub(super) const TMP_PREFIX: &str = ".pack-";

/// Where a blob is: its pack, and its sealed bytes' offset and length there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Loc {
    pub pack: String,
    pub offset: u64,
    pub len: u64,
}

/// A pack's blobs as its header and the index list them: `(blob id, offset, length)`.
pub(super) type BlobList = Vec<(String, u64, u64)>;

/// One pack as an index file or a header lists it: `(blob id, offset, length)`, in offset order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(super) struct PackEntry {
    pub id: String,
    pub blobs: Vec<(String, u64, u64)>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    pvault_index: u64,
    packs: Vec<PackEntry>,
}

/// Every index file, read: blob id → where it is (the first index naming a blob wins).
#[derive(Default, Debug)]
pub(super) struct Index {
    pub blobs: HashMap<String, Loc>,
    /// The index files read (their ids).
    pub files: Vec<String>,
    /// Every pack an index file names → its blobs, as listed.
    pub packs: BTreeMap<String, BlobList>,
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn is_id(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Repo {
    pub(super) fn pack_path(&self, id: &str) -> PathBuf {
        self.root.join("data").join(&id[..2]).join(id)
    }

    fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }

    /// The index (read once per `Repo`, then kept).
    pub(super) fn index(&self) -> Result<Arc<Index>> {
        let mut cached = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = cached.as_ref() {
            return Ok(i.clone());
        }
        let i = Arc::new(self.read_index()?);
        *cached = Some(i.clone());
        Ok(i)
    }

    /// Forgets the cached index (after prune rewrote it).
    pub(super) fn forget_index(&self) {
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn read_index(&self) -> Result<Index> {
        let dir = self.index_dir();
        let mut index = Index::default();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(index),
            Err(e) => return Err(e).at(&dir),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).at(&path)?;
            if !is_id(&name, 64) || sha_hex(&bytes) != name {
                return Err(damaged(
                    &path,
                    "its contents are not the ones its name says",
                ));
            }
            let file: IndexFile =
                serde_json::from_slice(&bytes).map_err(|e| damaged(&path, e.to_string()))?;
            if file.pvault_index > INDEX_VERSION {
                return Err(Error::NewerFormat {
                    what: path.display().to_string(),
                    found: file.pvault_index as i64,
                    supported: INDEX_VERSION as i64,
                });
            }
            for p in file.packs {
                if !is_id(&p.id, 64) {
                    return Err(damaged(&path, format!("pack id {:?} is malformed", p.id)));
                }
                for (id, offset, len) in &p.blobs {
                    index.blobs.entry(id.clone()).or_insert_with(|| Loc {
                        pack: p.id.clone(),
                        offset: *offset,
                        len: *len,
                    });
                }
                index.packs.entry(p.id).or_insert(p.blobs);
            }
            index.files.push(name);
        }
        Ok(index)
    }

    /// Writes an index file listing `packs` (durably: the file and the directory). Returns its
    /// id and size.
    pub(super) fn write_index(&self, packs: Vec<PackEntry>) -> Result<(String, u64)> {
        let file = IndexFile {
            pvault_index: INDEX_VERSION,
            packs,
        };
        let bytes = serde_json::to_vec(&file).expect("indexes serialize");
        let id = sha_hex(&bytes);
        let dir = self.index_dir();
        fsutil::create_private_dir(&dir)?;
        let path = dir.join(&id);
        if !path.exists() {
            fsutil::write_atomic(&path, &bytes)?;
        }
        Ok((id, bytes.len() as u64))
    }

    pub(super) fn remove_index_file(&self, id: &str) -> Result<()> {
        let path = self.index_dir().join(id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(&path),
            _ => Ok(()),
        }
    }

    pub(super) fn sync_index_dir(&self) -> Result<()> {
        let dir = self.index_dir();
        if dir.exists() {
            fsutil::sync_dir(&dir)?;
        }
        Ok(())
    }

    /// The sealed bytes of blob `id`: from its pack if the index names it, else from a loose blob
    /// file (`data/xx/<blob id>`, how repository version 1 stored them).
    pub(super) fn read_sealed(&self, id: &str) -> Result<(PathBuf, Vec<u8>)> {
        let index = self.index()?;
        let not_found = |path: &Path, e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::NotFound {
                damaged(path, "missing")
            } else {
                Error::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        };
        match index.blobs.get(id) {
            Some(loc) => {
                let path = self.pack_path(&loc.pack);
                let mut f = std::fs::File::open(&path).map_err(|e| not_found(&path, e))?;
                let mut buf = vec![0u8; loc.len as usize];
                f.seek(SeekFrom::Start(loc.offset))
                    .and_then(|_| f.read_exact(&mut buf))
                    .map_err(|_| {
                        damaged(&path, format!("blob {id} is not where the index says"))
                    })?;
                Ok((path, buf))
            }
            None => {
                let path = self.blob_path(id);
                let bytes = std::fs::read(&path).map_err(|e| not_found(&path, e))?;
                Ok((path, bytes))
            }
        }
    }

    /// Whether the repository holds blob `id` (in a pack, or loose).
    pub(super) fn has_blob(&self, index: &Index, id: &str) -> bool {
        index.blobs.contains_key(id) || self.blob_path(id).exists()
    }

    /// Reads a whole pack and checks it: its hash is its name, its header parses and lists
    /// blobs that tile the data before it. Returns the bytes and the header's list.
    pub(super) fn read_pack(&self, id: &str) -> Result<(Vec<u8>, BlobList)> {
        let path = self.pack_path(id);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => damaged(&path, "missing"),
            _ => Error::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        if sha_hex(&bytes) != id {
            return Err(damaged(
                &path,
                "its contents are not the ones its name says",
            ));
        }
        let header = parse_header(&bytes).ok_or_else(|| damaged(&path, "its header is damaged"))?;
        Ok((bytes, header))
    }
}

/// The header's blob list, if the pack's tail is a header whose blobs tile the bytes before it.
pub(super) fn parse_header(bytes: &[u8]) -> Option<BlobList> {
    let n = bytes.len();
    let len = u32::from_le_bytes(bytes.get(n.checked_sub(4)?..)?.try_into().ok()?) as usize;
    let start = n.checked_sub(4)?.checked_sub(len)?;
    let blobs: BlobList = serde_json::from_slice(&bytes[start..n - 4]).ok()?;
    let mut at = 0u64;
    for (id, offset, len) in &blobs {
        if *offset != at || !is_id(id, 32) {
            return None;
        }
        at = offset.checked_add(*len)?;
    }
    (at == start as u64).then_some(blobs)
}

/// The pack being written: a temporary file in `data/`, hashed as it grows.
struct Open {
    tmp: PathBuf,
    file: std::fs::File,
    hash: Sha256,
    blobs: Vec<(String, u64, u64)>,
    size: u64,
}

/// Writes blobs into packs; [`Packer::finish`] makes them durable and indexes them.
pub(super) struct Packer<'a> {
    repo: &'a Repo,
    known: Arc<Index>,
    /// Dedup against the repository (a backup) or not (prune's repack: the blobs are there).
    dedup: bool,
    open: Option<Open>,
    done: Vec<PackEntry>,
    dirs: BTreeSet<PathBuf>,
    seen: HashSet<String>,
    /// Bytes written: blobs, headers.
    pub bytes: u64,
}

impl<'a> Packer<'a> {
    pub fn new(repo: &'a Repo, dedup: bool) -> Result<Packer<'a>> {
        Ok(Packer {
            repo,
            known: if dedup { repo.index()? } else { Arc::default() },
            dedup,
            open: None,
            done: Vec::new(),
            dirs: BTreeSet::new(),
            seen: HashSet::new(),
            bytes: 0,
        })
    }

    /// Adds a sealed blob unless the repository (or this packer) has it. Returns the bytes added.
    pub fn add(&mut self, id: &str, sealed: &[u8]) -> Result<u64> {
        if self.seen.contains(id) || (self.dedup && self.repo.has_blob(&self.known, id)) {
            return Ok(0);
        }
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.size > 0 && o.size + sealed.len() as u64 > PACK_TARGET)
        {
            self.close()?;
        }
        if self.open.is_none() {
            let data = self.repo.root.join("data");
            let tmp = data.join(format!(
                "{TMP_PREFIX}{}",
                hex::encode(pvault_crypto::random::bytes::<8>())
            ));
            let file = fsutil::create_private_file(&tmp)?;
            self.open = Some(Open {
                tmp,
                file,
                hash: Sha256::new(),
                blobs: Vec::new(),
                size: 0,
            });
        }
        let o = self.open.as_mut().expect("a pack is open");
        o.file.write_all(sealed).at(&o.tmp)?;
        o.hash.update(sealed);
        o.blobs.push((id.to_string(), o.size, sealed.len() as u64));
        o.size += sealed.len() as u64;
        self.seen.insert(id.to_string());
        self.bytes += sealed.len() as u64;
        Ok(sealed.len() as u64)
    }

    /// Ends the open pack: header, length, fsync, rename to its id.
    fn close(&mut self) -> Result<()> {
        let Some(mut o) = self.open.take() else {
            return Ok(());
        };
        let result = (|| {
            let header = serde_json::to_vec(&o.blobs).expect("headers serialize");
            let len = (header.len() as u32).to_le_bytes();
            o.file.write_all(&header).at(&o.tmp)?;
            o.file.write_all(&len).at(&o.tmp)?;
            o.hash.update(&header);
            o.hash.update(len);
            o.file.sync_all().at(&o.tmp)?;
            let id = hex::encode(o.hash.clone().finalize());
            let path = self.repo.pack_path(&id);
            let dir = path.parent().expect("packs have a directory").to_path_buf();
            fsutil::create_private_dir(&dir)?;
            std::fs::rename(&o.tmp, &path).at(&path)?;
            self.dirs.insert(dir);
            self.bytes += header.len() as u64 + 4;
            self.done.push(PackEntry {
                id,
                blobs: std::mem::take(&mut o.blobs),
            });
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&o.tmp);
        }
        result
    }

    /// Closes the last pack, syncs every directory a pack went into, and returns the packs
    /// written (not yet indexed).
    pub fn finish_packs(mut self) -> Result<(Vec<PackEntry>, u64)> {
        self.close()?;
        for dir in &self.dirs {
            fsutil::sync_dir(dir)?;
        }
        if !self.dirs.is_empty() {
            fsutil::sync_dir(&self.repo.root.join("data"))?;
        }
        Ok((std::mem::take(&mut self.done), self.bytes))
    }

    /// [`Packer::finish_packs`], then one index file naming them. Returns the bytes written.
    pub fn finish(self) -> Result<u64> {
        let repo = self.repo;
        let (packs, mut bytes) = self.finish_packs()?;
        if !packs.is_empty() {
            bytes += repo.write_index(packs)?.1;
            repo.forget_index();
        }
        Ok(bytes)
    }
}

impl Drop for Packer<'_> {
    fn drop(&mut self) {
        if let Some(o) = self.open.take() {
            let _ = std::fs::remove_file(&o.tmp);
        }
    }
}
