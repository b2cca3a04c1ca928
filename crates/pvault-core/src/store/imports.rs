//! The journal of data migrations (migration 0006): one row per migration, one per record it wrote.

use rusqlite::{Connection, params};

use crate::error::Result;

/// A migration's row: id, state, journal (JSON).
pub(crate) type MigrationRow = (String, String, String);

/// Every migration, oldest first (ids sort by start time: see `migrate/`).
pub(crate) fn migrations(conn: &Connection) -> Result<Vec<MigrationRow>> {
    let mut stmt = conn.prepare("SELECT id, state, journal FROM migrations ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Writes a migration's state and journal.
pub(crate) fn put_migration(conn: &Connection, id: &str, state: &str, journal: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO migrations (id, state, journal) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, journal = excluded.journal",
        params![id, state, journal],
    )?;
    Ok(())
}

/// Notes that migration `id` wrote `version` of a record.
pub(crate) fn add_migrated(
    conn: &Connection,
    id: &str,
    collection: &str,
    rid: &[u8; 16],
    version: u64,
) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO migration_records (migration, collection, rid, version)
         VALUES (?1, ?2, ?3, ?4)",
        params![id, collection, &rid[..], version as i64],
    )?;
    Ok(())
}

/// The records migration `id` wrote: collection, row key, the version it wrote.
pub(crate) fn migrated(conn: &Connection, id: &str) -> Result<Vec<(String, [u8; 16], u64)>> {
    let mut stmt = conn.prepare(
        "SELECT collection, rid, version FROM migration_records WHERE migration = ?1
         ORDER BY collection, rid",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            // A row key of another length matches no record (and so is skipped by a rollback).
            let rid: Vec<u8> = r.get(1)?;
            let mut rid16 = [0u8; 16];
            if rid.len() == 16 {
                rid16.copy_from_slice(&rid);
            }
            let version: i64 = r.get(2)?;
            Ok((r.get(0)?, rid16, version as u64))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Forgets the records of migration `id` (after its rollback).
pub(crate) fn clear_migrated(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("DELETE FROM migration_records WHERE migration = ?1", [id])?;
    Ok(())
}
