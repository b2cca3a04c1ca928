//! The storage both backends share: every query written once, and [`Storage`] implemented once, by
//! [`SqlStorage`], over either database. sqlx takes `$N` placeholders on SQLite as on PostgreSQL,
//! and the two schemas have the same tables and columns, so what is left to each backend is what
//! really differs, behind [`Dialect`]: how a transaction begins (SQLite's writers take the database's
//! write lock up front; PostgreSQL's lock the account row they change with `FOR UPDATE`, and its
//! readers take a REPEATABLE READ snapshot), the bulk statements of a push and the blob fetch of a
//! pull page (multi-row `VALUES` in chunks on SQLite, arrays with `ANY` and `UNNEST` on PostgreSQL),
//! the bulk reads and writes of the tree's nodes (the same), and the announcement to other instances
//! (`pg_notify`, PostgreSQL only).
//!
//! The bounds sqlx needs to run these queries on a generic database are long; [`sql_impl!`] writes
//! them once for every `impl` over [`SqlStorage`] (here, and the test harness's in `tamper`).

use std::collections::HashMap;
use std::future::Future;

use pvault_proto::api::{DeviceCheckpoint, DeviceInfo};
use pvault_proto::auth::public_key_bytes_string;
use pvault_proto::batch::{Change, PullPage, PushItem, PushRequest, PushResult, RemoteRecord};
use pvault_proto::chain::ChainHead;
use pvault_proto::merkle::{Frontier, Hash, new_nodes, nodes_needed};
use pvault_proto::{AccountId, DeviceId, Rid};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Database, Pool, Row, SqlSafeStr, Transaction};

use super::rows::{chain_head, corrupt, fixed, to_i64, to_u64};
use super::tree::{self, LeafRow, NodeKey, Nodes, ProofParts};
use super::{
    AccountRow, Apply, BundleRow, BundleUpdate, ChangeRow, Current, DeviceKey, NewAccount,
    NewDeviceRow, Storage, page_cut, plan_push,
};
use crate::error::Error;

/// `impl<DB> [Trait for] SqlStorage<DB> { … }` with the bounds that let its methods run the shared
/// queries on either backend: `sql_impl!(Storage, { … })` or `sql_impl!({ … })`.
macro_rules! sql_impl {
    ($($trait_:ident,)? { $($body:tt)* }) => {
        impl<DB> $($trait_ for)? $crate::storage::sql::SqlStorage<DB>
        where
            DB: $crate::storage::sql::Dialect,
            DB::Arguments: sqlx::IntoArguments<DB>,
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
            usize: sqlx::ColumnIndex<DB::Row>,
            for<'q> &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<&'q [u8]>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'r> Vec<u8>: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
            for<'r> String: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
        {
            $($body)*
        }
    };
}
pub(crate) use sql_impl;

/// A query that reads a row its transaction is about to change, as each backend runs it: with
/// `FOR UPDATE` where [`Dialect::LOCKS_ROWS`], as it is elsewhere.
pub(super) struct Locking {
    pub(super) plain: &'static str,
    pub(super) locked: &'static str,
}

macro_rules! locking {
    ($sql:literal) => {
        $crate::storage::sql::Locking {
            plain: $sql,
            locked: concat!($sql, " FOR UPDATE"),
        }
    };
}
pub(super) use locking;

impl Locking {
    pub(super) fn sql<DB: Dialect>(&self) -> &'static str {
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
pub(super) const INSERT_DEVICE: &str =
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

const DEVICES: &str = "SELECT device_id, name, created_at, last_seen, revoked, device_key,
        certificate
    FROM devices WHERE account_id = $1 ORDER BY created_at, device_id";

pub(super) const BUNDLE: &str =
    "SELECT bundle_version, kdf, bundle FROM accounts WHERE account_id = $1";

const BUNDLE_VERSION: Locking =
    locking!("SELECT bundle_version FROM accounts WHERE account_id = $1");

const UPDATE_BUNDLE: &str = "UPDATE accounts
    SET bundle_version = $1, kdf = $2, bundle = $3, account_key = COALESCE($4, account_key)
    WHERE account_id = $5";

const REVOKE_DEVICE: &str =
    "UPDATE devices SET revoked = TRUE WHERE account_id = $1 AND device_id = $2";

const PUSH_HEAD: Locking = locking!(
    "SELECT head_seq, head_hash, record_count, tree_size FROM accounts WHERE account_id = $1"
);

/// The head after a push; its tree is built as far.
const SET_HEAD: &str = "UPDATE accounts
    SET head_seq = $1, head_hash = $2, record_count = $3, tree_size = $1 WHERE account_id = $4";

const PULL_HEAD: &str = "SELECT head_seq, head_hash FROM accounts WHERE account_id = $1";

/// The changes after `$2`, with the blob's length where the change is the record's current version.
const CHANGES: &str = "SELECT c.seq, c.rid, c.tombstone, c.blob_hash, c.chain_hash,
        CASE WHEN r.seq = c.seq THEN CAST(length(r.blob) AS BIGINT) END
    FROM changes c LEFT JOIN records r ON r.account_id = c.account_id AND r.rid = c.rid
    WHERE c.account_id = $1 AND c.seq > $2
    ORDER BY c.seq LIMIT $3";

const HEAD_SEQ: &str = "SELECT head_seq FROM accounts WHERE account_id = $1";

/// The log's head and how far its tree is built.
const TREE_SIZE: Locking =
    locking!("SELECT head_seq, tree_size FROM accounts WHERE account_id = $1");

const SET_TREE_SIZE: &str = "UPDATE accounts SET tree_size = $1 WHERE account_id = $2";

const UNBUILT_TREES: &str =
    "SELECT account_id FROM accounts WHERE tree_size < head_seq ORDER BY account_id";

/// The changes `$2 < seq <= $3`, as the tree needs them.
const LEAF_ROWS: &str = "SELECT seq, rid, tombstone, blob_hash FROM changes
    WHERE account_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq";

const UPSERT_CHECKPOINT: &str =
    "INSERT INTO checkpoints (account_id, device_id, note, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (account_id, device_id) DO UPDATE
    SET note = excluded.note, updated_at = excluded.updated_at";

const CHECKPOINTS: &str = "SELECT c.device_id, c.note, c.updated_at FROM checkpoints c
    JOIN devices d ON d.account_id = c.account_id AND d.device_id = c.device_id
    WHERE c.account_id = $1 ORDER BY d.created_at, c.device_id";

const SET_CERTIFICATE: &str =
    "UPDATE devices SET certificate = $3 WHERE account_id = $1 AND device_id = $2";

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

    /// The stored nodes of the account's tree among `keys` (those it has).
    fn nodes(
        conn: &mut Self::Connection,
        account: &AccountId,
        keys: &[NodeKey],
    ) -> impl Future<Output = Result<Nodes, Error>> + Send;

    /// Inserts nodes of the account's tree (none of them may be stored yet).
    fn insert_nodes(
        conn: &mut Self::Connection,
        account: &AccountId,
        nodes: &[(u8, u64, Hash)],
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The schema's migrations, from the backend's `migrations/*/NNNN_*.sql`, in order: `initial` and
/// `tree` (the files, their versions and their checksums are what deployed databases recorded:
/// never change them; a schema change is a new migration).
pub(super) fn migrator(initial: &'static str, tree: &'static str) -> Migrator {
    let migration = |version, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(1, "initial", initial),
        migration(2, "tree", tree),
    ])
}

/// Accounts in a database of either backend.
pub(crate) struct SqlStorage<DB: Database> {
    pub(super) pool: Pool<DB>,
}

impl<DB: Database> SqlStorage<DB> {
    /// Closes the pool's connections (waiting for those in use to come back).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

impl<DB: Database> Clone for SqlStorage<DB> {
    fn clone(&self) -> Self {
        SqlStorage {
            pool: self.pool.clone(),
        }
    }
}

sql_impl!(Storage, {
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
                    device_key: public_key_bytes_string(&fixed(d.try_get(5)?)?),
                    certificate: d.try_get(6)?,
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
        let tree_size = to_u64(row.try_get(3)?);
        let items = &request.items;
        let current = DB::current(&mut *tx, &account, items).await?;
        let plan = plan_push(head, live, items, &current, max_records)?;
        let rids: Vec<Rid> = plan.conflicts.iter().map(|&i| items[i].rid).collect();
        let conflicts = DB::remote_records(&mut *tx, &account, &rids).await?;
        if !plan.apply.is_empty() {
            let frontier = Self::frontier(&mut tx, &account, tree_size, head.seq).await?;
            let leaves: Vec<Hash> = plan.apply.iter().map(|a| a.leaf).collect();
            let (_, nodes) = new_nodes(&frontier, &leaves);
            DB::apply(&mut *tx, &account, items, &plan.apply).await?;
            DB::insert_nodes(&mut *tx, &account, &nodes).await?;
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
            checkpoints: None,
        })
    }

    async fn head_seq(&self, account: AccountId) -> Result<Option<u64>, Error> {
        let seq: Option<i64> = sqlx::query_scalar(HEAD_SEQ)
            .bind(&account[..])
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.map(to_u64))
    }

    async fn tree_proof(
        &self,
        account: AccountId,
        from: u64,
        to: u64,
    ) -> Result<ProofParts, Error> {
        let mut tx = DB::snapshot(&self.pool).await?;
        let (head, built) = Self::tree_size(&mut tx, &account, false).await?;
        if to > head {
            return Err(Error::BeyondHead { to, head });
        }
        if to > built {
            return Err(Error::TreePending);
        }
        let nodes = DB::nodes(&mut *tx, &account, &tree::proof_keys(from, to)).await?;
        tx.commit().await?;
        tree::proof(from, to, &nodes)
    }

    async fn unbuilt_trees(&self) -> Result<Vec<AccountId>, Error> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(UNBUILT_TREES)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(fixed).collect()
    }

    async fn build_tree(&self, account: AccountId, max: u64) -> Result<u64, Error> {
        let mut tx = DB::write(&self.pool).await?;
        let (head, built) = Self::tree_size(&mut tx, &account, true).await?;
        if built >= head {
            return Ok(0);
        }
        let to = head.min(built.saturating_add(max.max(1)));
        Self::grow_tree(&mut tx, &account, built, to).await?;
        sqlx::query(SET_TREE_SIZE)
            .bind(to_i64(to))
            .bind(&account[..])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(to - built)
    }

    async fn put_checkpoint(
        &self,
        account: AccountId,
        device: DeviceId,
        note: String,
        now: u64,
    ) -> Result<DeviceCheckpoint, Error> {
        sqlx::query(UPSERT_CHECKPOINT)
            .bind(&account[..])
            .bind(&device[..])
            .bind(note.as_str())
            .bind(to_i64(now))
            .execute(&self.pool)
            .await?;
        Ok(DeviceCheckpoint {
            device_id: hex::encode(device),
            note,
            updated_at: now,
            proof: None,
        })
    }

    async fn checkpoints(&self, account: AccountId) -> Result<Vec<DeviceCheckpoint>, Error> {
        let rows = sqlx::query(CHECKPOINTS)
            .bind(&account[..])
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DeviceCheckpoint {
                    device_id: hex::encode(r.try_get::<Vec<u8>, _>(0)?),
                    note: r.try_get(1)?,
                    updated_at: to_u64(r.try_get(2)?),
                    proof: None,
                })
            })
            .collect()
    }

    async fn set_certificate(
        &self,
        account: AccountId,
        device: DeviceId,
        certificate: Option<String>,
    ) -> Result<(), Error> {
        let r = sqlx::query(SET_CERTIFICATE)
            .bind(&account[..])
            .bind(&device[..])
            .bind(certificate.as_deref())
            .execute(&self.pool)
            .await?;
        if DB::rows_affected(&r) > 0 {
            Ok(())
        } else {
            Err(Error::NoSuchDevice)
        }
    }
});

sql_impl!({
    /// The log's head and how far its tree is built, in `tx` (locking the account's row first when
    /// `lock`, as a writer does).
    pub(super) async fn tree_size(
        tx: &mut Transaction<'static, DB>,
        account: &AccountId,
        lock: bool,
    ) -> Result<(u64, u64), Error> {
        let sql = if lock {
            TREE_SIZE.sql::<DB>()
        } else {
            TREE_SIZE.plain
        };
        let row = sqlx::query(sql)
            .bind(&account[..])
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(Error::UnknownAccount)?;
        Ok((to_u64(row.try_get(0)?), to_u64(row.try_get(1)?)))
    }

    /// The frontier of the tree of the log's first `size` changes, of an account whose tree is
    /// built up to `built`: loaded, after building the rest first if `built` is behind (a push
    /// during a rolling upgrade, through an instance that predates the tree).
    pub(super) async fn frontier(
        tx: &mut Transaction<'static, DB>,
        account: &AccountId,
        built: u64,
        size: u64,
    ) -> Result<Frontier, Error> {
        if built > size {
            return Err(corrupt(format!(
                "the tree holds {built} changes, the log {size}"
            )));
        }
        if built < size {
            return Self::grow_tree(tx, account, built, size).await;
        }
        let nodes = DB::nodes(&mut **tx, account, &nodes_needed(size)).await?;
        tree::frontier(size, &nodes)
    }

    /// Adds the nodes of the changes `from < seq <= to` to the account's tree, read from the log;
    /// returns the frontier at `to`. Does not move `tree_size`: the caller does.
    pub(super) async fn grow_tree(
        tx: &mut Transaction<'static, DB>,
        account: &AccountId,
        from: u64,
        to: u64,
    ) -> Result<Frontier, Error> {
        let nodes = DB::nodes(&mut **tx, account, &nodes_needed(from)).await?;
        let before = tree::frontier(from, &nodes)?;
        let rows = sqlx::query(LEAF_ROWS)
            .bind(&account[..])
            .bind(to_i64(from))
            .bind(to_i64(to))
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|r| {
                Ok(LeafRow {
                    seq: to_u64(r.try_get(0)?),
                    rid: fixed(r.try_get(1)?)?,
                    tombstone: r.try_get(2)?,
                    blob_hash: fixed(r.try_get(3)?)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        if rows.len() as u64 != to - from {
            return Err(corrupt(format!(
                "the change log holds {} of the changes {from} < seq <= {to}",
                rows.len()
            )));
        }
        let (after, nodes) = new_nodes(&before, &tree::leaves(from, &rows)?);
        DB::insert_nodes(&mut **tx, account, &nodes).await?;
        Ok(after)
    }
});

#[cfg(test)]
mod tests {
    use pvault_proto::chain::blob_hash;
    use pvault_proto::merkle::change_leaf;
    use sqlx::migrate::Migrator;
    use sqlx::{Postgres, Sqlite};

    use super::*;
    use crate::storage::build_trees;

    sql_impl!({
        /// Writes an account with a log of `n` changes as a server before the tree did (schema
        /// version 1 only); returns the leaves of its changes.
        async fn seed_before_the_tree(&self, account: AccountId, n: u64) -> Vec<Hash> {
            let mut tx = DB::write(&self.pool).await.unwrap();
            let mut head = ChainHead::genesis(&account);
            sqlx::query(INSERT_ACCOUNT)
                .bind(&account[..])
                .bind(hex::encode(account).as_str())
                .bind(&[1u8; 32][..])
                .bind("kdf")
                .bind("bundle")
                .bind(&head.hash[..])
                .bind(1_i64)
                .execute(&mut *tx)
                .await
                .unwrap();
            let mut leaves = Vec::new();
            for seq in 1..=n {
                let (rid, tombstone) = ([(seq % 13) as u8; 16], seq % 5 == 0);
                let blob = seq.to_be_bytes();
                let hash = blob_hash(&blob);
                head = head.next(seq, &rid, tombstone, &hash);
                leaves.push(change_leaf(seq, &rid, tombstone, &hash));
                sqlx::query(
                    "INSERT INTO changes (account_id, seq, rid, tombstone, blob_hash, chain_hash)
                    VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&account[..])
                .bind(to_i64(seq))
                .bind(&rid[..])
                .bind(tombstone)
                .bind(&hash[..])
                .bind(&head.hash[..])
                .execute(&mut *tx)
                .await
                .unwrap();
                sqlx::query(
                    "INSERT INTO records (account_id, rid, seq, tombstone, blob)
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, rid) DO UPDATE
                    SET seq = excluded.seq, tombstone = excluded.tombstone, blob = excluded.blob",
                )
                .bind(&account[..])
                .bind(&rid[..])
                .bind(to_i64(seq))
                .bind(tombstone)
                .bind(&blob[..])
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            sqlx::query("UPDATE accounts SET head_seq = $1, head_hash = $2 WHERE account_id = $3")
                .bind(to_i64(n))
                .bind(&head.hash[..])
                .bind(&account[..])
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            leaves
        }

        /// After the upgrade: the server builds the trees, which are those of the leaves; the next
        /// push extends them.
        async fn check_upgrade(&self, logs: &[(AccountId, Vec<Hash>)]) {
            let total: u64 = logs.iter().map(|(_, l)| l.len() as u64).sum();
            let with_changes = logs.iter().filter(|(_, l)| !l.is_empty()).count() as u64;
            assert_eq!(build_trees(self).await.unwrap(), (with_changes, total));
            assert_eq!(build_trees(self).await.unwrap(), (0, 0));
            for (account, leaves) in logs {
                let (_, mut expected) = new_nodes(&Frontier::new(), leaves);
                expected.sort_by_key(|&(level, idx, _)| (level, idx));
                assert_eq!(self.tamper_tree_nodes(*account).await.unwrap(), expected);
                let n = leaves.len() as u64;
                let proof = self.tree_proof(*account, n / 3, n).await.unwrap();
                let frontier = |size: u64| {
                    let mut f = Frontier::new();
                    leaves[..size as usize].iter().for_each(|l| f.push(*l));
                    f.root()
                };
                assert_eq!(proof.root_to, frontier(n));
                assert_eq!(proof.root_from, frontier(n / 3));
                let item = PushItem {
                    rid: [99; 16],
                    base_seq: 0,
                    tombstone: false,
                    blob: b"after the upgrade".to_vec(),
                };
                let pushed = self
                    .push(*account, PushRequest { items: vec![item] }, 1_000_000)
                    .await
                    .unwrap();
                assert_eq!(pushed.head.seq, n + 1);
                assert_eq!(
                    self.tamper_tree_nodes(*account).await.unwrap().len() as u64,
                    2 * (n + 1) - u64::from((n + 1).count_ones())
                );
            }
        }
    });

    /// The migrations of a server from before the tree.
    fn version_1(initial: &'static str) -> Migrator {
        let mut m = migrator(initial, "");
        m.migrations.to_mut().truncate(1);
        m
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    const LOGS: [u64; 3] = [700, 1, 0];

    #[test]
    fn a_sqlite_database_from_before_the_tree_gets_it_when_the_server_starts() {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let old = SqlStorage::<Sqlite> {
                pool: sqlx::SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(dir.path().join(crate::storage::sqlite::DB_FILE))
                        .create_if_missing(true),
                )
                .await
                .unwrap(),
            };
            version_1(include_str!("../../migrations/sqlite/0001_initial.sql"))
                .run(&old.pool)
                .await
                .unwrap();
            let mut logs = Vec::new();
            for (i, n) in LOGS.into_iter().enumerate() {
                let account = [i as u8 + 1; 16];
                logs.push((account, old.seed_before_the_tree(account, n).await));
            }
            old.close().await;
            let upgraded = SqlStorage::<Sqlite>::open(dir.path()).await.unwrap();
            upgraded.check_upgrade(&logs).await;
        });
    }

    #[test]
    fn a_postgres_database_from_before_the_tree_gets_it_when_the_server_starts() {
        let Some(db) = crate::testing::PgDatabase::create("pvault_upgrade") else {
            return;
        };
        runtime().block_on(async {
            let old = SqlStorage::<Postgres> {
                pool: sqlx::PgPool::connect(&db.url).await.unwrap(),
            };
            version_1(include_str!("../../migrations/postgres/0001_initial.sql"))
                .run(&old.pool)
                .await
                .unwrap();
            let mut logs = Vec::new();
            for (i, n) in LOGS.into_iter().enumerate() {
                let account = [i as u8 + 1; 16];
                logs.push((account, old.seed_before_the_tree(account, n).await));
            }
            old.close().await;
            let upgraded = SqlStorage::<Postgres>::open(&db.url).await.unwrap();
            upgraded.check_upgrade(&logs).await;
            upgraded.close().await;
        });
    }
}
