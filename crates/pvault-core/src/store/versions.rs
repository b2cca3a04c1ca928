//! The `versions` table: every version of append-only collections (breakthroughs).

use rusqlite::{Connection, params};

use crate::error::Result;

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

/// Every version row (for verification).
pub fn all_versions(conn: &Connection) -> Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {VERSION_COLUMNS} FROM versions ORDER BY collection, rid, version"
    ))?;
    let rows = stmt.query_map([], version_from_sql)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` version rows sealed under an epoch other than `current`.
pub fn versions_not_under(
    conn: &Connection,
    current: u32,
    limit: usize,
) -> Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE (key_id < ?1 OR key_id > ?1) LIMIT ?2"
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
