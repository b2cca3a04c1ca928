//! The per-profile SQLite database: connection, transactions, versioned migrations and the only
//! SQL of the engine. One file per table group:
//!
//! - [`records`]: the latest state of every record and its sync state;
//! - [`versions`]: every version of append-only collections (breakthroughs);
//! - [`index`]: the blind index;
//! - [`sync_log`]: conflicts kept for the user and the sync history;
//! - [`meta`]: small named values (clock, key fence, sync position);
//! - [`audit`]: the audit log's entries, checkpoints and the inbox of sealed events;
//! - [`peers`]: the other devices' certified keys and checkpoints, as sync found them;
//! - [`dump`]: rows as values, table by table, for backups (and the backup log of what changed).
//!
//! One database per profile (physical segregation). WAL with `synchronous=FULL`: a write is durable
//! when its transaction commits, which is when the CLI acknowledges it. Nothing secret is stored in
//! the clear: record bodies and ids are envelopes, record keys and index entries are keyed hashes.
//! Collection names, classifications, revisions, device ids and sizes are visible (see docs/store.md).
//! Migrations are the numbered files in `store/migrations/`, applied in order; `PRAGMA user_version`
//! is the number of the last one applied. Migration 7 (the rowid layout) also moves rows, in
//! batches, before its last step ([`layout`]).

pub(crate) mod audit;
pub(crate) mod dump;
pub(crate) mod imports;
pub(crate) mod index;
mod layout;
pub(crate) mod meta;
pub(crate) mod peers;
pub(crate) mod records;
pub(crate) mod sync_log;
pub(crate) mod versions;

use std::path::Path;

use pvault_crypto::ProfileId;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{Error, Result};

pub(crate) use audit::*;
pub(crate) use index::*;
pub(crate) use meta::*;
pub(crate) use peers::*;
pub(crate) use records::*;
pub(crate) use sync_log::*;
pub(crate) use versions::*;

/// The migrations, in order: migration `n` (from 1) brings a store to version `n`.
const MIGRATIONS: [&str; 7] = [
    include_str!("migrations/0001_records.sql"),
    include_str!("migrations/0002_sync.sql"),
    include_str!("migrations/0003_audit.sql"),
    include_str!("migrations/0004_sync_auth.sql"),
    include_str!("migrations/0005_backup_log.sql"),
    include_str!("migrations/0006_migrations.sql"),
    include_str!("migrations/0007_layout.sql"),
];

/// Store format version (`PRAGMA user_version`): the number of migrations.
pub const STORE_VERSION: i64 = MIGRATIONS.len() as i64;

/// The first schema (for benchmarks that build a plain SQLite store of the same shape as before
/// the rowid layout of version 7).
pub const SCHEMA_V1: &str = MIGRATIONS[0];

/// Opens (and, with `create`, initializes) a profile's store, checking that it belongs to `profile`.
pub fn open(path: &Path, profile: &ProfileId, create: bool) -> Result<Connection> {
    open_at(path, profile, create, STORE_VERSION)
}

/// Creates a store at an older `version` (1 to [`STORE_VERSION`]) for rows of that version (a
/// restored snapshot); the next [`open`] brings it up to date with the usual migrations.
pub(crate) fn create_at(path: &Path, profile: &ProfileId, version: i64) -> Result<Connection> {
    if !(1..=STORE_VERSION).contains(&version) {
        return Err(Error::NewerFormat {
            what: path.display().to_string(),
            found: version,
            supported: STORE_VERSION,
        });
    }
    open_at(path, profile, true, version)
}

fn open_at(path: &Path, profile: &ProfileId, create: bool, new_version: i64) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
        // SQLite gives the WAL and shared-memory files the database file's mode: make it 0600 first.
        if !path.exists() {
            crate::fsutil::create_private_file(path)?;
        }
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > STORE_VERSION {
        return Err(Error::NewerFormat {
            what: path.display().to_string(),
            found: version,
            supported: STORE_VERSION,
        });
    }
    if version == 0 {
        if !create {
            return Err(Error::StoreMismatch(path.to_path_buf()));
        }
        let upto = usize::try_from(new_version).unwrap_or(MIGRATIONS.len());
        // A new store has no rows to move: the layout's last step follows its first at once.
        let swap = if upto >= 7 { layout::SWAP } else { "" };
        conn.execute_batch(&format!(
            "BEGIN; {} {swap} PRAGMA user_version = {new_version}; COMMIT;",
            MIGRATIONS[..upto].concat()
        ))?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('profile_id', ?1)",
            [&profile.0[..]],
        )?;
    } else if new_version == STORE_VERSION {
        if version < STORE_VERSION {
            migrate(&conn)?;
        }
        if layout::pending(&conn)? {
            layout::finish(&conn, layout::BATCH)?;
        }
    }
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'profile_id'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if stored.as_deref() != Some(&profile.0[..]) {
        return Err(Error::StoreMismatch(path.to_path_buf()));
    }
    Ok(conn)
}

/// Moves the WAL's pages into the database and truncates the WAL (after a rotation, so old
/// ciphertext pages leave it).
pub(crate) fn checkpoint_wal(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// Brings an older store up to [`STORE_VERSION`], one migration at a time, each in its own
/// transaction. Another process may be migrating too: the version is read again under the write
/// lock.
fn migrate(conn: &Connection) -> Result<()> {
    loop {
        let tx = WriteTx::begin(conn)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let Some(next) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return tx.commit();
        };
        tx.execute_batch(next)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

/// A write transaction taken with `BEGIN IMMEDIATE`: it holds the write lock from the start, so two
/// processes writing one profile queue on the busy timeout instead of failing to upgrade a read lock.
/// Rolled back on drop unless committed.
pub struct WriteTx<'a> {
    conn: &'a Connection,
    done: bool,
}

impl<'a> WriteTx<'a> {
    /// Begins the transaction.
    pub fn begin(conn: &'a Connection) -> Result<Self> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(WriteTx { conn, done: false })
    }

    /// Commits; the writes are durable when this returns.
    pub fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
