//! Hash chains whose inputs belong to this crate's world (profiles, records, identities), hashed
//! through [`crate::codec`].
//!
//! A breakthrough record's versions form a chain: each version's chain hash covers the profile, the
//! record id, the version number, the previous version's chain hash, the content hash and the time,
//! and the profile's identity signs the chain hash's hex string (see `docs/store.md`). The bytes
//! hashed are fixed by attestations already stored: every part is framed by its length as a
//! big-endian `u32`, the domain included ([`crate::codec::framed_hash`]).

use crate::ProfileId;
use crate::codec::framed_hash;

/// The first part of every breakthrough chain hash: names the chain and its version.
pub const BREAKTHROUGH_DOMAIN: &[u8] = b"pvault/breakthrough/v1";

/// The chain hash of one version of a breakthrough record:
/// `SHA-256` of the u32-length-framed parts `"pvault/breakthrough/v1" | profile id (16 bytes) |
/// record id | version (u64 big-endian) | previous chain hash (hex, "" for the first version) |
/// content hash (hex) | recorded at (RFC 3339)`.
///
/// The attestation stores it hex-encoded and the identity signs that hex string.
///
/// ```
/// use pvault_crypto::{ProfileId, chain::breakthrough_link};
///
/// let profile = ProfileId([0x11; 16]);
/// let content = hex::encode(pvault_crypto::sha256(b"content"));
/// let v1 = hex::encode(breakthrough_link(&profile, "r1", 1, None, &content, "2025-01-02T03:04:05Z"));
/// let v2 = breakthrough_link(&profile, "r1", 2, Some(&v1), &content, "2025-01-02T03:04:06Z");
/// assert_ne!(hex::encode(v2), v1);
/// ```
///
/// # Panics
///
/// When a part is 4 GiB or longer.
pub fn breakthrough_link(
    profile: &ProfileId,
    record_id: &str,
    version: u64,
    previous: Option<&str>,
    content_hash: &str,
    recorded_at: &str,
) -> [u8; 32] {
    framed_hash(&[
        BREAKTHROUGH_DOMAIN,
        &profile.0,
        record_id.as_bytes(),
        &version.to_be_bytes(),
        previous.unwrap_or("").as_bytes(),
        content_hash.as_bytes(),
        recorded_at.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chain hashes computed by pvault-core's `Vault::chain_hash` before it moved here: stored
    /// attestations must keep verifying.
    #[test]
    fn breakthrough_links_are_the_bytes_stored_before() {
        let profile = ProfileId([0x11; 16]);
        let content = hex::encode(crate::sha256(b"content"));
        assert_eq!(
            content,
            "ed7002b439e9ac845f22357d822bac1444730fbdb6016d3ec9432297b9ec9f73"
        );
        let v1 = hex::encode(breakthrough_link(
            &profile,
            "01J0BREAKTHROUGH",
            1,
            None,
            &content,
            "2025-01-02T03:04:05Z",
        ));
        assert_eq!(
            v1,
            "41bb8e51738f560103018e1b56a02ca23a87c8a670d0dc8a2e8a333816bef39c"
        );
        let v2 = hex::encode(breakthrough_link(
            &profile,
            "01J0BREAKTHROUGH",
            2,
            Some(&v1),
            &content,
            "2025-01-02T03:04:06Z",
        ));
        assert_eq!(
            v2,
            "49315cf117d5cd8b702f24592f37e55cf84f5ab554bbe99c56ba71e4065f474c"
        );
    }

    #[test]
    fn every_part_moves_the_link() {
        let p = ProfileId([1; 16]);
        let base = breakthrough_link(&p, "id", 1, None, "c", "t");
        assert_ne!(
            base,
            breakthrough_link(&ProfileId([2; 16]), "id", 1, None, "c", "t")
        );
        assert_ne!(base, breakthrough_link(&p, "ie", 1, None, "c", "t"));
        assert_ne!(base, breakthrough_link(&p, "id", 2, None, "c", "t"));
        assert_ne!(base, breakthrough_link(&p, "id", 1, Some("x"), "c", "t"));
        assert_ne!(base, breakthrough_link(&p, "id", 1, None, "d", "t"));
        assert_ne!(base, breakthrough_link(&p, "id", 1, None, "c", "u"));
        // No previous hash and an empty one are the same framed part (as before).
        assert_eq!(base, breakthrough_link(&p, "id", 1, Some(""), "c", "t"));
        // Framing keeps parts apart: moving a byte from one to the next changes the hash.
        assert_ne!(
            breakthrough_link(&p, "id", 1, None, "cx", "t"),
            breakthrough_link(&p, "id", 1, None, "c", "xt")
        );
    }
}
