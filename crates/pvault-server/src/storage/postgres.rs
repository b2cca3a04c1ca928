//! The PostgreSQL backend, for several server instances on one database. A push locks its account's
//! row (`SELECT … FOR UPDATE`), so pushes to one account are serialized across instances while
//! different accounts proceed in parallel; its announcement is sent with `pg_notify` in the same
//! transaction, so it reaches the other instances exactly when the push commits.

use std::collections::HashMap;
use std::time::Duration;

use pvault_proto::api::DeviceInfo;
use pvault_proto::batch::{Change, PullPage, PushRequest, PushResult, RemoteRecord};
use pvault_proto::chain::ChainHead;
use pvault_proto::{AccountId, DeviceId, Rid};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Row, SqlSafeStr};

use super::{
    AccountRow, BundleRow, BundleUpdate, ChangeRow, Current, DeviceKey, NewAccount, NewDeviceRow,
    Storage, absent, fixed, page_cut, plan_push, to_i64, to_u64,
};
use crate::error::Error;
use crate::notify::PG_CHANNEL;

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        include_str!("../../migrations/postgres/0001_initial.sql").into_sql_str(),
        false,
    )])
}

/// Accounts in a PostgreSQL database.
#[derive(Clone)]
pub(crate) struct PgStorage {
    pool: PgPool,
}

impl PgStorage {
    /// Connects and migrates (instances starting together take turns on the migration lock).
    pub async fn open(url: &str) -> Result<PgStorage, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Duration::from_secs(60))
            .connect(url)
            .await?;
        migrator().run(&pool).await?;
        Ok(PgStorage { pool })
    }

    /// The pool, for the notification listener.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn ids(rids: impl Iterator<Item = Rid>) -> Vec<Vec<u8>> {
    rids.map(|r| r.to_vec()).collect()
}

impl Storage for PgStorage {
    async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(&self, new: NewAccount) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let genesis = ChainHead::genesis(&new.account_id);
        let inserted = sqlx::query(
            "INSERT INTO accounts (account_id, username, account_key, kdf, bundle, bundle_version,
                                   head_seq, head_hash, record_count, created_at)
             VALUES ($1, $2, $3, $4, $5, 1, 0, $6, 0, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&new.account_id[..])
        .bind(&new.username)
        .bind(&new.account_key[..])
        .bind(&new.kdf)
        .bind(&new.bundle)
        .bind(&genesis.hash[..])
        .bind(to_i64(new.now))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            let taken = sqlx::query("SELECT 1 FROM accounts WHERE username = $1")
                .bind(&new.username)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(if taken.is_some() {
                Error::UsernameTaken
            } else {
                Error::AccountExists
            });
        }
        sqlx::query(
            "INSERT INTO devices (account_id, device_id, device_key, name, created_at, last_seen)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&new.account_id[..])
        .bind(&new.device.device_id[..])
        .bind(&new.device.device_key[..])
        .bind(&new.device.name)
        .bind(to_i64(new.now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_username(
        &self,
        username: &str,
    ) -> Result<Option<(AccountId, [u8; 32], String)>, Error> {
        let row =
            sqlx::query("SELECT account_id, account_key, kdf FROM accounts WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((fixed(r.try_get(0)?)?, fixed(r.try_get(1)?)?, r.try_get(2)?)))
            .transpose()
    }

    async fn add_device(
        &self,
        account: AccountId,
        device: NewDeviceRow,
        now: u64,
    ) -> Result<(), Error> {
        let inserted = sqlx::query(
            "INSERT INTO devices (account_id, device_id, device_key, name, created_at, last_seen)
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&account[..])
        .bind(&device.device_id[..])
        .bind(&device.device_key[..])
        .bind(&device.name)
        .bind(to_i64(now))
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() > 0 {
            return Ok(());
        }
        // A retried join is fine; another key, or a revoked device, is not.
        let same: Option<bool> = sqlx::query_scalar(
            "SELECT device_key = $3 AND NOT revoked FROM devices WHERE account_id = $1 AND device_id = $2",
        )
        .bind(&account[..])
        .bind(&device.device_id[..])
        .bind(&device.device_key[..])
        .fetch_optional(&self.pool)
        .await?;
        if same == Some(true) {
            Ok(())
        } else {
            Err(Error::DeviceExists)
        }
    }

    async fn device_keys(&self, device: DeviceId) -> Result<Vec<DeviceKey>, Error> {
        let rows =
            sqlx::query("SELECT account_id, device_key, revoked FROM devices WHERE device_id = $1")
                .bind(&device[..])
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DeviceKey {
                    account_id: fixed(r.try_get(0)?)?,
                    key: fixed(r.try_get(1)?)?,
                    revoked: r.try_get(2)?,
                })
            })
            .collect()
    }

    async fn accept_nonce(
        &self,
        account: Option<AccountId>,
        device: DeviceId,
        nonce: [u8; 16],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&device[..])
        .bind(&nonce[..])
        .bind(to_i64(expires_at))
        .execute(&mut *tx)
        .await?;
        if fresh.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(account) = account {
            sqlx::query(
                "UPDATE devices SET last_seen = $1 WHERE account_id = $2 AND device_id = $3 AND last_seen < $1",
            )
            .bind(to_i64(now))
            .bind(&account[..])
            .bind(&device[..])
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn purge_nonces(&self, now: u64) -> Result<u64, Error> {
        let r = sqlx::query("DELETE FROM nonces WHERE expires_at < $1")
            .bind(to_i64(now))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn account(&self, account: AccountId) -> Result<Option<AccountRow>, Error> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let Some(row) = sqlx::query(
            "SELECT username, head_seq, bundle_version, record_count FROM accounts WHERE account_id = $1",
        )
        .bind(&account[..])
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let devices = sqlx::query(
            "SELECT device_id, name, created_at, last_seen, revoked FROM devices
             WHERE account_id = $1 ORDER BY created_at, device_id",
        )
        .bind(&account[..])
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let devices = devices
            .into_iter()
            .map(|d| {
                Ok(DeviceInfo {
                    device_id: hex::encode(d.try_get::<Vec<u8>, _>(0)?),
                    name: d.try_get(1)?,
                    created_at: to_u64(d.try_get(2)?),
                    last_seen: to_u64(d.try_get(3)?),
                    revoked: d.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Some(AccountRow {
            account_id: account,
            username: row.try_get(0)?,
            head_seq: to_u64(row.try_get(1)?),
            bundle_version: to_u64(row.try_get(2)?),
            records: to_u64(row.try_get(3)?),
            devices,
        }))
    }

    async fn bundle(&self, account: AccountId) -> Result<Option<BundleRow>, Error> {
        let row =
            sqlx::query("SELECT bundle_version, kdf, bundle FROM accounts WHERE account_id = $1")
                .bind(&account[..])
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(BundleRow {
                version: to_u64(r.try_get(0)?),
                kdf: r.try_get(1)?,
                bundle: r.try_get(2)?,
            })
        })
        .transpose()
    }

    async fn put_bundle(
        &self,
        account: AccountId,
        update: BundleUpdate,
    ) -> Result<BundleRow, Error> {
        let mut tx = self.pool.begin().await?;
        let current: i64 = sqlx::query_scalar(
            "SELECT bundle_version FROM accounts WHERE account_id = $1 FOR UPDATE",
        )
        .bind(&account[..])
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::UnknownAccount)?;
        let current = to_u64(current);
        if current != update.expected_version {
            return Err(Error::BundleConflict { current });
        }
        let version = current + 1;
        sqlx::query(
            "UPDATE accounts SET bundle_version = $1, kdf = $2, bundle = $3,
                                 account_key = COALESCE($4, account_key)
             WHERE account_id = $5",
        )
        .bind(to_i64(version))
        .bind(&update.kdf)
        .bind(&update.bundle)
        .bind(update.account_key.as_ref().map(|k| &k[..]))
        .bind(&account[..])
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(BundleRow {
            version,
            kdf: update.kdf,
            bundle: update.bundle,
        })
    }

    async fn revoke_device(&self, account: AccountId, device: DeviceId) -> Result<(), Error> {
        let r = sqlx::query(
            "UPDATE devices SET revoked = TRUE WHERE account_id = $1 AND device_id = $2",
        )
        .bind(&account[..])
        .bind(&device[..])
        .execute(&self.pool)
        .await?;
        if r.rows_affected() > 0 {
            Ok(())
        } else {
            Err(Error::NoSuchDevice)
        }
    }

    async fn push(
        &self,
        account: AccountId,
        request: PushRequest,
        max_records: u64,
    ) -> Result<PushResult, Error> {
        let mut tx = self.pool.begin().await?;
        // The row lock serializes pushes to this account across every instance.
        let row = sqlx::query(
            "SELECT head_seq, head_hash, record_count FROM accounts WHERE account_id = $1 FOR UPDATE",
        )
        .bind(&account[..])
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::UnknownAccount)?;
        let head = ChainHead {
            seq: to_u64(row.try_get(0)?),
            hash: fixed(row.try_get(1)?)?,
        };
        let live = to_u64(row.try_get(2)?);

        let rows = sqlx::query(
            "SELECT rid, seq, tombstone FROM records WHERE account_id = $1 AND rid = ANY($2)",
        )
        .bind(&account[..])
        .bind(ids(request.items.iter().map(|i| i.rid)))
        .fetch_all(&mut *tx)
        .await?;
        let mut current = HashMap::with_capacity(rows.len());
        for r in rows {
            current.insert(
                fixed(r.try_get(0)?)?,
                Current {
                    seq: to_u64(r.try_get(1)?),
                    tombstone: r.try_get(2)?,
                },
            );
        }
        let plan = plan_push(head, live, &request.items, &current, max_records)?;

        let mut conflicts = Vec::with_capacity(plan.conflicts.len());
        if !plan.conflicts.is_empty() {
            let rows = sqlx::query(
                "SELECT rid, seq, tombstone, blob FROM records WHERE account_id = $1 AND rid = ANY($2)",
            )
            .bind(&account[..])
            .bind(ids(plan.conflicts.iter().map(|&i| request.items[i].rid)))
            .fetch_all(&mut *tx)
            .await?;
            let mut found = HashMap::with_capacity(rows.len());
            for r in rows {
                let rid: Rid = fixed(r.try_get(0)?)?;
                found.insert(
                    rid,
                    RemoteRecord {
                        rid,
                        seq: to_u64(r.try_get(1)?),
                        tombstone: r.try_get(2)?,
                        blob: r.try_get(3)?,
                    },
                );
            }
            for &i in &plan.conflicts {
                let rid = request.items[i].rid;
                conflicts.push(found.remove(&rid).unwrap_or_else(|| absent(rid)));
            }
        }

        if !plan.apply.is_empty() {
            let items = || plan.apply.iter().map(|a| &request.items[a.item]);
            let rids: Vec<&[u8]> = items().map(|i| &i.rid[..]).collect();
            let seqs: Vec<i64> = plan.apply.iter().map(|a| to_i64(a.seq)).collect();
            let tombstones: Vec<bool> = items().map(|i| i.tombstone).collect();
            let blobs: Vec<&[u8]> = items().map(|i| &i.blob[..]).collect();
            let blob_hashes: Vec<&[u8]> = plan.apply.iter().map(|a| &a.blob_hash[..]).collect();
            let chain_hashes: Vec<&[u8]> = plan.apply.iter().map(|a| &a.chain_hash[..]).collect();
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
            .execute(&mut *tx)
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
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE accounts SET head_seq = $1, head_hash = $2, record_count = $3 WHERE account_id = $4",
            )
            .bind(to_i64(plan.head.seq))
            .bind(&plan.head.hash[..])
            .bind(to_i64(plan.live))
            .bind(&account[..])
            .execute(&mut *tx)
            .await?;
            // Delivered to every listening instance when (and only if) the transaction commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(PG_CHANNEL)
                .bind(crate::notify::payload(&account, plan.head.seq))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(PushResult {
            head: plan.head,
            applied: plan
                .apply
                .iter()
                .map(|a| (request.items[a.item].rid, a.seq))
                .collect(),
            conflicts,
        })
    }

    async fn pull(&self, account: AccountId, since: u64, limit: u64) -> Result<PullPage, Error> {
        // One snapshot of the head, the log and the records.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let row = sqlx::query("SELECT head_seq, head_hash FROM accounts WHERE account_id = $1")
            .bind(&account[..])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::UnknownAccount)?;
        let head = ChainHead {
            seq: to_u64(row.try_get(0)?),
            hash: fixed(row.try_get(1)?)?,
        };
        if since > head.seq {
            return Err(Error::SinceAhead {
                since,
                head: head.seq,
            });
        }
        let rows = sqlx::query(
            "SELECT c.seq, c.rid, c.tombstone, c.blob_hash, c.chain_hash,
                    CASE WHEN r.seq = c.seq THEN octet_length(r.blob)::bigint END
             FROM changes c LEFT JOIN records r ON r.account_id = c.account_id AND r.rid = c.rid
             WHERE c.account_id = $1 AND c.seq > $2
             ORDER BY c.seq LIMIT $3",
        )
        .bind(&account[..])
        .bind(to_i64(since))
        .bind(to_i64(limit.saturating_add(1)))
        .fetch_all(&mut *tx)
        .await?;
        let rows = rows
            .into_iter()
            .map(|r| {
                Ok(ChangeRow {
                    seq: to_u64(r.try_get(0)?),
                    rid: fixed(r.try_get(1)?)?,
                    tombstone: r.try_get(2)?,
                    blob_hash: fixed(r.try_get(3)?)?,
                    chain_hash: fixed(r.try_get(4)?)?,
                    current_len: r.try_get::<Option<i64>, _>(5)?.map(to_u64),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let (n, more) = page_cut(&rows, usize::try_from(limit).unwrap_or(usize::MAX));
        let rows = &rows[..n];
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
            .fetch_all(&mut *tx)
            .await?;
            for r in found {
                blobs.insert(fixed::<16>(r.try_get(0)?)?, r.try_get::<Vec<u8>, _>(1)?);
            }
        }
        tx.commit().await?;
        let changes = rows
            .iter()
            .map(|r| Change {
                seq: r.seq,
                rid: r.rid,
                tombstone: r.tombstone,
                blob_hash: r.blob_hash,
                blob: r.current_len.and_then(|_| blobs.remove(&r.rid)),
            })
            .collect();
        let end = rows.last().map_or(head, |r| ChainHead {
            seq: r.seq,
            hash: r.chain_hash,
        });
        Ok(PullPage {
            since,
            changes,
            end,
            more,
        })
    }

    async fn head_seq(&self, account: AccountId) -> Result<Option<u64>, Error> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT head_seq FROM accounts WHERE account_id = $1")
                .bind(&account[..])
                .fetch_optional(&self.pool)
                .await?;
        Ok(seq.map(to_u64))
    }
}
