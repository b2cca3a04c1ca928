//! The key bundle: the key file without the Secret Key (every secret in it wrapped under the KEK),
//! kept by the server for new devices, uploaded again after a rotation or password change, and read
//! back to adopt another device's new key epochs.

use pvault_crypto::KeyFile;
use pvault_proto::api::{Bundle, PutBundle};
use pvault_proto::auth::{SigningKey, public_key_string};
use serde::{Deserialize, Serialize};

use super::device::credentials;
use super::transport::{Server, Signer};
use crate::error::{Error, Result};
use crate::store;
use crate::vault::Vault;
use pvault_model::security::SecurityLevel;

pub(super) const BUNDLE_FORMAT: &str = "pvault-sync-bundle";

/// What the server keeps for new devices (opaque to it).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BundleDoc {
    pub(super) format: String,
    pub(super) version: u32,
    pub(super) security: SecurityLevel,
    pub(super) key_file: serde_json::Value,
}

/// The KDF description and the key bundle the server keeps for new devices (no Secret Key).
pub(super) fn bundle_of(vault: &Vault) -> (String, String) {
    let key_file = vault.key_file_for_server();
    let bundle = BundleDoc {
        format: BUNDLE_FORMAT.into(),
        version: 1,
        security: vault.summary().security,
        // Without the checksum: devices running a pvault that predates it refuse unknown members,
        // and would no longer join or adopt a rotation. The bundle is checked by unlocking it.
        key_file: serde_json::from_slice(&key_file.encode_without_checksum())
            .expect("key file is JSON"),
    };
    (
        serde_json::to_string(&key_file.kdf).expect("kdf serializes"),
        serde_json::to_string(&bundle).expect("bundle serializes"),
    )
}

/// Reads a bundle document, refusing unknown formats.
pub(super) fn parse(bundle: &str) -> Result<BundleDoc> {
    let doc: BundleDoc =
        serde_json::from_str(bundle).map_err(|e| Error::Protocol(format!("key bundle: {e}")))?;
    if doc.format != BUNDLE_FORMAT || doc.version != 1 {
        return Err(Error::Protocol("key bundle: unknown format".into()));
    }
    Ok(doc)
}

/// Uploads the key bundle again when it changed here since the last upload (a new epoch after a
/// rotation, new wrapping after a password change, which also changes the account key), before any
/// record sealed under the new keys is pushed. Returns whether it uploaded.
pub(super) fn refresh_bundle(
    vault: &Vault,
    server: &Server,
    signer: &Signer,
    account: &[u8; 16],
) -> Result<bool> {
    let (kdf, bundle) = bundle_of(vault);
    let hash = pvault_crypto::sha256(bundle.as_bytes());
    if store::meta_bytes(vault.conn(), store::SYNC_BUNDLE_HASH)?.as_deref() == Some(&hash[..]) {
        return Ok(false);
    }
    let path = format!("/v1/profiles/{}/bundle", hex::encode(account));
    let current: Bundle = server.json("GET", &path, None::<&()>, Some(signer))?;
    let account_key = SigningKey::from_bytes(vault.account_signing_seed().expose());
    let body = PutBundle {
        expected_version: current.version,
        kdf,
        bundle,
        account_key: Some(public_key_string(&account_key.verifying_key())),
    };
    let _: Bundle = server.json("PUT", &path, Some(&body), Some(signer))?;
    store::set_meta_bytes(vault.conn(), store::SYNC_BUNDLE_HASH, &hash)?;
    Ok(true)
}

/// Fetches the key bundle and adds the epochs this device lacks (another device rotated the keys).
pub(super) fn adopt_bundle(vault: &mut Vault) -> Result<Vec<u32>> {
    let (cfg, server, signer) = credentials(vault)?;
    let path = format!("/v1/profiles/{}/bundle", cfg.account_id);
    let bundle: Bundle = server.json("GET", &path, None::<&()>, Some(&signer))?;
    let doc: BundleDoc = serde_json::from_str(&bundle.bundle)
        .map_err(|e| Error::Protocol(format!("key bundle: {e}")))?;
    let file = KeyFile::decode(&serde_json::to_vec(&doc.key_file).expect("JSON"))?;
    let added = match vault.adopt_epochs(&file) {
        Err(Error::Crypto(pvault_crypto::CryptoError::WrongPasswordOrSecretKey)) => {
            return Err(Error::PasswordChangedElsewhere);
        }
        other => other?,
    };
    if !added.is_empty() {
        store::add_history(
            vault.conn(),
            "keys",
            None,
            &format!("adopted key epoch(s) {added:?} from another device's rotation"),
            None,
        )?;
    }
    Ok(added)
}
