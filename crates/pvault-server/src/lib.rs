//! The pvault sync server: it stores sealed records it cannot read.
//!
//! Each account is one pvault profile. Its devices push sealed blobs under opaque record keys, with
//! optimistic concurrency (a push names the version it is based on; the server applies what matches
//! and answers the rest with its current version), and pull the change log after the sequence number
//! they last saw. The server chains the log (see [`pvault_proto::chain`]) so clients can tell a
//! rollback or a withheld change, keeps the Merkle tree over it (see [`pvault_proto::merkle`]) and
//! answers consistency proofs from it, stores the signed checkpoints and certificates devices publish
//! for each other (without reading them), announces new heads over WebSockets, checks every request's
//! Ed25519 signature, refuses replays, and enforces quotas and rate limits. It holds public keys,
//! opaque key bundles and sealed blobs: nothing that decrypts, nothing password-equivalent. That is
//! also true of its build: among pvault's crates it depends on `pvault-proto` only.
//!
//! Storage is SQLite (one file, no setup) or PostgreSQL (several instances on one database share
//! replay protection and pass announcements through `LISTEN`/`NOTIFY`).
//!
//! ```no_run
//! let server = pvault_server::spawn(pvault_server::ServerConfig::sqlite("/tmp/pvault-server"))?;
//! println!("listening on {}", server.url());
//! server.shutdown();
//! # Ok::<(), pvault_server::Error>(())
//! ```
//!
//! The endpoints are those of [`pvault_proto::api`]; `/health` and `/metrics` (Prometheus text)
//! come on top.
//!
//! Inside, each module depends only on those before it: `config` and `error`; `metrics`,
//! `ratelimit` and `storage` (the `Storage` trait; the queries, written once, in `storage::sql`;
//! what differs in `storage::sqlite` and `storage::postgres`; the node arithmetic of the log's tree
//! in `storage::tree`); `notify` (announcements, across instances through PostgreSQL); `state` (what
//! every handler shares); `auth` (who is asking); `routes` (the handlers by area: accounts, devices,
//! sync, trust, ws, ops); and `server`, which starts it all. `testing` (hidden) is for tests: a
//! PostgreSQL database of one's own, and a harness that makes a running server lie
//! (`storage::tamper` holds its SQL).
//!
//! The library prints nothing, except one line on stderr when a server starts on a database from
//! before the tree and builds it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod config;
mod error;
mod metrics;
mod notify;
mod ratelimit;
mod routes;
mod server;
mod state;
mod storage;
#[doc(hidden)]
pub mod testing;

// Configuration.
pub use crate::config::{Backend, DEFAULT_QUOTA, ServerConfig};
// Running a server.
pub use crate::server::{ServerHandle, run, spawn};
// Errors.
pub use crate::error::{AuthFailure, Error};
