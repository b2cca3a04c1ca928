//! The lies of a server whose database an attacker controls, as SQL: what [`crate::testing::Tamper`]
//! runs so that tests can make a real server roll back, withhold, replay, swap or fork. Never used by
//! the server itself.
//!
//! A lie that changes the log (append, truncate, withhold) recomputes everything that follows from
//! it (`relog`): the chain hash of every later change, the account's head, its tree (`tree_nodes`,
//! `tree_size`) and its live-record count, so a client's hash-chain check passes and only the checks
//! made for these lies can catch them. The others change one row and nothing the log depends on
//! (a swapped blob is the exception by design: the log still names the old blob's hash). Each runs in
//! one transaction that, where it writes the log, locks the account as a push does.

use pvault_proto::chain::{ChainHead, blob_hash};
use pvault_proto::merkle::Hash;
use pvault_proto::{AccountId, DeviceId, Rid};
use sqlx::{Row, Transaction};

use super::rows::{corrupt, fixed, to_i64, to_u64};
use super::sql::{BUNDLE, INSERT_DEVICE, locking, sql_impl};
use super::tree::LeafRow;
use crate::error::Error;

/// The account's head, locked as a push locks it.
const LOCK_HEAD: super::sql::Locking =
    locking!("SELECT head_seq, tree_size FROM accounts WHERE account_id = $1");

const CURRENT: &str = "SELECT seq, tombstone, blob FROM records WHERE account_id = $1 AND rid = $2";

const RECORDS: &str =
    "SELECT rid, seq, tombstone FROM records WHERE account_id = $1 ORDER BY seq, rid";

const CHANGES: &str = "SELECT seq, rid, tombstone, blob_hash FROM changes
    WHERE account_id = $1 AND seq >= $2 ORDER BY seq";

const TREE_NODES: &str =
    "SELECT level, idx, hash FROM tree_nodes WHERE account_id = $1 ORDER BY level, idx";

const CHAIN_HASH: &str = "SELECT chain_hash FROM changes WHERE account_id = $1 AND seq = $2";

const SET_CHAIN_HASH: &str =
    "UPDATE changes SET chain_hash = $3 WHERE account_id = $1 AND seq = $2";

/// Every node that covers a leaf at or beyond `$2`: node (level, idx) ends at (idx + 1) << level.
const CUT_TREE: &str = "DELETE FROM tree_nodes
    WHERE account_id = $1 AND idx >= ($2 >> CAST(level AS INTEGER))";

/// The head after the log changed; the tree is rebuilt as far; the live records recounted.
const SET_LOG_HEAD: &str = "UPDATE accounts SET head_seq = $1, head_hash = $2, tree_size = $1,
    record_count = (SELECT COUNT(*) FROM records WHERE account_id = $3 AND NOT tombstone)
    WHERE account_id = $3";

const RECOUNT: &str = "UPDATE accounts
    SET record_count = (SELECT COUNT(*) FROM records WHERE account_id = $1 AND NOT tombstone)
    WHERE account_id = $1";

const INSERT_CHANGE: &str = "INSERT INTO changes
    (account_id, seq, rid, tombstone, blob_hash, chain_hash) VALUES ($1, $2, $3, $4, $5, $6)";

const UPSERT_RECORD: &str = "INSERT INTO records (account_id, rid, seq, tombstone, blob)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, rid) DO UPDATE
    SET seq = excluded.seq, tombstone = excluded.tombstone, blob = excluded.blob";

const SET_BLOB: &str = "UPDATE records SET blob = $3 WHERE account_id = $1 AND rid = $2";

const DELETE_RECORD: &str = "DELETE FROM records WHERE account_id = $1 AND rid = $2";

const CUT_CHANGES: &str = "DELETE FROM changes WHERE account_id = $1 AND seq > $2";

const CUT_RECORDS: &str = "DELETE FROM records WHERE account_id = $1 AND seq > $2";

const CHANGE_RID: &str = "SELECT rid FROM changes WHERE account_id = $1 AND seq = $2";

const DELETE_CURRENT: &str = "DELETE FROM records WHERE account_id = $1 AND rid = $2 AND seq = $3";

const DELETE_CHANGE: &str = "DELETE FROM changes WHERE account_id = $1 AND seq = $2";

/// Renumbering the later changes in two steps (through negative numbers), so that no statement
/// ever holds two rows with one (account, seq).
const RENUMBER_DOWN: &str =
    "UPDATE changes SET seq = -(seq - 1) WHERE account_id = $1 AND seq > $2";
const RENUMBER_BACK: &str = "UPDATE changes SET seq = -seq WHERE account_id = $1 AND seq < 0";
const RENUMBER_RECORDS: &str =
    "UPDATE records SET seq = seq - 1 WHERE account_id = $1 AND seq > $2";

const SET_BUNDLE: &str =
    "UPDATE accounts SET bundle_version = $1, kdf = $2, bundle = $3 WHERE account_id = $4";

const SET_DEVICE_KEY: &str =
    "UPDATE devices SET device_key = $3 WHERE account_id = $1 AND device_id = $2";

const FORGET_TREE: &str = "DELETE FROM tree_nodes WHERE account_id = $1";
const RESET_TREE_SIZE: &str = "UPDATE accounts SET tree_size = 0 WHERE account_id = $1";

/// Every row of every table but `nonces`, backend-neutral: what a fork copies.
#[derive(Default)]
pub(crate) struct Dump {
    accounts: Vec<AccountRow>,
    devices: Vec<DeviceRow>,
    records: Vec<RecordRow>,
    changes: Vec<ChangeRow>,
    tree_nodes: Vec<NodeRow>,
    checkpoints: Vec<CheckpointRow>,
}

struct AccountRow {
    account_id: Vec<u8>,
    username: String,
    account_key: Vec<u8>,
    kdf: String,
    bundle: String,
    bundle_version: i64,
    head_seq: i64,
    head_hash: Vec<u8>,
    record_count: i64,
    created_at: i64,
    tree_size: i64,
}

struct DeviceRow {
    account_id: Vec<u8>,
    device_id: Vec<u8>,
    device_key: Vec<u8>,
    name: String,
    created_at: i64,
    last_seen: i64,
    revoked: bool,
    certificate: Option<String>,
}

struct RecordRow {
    account_id: Vec<u8>,
    rid: Vec<u8>,
    seq: i64,
    tombstone: bool,
    blob: Vec<u8>,
}

struct ChangeRow {
    account_id: Vec<u8>,
    seq: i64,
    rid: Vec<u8>,
    tombstone: bool,
    blob_hash: Vec<u8>,
    chain_hash: Vec<u8>,
}

struct NodeRow {
    account_id: Vec<u8>,
    level: i64,
    idx: i64,
    hash: Vec<u8>,
}

struct CheckpointRow {
    account_id: Vec<u8>,
    device_id: Vec<u8>,
    note: String,
    updated_at: i64,
}

sql_impl!({
    /// A write transaction holding the account's row, and its head.
    async fn locked(&self, account: &AccountId) -> Result<(Transaction<'static, DB>, u64), Error> {
        let mut tx = DB::write(&self.pool).await?;
        let row = sqlx::query(LOCK_HEAD.sql::<DB>())
            .bind(&account[..])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::UnknownAccount)?;
        let head = to_u64(row.try_get(0)?);
        Ok((tx, head))
    }

    /// Recomputes everything that follows from the log from change `from` on, after the rows
    /// from there were changed (the ones before must be as they were): each later change's chain
    /// hash, the head, the tree from leaf `from - 1` on, the live-record count.
    async fn relog(
        tx: &mut Transaction<'static, DB>,
        account: &AccountId,
        from: u64,
    ) -> Result<ChainHead, Error> {
        let from = from.max(1);
        let mut head = if from == 1 {
            ChainHead::genesis(account)
        } else {
            let hash: Vec<u8> = sqlx::query_scalar(CHAIN_HASH)
                .bind(&account[..])
                .bind(to_i64(from - 1))
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| corrupt(format!("change {} is missing", from - 1)))?;
            ChainHead {
                seq: from - 1,
                hash: fixed(hash)?,
            }
        };
        for row in Self::leaf_rows(tx, account, from).await? {
            if row.seq != head.seq + 1 {
                return Err(corrupt(format!("change {} is missing", head.seq + 1)));
            }
            head = head.next(row.seq, &row.rid, row.tombstone, &row.blob_hash);
            sqlx::query(SET_CHAIN_HASH)
                .bind(&account[..])
                .bind(to_i64(row.seq))
                .bind(&head.hash[..])
                .execute(&mut **tx)
                .await?;
        }
        // The tree keeps what covers only the changes before `from`, as far as it was built.
        let (_, built) = Self::tree_size(tx, account, false).await?;
        let keep = built.min(from - 1);
        sqlx::query(CUT_TREE)
            .bind(&account[..])
            .bind(to_i64(keep))
            .execute(&mut **tx)
            .await?;
        Self::grow_tree(tx, account, keep, head.seq).await?;
        sqlx::query(SET_LOG_HEAD)
            .bind(to_i64(head.seq))
            .bind(&head.hash[..])
            .bind(&account[..])
            .execute(&mut **tx)
            .await?;
        Ok(head)
    }

    /// The changes from `from` on, in order.
    async fn leaf_rows(
        tx: &mut Transaction<'static, DB>,
        account: &AccountId,
        from: u64,
    ) -> Result<Vec<LeafRow>, Error> {
        sqlx::query(CHANGES)
            .bind(&account[..])
            .bind(to_i64(from))
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
            .collect()
    }

    /// A record's current version: sequence number, tombstone, blob.
    pub(crate) async fn tamper_current(
        &self,
        account: AccountId,
        rid: Rid,
    ) -> Result<Option<(u64, bool, Vec<u8>)>, Error> {
        let row = sqlx::query(CURRENT)
            .bind(&account[..])
            .bind(&rid[..])
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((to_u64(r.try_get(0)?), r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// Every record's current version, by sequence number.
    pub(crate) async fn tamper_records(
        &self,
        account: AccountId,
    ) -> Result<Vec<(Rid, u64, bool)>, Error> {
        let rows = sqlx::query(RECORDS)
            .bind(&account[..])
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| Ok((fixed(r.try_get(0)?)?, to_u64(r.try_get(1)?), r.try_get(2)?)))
            .collect()
    }

    /// The whole log.
    pub(crate) async fn tamper_changes(
        &self,
        account: AccountId,
    ) -> Result<Vec<(u64, Rid, bool, Hash)>, Error> {
        let mut tx = DB::snapshot(&self.pool).await?;
        let rows = Self::leaf_rows(&mut tx, &account, 0).await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.seq, r.rid, r.tombstone, r.blob_hash))
            .collect())
    }

    /// Every stored node of the account's tree, by level and index.
    pub(crate) async fn tamper_tree_nodes(
        &self,
        account: AccountId,
    ) -> Result<Vec<(u8, u64, Hash)>, Error> {
        let rows = sqlx::query(TREE_NODES)
            .bind(&account[..])
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                let level = u8::try_from(r.try_get::<i64, _>(0)?)
                    .map_err(|_| corrupt("a tree node's level is out of range"))?;
                Ok((level, to_u64(r.try_get(1)?), fixed(r.try_get(2)?)?))
            })
            .collect()
    }

    /// Appends a change making `blob` the record's current version, as a push would.
    pub(crate) async fn tamper_append(
        &self,
        account: AccountId,
        rid: Rid,
        tombstone: bool,
        blob: &[u8],
    ) -> Result<u64, Error> {
        let (mut tx, head) = self.locked(&account).await?;
        let seq = head + 1;
        sqlx::query(INSERT_CHANGE)
            .bind(&account[..])
            .bind(to_i64(seq))
            .bind(&rid[..])
            .bind(tombstone)
            .bind(&blob_hash(blob)[..])
            // Recomputed by relog.
            .bind(&[0u8; 32][..])
            .execute(&mut *tx)
            .await?;
        sqlx::query(UPSERT_RECORD)
            .bind(&account[..])
            .bind(&rid[..])
            .bind(to_i64(seq))
            .bind(tombstone)
            .bind(blob)
            .execute(&mut *tx)
            .await?;
        Self::relog(&mut tx, &account, seq).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Overwrites a record's current blob, leaving its change row (and so its hash) alone.
    pub(crate) async fn tamper_set_current_blob(
        &self,
        account: AccountId,
        rid: Rid,
        blob: &[u8],
    ) -> Result<bool, Error> {
        let (mut tx, _) = self.locked(&account).await?;
        let r = sqlx::query(SET_BLOB)
            .bind(&account[..])
            .bind(&rid[..])
            .bind(blob)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    /// Makes (`seq`, `tombstone`, `blob`) a record's current version again, whatever the log
    /// says (the other half of taking a lie back after [`Self::tamper_truncate`]).
    pub(crate) async fn tamper_put_current(
        &self,
        account: AccountId,
        rid: Rid,
        (seq, tombstone, blob): (u64, bool, &[u8]),
    ) -> Result<(), Error> {
        let (mut tx, _) = self.locked(&account).await?;
        sqlx::query(UPSERT_RECORD)
            .bind(&account[..])
            .bind(&rid[..])
            .bind(to_i64(seq))
            .bind(tombstone)
            .bind(blob)
            .execute(&mut *tx)
            .await?;
        sqlx::query(RECOUNT)
            .bind(&account[..])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a record's current version, keeping its change rows.
    pub(crate) async fn tamper_drop_blob(
        &self,
        account: AccountId,
        rid: Rid,
    ) -> Result<bool, Error> {
        let (mut tx, _) = self.locked(&account).await?;
        let r = sqlx::query(DELETE_RECORD)
            .bind(&account[..])
            .bind(&rid[..])
            .execute(&mut *tx)
            .await?;
        sqlx::query(RECOUNT)
            .bind(&account[..])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    /// Rolls the log back to its first `keep` changes.
    pub(crate) async fn tamper_truncate(&self, account: AccountId, keep: u64) -> Result<(), Error> {
        let (mut tx, head) = self.locked(&account).await?;
        if keep >= head {
            return Ok(());
        }
        for cut in [CUT_CHANGES, CUT_RECORDS] {
            sqlx::query(cut)
                .bind(&account[..])
                .bind(to_i64(keep))
                .execute(&mut *tx)
                .await?;
        }
        Self::relog(&mut tx, &account, keep + 1).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes change `seq` from the log, renumbering the later ones; `false` when there is none.
    pub(crate) async fn tamper_withhold(
        &self,
        account: AccountId,
        seq: u64,
    ) -> Result<bool, Error> {
        let (mut tx, _) = self.locked(&account).await?;
        let rid: Option<Vec<u8>> = sqlx::query_scalar(CHANGE_RID)
            .bind(&account[..])
            .bind(to_i64(seq))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(rid) = rid else {
            return Ok(false);
        };
        sqlx::query(DELETE_CURRENT)
            .bind(&account[..])
            .bind(&rid[..])
            .bind(to_i64(seq))
            .execute(&mut *tx)
            .await?;
        for step in [DELETE_CHANGE, RENUMBER_DOWN, RENUMBER_RECORDS] {
            sqlx::query(step)
                .bind(&account[..])
                .bind(to_i64(seq))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(RENUMBER_BACK)
            .bind(&account[..])
            .execute(&mut *tx)
            .await?;
        Self::relog(&mut tx, &account, seq).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The raw key bundle: version, KDF description, bundle.
    pub(crate) async fn tamper_bundle(
        &self,
        account: AccountId,
    ) -> Result<Option<(u64, String, String)>, Error> {
        let row = sqlx::query(BUNDLE)
            .bind(&account[..])
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((to_u64(r.try_get(0)?), r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// Overwrites the key bundle and the KDF description, at any version.
    pub(crate) async fn tamper_set_bundle(
        &self,
        account: AccountId,
        version: u64,
        kdf: &str,
        bundle: &str,
    ) -> Result<bool, Error> {
        let r = sqlx::query(SET_BUNDLE)
            .bind(to_i64(version))
            .bind(kdf)
            .bind(bundle)
            .bind(&account[..])
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    /// Replaces a device's public key.
    pub(crate) async fn tamper_set_device_key(
        &self,
        account: AccountId,
        device: DeviceId,
        key: [u8; 32],
    ) -> Result<bool, Error> {
        let r = sqlx::query(SET_DEVICE_KEY)
            .bind(&account[..])
            .bind(&device[..])
            .bind(&key[..])
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    /// Adds a device nobody added.
    pub(crate) async fn tamper_add_device(
        &self,
        account: AccountId,
        device: DeviceId,
        key: [u8; 32],
        name: &str,
        now: u64,
    ) -> Result<bool, Error> {
        let r = sqlx::query(INSERT_DEVICE)
            .bind(&account[..])
            .bind(&device[..])
            .bind(&key[..])
            .bind(name)
            .bind(to_i64(now))
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&r) == 1)
    }

    /// Deletes the account's tree and marks it unbuilt, as in a database from before the tree.
    pub(crate) async fn tamper_forget_tree(&self, account: AccountId) -> Result<(), Error> {
        let (mut tx, _) = self.locked(&account).await?;
        for forget in [FORGET_TREE, RESET_TREE_SIZE] {
            sqlx::query(forget)
                .bind(&account[..])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every row of every table but `nonces`, in one snapshot.
    pub(crate) async fn tamper_dump(&self) -> Result<Dump, Error> {
        let mut tx = DB::snapshot(&self.pool).await?;
        let mut dump = Dump::default();
        for r in sqlx::query(
            "SELECT account_id, username, account_key, kdf, bundle, bundle_version, head_seq,
                head_hash, record_count, created_at, tree_size FROM accounts",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            dump.accounts.push(AccountRow {
                account_id: r.try_get(0)?,
                username: r.try_get(1)?,
                account_key: r.try_get(2)?,
                kdf: r.try_get(3)?,
                bundle: r.try_get(4)?,
                bundle_version: r.try_get(5)?,
                head_seq: r.try_get(6)?,
                head_hash: r.try_get(7)?,
                record_count: r.try_get(8)?,
                created_at: r.try_get(9)?,
                tree_size: r.try_get(10)?,
            });
        }
        for r in sqlx::query(
            "SELECT account_id, device_id, device_key, name, created_at, last_seen, revoked,
                certificate FROM devices",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            dump.devices.push(DeviceRow {
                account_id: r.try_get(0)?,
                device_id: r.try_get(1)?,
                device_key: r.try_get(2)?,
                name: r.try_get(3)?,
                created_at: r.try_get(4)?,
                last_seen: r.try_get(5)?,
                revoked: r.try_get(6)?,
                certificate: r.try_get(7)?,
            });
        }
        for r in sqlx::query("SELECT account_id, rid, seq, tombstone, blob FROM records")
            .fetch_all(&mut *tx)
            .await?
        {
            dump.records.push(RecordRow {
                account_id: r.try_get(0)?,
                rid: r.try_get(1)?,
                seq: r.try_get(2)?,
                tombstone: r.try_get(3)?,
                blob: r.try_get(4)?,
            });
        }
        for r in sqlx::query(
            "SELECT account_id, seq, rid, tombstone, blob_hash, chain_hash FROM changes",
        )
        .fetch_all(&mut *tx)
        .await?
        {
            dump.changes.push(ChangeRow {
                account_id: r.try_get(0)?,
                seq: r.try_get(1)?,
                rid: r.try_get(2)?,
                tombstone: r.try_get(3)?,
                blob_hash: r.try_get(4)?,
                chain_hash: r.try_get(5)?,
            });
        }
        for r in sqlx::query("SELECT account_id, level, idx, hash FROM tree_nodes")
            .fetch_all(&mut *tx)
            .await?
        {
            dump.tree_nodes.push(NodeRow {
                account_id: r.try_get(0)?,
                level: r.try_get(1)?,
                idx: r.try_get(2)?,
                hash: r.try_get(3)?,
            });
        }
        for r in sqlx::query("SELECT account_id, device_id, note, updated_at FROM checkpoints")
            .fetch_all(&mut *tx)
            .await?
        {
            dump.checkpoints.push(CheckpointRow {
                account_id: r.try_get(0)?,
                device_id: r.try_get(1)?,
                note: r.try_get(2)?,
                updated_at: r.try_get(3)?,
            });
        }
        tx.commit().await?;
        Ok(dump)
    }

    /// Inserts every row of a dump, in one transaction (into an empty database: a row that is
    /// already there is an error).
    pub(crate) async fn tamper_load(&self, dump: &Dump) -> Result<(), Error> {
        let mut tx = DB::write(&self.pool).await?;
        for a in &dump.accounts {
            sqlx::query(
                "INSERT INTO accounts (account_id, username, account_key, kdf, bundle,
                    bundle_version, head_seq, head_hash, record_count, created_at, tree_size)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&a.account_id[..])
            .bind(a.username.as_str())
            .bind(&a.account_key[..])
            .bind(a.kdf.as_str())
            .bind(a.bundle.as_str())
            .bind(a.bundle_version)
            .bind(a.head_seq)
            .bind(&a.head_hash[..])
            .bind(a.record_count)
            .bind(a.created_at)
            .bind(a.tree_size)
            .execute(&mut *tx)
            .await?;
        }
        for d in &dump.devices {
            sqlx::query(
                "INSERT INTO devices (account_id, device_id, device_key, name, created_at,
                    last_seen, revoked, certificate)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&d.account_id[..])
            .bind(&d.device_id[..])
            .bind(&d.device_key[..])
            .bind(d.name.as_str())
            .bind(d.created_at)
            .bind(d.last_seen)
            .bind(d.revoked)
            .bind(d.certificate.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        for r in &dump.records {
            sqlx::query(
                "INSERT INTO records (account_id, rid, seq, tombstone, blob)
                VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&r.account_id[..])
            .bind(&r.rid[..])
            .bind(r.seq)
            .bind(r.tombstone)
            .bind(&r.blob[..])
            .execute(&mut *tx)
            .await?;
        }
        for c in &dump.changes {
            sqlx::query(
                "INSERT INTO changes (account_id, seq, rid, tombstone, blob_hash, chain_hash)
                VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&c.account_id[..])
            .bind(c.seq)
            .bind(&c.rid[..])
            .bind(c.tombstone)
            .bind(&c.blob_hash[..])
            .bind(&c.chain_hash[..])
            .execute(&mut *tx)
            .await?;
        }
        for n in &dump.tree_nodes {
            sqlx::query(
                "INSERT INTO tree_nodes (account_id, level, idx, hash) VALUES ($1, $2, $3, $4)",
            )
            .bind(&n.account_id[..])
            .bind(n.level)
            .bind(n.idx)
            .bind(&n.hash[..])
            .execute(&mut *tx)
            .await?;
        }
        for c in &dump.checkpoints {
            sqlx::query(
                "INSERT INTO checkpoints (account_id, device_id, note, updated_at)
                VALUES ($1, $2, $3, $4)",
            )
            .bind(&c.account_id[..])
            .bind(&c.device_id[..])
            .bind(c.note.as_str())
            .bind(c.updated_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
});
