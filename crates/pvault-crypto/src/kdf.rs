//! Two-secret key derivation: Argon2id over the password, HKDF over the Secret Key, combined.
//!
//! ```text
//! password_key = Argon2id(password, salt, m, t, p)                 (32 bytes)
//! sk_key       = HKDF-SHA256(ikm = secret key, salt, "pvault/v1/secret-key")
//! KEK          = HKDF-SHA256(ikm = password_key || sk_key, salt, "pvault/v1/kek")
//! ```
//!
//! The password key alone also wraps the Secret Key when the profile keeps it on this device
//! (`"pvault/v1/secret-key-wrap"`), so a stolen server copy of the key bundle needs both secrets,
//! while on this device the password is enough.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{CryptoError, Key32, Result, SecretKey};

/// Argon2id cost parameters, as stored in the key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes (parallelism).
    pub p: u32,
}

impl KdfParams {
    /// Largest memory a key file may ask for (4 GiB), so a hostile key file cannot exhaust the machine.
    pub const MAX_M_KIB: u32 = 4 * 1024 * 1024;
    /// Most passes a key file may ask for.
    pub const MAX_T: u32 = 64;
    /// Most lanes a key file may ask for.
    pub const MAX_P: u32 = 64;
    /// Most total work (memory × passes, in KiB) a key file may ask for: 4× the `military` level, so a
    /// hostile key file cannot make an unlock take minutes.
    pub const MAX_WORK_KIB: u64 = 16 * 1024 * 1024;

    /// Checks the bounds that any key file must respect.
    pub fn validate(&self) -> Result<()> {
        if self.p == 0 || self.p > Self::MAX_P {
            return Err(CryptoError::InvalidKdfParams(format!(
                "p = {} (allowed 1..={})",
                self.p,
                Self::MAX_P
            )));
        }
        if self.t == 0 || self.t > Self::MAX_T {
            return Err(CryptoError::InvalidKdfParams(format!(
                "t = {} (allowed 1..={})",
                self.t,
                Self::MAX_T
            )));
        }
        if self.m_kib < 8 * self.p || self.m_kib > Self::MAX_M_KIB {
            return Err(CryptoError::InvalidKdfParams(format!(
                "m = {} KiB (allowed {}..={})",
                self.m_kib,
                8 * self.p,
                Self::MAX_M_KIB
            )));
        }
        if u64::from(self.m_kib) * u64::from(self.t) > Self::MAX_WORK_KIB {
            return Err(CryptoError::InvalidKdfParams(format!(
                "m × t = {} KiB (at most {})",
                u64::from(self.m_kib) * u64::from(self.t),
                Self::MAX_WORK_KIB
            )));
        }
        Ok(())
    }
}

/// The Argon2id output for a password. Holding it means the password was right for this salt (which
/// is checked by unwrapping something with it).
pub struct PasswordKey(Key32);

impl PasswordKey {
    /// Runs Argon2id. This is the slow step of unlocking.
    pub fn derive(password: &[u8], salt: &[u8; 16], params: KdfParams) -> Result<Self> {
        params.validate()?;
        let p = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
            .map_err(|e| CryptoError::InvalidKdfParams(e.to_string()))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(password, salt, out.as_mut())
            .map_err(|e| CryptoError::InvalidKdfParams(e.to_string()))?;
        Ok(PasswordKey(Key32::from_bytes(*out)))
    }

    /// The key that wraps the Secret Key when it is stored on this device.
    pub fn secret_key_wrap_key(&self, salt: &[u8; 16]) -> Key32 {
        hkdf32(self.0.expose(), salt, b"pvault/v1/secret-key-wrap")
    }

    /// Combines with the Secret Key into the key-encryption key.
    pub fn kek(&self, secret_key: &SecretKey, salt: &[u8; 16]) -> Key32 {
        let sk = hkdf32(secret_key.expose(), salt, b"pvault/v1/secret-key");
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(self.0.expose());
        ikm[32..].copy_from_slice(sk.expose());
        hkdf32(ikm.as_ref(), salt, b"pvault/v1/kek")
    }
}

struct Len(usize);

impl aws_lc_rs::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 to 32 bytes. Used for every derivation in pvault.
pub(crate) fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> Key32 {
    let prk = aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let mut out = Zeroizing::new([0u8; 32]);
    prk.expand(&info, Len(32))
        .and_then(|okm| okm.fill(out.as_mut()))
        .expect("HKDF-SHA256 can always produce 32 bytes");
    Key32::from_bytes(*out)
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
    fn kek_depends_on_both_secrets() {
        let salt = [7u8; 16];
        let sk1 = SecretKey::from_bytes(&[1u8; 16]).unwrap();
        let sk2 = SecretKey::from_bytes(&[2u8; 16]).unwrap();
        let a = PasswordKey::derive(b"pw", &salt, FAST).unwrap();
        let b = PasswordKey::derive(b"pw2", &salt, FAST).unwrap();
        let k_a1 = a.kek(&sk1, &salt);
        assert_eq!(k_a1.expose(), a.kek(&sk1, &salt).expose());
        assert_ne!(k_a1.expose(), a.kek(&sk2, &salt).expose());
        assert_ne!(k_a1.expose(), b.kek(&sk1, &salt).expose());
        assert_ne!(k_a1.expose(), a.secret_key_wrap_key(&salt).expose());
    }

    #[test]
    fn hostile_params_are_refused_before_work() {
        for p in [
            KdfParams {
                m_kib: 64,
                t: 0,
                p: 1,
            },
            KdfParams {
                m_kib: u32::MAX,
                t: 1,
                p: 1,
            },
            KdfParams {
                m_kib: 64,
                t: 1,
                p: 0,
            },
            KdfParams {
                m_kib: 8,
                t: 1,
                p: 4,
            },
            KdfParams {
                m_kib: 64,
                t: 1000,
                p: 1,
            },
        ] {
            assert!(PasswordKey::derive(b"pw", &[0; 16], p).is_err(), "{p:?}");
        }
    }
}
