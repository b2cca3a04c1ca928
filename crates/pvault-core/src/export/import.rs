//! `ImportOptions::run`: a profile from an export file, checked whole before anything is written,
//! written whole or not at all.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::audit::{Event, EventKind};
use crate::error::{Error, IoContext, Result};
use crate::home::{ProfileSettings, ProfileSummary};
use crate::profile::{NewProfile, Pvault};
use crate::vault::{NewRecord, collection_name, validate_record_id};
use pvault_crypto::Classification;
use pvault_export::file::{self, Key};
use pvault_export::format::{self, Entry, RecordEntry, Verified};
use pvault_model::SecurityLevel;

/// Records written per transaction while importing.
const BATCH: usize = 500;

/// What to import, and how.
pub struct ImportOptions {
    /// The export file.
    pub file: PathBuf,
    /// Its passphrase or identities.
    pub key: Key,
    /// The new profile's name (default: the exported profile's).
    pub name: Option<String>,
    /// The identity (hex) the manifest must be signed by; without it, any consistent signature
    /// is accepted and the report names the key that made it.
    pub signed_by: Option<String>,
}

/// What an import made (no `Debug`: it holds the new Secret Key).
pub struct ImportReport {
    /// The new profile.
    pub profile: ProfileSummary,
    /// Its Secret Key (new: the import makes new keys), to write down.
    pub secret_key: Zeroizing<String>,
    /// The exported profile: id, name, security level, and when and where it was exported.
    pub source_id: String,
    pub source_name: String,
    pub exported_at: String,
    pub exported_by_device: String,
    /// The identity that signed the manifest (hex).
    pub signed_by: String,
    /// Current records by collection.
    pub records: BTreeMap<String, u64>,
    /// Earlier breakthrough versions (written again, so the new profile's chain re-signs them).
    pub versions: u64,
    /// The settings were applied.
    pub settings: bool,
    /// Entries of the exported audit log: checked, but not merged (the new profile starts a log
    /// of its own, whose first entries record this import).
    pub audit_entries: u64,
}

impl ImportOptions {
    /// Imports the file as a new profile protected by `password`. `progress(stage, done,
    /// total)`: `checking` then `importing`, counting entries.
    pub fn run(
        &self,
        pv: &Pvault,
        password: &[u8],
        progress: &mut dyn FnMut(&'static str, u64, u64),
    ) -> Result<ImportReport> {
        pv.remove_unfinished()?;
        // A name given is checked before the file is read (the exported name only after).
        if let Some(name) = &self.name {
            crate::home::validate_profile_name(name)?;
            pv.home().ensure_free(name)?;
        }
        let wrap = |e| Error::Export {
            path: self.file.clone(),
            source: e,
        };
        // Pass 1: everything checked, nothing written.
        let mut seen = 0u64;
        let mut settings = None;
        let mut audit_entries = 0u64;
        let checked = self.read(|entry| {
            seen += 1;
            if seen.is_multiple_of(1000) {
                progress("checking", seen, 0);
            }
            match entry {
                Entry::Record(r) | Entry::Version(r) => check_record(&r),
                Entry::Settings { settings: s } => {
                    let s: ProfileSettings =
                        serde_json::from_value(s).map_err(|e| bad(format!("the settings: {e}")))?;
                    settings = Some(s);
                    Ok(())
                }
                Entry::Audit { log } => {
                    audit_entries = check_audit(log)?;
                    Ok(())
                }
            }
        })?;
        let header = &checked.header;
        if let Some(want) = &self.signed_by
            && !want.trim().eq_ignore_ascii_case(&header.profile.identity)
        {
            return Err(wrap(pvault_export::Error::Tampered(format!(
                "it is signed by the identity {}, not by the one given",
                header.profile.identity
            ))));
        }
        let security: SecurityLevel = header.profile.security.parse().map_err(|_| {
            wrap(bad(format!(
                "unknown security level {:?}",
                header.profile.security
            )))
        })?;
        let options = NewProfile {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| header.profile.name.clone()),
            display_name: Some(header.profile.display_name.clone()),
            security,
        };
        let total = checked.manifest.entries;
        let first = Event::new(EventKind::ProfileCreated)
            .with("security", security.to_string())
            .with("via", "import");
        // Pass 2: written into a profile that is registered only once all of it is in.
        let mut records: BTreeMap<String, u64> = BTreeMap::new();
        let mut versions = 0u64;
        let created = pv.create_filled(
            options,
            password,
            first,
            settings.clone().unwrap_or_default(),
            |vault| {
                let mut batch: Vec<NewRecord> = Vec::with_capacity(BATCH);
                let mut done = 0u64;
                let mut failed = None;
                let again = self.read(|entry| {
                    done += 1;
                    let (r, current) = match entry {
                        Entry::Record(r) => (r, true),
                        Entry::Version(r) => (r, false),
                        _ => return Ok(()),
                    };
                    if current {
                        *records.entry(r.collection.clone()).or_default() += 1;
                    } else {
                        versions += 1;
                    }
                    batch.push(new_record(r).map_err(|e| bad(e.to_string()))?);
                    if batch.len() == BATCH {
                        if let Err(e) = vault.put_many(std::mem::take(&mut batch), &mut |_, _| {}) {
                            failed = Some(e);
                            return Err(bad("a record could not be written".into()));
                        }
                        progress("importing", done, total);
                    }
                    Ok(())
                });
                if let Some(e) = failed {
                    return Err(e);
                }
                let again = again?;
                if again.manifest.sha256 != checked.manifest.sha256 {
                    return Err(wrap(pvault_export::Error::Tampered(
                        "the file changed while it was being imported".into(),
                    )));
                }
                if !batch.is_empty() {
                    vault.put_many(batch, &mut |_, _| {})?;
                }
                progress("importing", total, total);
                vault.record_export(
                    Event::new(EventKind::Imported)
                        .with("from", checked.header.profile.id.clone())
                        .with("signed_by", checked.header.profile.identity.clone())
                        .with("records", records.values().sum::<u64>())
                        .with("sha256", checked.manifest.sha256.clone()),
                )
            },
        )?;
        Ok(ImportReport {
            profile: created.summary,
            secret_key: created.secret_key,
            source_id: checked.header.profile.id.clone(),
            source_name: checked.header.profile.name.clone(),
            exported_at: checked.header.exported_at.clone(),
            exported_by_device: checked.header.device.clone(),
            signed_by: checked.header.profile.identity.clone(),
            records,
            versions,
            settings: settings.is_some(),
            audit_entries,
        })
    }

    /// Decrypts and reads the file once, handing each entry to `each`, and checks it whole.
    fn read(&self, each: impl FnMut(Entry) -> pvault_export::Result<()>) -> Result<Verified> {
        let path = &self.file;
        let f = File::open(path).at(path)?;
        let wrap = |e| Error::Export {
            path: path.clone(),
            source: e,
        };
        let opened = file::open(f, &self.key).map_err(wrap)?;
        format::verify(opened, each).map_err(wrap)
    }
}

fn bad(message: String) -> pvault_export::Error {
    pvault_export::Error::Format(message)
}

/// A record line as the vault would take it: its collection, id, classification and fields.
fn check_record(r: &RecordEntry) -> pvault_export::Result<()> {
    let name = |e: Error| bad(format!("{}/{}: {e}", r.collection, r.id));
    let collection = collection_name(&r.collection).map_err(name)?;
    validate_record_id(&r.id).map_err(name)?;
    r.classification
        .parse::<Classification>()
        .map_err(|e| bad(format!("{}/{}: {e}", r.collection, r.id)))?;
    pvault_model::models::validate(&collection, &r.id, r.data.clone())
        .map_err(|e| bad(format!("{}/{}: {e}", r.collection, r.id)))?;
    Ok(())
}

fn new_record(r: RecordEntry) -> Result<NewRecord> {
    let classification = r.classification.parse::<Classification>().map_err(|e| {
        Error::Schema(pvault_model::models::SchemaError {
            collection: r.collection.clone(),
            problem: e.to_string(),
        })
    })?;
    Ok(NewRecord {
        collection: r.collection,
        id: Some(r.id),
        classification: Some(classification),
        data: r.data,
    })
}

/// The exported audit log checks out on its own (chains, MACs over nothing secret, signatures by
/// the export's identity); returns its entry count.
fn check_audit(log: serde_json::Value) -> pvault_export::Result<u64> {
    let doc: crate::audit::AuditExport =
        serde_json::from_value(log).map_err(|e| bad(format!("the audit log: {e}")))?;
    let check = crate::audit::check_export(&doc, Some(&doc.identity.clone()));
    if let Some(p) = check.problems.first() {
        return Err(pvault_export::Error::Tampered(format!(
            "the exported audit log does not verify: {p}"
        )));
    }
    Ok(doc.chains.iter().map(|c| c.entries.len() as u64).sum())
}
