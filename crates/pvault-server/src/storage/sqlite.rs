//! The SQLite backend: one database file, `server.db`, in the data directory (WAL, `synchronous=FULL`:
//! a push is on disk before it is acknowledged). Writers take the write lock up front
//! (`BEGIN IMMEDIATE`), so a push reads and changes the log with no other writer in between.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use pvault_proto::api::DeviceInfo;
use pvault_proto::batch::{Change, PullPage, PushRequest, PushResult, RemoteRecord};
use pvault_proto::chain::ChainHead;
use pvault_proto::{AccountId, DeviceId, Rid};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr, Sqlite, Transaction};

use super::{
    AccountRow, BundleRow, BundleUpdate, ChangeRow, Current, DeviceKey, NewAccount, NewDeviceRow,
    Storage, absent, fixed, page_cut, plan_push, to_i64, to_u64,
};
use crate::error::Error;

/// Rows per multi-row statement (SQLite allows 32,766 bound values; at most 6 per row here).
const CHUNK: usize = 500;

/// The database file in the data directory.
pub const DB_FILE: &str = "server.db";

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        include_str!("../../migrations/sqlite/0001_initial.sql").into_sql_str(),
        false,
    )])
}

/// Accounts in a SQLite database.
#[derive(Clone)]
pub(crate) struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
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
        migrator().run(&pool).await?;
        Ok(SqliteStorage { pool })
    }

    async fn write(&self) -> Result<Transaction<'static, Sqlite>, Error> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Whether a statement changed a row.
fn changed(r: sqlx::sqlite::SqliteQueryResult) -> bool {
    r.rows_affected() > 0
}

impl Storage for SqliteStorage {
    async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(&self, new: NewAccount) -> Result<(), Error> {
        let mut tx = self.write().await?;
        let genesis = ChainHead::genesis(&new.account_id);
        let inserted = sqlx::query(
            "INSERT INTO accounts (account_id, username, account_key, kdf, bundle, bundle_version,
                                   head_seq, head_hash, record_count, created_at)
             VALUES (?, ?, ?, ?, ?, 1, 0, ?, 0, ?) ON CONFLICT DO NOTHING",
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
        if !changed(inserted) {
            let taken = sqlx::query("SELECT 1 FROM accounts WHERE username = ?")
                .bind(&new.username)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(if taken.is_some() {
                Error::UsernameTaken
            } else {
                Error::AccountExists
            });
        }
        insert_device(&mut tx, &new.account_id, &new.device, new.now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_username(
        &self,
        username: &str,
    ) -> Result<Option<(AccountId, [u8; 32], String)>, Error> {
        let row =
            sqlx::query("SELECT account_id, account_key, kdf FROM accounts WHERE username = ?")
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
        let mut tx = self.write().await?;
        let existing = sqlx::query(
            "SELECT device_key, revoked FROM devices WHERE account_id = ? AND device_id = ?",
        )
        .bind(&account[..])
        .bind(&device.device_id[..])
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            let key: Vec<u8> = row.try_get(0)?;
            let revoked: bool = row.try_get(1)?;
            // A retried join is fine; a revoked device stays revoked.
            return if key == device.device_key && !revoked {
                Ok(())
            } else {
                Err(Error::DeviceExists)
            };
        }
        insert_device(&mut tx, &account, &device, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn device_keys(&self, device: DeviceId) -> Result<Vec<DeviceKey>, Error> {
        let rows =
            sqlx::query("SELECT account_id, device_key, revoked FROM devices WHERE device_id = ?")
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
        let mut tx = self.write().await?;
        let fresh = sqlx::query(
            "INSERT INTO nonces (device_id, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&device[..])
        .bind(&nonce[..])
        .bind(to_i64(expires_at))
        .execute(&mut *tx)
        .await?;
        if !changed(fresh) {
            return Ok(false);
        }
        if let Some(account) = account {
            sqlx::query(
                "UPDATE devices SET last_seen = ? WHERE account_id = ? AND device_id = ? AND last_seen < ?",
            )
            .bind(to_i64(now))
            .bind(&account[..])
            .bind(&device[..])
            .bind(to_i64(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn purge_nonces(&self, now: u64) -> Result<u64, Error> {
        let r = sqlx::query("DELETE FROM nonces WHERE expires_at < ?")
            .bind(to_i64(now))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn account(&self, account: AccountId) -> Result<Option<AccountRow>, Error> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT username, head_seq, bundle_version, record_count FROM accounts WHERE account_id = ?",
        )
        .bind(&account[..])
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let devices = sqlx::query(
            "SELECT device_id, name, created_at, last_seen, revoked FROM devices
             WHERE account_id = ? ORDER BY created_at, device_id",
        )
        .bind(&account[..])
        .fetch_all(&mut *tx)
        .await?;
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
        tx.commit().await?;
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
            sqlx::query("SELECT bundle_version, kdf, bundle FROM accounts WHERE account_id = ?")
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
        let mut tx = self.write().await?;
        let current: i64 =
            sqlx::query_scalar("SELECT bundle_version FROM accounts WHERE account_id = ?")
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
            "UPDATE accounts SET bundle_version = ?, kdf = ?, bundle = ?,
                                 account_key = COALESCE(?, account_key)
             WHERE account_id = ?",
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
        let r =
            sqlx::query("UPDATE devices SET revoked = 1 WHERE account_id = ? AND device_id = ?")
                .bind(&account[..])
                .bind(&device[..])
                .execute(&self.pool)
                .await?;
        if changed(r) {
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
        // BEGIN IMMEDIATE holds the database's write lock: nothing else changes the account meanwhile.
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT head_seq, head_hash, record_count FROM accounts WHERE account_id = ?",
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

        // One query per chunk of keys, not one per item: the cost of a push is a few statements.
        let mut current = HashMap::with_capacity(request.items.len());
        for chunk in request.items.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT rid, seq, tombstone FROM records WHERE account_id = ",
            );
            q.push_bind(&account[..]).push(" AND rid IN (");
            let mut keys = q.separated(", ");
            for item in chunk {
                keys.push_bind(&item.rid[..]);
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *tx).await? {
                current.insert(
                    fixed(r.try_get(0)?)?,
                    Current {
                        seq: to_u64(r.try_get(1)?),
                        tombstone: r.try_get(2)?,
                    },
                );
            }
        }
        let plan = plan_push(head, live, &request.items, &current, max_records)?;

        let mut conflicts = Vec::with_capacity(plan.conflicts.len());
        for &i in &plan.conflicts {
            let rid = request.items[i].rid;
            conflicts.push(remote_record(&mut tx, &account, rid).await?);
        }
        for chunk in plan.apply.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO records (account_id, rid, seq, tombstone, blob) ",
            );
            q.push_values(chunk, |mut b, a| {
                let item = &request.items[a.item];
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
            q.build().execute(&mut *tx).await?;
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO changes (account_id, seq, rid, tombstone, blob_hash, chain_hash) ",
            );
            q.push_values(chunk, |mut b, a| {
                let item = &request.items[a.item];
                b.push_bind(&account[..])
                    .push_bind(to_i64(a.seq))
                    .push_bind(&item.rid[..])
                    .push_bind(item.tombstone)
                    .push_bind(&a.blob_hash[..])
                    .push_bind(&a.chain_hash[..]);
            });
            q.build().execute(&mut *tx).await?;
        }
        if !plan.apply.is_empty() {
            sqlx::query(
                "UPDATE accounts SET head_seq = ?, head_hash = ?, record_count = ? WHERE account_id = ?",
            )
            .bind(to_i64(plan.head.seq))
            .bind(&plan.head.hash[..])
            .bind(to_i64(plan.live))
            .bind(&account[..])
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
        // One read transaction: one snapshot of the log and the records.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT head_seq, head_hash FROM accounts WHERE account_id = ?")
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
                    CASE WHEN r.seq = c.seq THEN length(r.blob) END
             FROM changes c LEFT JOIN records r ON r.account_id = c.account_id AND r.rid = c.rid
             WHERE c.account_id = ? AND c.seq > ?
             ORDER BY c.seq LIMIT ?",
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
        // The blobs of the page's current versions, in one query.
        let mut blobs: HashMap<u64, Vec<u8>> = HashMap::new();
        if let Some(last) = rows[..n].last() {
            let found = sqlx::query(
                "SELECT c.seq, r.blob FROM changes c
                 JOIN records r ON r.account_id = c.account_id AND r.rid = c.rid AND r.seq = c.seq
                 WHERE c.account_id = ? AND c.seq > ? AND c.seq <= ?",
            )
            .bind(&account[..])
            .bind(to_i64(since))
            .bind(to_i64(last.seq))
            .fetch_all(&mut *tx)
            .await?;
            for r in found {
                blobs.insert(to_u64(r.try_get(0)?), r.try_get(1)?);
            }
        }
        let mut changes = Vec::with_capacity(n);
        for row in &rows[..n] {
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
        tx.commit().await?;
        let end = rows[..n].last().map_or(head, |r| ChainHead {
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
            sqlx::query_scalar("SELECT head_seq FROM accounts WHERE account_id = ?")
                .bind(&account[..])
                .fetch_optional(&self.pool)
                .await?;
        Ok(seq.map(to_u64))
    }
}

async fn insert_device(
    tx: &mut Transaction<'static, Sqlite>,
    account: &AccountId,
    device: &NewDeviceRow,
    now: u64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO devices (account_id, device_id, device_key, name, created_at, last_seen, revoked)
         VALUES (?, ?, ?, ?, ?, ?, 0)",
    )
    .bind(&account[..])
    .bind(&device.device_id[..])
    .bind(&device.device_key[..])
    .bind(&device.name)
    .bind(to_i64(now))
    .bind(to_i64(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The server's current version of a record, for a conflict.
async fn remote_record(
    tx: &mut Transaction<'static, Sqlite>,
    account: &AccountId,
    rid: Rid,
) -> Result<RemoteRecord, Error> {
    let row =
        sqlx::query("SELECT seq, tombstone, blob FROM records WHERE account_id = ? AND rid = ?")
            .bind(&account[..])
            .bind(&rid[..])
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        None => Ok(absent(rid)),
        Some(r) => Ok(RemoteRecord {
            rid,
            seq: to_u64(r.try_get(0)?),
            tombstone: r.try_get(1)?,
            blob: r.try_get(2)?,
        }),
    }
}
