//! The keys of an unlocked profile, and the KEK they come from.

use std::collections::BTreeMap;

use pvault_codec::Reader;

use super::*;
use crate::SecretVec;

use crate::envelope::{self};
use crate::keys::{AesKey, IndexKey, RootKey};
use crate::{CryptoError, Identity, Key32, ProfileId, Result, SecretKey};

/// A profile's keys after a successful unlock. Everything in it zeroizes on drop.
pub struct UnlockedKeys {
    pub(super) profile: ProfileId,
    pub(super) kek: Key32,
    pub(super) secret_key: SecretKey,
    pub(super) roots: BTreeMap<u32, RootKey>,
    pub(super) current: u32,
    pub(super) naming: Key32,
    pub(super) identity: Identity,
}

impl UnlockedKeys {
    /// The profile these keys belong to.
    pub fn profile_id(&self) -> &ProfileId {
        &self.profile
    }

    /// The epoch new data is written under.
    pub fn current(&self) -> &RootKey {
        &self.roots[&self.current]
    }

    /// The root key of an epoch, if it still exists.
    pub fn root(&self, key_id: u32) -> Result<&RootKey> {
        self.roots
            .get(&key_id)
            .ok_or(CryptoError::UnknownKeyId(key_id))
    }

    /// Ids of every live epoch, oldest first.
    pub fn key_ids(&self) -> Vec<u32> {
        self.roots.keys().copied().collect()
    }

    /// Keyed hash for record ids and collection names; stable across rotations.
    pub fn naming_key(&self) -> IndexKey {
        IndexKey::new(&self.naming)
    }

    /// The key that authenticates a stored row's clear columns (classification, revision, version,
    /// deletion, device, which envelopes): `HKDF(naming key, profile id, "pvault/v1/row-tag")`, stable
    /// across rotations like the naming key.
    pub fn row_tag_key(&self) -> IndexKey {
        IndexKey::new(&crate::kdf::hkdf32(
            self.naming.expose(),
            &self.profile.0,
            b"pvault/v1/row-tag",
        ))
    }

    /// The audit log's keys (derived from the naming key: stable across rotations).
    pub fn audit_keys(&self) -> crate::AuditKeys {
        crate::AuditKeys::derive(self.profile, &self.naming)
    }

    /// The identity keys.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The Secret Key (to show in an emergency kit, or to rewrap).
    pub fn secret_key(&self) -> &SecretKey {
        &self.secret_key
    }

    /// The unlocked keys as bytes, to hand them to the agent over its private socket (as `ssh-add`
    /// hands a decrypted key to `ssh-agent`). The result is zeroized on drop.
    ///
    /// `profile(16) | kek(32) | secret key(16) | naming(32) | identity(64) | current(u32) |
    ///  count(u32) | count × (key id(u32) | root(32))`
    ///
    /// Written straight into a [`SecretVec`] sized up front, not through `pvault_codec::Writer`: a
    /// growing `Vec` would leave unwiped copies of the keys behind. (It is read with the codec's
    /// reader, which copies nothing but the fields asked for.)
    pub fn to_transfer_bytes(&self) -> SecretVec {
        let mut out = SecretVec::new(Vec::with_capacity(168 + 36 * self.roots.len()));
        out.extend_from_slice(&self.profile.0);
        out.extend_from_slice(self.kek.expose());
        out.extend_from_slice(self.secret_key.expose());
        out.extend_from_slice(self.naming.expose());
        out.extend_from_slice(&self.identity.secret_bytes()[..]);
        out.extend_from_slice(&self.current.to_be_bytes());
        out.extend_from_slice(&(self.roots.len() as u32).to_be_bytes());
        for (id, root) in &self.roots {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(root.expose());
        }
        out
    }

    /// Reads keys written by [`UnlockedKeys::to_transfer_bytes`] and checks them against the key file
    /// they claim to unlock (same profile, same epochs, same identity, naming key opens).
    pub fn from_transfer_bytes(bytes: &[u8], file: &KeyFile) -> Result<UnlockedKeys> {
        // One message for every defect (which field was cut short is not worth telling).
        let bad = || CryptoError::InvalidKeyFile("transferred keys are malformed".into());
        let mut r = Reader::new(bytes);
        let profile = ProfileId(r.array::<16>("profile id").map_err(|_| bad())?);
        let kek = Key32::from_bytes(r.array::<32>("KEK").map_err(|_| bad())?);
        let secret_key = SecretKey::from_bytes(&r.array::<16>("Secret Key").map_err(|_| bad())?)?;
        let naming = Key32::from_bytes(r.array::<32>("naming key").map_err(|_| bad())?);
        let identity = Identity::from_secret_bytes(&r.array::<64>("identity").map_err(|_| bad())?);
        let current = r.u32("current key id").map_err(|_| bad())?;
        let count = r.u32("root count").map_err(|_| bad())?;
        let mut roots = BTreeMap::new();
        for _ in 0..count.min(1024) {
            let id = r.u32("key id").map_err(|_| bad())?;
            roots.insert(
                id,
                RootKey::from_key(
                    id,
                    Key32::from_bytes(r.array::<32>("root key").map_err(|_| bad())?),
                ),
            );
        }
        if r.remaining() != 0 || roots.len() != count as usize || !roots.contains_key(&current) {
            return Err(bad());
        }
        let keys = UnlockedKeys {
            profile,
            kek,
            secret_key,
            roots,
            current,
            naming,
            identity,
        };
        let mismatch = || {
            CryptoError::InvalidKeyFile("transferred keys do not belong to this key file".into())
        };
        if file.profile_id()? != profile
            || file.current_key_id != current
            || file.epochs.iter().map(|e| e.key_id).collect::<Vec<_>>() != keys.key_ids()
            || file.public_identity()? != keys.identity.public()
        {
            return Err(mismatch());
        }
        // The KEK must open every wrapped root to the same key.
        let kek_cipher = AesKey::new(&keys.kek);
        for e in &file.epochs {
            let label = root_label(e.key_id);
            let raw = envelope::unwrap(
                &kek_cipher,
                &wrap_aad(&profile, &label),
                &b64d("wrapped_root", &e.wrapped_root)?,
            )
            .map_err(|_| mismatch())?;
            if raw[..] != keys.root(e.key_id)?.expose()[..] {
                return Err(mismatch());
            }
        }
        Ok(keys)
    }

    /// Proof of knowing the password, for a re-authentication through the agent: the client derives the
    /// KEK from the password and answers the agent's random challenge; the agent checks the answer with
    /// the KEK it holds. No password crosses the socket.
    pub fn reauth_proof(&self, challenge: &[u8; 32]) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.kek.expose());
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        ctx.update(b"pvault/v1/reauth");
        ctx.update(&self.profile.0);
        ctx.update(challenge);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// The seed of the profile's account key on a sync server (Ed25519): derived from the KEK, so
    /// only someone with the password and the Secret Key has it, and it changes with the password.
    pub fn account_signing_seed(&self) -> Key32 {
        account_seed(&self.kek, &self.profile)
    }

    /// Checks a proof made by [`UnlockedKeys::reauth_proof`] with the same KEK, in constant time.
    pub fn check_reauth_proof(&self, challenge: &[u8; 32], proof: &[u8]) -> bool {
        let expected = self.reauth_proof(challenge);
        proof.len() == 32
            && aws_lc_rs::constant_time::verify_slices_are_equal(&expected, proof).is_ok()
    }

    /// An explicit copy, for building a changed keyring beside the one in use.
    pub(super) fn duplicate(&self) -> UnlockedKeys {
        UnlockedKeys {
            profile: self.profile,
            kek: self.kek.duplicate(),
            secret_key: SecretKey::from_bytes(self.secret_key.expose()).expect("16 bytes"),
            roots: self
                .roots
                .iter()
                .map(|(id, r)| (*id, RootKey::from_key(*id, Key32::from_bytes(*r.expose()))))
                .collect(),
            current: self.current,
            naming: self.naming.duplicate(),
            identity: Identity::from_secret_bytes(&self.identity.secret_bytes()),
        }
    }
}

/// A profile's key-encryption key, derived by a device that has only the KDF section (a device
/// joining through the sync server). Zeroized on drop.
pub struct Kek {
    pub(super) profile: ProfileId,
    pub(super) key: Key32,
}

impl Kek {
    /// The account key seed; see [`UnlockedKeys::account_signing_seed`].
    pub fn account_signing_seed(&self) -> Key32 {
        account_seed(&self.key, &self.profile)
    }
}

pub(super) fn account_seed(kek: &Key32, profile: &ProfileId) -> Key32 {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, kek.expose());
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    ctx.update(b"pvault/v1/sync-account-key");
    ctx.update(&profile.0);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    Key32::from_bytes(out)
}
