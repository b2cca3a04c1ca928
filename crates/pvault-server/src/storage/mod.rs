//! Where accounts, devices, records and the change log live: the [`Storage`] trait and its two
//! backends, [`sqlite`] (embedded, zero setup) and [`postgres`] (several server instances on one
//! database).
//!
//! Both backends hold the same tables (see `migrations/`): `accounts` (with the log's head, the
//! live-record count and how far its tree is built), `devices` (with the certificate each published),
//! `records` (the current version of each record), `changes` (every accepted change with the chain
//! hash after it, keyed by (account, seq) so a pull reads only what changed), `tree_nodes` (every
//! perfect subtree of the Merkle tree over the log, see [`tree`]), `checkpoints` (each device's
//! latest signed note, opaque) and `nonces` (replay protection, in the database so instances share
//! it). What a push does is decided once, here, by [`plan_push`]; the SQL that reads and writes the
//! rows is written once too, in [`sql`], which implements [`Storage`] over either database. The
//! backend modules keep only what differs: their pool and migrations, how a transaction begins and
//! locks, the bulk statements of a push, a pull page and the tree's nodes, and (PostgreSQL) the
//! announcement to other instances.

use std::collections::HashMap;
use std::future::Future;

use pvault_proto::api::{DeviceCheckpoint, DeviceInfo};
use pvault_proto::batch::{PullPage, PushItem, PushRequest, PushResult, RemoteRecord};
use pvault_proto::chain::{ChainHead, blob_hash};
use pvault_proto::merkle::{Hash, change_leaf};
use pvault_proto::{AccountId, DeviceId, Rid};

use crate::error::Error;

pub(crate) mod postgres;
mod rows;
pub(crate) mod sql;
pub(crate) mod sqlite;
pub(crate) mod tamper;
pub(crate) mod tree;

pub(crate) use tree::ProofParts;

/// Most bytes of blobs in one pull page (a page always holds at least one change).
pub(crate) const PULL_BYTES: u64 = 16 << 20;

/// An account to create, with its first device.
pub(crate) struct NewAccount {
    pub account_id: AccountId,
    pub username: String,
    pub account_key: [u8; 32],
    pub kdf: String,
    pub bundle: String,
    pub device: NewDeviceRow,
    pub now: u64,
}

/// A device to add.
pub(crate) struct NewDeviceRow {
    pub device_id: DeviceId,
    pub device_key: [u8; 32],
    pub name: String,
}

/// One registration of a device id (a device id may be registered with several accounts).
pub(crate) struct DeviceKey {
    pub account_id: AccountId,
    pub key: [u8; 32],
    pub revoked: bool,
}

/// An account as its devices see it (without the server's quota, which the caller adds).
pub(crate) struct AccountRow {
    pub account_id: AccountId,
    pub username: String,
    pub head_seq: u64,
    pub bundle_version: u64,
    pub records: u64,
    pub devices: Vec<DeviceInfo>,
}

/// The key bundle and what opens it.
pub(crate) struct BundleRow {
    pub version: u64,
    pub kdf: String,
    pub bundle: String,
}

/// A replacement of the key bundle.
pub(crate) struct BundleUpdate {
    pub expected_version: u64,
    pub kdf: String,
    pub bundle: String,
    pub account_key: Option<[u8; 32]>,
}

/// What an account's store does; implemented by each backend. Every method is one transaction.
pub(crate) trait Storage: Clone + Send + Sync + 'static {
    /// A trivial query: is the database there?
    fn ping(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Creates an account and its first device. [`Error::UsernameTaken`] or [`Error::AccountExists`].
    fn create_account(&self, new: NewAccount) -> impl Future<Output = Result<(), Error>> + Send;

    /// The account id, public key and KDF description of a username.
    fn find_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<(AccountId, [u8; 32], String)>, Error>> + Send;

    /// Adds a device. Adding the same device with the same key again is accepted; another key or a
    /// revoked device is [`Error::DeviceExists`].
    fn add_device(
        &self,
        account: AccountId,
        device: NewDeviceRow,
        now: u64,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Every registration of a device id.
    fn device_keys(
        &self,
        device: DeviceId,
    ) -> impl Future<Output = Result<Vec<DeviceKey>, Error>> + Send;

    /// Records a nonce until `expires_at` and marks the device seen at `now`; `false` when the nonce
    /// was already recorded (a replay).
    fn accept_nonce(
        &self,
        account: Option<AccountId>,
        device: DeviceId,
        nonce: [u8; 16],
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Forgets nonces that expired before `now`; returns how many.
    fn purge_nonces(&self, now: u64) -> impl Future<Output = Result<u64, Error>> + Send;

    /// An account and its devices.
    fn account(
        &self,
        account: AccountId,
    ) -> impl Future<Output = Result<Option<AccountRow>, Error>> + Send;

    /// The key bundle.
    fn bundle(
        &self,
        account: AccountId,
    ) -> impl Future<Output = Result<Option<BundleRow>, Error>> + Send;

    /// Replaces the bundle if it is at the expected version ([`Error::BundleConflict`] otherwise).
    fn put_bundle(
        &self,
        account: AccountId,
        update: BundleUpdate,
    ) -> impl Future<Output = Result<BundleRow, Error>> + Send;

    /// Marks a device revoked ([`Error::NoSuchDevice`] if the account has no such device).
    fn revoke_device(
        &self,
        account: AccountId,
        device: DeviceId,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Applies a push atomically (see [`plan_push`]); after it commits, the new head is announced by
    /// the caller (and by PostgreSQL's `NOTIFY` to the other instances).
    fn push(
        &self,
        account: AccountId,
        request: PushRequest,
        max_records: u64,
    ) -> impl Future<Output = Result<PushResult, Error>> + Send;

    /// The changes after `since`, at most `limit` of them and about [`PULL_BYTES`] of blobs.
    fn pull(
        &self,
        account: AccountId,
        since: u64,
        limit: u64,
    ) -> impl Future<Output = Result<PullPage, Error>> + Send;

    /// The log's head sequence number.
    fn head_seq(
        &self,
        account: AccountId,
    ) -> impl Future<Output = Result<Option<u64>, Error>> + Send;

    /// The roots of the trees of the first `from` and `to` changes and the consistency proof
    /// between them (`from <= to`, checked by the caller): [`Error::BeyondHead`] when `to` is
    /// beyond the log's head, [`Error::TreePending`] when its tree is not built that far yet.
    fn tree_proof(
        &self,
        account: AccountId,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<ProofParts, Error>> + Send;

    /// The accounts whose tree is behind their log (a database from before the tree).
    fn unbuilt_trees(&self) -> impl Future<Output = Result<Vec<AccountId>, Error>> + Send;

    /// Builds the nodes of at most `max` more changes of the account's tree, in one transaction
    /// that locks the account like a push; returns how many changes it added (0: built).
    fn build_tree(
        &self,
        account: AccountId,
        max: u64,
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Stores `note` as the device's latest checkpoint (replacing the one before), at `now`.
    fn put_checkpoint(
        &self,
        account: AccountId,
        device: DeviceId,
        note: String,
        now: u64,
    ) -> impl Future<Output = Result<DeviceCheckpoint, Error>> + Send;

    /// The latest checkpoint of every device of the account that published one.
    fn checkpoints(
        &self,
        account: AccountId,
    ) -> impl Future<Output = Result<Vec<DeviceCheckpoint>, Error>> + Send;

    /// Sets (or with `None` clears) a device's certificate ([`Error::NoSuchDevice`] if the account
    /// has no such device).
    fn set_certificate(
        &self,
        account: AccountId,
        device: DeviceId,
        certificate: Option<String>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Builds the tree of every account whose tree is behind its log, [`tree::BUILD_CHUNK`] changes a
/// transaction, so a restart resumes where the last one stopped. Returns how many accounts and
/// changes it built (both 0 on a database that needed nothing).
pub(crate) async fn build_trees<S: Storage>(storage: &S) -> Result<(u64, u64), Error> {
    let (mut accounts, mut changes) = (0, 0);
    for account in storage.unbuilt_trees().await? {
        accounts += 1;
        loop {
            let built = storage.build_tree(account, tree::BUILD_CHUNK).await?;
            if built == 0 {
                break;
            }
            changes += built;
        }
    }
    Ok((accounts, changes))
}

/// The server's version of a record, as far as deciding a push needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Current {
    pub seq: u64,
    pub tombstone: bool,
}

/// An item of a push that is applied.
#[derive(Debug)]
pub(crate) struct Apply {
    /// Index of the item in the request.
    pub item: usize,
    pub seq: u64,
    pub blob_hash: [u8; 32],
    /// Chain hash after this change.
    pub chain_hash: [u8; 32],
    /// The change's leaf of the log's Merkle tree.
    pub leaf: Hash,
}

/// What a push does.
#[derive(Debug)]
pub(crate) struct PushPlan {
    pub apply: Vec<Apply>,
    /// Indexes of the items that conflict.
    pub conflicts: Vec<usize>,
    /// The head after the applied items.
    pub head: ChainHead,
    /// Live records after the push.
    pub live: u64,
}

/// Decides a push: each item (in request order) whose `base_seq` is the record's current sequence
/// number (0 when the server has none) gets the next sequence number and extends the chain; the others
/// conflict. Refused whole with [`Error::QuotaExceeded`] when it would raise the live-record count above
/// `max_records`.
pub(crate) fn plan_push(
    head: ChainHead,
    live: u64,
    items: &[PushItem],
    current: &HashMap<Rid, Current>,
    max_records: u64,
) -> Result<PushPlan, Error> {
    let mut plan = PushPlan {
        apply: Vec::with_capacity(items.len()),
        conflicts: Vec::new(),
        head,
        live,
    };
    for (i, item) in items.iter().enumerate() {
        let cur = current.get(&item.rid);
        if item.base_seq != cur.map_or(0, |c| c.seq) {
            plan.conflicts.push(i);
            continue;
        }
        let was_live = cur.is_some_and(|c| !c.tombstone);
        match (was_live, !item.tombstone) {
            (false, true) => plan.live += 1,
            (true, false) => plan.live -= 1,
            _ => {}
        }
        let hash = blob_hash(&item.blob);
        plan.head = plan
            .head
            .next(plan.head.seq + 1, &item.rid, item.tombstone, &hash);
        plan.apply.push(Apply {
            item: i,
            seq: plan.head.seq,
            blob_hash: hash,
            chain_hash: plan.head.hash,
            leaf: change_leaf(plan.head.seq, &item.rid, item.tombstone, &hash),
        });
    }
    if plan.live > max_records && plan.live > live {
        return Err(Error::QuotaExceeded { max: max_records });
    }
    Ok(plan)
}

/// The conflict answer for a record the server does not have: sequence number 0, a tombstone with an
/// empty blob (the client's base pointed at a version the server never had).
pub(crate) fn absent(rid: Rid) -> RemoteRecord {
    RemoteRecord {
        rid,
        seq: 0,
        tombstone: true,
        blob: Vec::new(),
    }
}

/// A change-log row as read for a pull, before its blob is fetched.
pub(crate) struct ChangeRow {
    pub seq: u64,
    pub rid: Rid,
    pub tombstone: bool,
    pub blob_hash: [u8; 32],
    pub chain_hash: [u8; 32],
    /// Length of the blob when this change is still the record's current version.
    pub current_len: Option<u64>,
}

/// How many of `rows` (fetched with `limit + 1`) fit in a page, and whether more follow.
pub(crate) fn page_cut(rows: &[ChangeRow], limit: usize) -> (usize, bool) {
    let mut bytes = 0u64;
    for (i, row) in rows.iter().enumerate() {
        if i == limit {
            return (i, true);
        }
        bytes += row.current_len.unwrap_or(0);
        if i > 0 && bytes > PULL_BYTES {
            return (i, true);
        }
    }
    (rows.len(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rid: u8, base_seq: u64, tombstone: bool) -> PushItem {
        PushItem {
            rid: [rid; 16],
            base_seq,
            tombstone,
            blob: vec![rid],
        }
    }

    #[test]
    fn matching_bases_apply_in_order_and_extend_the_chain() {
        let genesis = ChainHead::genesis(&[1; 16]);
        let live = Current {
            seq: 5,
            tombstone: false,
        };
        let current = HashMap::from([([2; 16], live), ([4; 16], Current { seq: 6, ..live })]);
        let head = ChainHead { seq: 7, ..genesis };
        let items = [
            item(1, 0, false),
            item(2, 4, false),
            item(3, 9, false),
            item(4, 6, true),
        ];
        let plan = plan_push(head, 2, &items, &current, 10).unwrap();
        assert_eq!(plan.conflicts, vec![1, 2]);
        assert_eq!(plan.apply.len(), 2);
        assert_eq!((plan.apply[0].seq, plan.apply[1].seq), (8, 9));
        let h8 = head.next(8, &[1; 16], false, &blob_hash(&[1]));
        let h9 = h8.next(9, &[4; 16], true, &blob_hash(&[4]));
        assert_eq!(plan.head, h9);
        assert_eq!(plan.apply[0].chain_hash, h8.hash);
        // One record created, one deleted.
        assert_eq!(plan.live, 2);
        assert_eq!(
            plan.apply[1].leaf,
            change_leaf(9, &[4; 16], true, &blob_hash(&[4]))
        );
    }

    #[test]
    fn a_push_over_the_quota_is_refused_whole_but_deletions_pass() {
        let head = ChainHead::genesis(&[1; 16]);
        let none = HashMap::new();
        assert!(matches!(
            plan_push(head, 2, &[item(1, 0, false)], &none, 2),
            Err(Error::QuotaExceeded { max: 2 })
        ));
        let live = HashMap::from([(
            [1; 16],
            Current {
                seq: 1,
                tombstone: false,
            },
        )]);
        let plan = plan_push(head, 3, &[item(1, 1, true)], &live, 2).unwrap();
        assert_eq!(plan.live, 2);
    }

    #[test]
    fn pages_stop_at_the_limit_or_the_byte_budget() {
        let row = |len: Option<u64>| ChangeRow {
            seq: 1,
            rid: [0; 16],
            tombstone: false,
            blob_hash: [0; 32],
            chain_hash: [0; 32],
            current_len: len,
        };
        let rows: Vec<_> = (0..3).map(|_| row(Some(10))).collect();
        assert_eq!(page_cut(&rows, 3), (3, false));
        assert_eq!(page_cut(&rows, 2), (2, true));
        let big: Vec<_> = (0..3).map(|_| row(Some(PULL_BYTES))).collect();
        assert_eq!(page_cut(&big, 10), (1, true));
        assert_eq!(page_cut(&[], 10), (0, false));
    }
}
