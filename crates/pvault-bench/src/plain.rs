//! The insert workload and the baseline writer that stores it without pvault.
//!
//! Shared, as source, by this crate (the plain-SQLite contender) and by
//! `bench/sqlcipher-baseline` (the SQLCipher contender, which includes this file with `#[path]`), so
//! both baselines run exactly the same code; the only difference is the `PRAGMA key` of SQLCipher.
//!
//! A baseline row has the columns pvault writes, through the same upsert statement: the record's
//! plain id where pvault stores its id envelope, the record's JSON where pvault stores the body
//! envelope, and `rid = SHA-256(id)[..16]` where pvault stores a keyed hash.

use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, params};
use serde_json::Value;

/// The user collection every contender writes to (no blind index).
pub const COLLECTION: &str = "bench";
/// Bytes of the string field of each record.
pub const DATA_BYTES: usize = 512;
/// Device id written in the `device` column (pvault's are 16 hex digits too).
const DEVICE: &str = "0123456789abcdef";

/// pvault's own statement (`store::put_row`), copied so SQLite does the same work per row.
const PUT_ROW: &str = "INSERT INTO records (collection, rid, id_box, classification, key_id, body, revision, device, version, deleted, dirty)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)
     ON CONFLICT (collection, rid) DO UPDATE SET id_box = ?3, classification = ?4, key_id = ?5, body = ?6,
         revision = ?7, device = ?8, version = ?9, deleted = ?10, dirty = 1";

/// One record of the workload: an id like pvault's random ids and `{"text": <512 characters>}`.
pub struct Input {
    /// Record id (26 lower-case base32 characters).
    pub id: String,
    /// Record data.
    pub data: Value,
}

/// A small deterministic generator (SplitMix64), so every contender, in every process, writes the
/// same records.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn text(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
        (0..len)
            .map(|_| ALPHABET[(self.next() % 32) as usize] as char)
            .collect()
    }
}

/// Records `start..start + n` of the workload.
pub fn workload(start: u64, n: usize) -> Vec<Input> {
    (start..start + n as u64)
        .map(|i| {
            let mut rng = SplitMix(i.wrapping_mul(0x2545_f491_4f6c_dd1d));
            Input {
                id: rng.text(26),
                data: serde_json::json!({ "text": rng.text(DATA_BYTES) }),
            }
        })
        .collect()
}

/// How a baseline lays out its `records` table. Both have the columns pvault writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    /// An ordinary rowid table with a unique index on the key: rows are appended, only the small
    /// index entries land at random. The layout of pvault's store since version 7, and the best
    /// tried (see docs/benchmarks.md).
    Rowid,
    /// A WITHOUT ROWID table keyed by `(collection, rid)`: pvault's layout before store version 7.
    WithoutRowid,
}

impl Layout {
    /// The layout named on the SQLCipher contender's command line.
    #[allow(dead_code)] // only the SQLCipher contender parses one
    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "rowid" => Some(Layout::Rowid),
            "without-rowid" => Some(Layout::WithoutRowid),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Rowid => "rowid",
            Layout::WithoutRowid => "without-rowid",
        }
    }
}

/// The rowid layout: pvault's columns, one unique index, no other (an application storing these
/// records needs no other), and the tables pvault's other statements touch ([`Sql::LikePvault`]).
const ROWID_SCHEMA: &str = "
CREATE TABLE records (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    id_box         BLOB    NOT NULL,
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    body           BLOB,
    revision       INTEGER NOT NULL,
    device         TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    sync_seq       INTEGER NOT NULL DEFAULT 0,
    dirty          INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX records_key ON records (collection, rid);
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE blind_index (
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    token      BLOB NOT NULL,
    rid        BLOB NOT NULL,
    PRIMARY KEY (collection, field, token, rid)
) WITHOUT ROWID;
CREATE INDEX blind_index_by_rid ON blind_index (collection, rid);
";

/// Opens (creating) a database with pvault's pragmas and a `layout`. `key` is SQLCipher's
/// passphrase; its key derivation runs here, before anything is timed.
pub fn open(path: &Path, key: Option<&str>, layout: Layout) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    if let Some(key) = key {
        conn.pragma_update(None, "key", key)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.execute_batch(match layout {
        Layout::Rowid => ROWID_SCHEMA,
        Layout::WithoutRowid => pvault_core::internals::SCHEMA_V1,
    })?;
    Ok(conn)
}

/// pvault's other statements of a write (`store::get_row`, `store::set_index`, `store::meta_u64`,
/// `store::set_meta_u64`), for [`Sql::LikePvault`].
const GET_ROW: &str = "SELECT collection, rid, id_box, classification, key_id, body, revision, device, version, deleted FROM records WHERE collection = ?1 AND rid = ?2";
const DELETE_INDEX: &str = "DELETE FROM blind_index WHERE collection = ?1 AND rid = ?2";
const GET_META: &str = "SELECT value FROM meta WHERE key = ?1";
const SET_META: &str =
    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2";

/// Bytes pvault's sealed body adds to the record's JSON: the payload wraps the data with the id, the
/// schema version and two RFC 3339 timestamps with nanoseconds
/// (`{"id":"<26>","schema":1,"created":"<30>","updated":"<30>","data":<data>}`: 140 bytes), and the
/// envelope adds 34 (header, nonce, tag). The id box is the id plus 34.
pub const PAYLOAD_EXTRA: usize = 140;
pub const ENVELOPE_EXTRA: usize = 34;

/// Which statements a baseline runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sql {
    /// One upsert per record: what an application without pvault would do.
    Upsert,
    /// Every statement pvault runs for a new record of a user collection (look the row up, upsert it,
    /// clear its blind-index entries; per batch, read and write two meta counters), with rows as
    /// large as pvault's (see [`PAYLOAD_EXTRA`]), but no crypto. For the breakdown of pvault's time,
    /// not a contender.
    LikePvault,
}

/// Elapsed and CPU seconds of a timed part.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub wall: f64,
    /// User + system time of the whole process (the timed part runs on one thread).
    pub cpu: f64,
    /// Bytes the process handed to `write` and `pwrite` meanwhile (`wchar` of /proc/self/io):
    /// what SQLite wrote to the WAL and, at checkpoints, to the database.
    pub written: u64,
}

/// `wchar` of /proc/self/io: bytes written by this process so far (0 where the file is missing).
pub fn bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used so far, from /proc/self/stat (whose unit is
/// USER_HZ, 100 per second on Linux); 0 where that file does not exist.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // After the command name: state is field 3, utime 14, stime 15.
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / 100.0
}

/// Runs `f` and returns its result with its elapsed and CPU time.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Timing) {
    let (cpu, written, start) = (cpu_seconds(), bytes_written(), Instant::now());
    let out = f();
    let wall = start.elapsed().as_secs_f64();
    (
        out,
        Timing {
            wall,
            cpu: cpu_seconds() - cpu,
            written: bytes_written() - written,
        },
    )
}

/// Writes `records` in transactions of `batch` and returns the time it took: per record, serialize
/// the data to JSON, hash the id, run the statements; per batch, commit (durable: WAL,
/// synchronous=FULL).
pub fn insert(
    conn: &mut Connection,
    records: &[Input],
    batch: usize,
    sql: Sql,
) -> rusqlite::Result<Timing> {
    let (result, timing) = timed(|| write(conn, records, batch, sql));
    result.map(|()| timing)
}

fn write(conn: &mut Connection, records: &[Input], batch: usize, sql: Sql) -> rusqlite::Result<()> {
    let class = pvault_crypto::Classification::Internal.as_byte();
    let mut revision = 0i64;
    for chunk in records.chunks(batch) {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(PUT_ROW)?;
            for rec in chunk {
                revision += 1;
                let mut body = serde_json::to_vec(&rec.data).expect("JSON value serializes");
                let rid = &pvault_crypto::sha256(rec.id.as_bytes())[..16];
                let mut id = rec.id.as_bytes().to_vec();
                if sql == Sql::LikePvault {
                    body.resize(body.len() + PAYLOAD_EXTRA + ENVELOPE_EXTRA, b' ');
                    id.resize(id.len() + ENVELOPE_EXTRA, b' ');
                }
                if sql == Sql::LikePvault {
                    let mut get = tx.prepare_cached(GET_ROW)?;
                    let mut rows = get.query(params![COLLECTION, rid])?;
                    if let Some(row) = rows.next()? {
                        let _: Option<Vec<u8>> = row.get(5)?;
                    }
                }
                stmt.execute(params![
                    COLLECTION, rid, id, class, 1u32, body, revision, DEVICE, 1i64, false
                ])?;
                if sql == Sql::LikePvault {
                    tx.prepare_cached(DELETE_INDEX)?
                        .execute(params![COLLECTION, rid])?;
                }
            }
            if sql == Sql::LikePvault {
                for key in ["hlc", "seals/1"] {
                    let v: Option<i64> = tx
                        .prepare_cached(GET_META)?
                        .query_row([key], |r| r.get(0))
                        .ok();
                    tx.prepare_cached(SET_META)?
                        .execute(params![key, v.unwrap_or(0) + revision])?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(())
}
