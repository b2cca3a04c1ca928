//! pvault-crypto owns pvault's cryptography: the two-secret key derivation (Argon2id password +
//! Secret Key), the keyring of random root keys by epoch, the purpose keys derived from them, the
//! record envelope and the key file. It is pure: no I/O, no clock, no async. Everything secret is
//! zeroized on drop and cannot be printed.
//!
//! The formats are specified in `docs/format.md` at the repository root; `tests/vectors.rs` checks the
//! test vectors under `tests/vectors/`.
//!
//! Bytes are read and written, and hash chains hashed, with [`codec`] (the `pvault-codec` crate,
//! re-exported: it lives apart so that the sync server can use it without linking this crate);
//! [`chain`] holds the chains over this crate's inputs, and [`Identity::sign_link`] /
//! [`PublicIdentity::verify_link`] sign and check a [`codec::SignedLink`].
//!
//! ```
//! use pvault_crypto::{envelope, Aad, Classification, KdfParams, KeyFile, Kind, ProfileId};
//!
//! let profile = ProfileId::random();
//! let fast = KdfParams { m_kib: 64, t: 1, p: 1 }; // real profiles use the security level's cost
//! let (file, keys) = KeyFile::create(profile, b"correct horse", fast, true).unwrap();
//! let ck = keys.current().collection_keys(&profile, "research");
//! let aad = Aad { profile: &profile, kind: Kind::Record, collection: "research",
//!                 record_id: "r1", classification: Classification::Confidential };
//! let sealed = envelope::seal(&ck, &aad, b"notes").unwrap();
//!
//! let keys = file.unlock(b"correct horse", None).unwrap();
//! let ck = keys.root(envelope::key_id(&sealed).unwrap()).unwrap().collection_keys(&profile, "research");
//! assert_eq!(&envelope::open(&ck, &aad, &sealed).unwrap()[..], b"notes");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
mod base32;
pub mod chain;
mod classification;
pub mod envelope;
mod error;
mod identity;
mod kdf;
mod keyfile;
mod keys;
pub mod random;
mod sealed_box;
mod secret;
mod secret_key;

// Errors
pub use error::{CryptoError, Result};

/// The bounded byte reader/writer and the hash-chain primitives (the `pvault-codec` crate).
pub use pvault_codec as codec;

// Keys and their derivation
pub use audit::AuditKeys;
pub use classification::{Classification, UnknownClassification};
pub use identity::{Identity, PublicIdentity};
pub use kdf::{KdfParams, PasswordKey};
pub use keys::{AesKey, CollectionKeys, IndexKey, ProfileId, Purpose, RootKey};
pub use secret::{Key32, SecretVec};
pub use secret_key::SecretKey;

// Envelopes and the key file
pub use envelope::{Aad, Alg, Kind};
pub use keyfile::{
    EpochSection, IdentitySection, KdfSection, Kek, KeyFile, UnlockedKeys,
    VERSION as KEY_FILE_VERSION,
};

/// Crockford base32, for human-typed identifiers (record ids, Secret Keys).
pub fn base32_encode(bytes: &[u8]) -> String {
    base32::encode(bytes)
}

/// SHA-256, for content hashes and hash chains.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}
