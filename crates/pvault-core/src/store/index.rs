//! The blind index: keyed-hash tokens of declared fields, so an equality query opens only the
//! records it matches.

use rusqlite::{Connection, params};

use crate::error::Result;

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
