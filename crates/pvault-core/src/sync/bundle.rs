//! The key bundle: the key file without the Secret Key (every secret in it wrapped under the KEK),
//! kept by the server for new devices, uploaded again after a rotation or password change, and read
//! back to adopt another device's new key epochs.
//!
//! The server cannot change what it says about the profile's keys: a bundle (format 2) is signed
//! by the profile's identity key, which only unlocked devices hold, over its sequence number, the
//! security level, the KDF description the server hands out at prelogin, and the key file, byte for
//! byte:
//!
//! ```text
//! "pvault/v1/key-bundle\n" account-hex "\n" seq "\n" security "\n"
//!     hex(SHA-256(kdf)) "\n" hex(SHA-256(key file)) "\n"
//! ```
//!
//! A device verifies the signature with the identity it unwrapped (a joining device) or holds
//! (every other), refuses a bundle whose sequence number is below the highest it has seen (a
//! rollback to older keys) and uploads `seq + 1`; before deriving anything from a KDF description
//! the server sent, it checks the parameters against pvault's floor, and after the bundle opens,
//! against the floor of the profile's signed security level ([`check_kdf_floor`]). A bundle of
//! format 1 (pvault 0.1, unsigned) is only ever replaced, never used.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_crypto::{Identity, KdfParams, KdfSection, KeyFile, ProfileId};
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
/// The signed format.
const BUNDLE_VERSION: u32 = 2;

/// What the server keeps for new devices (opaque to it).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BundleDoc {
    pub(super) format: String,
    pub(super) version: u32,
    /// Bumped by every upload (format 2).
    #[serde(default)]
    pub(super) seq: u64,
    pub(super) security: SecurityLevel,
    /// Format 2: the key file's JSON as a string (the signed bytes); format 1: the JSON itself.
    pub(super) key_file: serde_json::Value,
    /// Format 2: the KDF description, as prelogin must answer it.
    #[serde(default)]
    pub(super) kdf: String,
    /// Format 2: Ed25519 by the profile identity over [`signed_text`], base64.
    #[serde(default)]
    pub(super) signature: String,
}

/// A bundle whose signature checked out.
pub(super) struct VerifiedBundle {
    pub(super) seq: u64,
    pub(super) security: SecurityLevel,
    pub(super) file: KeyFile,
}

fn signed_text(
    account: &ProfileId,
    seq: u64,
    security: SecurityLevel,
    kdf: &str,
    key_file: &str,
) -> Vec<u8> {
    format!(
        "pvault/v1/key-bundle\n{}\n{seq}\n{}\n{}\n{}\n",
        account.to_hex(),
        security,
        hex::encode(pvault_crypto::sha256(kdf.as_bytes())),
        hex::encode(pvault_crypto::sha256(key_file.as_bytes())),
    )
    .into_bytes()
}

/// The KDF description and key file (JSON, no Secret Key, no checksum: devices running a pvault
/// that predates the checksum refuse unknown members) this device would publish.
fn content_of(vault: &Vault) -> (String, String) {
    let key_file = vault.key_file_for_server();
    (
        serde_json::to_string(&key_file.kdf).expect("kdf serializes"),
        String::from_utf8(key_file.encode_without_checksum()).expect("key file is JSON"),
    )
}

/// A fingerprint of what this device would publish, to tell whether it changed since the upload.
pub(super) fn content_hash(vault: &Vault) -> [u8; 32] {
    let (kdf, key_file) = content_of(vault);
    let security = vault.summary().security;
    pvault_crypto::sha256(&signed_text(
        vault.profile_id(),
        0,
        security,
        &kdf,
        &key_file,
    ))
}

/// The KDF description and the signed key bundle at `seq`.
pub(super) fn bundle_of(vault: &Vault, seq: u64) -> (String, String) {
    let (kdf, key_file) = content_of(vault);
    let security = vault.summary().security;
    let text = signed_text(vault.profile_id(), seq, security, &kdf, &key_file);
    let doc = BundleDoc {
        format: BUNDLE_FORMAT.into(),
        version: BUNDLE_VERSION,
        seq,
        security,
        key_file: serde_json::Value::String(key_file),
        kdf: kdf.clone(),
        signature: B64.encode(vault.identity().sign(&text)),
    };
    (kdf, serde_json::to_string(&doc).expect("bundle serializes"))
}

/// Reads a bundle document, refusing unknown formats.
pub(super) fn parse(bundle: &str) -> Result<BundleDoc> {
    let doc: BundleDoc =
        serde_json::from_str(bundle).map_err(|e| Error::Protocol(format!("key bundle: {e}")))?;
    if doc.format != BUNDLE_FORMAT || !(1..=BUNDLE_VERSION).contains(&doc.version) {
        return Err(Error::Protocol("key bundle: unknown format".into()));
    }
    Ok(doc)
}

impl BundleDoc {
    /// The key file inside, not yet verified (a joining device needs it to unwrap the identity
    /// that verifies it).
    pub(super) fn key_file(&self) -> Result<KeyFile> {
        let bytes = match &self.key_file {
            serde_json::Value::String(s) if self.version >= 2 => s.as_bytes().to_vec(),
            other => serde_json::to_vec(other).expect("JSON"),
        };
        Ok(KeyFile::decode(&bytes)?)
    }

    /// Checks the signature with the profile's identity, and that the server's KDF description
    /// (`served_kdf`: what prelogin or the bundle endpoint said) is the signed one.
    pub(super) fn verify(
        self,
        account: &ProfileId,
        identity: &Identity,
        served_kdf: &str,
    ) -> Result<VerifiedBundle> {
        if self.version < BUNDLE_VERSION {
            return Err(Error::SyncIntegrity(
                "the server's key bundle is unsigned (written by pvault 0.1), so its security level \
                 and KDF cannot be trusted; sync once from a device running this version to sign it"
                    .into(),
            ));
        }
        let key_file = self.key_file.as_str().unwrap_or_default();
        let text = signed_text(account, self.seq, self.security, &self.kdf, key_file);
        let signature = B64.decode(&self.signature).unwrap_or_default();
        if !identity.verify_own(&text, &signature) {
            return Err(Error::SyncIntegrity(
                "the server's key bundle is not signed by this profile: its security level, KDF \
                 parameters or keys were changed on the server; it was not used"
                    .into(),
            ));
        }
        if served_kdf != self.kdf {
            return Err(Error::SyncIntegrity(
                "the server hands out KDF parameters that differ from the profile's signed key \
                 bundle (a KDF downgrade?); they were not used"
                    .into(),
            ));
        }
        let file = self.key_file()?;
        if serde_json::to_string(&file.kdf).ok().as_deref() != Some(self.kdf.as_str()) {
            return Err(Error::SyncIntegrity(
                "the signed key bundle's KDF description is not its key file's".into(),
            ));
        }
        check_kdf_floor(&file.kdf.params, self.security)?;
        Ok(VerifiedBundle {
            seq: self.seq,
            security: self.security,
            file,
        })
    }
}

/// Refuses KDF parameters weaker than `level`'s (pinned in this client: the server cannot lower
/// them), before anything is derived with them.
pub(super) fn check_kdf_floor(params: &KdfParams, level: SecurityLevel) -> Result<()> {
    let floor = level.kdf_params();
    if params.m_kib < floor.m_kib || params.t < floor.t {
        return Err(Error::SyncIntegrity(format!(
            "the server offers KDF parameters below the floor of a {} profile (Argon2id m = {} MiB, \
             t = {}; at least {} MiB, t = {}): a KDF downgrade; nothing was derived with them",
            level,
            params.m_kib / 1024,
            params.t,
            floor.m_kib / 1024,
            floor.t
        )));
    }
    params.validate()?;
    Ok(())
}

/// The KDF description a server handed out, checked against pvault's floor (the `standard`
/// level's) before the password goes through it.
pub(super) fn served_kdf(kdf: &str) -> Result<KdfSection> {
    let section: KdfSection = serde_json::from_str(kdf)
        .map_err(|e| Error::Protocol(format!("prelogin: KDF description: {e}")))?;
    check_kdf_floor(&section.params, SecurityLevel::Standard)?;
    Ok(section)
}

/// Fetches the server's bundle and verifies it with this profile's identity; refuses one older
/// than this device has seen.
fn fetch_verified(
    vault: &Vault,
    server: &Server,
    signer: &Signer,
    account: &str,
) -> Result<(Bundle, VerifiedBundle)> {
    let path = format!("/v1/profiles/{account}/bundle");
    let bundle: Bundle = server.json("GET", &path, None::<&()>, Some(signer))?;
    let verified =
        parse(&bundle.bundle)?.verify(vault.profile_id(), vault.identity(), &bundle.kdf)?;
    let seen = store::meta_u64(vault.conn(), store::SYNC_BUNDLE_SEQ)?;
    if verified.seq < seen {
        return Err(Error::SyncIntegrity(format!(
            "the server's key bundle (#{}) is older than one this device has seen (#{seen}): a \
             rollback to older keys; it was not used",
            verified.seq
        )));
    }
    Ok((bundle, verified))
}

/// Uploads the key bundle again when it changed here since the last upload (a new epoch after a
/// rotation, new wrapping after a password change, which also changes the account key), before any
/// record sealed under the new keys is pushed. Returns whether it uploaded. The server's bundle
/// must be one this device has adopted ([`adopt_newer_bundle`] runs first).
pub(super) fn refresh_bundle(
    vault: &Vault,
    server: &Server,
    signer: &Signer,
    account: &[u8; 16],
) -> Result<bool> {
    let hash = content_hash(vault);
    let conn = vault.conn();
    if store::meta_bytes(conn, store::SYNC_BUNDLE_HASH)?.as_deref() == Some(&hash[..]) {
        return Ok(false);
    }
    let path = format!("/v1/profiles/{}/bundle", hex::encode(account));
    let current: Bundle = server.json("GET", &path, None::<&()>, Some(signer))?;
    let seen = store::meta_u64(conn, store::SYNC_BUNDLE_SEQ)?;
    let doc = parse(&current.bundle)?;
    // A signed bundle must verify and not be behind; an unsigned one (pvault 0.1) is replaced.
    let server_seq = if doc.version >= BUNDLE_VERSION {
        let v = doc.verify(vault.profile_id(), vault.identity(), &current.kdf)?;
        if v.seq < seen {
            return Err(Error::SyncIntegrity(format!(
                "the server's key bundle (#{}) is older than one this device has seen (#{seen}): a \
                 rollback to older keys; this device's was not uploaded over it",
                v.seq
            )));
        }
        if v.seq > seen {
            return Err(Error::SyncIntegrity(format!(
                "another device uploaded key bundle #{} while this device was adopting it; sync again",
                v.seq
            )));
        }
        v.seq
    } else {
        0
    };
    let seq = server_seq.max(seen) + 1;
    let (kdf, bundle) = bundle_of(vault, seq);
    let account_key = SigningKey::from_bytes(vault.account_signing_seed().expose());
    let body = PutBundle {
        expected_version: current.version,
        kdf,
        bundle,
        account_key: Some(public_key_string(&account_key.verifying_key())),
    };
    let _: Bundle = server.json("PUT", &path, Some(&body), Some(signer))?;
    let tx = store::WriteTx::begin(conn)?;
    store::set_meta_bytes(&tx, store::SYNC_BUNDLE_HASH, &hash)?;
    store::set_meta_u64(&tx, store::SYNC_BUNDLE_SEQ, seq)?;
    tx.commit()?;
    Ok(true)
}

/// Before this device uploads its bundle: if the server holds a newer one (another device
/// rotated), adopt its epochs first, so the upload does not drop them.
pub(super) fn adopt_newer_bundle(vault: &mut Vault) -> Result<()> {
    if store::meta_bytes(vault.conn(), store::SYNC_BUNDLE_HASH)?.as_deref()
        == Some(&content_hash(vault)[..])
    {
        return Ok(());
    }
    let (cfg, server, signer) = credentials(vault)?;
    let path = format!("/v1/profiles/{}/bundle", cfg.account_id);
    let current: Bundle = server.json("GET", &path, None::<&()>, Some(&signer))?;
    if parse(&current.bundle)?.version < BUNDLE_VERSION {
        return Ok(());
    }
    let seen = store::meta_u64(vault.conn(), store::SYNC_BUNDLE_SEQ)?;
    let (_, verified) = fetch_verified(vault, &server, &signer, &cfg.account_id)?;
    if verified.seq > seen {
        adopt_verified(vault, verified)?;
    }
    Ok(())
}

/// Fetches the key bundle and adds the epochs this device lacks (another device rotated the keys).
pub(super) fn adopt_bundle(vault: &mut Vault) -> Result<Vec<u32>> {
    let (cfg, server, signer) = credentials(vault)?;
    let (_, verified) = fetch_verified(vault, &server, &signer, &cfg.account_id)?;
    adopt_verified(vault, verified)
}

fn adopt_verified(vault: &mut Vault, verified: VerifiedBundle) -> Result<Vec<u32>> {
    let added = match vault.adopt_epochs(&verified.file) {
        Err(Error::Crypto(pvault_crypto::CryptoError::WrongPasswordOrSecretKey)) => {
            return Err(Error::PasswordChangedElsewhere);
        }
        other => other?,
    };
    let tx = store::WriteTx::begin(vault.conn())?;
    store::set_meta_u64(&tx, store::SYNC_BUNDLE_SEQ, verified.seq)?;
    if !added.is_empty() {
        store::add_history(
            &tx,
            "keys",
            None,
            &format!("adopted key epoch(s) {added:?} from another device's rotation"),
            None,
        )?;
    }
    tx.commit()?;
    Ok(added)
}
