//! The sync client: a profile's records travel end to end encrypted through a pvault server that
//! stores them as opaque items (see `docs/sync.md`).
//!
//! - [`setup`] registers the profile and this device on a server; [`join`] adds a new device to a
//!   profile registered before, with the password and the Secret Key.
//! - [`sync`] pushes local changes and pulls the others', settling conflicts with the profile's
//!   [`Strategy`] (per collection if set); [`watch`] does it whenever the server announces a change.
//! - [`status`], [`history`], [`conflicts`], [`resolve_conflict`] and [`restore`] show and repair what
//!   sync did. A version a resolution set aside is kept sealed in the history and can be restored.

mod account;
mod conflicts;

mod engine;
mod tls;
mod transport;
mod watch;

use std::ops::Not;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store;
use crate::vault::Vault;

pub use crate::store::sync_log::HistoryEntry;
pub use account::{join, leave, remove_device, setup};
pub use conflicts::{
    ConflictInfo, ConflictSide, Keep, SetAside, conflicts, resolve_conflict, restore, set_aside,
};
pub use engine::Phase;
pub use pvault_model::resolve;
pub use pvault_model::{Policy, Strategy};
pub use tls::CA_FILE_ENV;
pub use watch::{WatchEvent, watch};

/// Where a profile syncs (kept in its store; no secrets: the device key is sealed apart).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncConfig {
    /// Server URL.
    pub server: String,
    /// Account name on the server.
    pub username: String,
    /// The profile id, as the server knows it.
    pub account_id: String,
    /// This device's id on the server.
    pub device_id: String,
    /// This device's name on the server.
    pub device_name: String,
}

/// What one sync did.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncReport {
    /// Local versions the server accepted.
    pub pushed: u64,
    /// Versions from other devices stored here.
    pub pulled: u64,
    /// Conflicts settled (by the strategy, or kept for you).
    pub conflicts: u64,
    /// Conflicts kept for you (strategy `manual`).
    pub kept_for_user: u64,
    /// Log position this device has reached.
    pub head_seq: u64,
    /// Local changes still waiting (0 unless other devices kept changing the same records).
    pub pending: u64,
    /// Push/pull rounds.
    pub rounds: u32,
}

/// Sync state of a profile.
#[derive(Clone, Debug, Serialize)]
pub struct SyncStatus {
    /// The configuration, if set up.
    pub config: Option<SyncConfig>,
    /// Log position reached.
    pub pulled_seq: u64,
    /// Local changes not yet pushed.
    pub pending: u64,
    /// Conflicts waiting for you.
    pub open_conflicts: u64,
    /// Last completed sync, Unix milliseconds (0: never).
    pub last_sync: u64,
    /// What the server says, when it could be asked.
    pub server: Option<pvault_proto::api::AccountInfo>,
    /// Why the server could not be asked.
    pub server_error: Option<String>,
}

/// The profile's sync configuration, if any.
pub fn config(vault: &Vault) -> Result<Option<SyncConfig>> {
    match store::meta_bytes(vault.conn(), store::SYNC_CONFIG)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::SyncTampered(format!("stored sync configuration: {e}"))),
    }
}

/// Pushes local changes, then pulls the others'. Resumable: run it again after any failure.
///
/// When the server holds records sealed under a key epoch this device lacks (another device
/// rotated the keys), the new epochs are taken from the server's key bundle and the sync runs again.
pub fn sync(
    vault: &mut Vault,
    policy: &Policy,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<SyncReport> {
    let mut adopted = false;
    loop {
        let mut engine = account::engine(vault, policy)?;
        match engine.run(progress) {
            Ok(()) => return Ok(engine.report),
            Err(Error::UnknownEpoch(id)) if !adopted => {
                drop(engine);
                adopted = true;
                if !account::adopt_bundle(vault)?.contains(&id)
                    && vault.key_ids().contains(&id).not()
                {
                    return Err(Error::UnknownEpoch(id));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Local sync state, and the server's view when `ask_server`.
pub fn status(vault: &Vault, ask_server: bool) -> Result<SyncStatus> {
    let conn = vault.conn();
    let config = config(vault)?;
    let (server, server_error) = match (&config, ask_server) {
        (Some(_), true) => match account::account_info(vault) {
            Ok(info) => (Some(info), None),
            Err(e) => (None, Some(e.to_string())),
        },
        _ => (None, None),
    };
    Ok(SyncStatus {
        config,
        pulled_seq: store::meta_u64(conn, store::SYNC_PULLED_SEQ)?,
        pending: store::dirty_count(conn)?,
        open_conflicts: store::open_conflict_count(conn)?,
        last_sync: store::meta_u64(conn, store::SYNC_LAST_SYNC)?,
        server,
        server_error,
    })
}

/// The newest `limit` entries of the sync history, newest first.
pub fn history(vault: &Vault, limit: usize) -> Result<Vec<HistoryEntry>> {
    store::history(vault.conn(), limit)
}
