//! pvault-core owns everything pvault does with profiles and their data: the home directory and its
//! registry, profile lifecycle (create, unlock, change password, rotate keys, crypto-shred delete),
//! failed-unlock counters, the per-profile encrypted SQLite store, the typed collections and their
//! blind indexes, and verification. It never prints: the CLI (and later the agent, the dashboard and
//! sync) call it and present the results.
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
mod error;
mod fsutil;
mod home;
mod profile;
mod replica;
mod session;
mod store;
pub mod sync;
mod vault;

// Errors
pub use error::{Error, Result};

// Profiles
pub use home::{Home, ProfileSettings, ProfileSummary, validate_profile_name};
pub use profile::{CreatedProfile, Credentials, NewProfile, ProfileDetails, Pvault};
pub use pvault_model::{AttemptPolicy, SecurityLevel, models};

// Sessions (the agent's state)
pub use session::{SessionStatus, Sessions};

// Records
pub use vault::{
    Attestation, Listing, MAX_RECORD_BYTES, NewRecord, Record, RotateReport, Unreadable, Vault,
    VerifyReport, Written, validate_record_id,
};

// Re-exported from pvault-crypto, so callers need one dependency.
pub use pvault_crypto::{Classification, SecretKey};

/// Internals exposed for benchmarks and tests of the store format; not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::store::{SCHEMA_V1, STORE_VERSION};

    /// Eight random bytes from the OS generator.
    pub fn random_bytes8() -> [u8; 8] {
        pvault_crypto::random::bytes()
    }
}
