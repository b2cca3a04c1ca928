//! Registering a profile on a server, joining it from a new device, and the credentials of a device.
//!
//! The server knows each profile as an account with an Ed25519 *account key* derived from the KEK
//! (so only password + Secret Key produce it) and one random Ed25519 key per device, sealed in the
//! profile's store. It also keeps the key bundle: the key file without the Secret Key, every secret in
//! it wrapped under the KEK. Nothing it holds checks a password guess without the Secret Key.

use crate::audit::{Event, EventKind};
use pvault_crypto::{ProfileId, SecretKey};
use pvault_proto::api::{AccountInfo, JoinResponse, NewDevice, Prelogin, RegisterAccount};
use pvault_proto::auth::{SigningKey, public_key_string};

use super::bundle::{self, bundle_of};
use super::checkpoints;
use super::device::{credentials, random_device, save};
use super::state::{SyncConfig, config};
use super::transport::{Server, Signer};
use crate::error::{Error, Result};
use crate::home::validate_profile_name;
use crate::profile::Pvault;
use crate::store::{self, WriteTx};
use crate::vault::Vault;

fn device_name(name: &str) -> Result<String> {
    pvault_proto::api::validate_device_name(name)
        .map_err(|e| Error::Protocol(format!("device name: {e}")))?;
    Ok(name.to_string())
}

fn check_username(name: &str) -> Result<()> {
    pvault_proto::api::validate_username(name).map_err(|e| Error::Server {
        status: 0,
        code: "invalid_username".into(),
        message: e.to_string(),
    })
}

/// Registers the profile and this device on a server and uploads the wrapped key bundle.
pub fn setup(vault: &Vault, server_url: &str, username: &str, device: &str) -> Result<SyncConfig> {
    if let Some(cfg) = config(vault)? {
        return Err(Error::SyncAlreadySetUp {
            profile: vault.summary().name.clone(),
            server: cfg.server,
        });
    }
    check_username(username)?;
    let device = device_name(device)?;
    let server = Server::new(server_url)?;
    let account_key = SigningKey::from_bytes(vault.account_signing_seed().expose());
    let (device_id, device_key) = random_device();
    let (kdf, bundle) = bundle_of(vault, 1);
    let body = RegisterAccount {
        username: username.to_string(),
        account_id: vault.profile_id().to_hex(),
        account_key: public_key_string(&account_key.verifying_key()),
        kdf,
        bundle,
        device: NewDevice {
            device_id: hex::encode(device_id),
            device_key: public_key_string(&device_key.verifying_key()),
            name: device.clone(),
        },
    };
    let signer = Signer {
        key: account_key,
        device: device_id,
    };
    let _: AccountInfo = server.json("POST", "/v1/accounts", Some(&body), Some(&signer))?;
    let cfg = SyncConfig {
        server: server.url().to_string(),
        username: username.to_string(),
        account_id: vault.profile_id().to_hex(),
        device_id: hex::encode(device_id),
        device_name: device,
    };
    save(vault, &cfg, &device_key)?;
    bundle_uploaded(vault, 1)?;
    let signer = Signer {
        key: device_key,
        device: device_id,
    };
    checkpoints::upload_certificate(vault, &server, &signer, &vault.profile_id().0)?;
    vault.record_now(device_added("setup", &cfg))?;
    Ok(cfg)
}

/// The account's KDF description and id, from its username; an unknown username is named.
fn prelogin(server: &Server, username: &str) -> Result<Prelogin> {
    match server.json(
        "GET",
        &format!("/v1/accounts/{username}/prelogin"),
        None::<&()>,
        None,
    ) {
        Err(Error::Server { code, .. }) if code == "unknown_account" => {
            Err(Error::UnknownAccount {
                username: username.to_string(),
                server: server.url().to_string(),
            })
        }
        other => other,
    }
}

/// Registers this device's key under the account, signed with the account key: a wrong password
/// or Secret Key gives a wrong account key, which the server refuses.
fn register_device(
    server: &Server,
    username: &str,
    body: &NewDevice,
    signer: &Signer,
) -> Result<JoinResponse> {
    match server.json(
        "POST",
        &format!("/v1/accounts/{username}/devices"),
        Some(body),
        Some(signer),
    ) {
        Err(Error::Server { code, .. }) if code == "bad_signature" => {
            Err(Error::WrongPasswordOrSecretKey {
                profile: username.to_string(),
                attempts_left: None,
            })
        }
        other => other,
    }
}

/// Adds this device to a profile registered on a server: derives the account key from the password
/// and Secret Key, registers a device key, fetches the key bundle, and makes the profile here under
/// `local_name`. Returns the unlocked profile (not yet synced: call [`super::sync`]).
pub fn join(
    pv: &Pvault,
    server_url: &str,
    username: &str,
    password: &[u8],
    secret_key: &SecretKey,
    device: &str,
    local_name: &str,
) -> Result<Vault> {
    validate_profile_name(local_name)?;
    pv.home().ensure_free(local_name)?;
    check_username(username)?;
    let device = device_name(device)?;
    let server = Server::new(server_url)?;
    let pre = prelogin(&server, username)?;
    let profile = ProfileId::parse(&pre.account_id)
        .map_err(|_| Error::Protocol("prelogin: bad account id".into()))?;
    // Checked against pvault's floor before the password goes through it.
    let kdf = bundle::served_kdf(&pre.kdf)?;
    let kek = kdf.derive_kek(&profile, password, secret_key)?;
    let (device_id, device_key) = random_device();
    let signer = Signer {
        key: SigningKey::from_bytes(kek.account_signing_seed().expose()),
        device: device_id,
    };
    let body = NewDevice {
        device_id: hex::encode(device_id),
        device_key: public_key_string(&device_key.verifying_key()),
        name: device.clone(),
    };
    let joined = register_device(&server, username, &body, &signer)?;
    let doc = bundle::parse(&joined.bundle.bundle)?;
    let file = doc.key_file()?;
    if file.profile_id()? != profile {
        return Err(Error::SyncTampered(
            "the key bundle belongs to another profile".into(),
        ));
    }
    if serde_json::to_string(&file.kdf).ok().as_deref() != Some(pre.kdf.as_str()) {
        // Before unlocking: a KEK derived with other parameters would read as a wrong password.
        return Err(Error::SyncIntegrity(
            "the server's KDF description at prelogin is not the one in its key bundle; nothing was              created here"
                .into(),
        ));
    }
    let keys = file.unlock_with_kek(&kek, secret_key)?;
    // Only the profile's identity signs a bundle: a security level, KDF or key the server changed
    // is refused here, before anything is stored.
    let verified = doc.verify(&profile, keys.identity(), &pre.kdf)?;
    let (security, file) = (verified.security, verified.file);
    let file = if security.stores_secret_key() {
        file.with_secret_key_stored(password, secret_key)?
    } else {
        file
    };
    let vault = pv.adopt(local_name, security, file, keys)?;
    let cfg = SyncConfig {
        server: server.url().to_string(),
        username: username.to_string(),
        account_id: profile.to_hex(),
        device_id: hex::encode(device_id),
        device_name: device,
    };
    save(&vault, &cfg, &device_key)?;
    bundle_uploaded(&vault, verified.seq)?;
    let signer = Signer {
        key: device_key,
        device: device_id,
    };
    checkpoints::upload_certificate(&vault, &server, &signer, &profile.0)?;
    vault.record_now(device_added("join", &cfg))?;
    Ok(vault)
}

/// Records that the server holds this device's bundle content, at `seq`.
fn bundle_uploaded(vault: &Vault, seq: u64) -> Result<()> {
    let tx = WriteTx::begin(vault.conn())?;
    store::set_meta_bytes(&tx, store::SYNC_BUNDLE_HASH, &bundle::content_hash(vault))?;
    store::set_meta_u64(&tx, store::SYNC_BUNDLE_SEQ, seq)?;
    tx.commit()
}

/// The server's view of the account.
pub(super) fn account_info(vault: &Vault) -> Result<AccountInfo> {
    let (cfg, server, signer) = credentials(vault)?;
    server.json(
        "GET",
        &format!("/v1/profiles/{}", cfg.account_id),
        None::<&()>,
        Some(&signer),
    )
}

/// Removes a device from the account (this one or another): the server refuses it from then on.
pub fn remove_device(vault: &Vault, device_id: &str) -> Result<AccountInfo> {
    let (cfg, server, signer) = credentials(vault)?;
    pvault_proto::parse_id16("device id", device_id)
        .map_err(|_| Error::InvalidDeviceId(device_id.to_string()))?;
    let info = server.json(
        "DELETE",
        &format!("/v1/profiles/{}/devices/{device_id}", cfg.account_id),
        None::<&()>,
        Some(&signer),
    )?;
    let tx = WriteTx::begin(vault.conn())?;
    store::add_history(
        &tx,
        "device",
        None,
        &format!("device {device_id} removed from the account"),
        None,
    )?;
    vault.record(
        &tx,
        Event::new(EventKind::DeviceRemoved).with("device_id", device_id),
    )?;
    tx.commit()?;
    Ok(info)
}

/// Stops syncing the profile on this device: forgets the server, the device key and the sync
/// position. Records, history and open conflicts stay; local changes not yet pushed stay marked.
pub fn leave(vault: &Vault) -> Result<Option<SyncConfig>> {
    let cfg = config(vault)?;
    let tx = WriteTx::begin(vault.conn())?;
    store::forget_sync(&tx)?;
    if let Some(c) = &cfg {
        store::add_history(
            &tx,
            "leave",
            None,
            &format!("stopped syncing with {}", c.server),
            None,
        )?;
        vault.record(
            &tx,
            Event::new(EventKind::DeviceRemoved)
                .with("device_id", c.device_id.as_str())
                .with("via", "leave"),
        )?;
    }
    tx.commit()?;
    Ok(cfg)
}

/// The audit entry of this device joining the profile's sync.
fn device_added(via: &str, cfg: &SyncConfig) -> Event {
    Event::new(EventKind::DeviceAdded)
        .with("via", via)
        .with("device_id", cfg.device_id.as_str())
        .with("device_name", cfg.device_name.as_str())
        .with("server", cfg.server.as_str())
}
