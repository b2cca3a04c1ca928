//! Opening a key file (password, Secret Key or KEK) and making its successors: password change,
//! Secret Key stored, a new epoch, old epochs dropped, another device's epochs merged.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::envelope::{self};
use crate::keys::{AesKey, Purpose, RootKey};
use crate::{CryptoError, Identity, KdfParams, Key32, PasswordKey, ProfileId, Result, SecretKey};

use super::*;

impl KeyFile {
    /// Unlocks with the password, and the Secret Key when the file does not store it (a given Secret Key
    /// is used in place of a stored one). This runs Argon2id.
    pub fn unlock(&self, password: &[u8], secret_key: Option<&SecretKey>) -> Result<UnlockedKeys> {
        // Fields are public: a key file built in code gets the decoder's checks too.
        self.check()?;
        if secret_key.is_none() && self.secret_key.is_none() {
            // Before the KDF: no need to pay for it to learn that a secret is missing.
            return Err(CryptoError::SecretKeyRequired);
        }
        let profile = self.profile_id()?;
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&b64d("kdf.salt", &self.kdf.salt)?);
        let pk = PasswordKey::derive(password, &salt, self.kdf.params)?;
        let (sk, typed) = match (secret_key, &self.secret_key) {
            (Some(given), _) => (SecretKey::from_bytes(given.expose())?, true),
            (None, Some(stored)) => {
                let wk = AesKey::new(&pk.secret_key_wrap_key(&salt));
                let raw = envelope::unwrap(
                    &wk,
                    &wrap_aad(&profile, "secret-key"),
                    &b64d("secret_key", stored)?,
                )
                .map_err(|_| CryptoError::WrongPassword)?;
                // It opened, so the password is right: a wrong size can only be a bad file.
                let sk = SecretKey::from_bytes(&raw).map_err(|_| {
                    CryptoError::KeyFileDamaged("the stored Secret Key is not 16 bytes".into())
                })?;
                (sk, false)
            }
            (None, None) => return Err(CryptoError::SecretKeyRequired),
        };
        let kek = pk.kek(&sk, &salt);
        self.open_with(profile, kek, sk, typed)
    }

    /// The same file keeping the Secret Key on this device, wrapped under the password key (for a
    /// device that joined with password + Secret Key). Runs Argon2id; checks the password first.
    pub fn with_secret_key_stored(
        &self,
        password: &[u8],
        secret_key: &SecretKey,
    ) -> Result<KeyFile> {
        let profile = self.profile_id()?;
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&b64d("kdf.salt", &self.kdf.salt)?);
        let pk = PasswordKey::derive(password, &salt, self.kdf.params)?;
        self.open_with(
            profile,
            pk.kek(secret_key, &salt),
            SecretKey::from_bytes(secret_key.expose())?,
            true,
        )?;
        let wk = AesKey::new(&pk.secret_key_wrap_key(&salt));
        let mut out = self.clone();
        out.checksummed = false;
        out.secret_key = Some(B64.encode(envelope::wrap(
            &wk,
            0,
            &wrap_aad(&profile, "secret-key"),
            secret_key.expose(),
        )?));
        Ok(out)
    }

    /// Adds the epochs of `other` (the same profile's key file as another device wrote it, e.g. after
    /// a rotation there) to this keyring, opening them with this device's KEK; the newer current epoch
    /// wins. This file's KDF section and stored Secret Key are kept. Fails with
    /// [`CryptoError::WrongPasswordOrSecretKey`] when `other` is wrapped under another KEK (the
    /// password was changed on the other device).
    pub fn merge_epochs(
        &self,
        keys: &UnlockedKeys,
        other: &KeyFile,
    ) -> Result<(KeyFile, UnlockedKeys)> {
        other.check()?;
        if other.profile_id()? != keys.profile {
            return Err(CryptoError::InvalidKeyFile(
                "the other key file belongs to another profile".into(),
            ));
        }
        let kek = AesKey::new(&keys.kek);
        let mut merged = keys.duplicate();
        for e in &other.epochs {
            if merged.roots.contains_key(&e.key_id) {
                continue;
            }
            let raw = envelope::unwrap(
                &kek,
                &wrap_aad(&keys.profile, &root_label(e.key_id)),
                &b64d("wrapped_root", &e.wrapped_root)?,
            )
            .map_err(|_| CryptoError::WrongPasswordOrSecretKey)?;
            let arr: [u8; 32] = raw[..]
                .try_into()
                .map_err(|_| CryptoError::InvalidKeyFile("root key size".into()))?;
            merged.roots.insert(
                e.key_id,
                RootKey::from_key(e.key_id, Key32::from_bytes(arr)),
            );
        }
        merged.current = merged.current.max(other.current_key_id);
        if !merged.roots.contains_key(&merged.current) {
            return Err(CryptoError::InvalidKeyFile(
                "the current epoch is missing".into(),
            ));
        }
        let file = self.clone().rewrap(&merged)?;
        Ok((file, merged))
    }

    /// Unlocks with a KEK derived elsewhere ([`KdfSection::derive_kek`]), for a device that joined
    /// through the sync server: it derived the KEK to authenticate, and need not run Argon2id again.
    pub fn unlock_with_kek(&self, kek: &Kek, secret_key: &SecretKey) -> Result<UnlockedKeys> {
        self.check()?;
        let profile = self.profile_id()?;
        if kek.profile != profile {
            return Err(CryptoError::WrongPasswordOrSecretKey);
        }
        self.open_with(
            profile,
            kek.key.duplicate(),
            SecretKey::from_bytes(secret_key.expose())?,
            true,
        )
    }

    /// Opens every wrapped key with a KEK. `typed`: the Secret Key was typed in (otherwise it came
    /// out of the file, which proved the password).
    ///
    /// Only a KEK that opens no root key at all is a wrong password or Secret Key
    /// ([`CryptoError::WrongPasswordOrSecretKey`], when `typed`). Everything else that does not open is
    /// damage ([`CryptoError::KeyFileDamaged`]), never counted as a failed unlock: some epochs' root
    /// keys opening and others not, the naming key or identity keys not opening under a root that
    /// did, identity keys that do not match the public ones, or, when the stored Secret Key already
    /// proved the password, no root key opening.
    pub(super) fn open_with(
        &self,
        profile: ProfileId,
        kek: Key32,
        sk: SecretKey,
        typed: bool,
    ) -> Result<UnlockedKeys> {
        let damaged = |what: String| CryptoError::KeyFileDamaged(what);
        let kek_cipher = AesKey::new(&kek);
        let mut roots = BTreeMap::new();
        let mut closed = Vec::new();
        for e in &self.epochs {
            let label = root_label(e.key_id);
            let wrapped = b64d("wrapped_root", &e.wrapped_root)?;
            let Ok(raw) = envelope::unwrap(&kek_cipher, &wrap_aad(&profile, &label), &wrapped)
            else {
                closed.push(e.key_id);
                continue;
            };
            let arr: [u8; 32] = raw[..].try_into().map_err(|_| {
                damaged(format!(
                    "the root key of epoch {} is not 32 bytes",
                    e.key_id
                ))
            })?;
            roots.insert(
                e.key_id,
                RootKey::from_key(e.key_id, Key32::from_bytes(arr)),
            );
        }
        if let Some(opened) = roots.keys().next() {
            if let Some(id) = closed.first() {
                return Err(damaged(format!(
                    "the root key of epoch {id} does not open, while that of epoch {opened} does"
                )));
            }
        } else if typed {
            return Err(CryptoError::WrongPasswordOrSecretKey);
        } else {
            return Err(damaged(
                "no root key opens, though the password opened the stored Secret Key".into(),
            ));
        }
        let cur = roots.get(&self.current_key_id).ok_or_else(|| {
            damaged(format!(
                "current_key_id {} names no epoch",
                self.current_key_id
            ))
        })?;
        let wk = AesKey::new(&cur.derive(&profile, Purpose::Wrap));
        let under = |what: &str| {
            damaged(format!(
                "the {what} does not open under the root key of epoch {}",
                self.current_key_id
            ))
        };
        let naming_raw = envelope::unwrap(
            &wk,
            &wrap_aad(&profile, "naming"),
            &b64d("naming_key", &self.naming_key)?,
        )
        .map_err(|_| under("naming key"))?;
        let naming: [u8; 32] = naming_raw[..]
            .try_into()
            .map_err(|_| damaged("the naming key is not 32 bytes".into()))?;
        let id_raw = envelope::unwrap(
            &wk,
            &wrap_aad(&profile, "identity"),
            &b64d("identity.wrapped_secret", &self.identity.wrapped_secret)?,
        )
        .map_err(|_| under("identity key"))?;
        let id_bytes: &[u8; 64] = id_raw[..]
            .try_into()
            .map_err(|_| damaged("the identity keys are not 64 bytes".into()))?;
        let identity = Identity::from_secret_bytes(id_bytes);
        if identity.public() != self.public_identity()? {
            return Err(damaged(
                "the identity keys do not match the public identity".into(),
            ));
        }
        Ok(UnlockedKeys {
            profile,
            kek,
            secret_key: sk,
            roots,
            current: self.current_key_id,
            naming: Key32::from_bytes(naming),
            identity,
        })
    }

    /// The same keys under a new password (and possibly new KDF cost): one new salt and KEK, every root
    /// rewrapped. No record is re-encrypted. `keys` is left as it was: swap in the returned keys only
    /// once the returned file is durably stored.
    pub fn change_password(
        &self,
        keys: &UnlockedKeys,
        new_password: &[u8],
        params: KdfParams,
    ) -> Result<(KeyFile, UnlockedKeys)> {
        Self::seal(
            keys.duplicate(),
            new_password,
            params,
            self.stores_secret_key(),
        )
    }

    /// Adds a new epoch and makes it current. Old epochs stay until [`KeyFile::drop_old_epochs`].
    pub fn add_epoch(&self, keys: &UnlockedKeys) -> Result<(KeyFile, UnlockedKeys)> {
        let mut keys = keys.duplicate();
        let next = keys.roots.keys().max().copied().unwrap_or(0) + 1;
        keys.roots.insert(next, RootKey::generate(next));
        keys.current = next;
        let file = self.clone().rewrap(&keys)?;
        Ok((file, keys))
    }

    /// Destroys every epoch but the current one.
    pub fn drop_old_epochs(&self, keys: &UnlockedKeys) -> Result<(KeyFile, UnlockedKeys)> {
        let mut keys = keys.duplicate();
        let current = keys.current;
        keys.roots.retain(|id, _| *id == current);
        let file = self.clone().rewrap(&keys)?;
        Ok((file, keys))
    }
}
