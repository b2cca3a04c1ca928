//! The sync client: a profile's records travel end to end encrypted through a pvault server that
//! stores them as opaque items (see `docs/sync.md`).
//!
//! - [`setup`] registers the profile and this device on a server; [`join`] adds a new device to a
//!   profile registered before, with the password and the Secret Key.
//! - [`sync`] pushes local changes and pulls the others', settling conflicts with the profile's
//!   [`Strategy`] (per collection if set); [`watch`] does it whenever the server announces a change.
//! - [`verify`] checks the server's log against the checkpoints the other devices signed;
//!   [`safety_code`] gives a code two devices compare out of band.
//! - [`status`], [`history`], [`conflicts`], [`resolve_conflict`] and [`restore`] show and repair what
//!   sync did. A version a resolution set aside is kept sealed in the history and can be restored.

mod account;
mod audit;
mod bundle;
mod checkpoints;
mod conflicts;
mod device;
mod engine;
mod repair;
mod run;
mod state;
mod tls;
mod transport;
mod tree;
mod watch;

pub use crate::store::sync_log::HistoryEntry;
pub use account::{join, leave, remove_device, setup};
pub use checkpoints::{PeerState, PeerStatus, SafetyCode, TrustReport, safety_code, verify};
pub use conflicts::{
    ConflictInfo, ConflictSide, Keep, Resolved, SetAside, conflicts, resolve_conflict, restore,
    set_aside,
};
pub use engine::Phase;
pub use pvault_model::resolve;
pub use pvault_model::{Policy, Strategy};
pub use repair::{RepairAction, RepairReport, repair};
pub use run::{history, status, sync};
pub use state::{SyncConfig, SyncReport, SyncStatus, config};
pub use tls::CA_FILE_ENV;
pub use watch::{WatchEvent, watch};
