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
