//! The audit log's tables: entries (one hash chain per device), signed checkpoints, and the inbox of
//! events sealed while the profile was locked.

use rusqlite::types::{Type, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// One stored entry, as it is on disk (sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuditRow {
    pub device: String,
    pub seq: u64,
    pub entry: Vec<u8>,
    pub hash: Vec<u8>,
    pub mac: Vec<u8>,
}

/// One stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointRow {
    pub device: String,
    pub size: u64,
    pub hash: Vec<u8>,
    pub at: i64,
    pub signature: Vec<u8>,
}

/// The last entry of `device`'s chain: its position and hash (from its summary when retention
/// removed every entry).
pub(crate) fn audit_head(conn: &Connection, device: &str) -> Result<Option<(u64, Vec<u8>)>> {
    let last = conn
        .prepare_cached(
            "SELECT seq, hash FROM audit_log WHERE device = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([device], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .optional()?;
    Ok(match last {
        Some(l) => Some(l),
        None => summary_of(conn, device)?.map(|s| (s.upto, s.hash)),
    })
}

/// A device's retention summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SummaryRow {
    pub device: String,
    pub upto: u64,
    pub hash: Vec<u8>,
    pub first_at: i64,
    pub last_at: i64,
    pub counts: Vec<u8>,
    pub signature: Vec<u8>,
}

fn summary_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok(SummaryRow {
        device: r.get(0)?,
        upto: r.get::<_, i64>(1)? as u64,
        hash: r.get(2)?,
        first_at: r.get(3)?,
        last_at: r.get(4)?,
        counts: r.get(5)?,
        signature: r.get(6)?,
    })
}

const SUMMARY_COLUMNS: &str = "device, upto, CAST(hash AS BLOB), first_at, last_at, CAST(counts AS BLOB), CAST(signature AS BLOB)";

/// The summary of `device`, if retention ran on it.
pub(crate) fn summary_of(conn: &Connection, device: &str) -> Result<Option<SummaryRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM audit_summaries WHERE device = ?1"
        ))?
        .query_row([device], summary_from)
        .optional()?)
}

/// Every summary.
pub(crate) fn summaries(conn: &Connection) -> Result<Vec<SummaryRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM audit_summaries ORDER BY device"
    ))?;
    let rows = stmt.query_map([], summary_from)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replaces a device's summary, and removes the entries and checkpoints it covers.
pub(crate) fn put_summary(conn: &Connection, s: &SummaryRow) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO audit_summaries (device, upto, hash, first_at, last_at, counts, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![s.device, s.upto as i64, s.hash, s.first_at, s.last_at, s.counts, s.signature],
    )?;
    conn.execute(
        "DELETE FROM audit_log WHERE device = ?1 AND seq <= ?2",
        params![s.device, s.upto as i64],
    )?;
    conn.execute(
        "DELETE FROM audit_checkpoints WHERE device = ?1 AND size <= ?2",
        params![s.device, s.upto as i64],
    )?;
    Ok(())
}

/// Maps a `SELECT device, seq, entry, hash, mac` row.
fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        device: r.get(0)?,
        seq: r.get::<_, i64>(1)? as u64,
        entry: r.get(2)?,
        hash: r.get(3)?,
        mac: r.get(4)?,
    })
}

/// Every entry of one device, in order.
pub(crate) fn audit_entries_of(conn: &Connection, device: &str) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare(
        "SELECT device, seq, CAST(entry AS BLOB), CAST(hash AS BLOB), CAST(mac AS BLOB)
         FROM audit_log WHERE device = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([device], audit_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The devices that have entries.
pub(crate) fn audit_devices(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT DISTINCT device FROM audit_log ORDER BY device")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` entries of `device` not yet sent to the sync server, oldest first.
pub(crate) fn unsynced_audit(
    conn: &Connection,
    device: &str,
    limit: usize,
) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, seq, CAST(entry AS BLOB), CAST(hash AS BLOB), CAST(mac AS BLOB)
         FROM audit_log WHERE device = ?1 AND synced = 0 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![device, limit as i64], audit_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks an entry as held by the sync server.
pub(crate) fn mark_audit_synced(conn: &Connection, device: &str, seq: u64) -> Result<()> {
    conn.prepare_cached("UPDATE audit_log SET synced = 1 WHERE device = ?1 AND seq = ?2")?
        .execute(params![device, seq as i64])?;
    Ok(())
}

/// One entry, if present.
pub(crate) fn audit_entry(conn: &Connection, device: &str, seq: u64) -> Result<Option<AuditRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT device, seq, CAST(entry AS BLOB), CAST(hash AS BLOB), CAST(mac AS BLOB)
             FROM audit_log WHERE device = ?1 AND seq = ?2",
        )?
        .query_row(params![device, seq as i64], audit_row)
        .optional()?)
}

/// Stores an entry received from the sync server (already there: synced).
pub(crate) fn add_received_audit(conn: &Connection, row: &AuditRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (device, seq, entry, hash, mac, synced) VALUES (?1, ?2, ?3, ?4, ?5, 1)",
    )?
    .execute(params![row.device, row.seq as i64, row.entry, row.hash, row.mac])?;
    Ok(())
}

/// Appends an entry. Fails if the position is taken.
pub(crate) fn add_audit(conn: &Connection, row: &AuditRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (device, seq, entry, hash, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        row.device,
        row.seq as i64,
        row.entry,
        row.hash,
        row.mac
    ])?;
    Ok(())
}

/// One stored entry borrowed from the row being read: what [`each_audit_ref`] hands out, so a walk
/// over the whole log copies nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuditRowRef<'a> {
    pub device: &'a str,
    pub seq: u64,
    pub entry: &'a [u8],
    pub hash: &'a [u8],
    pub mac: &'a [u8],
}

impl AuditRowRef<'_> {
    pub(crate) fn to_owned(self) -> AuditRow {
        AuditRow {
            device: self.device.to_string(),
            seq: self.seq,
            entry: self.entry.to_vec(),
            hash: self.hash.to_vec(),
            mac: self.mac.to_vec(),
        }
    }
}

/// Calls `f` with every entry, by device then position, without holding them all in memory.
pub(crate) fn each_audit(
    conn: &Connection,
    mut f: impl FnMut(AuditRow) -> Result<()>,
) -> Result<()> {
    each_audit_ref(conn, |row| f(row.to_owned()))
}

/// Like [`each_audit`], but lends each entry from SQLite's row instead of copying it out. The
/// values are read as strictly as `each_audit` reads them (the device as text, the position as an
/// integer; the blobs are cast), so a value of another type is the same error.
pub(crate) fn each_audit_ref(
    conn: &Connection,
    mut f: impl FnMut(AuditRowRef<'_>) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        // CAST: a value of another type written into a column by hand reads as the bytes it is.
        "SELECT device, seq, CAST(entry AS BLOB), CAST(hash AS BLOB), CAST(mac AS BLOB)
         FROM audit_log ORDER BY device, seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        f(AuditRowRef {
            device: text_ref(r, 0)?,
            seq: r.get::<_, i64>(1)? as u64,
            entry: blob_ref(r, 2)?,
            hash: blob_ref(r, 3)?,
            mac: blob_ref(r, 4)?,
        })?;
    }
    Ok(())
}

/// Column `i` as borrowed text, with the errors `Row::get::<String>` gives.
fn text_ref<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    match r.get_ref(i)? {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e))),
        other => Err(wrong_type(r, i, other.data_type())),
    }
}

/// Column `i` as borrowed bytes, with the errors `Row::get::<Vec<u8>>` gives.
fn blob_ref<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r [u8]> {
    match r.get_ref(i)? {
        ValueRef::Blob(bytes) => Ok(bytes),
        other => Err(wrong_type(r, i, other.data_type())),
    }
}

#[cold]
fn wrong_type(r: &rusqlite::Row<'_>, i: usize, t: Type) -> rusqlite::Error {
    let name = r
        .as_ref()
        .column_name(i)
        .map_or_else(|_| String::new(), str::to_string);
    rusqlite::Error::InvalidColumnType(i, name, t)
}

/// Number of entries.
pub(crate) fn audit_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get::<_, i64>(0))? as u64)
}

/// Stores a checkpoint (a second copy of one already kept is ignored).
pub(crate) fn add_checkpoint(conn: &Connection, c: &CheckpointRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO audit_checkpoints (device, size, hash, at, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![c.device, c.size as i64, c.hash, c.at, c.signature])?;
    Ok(())
}

/// Maps a `SELECT device, size, hash, at, signature` row.
fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok(CheckpointRow {
        device: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        hash: r.get(2)?,
        at: r.get(3)?,
        signature: r.get(4)?,
    })
}

/// Every checkpoint, by device then size.
pub(crate) fn checkpoints(conn: &Connection) -> Result<Vec<CheckpointRow>> {
    let mut stmt = conn.prepare(
        "SELECT device, size, CAST(hash AS BLOB), at, CAST(signature AS BLOB)
         FROM audit_checkpoints ORDER BY device, size",
    )?;
    let rows = stmt.query_map([], checkpoint_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The checkpoints of `device`, oldest first.
pub(crate) fn checkpoints_of(conn: &Connection, device: &str) -> Result<Vec<CheckpointRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, size, CAST(hash AS BLOB), at, CAST(signature AS BLOB)
         FROM audit_checkpoints WHERE device = ?1 ORDER BY size",
    )?;
    let rows = stmt.query_map([device], checkpoint_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The stored chain hash of entry `seq` of `device`.
pub(crate) fn audit_hash_at(conn: &Connection, device: &str, seq: u64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT CAST(hash AS BLOB) FROM audit_log WHERE device = ?1 AND seq = ?2")?
        .query_row(params![device, seq as i64], |r| r.get(0))
        .optional()?)
}

/// Drops one checkpoint.
pub(crate) fn drop_checkpoint(conn: &Connection, device: &str, size: u64) -> Result<()> {
    conn.prepare_cached("DELETE FROM audit_checkpoints WHERE device = ?1 AND size = ?2")?
        .execute(params![device, size as i64])?;
    Ok(())
}

/// Adds a sealed event to the inbox.
pub(crate) fn add_inbox(conn: &Connection, sealed: &[u8]) -> Result<()> {
    conn.execute("INSERT INTO audit_inbox (sealed) VALUES (?1)", [sealed])?;
    Ok(())
}

/// Whether the inbox holds anything.
pub(crate) fn inbox_waiting(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM audit_inbox)")?
        .query_row([], |r| r.get(0))?)
}

/// The inbox, oldest first.
pub(crate) fn inbox(conn: &Connection) -> Result<Vec<(i64, Vec<u8>)>> {
    let mut stmt = conn.prepare("SELECT id, sealed FROM audit_inbox ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Empties the inbox up to and including `id`.
pub(crate) fn clear_inbox(conn: &Connection, up_to: i64) -> Result<()> {
    conn.execute("DELETE FROM audit_inbox WHERE id <= ?1", [up_to])?;
    Ok(())
}
