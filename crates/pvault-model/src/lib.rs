//! pvault-model owns pvault's domain rules, the parts that need no disk, no network and no keys:
//!
//! - [`models`]: the typed, versioned record schemas of the six built-in collections (and the
//!   rules of free-form user collections), their validation, normalization and blind-index
//!   fields;
//! - [`security`]: what each profile security level sets (KDF cost, lockout, auto-lock, default
//!   classification) and the re-authentication window;
//! - [`hlc`]: the hybrid logical clock that orders revisions across devices;
//! - [`resolve`] and [`Policy`]: how two concurrent versions of a record become one, with the
//!   five strategies of the seed, one file each.
//!
//! Everything here is pure: the same inputs give the same answer on every device, which is what
//! lets two devices settle a conflict the same way. `pvault-core` (the engine) builds on it; the
//! dashboard and other programs can use it to validate input before they talk to a vault.
//!
//! ```
//! use pvault_model::resolve::{resolve, Context, Decision, Strategy, Version};
//! use pvault_model::Classification;
//!
//! let v = |memo: &str, revision, device: &str| Version {
//!     data: Some(serde_json::json!({ "memo": memo })),
//!     classification: Classification::Internal,
//!     revision,
//!     device: device.into(),
//! };
//! let ctx = Context { collection: "research", device_rank: &[] };
//! let r = resolve(Strategy::Timestamp, &ctx, None, &v("mine", 1, "aa"), &v("theirs", 2, "bb"));
//! assert_eq!(r.decision, Decision::KeepRemote);
//! assert_eq!(r.dropped, ["field 'memo': local edit replaced (the remote version wins: later revision)"]);
//! ```
#![forbid(unsafe_code)]

pub mod hlc;
pub mod models;
mod policy;
pub mod resolve;
pub mod security;

pub use policy::Policy;
pub use pvault_crypto::Classification;
pub use resolve::Strategy;
pub use security::{AttemptPolicy, DEFAULT_REAUTH_WINDOW, SecurityLevel};
