//! Rows as values, table by table, for backups; and the backup log (migration 0005) of which
//! records changed. A backup keeps the tables of records (`records`, `versions`, `blind_index`,
//! keyed by collection and row key) in buckets by the row key's first 12 bits, and every other
//! table whole; a restore inserts them into a fresh store of the same version.

use std::collections::BTreeSet;

use pvault_codec::{Reader, Writer};
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::error::{Error, Result};

/// The tables whose rows belong to one record, keyed by `(collection, rid, …)`.
pub(crate) const RECORD_TABLES: [&str; 3] = ["records", "versions", "blind_index"];

/// Tables a backup does not keep: its own log (and SQLite's rowid counter table, should a store
/// have one).
const NOT_KEPT: [&str; 2] = ["backup_log", "sqlite_sequence"];

/// Number of buckets of record rows (the first 12 bits of the row key).
pub(crate) const BUCKETS: u16 = 4096;

/// Rows of one table.
#[derive(Debug, PartialEq)]
pub(crate) struct TableRows {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// The bucket of a row key.
pub(crate) fn bucket_of(rid: &[u8]) -> u16 {
    match rid {
        [a, b, ..] => (u16::from(*a) << 4) | (u16::from(*b) >> 4),
        [a] => u16::from(*a) << 4,
        [] => 0,
    }
}

/// The row-key range `[lo, hi)` of a bucket (`hi` is `None` for the last).
fn bucket_range(bucket: u16) -> (Vec<u8>, Option<Vec<u8>>) {
    let lo = vec![(bucket >> 4) as u8, ((bucket & 0xF) << 4) as u8];
    let hi = (bucket + 1 < BUCKETS).then(|| {
        let b = bucket + 1;
        vec![(b >> 4) as u8, ((b & 0xF) << 4) as u8]
    });
    (lo, hi)
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
    let cols = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// The tables kept whole (not record tables, not the backup log), by name.
pub(crate) fn other_tables(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names
        .into_iter()
        .filter(|n| !RECORD_TABLES.contains(&n.as_str()) && !NOT_KEPT.contains(&n.as_str()))
        .collect())
}

/// Every collection with a record or a version. One index seek per collection (the tables are
/// keyed by collection first), not a scan: a backup of one change must not read the profile.
pub(crate) fn collections(conn: &Connection) -> Result<Vec<String>> {
    let mut out = std::collections::BTreeSet::new();
    for table in ["records", "versions"] {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT MIN(collection) FROM {table} WHERE collection > ?1"
        ))?;
        let mut after = String::new();
        while let Some(next) = stmt.query_row([&after], |r| r.get::<_, Option<String>>(0))? {
            out.insert(next.clone());
            after = next;
        }
    }
    Ok(out.into_iter().collect())
}

fn read_rows(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
    n: usize,
    out: &mut Vec<Vec<Value>>,
) -> Result<()> {
    let mut rows = stmt.query(params)?;
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            row.push(r.get::<_, Value>(i)?);
        }
        out.push(row);
    }
    Ok(())
}

/// The rows of a record table in one bucket, for every collection, in key order.
pub(crate) fn bucket_rows(
    conn: &Connection,
    table: &str,
    collections: &[String],
    bucket: u16,
) -> Result<TableRows> {
    let columns = columns(conn, table)?;
    let (lo, hi) = bucket_range(bucket);
    let sql = match hi {
        Some(_) => format!(
            "SELECT * FROM {table} WHERE collection = ?1 AND rid >= ?2 AND rid < ?3 ORDER BY rid"
        ),
        None => format!("SELECT * FROM {table} WHERE collection = ?1 AND rid >= ?2 ORDER BY rid"),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = Vec::new();
    for c in collections {
        match &hi {
            Some(hi) => read_rows(
                &mut stmt,
                rusqlite::params![c, lo, hi],
                columns.len(),
                &mut rows,
            )?,
            None => read_rows(
                &mut stmt,
                rusqlite::params![c, lo],
                columns.len(),
                &mut rows,
            )?,
        }
    }
    Ok(TableRows {
        table: table.to_string(),
        columns,
        rows,
    })
}

/// Entries of the audit log per chunk: a chunk is 256 consecutive entries of one device (about
/// 75 KiB), written once when full.
const AUDIT_CHUNK: i64 = 256;

/// The rows of a table kept whole, in chunks that do not change once full: the audit log (append
/// only) by device and position, every other table as one chunk.
pub(crate) fn table_chunks(conn: &Connection, table: &str) -> Result<Vec<TableRows>> {
    if table != "audit_log" {
        return Ok(vec![all_rows(conn, table)?]);
    }
    let columns = columns(conn, table)?;
    let mut devices =
        conn.prepare("SELECT device, MAX(seq) FROM audit_log GROUP BY device ORDER BY device")?;
    let devices = devices
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM audit_log WHERE device = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq",
    )?;
    let mut out = Vec::new();
    for (device, max) in devices {
        for k in 0..=max.max(0) / AUDIT_CHUNK {
            let mut rows = Vec::new();
            let (lo, hi) = (k * AUDIT_CHUNK, (k + 1) * AUDIT_CHUNK);
            read_rows(
                &mut stmt,
                rusqlite::params![device, lo, hi],
                columns.len(),
                &mut rows,
            )?;
            if !rows.is_empty() {
                out.push(TableRows {
                    table: table.to_string(),
                    columns: columns.clone(),
                    rows,
                });
            }
        }
    }
    Ok(out)
}

/// Every row of a table.
pub(crate) fn all_rows(conn: &Connection, table: &str) -> Result<TableRows> {
    let columns = columns(conn, table)?;
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
    let mut rows = Vec::new();
    read_rows(&mut stmt, [], columns.len(), &mut rows)?;
    Ok(TableRows {
        table: table.to_string(),
        columns,
        rows,
    })
}

/// Inserts rows into their table (which must have those columns: same store version).
pub(crate) fn insert_rows(conn: &Connection, t: &TableRows) -> Result<()> {
    let here = columns(conn, &t.table)?;
    if here != t.columns {
        return Err(Error::Protocol(format!(
            "the backup's table {} does not have this store's columns",
            t.table
        )));
    }
    let marks: Vec<String> = (1..=t.columns.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT OR REPLACE INTO \"{}\" VALUES ({})",
        t.table,
        marks.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for row in &t.rows {
        stmt.execute(rusqlite::params_from_iter(row.iter()))?;
    }
    Ok(())
}

/// The backup log's newest position (0: nothing logged yet).
pub(crate) fn log_position(conn: &Connection) -> Result<u64> {
    let seq: Option<i64> = conn.query_row("SELECT MAX(seq) FROM backup_log", [], |r| r.get(0))?;
    Ok(seq.unwrap_or(0).max(0) as u64)
}

/// The buckets of records changed after `after` up to `upto`, or `None` when the log no longer
/// reaches back to `after` (trimmed): then everything must be read.
pub(crate) fn changed_buckets(
    conn: &Connection,
    after: u64,
    upto: u64,
) -> Result<Option<BTreeSet<u16>>> {
    let oldest: Option<i64> =
        conn.query_row("SELECT MIN(seq) FROM backup_log", [], |r| r.get(0))?;
    if let Some(oldest) = oldest
        && oldest as u64 > after + 1
    {
        return Ok(None);
    }
    let mut stmt = conn.prepare("SELECT rid FROM backup_log WHERE seq > ?1 AND seq <= ?2")?;
    let mut out = BTreeSet::new();
    let mut rows = stmt.query(rusqlite::params![after as i64, upto as i64])?;
    while let Some(r) = rows.next()? {
        let rid: Vec<u8> = r.get(0)?;
        out.insert(bucket_of(&rid));
    }
    Ok(Some(out))
}

/// Forgets log entries up to `upto` (every repository has them), except the newest: it keeps the
/// next position past every one recorded (SQLite gives a rowid table max + 1).
pub(crate) fn trim_log(conn: &Connection, upto: u64) -> Result<()> {
    conn.execute(
        "DELETE FROM backup_log WHERE seq <= ?1 AND seq < (SELECT MAX(seq) FROM backup_log)",
        [upto as i64],
    )?;
    Ok(())
}

/// Empties the log (a restored store starts a log of its own, under a new log id).
pub(crate) fn clear_log(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM backup_log", [])?;
    Ok(())
}

const V_NULL: u8 = 0;
const V_INT: u8 = 1;
const V_REAL: u8 = 2;
const V_TEXT: u8 = 3;
const V_BLOB: u8 = 4;
const MAX_VALUE: usize = 64 << 20;

/// Encodes tables of rows: `count | (table | columns | rows)*`, values tagged.
pub(crate) fn encode(tables: &[TableRows]) -> Vec<u8> {
    let mut w = Writer::new();
    w.varint(tables.len() as u64);
    for t in tables {
        w.varint_bytes(t.table.as_bytes());
        w.varint(t.columns.len() as u64);
        for c in &t.columns {
            w.varint_bytes(c.as_bytes());
        }
        w.varint(t.rows.len() as u64);
        for row in &t.rows {
            for v in row {
                match v {
                    Value::Null => w.u8(V_NULL),
                    Value::Integer(i) => {
                        w.u8(V_INT);
                        w.u64(*i as u64);
                    }
                    Value::Real(f) => {
                        w.u8(V_REAL);
                        w.u64(f.to_bits());
                    }
                    Value::Text(s) => {
                        w.u8(V_TEXT);
                        w.varint_bytes(s.as_bytes());
                    }
                    Value::Blob(b) => {
                        w.u8(V_BLOB);
                        w.varint_bytes(b);
                    }
                }
            }
        }
    }
    w.into_inner()
}

/// Decodes what [`encode`] wrote.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<TableRows>> {
    let bad = |e: pvault_codec::CodecError| Error::Protocol(format!("backup rows: {e}"));
    let mut r = Reader::new(bytes);
    let n = r.count("tables", 64, 2).map_err(bad)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let text = |r: &mut Reader<'_>, what| -> Result<String> {
            let b = r.varint_bytes(what, 256).map_err(bad)?;
            String::from_utf8(b.to_vec())
                .map_err(|_| Error::Protocol(format!("backup rows: {what} is not UTF-8")))
        };
        let table = text(&mut r, "table name")?;
        let ncols = r.count("columns", 64, 1).map_err(bad)?;
        let mut columns = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            columns.push(text(&mut r, "column name")?);
        }
        let nrows = r.count("rows", 100_000_000, ncols.max(1)).map_err(bad)?;
        let mut rows = Vec::with_capacity(nrows.min(1 << 16));
        for _ in 0..nrows {
            let mut row = Vec::with_capacity(ncols);
            for _ in 0..ncols {
                row.push(match r.u8("value tag").map_err(bad)? {
                    V_NULL => Value::Null,
                    V_INT => Value::Integer(r.u64("integer").map_err(bad)? as i64),
                    V_REAL => Value::Real(f64::from_bits(r.u64("real").map_err(bad)?)),
                    V_TEXT => Value::Text(
                        String::from_utf8(r.varint_bytes("text", MAX_VALUE).map_err(bad)?.to_vec())
                            .map_err(|_| {
                                Error::Protocol("backup rows: text is not UTF-8".into())
                            })?,
                    ),
                    V_BLOB => Value::Blob(r.varint_bytes("blob", MAX_VALUE).map_err(bad)?.to_vec()),
                    _ => return Err(Error::Protocol("backup rows: unknown value tag".into())),
                });
            }
            rows.push(row);
        }
        out.push(TableRows {
            table,
            columns,
            rows,
        });
    }
    r.finish().map_err(bad)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_key_space_in_order() {
        assert_eq!(bucket_of(&[0, 0]), 0);
        assert_eq!(bucket_of(&[0xFF, 0xFF]), BUCKETS - 1);
        assert_eq!(bucket_of(&[0x12, 0x34, 0x56]), 0x123);
        let (lo, hi) = bucket_range(0x123);
        assert_eq!(lo, [0x12, 0x30]);
        assert_eq!(hi.unwrap(), [0x12, 0x40]);
        assert!(bucket_range(BUCKETS - 1).1.is_none());
    }

    #[test]
    fn rows_round_trip_and_damage_is_refused() {
        let t = TableRows {
            table: "meta".into(),
            columns: vec!["key".into(), "value".into()],
            rows: vec![
                vec![Value::Text("a".into()), Value::Blob(vec![1, 2])],
                vec![Value::Integer(-5), Value::Null],
                vec![Value::Real(1.5), Value::Text("é".into())],
            ],
        };
        let bytes = encode(std::slice::from_ref(&t));
        assert_eq!(decode(&bytes).unwrap(), vec![t]);
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
