//! What sync keeps and reports: the configuration of a profile that syncs, the report of one sync
//! and the sync state shown by `status`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store;
use crate::vault::Vault;

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
    /// Audit log entries sent (this device's) and received (the other devices').
    #[serde(default)]
    pub audit_pushed: u64,
    /// Audit log entries received from other devices.
    #[serde(default)]
    pub audit_pulled: u64,
    /// Time spent checking the other devices' checkpoints against this device's log, in
    /// microseconds.
    #[serde(default)]
    pub peer_check_us: u64,
    /// Time spent signing and publishing this device's checkpoint, in microseconds.
    #[serde(default)]
    pub checkpoint_publish_us: u64,
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
