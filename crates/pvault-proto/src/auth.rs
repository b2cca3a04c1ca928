//! Request signatures.
//!
//! Every request but `/health`, `/metrics` and the prelogin lookup is signed with Ed25519: by the
//! device's key for everything a device does, and by the account key (derived on the client from the
//! profile's KEK, so only someone with the password and the Secret Key has it) to register an account
//! or add a device. The signature covers the method, the path with its query, a timestamp, a random
//! nonce and the SHA-256 of the body. The server refuses a timestamp more than
//! [`MAX_CLOCK_SKEW_SECS`] away from its clock and a nonce it has already seen in that window, so a
//! captured request cannot be replayed and an old one has expired. The server stores public keys only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{DeviceId, ProtoError, Result};

/// Header naming the signer: the device id (32 hex digits).
pub const HEADER_DEVICE: &str = "x-pvault-device";
/// Header with the signing time, Unix seconds.
pub const HEADER_TIME: &str = "x-pvault-time";
/// Header with 16 random bytes, 32 hex digits.
pub const HEADER_NONCE: &str = "x-pvault-nonce";
/// Header with the Ed25519 signature, base64.
pub const HEADER_SIGNATURE: &str = "x-pvault-signature";
/// How far a request's time may be from the server's clock.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The authentication part of a request, as sent in its headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestAuth {
    pub device: DeviceId,
    pub time: u64,
    pub nonce: [u8; 16],
    pub signature: [u8; 64],
}

/// The bytes a request signature covers.
pub fn signing_bytes(
    method: &str,
    path_and_query: &str,
    device: &DeviceId,
    time: u64,
    nonce: &[u8; 16],
    body: &[u8],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(128 + path_and_query.len());
    m.extend_from_slice(b"pvault/v1/request\n");
    m.extend_from_slice(method.to_ascii_uppercase().as_bytes());
    m.push(b'\n');
    m.extend_from_slice(path_and_query.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(hex::encode(device).as_bytes());
    m.push(b'\n');
    m.extend_from_slice(time.to_string().as_bytes());
    m.push(b'\n');
    m.extend_from_slice(hex::encode(nonce).as_bytes());
    m.push(b'\n');
    m.extend_from_slice(hex::encode(Sha256::digest(body)).as_bytes());
    m
}

impl RequestAuth {
    /// Signs a request.
    pub fn sign(
        key: &SigningKey,
        device: DeviceId,
        method: &str,
        path_and_query: &str,
        time: u64,
        nonce: [u8; 16],
        body: &[u8],
    ) -> RequestAuth {
        let msg = signing_bytes(method, path_and_query, &device, time, &nonce, body);
        RequestAuth {
            device,
            time,
            nonce,
            signature: key.sign(&msg).to_bytes(),
        }
    }

    /// Checks the signature with the signer's public key (time and nonce are the server's to check).
    pub fn verify(
        &self,
        key: &VerifyingKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<()> {
        let msg = signing_bytes(
            method,
            path_and_query,
            &self.device,
            self.time,
            &self.nonce,
            body,
        );
        key.verify(&msg, &Signature::from_bytes(&self.signature))
            .map_err(|_| ProtoError::BadSignature)
    }

    /// Whether the time is within the allowed skew of `now`.
    pub fn fresh(&self, now: u64) -> bool {
        self.time.abs_diff(now) <= MAX_CLOCK_SKEW_SECS
    }

    /// The headers to send, as (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_DEVICE, hex::encode(self.device)),
            (HEADER_TIME, self.time.to_string()),
            (HEADER_NONCE, hex::encode(self.nonce)),
            (HEADER_SIGNATURE, B64.encode(self.signature)),
        ]
    }

    /// Reads the headers of a request; `get` returns a header's value by name.
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<RequestAuth> {
        let field = |name: &'static str| get(name).ok_or(ProtoError::Invalid(name));
        let device = crate::parse_id16(HEADER_DEVICE, field(HEADER_DEVICE)?)?;
        let time = field(HEADER_TIME)?
            .parse::<u64>()
            .map_err(|_| ProtoError::Invalid(HEADER_TIME))?;
        let nonce = crate::parse_id16(HEADER_NONCE, field(HEADER_NONCE)?)?;
        let sig = B64
            .decode(field(HEADER_SIGNATURE)?)
            .map_err(|_| ProtoError::Invalid(HEADER_SIGNATURE))?;
        let signature = <[u8; 64]>::try_from(sig.as_slice())
            .map_err(|_| ProtoError::Invalid(HEADER_SIGNATURE))?;
        Ok(RequestAuth {
            device,
            time,
            nonce,
            signature,
        })
    }
}

/// Parses a base64 Ed25519 public key.
pub fn parse_public_key(what: &'static str, s: &str) -> Result<VerifyingKey> {
    let raw = B64.decode(s).map_err(|_| ProtoError::Invalid(what))?;
    let arr = <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| ProtoError::Invalid(what))?;
    VerifyingKey::from_bytes(&arr).map_err(|_| ProtoError::Invalid(what))
}

/// Writes a public key as base64.
pub fn public_key_string(key: &VerifyingKey) -> String {
    public_key_bytes_string(key.as_bytes())
}

/// Writes the 32 bytes of a public key as base64, as [`public_key_string`] does, without checking
/// that they are a valid key (a server answering the key it stored).
pub fn public_key_bytes_string(key: &[u8; 32]) -> String {
    B64.encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_every_part_of_the_request() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let auth = RequestAuth::sign(&key, [1; 16], "POST", "/v1/x?a=1", 1000, [2; 16], b"body");
        let vk = key.verifying_key();
        auth.verify(&vk, "post", "/v1/x?a=1", b"body").unwrap();
        assert!(auth.verify(&vk, "GET", "/v1/x?a=1", b"body").is_err());
        assert!(auth.verify(&vk, "POST", "/v1/x?a=2", b"body").is_err());
        assert!(auth.verify(&vk, "POST", "/v1/x?a=1", b"bodY").is_err());
        for tweak in [
            RequestAuth {
                device: [9; 16],
                ..auth.clone()
            },
            RequestAuth {
                time: 1001,
                ..auth.clone()
            },
            RequestAuth {
                nonce: [3; 16],
                ..auth.clone()
            },
        ] {
            assert!(tweak.verify(&vk, "POST", "/v1/x?a=1", b"body").is_err());
        }
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(auth.verify(&other, "POST", "/v1/x?a=1", b"body").is_err());
    }

    #[test]
    fn headers_round_trip_and_bad_ones_are_named() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let auth = RequestAuth::sign(&key, [1; 16], "GET", "/", 5, [2; 16], b"");
        let h = auth.headers();
        let get = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        assert_eq!(RequestAuth::from_headers(get).unwrap(), auth);
        let missing = |n: &str| if n == HEADER_NONCE { None } else { get(n) };
        assert_eq!(
            RequestAuth::from_headers(missing),
            Err(ProtoError::Invalid(HEADER_NONCE))
        );
        assert!(auth.fresh(5 + MAX_CLOCK_SKEW_SECS));
        assert!(!auth.fresh(6 + MAX_CLOCK_SKEW_SECS));
    }
}
