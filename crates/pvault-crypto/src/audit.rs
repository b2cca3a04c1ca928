//! The audit log's keys: one that seals entries and one that MACs the chain.
//!
//! Both are derived from the profile's naming key, which is stable across key rotations
//! (`HKDF-SHA256(ikm = naming key, salt = profile id, info = pvault/v1/audit-log/seal | mac)`), not from
//! an epoch's root key: the log is history, and a rotation must neither rewrite it (every entry's
//! hash covers its sealed bytes) nor make it unreadable by destroying the epoch that sealed it.
//! Entries are sealed with key id [`AUDIT_KEY_ID`], which no epoch uses (epochs start at 1).

use aws_lc_rs::hmac;

use crate::envelope::{self, Aad, Kind};
use crate::kdf::hkdf32;
use crate::keys::CollectionKeys;
use crate::{Classification, Key32, ProfileId, Result, SecretVec};

/// The key id written in audit envelopes: 0, which is never an epoch.
pub const AUDIT_KEY_ID: u32 = 0;
/// The collection name bound into every audit envelope.
pub const AUDIT_COLLECTION: &str = "audit";

/// The keys of one profile's audit log.
pub struct AuditKeys {
    profile: ProfileId,
    seal: CollectionKeys,
    mac: hmac::Key,
}

impl AuditKeys {
    /// Derives the audit keys from the naming key.
    pub(crate) fn derive(profile: ProfileId, naming: &Key32) -> Self {
        let seal = hkdf32(naming.expose(), &profile.0, b"pvault/v1/audit-log/seal");
        let cascade = hkdf32(naming.expose(), &profile.0, b"pvault/v1/audit-log/cascade");
        let mac = hkdf32(naming.expose(), &profile.0, b"pvault/v1/audit-log/mac");
        AuditKeys {
            profile,
            seal: CollectionKeys::new(AUDIT_KEY_ID, &seal, &cascade),
            mac: hmac::Key::new(hmac::HMAC_SHA256, mac.expose()),
        }
    }

    fn aad<'a>(&'a self, device: &'a str) -> Aad<'a> {
        Aad {
            profile: &self.profile,
            kind: Kind::Audit,
            collection: AUDIT_COLLECTION,
            record_id: device,
            classification: Classification::Internal,
        }
    }

    /// Seals an entry written by `device` (single AES-256-GCM layer, bound to profile and device).
    pub fn seal(&self, device: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        envelope::seal(&self.seal, &self.aad(device), plaintext)
    }

    /// Opens an entry sealed by [`AuditKeys::seal`] for the same device.
    pub fn open(&self, device: &str, sealed: &[u8]) -> Result<SecretVec> {
        envelope::open(&self.seal, &self.aad(device), sealed)
    }

    /// `HMAC-SHA256(mac key, hash)`: vouches for a chain hash (and so for everything before it).
    pub fn mac(&self, hash: &[u8; 32]) -> [u8; 32] {
        let tag = hmac::sign(&self.mac, hash);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Checks a MAC made by [`AuditKeys::mac`] in constant time.
    pub fn check_mac(&self, hash: &[u8; 32], mac: &[u8]) -> bool {
        hmac::verify(&self.mac, hash, mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_are_bound_to_the_device_and_macs_to_the_hash() {
        let keys = AuditKeys::derive(ProfileId([7; 16]), &Key32::from_bytes([9; 32]));
        let sealed = keys.seal("dev-a", b"{\"kind\":\"unlocked\"}").unwrap();
        assert_eq!(envelope::key_id(&sealed).unwrap(), AUDIT_KEY_ID);
        assert_eq!(
            &keys.open("dev-a", &sealed).unwrap()[..],
            b"{\"kind\":\"unlocked\"}"
        );
        assert!(keys.open("dev-b", &sealed).is_err());
        let other = AuditKeys::derive(ProfileId([8; 16]), &Key32::from_bytes([9; 32]));
        assert!(other.open("dev-a", &sealed).is_err());
        let mac = keys.mac(&[1; 32]);
        assert!(keys.check_mac(&[1; 32], &mac));
        assert!(!keys.check_mac(&[2; 32], &mac));
        assert!(!other.check_mac(&[1; 32], &mac));
    }
}
