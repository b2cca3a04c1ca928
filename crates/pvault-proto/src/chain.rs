//! The hash chain over a profile's change log.
//!
//! Every change the server accepts gets the next sequence number and extends the chain:
//! `head(n) = SHA-256("pvault/v1/chain" | head(n-1) | seq | rid | tombstone | SHA-256(blob))`, starting
//! from `genesis(account)`. The server stores the head; a client recomputes it from the changes it
//! pulls and refuses a page whose chain does not extend the head it saw before (a rollback, a rewritten
//! or a withheld change).
//!
//! The fields have fixed sizes and are concatenated without length framing (hashed through
//! [`ChainHasher::raw`]); these bytes are stored by every server and client, so they do not change.

use pvault_codec::ChainHasher;
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
        ChainHead {
            seq: 0,
            hash: ChainHasher::new()
                .raw(b"pvault/v1/chain/genesis")
                .raw(account)
                .finish(),
        }
    }

    /// The head after one more change.
    pub fn next(&self, seq: u64, rid: &Rid, tombstone: bool, blob_hash: &[u8; 32]) -> ChainHead {
        ChainHead {
            seq,
            hash: ChainHasher::new()
                .raw(b"pvault/v1/chain")
                .raw(&self.hash)
                .raw(&seq.to_be_bytes())
                .raw(rid)
                .raw(&[u8::from(tombstone)])
                .raw(blob_hash)
                .finish(),
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

    /// Heads computed by this module before it hashed through pvault-codec: stored heads must keep
    /// verifying.
    #[test]
    fn heads_are_the_bytes_stored_before() {
        let g = ChainHead::genesis(&[1; 16]);
        let n1 = g.next(1, &[3; 16], false, &blob_hash(b"x"));
        let n2 = n1.next(2, &[4; 16], true, &blob_hash(b""));
        assert_eq!(
            hex::encode(g.hash),
            "31014e56df10e1763b9e144bfa695b8764c9997394566a6e6017a5fd25be3871"
        );
        assert_eq!(
            hex::encode(n1.hash),
            "41d9295147718db8dce2769fc801a100873761f2686da401e88a29e53ed26ba6"
        );
        assert_eq!(
            hex::encode(n2.hash),
            "2de4ca5a563d2f9cf1a286d744b192b2f72a38e83b1076caba923a49f20c4df7"
        );
        assert_eq!(n2.seq, 2);
    }
}
