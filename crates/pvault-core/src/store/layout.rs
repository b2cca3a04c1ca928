//! Store version 7: the move of `records` and `versions` to rowid tables (migration files
//! `0007_layout.sql`, which creates the new tables, and `0007_layout_swap.sql`, which replaces the
//! old ones). Between the two, the rows are copied here in batches, each its own transaction, in
//! key order: a copy interrupted by a crash resumes after the largest key already copied, which is
//! the only state it needs. A process that opened the store before the migration began and writes
//! meanwhile is kept in step by the triggers of `0007_layout.sql`.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::WriteTx;
use crate::error::Result;

/// The last step: drops the old tables and renames the new ones.
pub(super) const SWAP: &str = include_str!("migrations/0007_layout_swap.sql");

/// Rows copied per transaction (about 7 MB of records).
pub(super) const BATCH: usize = 10_000;

/// A table to copy: its name, its copy's name, and the columns of its key.
struct Move {
    from: &'static str,
    to: &'static str,
    key: &'static [&'static str],
}

const MOVES: [Move; 2] = [
    Move {
        from: "records",
        to: "records_v7",
        key: &["collection", "rid"],
    },
    Move {
        from: "versions",
        to: "versions_v7",
        key: &["collection", "rid", "version"],
    },
];

/// Whether a copy has begun and not finished (the new tables exist).
pub(super) fn pending(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records_v7')",
        [],
        |r| r.get(0),
    )?)
}

/// Copies what is left, `batch` rows per transaction, then swaps the tables. Safe to run from
/// several processes at once: each step checks, under the write lock, that it is still needed.
pub(super) fn finish(conn: &Connection, batch: usize) -> Result<()> {
    loop {
        let tx = WriteTx::begin(conn)?;
        if !pending(&tx)? {
            return tx.commit();
        }
        let mut copied = 0;
        for m in &MOVES {
            copied += copy_batch(&tx, m, batch)?;
        }
        if copied == 0 {
            tx.execute_batch(SWAP)?;
        }
        tx.commit()?;
    }
}

/// Copies the next `limit` rows of one table (after the largest key copied); returns how many.
fn copy_batch(conn: &Connection, m: &Move, limit: usize) -> Result<usize> {
    let key = m.key.join(", ");
    let desc = m.key.join(" DESC, ");
    let last: Option<Vec<Value>> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT {key} FROM {} ORDER BY {desc} DESC LIMIT 1",
            m.to
        ))?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
            Some(r) => Some(
                (0..m.key.len())
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<rusqlite::Result<_>>()?,
            ),
            None => None,
        }
    };
    let (from, to) = (m.from, m.to);
    let n = match last {
        None => conn.execute(
            &format!("INSERT INTO {to} SELECT * FROM {from} ORDER BY {key} LIMIT ?1"),
            [limit as i64],
        )?,
        Some(last) => {
            let marks: Vec<String> = (1..=last.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "INSERT INTO {to} SELECT * FROM {from} WHERE ({key}) > ({}) ORDER BY {key} LIMIT ?{}",
                marks.join(", "),
                last.len() + 1
            );
            let mut params: Vec<Value> = last;
            params.push(Value::Integer(limit as i64));
            conn.execute(&sql, rusqlite::params_from_iter(params))?
        }
    };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MIGRATIONS;

    /// A store at version 6 (the old layout) with `n` records, two versions each of a third of
    /// them, and a tag on every row.
    fn old_store(n: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&MIGRATIONS[..6].concat()).unwrap();
        for i in 0..n {
            put(&conn, "notes", i as u32, 1);
            if i % 3 == 0 {
                for v in 1..=2 {
                    conn.execute(
                        "INSERT INTO versions VALUES ('breakthroughs', ?1, ?2, 1, 1, ?3, ?2)",
                        rusqlite::params![rid(i as u32), v, vec![v as u8; 40]],
                    )
                    .unwrap();
                }
            }
        }
        conn
    }

    /// A row key that scatters like a keyed hash.
    fn rid(i: u32) -> Vec<u8> {
        pvault_crypto::sha256(&i.to_be_bytes())[..16].to_vec()
    }

    fn put(conn: &Connection, collection: &str, i: u32, version: i64) {
        conn.execute(
            "INSERT INTO records (collection, rid, id_box, classification, key_id, body, revision,
                 device, version, deleted, tag)
             VALUES (?1, ?2, x'00', 1, 1, ?3, ?4, 'dev', ?4, 0, x'ab')
             ON CONFLICT (collection, rid) DO UPDATE SET body = ?3, version = ?4, dirty = 1",
            rusqlite::params![collection, rid(i), vec![7u8; 100], version],
        )
        .unwrap();
    }

    /// Every row of a table, in key order.
    fn dump(conn: &Connection, table: &str) -> Vec<Vec<Value>> {
        let order = if table == "records" {
            "collection, rid"
        } else {
            "collection, rid, version"
        };
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let cols = stmt.column_count();
        stmt.query_map([], |r| (0..cols).map(|i| r.get::<_, Value>(i)).collect())
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn is_without_rowid(conn: &Connection, table: &str) -> bool {
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        sql.contains("WITHOUT ROWID")
    }

    fn start(conn: &Connection) {
        conn.execute_batch(MIGRATIONS[6]).unwrap();
    }

    #[test]
    fn the_copy_keeps_every_row_and_column_and_leaves_the_backup_log_alone() {
        let conn = old_store(2_500);
        let (records, versions) = (dump(&conn, "records"), dump(&conn, "versions"));
        let log: i64 = conn
            .query_row("SELECT COUNT(*) FROM backup_log", [], |r| r.get(0))
            .unwrap();
        assert!(is_without_rowid(&conn, "records"));
        start(&conn);
        finish(&conn, 700).unwrap();
        assert!(!pending(&conn).unwrap());
        assert!(!is_without_rowid(&conn, "records"));
        assert!(!is_without_rowid(&conn, "versions"));
        assert_eq!(dump(&conn, "records"), records);
        assert_eq!(dump(&conn, "versions"), versions);
        let after: i64 = conn
            .query_row("SELECT COUNT(*) FROM backup_log", [], |r| r.get(0))
            .unwrap();
        assert_eq!(after, log, "moving rows is not a change to back up");
        // The triggers are back: a write is logged, and a synced row keeps its base.
        conn.execute("UPDATE records SET dirty = 0, sync_seq = 5", [])
            .unwrap();
        put(&conn, "notes", 1, 9);
        let (logged, bases): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM backup_log), (SELECT COUNT(*) FROM sync_base)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((logged, bases), (log + 1, 1));
    }

    #[test]
    fn writes_by_another_process_during_the_copy_are_not_lost() {
        let conn = old_store(3_000);
        start(&conn);
        let mut round = 0u32;
        loop {
            // One batch, as `finish` runs it, then writes on every side of the copied part.
            let copied: usize = MOVES
                .iter()
                .map(|m| copy_batch(&conn, m, 400).unwrap())
                .sum();
            if copied == 0 {
                break;
            }
            round += 1;
            for i in (0..3_000).step_by(97) {
                put(&conn, "notes", (i + round) % 3_000, i64::from(round) + 10);
            }
            put(&conn, "notes", 10_000 + round, 1);
            conn.execute(
                "DELETE FROM records WHERE rid = ?1",
                [rid((round * 31) % 3_000)],
            )
            .unwrap();
            conn.execute(
                "UPDATE versions SET body = x'ff' WHERE rid = ?1",
                [rid(round * 3 % 3_000)],
            )
            .unwrap();
        }
        assert!(round >= 5, "the copy took several batches ({round})");
        let (records, versions) = (dump(&conn, "records"), dump(&conn, "versions"));
        conn.execute_batch(SWAP).unwrap();
        assert_eq!(dump(&conn, "records"), records);
        assert_eq!(dump(&conn, "versions"), versions);
    }

    #[test]
    fn an_interrupted_copy_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let records = {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&MIGRATIONS[..6].concat()).unwrap();
            for i in 0..1_000 {
                put(&conn, "notes", i, 1);
            }
            start(&conn);
            copy_batch(&conn, &MOVES[0], 300).unwrap();
            dump(&conn, "records")
            // The connection goes away here, as in a crash between two batches.
        };
        let conn = Connection::open(&path).unwrap();
        assert!(pending(&conn).unwrap());
        let copied: i64 = conn
            .query_row("SELECT COUNT(*) FROM records_v7", [], |r| r.get(0))
            .unwrap();
        assert_eq!(copied, 300);
        finish(&conn, 300).unwrap();
        assert_eq!(dump(&conn, "records"), records);
    }

    #[test]
    fn new_and_old_tables_have_the_same_columns() {
        let conn = old_store(0);
        start(&conn);
        for m in &MOVES {
            let cols = |t: &str| -> Vec<(String, String, bool, Option<String>)> {
                let mut stmt = conn
                    .prepare(&format!(
                        "SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info('{t}')"
                    ))
                    .unwrap();
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap()
            };
            assert_eq!(cols(m.from), cols(m.to), "{}", m.from);
        }
    }
}
