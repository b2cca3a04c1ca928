//! pvault-core is the engine: everything pvault does with profiles and their data on this device.
//! It never prints: the CLI, the agent and (later) the dashboard call it and present the results.
//! The domain rules it applies (record schemas, security levels, conflict resolution) are in the
//! pure `pvault-model` crate; the cryptography is `pvault-crypto`'s; the wire types are
//! `pvault-proto`'s.
//!
//! Its rooms, from the bottom up (each imports only the ones above it in this list):
//!
//! - `store/`: one SQLite file per profile; connection, write transactions, numbered migrations
//!   (`store/migrations/*.sql`) and the only SQL of the engine.
//! - [`audit`]: the audit log (per-device hash chains of sealed, MACed entries, signed checkpoints).
//! - [`integrity`]: anomalies and what the audit log shows.
//! - `home/`: the home directory, its file names and its registry of profiles (no secrets).
//! - `vault/`: an unlocked profile ([`Vault`]), one file per concern: `keys` (purpose keys and AAD),
//!   `read`, `write`, `chain` (breakthrough attestations), `verify`, `rotate` (password and keys).
//! - `replica/`: the one door rows leave a profile and come back by: the sealed sync item and
//!   "apply what another device wrote". Sync goes through it; backup and export will.
//! - `profile/`: profile lifecycle ([`Pvault`]: create, unlock, passwd, delete) and the
//!   failed-unlock counters.
//! - `sync/`: the sync client (account, device, key bundle, engine, watch, conflicts).
//! - `session.rs`: unlocked profiles held in memory ([`Sessions`]), the agent's state.
//! - `agent/`: the per-user agent and its client, over a Unix socket.
//!
//! - [`export`]: a whole profile to a portable age file and back (`ExportOptions::run`,
//!   `ImportOptions::run`); the file's format is the `pvault-export` crate's.
//!
//! Rooms still to come, with their place kept: `backup/` (through `replica/`), `share/`,
//! `migrate/`.
//!
//! ```no_run
//! use pvault_core::{Credentials, NewProfile, NewRecord, Pvault, SecurityLevel};
//!
//! let pv = Pvault::open(std::path::Path::new("/tmp/pvault-home")).unwrap();
//! let created = pv
//!     .create(NewProfile { name: "alice".into(), display_name: None, security: SecurityLevel::Standard },
//!             b"correct horse battery staple")
//!     .unwrap();
//! println!("write down your Secret Key: {}", created.secret_key.as_str());
//! let mut vault = pv.unlock(Some("alice"), &Credentials::password("correct horse battery staple")).unwrap();
//! let w = vault
//!     .put(NewRecord { collection: "research".into(), id: None, classification: None,
//!                      data: serde_json::json!({"title": "idea", "body": "..."}) })
//!     .unwrap();
//! assert_eq!(vault.get("research", &w.id).unwrap().data["title"], "idea");
//! ```
#![forbid(unsafe_code)]

pub mod agent;
pub mod audit;
pub mod backup;
mod error;
pub mod export;
mod fsutil;
mod home;
pub mod integrity;
pub mod migrate;
pub mod ops;
mod profile;
mod replica;
mod session;
mod store;
pub mod sync;
mod vault;

// Errors
pub use error::{Error, ErrorKind, Result};

// Profiles
pub use home::{Home, ProfileSettings, ProfileSummary, validate_profile_name};
pub use profile::{CreatedProfile, Credentials, KeyDetails, NewProfile, ProfileDetails, Pvault};
pub use pvault_model::{AttemptPolicy, SecurityLevel, models};

// Sessions (the agent's state)
pub use session::{SessionStatus, Sessions};

// Records
pub use vault::{
    Attestation, AuditSummary, ComplianceReport, Listing, MAX_RECORD_BYTES, NewRecord, Record,
    RotateReport, StoredClass, Unreadable, Vault, VerifyReport, Written, validate_record_id,
};

// Re-exported from pvault-crypto, so callers need one dependency.
pub use pvault_crypto::{Classification, SecretKey};

/// Internals exposed for benchmarks and tests of the store format; not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::store::{SCHEMA_V1, STORE_VERSION};

    /// The row key the sync server files a record under (for tests that play the server).
    pub fn row_key(vault: &crate::Vault, collection: &str, id: &str) -> [u8; 16] {
        vault.row_key(collection, id)
    }

    /// The unlocked keys of a vault (for tests that check a backup without a KDF per check).
    pub fn unlocked_keys(vault: &crate::Vault) -> &pvault_crypto::UnlockedKeys {
        vault.unlocked()
    }

    /// Eight random bytes from the OS generator.
    pub fn random_bytes8() -> [u8; 8] {
        pvault_crypto::random::bytes()
    }
}
