//! pvault's portable export: one age file that any age implementation opens (`age -d`), holding a
//! profile's records in a documented text format a person can read without pvault.
//!
//! This crate owns the two layers of that file and nothing else (no vault, no store):
//!
//! - [`file`]: the age layer. Encrypts to an X25519 recipient (`age1…`) or to a passphrase
//!   (scrypt, fixed work factor 18, what `age -p` uses), optionally ASCII-armored; decrypts any
//!   age file for the identities or passphrase given (X25519 `AGE-SECRET-KEY-1…` and post-quantum
//!   hybrid `AGE-SECRET-KEY-PQ-1…` identities), and names what went wrong: not an age file, a
//!   damaged header, a damaged or cut payload, no matching key, an unreadable identity file.
//! - [`format`]: what is inside: JSON Lines, a header line first, a signed manifest line last
//!   (`docs/export.md`). [`format::Writer`] writes it; [`format::verify`] reads it and checks
//!   every line, the SHA-256 over all of them, and the manifest's Ed25519 signature, and refuses a
//!   newer format version, before anything is imported.
//!
//! ```
//! use pvault_export::format::{Entry, Header, Writer, verify};
//! # use ed25519_dalek::Signer;
//! # let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let identity = key.verifying_key().to_bytes();
//! let header = Header::new("a1b2", "alice", "Alice", "standard", &identity, "dev", "now");
//! let mut out = Vec::new();
//! let mut w = Writer::new(&mut out, &header).unwrap();
//! w.entry(&Entry::Settings { settings: serde_json::json!({"auto_lock": "15m"}) }).unwrap();
//! w.finish(|message| key.sign(message).to_bytes()).unwrap();
//! let verified = verify(&out[..], |_| Ok(())).unwrap();
//! assert_eq!(verified.manifest.entries, 1);
//! ```

mod error;
pub mod file;
pub mod format;
mod hybrid;

pub use age::secrecy::SecretString;
pub use error::{Error, Result};
