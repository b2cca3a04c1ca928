//! The key hierarchy below the root key (the seed's `ProfileKeySet`).
//!
//! Every purpose key is `HKDF-SHA256(ikm = root key of an epoch, salt = profile id, info = label)`:
//!
//! | label                                   | used for                                        |
//! |-----------------------------------------|-------------------------------------------------|
//! | `pvault/v1/data/<collection>`           | AES-256-GCM layer of the collection's records   |
//! | `pvault/v1/cascade/<collection>`        | XChaCha20-Poly1305 layer (CONFIDENTIAL and up)  |
//! | `pvault/v1/blind-index`                 | HMAC-SHA256 tokens for equality queries         |
//! | `pvault/v1/wrap`                        | wraps the naming key and identity keys          |
//! | `pvault/v1/sync`, `backup`, `audit`     | sync, backups and the audit log's MAC           |
//!
//! The root key itself is random and stored only wrapped under the KEK, once per epoch.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
use aws_lc_rs::hmac;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};

use crate::kdf::hkdf32;
use crate::{CryptoError, Key32, Result};

/// A profile's id: 16 random bytes, shown as 32 hex digits. Bound into every envelope.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileId(pub [u8; 16]);

impl ProfileId {
    /// A fresh random id.
    pub fn random() -> Self {
        ProfileId(crate::random::bytes())
    }

    /// Parses 32 hex digits.
    pub fn parse(s: &str) -> Result<Self> {
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b).map_err(|_| {
            CryptoError::InvalidKeyFile(format!("profile id '{s}' is not 32 hex digits"))
        })?;
        Ok(ProfileId(b))
    }

    /// The 32-hex-digit form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProfileId({})", self.to_hex())
    }
}

/// The purposes a key is derived for, besides per-collection data keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Wraps the naming key and the identity keys.
    Wrap,
    /// Blind-index tokens.
    BlindIndex,
    /// Sync transport (reserved for the sync client).
    Sync,
    /// Backups.
    Backup,
    /// The audit log's MAC.
    Audit,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Wrap => "pvault/v1/wrap",
            Purpose::BlindIndex => "pvault/v1/blind-index",
            Purpose::Sync => "pvault/v1/sync",
            Purpose::Backup => "pvault/v1/backup",
            Purpose::Audit => "pvault/v1/audit",
        }
    }
}

/// The random root key of one epoch.
pub struct RootKey {
    id: u32,
    key: Key32,
}

impl RootKey {
    /// A fresh random root key for epoch `id`.
    pub fn generate(id: u32) -> Self {
        RootKey {
            id,
            key: Key32::random(),
        }
    }

    /// Rebuilds a root key from unwrapped bytes.
    pub fn from_key(id: u32, key: Key32) -> Self {
        RootKey { id, key }
    }

    /// The epoch (key id) this key belongs to.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The raw key, for wrapping under the KEK.
    pub fn expose(&self) -> &[u8; 32] {
        self.key.expose()
    }

    /// A purpose key of this epoch.
    pub fn derive(&self, profile: &ProfileId, purpose: Purpose) -> Key32 {
        hkdf32(self.key.expose(), &profile.0, purpose.label().as_bytes())
    }

    /// The two keys of a collection in this epoch.
    pub fn collection_keys(&self, profile: &ProfileId, collection: &str) -> CollectionKeys {
        let data = hkdf32(
            self.key.expose(),
            &profile.0,
            format!("pvault/v1/data/{collection}").as_bytes(),
        );
        let cascade = hkdf32(
            self.key.expose(),
            &profile.0,
            format!("pvault/v1/cascade/{collection}").as_bytes(),
        );
        CollectionKeys::new(self.id, &data, &cascade)
    }

    /// The blind-index key of this epoch.
    pub fn index_key(&self, profile: &ProfileId) -> IndexKey {
        IndexKey::new(&self.derive(profile, Purpose::BlindIndex))
    }
}

/// An AES-256-GCM key, ready to use. aws-lc keeps the expanded key schedule in memory it cleanses on drop.
pub struct AesKey(pub(crate) LessSafeKey);

impl AesKey {
    /// Builds the cipher from 32 key bytes.
    pub fn new(key: &Key32) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, key.expose()).expect("32-byte AES-256 key");
        AesKey(LessSafeKey::new(unbound))
    }
}

/// The keys that seal one collection's records in one epoch: an AES-256-GCM key for the single layer
/// (and the outer layer of the cascade) and an independent XChaCha20-Poly1305 key for the inner layer.
pub struct CollectionKeys {
    pub(crate) key_id: u32,
    pub(crate) aes: AesKey,
    pub(crate) xchacha: XChaCha20Poly1305,
}

impl CollectionKeys {
    /// Builds both ciphers.
    pub fn new(key_id: u32, data: &Key32, cascade: &Key32) -> Self {
        CollectionKeys {
            key_id,
            aes: AesKey::new(data),
            xchacha: XChaCha20Poly1305::new(cascade.expose().into()),
        }
    }

    /// The epoch these keys belong to.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
}

/// A keyed hash (HMAC-SHA256, truncated to 128 bits) for values that must be compared without being
/// stored: blind-index tokens, and hidden record ids.
pub struct IndexKey(hmac::Key);

impl IndexKey {
    /// Builds the HMAC key.
    pub fn new(key: &Key32) -> Self {
        IndexKey(hmac::Key::new(hmac::HMAC_SHA256, key.expose()))
    }

    /// `HMAC(key, len(a) || a || len(b) || b || ...)[..16]`: length-prefixed parts, so no two different
    /// part lists hash the same input.
    pub fn token(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut ctx = hmac::Context::with_key(&self.0);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p);
        }
        let tag = ctx.sign();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag.as_ref()[..16]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_keys_are_distinct_and_profile_bound() {
        let root = RootKey::from_key(1, Key32::from_bytes([9; 32]));
        let a = ProfileId([1; 16]);
        let b = ProfileId([2; 16]);
        let keys = [
            Purpose::Wrap,
            Purpose::BlindIndex,
            Purpose::Sync,
            Purpose::Backup,
            Purpose::Audit,
        ]
        .map(|p| *root.derive(&a, p).expose());
        for i in 0..keys.len() {
            for j in i + 1..keys.len() {
                assert_ne!(keys[i], keys[j]);
            }
        }
        assert_ne!(
            root.derive(&a, Purpose::Audit).expose(),
            root.derive(&b, Purpose::Audit).expose()
        );
    }

    #[test]
    fn tokens_are_length_prefixed() {
        let k = IndexKey::new(&Key32::from_bytes([3; 32]));
        assert_ne!(k.token(&[b"ab", b"c"]), k.token(&[b"a", b"bc"]));
        assert_eq!(k.token(&[b"ab", b"c"]), k.token(&[b"ab", b"c"]));
    }

    #[test]
    fn profile_id_round_trip() {
        let id = ProfileId::random();
        assert_eq!(ProfileId::parse(&id.to_hex()).unwrap(), id);
        assert!(ProfileId::parse("xyz").is_err());
    }
}
