//! Portable export and import of a whole profile, as an age file anyone can open (`age -d`) with
//! a documented text format inside (`docs/export.md`; the format and the age layer are the
//! `pvault-export` crate's).
//!
//! [`ExportOptions::run`] reads every record of an unlocked profile (SECRET and TOP_SECRET ones
//! too, so it needs a fresh re-authentication), every earlier version of its breakthroughs, its
//! settings and its audit log, and writes them under a manifest signed by the profile identity;
//! the file appears under its name only once it is complete. [`ImportOptions::run`] checks a file
//! whole (manifest signature, SHA-256, every line, every record against its collection's schema)
//! before it writes anything, then writes a new profile that is registered only when every record
//! is in it: all or nothing, even across a crash.

mod import;

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audit::{Event, EventKind};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::vault::{Record, Vault, now_rfc3339};
use pvault_export::file;
use pvault_export::format::{Entry, Header, RecordEntry, Writer};
use pvault_model::models::CollectionKind;

pub use import::{ImportOptions, ImportReport};
pub use pvault_export::SecretString;
pub use pvault_export::file::{Identities, Key, Protection, looks_like_age};

/// How to export.
pub struct ExportOptions {
    /// Recipients or a passphrase.
    pub protection: Protection,
    /// ASCII-armor the file (`-----BEGIN AGE ENCRYPTED FILE-----`).
    pub armor: bool,
}

/// What an export wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportReport {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Current records by collection.
    pub records: BTreeMap<String, u64>,
    /// Earlier versions of breakthroughs.
    pub versions: u64,
    /// Audit log entries.
    pub audit_entries: u64,
    /// The profile identity that signed the manifest (hex), to compare on import.
    pub identity: String,
    /// The manifest's SHA-256 of the contents (hex).
    pub sha256: String,
}

impl ExportOptions {
    /// Exports the profile to `out`, a file that must not exist. `progress(done, total)` counts
    /// collections.
    pub fn run(
        &self,
        vault: &Vault,
        out: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ExportReport> {
        if out.exists() {
            return Err(Error::Home {
                path: out.to_path_buf(),
                message: "the file exists; an export never replaces a file".into(),
            });
        }
        let collections = vault.counts()?;
        let summary = vault.summary();
        let identity = vault.identity().public().ed25519;
        let header = Header::new(
            &summary.id,
            &summary.name,
            &summary.display_name,
            &summary.security.to_string(),
            &identity,
            vault.device(),
            &now_rfc3339(),
        );
        let partial = partial_path(out);
        let wrap = |e| Error::Export {
            path: out.to_path_buf(),
            source: e,
        };
        let mut audit_entries = 0u64;
        // Written as read, one collection at a time, into a hidden file beside `out`: a record
        // that cannot be shown (or any failure) removes it, and `out` never exists half-written.
        let written = (|| {
            let f = fsutil::create_private_file(&partial)?;
            let sealed =
                file::seal(BufWriter::new(f), &self.protection, self.armor).map_err(wrap)?;
            let mut w = Writer::new(sealed, &header).map_err(wrap)?;
            let total = collections.len() as u64 + 1;
            for (i, (collection, _)) in collections.iter().enumerate() {
                for e in collection_entries(vault, collection)? {
                    w.entry(&e).map_err(wrap)?;
                }
                progress(i as u64 + 1, total);
            }
            let settings = serde_json::to_value(&vault.summary().settings)
                .map_err(|e| Error::Json(e.to_string()))?;
            w.entry(&Entry::Settings { settings }).map_err(wrap)?;
            let audit = vault.export_audit_quietly()?;
            audit_entries = audit.chains.iter().map(|c| c.entries.len() as u64).sum();
            let log = serde_json::to_value(&audit).map_err(|e| Error::Json(e.to_string()))?;
            w.entry(&Entry::Audit { log }).map_err(wrap)?;
            progress(total, total);
            let (sealed, manifest) = w.finish(|m| vault.identity().sign(m)).map_err(wrap)?;
            let f = sealed
                .finish()
                .map_err(wrap)?
                .into_inner()
                .map_err(|e| e.into_error())
                .at(&partial)?;
            f.sync_all().at(&partial)?;
            Ok::<_, Error>(manifest)
        })();
        let manifest = match written {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        let mut records = BTreeMap::new();
        let mut versions = 0;
        for (kind, n) in &manifest.counts {
            if let Some(c) = kind.strip_prefix("record:") {
                records.insert(c.to_string(), *n);
            } else if kind == "version" {
                versions = *n;
            }
        }
        // The audit entry first (an export that cannot be recorded is not made), then the file
        // under its name; a link fails if the name was taken meanwhile (no file is replaced).
        let recorded = vault.record_export(
            Event::new(EventKind::Exported)
                .with("what", "profile")
                .with("records", records.values().sum::<u64>())
                .with("sha256", manifest.sha256.clone()),
        );
        let placed = recorded.and_then(|()| std::fs::hard_link(&partial, out).at(out));
        let _ = std::fs::remove_file(&partial);
        placed?;
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            fsutil::sync_dir(dir)?;
        }
        Ok(ExportReport {
            path: out.to_path_buf(),
            bytes: std::fs::metadata(out).at(out)?.len(),
            records,
            versions,
            audit_entries,
            identity: hex::encode(identity),
            sha256: manifest.sha256,
        })
    }
}

/// The lines of one collection: each record's current version, after (for breakthroughs) its
/// earlier versions, oldest first.
fn collection_entries(vault: &Vault, collection: &str) -> Result<Vec<Entry>> {
    let listing = vault.list(collection, None)?;
    if let Some(u) = listing.unreadable.first() {
        return Err(Error::Tampered {
            collection: collection.to_string(),
            id: u.id.clone(),
        });
    }
    let append_only =
        crate::vault::collection_name(collection)?.kind() == CollectionKind::Breakthroughs;
    let mut entries = Vec::with_capacity(listing.records.len());
    for record in listing.records {
        if record.hidden {
            return Err(Error::ReauthRequired {
                collection: record.collection,
                id: record.id,
                classification: record.classification,
            });
        }
        if append_only {
            let mut history = vault.history(collection, &record.id)?;
            history.pop(); // the current version, written below
            for v in history {
                entries.push(Entry::Version(record_entry(v)?));
            }
        }
        entries.push(Entry::Record(record_entry(record)?));
    }
    Ok(entries)
}

fn record_entry(r: Record) -> Result<RecordEntry> {
    let attestation = r
        .attestation
        .map(|a| serde_json::to_value(a).map_err(|e| Error::Json(e.to_string())))
        .transpose()?;
    Ok(RecordEntry {
        collection: r.collection,
        id: r.id,
        classification: r.classification.to_string(),
        version: r.version,
        revision: r.revision,
        device: r.device,
        created: r.created,
        updated: r.updated,
        data: r.data,
        attestation,
    })
}

/// Where an export is written before it gets its name: beside it, hidden.
fn partial_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    let tag = hex::encode(pvault_crypto::random::bytes::<4>());
    out.with_file_name(format!(".{name}.{tag}.partial"))
}
