//! This device's Merkle tree over the log it pulled (RFC 6962, `pvault_proto::merkle`): the
//! frontier (at most 64 hashes) kept in `meta`, extended by every pulled page in the page's own
//! transaction, so its size is always the position reached. Its root is what this device signs in
//! its checkpoints and compares with the other devices' (`checkpoints.rs`).
//!
//! A store that pulled before the tree existed rebuilds it once, from the log read again from
//! genesis, which must end in the chain head this device saw.

use pvault_proto::chain::ChainHead;
use pvault_proto::merkle::{Frontier, change_leaf};
use rusqlite::Connection;

use super::engine::Engine;
use crate::error::{Error, Result};
use crate::store;

/// The stored frontier; an empty tree when none is stored.
fn load(conn: &Connection) -> Result<Option<Frontier>> {
    match store::meta_bytes(conn, store::SYNC_TREE)? {
        None => Ok(None),
        Some(bytes) => Frontier::from_bytes(&bytes).map(Some).map_err(|e| {
            Error::SyncIntegrity(format!("this device's stored log tree is damaged: {e}"))
        }),
    }
}

fn save(conn: &Connection, tree: &Frontier) -> Result<()> {
    store::set_meta_bytes(conn, store::SYNC_TREE, &tree.to_bytes())
}

impl Engine<'_> {
    /// Extends the stored tree with the changes of a verified page, inside the page's transaction.
    pub(super) fn extend_tree(
        &self,
        tx: &Connection,
        page: &pvault_proto::batch::PullPage,
    ) -> Result<()> {
        let mut tree = load(tx)?.unwrap_or_default();
        if tree.size() != page.since {
            return Err(Error::SyncIntegrity(format!(
                "this device's log tree ({} changes) is out of step with its position (#{})",
                tree.size(),
                page.since
            )));
        }
        for c in &page.changes {
            tree.push(change_leaf(c.seq, &c.rid, c.tombstone, &c.blob_hash));
        }
        save(tx, &tree)
    }

    /// The tree at the position this device reached, rebuilt from the server's log when the store
    /// predates it.
    pub(super) fn tree(&self) -> Result<Frontier> {
        let conn = self.vault.conn();
        let pulled = store::meta_u64(conn, store::SYNC_PULLED_SEQ)?;
        if let Some(tree) = load(conn)? {
            if tree.size() == pulled {
                return Ok(tree);
            }
            return Err(Error::SyncIntegrity(format!(
                "this device's log tree ({} changes) is out of step with its position (#{pulled})",
                tree.size()
            )));
        }
        let mut tree = Frontier::new();
        if pulled == 0 {
            return Ok(tree);
        }
        let mut head = ChainHead::genesis(&self.account);
        while head.seq < pulled {
            let page = self.page_after(&head, false)?;
            for c in &page.changes {
                if c.seq > pulled {
                    break;
                }
                head = head.next(c.seq, &c.rid, c.tombstone, &c.blob_hash);
                tree.push(change_leaf(c.seq, &c.rid, c.tombstone, &c.blob_hash));
            }
            if !page.more {
                break;
            }
        }
        let seen = store::meta_bytes(conn, store::SYNC_PULLED_HASH)?;
        if head.seq != pulled || seen.as_deref() != Some(&head.hash[..]) {
            return Err(Error::SyncIntegrity(format!(
                "the server's log up to #{pulled} is not the one this device saw"
            )));
        }
        save(conn, &tree)?;
        Ok(tree)
    }
}
