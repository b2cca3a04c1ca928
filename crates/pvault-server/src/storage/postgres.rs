//! The PostgreSQL backend, for several server instances on one database. A push locks its account's
//! row (`SELECT … FOR UPDATE`), so pushes to one account are serialized across instances while
//! different accounts proceed in parallel; its announcement is sent with `pg_notify` in the same
//! transaction, so it reaches the other instances exactly when the push commits.
//!
//! The queries are [`super::sql`]'s; here are the pool, the migrations, the transactions, and the
//! bulk statements of a push, a pull page and the tree's nodes, which PostgreSQL takes as arrays
//! (`ANY`, `UNNEST`), one statement each whatever the number of records.

use std::collections::HashMap;
use std::time::Duration;

use pvault_proto::batch::{Change, PushItem, RemoteRecord};
use pvault_proto::merkle::Hash;
use pvault_proto::{AccountId, Rid};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Postgres, Row, Transaction};

use super::rows::{corrupt, current, fixed, remote_record, to_i64, to_u64};
use super::sql::{Dialect, SqlStorage, migrator};
use super::tree::{NodeKey, Nodes};
use super::{Apply, ChangeRow, Current, absent};
use crate::error::Error;

/// Accounts in a PostgreSQL database.
pub(crate) type PgStorage = SqlStorage<Postgres>;

impl SqlStorage<Postgres> {
    /// Connects and migrates (instances starting together take turns on the migration lock).
    pub async fn open(url: &str) -> Result<PgStorage, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Duration::from_secs(60))
            .connect(url)
            .await?;
        migrator(
            include_str!("../../migrations/postgres/0001_initial.sql"),
            include_str!("../../migrations/postgres/0002_tree.sql"),
        )
        .run(&pool)
        .await?;
        Ok(SqlStorage { pool })
    }

    /// The pool, for the notification listener.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The notification channel on which every instance hears the others' pushes.
pub(crate) const PG_CHANNEL: &str = "pvault_announce";

/// The payload of a notification: the account in hex, `:`, the head's sequence number.
pub(crate) fn payload(account: &AccountId, seq: u64) -> String {
    format!("{}:{seq}", hex::encode(account))
}

/// The account and sequence number of a notification's payload (`None` when it is not one).
pub(crate) fn parse_payload(s: &str) -> Option<(AccountId, u64)> {
    let (account, seq) = s.split_once(':')?;
    Some((
        pvault_proto::parse_id16("account", account).ok()?,
        seq.parse().ok()?,
    ))
}

fn ids(rids: impl Iterator<Item = Rid>) -> Vec<Vec<u8>> {
    rids.map(|r| r.to_vec()).collect()
}

impl Dialect for Postgres {
    // Pushes to one account, from any instance, take turns on its row.
    const LOCKS_ROWS: bool = true;

    async fn write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, Error> {
        Ok(pool.begin().await?)
    }

    async fn snapshot(pool: &PgPool) -> Result<Transaction<'static, Postgres>, Error> {
        Ok(pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn current(
        conn: &mut PgConnection,
        account: &AccountId,
        items: &[PushItem],
    ) -> Result<HashMap<Rid, Current>, Error> {
        let rows = sqlx::query(
            "SELECT rid, seq, tombstone FROM records WHERE account_id = $1 AND rid = ANY($2)",
        )
        .bind(&account[..])
        .bind(ids(items.iter().map(|i| i.rid)))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(current).collect()
    }

    async fn remote_records(
        conn: &mut PgConnection,
        account: &AccountId,
        rids: &[Rid],
    ) -> Result<Vec<RemoteRecord>, Error> {
        if rids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT rid, seq, tombstone, blob FROM records WHERE account_id = $1 AND rid = ANY($2)",
        )
        .bind(&account[..])
        .bind(ids(rids.iter().copied()))
        .fetch_all(&mut *conn)
        .await?;
        let mut found = HashMap::with_capacity(rows.len());
        for r in rows {
            let record = remote_record(&r)?;
            found.insert(record.rid, record);
        }
        Ok(rids
            .iter()
            .map(|&rid| found.remove(&rid).unwrap_or_else(|| absent(rid)))
            .collect())
    }

    async fn apply(
        conn: &mut PgConnection,
        account: &AccountId,
        items: &[PushItem],
        apply: &[Apply],
    ) -> Result<(), Error> {
        let applied = || apply.iter().map(|a| &items[a.item]);
        let rids: Vec<&[u8]> = applied().map(|i| &i.rid[..]).collect();
        let seqs: Vec<i64> = apply.iter().map(|a| to_i64(a.seq)).collect();
        let tombstones: Vec<bool> = applied().map(|i| i.tombstone).collect();
        let blobs: Vec<&[u8]> = applied().map(|i| &i.blob[..]).collect();
        let blob_hashes: Vec<&[u8]> = apply.iter().map(|a| &a.blob_hash[..]).collect();
        let chain_hashes: Vec<&[u8]> = apply.iter().map(|a| &a.chain_hash[..]).collect();
        sqlx::query(
            "INSERT INTO records (account_id, rid, seq, tombstone, blob)
             SELECT $1, * FROM UNNEST($2::bytea[], $3::bigint[], $4::boolean[], $5::bytea[])
             ON CONFLICT (account_id, rid) DO UPDATE
             SET seq = EXCLUDED.seq, tombstone = EXCLUDED.tombstone, blob = EXCLUDED.blob",
        )
        .bind(&account[..])
        .bind(&rids)
        .bind(&seqs)
        .bind(&tombstones)
        .bind(&blobs)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO changes (account_id, seq, rid, tombstone, blob_hash, chain_hash)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[], $4::boolean[], $5::bytea[], $6::bytea[])",
        )
        .bind(&account[..])
        .bind(&seqs)
        .bind(&rids)
        .bind(&tombstones)
        .bind(&blob_hashes)
        .bind(&chain_hashes)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Delivered to every listening instance when (and only if) the transaction commits.
    async fn announce(conn: &mut PgConnection, account: &AccountId, seq: u64) -> Result<(), Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(PG_CHANNEL)
            .bind(payload(account, seq))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn page_changes(
        conn: &mut PgConnection,
        account: &AccountId,
        _since: u64,
        rows: &[ChangeRow],
    ) -> Result<Vec<Change>, Error> {
        let wanted = ids(rows
            .iter()
            .filter(|r| r.current_len.is_some())
            .map(|r| r.rid));
        let mut blobs = HashMap::with_capacity(wanted.len());
        if !wanted.is_empty() {
            let found = sqlx::query(
                "SELECT rid, blob FROM records WHERE account_id = $1 AND rid = ANY($2)",
            )
            .bind(&account[..])
            .bind(&wanted)
            .fetch_all(&mut *conn)
            .await?;
            for r in found {
                blobs.insert(fixed::<16>(r.try_get(0)?)?, r.try_get::<Vec<u8>, _>(1)?);
            }
        }
        Ok(rows
            .iter()
            .map(|r| Change {
                seq: r.seq,
                rid: r.rid,
                tombstone: r.tombstone,
                blob_hash: r.blob_hash,
                blob: r.current_len.and_then(|_| blobs.remove(&r.rid)),
            })
            .collect())
    }

    async fn nodes(
        conn: &mut PgConnection,
        account: &AccountId,
        keys: &[NodeKey],
    ) -> Result<Nodes, Error> {
        let levels: Vec<i64> = keys.iter().map(|k| i64::from(k.0)).collect();
        let idxs: Vec<i64> = keys.iter().map(|k| to_i64(k.1)).collect();
        let rows = sqlx::query(
            "SELECT level, idx, hash FROM tree_nodes WHERE account_id = $1
             AND (level, idx) IN (SELECT * FROM UNNEST($2::bigint[], $3::bigint[]))",
        )
        .bind(&account[..])
        .bind(&levels)
        .bind(&idxs)
        .fetch_all(&mut *conn)
        .await?;
        let mut nodes = Nodes::with_capacity(rows.len());
        for r in rows {
            let level = u8::try_from(r.try_get::<i64, _>(0)?)
                .map_err(|_| corrupt("a tree node's level is out of range"))?;
            nodes.insert((level, to_u64(r.try_get(1)?)), fixed(r.try_get(2)?)?);
        }
        Ok(nodes)
    }

    async fn insert_nodes(
        conn: &mut PgConnection,
        account: &AccountId,
        nodes: &[(u8, u64, Hash)],
    ) -> Result<(), Error> {
        if nodes.is_empty() {
            return Ok(());
        }
        let levels: Vec<i64> = nodes.iter().map(|n| i64::from(n.0)).collect();
        let idxs: Vec<i64> = nodes.iter().map(|n| to_i64(n.1)).collect();
        let hashes: Vec<&[u8]> = nodes.iter().map(|n| &n.2[..]).collect();
        sqlx::query(
            "INSERT INTO tree_nodes (account_id, level, idx, hash)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bytea[])",
        )
        .bind(&account[..])
        .bind(&levels)
        .bind(&idxs)
        .bind(&hashes)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let p = payload(&[0xab; 16], 42);
        assert_eq!(p, format!("{}:42", "ab".repeat(16)));
        assert_eq!(parse_payload(&p), Some(([0xab; 16], 42)));
        assert_eq!(parse_payload("zz:1"), None);
        assert_eq!(parse_payload(&format!("{}:x", "ab".repeat(16))), None);
    }
}
