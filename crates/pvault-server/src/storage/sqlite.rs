//! The SQLite backend: one database file, `server.db`, in the data directory (WAL, `synchronous=FULL`:
//! a push is on disk before it is acknowledged). Writers take the write lock up front
//! (`BEGIN IMMEDIATE`), so a push reads and changes the log with no other writer in between.
//!
//! The queries are [`super::sql`]'s; here are the pool, the migrations, the transactions, and the
//! bulk statements of a push, a pull page and the tree's nodes, which SQLite writes as multi-row
//! `IN (…)` and `VALUES …` lists, at most [`CHUNK`] rows a statement.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use pvault_proto::batch::{Change, PushItem, RemoteRecord};
use pvault_proto::merkle::Hash;
use pvault_proto::{AccountId, Rid};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::rows::{corrupt, current, fixed, remote_record, to_i64, to_u64};
use super::sql::{Dialect, SqlStorage, migrator};
use super::tree::{NodeKey, Nodes};
use super::{Apply, ChangeRow, Current, absent};
use crate::error::Error;

/// Rows per multi-row statement (SQLite allows 32,766 bound values; at most 6 per row here).
const CHUNK: usize = 500;

/// The database file in the data directory.
pub const DB_FILE: &str = "server.db";

/// Accounts in a SQLite database.
pub(crate) type SqliteStorage = SqlStorage<Sqlite>;

impl SqlStorage<Sqlite> {
    /// Opens (creating if needed, 0700 directory and 0600 file) `data_dir/server.db` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<SqliteStorage, Error> {
        let dir_err = |source| Error::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(dir_err)?;
        let file = data_dir.join(DB_FILE);
        // SQLite gives the -wal and -shm files the database file's permissions.
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&file)
            .map_err(dir_err)?;
        let options = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        migrator(
            include_str!("../../migrations/sqlite/0001_initial.sql"),
            include_str!("../../migrations/sqlite/0002_tree.sql"),
        )
        .run(&pool)
        .await?;
        Ok(SqlStorage { pool })
    }
}

impl Dialect for Sqlite {
    // BEGIN IMMEDIATE holds the database's write lock: nothing else changes an account meanwhile.
    const LOCKS_ROWS: bool = false;

    async fn write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, Error> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A deferred transaction: in WAL mode, its first read fixes the snapshot.
    async fn snapshot(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, Error> {
        Ok(pool.begin().await?)
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn current(
        conn: &mut SqliteConnection,
        account: &AccountId,
        items: &[PushItem],
    ) -> Result<HashMap<Rid, Current>, Error> {
        // One query per chunk of keys, not one per item: the cost of a push is a few statements.
        let mut versions = HashMap::with_capacity(items.len());
        for chunk in items.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT rid, seq, tombstone FROM records WHERE account_id = ",
            );
            q.push_bind(&account[..]).push(" AND rid IN (");
            let mut keys = q.separated(", ");
            for item in chunk {
                keys.push_bind(&item.rid[..]);
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *conn).await? {
                let (rid, version) = current(&r)?;
                versions.insert(rid, version);
            }
        }
        Ok(versions)
    }

    async fn remote_records(
        conn: &mut SqliteConnection,
        account: &AccountId,
        rids: &[Rid],
    ) -> Result<Vec<RemoteRecord>, Error> {
        let mut records = Vec::with_capacity(rids.len());
        for &rid in rids {
            let row = sqlx::query(
                "SELECT rid, seq, tombstone, blob FROM records WHERE account_id = $1 AND rid = $2",
            )
            .bind(&account[..])
            .bind(&rid[..])
            .fetch_optional(&mut *conn)
            .await?;
            records.push(match row {
                None => absent(rid),
                Some(r) => remote_record(&r)?,
            });
        }
        Ok(records)
    }

    async fn apply(
        conn: &mut SqliteConnection,
        account: &AccountId,
        items: &[PushItem],
        apply: &[Apply],
    ) -> Result<(), Error> {
        for chunk in apply.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO records (account_id, rid, seq, tombstone, blob) ",
            );
            q.push_values(chunk, |mut b, a| {
                let item = &items[a.item];
                b.push_bind(&account[..])
                    .push_bind(&item.rid[..])
                    .push_bind(to_i64(a.seq))
                    .push_bind(item.tombstone)
                    .push_bind(&item.blob[..]);
            });
            q.push(
                " ON CONFLICT (account_id, rid) DO UPDATE
                 SET seq = excluded.seq, tombstone = excluded.tombstone, blob = excluded.blob",
            );
            q.build().execute(&mut *conn).await?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO changes (account_id, seq, rid, tombstone, blob_hash, chain_hash) ",
            );
            q.push_values(chunk, |mut b, a| {
                let item = &items[a.item];
                b.push_bind(&account[..])
                    .push_bind(to_i64(a.seq))
                    .push_bind(&item.rid[..])
                    .push_bind(item.tombstone)
                    .push_bind(&a.blob_hash[..])
                    .push_bind(&a.chain_hash[..]);
            });
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Nothing: only this instance uses the file, and the caller announces to it.
    async fn announce(_: &mut SqliteConnection, _: &AccountId, _: u64) -> Result<(), Error> {
        Ok(())
    }

    async fn page_changes(
        conn: &mut SqliteConnection,
        account: &AccountId,
        since: u64,
        rows: &[ChangeRow],
    ) -> Result<Vec<Change>, Error> {
        // The blobs of the page's current versions, in one query.
        let mut blobs: HashMap<u64, Vec<u8>> = HashMap::new();
        if let Some(last) = rows.last() {
            let found = sqlx::query(
                "SELECT c.seq, r.blob FROM changes c
                 JOIN records r ON r.account_id = c.account_id AND r.rid = c.rid AND r.seq = c.seq
                 WHERE c.account_id = $1 AND c.seq > $2 AND c.seq <= $3",
            )
            .bind(&account[..])
            .bind(to_i64(since))
            .bind(to_i64(last.seq))
            .fetch_all(&mut *conn)
            .await?;
            for r in found {
                blobs.insert(to_u64(r.try_get(0)?), r.try_get(1)?);
            }
        }
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            let blob = match row.current_len {
                Some(_) => Some(
                    blobs
                        .remove(&row.seq)
                        .ok_or_else(|| Error::Database(sqlx::Error::RowNotFound))?,
                ),
                None => None,
            };
            changes.push(Change {
                seq: row.seq,
                rid: row.rid,
                tombstone: row.tombstone,
                blob_hash: row.blob_hash,
                blob,
            });
        }
        Ok(changes)
    }

    async fn nodes(
        conn: &mut SqliteConnection,
        account: &AccountId,
        keys: &[NodeKey],
    ) -> Result<Nodes, Error> {
        let mut nodes = Nodes::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT level, idx, hash FROM tree_nodes WHERE account_id = ",
            );
            q.push_bind(&account[..])
                .push(" AND (level, idx) IN (VALUES ");
            for (i, &(level, idx)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" })
                    .push_bind(i64::from(level))
                    .push(", ")
                    .push_bind(to_i64(idx))
                    .push(")");
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *conn).await? {
                let level = u8::try_from(r.try_get::<i64, _>(0)?)
                    .map_err(|_| corrupt("a tree node's level is out of range"))?;
                nodes.insert((level, to_u64(r.try_get(1)?)), fixed(r.try_get(2)?)?);
            }
        }
        Ok(nodes)
    }

    async fn insert_nodes(
        conn: &mut SqliteConnection,
        account: &AccountId,
        nodes: &[(u8, u64, Hash)],
    ) -> Result<(), Error> {
        for chunk in nodes.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO tree_nodes (account_id, level, idx, hash) ",
            );
            q.push_values(chunk, |mut b, (level, idx, hash)| {
                b.push_bind(&account[..])
                    .push_bind(i64::from(*level))
                    .push_bind(to_i64(*idx))
                    .push_bind(&hash[..]);
            });
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}
