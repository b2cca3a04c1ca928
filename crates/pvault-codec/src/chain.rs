//! Hash chains: SHA-256 over fields fed raw or length-framed, and the signed-link value.
//!
//! pvault has two chains whose bytes are fixed by data already stored and synced, and they join their
//! fields differently; [`ChainHasher`] expresses both:
//!
//! - the sync change log (`pvault_proto::chain`) concatenates fixed-size fields without framing:
//!   `SHA-256("pvault/v1/chain" | head(n-1) | seq | rid | tombstone | SHA-256(blob))`, all `raw`;
//! - a breakthrough version's chain hash (`pvault_crypto::chain::breakthrough_link`) frames every part,
//!   the domain included, with its length as a big-endian `u32`: [`framed_hash`].
//!
//! New chains (the audit log, device checkpoints) use [`link`]: every field framed, so no two
//! different field lists hash the same bytes, whatever their lengths.

use sha2::{Digest, Sha256};

use crate::write::u32_len;

/// A SHA-256 fed field by field, each field either as it is ([`ChainHasher::raw`]) or behind its
/// length ([`ChainHasher::framed`]).
///
/// ```
/// use pvault_codec::{ChainHasher, framed_hash};
///
/// // Framing is what tells ("ab", "c") from ("a", "bc"); raw fields must have fixed sizes.
/// let raw = |a: &[u8], b: &[u8]| ChainHasher::new().raw(a).raw(b).finish();
/// assert_eq!(raw(b"ab", b"c"), raw(b"a", b"bc"));
/// assert_ne!(framed_hash(&[b"ab", b"c"]), framed_hash(&[b"a", b"bc"]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ChainHasher {
    sha: Sha256,
}

impl ChainHasher {
    /// A hasher that has seen nothing.
    pub fn new() -> ChainHasher {
        ChainHasher::default()
    }

    /// Feeds `bytes` as they are.
    #[must_use]
    pub fn raw(mut self, bytes: &[u8]) -> ChainHasher {
        self.sha.update(bytes);
        self
    }

    /// Feeds `bytes` behind their length as a big-endian `u32`.
    ///
    /// # Panics
    ///
    /// When `bytes` is 4 GiB or longer.
    #[must_use]
    pub fn framed(mut self, bytes: &[u8]) -> ChainHasher {
        self.sha.update(u32_len(bytes).to_be_bytes());
        self.sha.update(bytes);
        self
    }

    /// The SHA-256 of everything fed.
    pub fn finish(self) -> [u8; 32] {
        self.sha.finalize().into()
    }
}

/// SHA-256 over `parts`, each behind its length as a big-endian `u32`:
/// `SHA-256(len(p0) | p0 | len(p1) | p1 | ...)`.
///
/// # Panics
///
/// When a part is 4 GiB or longer.
pub fn framed_hash(parts: &[&[u8]]) -> [u8; 32] {
    parts
        .iter()
        .fold(ChainHasher::new(), |h, p| h.framed(p))
        .finish()
}

/// The next head of a framed hash chain: [`framed_hash`] of `[domain, previous, fields...]`.
///
/// `domain` names the chain and its version (say `b"pvault/audit/v1"`), so a head of one chain is
/// never a valid head of another; `previous` is the head before (the chain's genesis value for the
/// first entry); `fields` are the entry's fields in a fixed order.
///
/// # Panics
///
/// When a field is 4 GiB or longer.
pub fn link(domain: &[u8], previous: &[u8; 32], fields: &[&[u8]]) -> [u8; 32] {
    fields
        .iter()
        .fold(
            ChainHasher::new().framed(domain).framed(previous),
            |h, f| h.framed(f),
        )
        .finish()
}

/// A chain head signed by the one who vouches for it: what an audit checkpoint or a device's
/// checkpoint of the sync log carries.
///
/// The codec holds no keys: the signature is made and checked where the keys are
/// (`pvault_crypto::Identity::sign_link`, `pvault_crypto::PublicIdentity::verify_link`), over the 32
/// bytes of `hash` as they are. (A breakthrough attestation, which predates this type, signs its chain
/// hash's hex string instead and does not use it.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedLink {
    /// The chain head vouched for.
    pub hash: [u8; 32],
    /// The signer's Ed25519 public key.
    pub signer: [u8; 32],
    /// The Ed25519 signature of `hash` by `signer`.
    pub signature: [u8; 64],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn framing_is_a_u32_length_before_each_part() {
        let by_hand = ChainHasher::new()
            .raw(&[0, 0, 0, 2])
            .raw(b"ab")
            .raw(&[0, 0, 0, 0])
            .raw(&[0, 0, 0, 1])
            .raw(b"c")
            .finish();
        assert_eq!(framed_hash(&[b"ab", b"", b"c"]), by_hand);
        assert_eq!(
            ChainHasher::new()
                .framed(b"ab")
                .framed(b"")
                .framed(b"c")
                .finish(),
            by_hand
        );
        // An empty part still counts: it moves the next part's frame.
        assert_ne!(framed_hash(&[b"ab", b"c"]), by_hand);
        assert_eq!(
            hex(&ChainHasher::new().finish()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_link_is_the_framed_hash_of_domain_previous_and_fields() {
        let prev = [7u8; 32];
        let head = link(b"pvault/test/v1", &prev, &[b"one", &5u64.to_be_bytes()]);
        assert_eq!(
            head,
            framed_hash(&[b"pvault/test/v1", &prev, b"one", &5u64.to_be_bytes()])
        );
        // Every input moves the head.
        assert_ne!(
            head,
            link(b"pvault/test/v2", &prev, &[b"one", &5u64.to_be_bytes()])
        );
        assert_ne!(
            head,
            link(b"pvault/test/v1", &[8; 32], &[b"one", &5u64.to_be_bytes()])
        );
        assert_ne!(
            head,
            link(b"pvault/test/v1", &prev, &[b"one", &6u64.to_be_bytes()])
        );
        assert_ne!(
            head,
            link(
                b"pvault/test/v1",
                &prev,
                &[b"on", b"e", &5u64.to_be_bytes()]
            )
        );
        // Pinned: once a chain is stored through `link`, these bytes are a format.
        assert_eq!(
            hex(&head),
            "98bf0dc55d0d006b6fc5523322f60e8d1d3fa3f9eaeaa5808977373b31a4dee8",
            "link() changed its bytes: stored chains would no longer verify"
        );
    }

    /// The breakthrough chain's framing, on inputs whose hash was computed by pvault-core's own
    /// `Vault::chain_hash` before it was moved onto the codec (the full function is pinned in
    /// pvault-crypto's `chain` tests).
    #[test]
    fn breakthrough_framing_is_unchanged() {
        let content = "ed7002b439e9ac845f22357d822bac1444730fbdb6016d3ec9432297b9ec9f73";
        let h = framed_hash(&[
            b"pvault/breakthrough/v1",
            &[0x11; 16],
            b"01J0BREAKTHROUGH",
            &1u64.to_be_bytes(),
            b"",
            content.as_bytes(),
            b"2025-01-02T03:04:05Z",
        ]);
        assert_eq!(
            hex(&h),
            "41bb8e51738f560103018e1b56a02ca23a87c8a670d0dc8a2e8a333816bef39c"
        );
    }
}
