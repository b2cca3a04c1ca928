//! The storage both backends share: every query written once, and [`Storage`] implemented once, by
//! [`SqlStorage`], over either database. sqlx takes `$N` placeholders on SQLite as on PostgreSQL,
//! and the two schemas have the same tables and columns, so what is left to each backend is what
//! really differs, behind [`Dialect`]: how a transaction begins (SQLite's writers take the database's
//! write lock up front; PostgreSQL's lock the account row they change with `FOR UPDATE`, and its
//! readers take a REPEATABLE READ snapshot), the bulk statements of a push and the blob fetch of a
//! pull page (multi-row `VALUES` in chunks on SQLite, arrays with `ANY` and `UNNEST` on PostgreSQL),
//! and the announcement to other instances (`pg_notify`, PostgreSQL only).

use std::collections::HashMap;
use std::future::Future;

use pvault_proto::api::DeviceInfo;
use pvault_proto::batch::{Change, PullPage, PushItem, PushRequest, PushResult, RemoteRecord};
use pvault_proto::chain::ChainHead;
use pvault_proto::{AccountId, DeviceId, Rid};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, SqlSafeStr,
    Transaction, Type,
};

use super::rows::{chain_head, fixed, to_i64, to_u64};
use super::{
    AccountRow, Apply, BundleRow, BundleUpdate, ChangeRow, Current, DeviceKey, NewAccount,
    NewDeviceRow, Storage, page_cut, plan_push,
};
use crate::error::Error;

/// A query that reads a row its transaction is about to change, as each backend runs it: with
/// `FOR UPDATE` where [`Dialect::LOCKS_ROWS`], as it is elsewhere.
struct Locking {
    plain: &'static str,
    locked: &'static str,
}

macro_rules! locking {
    ($sql:literal) => {
        Locking {
            plain: $sql,
            locked: concat!($sql, " FOR UPDATE"),
        }
    };
}

impl Locking {
    fn sql<DB: Dialect>(&self) -> &'static str {
        if DB::LOCKS_ROWS {
            self.locked
        } else {
            self.plain
        }
    }
}

const PING: &str = "SELECT 1";

const INSERT_ACCOUNT: &str = "INSERT INTO accounts (account_id, username, account_key, kdf, bundle,
        bundle_version, head_seq, head_hash, record_count, created_at)
    VALUES ($1, $2, $3, $4, $5, 1, 0, $6, 0, $7) ON CONFLICT DO NOTHING";

const USERNAME_TAKEN: &str = "SELECT 1 FROM accounts WHERE username = $1";

const FIND_USERNAME: &str = "SELECT account_id, account_key, kdf FROM accounts WHERE username = $1";

/// A new device (`revoked` takes its default, false); nothing when the account has it already.
const INSERT_DEVICE: &str =
    "INSERT INTO devices (account_id, device_id, device_key, name, created_at,
        last_seen)
    VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING";

/// Whether the account's device has this key and is not revoked.
const SAME_DEVICE: &str =
    "SELECT device_key = $3 AND NOT revoked FROM devices WHERE account_id = $1 AND device_id = $2";

const DEVICE_KEYS: &str =
    "SELECT account_id, device_key, revoked FROM devices WHERE device_id = $1";

const INSERT_NONCE: &str =
    "INSERT INTO nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

const TOUCH_DEVICE: &str =
    "UPDATE devices SET last_seen = $1 WHERE account_id = $2 AND device_id = $3 AND last_seen < $1";

const PURGE_NONCES: &str = "DELETE FROM nonces WHERE expires_at < $1";

const ACCOUNT: &str =
    "SELECT username, head_seq, bundle_version, record_count FROM accounts WHERE account_id = $1";

const DEVICES: &str = "SELECT device_id, name, created_at, last_seen, revoked FROM devices
    WHERE account_id = $1 ORDER BY created_at, device_id";

const BUNDLE: &str = "SELECT bundle_version, kdf, bundle FROM accounts WHERE account_id = $1";

const BUNDLE_VERSION: Locking =
    locking!("SELECT bundle_version FROM accounts WHERE account_id = $1");

const UPDATE_BUNDLE: &str = "UPDATE accounts
    SET bundle_version = $1, kdf = $2, bundle = $3, account_key = COALESCE($4, account_key)
    WHERE account_id = $5";

const REVOKE_DEVICE: &str =
    "UPDATE devices SET revoked = TRUE WHERE account_id = $1 AND device_id = $2";

const PUSH_HEAD: Locking =
    locking!("SELECT head_seq, head_hash, record_count FROM accounts WHERE account_id = $1");

const SET_HEAD: &str =
    "UPDATE accounts SET head_seq = $1, head_hash = $2, record_count = $3 WHERE account_id = $4";

const PULL_HEAD: &str = "SELECT head_seq, head_hash FROM accounts WHERE account_id = $1";

/// The changes after `$2`, with the blob's length where the change is the record's current version.
const CHANGES: &str = "SELECT c.seq, c.rid, c.tombstone, c.blob_hash, c.chain_hash,
        CASE WHEN r.seq = c.seq THEN CAST(length(r.blob) AS BIGINT) END
    FROM changes c LEFT JOIN records r ON r.account_id = c.account_id AND r.rid = c.rid
    WHERE c.account_id = $1 AND c.seq > $2
    ORDER BY c.seq LIMIT $3";

const HEAD_SEQ: &str = "SELECT head_seq FROM accounts WHERE account_id = $1";

/// What differs between the backends' databases; everything else is [`SqlStorage`]'s.
pub(crate) trait Dialect: Database {
    /// Whether a writer must lock the account row it changes (`SELECT … FOR UPDATE`): true where
    /// writers run side by side (PostgreSQL), false where a write transaction already excludes the
    /// others (SQLite, which has no such clause).
    const LOCKS_ROWS: bool;

    /// Begins a transaction that writes.
    fn write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, Error>> + Send;

    /// Begins a transaction that only reads, from one snapshot.
    fn snapshot(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, Error>> + Send;

    /// How many rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// The server's version of each of the pushed records it has.
    fn current(
        conn: &mut Self::Connection,
        account: &AccountId,
        items: &[PushItem],
    ) -> impl Future<Output = Result<HashMap<Rid, Current>, Error>> + Send;

    /// The server's version of each record of `rids`, in that order ([`super::absent`] for one it
    /// does not have): the answer to the conflicts of a push.
    fn remote_records(
        conn: &mut Self::Connection,
        account: &AccountId,
        rids: &[Rid],
    ) -> impl Future<Output = Result<Vec<RemoteRecord>, Error>> + Send;

    /// Writes the applied items of a push: each record's new version and its change-log row.
    fn apply(
        conn: &mut Self::Connection,
        account: &AccountId,
        items: &[PushItem],
        apply: &[Apply],
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Tells the other instances, when the transaction commits, that the account's log reached
    /// `seq` (nothing where no other instance can share the database).
    fn announce(
        conn: &mut Self::Connection,
        account: &AccountId,
        seq: u64,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The changes of a pull page (the change-log rows after `since`), with the blob of each that
    /// is its record's current version.
    fn page_changes(
        conn: &mut Self::Connection,
        account: &AccountId,
        since: u64,
        rows: &[ChangeRow],
    ) -> impl Future<Output = Result<Vec<Change>, Error>> + Send;
}

/// The schema's migrations, from the backend's `migrations/*/0001_initial.sql` (the files, their
/// versions and their checksums are what deployed databases recorded: never change them; a schema
/// change is a new migration).
pub(super) fn migrator(initial: &'static str) -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        initial.into_sql_str(),
        false,
    )])
}

/// Accounts in a database of either backend.
pub(crate) struct SqlStorage<DB: Database> {
    pub(super) pool: Pool<DB>,
}

impl<DB: Database> Clone for SqlStorage<DB> {
    fn clone(&self) -> Self {
        SqlStorage {
            pool: self.pool.clone(),
        }
    }
}

impl<DB> Storage for SqlStorage<DB>
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
{
    async fn ping(&self) -> Result<(), Error> {
        sqlx::query(PING).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(&self, new: NewAccount) -> Result<(), Error> {
        let mut tx = DB::write(&self.pool).await?;
        let genesis = ChainHead::genesis(&new.account_id);
        let inserted = sqlx::query(INSERT_ACCOUNT)
            .bind(&new.account_id[..])
            .bind(new.username.as_str())
            .bind(&new.account_key[..])
            .bind(new.kdf.as_str())
            .bind(new.bundle.as_str())
            .bind(&genesis.hash[..])
            .bind(to_i64(new.now))
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&inserted) == 0 {
            let taken = sqlx::query(USERNAME_TAKEN)
                .bind(new.username.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            return Err(if taken.is_some() {
                Error::UsernameTaken
            } else {
                Error::AccountExists
            });
        }
        sqlx::query(INSERT_DEVICE)
            .bind(&new.account_id[..])
            .bind(&new.device.device_id[..])
            .bind(&new.device.device_key[..])
            .bind(new.device.name.as_str())
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
        let row = sqlx::query(FIND_USERNAME)
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
        let mut tx = DB::write(&self.pool).await?;
        let inserted = sqlx::query(INSERT_DEVICE)
            .bind(&account[..])
            .bind(&device.device_id[..])
            .bind(&device.device_key[..])
            .bind(device.name.as_str())
            .bind(to_i64(now))
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&inserted) == 0 {
            // A retried join is fine; another key, or a revoked device, is not.
            let same: Option<bool> = sqlx::query_scalar(SAME_DEVICE)
                .bind(&account[..])
                .bind(&device.device_id[..])
                .bind(&device.device_key[..])
                .fetch_optional(&mut *tx)
                .await?;
            if same != Some(true) {
                return Err(Error::DeviceExists);
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn device_keys(&self, device: DeviceId) -> Result<Vec<DeviceKey>, Error> {
        let rows = sqlx::query(DEVICE_KEYS)
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
        let mut tx = DB::write(&self.pool).await?;
        let fresh = sqlx::query(INSERT_NONCE)
            .bind(&device[..])
            .bind(&nonce[..])
            .bind(to_i64(expires_at))
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&fresh) == 0 {
            return Ok(false);
        }
        if let Some(account) = account {
            sqlx::query(TOUCH_DEVICE)
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
        let r = sqlx::query(PURGE_NONCES)
            .bind(to_i64(now))
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r))
    }

    async fn account(&self, account: AccountId) -> Result<Option<AccountRow>, Error> {
        let mut tx = DB::snapshot(&self.pool).await?;
        let Some(row) = sqlx::query(ACCOUNT)
            .bind(&account[..])
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let devices = sqlx::query(DEVICES)
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
        let row = sqlx::query(BUNDLE)
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
        let mut tx = DB::write(&self.pool).await?;
        let current: i64 = sqlx::query_scalar(BUNDLE_VERSION.sql::<DB>())
            .bind(&account[..])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::UnknownAccount)?;
        let current = to_u64(current);
        if current != update.expected_version {
            return Err(Error::BundleConflict { current });
        }
        let version = current + 1;
        sqlx::query(UPDATE_BUNDLE)
            .bind(to_i64(version))
            .bind(update.kdf.as_str())
            .bind(update.bundle.as_str())
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
        let r = sqlx::query(REVOKE_DEVICE)
            .bind(&account[..])
            .bind(&device[..])
            .execute(&self.pool)
            .await?;
        if DB::rows_affected(&r) > 0 {
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
        let mut tx = DB::write(&self.pool).await?;
        // The write transaction (SQLite) or the row lock (PostgreSQL) keeps every other push to the
        // account out until this one commits.
        let row = sqlx::query(PUSH_HEAD.sql::<DB>())
            .bind(&account[..])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::UnknownAccount)?;
        let head = chain_head(&row)?;
        let live = to_u64(row.try_get(2)?);
        let items = &request.items;
        let current = DB::current(&mut *tx, &account, items).await?;
        let plan = plan_push(head, live, items, &current, max_records)?;
        let rids: Vec<Rid> = plan.conflicts.iter().map(|&i| items[i].rid).collect();
        let conflicts = DB::remote_records(&mut *tx, &account, &rids).await?;
        if !plan.apply.is_empty() {
            DB::apply(&mut *tx, &account, items, &plan.apply).await?;
            sqlx::query(SET_HEAD)
                .bind(to_i64(plan.head.seq))
                .bind(&plan.head.hash[..])
                .bind(to_i64(plan.live))
                .bind(&account[..])
                .execute(&mut *tx)
                .await?;
            DB::announce(&mut *tx, &account, plan.head.seq).await?;
        }
        tx.commit().await?;
        Ok(PushResult {
            head: plan.head,
            applied: plan
                .apply
                .iter()
                .map(|a| (items[a.item].rid, a.seq))
                .collect(),
            conflicts,
        })
    }

    async fn pull(&self, account: AccountId, since: u64, limit: u64) -> Result<PullPage, Error> {
        // One snapshot of the head, the log and the records.
        let mut tx = DB::snapshot(&self.pool).await?;
        let row = sqlx::query(PULL_HEAD)
            .bind(&account[..])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::UnknownAccount)?;
        let head = chain_head(&row)?;
        if since > head.seq {
            return Err(Error::SinceAhead {
                since,
                head: head.seq,
            });
        }
        let rows = sqlx::query(CHANGES)
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
        let changes = DB::page_changes(&mut *tx, &account, since, rows).await?;
        tx.commit().await?;
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
        let seq: Option<i64> = sqlx::query_scalar(HEAD_SEQ)
            .bind(&account[..])
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.map(to_u64))
    }
}
