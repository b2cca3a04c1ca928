//! The Merkle tree of each account's change log as the `tree_nodes` table holds it: which stored
//! nodes a push, a backfill or a proof needs, and what it makes of them. The hashes and the node
//! addressing are [`pvault_proto::merkle`]'s; this module only turns its node lists into lookups
//! the SQL can answer in one query, and their answers back into frontiers, roots and proofs. No I/O.
//!
//! Node `(level, idx)` covers the leaves `[idx << level, (idx + 1) << level)`; the leaf of change
//! `seq` is `change_leaf(seq, rid, tombstone, blob_hash)` at index `seq - 1`. The table holds every
//! node of the tree of the first `accounts.tree_size` changes, which is the whole log (`head_seq`)
//! except while a database from before the tree is being built ([`BUILD_CHUNK`] changes a
//! transaction, when the server starts).

use std::collections::{BTreeSet, HashMap};

use pvault_proto::Rid;
use pvault_proto::merkle::{
    Frontier, Hash, change_leaf, consistency_proof, consistency_proof_nodes, nodes_needed,
    range_nodes, range_root,
};

use super::rows::corrupt;
use crate::error::Error;

/// Changes whose nodes one transaction of a backfill builds.
pub(crate) const BUILD_CHUNK: u64 = 10_000;

/// A node's address: `(level, idx)`.
pub(crate) type NodeKey = (u8, u64);

/// Stored nodes, as loaded by address.
pub(crate) type Nodes = HashMap<NodeKey, Hash>;

/// A change-log row as the tree needs it.
pub(crate) struct LeafRow {
    pub seq: u64,
    pub rid: Rid,
    pub tombstone: bool,
    pub blob_hash: Hash,
}

/// The frontier of the tree of `size` leaves from loaded nodes (which must hold
/// [`nodes_needed`]`(size)`; a missing one means the table is damaged).
pub(crate) fn frontier(size: u64, nodes: &Nodes) -> Result<Frontier, Error> {
    let hashes = nodes_needed(size)
        .iter()
        .map(|key| nodes.get(key).copied())
        .collect::<Option<Vec<Hash>>>()
        .ok_or_else(|| {
            corrupt(format!(
                "a frontier node of the tree of size {size} is missing"
            ))
        })?;
    Frontier::from_nodes(size, hashes).map_err(|e| corrupt(e.to_string()))
}

/// The leaves of change rows that follow a tree of `size` leaves, checking that they continue it
/// without a gap.
pub(crate) fn leaves(size: u64, rows: &[LeafRow]) -> Result<Vec<Hash>, Error> {
    rows.iter()
        .zip(size + 1..)
        .map(|(row, seq)| {
            if row.seq != seq {
                return Err(corrupt(format!(
                    "the change log has {} where change {seq} should be",
                    row.seq
                )));
            }
            Ok(change_leaf(
                row.seq,
                &row.rid,
                row.tombstone,
                &row.blob_hash,
            ))
        })
        .collect()
}

/// Every node the proof from size `m` to size `n` and the roots of both sizes are made of, each
/// once: what a proof loads, in one query. `m <= n`.
pub(crate) fn proof_keys(m: u64, n: u64) -> Vec<NodeKey> {
    let mut keys = BTreeSet::new();
    keys.extend(range_nodes(0, m));
    keys.extend(range_nodes(0, n));
    for range in consistency_proof_nodes(m, n).unwrap_or_default() {
        keys.extend(range_nodes(range.start, range.end));
    }
    keys.into_iter().collect()
}

/// The roots of the trees of sizes `m` and `n`, and the consistency proof between them.
pub(crate) struct ProofParts {
    pub root_from: Hash,
    pub root_to: Hash,
    pub proof: Vec<Hash>,
}

/// A consistency proof and both roots from the nodes [`proof_keys`] named.
pub(crate) fn proof(m: u64, n: u64, nodes: &Nodes) -> Result<ProofParts, Error> {
    let missing = || corrupt(format!("a node of the proof from {m} to {n} is missing"));
    let root = |size| -> Result<Hash, Error> {
        let hashes = range_nodes(0, size)
            .iter()
            .map(|key| nodes.get(key).copied())
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(missing)?;
        Ok(range_root(&hashes))
    };
    Ok(ProofParts {
        root_from: root(m)?,
        root_to: root(n)?,
        proof: consistency_proof(m, n, |level, idx| nodes.get(&(level, idx)).copied())
            .ok_or_else(missing)?,
    })
}

#[cfg(test)]
mod tests {
    use pvault_proto::merkle::{empty_root, new_nodes, verify_consistency};

    use super::*;

    fn table(n: u64) -> (Nodes, Vec<Hash>) {
        let leaves: Vec<Hash> = (1..=n)
            .map(|seq| change_leaf(seq, &[seq as u8; 16], seq % 3 == 0, &[7; 32]))
            .collect();
        let mut roots = vec![empty_root()];
        let mut frontier = Frontier::new();
        let mut nodes = Nodes::new();
        for leaf in &leaves {
            let (after, new) = new_nodes(&frontier, std::slice::from_ref(leaf));
            nodes.extend(new.into_iter().map(|(l, i, h)| ((l, i), h)));
            roots.push(after.root());
            frontier = after;
        }
        (nodes, roots)
    }

    #[test]
    fn proofs_from_the_keys_they_name_verify() {
        let (all, roots) = table(40);
        for n in 0..=40u64 {
            for m in 0..=n {
                let keys = proof_keys(m, n);
                let loaded: Nodes = keys.iter().map(|k| (*k, all[k])).collect();
                let parts = proof(m, n, &loaded).unwrap();
                assert_eq!(parts.root_from, roots[m as usize]);
                assert_eq!(parts.root_to, roots[n as usize]);
                verify_consistency(m, n, &parts.root_from, &parts.root_to, &parts.proof).unwrap();
                assert!(keys.len() <= 3 * 64);
            }
        }
        assert!(proof(3, 9, &Nodes::new()).is_err());
    }

    #[test]
    fn frontiers_and_leaves_check_what_they_read() {
        let (all, roots) = table(13);
        assert_eq!(frontier(13, &all).unwrap().root(), roots[13]);
        assert_eq!(frontier(0, &Nodes::new()).unwrap().root(), empty_root());
        assert!(frontier(5, &Nodes::new()).is_err());
        let row = |seq| LeafRow {
            seq,
            rid: [1; 16],
            tombstone: false,
            blob_hash: [2; 32],
        };
        assert_eq!(leaves(4, &[row(5), row(6)]).unwrap().len(), 2);
        assert!(leaves(4, &[row(5), row(7)]).is_err());
        assert!(leaves(4, &[row(6)]).is_err());
    }
}
