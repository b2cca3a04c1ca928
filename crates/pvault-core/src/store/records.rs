//! The `records` table: the latest state of every record, and its sync state (dirty rows, the
//! server sequence a row is based on, the common ancestor kept in `sync_base`).

use rusqlite::{Connection, OptionalExtension, Statement, ToSql, params};

use crate::error::Result;

/// One row of `records`.
#[derive(Clone, Debug)]
pub struct Row {
    pub collection: String,
    pub rid: [u8; 16],
    pub id_box: Vec<u8>,
    pub classification: u8,
    pub key_id: u32,
    pub body: Option<Vec<u8>>,
    pub revision: u64,
    pub device: String,
    pub version: u64,
    pub deleted: bool,
}

pub const ROW_COLUMNS: &str =
    "collection, rid, id_box, classification, key_id, body, revision, device, version, deleted";

/// Maps a `SELECT ROW_COLUMNS` row.
pub fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let rid: Vec<u8> = r.get(1)?;
    let mut rid16 = [0u8; 16];
    if rid.len() == 16 {
        rid16.copy_from_slice(&rid);
    }
    Ok(Row {
        collection: r.get(0)?,
        rid: rid16,
        id_box: r.get(2)?,
        classification: r.get(3)?,
        key_id: r.get(4)?,
        body: r.get(5)?,
        revision: r.get::<_, i64>(6)? as u64,
        device: r.get(7)?,
        version: r.get::<_, i64>(8)? as u64,
        deleted: r.get(9)?,
    })
}

/// The row of a record, if any (tombstones included).
pub fn get_row(conn: &Connection, collection: &str, rid: &[u8; 16]) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM records WHERE collection = ?1 AND rid = ?2"
        ))?
        .query_row(params![collection, &rid[..]], row_from_sql)
        .optional()?)
}

/// Runs a statement whose parameters are the ten `ROW_COLUMNS` of `row` (`?1`..`?10`), then
/// `extra` as `?11`, `?12`...
fn execute_row(stmt: &mut Statement<'_>, row: &Row, extra: &[&dyn ToSql]) -> Result<usize> {
    let (rid, revision, version) = (&row.rid[..], row.revision as i64, row.version as i64);
    let mut params: Vec<&dyn ToSql> = vec![
        &row.collection,
        &rid,
        &row.id_box,
        &row.classification,
        &row.key_id,
        &row.body,
        &revision,
        &row.device,
        &version,
        &row.deleted,
    ];
    params.extend_from_slice(extra);
    Ok(stmt.execute(params.as_slice())?)
}

/// Inserts or replaces a record row with its tag (see `vault/tag.rs`), and marks it for sync.
pub fn put_row(conn: &Connection, row: &Row, tag: &[u8]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO records (collection, rid, id_box, classification, key_id, body, revision, device, version, deleted, tag, dirty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1)
         ON CONFLICT (collection, rid) DO UPDATE SET id_box = ?3, classification = ?4, key_id = ?5, body = ?6,
             revision = ?7, device = ?8, version = ?9, deleted = ?10, tag = ?11, dirty = 1",
    )?;
    execute_row(&mut stmt, row, &[&tag])?;
    Ok(())
}

/// Row tags by collection and row key (`None`: a row without one).
pub(crate) type RowTags = std::collections::HashMap<(String, [u8; 16]), Option<Vec<u8>>>;

/// The stored tag of every row.
pub(crate) fn row_tags(conn: &Connection) -> Result<RowTags> {
    let mut stmt = conn.prepare("SELECT collection, rid, CAST(tag AS BLOB) FROM records")?;
    let rows = stmt.query_map([], |r| {
        let rid: Vec<u8> = r.get(1)?;
        let mut rid16 = [0u8; 16];
        if rid.len() == 16 {
            rid16.copy_from_slice(&rid);
        }
        Ok(((r.get::<_, String>(0)?, rid16), r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rows that have no tag (in a store migrated from before row tags), up to `limit`.
pub(crate) fn untagged_rows(conn: &Connection, limit: usize) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM records WHERE tag IS NULL LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], row_from_sql)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets a row's tag without changing anything else.
pub(crate) fn set_row_tag(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
    tag: &[u8],
) -> Result<()> {
    conn.prepare_cached("UPDATE records SET tag = ?3 WHERE collection = ?1 AND rid = ?2")?
        .execute(params![collection, &rid[..], tag])?;
    Ok(())
}

/// Rows of a collection (tombstones only with `with_deleted`), in revision order.
pub fn rows_of(
    conn: &Connection,
    collection: Option<&str>,
    with_deleted: bool,
) -> Result<Vec<Row>> {
    let mut sql = format!("SELECT {ROW_COLUMNS} FROM records WHERE 1");
    if collection.is_some() {
        sql.push_str(" AND collection = ?1");
    }
    if !with_deleted {
        sql.push_str(" AND deleted = 0");
    }
    sql.push_str(" ORDER BY collection, revision");
    let mut stmt = conn.prepare(&sql)?;
    let rows = match collection {
        Some(c) => stmt
            .query_map([c], row_from_sql)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        None => stmt
            .query_map([], row_from_sql)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    Ok(rows)
}

/// A place in a collection's listing order: a row's revision and rowid (its place in
/// `records_by_revision`). Listing pages go on after one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListPos {
    pub revision: u64,
    pub rowid: i64,
}

/// Up to `limit` live rows of a collection after `after`, in revision order, each with its place.
/// Reads only those rows (`records_by_revision`).
pub(crate) fn rows_page(
    conn: &Connection,
    collection: &str,
    after: ListPos,
    limit: usize,
) -> Result<Vec<(Row, ListPos)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS}, rowid FROM records
         WHERE collection = ?1 AND deleted = 0 AND (revision, rowid) > (?2, ?3)
         ORDER BY revision, rowid LIMIT ?4"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(
        params![collection, after.revision as i64, after.rowid, limit],
        row_with_pos,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`rows_page`] of the rows whose blind-index entry for `field` is one of `tokens`. Driven from
/// the index (the join order is forced), so it reads the matching rows only; SQLite keeps the
/// `limit` first of them in order.
pub(crate) fn rows_page_matching(
    conn: &Connection,
    collection: &str,
    field: &str,
    tokens: &[[u8; 16]],
    after: ListPos,
    limit: usize,
) -> Result<Vec<(Row, ListPos)>> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let columns: Vec<String> = ROW_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect();
    let marks: Vec<String> = (0..tokens.len()).map(|i| format!("?{}", i + 6)).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT DISTINCT {}, r.rowid FROM blind_index b CROSS JOIN records r
         WHERE b.collection = ?1 AND b.field = ?2 AND b.token IN ({})
           AND r.collection = b.collection AND r.rid = b.rid AND r.deleted = 0
           AND (r.revision, r.rowid) > (?3, ?4)
         ORDER BY r.revision, r.rowid LIMIT ?5",
        columns.join(", "),
        marks.join(", ")
    ))?;
    let (revision, limit) = (
        after.revision as i64,
        i64::try_from(limit).unwrap_or(i64::MAX),
    );
    let mut params: Vec<&dyn ToSql> = vec![&collection, &field, &revision, &after.rowid, &limit];
    let tokens: Vec<&[u8]> = tokens.iter().map(|t| &t[..]).collect();
    params.extend(tokens.iter().map(|t| t as &dyn ToSql));
    let rows = stmt.query_map(params.as_slice(), row_with_pos)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn row_with_pos(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Row, ListPos)> {
    let row = row_from_sql(r)?;
    let pos = ListPos {
        revision: row.revision,
        rowid: r.get(10)?,
    };
    Ok((row, pos))
}

/// Up to `limit` record rows sealed under an epoch other than `current` (for rotation). Written as
/// two ranges, not `!=`, so that SQLite seeks `records_by_epoch` instead of scanning the table: a
/// rotation calls this until it returns nothing, and a scan would pass over every row already
/// resealed each time.
pub fn rows_not_under(conn: &Connection, current: u32, limit: usize) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM records WHERE (key_id < ?1 OR key_id > ?1) LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![current, limit as i64], row_from_sql)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rewrites a record's envelopes under a new epoch, with the new tag, without making a new
/// revision.
pub fn reseal_row(conn: &Connection, row: &Row, tag: &[u8]) -> Result<()> {
    conn.prepare_cached(
        "UPDATE records SET key_id = ?3, id_box = ?4, body = ?5, tag = ?6 WHERE collection = ?1 AND rid = ?2",
    )?
    .execute(params![
        row.collection,
        &row.rid[..],
        row.key_id,
        row.id_box,
        row.body,
        tag
    ])?;
    Ok(())
}

/// Number of live records per collection.
pub fn counts(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut stmt =
        conn.prepare("SELECT collection, COUNT(*) FROM records WHERE deleted = 0 GROUP BY collection ORDER BY collection")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Live records by collection, classification and epoch: `(collection, classification, key id,
/// count)`.
pub(crate) fn census(conn: &Connection) -> Result<Vec<(String, u8, u32, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT collection, classification, key_id, COUNT(*) FROM records WHERE deleted = 0
         GROUP BY collection, classification, key_id ORDER BY collection, classification, key_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A server version of a record as this device knows it: its place in the log (`seq`, 0: none),
/// the SHA-256 of its sealed item (`None`: not known, for rows synced before store version 4) and
/// the record's change counter `n` at that version (0: not known). The next push of the row is
/// `n + 1` and names `hash` as the version it replaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SyncPoint {
    pub seq: u64,
    pub hash: Option<[u8; 32]>,
    pub n: u64,
}

impl SyncPoint {
    fn from_sql(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<SyncPoint> {
        let hash: Option<Vec<u8>> = r.get(first + 1)?;
        Ok(SyncPoint {
            seq: r.get::<_, i64>(first)? as u64,
            hash: hash.and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok()),
            n: r.get::<_, i64>(first + 2)? as u64,
        })
    }
}

/// A dirty row, the server version its edit is based on, and its place in the table.
pub(crate) struct DirtyRow {
    pub row: Row,
    pub base: SyncPoint,
    /// The row's rowid: dirty rows are read in this order (that of the `records_to_push` index,
    /// which new rows append to), after the last one read.
    pub pos: i64,
}

/// Up to `limit` dirty rows after the row at `after` (a [`DirtyRow::pos`]; 0: from the start).
pub(crate) fn dirty_rows(conn: &Connection, after: i64, limit: usize) -> Result<Vec<DirtyRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS}, sync_seq, sync_hash, sync_n, rowid FROM records
         WHERE dirty = 1 AND rowid > ?1 ORDER BY rowid LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        Ok(DirtyRow {
            row: row_from_sql(r)?,
            base: SyncPoint::from_sql(r, 10)?,
            pos: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// SQLite's `data_version`: it changes when another connection commits to the store.
pub(crate) fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "data_version", |r| r.get(0))?)
}

/// Number of rows waiting to be pushed.
pub(crate) fn dirty_count(conn: &Connection) -> Result<u64> {
    Ok(
        conn.query_row("SELECT COUNT(*) FROM records WHERE dirty = 1", [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

/// The server version a row is based on, and whether it has unpushed changes.
pub(crate) fn sync_point_of(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
) -> Result<Option<(SyncPoint, bool)>> {
    Ok(conn
        .prepare_cached(
            "SELECT sync_seq, sync_hash, sync_n, dirty FROM records WHERE collection = ?1 AND rid = ?2",
        )?
        .query_row(params![collection, &rid[..]], |r| {
            Ok((SyncPoint::from_sql(r, 0)?, r.get::<_, bool>(3)?))
        })
        .optional()?)
}

/// Marks a pushed row as synced at `point`, unless it changed again since it was read (then only
/// its base moves, and it stays dirty).
pub(crate) fn mark_pushed(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
    revision: u64,
    point: &SyncPoint,
) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE records SET dirty = 0, sync_seq = ?4, sync_hash = ?5, sync_n = ?6
             WHERE collection = ?1 AND rid = ?2 AND revision = ?3",
        )?
        .execute(params![
            collection,
            &rid[..],
            revision as i64,
            point.seq as i64,
            point.hash.as_ref().map(|h| &h[..]),
            point.n as i64
        ])?;
    if n == 0 {
        set_sync_point(conn, collection, rid, point)?;
    }
    Ok(())
}

/// Sets the server version a row is based on.
pub(crate) fn set_sync_point(
    conn: &Connection,
    collection: &str,
    rid: &[u8; 16],
    point: &SyncPoint,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE records SET sync_seq = ?3, sync_hash = ?4, sync_n = ?5 WHERE collection = ?1 AND rid = ?2",
    )?
    .execute(params![
        collection,
        &rid[..],
        point.seq as i64,
        point.hash.as_ref().map(|h| &h[..]),
        point.n as i64
    ])?;
    Ok(())
}

/// Stores a row exactly as it came from the server, with its tag: synced at `point`, not dirty.
pub(crate) fn put_synced_row(
    conn: &Connection,
    row: &Row,
    point: &SyncPoint,
    tag: &[u8],
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO records (collection, rid, id_box, classification, key_id, body, revision, device, version, deleted,
                              sync_seq, sync_hash, sync_n, tag, dirty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0)
         ON CONFLICT (collection, rid) DO UPDATE SET id_box = ?3, classification = ?4, key_id = ?5, body = ?6,
             revision = ?7, device = ?8, version = ?9, deleted = ?10, sync_seq = ?11, sync_hash = ?12,
             sync_n = ?13, tag = ?14, dirty = 0",
    )?;
    let (seq, n) = (point.seq as i64, point.n as i64);
    let hash = point.hash.as_ref().map(|h| &h[..]);
    execute_row(&mut stmt, row, &[&seq, &hash, &n, &tag])?;
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
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO sync_base ({ROW_COLUMNS}, sync_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?;
    let seq = seq as i64;
    execute_row(&mut stmt, row, &[&seq])?;
    Ok(())
}

/// Record and version rows sealed under an epoch other than `current` (the work of a rotation).
pub(crate) fn count_not_under(conn: &Connection, current: u32) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM records WHERE key_id < ?1 OR key_id > ?1) + (SELECT COUNT(*) FROM versions WHERE key_id < ?1 OR key_id > ?1)",
        [current],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Marks every record for push (after a rotation resealed them under a new epoch).
pub(crate) fn mark_all_dirty(conn: &Connection) -> Result<()> {
    conn.execute("UPDATE records SET dirty = 1 WHERE dirty = 0", [])?;
    Ok(())
}

/// Forgets the server: the sync configuration and position in `meta`, every record's server
/// sequence (everything is new to whatever server comes next) and the common ancestors.
pub(crate) fn forget_sync(conn: &Connection) -> Result<()> {
    for key in [
        super::SYNC_CONFIG,
        super::SYNC_BUNDLE_HASH,
        super::SYNC_BUNDLE_SEQ,
        super::SYNC_TREE,
        super::SYNC_CHECKPOINT,
        super::SYNC_CERTIFIED,
        super::SYNC_DEVICE_KEY,
        super::SYNC_PULLED_SEQ,
        super::SYNC_PULLED_HASH,
        super::SYNC_LAST_SYNC,
    ] {
        conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    }
    conn.execute(
        "UPDATE records SET sync_seq = 0, sync_hash = NULL, sync_n = 0, dirty = 1
         WHERE dirty = 0 OR sync_seq != 0",
        [],
    )?;
    conn.execute("DELETE FROM sync_base", [])?;
    conn.execute("DELETE FROM sync_superseded", [])?;
    super::forget_peers(conn)?;
    Ok(())
}

/// A change pulled without its contents (superseded, says the server) whose superseding change
/// is still to come.
pub(crate) fn note_superseded(
    conn: &Connection,
    rid: &[u8; 16],
    seq: u64,
    hash: &[u8; 32],
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sync_superseded (rid, seq, hash) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![&rid[..], seq as i64, &hash[..]])?;
    Ok(())
}

/// The superseded change of `rid` still waiting for its successor, if any.
pub(crate) fn superseded_of(conn: &Connection, rid: &[u8; 16]) -> Result<Option<(u64, [u8; 32])>> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM sync_superseded WHERE rid = ?1")?
        .query_row([&rid[..]], |r| {
            let hash: Vec<u8> = r.get(1)?;
            Ok((
                r.get::<_, i64>(0)? as u64,
                <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0; 32]),
            ))
        })
        .optional()?)
}

/// Its successor arrived.
pub(crate) fn clear_superseded(conn: &Connection, rid: &[u8; 16]) -> Result<()> {
    conn.prepare_cached("DELETE FROM sync_superseded WHERE rid = ?1")?
        .execute([&rid[..]])?;
    Ok(())
}

/// The sequence numbers of the superseded changes still waiting for a successor (at most `limit`),
/// and how many there are.
pub(crate) fn superseded_waiting(conn: &Connection, limit: usize) -> Result<(Vec<u64>, u64)> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM sync_superseded", [], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached("SELECT seq FROM sync_superseded ORDER BY seq LIMIT ?1")?;
    let seqs = stmt
        .query_map([limit as i64], |r| r.get::<_, i64>(0).map(|s| s as u64))?
        .collect::<rusqlite::Result<_>>()?;
    Ok((seqs, count as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "{}{}",
            super::super::MIGRATIONS.concat(),
            super::super::layout::SWAP
        ))
        .unwrap();
        conn
    }

    fn row(collection: &str, n: u8, revision: u64, deleted: bool) -> Row {
        Row {
            collection: collection.into(),
            rid: [n; 16],
            id_box: vec![n],
            classification: 1,
            key_id: 1,
            body: Some(vec![n]),
            revision,
            device: "d".into(),
            version: 1,
            deleted,
        }
    }

    /// Every page of `limit`, as (rid byte, revision).
    fn pages(conn: &Connection, limit: usize, matching: Option<&[[u8; 16]]>) -> Vec<(u8, u64)> {
        let (mut out, mut after) = (Vec::new(), ListPos::default());
        loop {
            let page = match matching {
                None => rows_page(conn, "notes", after, limit).unwrap(),
                Some(t) => rows_page_matching(conn, "notes", "tag", t, after, limit).unwrap(),
            };
            let Some((_, last)) = page.last() else {
                return out;
            };
            after = *last;
            out.extend(page.iter().map(|(r, _)| (r.rid[0], r.revision)));
        }
    }

    #[test]
    fn pages_follow_revision_then_rowid_and_skip_tombstones_and_other_collections() {
        let conn = store();
        for (n, revision, deleted) in [(1, 5, false), (2, 3, false), (3, 5, false), (4, 9, true)] {
            put_row(&conn, &row("notes", n, revision, deleted), b"t").unwrap();
        }
        put_row(&conn, &row("other", 5, 4, false), b"t").unwrap();
        put_row(&conn, &row("notes", 6, 5, false), b"t").unwrap();
        let expected = [(2, 3), (1, 5), (3, 5), (6, 5)];
        for limit in [1, 2, 3, 10] {
            assert_eq!(pages(&conn, limit, None), expected, "limit {limit}");
        }
        // Through the blind index: only the rows holding one of the tokens.
        for (n, token) in [(1u8, [7u8; 16]), (3, [8; 16]), (6, [9; 16]), (4, [7; 16])] {
            super::super::set_index(&conn, "notes", &[n; 16], &[("tag", token)]).unwrap();
        }
        for limit in [1, 2, 5] {
            assert_eq!(
                pages(&conn, limit, Some(&[[7; 16], [9; 16]])),
                [(1, 5), (6, 5)],
                "limit {limit}"
            );
        }
    }
}
