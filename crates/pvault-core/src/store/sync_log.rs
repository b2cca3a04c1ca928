//! Sync's own tables: conflicts kept for the user and the sync history (with the versions a
//! resolution set aside, sealed).

use rusqlite::{Connection, OptionalExtension, params};

use super::meta::now_ms;
use crate::error::Result;

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
