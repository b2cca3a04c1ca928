//! The SQL of sync: dirty rows, synced rows, the common ancestors, open conflicts, history, and the
//! sync state in `meta`. Tables are defined in `store::SCHEMA_V2`.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::store::{self, ROW_COLUMNS, Row, row_from_sql};

/// `meta` key of the sync configuration (JSON).
pub(crate) const CONFIG: &str = "sync/config";
/// `meta` key of the sealed device signing key.
pub(crate) const DEVICE_KEY: &str = "sync/device_key";
/// `meta` key of the last pulled sequence number.
pub(crate) const PULLED_SEQ: &str = "sync/pulled_seq";
/// `meta` key of the chain hash at the last pulled sequence number.
pub(crate) const PULLED_HASH: &str = "sync/pulled_hash";
/// `meta` key of the SHA-256 of the key bundle last uploaded.
pub(crate) const BUNDLE_HASH: &str = "sync/bundle_hash";
/// `meta` key of the time of the last completed sync (Unix ms).
pub(crate) const LAST_SYNC: &str = "sync/last_sync";

pub(crate) fn now_ms() -> i64 {
    pvault_model::hlc::wall_ms() as i64
}

/// A `meta` value as bytes.
pub(crate) fn meta_bytes(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Sets a `meta` value.
pub(crate) fn set_meta_bytes(conn: &Connection, key: &str, value: &[u8]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    )?
    .execute(params![key, value])?;
    Ok(())
}

pub(crate) use store::{meta_u64, set_meta_u64};

/// A dirty row and the server sequence number its edit is based on.
pub(crate) struct DirtyRow {
    pub row: Row,
    pub sync_seq: u64,
}

/// Up to `limit` dirty rows after `(collection, rid)` in key order.
pub(crate) fn dirty_rows(
    conn: &Connection,
    after: Option<&(String, [u8; 16])>,
    limit: usize,
) -> Result<Vec<DirtyRow>> {
    let (c, r) = match after {
        Some((c, r)) => (c.as_str(), &r[..]),
        None => ("", &[][..]),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS}, sync_seq FROM records WHERE dirty = 1 AND (collection, rid) > (?1, ?2)
         ORDER BY collection, rid LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![c, r, limit as i64], |r| {
        Ok(DirtyRow {
            row: row_from_sql(r)?,
            sync_seq: r.get::<_, i64>(10)? as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Number of rows waiting to be pushed.
pub(crate) fn dirty_count(conn: &Connection) -> Result<u64> {
    Ok(
        conn.query_row("SELECT COUNT(*) FROM records WHERE dirty = 1", [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

/// The server sequence number a row is based on, and whether it has unpushed changes.
pub(crate) fn sync_seq_of(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
) -> Result<Option<(u64, bool)>> {
    Ok(conn
        .prepare_cached("SELECT sync_seq, dirty FROM records WHERE collection = ?1 AND rid = ?2")?
        .query_row(params![collection, &rid[..]], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, bool>(1)?))
        })
        .optional()?)
}

/// Marks a pushed row as synced at `seq`, unless it changed again since it was read (then only its
/// base moves, and it stays dirty).
pub(crate) fn mark_pushed(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
    revision: u64,
    seq: u64,
) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE records SET dirty = 0, sync_seq = ?4 WHERE collection = ?1 AND rid = ?2 AND revision = ?3",
        )?
        .execute(params![collection, &rid[..], revision as i64, seq as i64])?;
    if n == 0 {
        set_sync_seq(conn, collection, rid, seq)?;
    }
    Ok(())
}

/// Sets the server sequence number a row is based on.
pub(crate) fn set_sync_seq(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
    seq: u64,
) -> Result<()> {
    conn.prepare_cached("UPDATE records SET sync_seq = ?3 WHERE collection = ?1 AND rid = ?2")?
        .execute(params![collection, &rid[..], seq as i64])?;
    Ok(())
}

/// Stores a row exactly as it came from the server: synced at `seq`, not dirty.
pub(crate) fn put_synced_row(conn: &Connection, row: &Row, seq: u64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO records (collection, rid, id_box, classification, key_id, body, revision, device, version, deleted, sync_seq, dirty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)
         ON CONFLICT (collection, rid) DO UPDATE SET id_box = ?3, classification = ?4, key_id = ?5, body = ?6,
             revision = ?7, device = ?8, version = ?9, deleted = ?10, sync_seq = ?11, dirty = 0",
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
        seq as i64,
    ])?;
    Ok(())
}

/// The common ancestor kept for a dirty row, if any.
pub(crate) fn base_of(conn: &Connection, collection: &str, rid: &[u8; 16]) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM sync_base WHERE collection = ?1 AND rid = ?2"
        ))?
        .query_row(params![collection, &rid[..]], row_from_sql)
        .optional()?)
}

/// Records `row` (synced at `seq`) as the common ancestor of a dirty row.
pub(crate) fn set_base(conn: &Connection, row: &Row, seq: u64) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO sync_base ({ROW_COLUMNS}, sync_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
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
        seq as i64,
    ])?;
    Ok(())
}

/// One line of sync history.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HistoryEntry {
    /// Entry id (for `pvault sync restore`).
    pub id: i64,
    /// When, Unix milliseconds.
    pub at: i64,
    /// `sync`, `conflict`, `resolved` or `restored`.
    pub event: String,
    /// Collection, for record events.
    pub collection: Option<String>,
    /// What happened (field names and counts, never values).
    pub detail: String,
    /// A version set aside by a resolution can be restored.
    pub restorable: bool,
}

/// Appends a history entry.
pub(crate) fn add_history(
    conn: &Connection,
    event: &str,
    record: Option<(&str, &[u8; 16])>,
    detail: &str,
    lost_item: Option<&[u8]>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sync_history (at, event, collection, rid, detail, lost_item) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        now_ms(),
        event,
        record.map(|(c, _)| c),
        record.map(|(_, r)| &r[..]),
        detail,
        lost_item
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The newest `limit` history entries, newest first.
pub(crate) fn history(conn: &Connection, limit: usize) -> Result<Vec<HistoryEntry>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, event, collection, detail, lost_item IS NOT NULL FROM sync_history ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(HistoryEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            event: r.get(2)?,
            collection: r.get(3)?,
            detail: r.get(4)?,
            restorable: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The rid and set-aside item of a history entry.
pub(crate) fn lost_item(conn: &Connection, id: i64) -> Result<Option<([u8; 16], Vec<u8>)>> {
    type RidAndItem = (Option<Vec<u8>>, Option<Vec<u8>>);
    let row: Option<RidAndItem> = conn
        .query_row(
            "SELECT rid, lost_item FROM sync_history WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        Some((Some(rid), Some(item))) => {
            <[u8; 16]>::try_from(rid.as_slice()).ok().map(|r| (r, item))
        }
        _ => None,
    })
}

/// An open conflict as stored.
pub(crate) struct ConflictRow {
    pub id: i64,
    pub collection: String,
    pub rid: [u8; 16],
    pub at: i64,
    pub strategy: String,
    pub local_item: Vec<u8>,
}

/// Keeps a conflict for the user.
pub(crate) fn add_conflict(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
    strategy: &str,
    local_item: &[u8],
    remote_seq: u64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sync_conflicts (collection, rid, at, strategy, local_item, remote_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![collection, &rid[..], now_ms(), strategy, local_item, remote_seq as i64])?;
    Ok(conn.last_insert_rowid())
}

/// Open conflicts, oldest first (or just `id`).
pub(crate) fn open_conflicts(conn: &Connection, id: Option<i64>) -> Result<Vec<ConflictRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, collection, rid, at, strategy, local_item FROM sync_conflicts
         WHERE state = 'open' AND (?1 IS NULL OR id = ?1) ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        let rid: Vec<u8> = r.get(2)?;
        Ok(ConflictRow {
            id: r.get(0)?,
            collection: r.get(1)?,
            rid: <[u8; 16]>::try_from(rid.as_slice()).unwrap_or([0; 16]),
            at: r.get(3)?,
            strategy: r.get(4)?,
            local_item: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Number of open conflicts.
pub(crate) fn open_conflict_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM sync_conflicts WHERE state = 'open'",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Closes a conflict.
pub(crate) fn close_conflict(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "UPDATE sync_conflicts SET state = 'resolved' WHERE id = ?1",
        [id],
    )?;
    Ok(())
}
