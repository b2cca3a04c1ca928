//! The per-profile SQLite database: schema, migrations and the SQL behind the vault.
//!
//! One database per profile (physical segregation). WAL with `synchronous=FULL`: a write is durable
//! when its transaction commits, which is when the CLI acknowledges it. Nothing secret is stored in
//! the clear: record bodies and ids are envelopes, record keys and index entries are keyed hashes.
//! Collection names, classifications, revisions, device ids and sizes are visible (see docs/store.md).

use std::path::Path;

use pvault_crypto::ProfileId;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::{Error, Result};

/// Store format version (`PRAGMA user_version`).
pub const STORE_VERSION: i64 = 2;

pub const SCHEMA_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- Latest state of every record. rid = HMAC(naming key, collection, id): the id is only in id_box.
CREATE TABLE records (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    id_box         BLOB    NOT NULL,   -- envelope (kind 2) of the record id
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,   -- epoch that sealed body and id_box
    body           BLOB,               -- envelope (kind 1) of the payload; NULL for a tombstone
    revision       INTEGER NOT NULL,   -- hybrid logical clock
    device         TEXT    NOT NULL,   -- device that made this revision
    version        INTEGER NOT NULL,   -- writes to this record, from 1
    deleted        INTEGER NOT NULL DEFAULT 0,
    sync_seq       INTEGER NOT NULL DEFAULT 0,  -- server sequence last seen (0: never synced)
    dirty          INTEGER NOT NULL DEFAULT 1,  -- changed since the last sync
    PRIMARY KEY (collection, rid)
) WITHOUT ROWID;
CREATE INDEX records_by_key ON records (key_id);
CREATE INDEX records_dirty ON records (dirty) WHERE dirty = 1;

-- Blind index: token = HMAC(blind-index key of the epoch, collection, field, value).
CREATE TABLE blind_index (
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    token      BLOB NOT NULL,
    rid        BLOB NOT NULL,
    PRIMARY KEY (collection, field, token, rid)
) WITHOUT ROWID;
CREATE INDEX blind_index_by_rid ON blind_index (collection, rid);

-- Every version of append-only collections (breakthroughs), hash-chained and signed inside the body.
CREATE TABLE versions (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    version        INTEGER NOT NULL,
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    body           BLOB    NOT NULL,
    revision       INTEGER NOT NULL,
    PRIMARY KEY (collection, rid, version)
) WITHOUT ROWID;
CREATE INDEX versions_by_key ON versions (key_id);
";

/// Version 2: sync state. Applied on top of version 1 (new stores get both).
pub const SCHEMA_V2: &str = "
-- The last synced version of a record that has local changes since: the common ancestor for a
-- three-way merge. Kept by a trigger when a synced row first becomes dirty, dropped when it syncs.
CREATE TABLE sync_base (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    id_box         BLOB    NOT NULL,
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    body           BLOB,
    revision       INTEGER NOT NULL,
    device         TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL,
    sync_seq       INTEGER NOT NULL,
    PRIMARY KEY (collection, rid)
) WITHOUT ROWID;
CREATE TRIGGER records_keep_sync_base BEFORE UPDATE OF dirty ON records
    WHEN OLD.dirty = 0 AND NEW.dirty = 1 AND OLD.sync_seq > 0
BEGIN
    INSERT OR REPLACE INTO sync_base VALUES (OLD.collection, OLD.rid, OLD.id_box, OLD.classification,
        OLD.key_id, OLD.body, OLD.revision, OLD.device, OLD.version, OLD.deleted, OLD.sync_seq);
END;
CREATE TRIGGER records_drop_sync_base AFTER UPDATE OF dirty ON records WHEN NEW.dirty = 0
BEGIN
    DELETE FROM sync_base WHERE collection = NEW.collection AND rid = NEW.rid;
END;

-- Conflicts kept for the user (strategy `manual`): the local version, sealed as a sync item.
CREATE TABLE sync_conflicts (
    id          INTEGER PRIMARY KEY,
    collection  TEXT    NOT NULL,
    rid         BLOB    NOT NULL,
    at          INTEGER NOT NULL,   -- Unix milliseconds
    strategy    TEXT    NOT NULL,
    local_item  BLOB    NOT NULL,   -- sealed sync item of the local version
    remote_seq  INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'open'  -- open | resolved
);

-- What sync did, and every version a resolution set aside (sealed, so it can be restored).
CREATE TABLE sync_history (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,   -- Unix milliseconds
    event       TEXT    NOT NULL,   -- sync | conflict | restored | resolved
    collection  TEXT,
    rid         BLOB,
    detail      TEXT    NOT NULL,   -- field names and counts, never values
    lost_item   BLOB                -- sealed sync item of the version that lost, if any
);
";

/// Opens (and, with `create`, initializes) a profile's store, checking that it belongs to `profile`.
pub fn open(path: &Path, profile: &ProfileId, create: bool) -> Result<Connection> {
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
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA_V1} {SCHEMA_V2} PRAGMA user_version = {STORE_VERSION}; COMMIT;"
        ))?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('profile_id', ?1)",
            [&profile.0[..]],
        )?;
    }
    if version == 1 {
        // Another process may be migrating too: check again under the write lock.
        let tx = WriteTx::begin(&conn)?;
        let again: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if again == 1 {
            tx.execute_batch(SCHEMA_V2)?;
            tx.pragma_update(None, "user_version", 2)?;
        }
        tx.commit()?;
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

/// Reads an integer from `meta`.
pub fn meta_u64(conn: &Connection, key: &str) -> Result<u64> {
    let v: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    Ok(v.unwrap_or(0) as u64)
}

/// Writes an integer to `meta`.
pub fn set_meta_u64(conn: &Connection, key: &str, value: u64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    )?
    .execute(params![key, value as i64])?;
    Ok(())
}

/// One row of `records`.
#[derive(Clone, Debug)]
pub struct Row {
    pub collection: String,
    pub rid: [u8; 16],
    pub id_box: Vec<u8>,
    pub classification: u8,
    pub key_id: u32,
    pub body: Option<Vec<u8>>,
    pub revision: u64,
    pub device: String,
    pub version: u64,
    pub deleted: bool,
}

pub const ROW_COLUMNS: &str =
    "collection, rid, id_box, classification, key_id, body, revision, device, version, deleted";

/// Maps a `SELECT ROW_COLUMNS` row.
pub fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let rid: Vec<u8> = r.get(1)?;
    let mut rid16 = [0u8; 16];
    if rid.len() == 16 {
        rid16.copy_from_slice(&rid);
    }
    Ok(Row {
        collection: r.get(0)?,
        rid: rid16,
        id_box: r.get(2)?,
        classification: r.get(3)?,
        key_id: r.get(4)?,
        body: r.get(5)?,
        revision: r.get::<_, i64>(6)? as u64,
        device: r.get(7)?,
        version: r.get::<_, i64>(8)? as u64,
        deleted: r.get(9)?,
    })
}

/// The row of a record, if any (tombstones included).
pub fn get_row(conn: &Connection, collection: &str, rid: &[u8; 16]) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM records WHERE collection = ?1 AND rid = ?2"
        ))?
        .query_row(params![collection, &rid[..]], row_from_sql)
        .optional()?)
}

/// Inserts or replaces a record row, and marks it for sync.
pub fn put_row(conn: &Connection, row: &Row) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO records (collection, rid, id_box, classification, key_id, body, revision, device, version, deleted, dirty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)
         ON CONFLICT (collection, rid) DO UPDATE SET id_box = ?3, classification = ?4, key_id = ?5, body = ?6,
             revision = ?7, device = ?8, version = ?9, deleted = ?10, dirty = 1",
    )?
    .execute(params![
        row.collection,
        &row.rid[..],
        row.id_box,
        row.classification,
        row.key_id,
        row.body,
        row.revision as i64,
        row.device,
        row.version as i64,
        row.deleted,
    ])?;
    Ok(())
}

/// Replaces a record's blind-index tokens.
pub fn set_index(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
    entries: &[(&str, [u8; 16])],
) -> Result<()> {
    conn.prepare_cached("DELETE FROM blind_index WHERE collection = ?1 AND rid = ?2")?
        .execute(params![collection, &rid[..]])?;
    let mut ins = conn.prepare_cached(
        "INSERT OR IGNORE INTO blind_index (collection, field, token, rid) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (field, token) in entries {
        ins.execute(params![collection, field, &token[..], &rid[..]])?;
    }
    Ok(())
}

/// The rids whose index entry for `field` is one of `tokens`.
pub fn lookup_index(
    conn: &Connection,
    collection: &str,
    field: &str,
    tokens: &[[u8; 16]],
) -> Result<Vec<[u8; 16]>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT rid FROM blind_index WHERE collection = ?1 AND field = ?2 AND token = ?3",
    )?;
    for t in tokens {
        let rows = stmt.query_map(params![collection, field, &t[..]], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        for rid in rows {
            let rid = rid?;
            if let Ok(a) = <[u8; 16]>::try_from(rid.as_slice()) {
                out.push(a);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The stored tokens of one record, as (field, token) pairs.
pub fn index_of(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
) -> Result<Vec<(String, [u8; 16])>> {
    let mut stmt =
        conn.prepare_cached("SELECT field, token FROM blind_index WHERE collection = ?1 AND rid = ?2 ORDER BY field, token")?;
    let rows = stmt.query_map(params![collection, &rid[..]], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (f, t) = row?;
        out.push((f, <[u8; 16]>::try_from(t.as_slice()).unwrap_or([0; 16])));
    }
    Ok(out)
}

/// One row of `versions`.
#[derive(Clone, Debug)]
pub struct VersionRow {
    pub collection: String,
    pub rid: [u8; 16],
    pub version: u64,
    pub classification: u8,
    pub key_id: u32,
    pub body: Vec<u8>,
    pub revision: u64,
}

fn version_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRow> {
    let rid: Vec<u8> = r.get(1)?;
    Ok(VersionRow {
        collection: r.get(0)?,
        rid: <[u8; 16]>::try_from(rid.as_slice()).unwrap_or([0; 16]),
        version: r.get::<_, i64>(2)? as u64,
        classification: r.get(3)?,
        key_id: r.get(4)?,
        body: r.get(5)?,
        revision: r.get::<_, i64>(6)? as u64,
    })
}

const VERSION_COLUMNS: &str = "collection, rid, version, classification, key_id, body, revision";

/// Appends a version.
pub fn add_version(conn: &Connection, v: &VersionRow) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?
    .execute(params![
        v.collection,
        &v.rid[..],
        v.version as i64,
        v.classification,
        v.key_id,
        v.body,
        v.revision as i64
    ])?;
    Ok(())
}

/// Every version of one record, oldest first.
pub fn versions_of(conn: &Connection, collection: &str, rid: &[u8; 16]) -> Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE collection = ?1 AND rid = ?2 ORDER BY version"
    ))?;
    let rows = stmt.query_map(params![collection, &rid[..]], version_from_sql)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rows of a collection (tombstones only with `with_deleted`), in revision order.
pub fn rows_of(
    conn: &Connection,
    collection: Option<&str>,
    with_deleted: bool,
) -> Result<Vec<Row>> {
    let mut sql = format!("SELECT {ROW_COLUMNS} FROM records WHERE 1");
    if collection.is_some() {
        sql.push_str(" AND collection = ?1");
    }
    if !with_deleted {
        sql.push_str(" AND deleted = 0");
    }
    sql.push_str(" ORDER BY collection, revision");
    let mut stmt = conn.prepare(&sql)?;
    let rows = match collection {
        Some(c) => stmt
            .query_map([c], row_from_sql)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        None => stmt
            .query_map([], row_from_sql)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    Ok(rows)
}

/// Every version row (for verification).
pub fn all_versions(conn: &Connection) -> Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {VERSION_COLUMNS} FROM versions ORDER BY collection, rid, version"
    ))?;
    let rows = stmt.query_map([], version_from_sql)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` record rows sealed under an epoch other than `current` (for rotation).
pub fn rows_not_under(conn: &Connection, current: u32, limit: usize) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM records WHERE key_id != ?1 LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![current, limit as i64], row_from_sql)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` version rows sealed under an epoch other than `current`.
pub fn versions_not_under(
    conn: &Connection,
    current: u32,
    limit: usize,
) -> Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE key_id != ?1 LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![current, limit as i64], version_from_sql)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rewrites a version's envelope under a new epoch.
pub fn reseal_version(conn: &Connection, v: &VersionRow) -> Result<()> {
    conn.prepare_cached("UPDATE versions SET key_id = ?4, body = ?5 WHERE collection = ?1 AND rid = ?2 AND version = ?3")?
        .execute(params![v.collection, &v.rid[..], v.version as i64, v.key_id, v.body])?;
    Ok(())
}

/// Rewrites a record's envelopes under a new epoch without making a new revision.
pub fn reseal_row(conn: &Connection, row: &Row) -> Result<()> {
    conn.prepare_cached(
        "UPDATE records SET key_id = ?3, id_box = ?4, body = ?5 WHERE collection = ?1 AND rid = ?2",
    )?
    .execute(params![
        row.collection,
        &row.rid[..],
        row.key_id,
        row.id_box,
        row.body
    ])?;
    Ok(())
}

/// Number of live records per collection.
pub fn counts(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut stmt =
        conn.prepare("SELECT collection, COUNT(*) FROM records WHERE deleted = 0 GROUP BY collection ORDER BY collection")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
