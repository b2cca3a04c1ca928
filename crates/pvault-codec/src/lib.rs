//! pvault-codec owns the two byte-level primitives every pvault format is built from: a bounded byte
//! [`Reader`]/[`Writer`] (big-endian integers, canonical LEB128 varints, fixed fields, bytes behind a
//! `u32` or varint length) and hash-chain links ([`ChainHasher`], [`framed_hash`], [`link`],
//! [`SignedLink`]). The sync protocol's binary messages and change-log chain (`pvault-proto`), the key
//! transfer bytes and the breakthrough chain (`pvault-crypto`, re-exported there as
//! `pvault_crypto::codec`) are all written and hashed through it, so each rule (what a varint may
//! look like, what a length may claim, how a chain field is framed) exists once.
//!
//! **Why a crate of its own:** the sync server (`pvault-server`) depends on `pvault-proto` only and
//! must never link `pvault-crypto`, the code that decrypts: that the server cannot read what it
//! stores is a property of the build graph. Encoding and hashing are needed on both sides, so they
//! live here, below both, and this crate stays pure: no I/O, no keys, no `unsafe`, only `sha2` and
//! `thiserror`.
//!
//! ```
//! use pvault_codec::{CodecError, Reader, Writer, link};
//!
//! let mut w = Writer::new();
//! w.raw(b"PV");
//! w.varint(300);
//! w.u32_bytes(b"sealed");
//! let bytes = w.into_inner();
//!
//! let mut r = Reader::new(&bytes);
//! assert_eq!(&r.array::<2>("magic")?, b"PV");
//! assert_eq!(r.varint("sequence")?, 300);
//! assert_eq!(r.u32_bytes("blob", 1024)?, b"sealed");
//! r.finish()?;
//!
//! // One byte short: the error names the field that was cut.
//! let mut r = Reader::new(&bytes[..bytes.len() - 1]);
//! r.array::<2>("magic")?;
//! r.varint("sequence")?;
//! assert_eq!(r.u32_bytes("blob", 1024), Err(CodecError::Truncated("blob")));
//!
//! // A chain: each head hashes the one before with the entry's fields, every field length-framed.
//! let genesis = [0u8; 32];
//! let head = link(b"pvault/example/v1", &genesis, &[b"entry 1"]);
//! assert_ne!(head, link(b"pvault/example/v1", &head, &[b"entry 1"]));
//! # Ok::<(), CodecError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod chain;
mod error;
mod read;
mod write;

pub use chain::{ChainHasher, SignedLink, framed_hash, link};
pub use error::{CodecError, Result};
pub use read::Reader;
pub use write::Writer;
