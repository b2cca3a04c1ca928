//! The hash chain over a profile's change log.
//!
//! Every change the server accepts gets the next sequence number and extends the chain:
//! `head(n) = SHA-256("pvault/v1/chain" | head(n-1) | seq | rid | tombstone | SHA-256(blob))`, starting
//! from `genesis(account)`. The server stores the head; a client recomputes it from the changes it
//! pulls and refuses a page whose chain does not extend the head it saw before (a rollback, a rewritten
//! or a withheld change).

use sha2::{Digest, Sha256};

use crate::{AccountId, Rid};

/// A position in the log: the last sequence number and the chain hash after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// Sequence number of the last change (0: empty log).
    pub seq: u64,
    /// Chain hash after that change.
    pub hash: [u8; 32],
}

impl ChainHead {
    /// The head of an empty log.
    pub fn genesis(account: &AccountId) -> ChainHead {
        let mut h = Sha256::new();
        h.update(b"pvault/v1/chain/genesis");
        h.update(account);
        ChainHead {
            seq: 0,
            hash: h.finalize().into(),
        }
    }

    /// The head after one more change.
    pub fn next(&self, seq: u64, rid: &Rid, tombstone: bool, blob_hash: &[u8; 32]) -> ChainHead {
        let mut h = Sha256::new();
        h.update(b"pvault/v1/chain");
        h.update(self.hash);
        h.update(seq.to_be_bytes());
        h.update(rid);
        h.update([u8::from(tombstone)]);
        h.update(blob_hash);
        ChainHead {
            seq,
            hash: h.finalize().into(),
        }
    }
}

/// SHA-256 of a blob, as chained and as sent for changes whose blob is superseded.
pub fn blob_hash(blob: &[u8]) -> [u8; 32] {
    Sha256::digest(blob).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_of_a_link_changes_the_head() {
        let g = ChainHead::genesis(&[1; 16]);
        assert_ne!(g, ChainHead::genesis(&[2; 16]));
        let base = g.next(1, &[3; 16], false, &blob_hash(b"x"));
        assert_eq!(base.seq, 1);
        assert_ne!(base, g.next(2, &[3; 16], false, &blob_hash(b"x")));
        assert_ne!(base.hash, g.next(1, &[4; 16], false, &blob_hash(b"x")).hash);
        assert_ne!(base.hash, g.next(1, &[3; 16], true, &blob_hash(b"x")).hash);
        assert_ne!(base.hash, g.next(1, &[3; 16], false, &blob_hash(b"y")).hash);
        assert_eq!(base, g.next(1, &[3; 16], false, &blob_hash(b"x")));
    }
}
