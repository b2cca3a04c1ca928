//! A profile's long-term identity: an Ed25519 signing key (attribution, audit checkpoints, device
//! authentication) and an X25519 key (records shared to this profile are sealed to it).

use ed25519_dalek::{Signer, Verifier};
use zeroize::Zeroizing;

use crate::codec::SignedLink;
use crate::{CryptoError, Result};

/// The secret half. Both keys zeroize on drop (dalek's `zeroize` feature).
pub struct Identity {
    signing: ed25519_dalek::SigningKey,
    sharing: x25519_dalek::StaticSecret,
}

/// The public half, safe to publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicIdentity {
    /// Ed25519 verifying key.
    pub ed25519: [u8; 32],
    /// X25519 public key.
    pub x25519: [u8; 32],
}

impl Identity {
    /// Fresh random keys.
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 64]);
        crate::random::fill(&mut seed[..]);
        Self::from_secret_bytes(&seed)
    }

    /// Rebuilds from the 64 bytes written by [`Identity::secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8; 64]) -> Self {
        let mut ed = Zeroizing::new([0u8; 32]);
        let mut x = Zeroizing::new([0u8; 32]);
        ed.copy_from_slice(&bytes[..32]);
        x.copy_from_slice(&bytes[32..64]);
        Identity {
            signing: ed25519_dalek::SigningKey::from_bytes(&ed),
            sharing: x25519_dalek::StaticSecret::from(*x),
        }
    }

    /// Ed25519 seed followed by the X25519 secret, for wrapping.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        out[..32].copy_from_slice(self.signing.as_bytes());
        out[32..].copy_from_slice(self.sharing.as_bytes());
        out
    }

    /// The public keys.
    pub fn public(&self) -> PublicIdentity {
        PublicIdentity {
            ed25519: self.signing.verifying_key().to_bytes(),
            x25519: x25519_dalek::PublicKey::from(&self.sharing).to_bytes(),
        }
    }

    pub(crate) fn sharing_secret(&self) -> &x25519_dalek::StaticSecret {
        &self.sharing
    }

    /// Signs a message with the Ed25519 key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Checks a signature made by [`Identity::sign`] with this identity.
    pub fn verify_own(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|sig| self.signing.verifying_key().verify(message, &sig).is_ok())
    }

    /// Vouches for a chain head: signs its 32 bytes as they are with the Ed25519 key.
    pub fn sign_link(&self, hash: [u8; 32]) -> SignedLink {
        SignedLink {
            hash,
            signer: self.signing.verifying_key().to_bytes(),
            signature: self.sign(&hash),
        }
    }
}

impl PublicIdentity {
    /// Verifies an Ed25519 signature made by [`Identity::sign`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.ed25519)
            .map_err(|_| CryptoError::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|_| CryptoError::BadSignature)?;
        key.verify(message, &sig)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// Checks a link signed by [`Identity::sign_link`]: signed by this identity, over its hash.
    pub fn verify_link(&self, link: &SignedLink) -> Result<()> {
        if link.signer != self.ed25519 {
            return Err(CryptoError::BadSignature);
        }
        self.verify(&link.hash, &link.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_round_trip() {
        let id = Identity::generate();
        let sig = id.sign(b"breakthrough v1");
        id.public().verify(b"breakthrough v1", &sig).unwrap();
        assert!(id.public().verify(b"breakthrough v2", &sig).is_err());
        let back = Identity::from_secret_bytes(&id.secret_bytes());
        assert_eq!(back.public(), id.public());
    }

    #[test]
    fn a_signed_link_verifies_for_its_signer_and_hash_only() {
        let id = Identity::generate();
        let link = id.sign_link([5; 32]);
        assert_eq!(link.signer, id.public().ed25519);
        id.public().verify_link(&link).unwrap();
        // The signature is over the 32 bytes as they are.
        id.public().verify(&[5; 32], &link.signature).unwrap();
        let other = Identity::generate();
        assert!(other.public().verify_link(&link).is_err());
        let moved = SignedLink {
            hash: [6; 32],
            ..link
        };
        assert!(id.public().verify_link(&moved).is_err());
        let claimed = SignedLink {
            signer: other.public().ed25519,
            ..link
        };
        assert!(other.public().verify_link(&claimed).is_err());
    }
}
