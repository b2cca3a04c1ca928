//! The sync protocol between pvault devices and the pvault server: wire types and their encoding.
//!
//! Shared by the client (`pvault-core`) and the server (`pvault-server`). Nothing here decrypts: a record
//! travels as an opaque blob the client sealed, and the server can only store, order and hand it back.
//! The protocol is written up in `docs/sync.md`.
//!
//! - [`batch`]: the compact binary encoding of pushes and pulls (the bulk of the traffic).
//! - [`api`]: the JSON bodies of the control endpoints (accounts, devices, key bundle, tree proofs,
//!   checkpoints, device certificates).
//! - [`auth`]: how a device signs a request and how the server checks it.
//! - [`chain`]: the hash chain over each profile's change log, recomputed by clients.
//! - [`merkle`]: the RFC 6962 Merkle tree over the change log: leaves, the client's frontier, the
//!   server's node addresses, consistency and inclusion proofs.
//! - [`checkpoint`]: the log's tree head as a C2SP checkpoint in an Ed25519 signed note.
//!
//! The byte-level reader and writer and the chain hasher are `pvault-codec`'s, which is pure and
//! shared with `pvault-crypto` without linking it here.
//!
//! ```
//! use pvault_proto::chain::{ChainHead, blob_hash};
//!
//! // What a client does with each change it pulls: extend the head it saw before.
//! let account = [7u8; 16];
//! let head = ChainHead::genesis(&account);
//! let next = head.next(1, &[1u8; 16], false, &blob_hash(b"sealed blob"));
//! assert_eq!(next.seq, 1);
//! assert_ne!(next.hash, head.hash); // a server that rewrote the change would give another hash
//! ```

pub mod api;
pub mod auth;
pub mod batch;
pub mod chain;
pub mod checkpoint;
mod error;
pub mod merkle;

pub use error::{ProtoError, Result};

/// The protocol version in every binary message and in `/v1/` paths.
pub const PROTOCOL_VERSION: u8 = 1;

/// A record's server-side key: the client's keyed hash of (collection, record id). Opaque to the server.
pub type Rid = [u8; 16];

/// A device's id: 16 random bytes chosen by the device, written as 32 hex digits.
pub type DeviceId = [u8; 16];

/// A profile's id as the server knows it (the same 16 bytes as the client's profile id).
pub type AccountId = [u8; 16];

/// Parses 32 hex digits into 16 bytes.
pub fn parse_id16(what: &'static str, s: &str) -> Result<[u8; 16]> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(s, &mut out).map_err(|_| ProtoError::BadId(what))?;
    Ok(out)
}
