//! The key file: everything needed to unlock a profile, with every secret in it wrapped.
//!
//! A JSON document (see `docs/format.md`). It holds the Argon2id parameters and salt, the Secret Key
//! wrapped under the password key (when the profile keeps it on this device), each epoch's root key
//! wrapped under the KEK, and the naming key and identity keys wrapped under the current epoch.
//! Changing the password rewrites only this file; nothing else is re-encrypted.
//!
//! Every file this code writes ends with a `checksum`: SHA-256 over a canonical encoding of every
//! other field ([`KeyFile::checksum`]). It needs no password, so damage (a flipped byte in the salt,
//! the KDF parameters or a wrapped key) is reported as damage ([`CryptoError::KeyFileDamaged`]) before
//! anything is derived, instead of reading as a wrong password. It protects against accidents, not
//! against someone who can write the file: they can recompute it. Files written before it (no
//! `checksum` member) are read as before.

mod open;
mod unlocked;

pub use unlocked::{Kek, UnlockedKeys};

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_codec::ChainHasher;
use serde::{Deserialize, Serialize};

use crate::envelope::{self, Aad, Kind};
use crate::keys::{AesKey, Purpose, RootKey};
use crate::{
    Classification, CryptoError, Identity, KdfParams, Key32, PasswordKey, ProfileId,
    PublicIdentity, Result, SecretKey,
};

/// The `format` field of every key file.
pub const FORMAT: &str = "pvault-keyfile";
/// The key-file version this code writes and reads.
pub const VERSION: u64 = 1;
/// Largest key file accepted by the decoder.
pub const MAX_LEN: usize = 1 << 20;
/// The first field of the checksum's canonical encoding (its domain).
pub const CHECKSUM_DOMAIN: &[u8] = b"pvault/v1/keyfile-checksum";
/// The member that holds the checksum.
const CHECKSUM_FIELD: &str = "checksum";

/// The key file as stored.
///
/// Equality compares what the file holds, not whether it was read with a checksum.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for files this code writes.
    pub version: u64,
    /// The profile the keys belong to (32 hex digits).
    pub profile_id: String,
    /// Password key derivation.
    pub kdf: KdfSection,
    /// The Secret Key, wrapped under the password key, when this device keeps it.
    pub secret_key: Option<String>,
    /// The epoch new data is written under.
    pub current_key_id: u32,
    /// Every live epoch's root key, wrapped under the KEK.
    pub epochs: Vec<EpochSection>,
    /// The naming key (hides record ids), wrapped under the current epoch.
    pub naming_key: String,
    /// The identity keys.
    pub identity: IdentitySection,
    /// Whether the bytes this was decoded from carried a (verified) checksum. Not a field of the
    /// file: [`KeyFile::encode`] always writes a fresh checksum, whatever this says.
    #[serde(skip)]
    checksummed: bool,
}

impl PartialEq for KeyFile {
    fn eq(&self, other: &KeyFile) -> bool {
        // Every field named, so that a new one cannot be forgotten here.
        let KeyFile {
            format,
            version,
            profile_id,
            kdf,
            secret_key,
            current_key_id,
            epochs,
            naming_key,
            identity,
            checksummed: _,
        } = self;
        *format == other.format
            && *version == other.version
            && *profile_id == other.profile_id
            && *kdf == other.kdf
            && *secret_key == other.secret_key
            && *current_key_id == other.current_key_id
            && *epochs == other.epochs
            && *naming_key == other.naming_key
            && *identity == other.identity
    }
}

/// Argon2id parameters and salt.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KdfSection {
    /// Always `"argon2id"`.
    pub alg: String,
    /// Memory, passes and lanes.
    #[serde(flatten)]
    pub params: KdfParams,
    /// 16 random bytes, base64.
    pub salt: String,
}

/// One epoch of the keyring.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EpochSection {
    /// The key id.
    pub key_id: u32,
    /// The root key wrapped under the KEK (an envelope, base64).
    pub wrapped_root: String,
}

/// Public identity keys, and the secret ones wrapped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    /// Ed25519 verifying key, base64.
    pub ed25519_public: String,
    /// X25519 public key, base64.
    pub x25519_public: String,
    /// Ed25519 seed and X25519 secret wrapped under the current epoch (an envelope, base64).
    pub wrapped_secret: String,
}

impl KdfSection {
    /// Derives the KEK of `profile` from the password and the Secret Key (runs Argon2id).
    pub fn derive_kek(
        &self,
        profile: &ProfileId,
        password: &[u8],
        secret_key: &SecretKey,
    ) -> Result<Kek> {
        if self.alg != "argon2id" {
            return Err(CryptoError::InvalidKeyFile(format!(
                "unknown KDF '{}'",
                self.alg
            )));
        }
        self.params.validate()?;
        let raw = b64d("kdf.salt", &self.salt)?;
        let salt: [u8; 16] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::InvalidKeyFile("kdf.salt is not 16 bytes".into()))?;
        let pk = PasswordKey::derive(password, &salt, self.params)?;
        Ok(Kek {
            profile: *profile,
            key: pk.kek(secret_key, &salt),
        })
    }
}

fn wrap_aad<'a>(profile: &'a ProfileId, label: &'a str) -> Aad<'a> {
    Aad {
        profile,
        kind: Kind::KeyWrap,
        collection: "keys",
        record_id: label,
        classification: Classification::TopSecret,
    }
}

fn b64d(field: &str, s: &str) -> Result<Vec<u8>> {
    B64.decode(s)
        .map_err(|_| CryptoError::InvalidKeyFile(format!("field '{field}' is not valid base64")))
}

fn root_label(id: u32) -> String {
    format!("root/{id}")
}

impl KeyFile {
    /// Makes the keys of a new profile. Returns the file to store and the unlocked keys (which carry the
    /// new Secret Key, to show once).
    pub fn create(
        profile: ProfileId,
        password: &[u8],
        params: KdfParams,
        store_secret_key: bool,
    ) -> Result<(KeyFile, UnlockedKeys)> {
        let keys = UnlockedKeys {
            profile,
            kek: Key32::random(), // replaced by `seal` below
            secret_key: SecretKey::generate(),
            roots: BTreeMap::from([(1, RootKey::generate(1))]),
            current: 1,
            naming: Key32::random(),
            identity: Identity::generate(),
        };
        Self::seal(keys, password, params, store_secret_key)
    }

    /// Writes a key file for `keys` under a password: fresh salt, fresh KEK, every root rewrapped.
    pub(super) fn seal(
        mut keys: UnlockedKeys,
        password: &[u8],
        params: KdfParams,
        store_secret_key: bool,
    ) -> Result<(KeyFile, UnlockedKeys)> {
        let salt: [u8; 16] = crate::random::bytes();
        let pk = PasswordKey::derive(password, &salt, params)?;
        keys.kek = pk.kek(&keys.secret_key, &salt);
        let secret_key = if store_secret_key {
            let wk = AesKey::new(&pk.secret_key_wrap_key(&salt));
            Some(B64.encode(envelope::wrap(
                &wk,
                0,
                &wrap_aad(&keys.profile, "secret-key"),
                keys.secret_key.expose(),
            )?))
        } else {
            None
        };
        let file = KeyFile {
            format: FORMAT.into(),
            version: VERSION,
            profile_id: keys.profile.to_hex(),
            kdf: KdfSection {
                alg: "argon2id".into(),
                params,
                salt: B64.encode(salt),
            },
            secret_key,
            current_key_id: keys.current,
            epochs: Vec::new(),
            naming_key: String::new(),
            identity: IdentitySection {
                ed25519_public: String::new(),
                x25519_public: String::new(),
                wrapped_secret: String::new(),
            },
            checksummed: false,
        };
        let file = file.rewrap(&keys)?;
        Ok((file, keys))
    }

    /// Refreshes every wrapped key from `keys` (epochs under the KEK; naming and identity under the
    /// current epoch), keeping the KDF section.
    pub(super) fn rewrap(mut self, keys: &UnlockedKeys) -> Result<KeyFile> {
        // New contents: no longer the bytes that were decoded.
        self.checksummed = false;
        let kek = AesKey::new(&keys.kek);
        self.epochs = keys
            .roots
            .values()
            .map(|r| {
                let label = root_label(r.id());
                let w = envelope::wrap(&kek, r.id(), &wrap_aad(&keys.profile, &label), r.expose())?;
                Ok(EpochSection {
                    key_id: r.id(),
                    wrapped_root: B64.encode(w),
                })
            })
            .collect::<Result<_>>()?;
        let cur = keys.current();
        let wk = AesKey::new(&cur.derive(&keys.profile, Purpose::Wrap));
        self.current_key_id = keys.current;
        self.naming_key = B64.encode(envelope::wrap(
            &wk,
            cur.id(),
            &wrap_aad(&keys.profile, "naming"),
            keys.naming.expose(),
        )?);
        let public = keys.identity.public();
        self.identity = IdentitySection {
            ed25519_public: B64.encode(public.ed25519),
            x25519_public: B64.encode(public.x25519),
            wrapped_secret: B64.encode(envelope::wrap(
                &wk,
                cur.id(),
                &wrap_aad(&keys.profile, "identity"),
                keys.identity.secret_bytes().as_ref(),
            )?),
        };
        Ok(self)
    }

    /// Decodes and checks a key file: structure, and the checksum when the file has one (a file
    /// written before checksums has none and is read as before). Nothing is authentic until
    /// [`KeyFile::unlock`]: the checksum catches accidents, not edits by someone who can recompute it.
    pub fn decode(bytes: &[u8]) -> Result<KeyFile> {
        if bytes.len() > MAX_LEN {
            return Err(CryptoError::InvalidKeyFile(format!(
                "larger than {MAX_LEN} bytes"
            )));
        }
        let mut value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| CryptoError::InvalidKeyFile(format!("not JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(CryptoError::InvalidKeyFile(format!(
                "not a pvault key file (format is not \"{FORMAT}\")"
            )));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(VERSION) => {}
            Some(v) if v > VERSION => return Err(CryptoError::UnsupportedKeyFileVersion(v)),
            _ => {
                return Err(CryptoError::InvalidKeyFile(
                    "missing or invalid version".into(),
                ));
            }
        }
        // Taken out before the typed decode, which refuses every other unknown member.
        let stored_checksum = value.as_object_mut().and_then(|o| o.remove(CHECKSUM_FIELD));
        let mut file: KeyFile = serde_json::from_value(value)
            .map_err(|e| CryptoError::InvalidKeyFile(e.to_string()))?;
        if let Some(stored) = stored_checksum {
            // Before any other check, so that damage anywhere is reported as such.
            let stored = stored
                .as_str()
                .and_then(|s| hex::decode(s).ok())
                .filter(|b| b.len() == 32)
                .ok_or_else(|| {
                    CryptoError::KeyFileDamaged("the checksum is not 64 hex digits".into())
                })?;
            if stored[..] != file.checksum()[..] {
                return Err(CryptoError::KeyFileDamaged(
                    "the checksum does not match the file's contents".into(),
                ));
            }
            file.checksummed = true;
        }
        file.check()?;
        Ok(file)
    }

    /// The checksum of this key file: SHA-256 over every field but `checksum`, each behind its
    /// length as a big-endian `u32` ([`pvault_codec::framed_hash`]), in this order:
    ///
    /// ```text
    /// "pvault/v1/keyfile-checksum" | format | version (u64) | profile_id
    /// | kdf.alg | kdf.m_kib (u32) | kdf.t (u32) | kdf.p (u32) | kdf.salt
    /// | 0x00 (secret_key null) or 0x01 | secret_key
    /// | current_key_id (u32) | number of epochs (u32)
    /// | per epoch, in file order: key_id (u32) | wrapped_root
    /// | naming_key | identity.ed25519_public | identity.x25519_public | identity.wrapped_secret
    /// ```
    ///
    /// Integers are big-endian; strings are their UTF-8 bytes exactly as stored (the base64 and hex
    /// text, not the bytes it encodes). Written as 64 lower-case hex digits (`docs/format.md`,
    /// §3.0).
    pub fn checksum(&self) -> [u8; 32] {
        let u32_be = |v: u32| v.to_be_bytes();
        let mut h = ChainHasher::new()
            .framed(CHECKSUM_DOMAIN)
            .framed(self.format.as_bytes())
            .framed(&self.version.to_be_bytes())
            .framed(self.profile_id.as_bytes())
            .framed(self.kdf.alg.as_bytes())
            .framed(&u32_be(self.kdf.params.m_kib))
            .framed(&u32_be(self.kdf.params.t))
            .framed(&u32_be(self.kdf.params.p))
            .framed(self.kdf.salt.as_bytes());
        h = match &self.secret_key {
            None => h.framed(&[0]),
            Some(s) => h.framed(&[1]).framed(s.as_bytes()),
        };
        // A decoded file is at most MAX_LEN bytes, so it cannot hold 2^32 epochs.
        h = h
            .framed(&u32_be(self.current_key_id))
            .framed(&u32_be(self.epochs.len() as u32));
        for e in &self.epochs {
            h = h
                .framed(&u32_be(e.key_id))
                .framed(e.wrapped_root.as_bytes());
        }
        h.framed(self.naming_key.as_bytes())
            .framed(self.identity.ed25519_public.as_bytes())
            .framed(self.identity.x25519_public.as_bytes())
            .framed(self.identity.wrapped_secret.as_bytes())
            .finish()
    }

    /// Whether the bytes this was decoded from carried a checksum. `false` for a file an older
    /// pvault wrote, which [`KeyFile::encode`] would write again with one; also `false` for a file made
    /// in memory and not decoded.
    pub fn has_checksum(&self) -> bool {
        self.checksummed
    }

    pub(super) fn check(&self) -> Result<()> {
        ProfileId::parse(&self.profile_id)?;
        if self.kdf.alg != "argon2id" {
            return Err(CryptoError::InvalidKeyFile(format!(
                "unknown KDF '{}'",
                self.kdf.alg
            )));
        }
        // Out-of-range parameters are never run: they can only come from damage (or a hostile edit).
        self.kdf
            .params
            .validate()
            .map_err(|e| CryptoError::KeyFileDamaged(format!("KDF parameters: {e}")))?;
        if b64d("kdf.salt", &self.kdf.salt)?.len() != 16 {
            return Err(CryptoError::InvalidKeyFile(
                "kdf.salt must be 16 bytes".into(),
            ));
        }
        if !self.epochs.iter().any(|e| e.key_id == self.current_key_id) {
            return Err(CryptoError::InvalidKeyFile(
                "current_key_id names no epoch".into(),
            ));
        }
        let mut ids: Vec<u32> = self.epochs.iter().map(|e| e.key_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.epochs.len() || ids.contains(&0) {
            return Err(CryptoError::InvalidKeyFile(
                "epoch key ids must be unique and non-zero".into(),
            ));
        }
        for (field, s) in [
            ("identity.ed25519_public", &self.identity.ed25519_public),
            ("identity.x25519_public", &self.identity.x25519_public),
        ] {
            if b64d(field, s)?.len() != 32 {
                return Err(CryptoError::InvalidKeyFile(format!(
                    "{field} must be 32 bytes"
                )));
            }
        }
        Ok(())
    }

    /// Serializes the key file (pretty JSON, so a human can see what it holds), with a fresh
    /// `checksum` as its last member.
    pub fn encode(&self) -> Vec<u8> {
        /// The file with its checksum after every other field.
        #[derive(Serialize)]
        struct Stored<'a> {
            #[serde(flatten)]
            file: &'a KeyFile,
            checksum: String,
        }
        let stored = Stored {
            file: self,
            checksum: hex::encode(self.checksum()),
        };
        let mut v = serde_json::to_vec_pretty(&stored).expect("key file serializes");
        v.push(b'\n');
        v
    }

    /// Serializes the key file as pvault 0.1 wrote it, without a checksum: for readers that predate
    /// it and refuse unknown members (the key bundle other devices fetch from the sync server).
    pub fn encode_without_checksum(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("key file serializes");
        v.push(b'\n');
        v
    }

    /// The profile id.
    pub fn profile_id(&self) -> Result<ProfileId> {
        ProfileId::parse(&self.profile_id)
    }

    /// Whether the Secret Key is kept (wrapped) in this file, or must be typed.
    pub fn stores_secret_key(&self) -> bool {
        self.secret_key.is_some()
    }

    /// The KDF parameters.
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf.params
    }

    /// The public identity, without unlocking.
    pub fn public_identity(&self) -> Result<PublicIdentity> {
        self.check()?;
        let mut ed25519 = [0u8; 32];
        let mut x25519 = [0u8; 32];
        ed25519.copy_from_slice(&b64d(
            "identity.ed25519_public",
            &self.identity.ed25519_public,
        )?);
        x25519.copy_from_slice(&b64d(
            "identity.x25519_public",
            &self.identity.x25519_public,
        )?);
        Ok(PublicIdentity { ed25519, x25519 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    #[test]
    fn a_joining_device_derives_the_same_kek_and_account_key() {
        let pid = ProfileId::random();
        let (file, keys) = KeyFile::create(pid, b"correct horse", FAST, false).unwrap();
        let sk = SecretKey::from_bytes(keys.secret_key().expose()).unwrap();
        let kek = file.kdf.derive_kek(&pid, b"correct horse", &sk).unwrap();
        assert_eq!(
            kek.account_signing_seed().expose(),
            keys.account_signing_seed().expose()
        );
        let opened = file.unlock_with_kek(&kek, &sk).unwrap();
        assert_eq!(opened.current().expose(), keys.current().expose());

        let wrong = file.kdf.derive_kek(&pid, b"wrong horse", &sk).unwrap();
        assert_ne!(
            wrong.account_signing_seed().expose(),
            keys.account_signing_seed().expose()
        );
        assert!(matches!(
            file.unlock_with_kek(&wrong, &sk),
            Err(CryptoError::WrongPasswordOrSecretKey)
        ));
        let other = file
            .kdf
            .derive_kek(&ProfileId::random(), b"correct horse", &sk)
            .unwrap();
        assert!(file.unlock_with_kek(&other, &sk).is_err());
        let kept = file.with_secret_key_stored(b"correct horse", &sk).unwrap();
        assert!(kept.stores_secret_key());
        kept.unlock(b"correct horse", None).unwrap();
        assert!(file.with_secret_key_stored(b"wrong", &sk).is_err());
        // Another device's rotation merges in; a file under another password does not.
        let (rotated, rkeys) = file.add_epoch(&keys).unwrap();
        let (merged, mkeys) = file.merge_epochs(&keys, &rotated).unwrap();
        assert_eq!(mkeys.key_ids(), vec![1, 2]);
        assert_eq!(mkeys.current().expose(), rkeys.current().expose());
        assert_eq!(merged.kdf, file.kdf);
        merged.unlock(b"correct horse", Some(&sk)).unwrap();
        let (repassed, _) = rotated.change_password(&rkeys, b"other", FAST).unwrap();
        assert!(matches!(
            file.merge_epochs(&keys, &repassed),
            Err(CryptoError::WrongPasswordOrSecretKey)
        ));
        // A password change changes the account key.
        let (_, keys2) = file
            .change_password(&keys, b"battery staple", FAST)
            .unwrap();
        assert_ne!(
            keys2.account_signing_seed().expose(),
            keys.account_signing_seed().expose()
        );
    }

    #[test]
    fn create_unlock_change_password_rotate() {
        let pid = ProfileId::random();
        let (file, keys) = KeyFile::create(pid, b"correct horse", FAST, true).unwrap();
        let file = KeyFile::decode(&file.encode()).unwrap();
        let naming_before = keys.naming_key().token(&[b"x"]);
        let again = file.unlock(b"correct horse", None).unwrap();
        assert_eq!(again.current().expose(), keys.current().expose());
        assert_eq!(again.naming_key().token(&[b"x"]), naming_before);
        assert!(matches!(
            file.unlock(b"wrong", None),
            Err(CryptoError::WrongPassword)
        ));

        let root1 = *keys.current().expose();
        let (file2, keys2) = file
            .change_password(&keys, b"battery staple", FAST)
            .unwrap();
        assert!(matches!(
            file2.unlock(b"correct horse", None),
            Err(CryptoError::WrongPassword)
        ));
        let k = file2.unlock(b"battery staple", None).unwrap();
        assert_eq!(
            k.current().expose(),
            &root1,
            "password change keeps the root key"
        );

        let (file3, keys3) = file2.add_epoch(&keys2).unwrap();
        assert_eq!(keys3.key_ids(), vec![1, 2]);
        let k = file3.unlock(b"battery staple", None).unwrap();
        assert_eq!(k.current().id(), 2);
        assert_eq!(k.root(1).unwrap().expose(), &root1);
        assert_eq!(
            k.naming_key().token(&[b"x"]),
            naming_before,
            "naming key survives rotation"
        );
        let (file4, _) = file3.drop_old_epochs(&keys3).unwrap();
        let k = file4.unlock(b"battery staple", None).unwrap();
        assert_eq!(k.key_ids(), vec![2]);
        assert!(matches!(k.root(1), Err(CryptoError::UnknownKeyId(1))));
    }

    #[test]
    fn transfer_round_trip_and_reauth_proof() {
        let (file, keys) = KeyFile::create(ProfileId::random(), b"pw", FAST, true).unwrap();
        let (file2, keys2) = file.add_epoch(&keys).unwrap();
        let bytes = keys2.to_transfer_bytes();
        let back = UnlockedKeys::from_transfer_bytes(&bytes, &file2).unwrap();
        assert_eq!(back.key_ids(), vec![1, 2]);
        assert_eq!(back.current().expose(), keys2.current().expose());
        // Against the older key file (one epoch), or truncated, or from another profile: refused.
        assert!(UnlockedKeys::from_transfer_bytes(&bytes, &file).is_err());
        for cut in 0..bytes.len() {
            assert!(
                UnlockedKeys::from_transfer_bytes(&bytes[..cut], &file2).is_err(),
                "cut at {cut}"
            );
        }
        let mut extra = bytes.to_vec();
        extra.push(0);
        assert!(UnlockedKeys::from_transfer_bytes(&extra, &file2).is_err());
        let (other, _) = KeyFile::create(ProfileId::random(), b"pw", FAST, true).unwrap();
        assert!(UnlockedKeys::from_transfer_bytes(&bytes, &other).is_err());

        let challenge = [7u8; 32];
        let fresh = file2.unlock(b"pw", None).unwrap();
        assert!(back.check_reauth_proof(&challenge, &fresh.reauth_proof(&challenge)));
        assert!(!back.check_reauth_proof(&[8u8; 32], &fresh.reauth_proof(&challenge)));
        let (_, stranger) = KeyFile::create(ProfileId::random(), b"pw", FAST, true).unwrap();
        assert!(!back.check_reauth_proof(&challenge, &stranger.reauth_proof(&challenge)));
    }

    #[test]
    fn typed_secret_key_is_required_and_checked() {
        let (file, keys) = KeyFile::create(ProfileId::random(), b"pw", FAST, false).unwrap();
        assert!(!file.stores_secret_key());
        assert!(matches!(
            file.unlock(b"pw", None),
            Err(CryptoError::SecretKeyRequired)
        ));
        let sk = SecretKey::parse(&keys.secret_key().to_display_string()).unwrap();
        file.unlock(b"pw", Some(&sk)).unwrap();
        let other = SecretKey::generate();
        assert!(matches!(
            file.unlock(b"pw", Some(&other)),
            Err(CryptoError::WrongPasswordOrSecretKey)
        ));
    }

    #[test]
    fn decoder_rejects_future_and_foreign_files() {
        let (file, _) = KeyFile::create(ProfileId::random(), b"pw", FAST, true).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&file.encode()).unwrap();
        v["version"] = 2.into();
        v["new_field"] = 1.into();
        let err = KeyFile::decode(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(
            matches!(err, CryptoError::UnsupportedKeyFileVersion(2)),
            "{err}"
        );
        assert!(KeyFile::decode(b"{\"format\":\"other\"}").is_err());
        assert!(KeyFile::decode(b"\x00\x01").is_err());
        // Out-of-range KDF parameters are damage, with or without a checksum.
        for with_checksum in [true, false] {
            let bytes = if with_checksum {
                file.encode()
            } else {
                file.encode_without_checksum()
            };
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            v["kdf"]["m_kib"] = 4_000_000_000u64.into();
            let err = KeyFile::decode(&serde_json::to_vec(&v).unwrap()).unwrap_err();
            assert!(matches!(err, CryptoError::KeyFileDamaged(_)), "{err}");
        }
        let mut hostile = file.clone();
        hostile.kdf.params.t = 1000;
        let err = KeyFile::decode(&hostile.encode()).unwrap_err();
        assert!(
            matches!(&err, CryptoError::KeyFileDamaged(m) if m.contains("KDF parameters")),
            "{err}"
        );
        assert!(matches!(
            hostile.unlock(b"pw", None),
            Err(CryptoError::KeyFileDamaged(_))
        ));
    }

    /// The byte range of the value of the `nth` member called `key` in a pretty-printed key file:
    /// inside the quotes of a string, or the digits of a number.
    fn value_range(bytes: &[u8], key: &str, nth: usize) -> std::ops::Range<usize> {
        let needle = format!("\"{key}\": ");
        let text = std::str::from_utf8(bytes).unwrap();
        let (at, _) = text
            .match_indices(&needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("no {key} #{nth}"));
        let start = at + needle.len();
        if bytes[start] == b'"' {
            let end = start + 1 + text[start + 1..].find('"').unwrap();
            start + 1..end
        } else {
            let end = start + text[start..].find(|c: char| !c.is_ascii_digit()).unwrap();
            start..end
        }
    }

    /// Every damaged place of a key file with two epochs: (what, member, occurrence).
    const PLACES: [(&str, &str, usize); 9] = [
        ("salt", "salt", 0),
        ("m_kib", "m_kib", 0),
        ("t", "t", 0),
        ("p", "p", 0),
        ("root 1", "wrapped_root", 0),
        ("root 2", "wrapped_root", 1),
        ("naming key", "naming_key", 0),
        ("identity", "wrapped_secret", 0),
        ("public identity", "ed25519_public", 0),
    ];

    /// A key file with two epochs (current 2), and its keys.
    fn two_epochs(store_secret_key: bool) -> (KeyFile, UnlockedKeys) {
        let (file, keys) =
            KeyFile::create(ProfileId::random(), b"pw", FAST, store_secret_key).unwrap();
        file.add_epoch(&keys).unwrap()
    }

    /// Decodes and unlocks `bytes` with the password `pw` (and the typed Secret Key `sk`).
    fn open(bytes: &[u8], sk: Option<&SecretKey>) -> Result<UnlockedKeys> {
        KeyFile::decode(bytes)?.unlock(b"pw", sk)
    }

    #[test]
    fn checksum_round_trip() {
        for stored in [true, false] {
            let (file, keys) = two_epochs(stored);
            let sk = (!stored).then(|| SecretKey::from_bytes(keys.secret_key().expose()).unwrap());
            let bytes = file.encode();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["checksum"], hex::encode(file.checksum()));
            let text = std::str::from_utf8(&bytes).unwrap();
            assert!(
                text.trim_end().ends_with(&format!(
                    "\"checksum\": \"{}\"\n}}",
                    hex::encode(file.checksum())
                )),
                "the checksum is the last member: {text}"
            );
            let back = KeyFile::decode(&bytes).unwrap();
            assert!(back.has_checksum() && !file.has_checksum());
            assert_eq!(back, file);
            assert_eq!(back.encode(), bytes, "encoding is stable");
            back.unlock(b"pw", sk.as_ref()).unwrap();
            // Upper-case hex is read too.
            let upper = text.replace(
                &hex::encode(file.checksum()),
                &hex::encode_upper(file.checksum()),
            );
            assert!(KeyFile::decode(upper.as_bytes()).unwrap().has_checksum());

            // A file written before checksums decodes and unlocks as before, and is written with one.
            let old = file.encode_without_checksum();
            assert!(!std::str::from_utf8(&old).unwrap().contains("checksum"));
            let old_file = KeyFile::decode(&old).unwrap();
            assert!(!old_file.has_checksum());
            assert_eq!(old_file, file);
            old_file.unlock(b"pw", sk.as_ref()).unwrap();
            assert_eq!(old_file.encode(), bytes);
            // What a rewrite holds was not read with a checksum.
            let (rotated, _) = back.add_epoch(&keys).unwrap();
            assert!(!rotated.has_checksum());
            assert!(KeyFile::decode(&rotated.encode()).unwrap().has_checksum());
        }
    }

    #[test]
    fn a_bad_checksum_is_damage_and_other_members_are_still_refused() {
        let (file, _) = two_epochs(true);
        let good = hex::encode(file.checksum());
        let mut v: serde_json::Value = serde_json::from_slice(&file.encode()).unwrap();
        for bad in [
            serde_json::json!("00".repeat(32)),
            serde_json::json!(&good[..62]),
            serde_json::json!(format!("{}zz", &good[..62])),
            serde_json::json!(null),
            serde_json::json!(7),
        ] {
            v["checksum"] = bad.clone();
            let err = KeyFile::decode(&serde_json::to_vec(&v).unwrap()).unwrap_err();
            assert!(
                matches!(err, CryptoError::KeyFileDamaged(_)),
                "{bad}: {err}"
            );
        }
        v["checksum"] = good.into();
        KeyFile::decode(&serde_json::to_vec(&v).unwrap()).unwrap();
        v["comment"] = "hi".into();
        let err = KeyFile::decode(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(err, CryptoError::InvalidKeyFile(_)), "{err}");
    }

    #[test]
    fn every_byte_flip_of_a_checksummed_file_is_damage_not_a_wrong_password() {
        for stored in [true, false] {
            let (file, keys) = two_epochs(stored);
            let sk = SecretKey::from_bytes(keys.secret_key().expose()).unwrap();
            let bytes = file.encode();
            let mut places = PLACES.to_vec();
            if stored {
                places.push(("stored Secret Key", "secret_key", 0));
            }
            let mut flips = 0;
            for (what, key, nth) in places {
                for i in value_range(&bytes, key, nth) {
                    let mut damaged = bytes.clone();
                    // Keeps base64 text and digits valid JSON (no quote, backslash or leading zero).
                    damaged[i] ^= 1;
                    let err = match KeyFile::decode(&damaged) {
                        Err(e) => e,
                        Ok(_) => panic!("{what}: byte {i} flipped, yet it decodes"),
                    };
                    assert!(
                        matches!(&err, CryptoError::KeyFileDamaged(m) if m.contains("checksum")),
                        "{what}: byte {i}: {err}"
                    );
                    flips += 1;
                }
            }
            assert!(flips > 400, "{flips}");
            open(&bytes, (!stored).then_some(&sk)).unwrap();
        }
    }

    #[test]
    fn without_a_checksum_wraps_that_open_under_a_key_that_opens_others_are_damage() {
        for stored in [true, false] {
            let (file, keys) = two_epochs(stored);
            let sk = SecretKey::from_bytes(keys.secret_key().expose()).unwrap();
            let typed = (!stored).then_some(&sk);
            let bytes = file.encode_without_checksum();
            for (what, key, nth) in [
                ("root 1", "wrapped_root", 0),
                ("root 2", "wrapped_root", 1),
                ("naming key", "naming_key", 0),
                ("identity", "wrapped_secret", 0),
                ("public identity", "ed25519_public", 0),
            ] {
                for i in value_range(&bytes, key, nth) {
                    let mut damaged = bytes.clone();
                    damaged[i] ^= 1;
                    match open(&damaged, typed) {
                        // Some flips make the text invalid base64: a file that does not decode.
                        Err(CryptoError::KeyFileDamaged(_) | CryptoError::InvalidKeyFile(_)) => {}
                        other => panic!(
                            "{what} (stored {stored}): byte {i}: {:?}",
                            other.map(|_| "unlocked")
                        ),
                    }
                }
            }
            // The one damage that cannot be told from a wrong password without the checksum: the
            // salt (or in-range KDF parameters) change the password key itself.
            let damaged = value_range(&bytes, "salt", 0)
                .map(|i| {
                    let mut d = bytes.clone();
                    d[i] ^= 1;
                    d
                })
                .find(|d| KeyFile::decode(d).is_ok())
                .unwrap();
            assert!(matches!(
                open(&damaged, typed),
                Err(CryptoError::WrongPassword | CryptoError::WrongPasswordOrSecretKey)
            ));
            open(&bytes, typed).unwrap();
        }
    }

    #[test]
    fn only_a_key_that_opens_nothing_is_a_wrong_password() {
        let (file, keys) = two_epochs(false);
        let sk = SecretKey::from_bytes(keys.secret_key().expose()).unwrap();
        // Epoch 1's root wrapped under another KEK: epoch 2 opens, epoch 1 does not.
        let (other, _) = two_epochs(false);
        let mut partial = file.clone();
        partial.epochs[0].wrapped_root = other.epochs[0].wrapped_root.clone();
        let Err(err) = partial.unlock(b"pw", Some(&sk)) else {
            panic!("a file whose epoch 1 does not open unlocked");
        };
        assert!(
            matches!(&err, CryptoError::KeyFileDamaged(m) if m.contains("epoch 1") && m.contains("epoch 2")),
            "{err}"
        );
        // Both replaced: the KEK opens nothing, which a wrong Secret Key would also give.
        let mut none = partial.clone();
        none.epochs[1].wrapped_root = other.epochs[1].wrapped_root.clone();
        assert!(matches!(
            none.unlock(b"pw", Some(&sk)),
            Err(CryptoError::WrongPasswordOrSecretKey)
        ));
        assert!(matches!(
            file.unlock(b"wrong", Some(&sk)),
            Err(CryptoError::WrongPasswordOrSecretKey)
        ));
        // With the Secret Key stored, the password is proven first: nothing opening is damage.
        let (stored, _) = two_epochs(true);
        let mut none = stored.clone();
        none.epochs = other.epochs.clone();
        assert!(matches!(
            none.unlock(b"pw", None),
            Err(CryptoError::KeyFileDamaged(_))
        ));
        // Roots open, but the naming key was wrapped under another root.
        let mut naming = file.clone();
        naming.naming_key = other.naming_key.clone();
        let Err(err) = naming.unlock(b"pw", Some(&sk)) else {
            panic!("a file whose naming key does not open unlocked");
        };
        assert!(
            matches!(&err, CryptoError::KeyFileDamaged(m) if m.contains("naming key")),
            "{err}"
        );
    }
}
