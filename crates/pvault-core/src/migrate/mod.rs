//! Migration of other programs' data into a profile (`pvault migrate`): the legacy "enhanced
//! database" dump, Bitwarden, 1Password, KeePass and CSV files, read by `pvault-migrate`.
//!
//! [`MigrateOptions::run`] plans, then applies:
//!
//! 1. **Plan** (all of it, also for `dry_run`): read the file, check every item as a write would
//!    (collection, id, size, schema, classification), and find the items whose id is already taken
//!    in the profile (skipped: the profile's record is kept). One bad item refuses the file, and
//!    nothing is written.
//! 2. **Backup**: a snapshot of the profile into the repository given, before the first write.
//! 3. **Apply**: the items in batches, each batch one transaction that also notes, in the
//!    migration's journal (`store/imports.rs`), every record it wrote and the version it wrote.
//!    A migration cut short (`kill -9`, a full disk) stays `running`: the same command on the same
//!    file takes it up where it stopped (the items' ids are derived from the migration and the
//!    item's place in the file, so a resumed batch writes the same records), and
//!    [`RollbackOptions::run`] removes what it wrote. Until one of them ran, the profile says so
//!    ([`migrations`]).
//!
//! A rollback removes, in one transaction, every record the migration wrote (as tombstones, so the
//! removal syncs like any deletion); a record changed since is removed only when asked to
//! (`force`). The backup taken first stays in the repository: restoring it gives the profile exactly
//! as it was, sync state aside.

use std::path::PathBuf;

use pvault_model::hlc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{Event, EventKind};
use crate::backup::{BackupOptions, Repo};
use crate::error::{Error, IoContext, Result};
use crate::store::{self, imports};
use crate::vault::{NewRecord, Vault};
use pvault_crypto::Classification;

pub use pvault_migrate::{Format, Options as ReadOptions};

/// Collections of password-manager items that hold credentials: sealed at least CONFIDENTIAL (two
/// layers of encryption; no password asked again to read them), or the profile's default if higher.
const CREDENTIALS: [&str; 4] = [
    pvault_migrate::LOGINS,
    pvault_migrate::CARDS,
    pvault_migrate::IDENTITIES,
    pvault_migrate::SSH_KEYS,
];

/// Items written per transaction.
pub const BATCH: usize = 500;

/// What to migrate.
pub struct MigrateOptions {
    /// The file's format.
    pub format: Format,
    /// The file.
    pub file: PathBuf,
    /// What the format needs besides the file (a KeePass password, a CSV's collection).
    pub read: ReadOptions,
    /// Plan and report only: no backup, no write.
    pub dry_run: bool,
    /// Items per transaction (0: [`BATCH`]).
    pub batch: usize,
}

/// Where a migration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Started, not finished: resume it (the same file) or roll it back.
    Running,
    /// Every item is in.
    Finished,
    /// Its records were removed again.
    RolledBack,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Finished => "finished",
            State::RolledBack => "rolled_back",
        }
    }

    fn parse(s: &str) -> Result<State> {
        match s {
            "running" => Ok(State::Running),
            "finished" => Ok(State::Finished),
            "rolled_back" => Ok(State::RolledBack),
            other => Err(Error::MigrationState {
                id: String::new(),
                problem: format!("unknown state {:?} in the store's journal", shown(other)),
            }),
        }
    }
}

/// The backup taken before a migration's first write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackupTaken {
    /// The repository's directory.
    pub repo: PathBuf,
    /// The snapshot's id.
    pub snapshot: String,
}

/// A migration as the profile's journal keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Migration {
    /// Its id (8 hex digits).
    pub id: String,
    /// Where it is.
    pub state: State,
    /// The format read.
    pub format: String,
    /// The file, as it was named.
    pub file: String,
    /// A keyed hash of the file's contents (so that the same file is recognised, and nothing about
    /// it can be learned from the store).
    pub file_hash: String,
    /// Items to write, and items skipped (in the file, not imported).
    pub items: u64,
    pub skipped: u64,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub rolled_back_ms: Option<i64>,
    /// The backup taken first.
    pub backup: Option<BackupTaken>,
}

/// Records one migration put into one collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapped {
    pub collection: String,
    pub records: u64,
}

/// Something in the file that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Where it is in the file ("item 3 'GitHub'").
    pub source: String,
    pub reason: String,
}

/// What a migration did (or, on a dry run, would do).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MigrateReport {
    /// The migration's id (`None` on a dry run).
    pub id: Option<String>,
    pub format: String,
    pub file: String,
    pub dry_run: bool,
    /// What mapped where.
    pub collections: Vec<Mapped>,
    /// What was left out, and why.
    pub skipped: Vec<Skipped>,
    /// Records written by this run.
    pub written: u64,
    /// Records an earlier, interrupted run of the same migration had written (resumed).
    pub resumed: u64,
    /// The backup taken first.
    pub backup: Option<BackupTaken>,
}

/// One item, checked, with the id it will have.
struct Planned {
    record: NewRecord,
    rid: [u8; 16],
}

impl MigrateOptions {
    /// Migrates the file into `vault`, taking a backup into the repository `repo` opens (or makes)
    /// first, or with `dry_run` only says what it would do. `repo` is called only once the plan
    /// holds and a backup is due, so a refused file changes nothing anywhere.
    /// `progress(stage, done, total)` reports checking, backing up and writing.
    pub fn run(
        &self,
        vault: &mut Vault,
        repo: &mut dyn FnMut() -> Result<Repo>,
        progress: &mut dyn FnMut(&'static str, u64, u64),
    ) -> Result<MigrateReport> {
        let bytes = zeroize::Zeroizing::new(std::fs::read(&self.file).at(&self.file)?);
        let parsed = pvault_migrate::read(self.format, &bytes, &self.read).map_err(|source| {
            Error::Migration {
                path: self.file.clone(),
                source,
            }
        })?;
        let file_hash =
            hex::encode(vault.rid("pvault-migration", &hex::encode(Sha256::digest(&bytes[..]))));
        drop(bytes);
        let earlier = migrations(vault)?;
        let resuming = self.check_journal(&earlier, &file_hash)?;
        let id = match &resuming {
            Some(m) => m.id.clone(),
            None => new_id(&earlier),
        };

        // Plan: every item checked before anything is written.
        let mut skipped: Vec<Skipped> = parsed
            .skipped
            .into_iter()
            .map(|s| Skipped {
                source: s.source,
                reason: s.reason,
            })
            .collect();
        let mine: std::collections::HashSet<(String, [u8; 16])> = match &resuming {
            Some(m) => imports::migrated(vault.conn(), &m.id)?
                .into_iter()
                .map(|(c, rid, _)| (c, rid))
                .collect(),
            None => Default::default(),
        };
        let total = parsed.items.len() as u64;
        let credentials = vault
            .summary()
            .security
            .default_classification()
            .max(Classification::Confidential);
        let mut planned = Vec::with_capacity(parsed.items.len());
        let mut resumed = 0u64;
        // Ids the file gives twice: the first is imported (a map keeps where it was).
        let mut seen = std::collections::HashMap::<(String, [u8; 16]), String>::new();
        for (i, item) in parsed.items.into_iter().enumerate() {
            let record_id = item.id.clone().unwrap_or_else(|| item_id(&id, i));
            let classification = CREDENTIALS
                .contains(&item.collection.as_str())
                .then_some(credentials);
            let record = NewRecord {
                collection: item.collection,
                id: Some(record_id.clone()),
                classification,
                data: item.data,
            };
            let rid = vault.rid(&record.collection, &record_id);
            if mine.contains(&(record.collection.clone(), rid)) {
                resumed += 1;
                continue;
            }
            match seen.entry((record.collection.clone(), rid)) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    skipped.push(Skipped {
                        reason: format!(
                            "{}/{record_id} again (as {}): the first one is imported",
                            record.collection,
                            first.get()
                        ),
                        source: item.source,
                    });
                    continue;
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(item.source.clone());
                }
            }
            if item.id.is_some() && vault.revision_of(&record.collection, &record_id)?.is_some() {
                skipped.push(Skipped {
                    source: item.source,
                    reason: format!(
                        "{}/{record_id} is already in the profile: the profile's record is kept",
                        record.collection
                    ),
                });
                continue;
            }
            vault
                .check_record(record.clone())
                .map_err(|e| Error::Migration {
                    path: self.file.clone(),
                    source: pvault_migrate::Error::Malformed {
                        at: item.source.clone(),
                        problem: e.to_string(),
                    },
                })?;
            planned.push(Planned { record, rid });
            if i % 256 == 255 {
                progress("checking", i as u64 + 1, total);
            }
        }
        progress("checking", total, total);
        let mut report = MigrateReport {
            id: (!self.dry_run).then(|| id.clone()),
            format: self.format.name().into(),
            file: self.file.display().to_string(),
            dry_run: self.dry_run,
            collections: mapped(&planned, &mine),
            skipped,
            written: 0,
            resumed,
            backup: resuming.as_ref().and_then(|m| m.backup.clone()),
        };
        if self.dry_run {
            return Ok(report);
        }

        // Backup, then the journal: a migration exists only once its backup does.
        let mut journal = match resuming {
            Some(m) => m,
            None => {
                let repo = repo()?;
                let taken = BackupOptions::default().run(vault, &repo, &mut |done, total| {
                    progress("backing up", done, total)
                })?;
                let m = Migration {
                    id: id.clone(),
                    state: State::Running,
                    format: self.format.name().into(),
                    file: self.file.display().to_string(),
                    file_hash,
                    items: total,
                    skipped: report.skipped.len() as u64,
                    started_ms: store::now_ms(),
                    finished_ms: None,
                    rolled_back_ms: None,
                    backup: Some(BackupTaken {
                        repo: repo.root().to_path_buf(),
                        snapshot: taken.snapshot.id,
                    }),
                };
                write_journal(vault.conn(), &m)?;
                report.backup = m.backup.clone();
                m
            }
        };

        // Apply, batch by batch.
        let batch = if self.batch == 0 { BATCH } else { self.batch };
        let todo = planned.len() as u64;
        let mut rest = planned.into_iter().peekable();
        while rest.peek().is_some() {
            let chunk: Vec<Planned> = rest.by_ref().take(batch).collect();
            let rids: Vec<(String, [u8; 16])> = chunk
                .iter()
                .map(|p| (p.record.collection.clone(), p.rid))
                .collect();
            let records = chunk.into_iter().map(|p| p.record).collect();
            let done = report.written;
            vault.put_batch(records, &mut |_, _| {}, |conn, written| {
                for ((collection, rid), w) in rids.iter().zip(written) {
                    imports::add_migrated(conn, &id, collection, rid, w.version)?;
                }
                Ok(())
            })?;
            report.written += rids.len() as u64;
            progress("writing", done + rids.len() as u64, todo);
        }

        // Finished: the journal and the audit entry in one transaction.
        journal.state = State::Finished;
        journal.finished_ms = Some(store::now_ms());
        let tx = vault.begin_write()?;
        write_journal(&tx, &journal)?;
        vault.record(
            &tx,
            Event::new(EventKind::Imported)
                .with("what", "migration")
                .with("migration", id.as_str())
                .with("from", self.format.name())
                .with("records", report.written + report.resumed)
                .with("skipped", report.skipped.len() as u64),
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// The earlier migration this run takes up, if any; refuses a file already migrated and a new
    /// file while another migration is unfinished.
    fn check_journal(&self, earlier: &[Migration], file_hash: &str) -> Result<Option<Migration>> {
        if let Some(m) = earlier
            .iter()
            .find(|m| m.file_hash == file_hash && m.state == State::Finished)
        {
            return Err(Error::MigrationState {
                id: m.id.clone(),
                problem: format!(
                    "this file was migrated into the profile already ({} records); roll that \
                     migration back first to migrate it again",
                    m.items
                ),
            });
        }
        if let Some(m) = earlier.iter().find(|m| m.state == State::Running) {
            if m.file_hash == file_hash {
                return Ok(Some(m.clone()));
            }
            return Err(Error::MigrationState {
                id: m.id.clone(),
                problem: format!(
                    "an earlier migration (from {}) did not finish: run it again with the same \
                     file to finish it, or roll it back, before starting another",
                    shown(&m.file)
                ),
            });
        }
        Ok(None)
    }
}

/// How many records go to each collection (including those an interrupted run wrote).
fn mapped(
    planned: &[Planned],
    mine: &std::collections::HashSet<(String, [u8; 16])>,
) -> Vec<Mapped> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    let earlier = mine.iter().map(|(c, _)| c);
    for collection in planned.iter().map(|p| &p.record.collection).chain(earlier) {
        *counts.entry(collection.clone()).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(collection, records)| Mapped {
            collection,
            records,
        })
        .collect()
}

/// What to roll back.
#[derive(Clone, Debug, Default)]
pub struct RollbackOptions {
    /// The migration (its id or a unique prefix); `None`: the newest one not rolled back.
    pub id: Option<String>,
    /// Also remove records changed since the migration wrote them.
    pub force: bool,
}

/// What a rollback did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RollbackReport {
    pub migration: Migration,
    /// Records removed.
    pub removed: u64,
    /// Of those, records that had changed since the migration wrote them.
    pub changed_since: u64,
    /// Records the migration wrote that were deleted since (nothing to do).
    pub already_gone: u64,
}

impl RollbackOptions {
    /// Removes every record the migration wrote, in one transaction, and marks it rolled back.
    pub fn run(&self, vault: &mut Vault) -> Result<RollbackReport> {
        let all = migrations(vault)?;
        let mut m = match &self.id {
            Some(prefix) => {
                let found: Vec<&Migration> = all
                    .iter()
                    .filter(|m| m.id.starts_with(prefix.as_str()))
                    .collect();
                match found.as_slice() {
                    [one] => (*one).clone(),
                    [] => {
                        return Err(Error::MigrationState {
                            id: shown(prefix),
                            problem: "no such migration in this profile".into(),
                        });
                    }
                    _ => {
                        return Err(Error::MigrationState {
                            id: shown(prefix),
                            problem: "more than one migration starts so; give more of its id"
                                .into(),
                        });
                    }
                }
            }
            None => all
                .iter()
                .rev()
                .find(|m| m.state != State::RolledBack)
                .cloned()
                .ok_or_else(|| Error::MigrationState {
                    id: String::new(),
                    problem: "there is no migration to roll back in this profile".into(),
                })?,
        };
        if m.state == State::RolledBack {
            return Err(Error::MigrationState {
                id: m.id,
                problem: "it was rolled back already".into(),
            });
        }
        let tx = vault.begin_write()?;
        let written = imports::migrated(&tx, &m.id)?;
        let mut rows = Vec::with_capacity(written.len());
        let (mut changed_since, mut already_gone) = (0u64, 0u64);
        for (collection, rid, version) in &written {
            match store::get_row(&tx, collection, rid)? {
                Some(row) if !row.deleted => {
                    if row.version != *version {
                        changed_since += 1;
                    }
                    rows.push(row);
                }
                _ => already_gone += 1,
            }
        }
        if changed_since > 0 && !self.force {
            return Err(Error::MigrationState {
                id: m.id,
                problem: format!(
                    "{changed_since} of the records it wrote have changed since; nothing was \
                     removed (force the rollback to remove them too)"
                ),
            });
        }
        let mut revision = store::meta_u64(&tx, store::HLC)?;
        for row in rows.iter().cloned() {
            let id = vault.open_id(&row)?;
            revision = hlc::next(revision, hlc::wall_ms());
            vault.write_tombstone(&tx, row, &id, revision)?;
        }
        store::set_meta_u64(&tx, store::HLC, revision)?;
        m.state = State::RolledBack;
        m.rolled_back_ms = Some(store::now_ms());
        write_journal(&tx, &m)?;
        imports::clear_migrated(&tx, &m.id)?;
        vault.record(
            &tx,
            Event::new(EventKind::RolledBack)
                .with("migration", m.id.as_str())
                .with("from", m.format.as_str())
                .with("removed", rows.len() as u64)
                .with("changed_since", changed_since),
        )?;
        tx.commit()?;
        Ok(RollbackReport {
            migration: m,
            removed: rows.len() as u64,
            changed_since,
            already_gone,
        })
    }
}

/// The profile's migrations, oldest first.
pub fn migrations(vault: &Vault) -> Result<Vec<Migration>> {
    let mut all = imports::migrations(vault.conn())?
        .into_iter()
        .map(|(id, state, journal)| read_journal(&id, &state, &journal))
        .collect::<Result<Vec<_>>>()?;
    all.sort_by_key(|m| (m.started_ms, m.id.clone()));
    Ok(all)
}

/// The journal row's fields, as stored (the state has its own column, for queries).
#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    file: String,
    file_hash: String,
    items: u64,
    skipped: u64,
    started_ms: i64,
    finished_ms: Option<i64>,
    rolled_back_ms: Option<i64>,
    backup: Option<BackupTaken>,
}

fn write_journal(conn: &rusqlite::Connection, m: &Migration) -> Result<()> {
    let stored = Stored {
        format: m.format.clone(),
        file: m.file.clone(),
        file_hash: m.file_hash.clone(),
        items: m.items,
        skipped: m.skipped,
        started_ms: m.started_ms,
        finished_ms: m.finished_ms,
        rolled_back_ms: m.rolled_back_ms,
        backup: m.backup.clone(),
    };
    let json = serde_json::to_string(&stored).expect("the journal serializes");
    imports::put_migration(conn, &m.id, m.state.as_str(), &json)
}

fn read_journal(id: &str, state: &str, journal: &str) -> Result<Migration> {
    let s: Stored = serde_json::from_str(journal).map_err(|e| Error::MigrationState {
        id: shown(id),
        problem: format!("its journal in the store does not read: {e}"),
    })?;
    Ok(Migration {
        id: id.to_string(),
        state: State::parse(state)?,
        format: s.format,
        file: s.file,
        file_hash: s.file_hash,
        items: s.items,
        skipped: s.skipped,
        started_ms: s.started_ms,
        finished_ms: s.finished_ms,
        rolled_back_ms: s.rolled_back_ms,
        backup: s.backup,
    })
}

/// A fresh migration id: 8 hex digits, unlike every earlier one.
fn new_id(earlier: &[Migration]) -> String {
    loop {
        let id = hex::encode(pvault_crypto::random::bytes::<4>());
        if !earlier.iter().any(|m| m.id == id) {
            return id;
        }
    }
}

/// The record id of the `index`th item of migration `id` when the file gives none: the same on a
/// resumed run, and telling where a record came from.
fn item_id(id: &str, index: usize) -> String {
    format!("mig-{id}-{index}")
}

/// Text from the store or the caller, cut short and without control characters.
fn shown(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
