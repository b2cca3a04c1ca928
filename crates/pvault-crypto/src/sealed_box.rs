//! Sealing to a public key: anyone can seal a message to a profile's X25519 key; only the profile
//! opens it. Used for what happens while a profile is locked (a failed unlock is written to the
//! audit log this way) and, later, for sharing.
//!
//! The construction is the one of age's X25519 recipients and libsodium's sealed boxes, composed
//! from x25519-dalek, HKDF-SHA256 and XChaCha20-Poly1305:
//!
//! ```text
//! e        = random X25519 secret;  E = e·G
//! shared   = X25519(e, R)                       (refused if all zero)
//! key      = HKDF-SHA256(ikm = shared, salt = E || R, info = "pvault/v1/sealed-box/" || label)
//! sealed   = 0x01 || E (32) || nonce (24, random) || XChaCha20-Poly1305(key, nonce, ad = label, m)
//! ```

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::kdf::hkdf32;
use crate::{CryptoError, Identity, PublicIdentity, Result, SecretVec};

const VERSION: u8 = 1;
const OVERHEAD: usize = 1 + 32 + 24 + 16;

fn cipher(shared: &[u8; 32], e: &[u8; 32], r: &[u8; 32], label: &str) -> Result<XChaCha20Poly1305> {
    if shared.iter().all(|b| *b == 0) {
        return Err(CryptoError::DecryptionFailed);
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(e);
    salt[32..].copy_from_slice(r);
    let info = format!("pvault/v1/sealed-box/{label}");
    let key = hkdf32(shared, &salt, info.as_bytes());
    Ok(XChaCha20Poly1305::new(key.expose().into()))
}

impl PublicIdentity {
    /// Seals `message` so that only the holder of this identity opens it; `label` names what it is
    /// for and must be given again to open it.
    pub fn seal_to(&self, label: &str, message: &[u8]) -> Result<Vec<u8>> {
        let mut secret = Zeroizing::new([0u8; 32]);
        crate::random::fill(&mut secret[..]);
        let e = x25519_dalek::StaticSecret::from(*secret);
        let e_pub = x25519_dalek::PublicKey::from(&e).to_bytes();
        let shared = Zeroizing::new(
            e.diffie_hellman(&x25519_dalek::PublicKey::from(self.x25519))
                .to_bytes(),
        );
        let cipher = cipher(&shared, &e_pub, &self.x25519, label)?;
        let nonce: [u8; 24] = crate::random::bytes();
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: message,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::TooLong("sealed message"))?;
        let mut out = Vec::with_capacity(OVERHEAD + message.len());
        out.push(VERSION);
        out.extend_from_slice(&e_pub);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }
}

impl Identity {
    /// Opens what [`PublicIdentity::seal_to`] sealed to this identity under `label`.
    pub fn open_sealed(&self, label: &str, sealed: &[u8]) -> Result<SecretVec> {
        if sealed.len() < OVERHEAD {
            return Err(CryptoError::MalformedEnvelope("sealed box is too short"));
        }
        if sealed[0] != VERSION {
            return Err(CryptoError::MalformedEnvelope("unknown sealed box version"));
        }
        let e_pub: [u8; 32] = sealed[1..33].try_into().expect("32 bytes");
        let nonce = XNonce::from_slice(&sealed[33..57]);
        let shared = Zeroizing::new(
            self.sharing_secret()
                .diffie_hellman(&x25519_dalek::PublicKey::from(e_pub))
                .to_bytes(),
        );
        let r = self.public().x25519;
        let cipher = cipher(&shared, &e_pub, &r, label)?;
        let plain = cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[57..],
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(SecretVec::new(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_opens_and_only_under_the_label() {
        let id = Identity::generate();
        let sealed = id.public().seal_to("audit", b"failed unlock").unwrap();
        assert_eq!(sealed.len(), OVERHEAD + 13);
        assert_eq!(
            &id.open_sealed("audit", &sealed).unwrap()[..],
            b"failed unlock"
        );
        assert!(id.open_sealed("share", &sealed).is_err());
        assert!(Identity::generate().open_sealed("audit", &sealed).is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(id.open_sealed("audit", &bad).is_err(), "byte {i}");
        }
        assert!(id.open_sealed("audit", &sealed[..OVERHEAD - 1]).is_err());
        // Two seals of one message differ (fresh ephemeral key and nonce).
        assert_ne!(
            sealed,
            id.public().seal_to("audit", b"failed unlock").unwrap()
        );
    }
}
