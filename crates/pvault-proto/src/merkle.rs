//! The Merkle tree over a profile's change log (RFC 6962, restated in RFC 9162 section 2.1).
//!
//! This module owns the tree's hashes, the compact view of a tree a client keeps (the [`Frontier`]),
//! the addresses of the nodes a server stores, and consistency and inclusion proofs: which stored
//! nodes make one up, and how a client checks one. Like the rest of the crate it does no I/O: a
//! server passes in a lookup into its node table.
//!
//! Where the hash chain ([`crate::chain`]) lets a client check a page that extends the head it saw,
//! the tree lets it check, with a logarithmic proof, that a log it last saw at size `m` is a prefix
//! of the log at size `n` (a consistency proof), or that a change is in the log (an inclusion proof).
//!
//! # Hashes
//!
//! ```text
//! leaf_hash(d)    = SHA-256(0x00 | d)
//! node_hash(l, r) = SHA-256(0x01 | l | r)
//! MTH([])         = SHA-256("")                          (empty_root)
//! MTH([d])        = leaf_hash(d)
//! MTH(D[0:n])     = node_hash(MTH(D[0:k]), MTH(D[k:n]))  k: the largest power of two < n
//! ```
//!
//! # The leaf of a change
//!
//! The change with sequence number `seq` is leaf `seq - 1`. Its data are 71 bytes, the fields of a
//! chain link at fixed sizes without framing:
//!
//! ```text
//! "pvault/v1/leaf" (14) | seq u64 BE (8) | rid (16) | tombstone u8 0 or 1 (1) | SHA-256(blob) (32)
//! ```
//!
//! # Nodes
//!
//! Node `(level, index)` is the root of the perfect subtree over the leaves
//! `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes. These are the only nodes
//! that never change once written, so they are what a server stores: [`new_nodes`] gives every one
//! an append completes. Every hash of a proof is the MTH of a range of leaves `[start, end)`; when
//! the range is not a perfect subtree (the right edge of a tree whose size is not a power of two)
//! it is the fold ([`range_root`]) of the few perfect nodes [`range_nodes`] names.
//!
//! # The frontier
//!
//! The roots of the perfect subtrees that cover `[0, size)`, largest (leftmost) first: one per bit
//! set in `size`, so at most 64. It is all a client needs to compute the root and to go on
//! appending. As bytes (`Frontier::to_bytes`):
//!
//! ```text
//! size u64 BE (8) | popcount(size) hashes (32 each)
//! ```
//!
//! ```
//! use pvault_proto::merkle::{Frontier, change_leaf, consistency_proof, new_nodes, verify_consistency};
//! use std::collections::HashMap;
//!
//! // The server stores every node an append completes.
//! let mut table = HashMap::new();
//! let leaves: Vec<_> = (1..=10u64).map(|seq| change_leaf(seq, &[1; 16], false, &[2; 32])).collect();
//! let (at_6, nodes) = new_nodes(&Frontier::new(), &leaves[..6]);
//! table.extend(nodes.into_iter().map(|(level, index, hash)| ((level, index), hash)));
//! let (at_10, nodes) = new_nodes(&at_6, &leaves[6..]);
//! table.extend(nodes.into_iter().map(|(level, index, hash)| ((level, index), hash)));
//!
//! // A client that saw the tree at size 6 checks that the tree at size 10 extends it.
//! let proof = consistency_proof(6, 10, |level, index| table.get(&(level, index)).copied()).unwrap();
//! assert!(verify_consistency(6, 10, &at_6.root(), &at_10.root(), &proof).is_ok());
//! ```

use std::ops::Range;

use pvault_codec::ChainHasher;
use thiserror::Error;

use crate::Rid;

/// A SHA-256 hash: a leaf, a node or a root.
pub type Hash = [u8; 32];

/// The domain string that opens the data of a change-log leaf.
pub const LEAF_DOMAIN: &[u8] = b"pvault/v1/leaf";

/// Why a proof or a stored frontier is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MerkleError {
    #[error("the log shrank from {old} to {new} entries")]
    Shrank { old: u64, new: u64 },
    #[error("consistency proof does not verify: {0}")]
    Inconsistent(&'static str),
    #[error("inclusion proof does not verify: {0}")]
    NotIncluded(&'static str),
    #[error("malformed frontier: {0}")]
    BadFrontier(&'static str),
}

/// The hash of a leaf with these data: `SHA-256(0x00 | data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    ChainHasher::new().raw(&[0x00]).raw(data).finish()
}

/// The hash of an inner node: `SHA-256(0x01 | left | right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    ChainHasher::new()
        .raw(&[0x01])
        .raw(left)
        .raw(right)
        .finish()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    ChainHasher::new().finish()
}

/// The leaf of the change with sequence number `seq` (leaf index `seq - 1`); its data are laid out
/// in the module documentation.
pub fn change_leaf(seq: u64, rid: &Rid, tombstone: bool, blob_hash: &Hash) -> Hash {
    ChainHasher::new()
        .raw(&[0x00])
        .raw(LEAF_DOMAIN)
        .raw(&seq.to_be_bytes())
        .raw(rid)
        .raw(&[u8::from(tombstone)])
        .raw(blob_hash)
        .finish()
}

/// The roots of the perfect subtrees covering the first `size` leaves, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One hash per bit set in `size`, from the highest bit down.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// A frontier from the hashes of the nodes [`nodes_needed`]`(size)` names, in that order.
    pub fn from_nodes(size: u64, hashes: Vec<Hash>) -> Result<Frontier, MerkleError> {
        if hashes.len() != size.count_ones() as usize {
            return Err(MerkleError::BadFrontier(
                "the number of hashes is not the number of bits set in the size",
            ));
        }
        Ok(Frontier { size, hashes })
    }

    /// A frontier stored with [`Frontier::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Frontier, MerkleError> {
        let (size, rest) = bytes
            .split_first_chunk::<8>()
            .ok_or(MerkleError::BadFrontier("shorter than its size"))?;
        if rest.len() % 32 != 0 {
            return Err(MerkleError::BadFrontier(
                "the hashes are not a whole number of 32-byte hashes",
            ));
        }
        let hashes = rest
            .chunks_exact(32)
            .map(|h| Hash::try_from(h).expect("chunks of 32 bytes"))
            .collect();
        Frontier::from_nodes(u64::from_be_bytes(*size), hashes)
    }

    /// `size` as a big-endian `u64`, then the hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.hashes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for hash in &self.hashes {
            out.extend_from_slice(hash);
        }
        out
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree roots, largest first: the hashes of the nodes [`nodes_needed`]`(self.size())`.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The tree's root (RFC 6962 MTH).
    pub fn root(&self) -> Hash {
        range_root(&self.hashes)
    }

    /// Appends one leaf hash (amortized O(1)).
    ///
    /// # Panics
    ///
    /// When the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) {
        self.append(leaf, &mut |_, _, _| {});
    }

    /// Appends `leaf`, telling `completed` each node that becomes complete: the leaf itself, then
    /// one node for each subtree it closes. Leaf `i` closes as many subtrees as `i` has trailing
    /// one bits: the frontier's smallest subtrees, which merge with it two by two.
    fn append(&mut self, leaf: Hash, completed: &mut impl FnMut(u8, u64, Hash)) {
        let index = self.size;
        self.size = index
            .checked_add(1)
            .expect("a tree holds at most u64::MAX leaves");
        let mut node = leaf;
        completed(0, index, node);
        for level in 1..=index.trailing_ones() as u8 {
            let left = self
                .hashes
                .pop()
                .expect("a frontier holds one hash per bit set in its size");
            node = node_hash(&left, &node);
            completed(level, index >> level, node);
        }
        self.hashes.push(node);
    }
}

/// The nodes `(level, index)` whose hashes make up the frontier of a tree of `size` leaves, in
/// frontier order (largest first).
pub fn nodes_needed(size: u64) -> Vec<(u8, u64)> {
    range_nodes(0, size)
}

/// Appends `new_leaves` to a tree: the frontier after them, and every node `(level, index, hash)`
/// they complete (each leaf at level 0, then the nodes above it that it closes), in the order they
/// complete. A server that inserts them all holds every node of the tree.
pub fn new_nodes(
    frontier_before: &Frontier,
    new_leaves: &[Hash],
) -> (Frontier, Vec<(u8, u64, Hash)>) {
    let mut frontier = frontier_before.clone();
    let mut nodes = Vec::with_capacity(2 * new_leaves.len());
    for leaf in new_leaves {
        frontier.append(*leaf, &mut |level, index, hash| {
            nodes.push((level, index, hash))
        });
    }
    (frontier, nodes)
}

/// The perfect subtrees `(level, index)` that make up the leaves `[start, end)`, largest first: one
/// per bit set in `end - start`. Folded with [`range_root`] their hashes give `MTH(D[start:end])`.
///
/// This holds for the ranges of the RFC 6962 tree (every range a proof names): their `start` is a
/// multiple of the largest power of two not above their length. An empty range has no nodes.
///
/// # Panics
///
/// When `start > end`, or `start` is not aligned so: such a range's MTH is not made of stored nodes.
pub fn range_nodes(start: u64, end: u64) -> Vec<(u8, u64)> {
    assert!(start <= end, "range [{start}, {end}) ends before it starts");
    let len = end - start;
    if len > 0 {
        let top = len.ilog2();
        assert!(
            start.trailing_zeros() >= top,
            "range [{start}, {end}) is not aligned to 2^{top}: it is not a subtree of the log"
        );
    }
    let mut nodes = Vec::with_capacity(len.count_ones() as usize);
    let mut at = start;
    for level in (0..64u8).rev() {
        if (len >> level) & 1 == 1 {
            nodes.push((level, at >> level));
            at += 1 << level;
        }
    }
    nodes
}

/// The MTH of a range from the hashes of its [`range_nodes`], in that order: folded right to
/// left, `node_hash(h0, node_hash(h1, ... node_hash(h(k-2), h(k-1))))`. No hashes: the empty root.
pub fn range_root(hashes: &[Hash]) -> Hash {
    match hashes.split_last() {
        None => empty_root(),
        Some((last, rest)) => rest
            .iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    }
}

/// The leaf ranges whose MTHs make up the consistency proof from size `m` to size `n`, in proof
/// order (RFC 9162 section 2.1.4.1, SUBPROOF). Empty when `m == 0` or `m == n`; `None` when
/// `m > n`.
pub fn consistency_proof_nodes(m: u64, n: u64) -> Option<Vec<Range<u64>>> {
    if m > n {
        return None;
    }
    let mut ranges = Vec::new();
    if m > 0 {
        subproof(m, 0..n, true, &mut ranges);
    }
    Some(ranges)
}

/// SUBPROOF(m, D[range], known), with `m` counted from leaf 0 rather than from `range.start`.
/// `known` is the RFC's `b`: the range still starts at leaf 0, so when it ends at `m` its MTH is the
/// old root, which the verifier holds and the proof leaves out.
fn subproof(m: u64, range: Range<u64>, known: bool, out: &mut Vec<Range<u64>>) {
    if m == range.end {
        if !known {
            out.push(range);
        }
        return;
    }
    let mid = range.start + split(range.end - range.start);
    if m <= mid {
        // The right part exists only in the new tree: prove the left part, commit to the right.
        subproof(m, range.start..mid, known, out);
        out.push(mid..range.end);
    } else {
        // The left part is the same in both trees: commit to it, prove the right part.
        subproof(m, mid..range.end, false, out);
        out.push(range.start..mid);
    }
}

/// The size of the left subtree of a tree of `len >= 2` leaves: the largest power of two below it.
fn split(len: u64) -> u64 {
    1 << (len - 1).ilog2()
}

/// The consistency proof from size `m` to size `n`, built from a node lookup (`fetch(level, index)`
/// gives a stored node's hash). `None` when `m > n` or a node is missing.
pub fn consistency_proof(
    m: u64,
    n: u64,
    mut fetch: impl FnMut(u8, u64) -> Option<Hash>,
) -> Option<Vec<Hash>> {
    consistency_proof_nodes(m, n)?
        .into_iter()
        .map(|range| range_hash(range, &mut fetch))
        .collect()
}

/// The MTH of a range of the tree, from the stored nodes that make it up.
fn range_hash(range: Range<u64>, fetch: &mut impl FnMut(u8, u64) -> Option<Hash>) -> Option<Hash> {
    let hashes = range_nodes(range.start, range.end)
        .into_iter()
        .map(|(level, index)| fetch(level, index))
        .collect::<Option<Vec<Hash>>>()?;
    Some(range_root(&hashes))
}

/// Checks that the tree of `n` leaves with root `root_n` extends the tree of `m` leaves with root
/// `root_m` (RFC 9162 section 2.1.4.2).
///
/// The RFC's algorithm covers `0 < m < n`; the other cases are settled before it. `m > n` is refused
/// (a log does not shrink). `m == n` takes an empty proof and equal roots. `m == 0` takes an empty
/// proof (every tree extends the empty one) and, as `root_m`, the empty tree's root.
pub fn verify_consistency(
    m: u64,
    n: u64,
    root_m: &Hash,
    root_n: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    use MerkleError::Inconsistent;
    if m > n {
        return Err(MerkleError::Shrank { old: m, new: n });
    }
    if m == 0 && *root_m != empty_root() {
        return Err(Inconsistent("the root of size 0 is not the empty tree's"));
    }
    if m == 0 || m == n {
        if !proof.is_empty() {
            return Err(Inconsistent(
                "a proof from the empty tree or to the same size is empty",
            ));
        }
        if m == n && root_m != root_n {
            return Err(Inconsistent("two different roots for one size"));
        }
        return Ok(());
    }

    // 1. An empty proof fails.
    if proof.is_empty() {
        return Err(Inconsistent("empty proof"));
    }
    // 2. When m is a power of two the old tree is a node of the new one, left out of the proof.
    let mut path = Vec::with_capacity(proof.len() + 1);
    if m.is_power_of_two() {
        path.push(*root_m);
    }
    path.extend_from_slice(proof);
    // 3. f and s are the RFC's fn and sn: the last leaf of each tree, climbing as we go.
    let (mut f, mut s) = (m - 1, n - 1);
    // 4. Climb to the first node the old tree does not share with the new one.
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // 5. fr and sr: the old and the new root as far as computed.
    let (mut fr, mut sr) = (path[0], path[0]);
    // 6.
    for c in &path[1..] {
        if s == 0 {
            return Err(Inconsistent("the proof is longer than the trees are high"));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // 7.
    if s != 0 {
        return Err(Inconsistent("the proof is shorter than the trees are high"));
    }
    if fr != *root_m {
        return Err(Inconsistent("the proof does not lead to the old root"));
    }
    if sr != *root_n {
        return Err(Inconsistent("the proof does not lead to the new root"));
    }
    Ok(())
}

/// The leaf ranges whose MTHs make up the inclusion proof of leaf `index` in a tree of `size`
/// leaves, in proof order (RFC 9162 section 2.1.3.1, PATH). `None` when `index >= size`.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Option<Vec<Range<u64>>> {
    if index >= size {
        return None;
    }
    let mut ranges = Vec::new();
    path(index, 0..size, &mut ranges);
    Some(ranges)
}

/// PATH(index, D[range]), with `index` counted from leaf 0.
fn path(index: u64, range: Range<u64>, out: &mut Vec<Range<u64>>) {
    if range.end - range.start == 1 {
        return;
    }
    let mid = range.start + split(range.end - range.start);
    if index < mid {
        path(index, range.start..mid, out);
        out.push(mid..range.end);
    } else {
        path(index, mid..range.end, out);
        out.push(range.start..mid);
    }
}

/// The inclusion proof of leaf `index` in a tree of `size` leaves, built from a node lookup.
/// `None` when `index >= size` or a node is missing.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    mut fetch: impl FnMut(u8, u64) -> Option<Hash>,
) -> Option<Vec<Hash>> {
    inclusion_proof_nodes(index, size)?
        .into_iter()
        .map(|range| range_hash(range, &mut fetch))
        .collect()
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves with root `root` (RFC 9162
/// section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    use MerkleError::NotIncluded;
    // 1.
    if index >= size {
        return Err(NotIncluded("the index is beyond the tree"));
    }
    // 2. f and s are the RFC's fn and sn: the leaf and the tree's last leaf, climbing as we go.
    let (mut f, mut s) = (index, size - 1);
    // 3.
    let mut r = *leaf;
    // 4.
    for p in proof {
        if s == 0 {
            return Err(NotIncluded("the proof is longer than the tree is high"));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    // 5.
    if s != 0 {
        return Err(NotIncluded("the proof is shorter than the tree is high"));
    }
    if r != *root {
        return Err(NotIncluded("the proof does not lead to the root"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;

    fn h(hex: &str) -> Hash {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex, &mut out).unwrap();
        out
    }

    fn hs(hexes: &[&str]) -> Vec<Hash> {
        hexes.iter().map(|x| h(x)).collect()
    }

    /// RFC 6962 MTH, straight from its definition.
    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = 1 << (n - 1).ilog2();
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    /// Leaves 0, 1, ... of a test tree.
    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    /// Every node of the tree over `leaves`, as a server's node table.
    fn table(leaves: &[Hash]) -> HashMap<(u8, u64), Hash> {
        let (_, nodes) = new_nodes(&Frontier::new(), leaves);
        nodes
            .into_iter()
            .map(|(l, i, hash)| ((l, i), hash))
            .collect()
    }

    fn flip(hash: &Hash) -> Hash {
        let mut out = *hash;
        out[0] ^= 0x10;
        out
    }

    // The test vectors of transparency-dev/merkle, proof/verify_test.go (the Certificate
    // Transparency reference tree, also in google/certificate-transparency-go): 8 leaves, the roots
    // of the trees of sizes 1 to 8, and known proofs. Its inclusion vectors number leaves from 1;
    // here they are the 0-based indexes.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                hs(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                6,
                8,
                hs(&[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                5,
                hs(&[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
            (
                6,
                7,
                hs(&[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
        ]
    }

    fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (0, 1, vec![]),
            (
                0,
                8,
                hs(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                5,
                8,
                hs(&[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                3,
                hs(&["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            ),
            (
                1,
                5,
                hs(&[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
        ]
    }

    fn reference_leaves() -> Vec<Hash> {
        LEAVES
            .iter()
            .map(|d| leaf_hash(&hex::decode(d).unwrap()))
            .collect()
    }

    fn reference_root(size: u64) -> Hash {
        if size == 0 {
            h(EMPTY_ROOT)
        } else {
            h(ROOTS[size as usize - 1])
        }
    }

    #[test]
    fn the_reference_tree_has_the_published_roots() {
        assert_eq!(empty_root(), h(EMPTY_ROOT));
        assert_eq!(Frontier::new().root(), h(EMPTY_ROOT));
        let mut frontier = Frontier::new();
        for (i, leaf) in reference_leaves().into_iter().enumerate() {
            frontier.push(leaf);
            assert_eq!(frontier.root(), h(ROOTS[i]), "size {}", i + 1);
        }
    }

    #[test]
    fn published_consistency_proofs_verify_and_are_the_ones_built() {
        let table = table(&reference_leaves());
        for (m, n, proof) in consistency_vectors() {
            let (root_m, root_n) = (reference_root(m), reference_root(n));
            assert_eq!(verify_consistency(m, n, &root_m, &root_n, &proof), Ok(()));
            let built = consistency_proof(m, n, |l, i| table.get(&(l, i)).copied()).unwrap();
            assert_eq!(built, proof, "{m} -> {n}");
        }
    }

    /// The corruptions transparency-dev/merkle tries on each published proof (verify_test.go,
    /// corruptConsistencyProof): none may verify.
    #[test]
    fn corrupted_published_consistency_proofs_fail() {
        let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        for (m, n, proof) in consistency_vectors() {
            if proof.is_empty() {
                continue;
            }
            let (r1, r2) = (reference_root(m), reference_root(n));
            let with = |front: Option<Hash>, back: Option<Hash>| -> Vec<Hash> {
                front.into_iter().chain(proof.clone()).chain(back).collect()
            };
            let truncated = proof[..proof.len() - 1].to_vec();
            let probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (m - 1, n, r1, r2, proof.clone()),
                (m + 1, n, r1, r2, proof.clone()),
                (m ^ 2, n, r1, r2, proof.clone()),
                (m, n * 2, r1, r2, proof.clone()),
                (m, n / 2, r1, r2, proof.clone()),
                (m, n, some_hash, r2, proof.clone()),
                (m, n, r1, some_hash, proof.clone()),
                (m, n, r2, r1, proof.clone()),
                (m, n, r1, r2, vec![]),
                (m, n, r1, r2, with(None, Some(r1))),
                (m, n, r1, r2, with(None, Some(r2))),
                (m, n, r1, r2, with(None, Some(some_hash))),
                (m, n, r1, r2, with(Some(r1), None)),
                (m, n, r1, r2, with(Some(r2), None)),
                (m, n, r1, r2, with(Some(proof[0]), None)),
                (m, n, r1, r2, truncated),
            ];
            for (i, (m2, n2, a, b, p)) in probes.into_iter().enumerate() {
                assert!(
                    verify_consistency(m2, n2, &a, &b, &p).is_err(),
                    "{m} -> {n}, probe {i}"
                );
            }
        }
    }

    /// transparency-dev/merkle's TestVerifyConsistency edge cases, with the empty tree's root as the
    /// root of size 0 (this module checks it; that one ignores it).
    #[test]
    fn edge_cases_of_consistency() {
        let (r1, r2, empty) = ([1; 32], [2; 32], empty_root());
        assert!(verify_consistency(0, 0, &empty, &empty, &[]).is_ok());
        assert!(verify_consistency(0, 0, &empty, &r2, &[]).is_err());
        assert!(verify_consistency(0, 1, &empty, &r2, &[]).is_ok());
        assert!(verify_consistency(0, 1, &r1, &r2, &[]).is_err());
        assert!(verify_consistency(0, 1, &empty, &r2, &[empty]).is_err());
        assert!(verify_consistency(1, 1, &r2, &r2, &[]).is_ok());
        assert!(verify_consistency(1, 1, &r1, &r2, &[]).is_err());
        assert!(verify_consistency(1, 1, &r2, &r2, &[empty]).is_err());
        assert!(verify_consistency(1, 2, &r1, &r2, &[]).is_err());
        assert_eq!(
            verify_consistency(1, 0, &r1, &empty, &[]),
            Err(MerkleError::Shrank { old: 1, new: 0 })
        );
        assert!(verify_consistency(2, 1, &r1, &r2, &[]).is_err());
        assert_eq!(consistency_proof_nodes(2, 1), None);
        assert_eq!(consistency_proof_nodes(0, 5), Some(vec![]));
        assert_eq!(consistency_proof_nodes(5, 5), Some(vec![]));
    }

    #[test]
    fn published_inclusion_proofs_verify_and_are_the_ones_built() {
        let leaves = reference_leaves();
        let table = table(&leaves);
        for (index, size, proof) in inclusion_vectors() {
            let (leaf, root) = (leaves[index as usize], reference_root(size));
            assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
            let built = inclusion_proof(index, size, |l, i| table.get(&(l, i)).copied()).unwrap();
            assert_eq!(built, proof, "leaf {index} of {size}");

            // transparency-dev/merkle's corruptInclusionProof.
            let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
            let mut probes = vec![
                (index.wrapping_sub(1), size, leaf, root, proof.clone()),
                (index + 1, size, leaf, root, proof.clone()),
                (index ^ 2, size, leaf, root, proof.clone()),
                (index, size * 2, leaf, root, proof.clone()),
                (index, size / 2, leaf, root, proof.clone()),
                (index, size, flip(&leaf), root, proof.clone()),
                (index, size, leaf, h(EMPTY_ROOT), proof.clone()),
                (index, size, leaf, some_hash, proof.clone()),
                (
                    index,
                    size,
                    leaf,
                    root,
                    [proof.clone(), vec![root]].concat(),
                ),
                (
                    index,
                    size,
                    leaf,
                    root,
                    [vec![root], proof.clone()].concat(),
                ),
            ];
            for i in 0..proof.len() {
                let mut wrong = proof.clone();
                wrong[i] = flip(&wrong[i]);
                probes.push((index, size, leaf, root, wrong));
            }
            if !proof.is_empty() {
                probes.push((index, size, leaf, root, proof[..proof.len() - 1].to_vec()));
            }
            for (i, (idx, sz, lf, rt, p)) in probes.into_iter().enumerate() {
                assert!(
                    verify_inclusion(idx, sz, &lf, &p, &rt).is_err(),
                    "leaf {index} of {size}, probe {i}"
                );
            }
        }
        assert_eq!(inclusion_proof_nodes(3, 3), None);
        assert!(verify_inclusion(0, 0, &empty_root(), &[], &empty_root()).is_err());
    }

    #[test]
    fn every_consistency_proof_up_to_70_verifies_and_no_altered_one_does() {
        let leaves = leaves(70);
        let table = table(&leaves);
        let roots: Vec<Hash> = (0..=70).map(|n| naive_root(&leaves[..n])).collect();
        for n in 0..=70u64 {
            for m in 0..=n {
                let (root_m, root_n) = (roots[m as usize], roots[n as usize]);
                let proof = consistency_proof(m, n, |l, i| table.get(&(l, i)).copied()).unwrap();
                assert_eq!(
                    verify_consistency(m, n, &root_m, &root_n, &proof),
                    Ok(()),
                    "{m} -> {n}"
                );
                for i in 0..proof.len() {
                    let mut wrong = proof.clone();
                    wrong[i] = flip(&wrong[i]);
                    assert!(verify_consistency(m, n, &root_m, &root_n, &wrong).is_err());
                }
                assert!(verify_consistency(m, n, &flip(&root_m), &root_n, &proof).is_err());
                // Every tree extends the empty one: from size 0 the new root is not constrained.
                if m > 0 || n == 0 {
                    assert!(verify_consistency(m, n, &root_m, &flip(&root_n), &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn every_inclusion_proof_up_to_70_verifies_and_no_altered_one_does() {
        let leaves = leaves(70);
        let table = table(&leaves);
        for size in 1..=70u64 {
            let root = naive_root(&leaves[..size as usize]);
            for index in 0..size {
                let leaf = leaves[index as usize];
                let proof =
                    inclusion_proof(index, size, |l, i| table.get(&(l, i)).copied()).unwrap();
                assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
                for i in 0..proof.len() {
                    let mut wrong = proof.clone();
                    wrong[i] = flip(&wrong[i]);
                    assert!(verify_inclusion(index, size, &leaf, &wrong, &root).is_err());
                }
                assert!(verify_inclusion(index, size, &flip(&leaf), &proof, &root).is_err());
                assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root)).is_err());
            }
        }
    }

    #[test]
    fn a_missing_node_gives_no_proof() {
        let mut table = table(&leaves(8));
        table.remove(&(2, 1)); // leaves [4, 8)
        let fetch = |l, i| table.get(&(l, i)).copied();
        assert_eq!(consistency_proof(2, 8, fetch), None);
        assert_eq!(inclusion_proof(0, 8, fetch), None);
        assert!(consistency_proof(4, 6, fetch).is_some());
    }

    #[test]
    fn the_frontier_root_is_the_naive_root_for_sizes_0_to_200() {
        let leaves = leaves(200);
        let check = |frontier: &Frontier| {
            let n = frontier.size();
            assert_eq!(frontier.hashes().len(), n.count_ones() as usize);
            assert_eq!(
                frontier.root(),
                naive_root(&leaves[..n as usize]),
                "size {n}"
            );
        };
        let mut frontier = Frontier::new();
        for leaf in &leaves {
            check(&frontier);
            frontier.push(*leaf);
        }
        check(&frontier);
        assert_eq!(frontier.size(), 200);
    }

    #[test]
    fn range_roots_are_the_naive_roots_of_aligned_ranges() {
        let leaves = leaves(130);
        let table = table(&leaves);
        let mut checked = 0;
        for start in 0..130u64 {
            for end in start..=130 {
                let len = end - start;
                if len > 0 && start.trailing_zeros() < len.ilog2() {
                    continue; // not a range of the tree
                }
                let nodes = range_nodes(start, end);
                let hashes: Vec<Hash> = nodes.iter().map(|k| table[k]).collect();
                let want = naive_root(&leaves[start as usize..end as usize]);
                assert_eq!(range_root(&hashes), want, "[{start}, {end})");
                checked += 1;
            }
        }
        assert_eq!(checked, 923); // the aligned ranges within 130 leaves
        // Every range a proof names is one of those.
        for n in 1..=64 {
            for m in 1..=n {
                for r in consistency_proof_nodes(m, n).unwrap() {
                    range_nodes(r.start, r.end);
                }
            }
        }
    }

    #[test]
    fn sizes_near_u64_max_do_not_overflow() {
        let big = u64::MAX;
        for (m, n) in [
            (1, big),
            (big - 1, big),
            (1 << 63, big),
            ((1 << 63) + 1, big),
        ] {
            let ranges = consistency_proof_nodes(m, n).unwrap();
            assert!(!ranges.is_empty() && ranges.len() <= 2 * 64);
            for r in &ranges {
                assert!(!range_nodes(r.start, r.end).is_empty());
            }
            let proof = vec![[7; 32]; ranges.len()];
            assert!(verify_consistency(m, n, &[1; 32], &[2; 32], &proof).is_err());
        }
        assert_eq!(inclusion_proof_nodes(0, big).unwrap().len(), 64);
        // The last leaf is the frontier's smallest subtree: its path is the 63 to its left.
        assert_eq!(inclusion_proof_nodes(big - 1, big).unwrap().len(), 63);
        assert!(verify_inclusion(big - 1, big, &[1; 32], &[[7; 32]; 64], &[2; 32]).is_err());
        let mut frontier = Frontier::from_nodes(big - 1, vec![[0; 32]; 63]).unwrap();
        frontier.push([1; 32]);
        assert_eq!(frontier.hashes().len(), 64);
    }

    #[test]
    #[should_panic(expected = "not aligned")]
    fn an_unaligned_range_is_refused() {
        range_nodes(1, 3);
    }

    #[test]
    fn nodes_needed_name_the_frontier() {
        assert_eq!(nodes_needed(0), vec![]);
        assert_eq!(nodes_needed(1), vec![(0, 0)]);
        assert_eq!(nodes_needed(6), vec![(2, 0), (1, 2)]);
        assert_eq!(nodes_needed(7), vec![(2, 0), (1, 2), (0, 6)]);
        assert_eq!(nodes_needed(u64::MAX).len(), 64);
        let leaves = leaves(200);
        let table = table(&leaves);
        let check = |frontier: &Frontier| {
            let n = frontier.size();
            let hashes = nodes_needed(n).iter().map(|k| table[k]).collect();
            assert_eq!(Frontier::from_nodes(n, hashes).as_ref(), Ok(frontier));
        };
        let mut frontier = Frontier::new();
        for leaf in &leaves {
            check(&frontier);
            frontier.push(*leaf);
        }
        check(&frontier);
    }

    /// A small deterministic generator, so the chunkings are the same on every run.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn new_nodes_in_any_chunks_give_the_table_of_one_by_one() {
        let leaves = leaves(150);
        let mut one_by_one = BTreeMap::new();
        let mut frontier = Frontier::new();
        for leaf in &leaves {
            let (after, nodes) = new_nodes(&frontier, std::slice::from_ref(leaf));
            one_by_one.extend(nodes.into_iter().map(|(l, i, hash)| ((l, i), hash)));
            frontier = after;
        }
        // 2n - popcount(n) nodes: n leaves and n - popcount(n) inner nodes.
        assert_eq!(one_by_one.len(), 2 * 150 - 150u32.count_ones() as usize);
        let mut pushed = Frontier::new();
        leaves.iter().for_each(|leaf| pushed.push(*leaf));
        assert_eq!(frontier, pushed);

        for seed in 1..=20u64 {
            let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let (mut at, mut frontier, mut chunked) = (0, Frontier::new(), BTreeMap::new());
            while at < leaves.len() {
                let len = (next(&mut state) % 10) as usize; // empty chunks too
                let chunk = &leaves[at..(at + len).min(leaves.len())];
                let (after, nodes) = new_nodes(&frontier, chunk);
                for (l, i, hash) in nodes {
                    assert!(chunked.insert((l, i), hash).is_none(), "({l}, {i}) twice");
                }
                frontier = after;
                at += chunk.len();
            }
            assert_eq!(chunked, one_by_one, "seed {seed}");
            assert_eq!(frontier, pushed);
        }
    }

    #[test]
    fn new_nodes_names_each_node_by_its_leaves() {
        let leaves = leaves(13);
        let (_, nodes) = new_nodes(&Frontier::new(), &leaves);
        for (level, index, hash) in nodes {
            let start = (index << level) as usize;
            let end = ((index + 1) << level) as usize;
            assert_eq!(hash, naive_root(&leaves[start..end]), "({level}, {index})");
        }
    }

    #[test]
    fn frontier_bytes_round_trip_and_are_checked() {
        let leaves = leaves(100);
        let check = |frontier: &Frontier| {
            let bytes = frontier.to_bytes();
            assert_eq!(bytes.len(), 8 + 32 * frontier.size().count_ones() as usize);
            assert_eq!(Frontier::from_bytes(&bytes).as_ref(), Ok(frontier));
        };
        let mut frontier = Frontier::new();
        for leaf in &leaves {
            check(&frontier);
            frontier.push(*leaf);
        }
        check(&frontier);
        let bytes = frontier.to_bytes(); // size 100: three hashes
        assert_eq!(&bytes[..8], &100u64.to_be_bytes());
        let bad = |b: &[u8]| matches!(Frontier::from_bytes(b), Err(MerkleError::BadFrontier(_)));
        assert!(bad(&bytes[..7]));
        assert!(bad(&bytes[..bytes.len() - 1]));
        assert!(bad(&bytes[..bytes.len() - 32]));
        assert!(bad(&[bytes.clone(), vec![0; 32]].concat()));
        let mut other_size = bytes.clone();
        other_size[7] = 101; // four bits set
        assert!(bad(&other_size));
        assert!(Frontier::from_nodes(3, vec![[0; 32]]).is_err());
    }

    #[test]
    fn change_leaves_hash_the_documented_bytes() {
        let (rid, blob) = ([3u8; 16], [4u8; 32]);
        let mut data = Vec::new();
        data.extend_from_slice(b"pvault/v1/leaf");
        data.extend_from_slice(&7u64.to_be_bytes());
        data.extend_from_slice(&rid);
        data.push(1);
        data.extend_from_slice(&blob);
        assert_eq!(data.len(), 71);
        assert_eq!(change_leaf(7, &rid, true, &blob), leaf_hash(&data));

        let base = change_leaf(1, &rid, false, &blob);
        assert_ne!(base, change_leaf(2, &rid, false, &blob));
        assert_ne!(base, change_leaf(1, &[5; 16], false, &blob));
        assert_ne!(base, change_leaf(1, &rid, true, &blob));
        assert_ne!(base, change_leaf(1, &rid, false, &[6; 32]));
        // Leaves are what every server and client hashes: these bytes do not change.
        assert_eq!(
            hex::encode(base),
            "ece391b017ced85c84c69afd5cc665dd77de047653e7e399121e85777212783e"
        );
    }
}
