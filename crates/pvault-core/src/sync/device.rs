//! This device on the server: its random Ed25519 key (sealed in the store), the sync configuration,
//! and the signer every request is made with.

use pvault_proto::auth::SigningKey;

use super::state::{SyncConfig, config};
use super::transport::{Server, Signer};
use crate::error::{Error, Result};
use crate::store::{self, WriteTx};
use crate::vault::Vault;

pub(super) const DEVICE_KEY_LABEL: &str = "device-key";

pub(super) fn random_device() -> ([u8; 16], SigningKey) {
    let seed: [u8; 32] = pvault_crypto::random::bytes();
    (
        pvault_crypto::random::bytes(),
        SigningKey::from_bytes(&seed),
    )
}

/// Stores the sync configuration and the sealed device key.
pub(super) fn save(vault: &Vault, cfg: &SyncConfig, device_key: &SigningKey) -> Result<()> {
    let sealed = vault.seal_sync_secret(DEVICE_KEY_LABEL, device_key.as_bytes())?;
    let tx = WriteTx::begin(vault.conn())?;
    store::set_meta_bytes(
        &tx,
        store::SYNC_CONFIG,
        &serde_json::to_vec(cfg).expect("config serializes"),
    )?;
    store::set_meta_bytes(&tx, store::SYNC_DEVICE_KEY, &sealed)?;
    store::add_history(
        &tx,
        "setup",
        None,
        &format!(
            "syncing with {} as '{}', device '{}'",
            cfg.server, cfg.username, cfg.device_name
        ),
        None,
    )?;
    tx.commit()
}

/// The configuration and signer of a profile set up for sync.
pub(super) fn credentials(vault: &Vault) -> Result<(SyncConfig, Server, Signer)> {
    let cfg = config(vault)?.ok_or_else(|| Error::SyncNotSetUp(vault.summary().name.clone()))?;
    let sealed = store::meta_bytes(vault.conn(), store::SYNC_DEVICE_KEY)?
        .ok_or_else(|| Error::SyncNotSetUp(vault.summary().name.clone()))?;
    let seed = vault.open_sync_secret(DEVICE_KEY_LABEL, &sealed)?;
    let seed: [u8; 32] = seed[..]
        .try_into()
        .map_err(|_| Error::SyncTampered("device key".into()))?;
    let device = pvault_proto::parse_id16("device id", &cfg.device_id)
        .map_err(|_| Error::SyncTampered("device id".into()))?;
    let server = Server::new(&cfg.server)?;
    Ok((
        cfg,
        server,
        Signer {
            key: SigningKey::from_bytes(&seed),
            device,
        },
    ))
}

/// The WebSocket URL and signer, for [`super::watch`].
pub(super) fn ws_target(vault: &Vault) -> Result<(String, String, Signer)> {
    let (cfg, server, signer) = credentials(vault)?;
    let path = format!("/v1/profiles/{}/ws", cfg.account_id);
    Ok((server.ws_url(&path), path, signer))
}
