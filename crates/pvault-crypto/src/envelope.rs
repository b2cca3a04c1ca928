//! The record envelope: `version | alg | key id | nonce(s) | ciphertext+tag`, with associated data that
//! binds where the bytes belong. Specified in `docs/format.md`.
//!
//! ```text
//! offset  size  field
//! 0       1     version (1)
//! 1       1     alg: 1 = AES-256-GCM, 2 = cascade (XChaCha20-Poly1305 inside AES-256-GCM)
//! 2       4     key id (epoch), big-endian
//! 6       12    AES-256-GCM nonce (random)
//! 18      24    XChaCha20-Poly1305 nonce (random; alg 2 only)
//! ..      n+16  AES-256-GCM ciphertext and tag (alg 2: of the inner ciphertext and its tag)
//! ```
//!
//! Associated data (not stored; rebuilt by the reader from where it found the envelope):
//! `"pvault/ad/v1" | header (6 bytes) | profile id (16) | kind (1) | classification (1) |
//!  u16 len | collection | u16 len | record id`.

use aws_lc_rs::aead::{Aad as LcAad, Nonce};
use chacha20poly1305::{AeadInPlace, XNonce};

use crate::keys::{AesKey, CollectionKeys};
use crate::{Classification, CryptoError, ProfileId, Result, SecretVec};

/// The envelope format version this code writes and reads.
pub const VERSION: u8 = 1;
const AD_LABEL: &[u8] = b"pvault/ad/v1";
const HEADER_LEN: usize = 6;
const NONCE_LEN: usize = 12;
const XNONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The cipher construction of an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// One layer: AES-256-GCM.
    Aes256Gcm = 1,
    /// Two layers with independent keys: XChaCha20-Poly1305 inside, AES-256-GCM outside.
    Cascade = 2,
}

impl Alg {
    fn from_byte(b: u8) -> Result<Self> {
        match b {
            1 => Ok(Alg::Aes256Gcm),
            2 => Ok(Alg::Cascade),
            other => Err(CryptoError::UnknownAlgorithm(other)),
        }
    }

    /// The algorithm a classification requires.
    pub fn for_classification(c: Classification) -> Self {
        if c.needs_cascade() {
            Alg::Cascade
        } else {
            Alg::Aes256Gcm
        }
    }

    fn prefix_len(self) -> usize {
        match self {
            Alg::Aes256Gcm => HEADER_LEN + NONCE_LEN,
            Alg::Cascade => HEADER_LEN + NONCE_LEN + XNONCE_LEN,
        }
    }
}

/// What an envelope holds; part of the associated data, so bytes of one kind never open as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A record's body.
    Record = 1,
    /// A record's id, stored apart from its body so that a damaged body can still be named.
    RecordId = 2,
    /// A wrapped key (root keys, Secret Key, naming key, identity keys).
    KeyWrap = 3,
    /// The sealed description of a record travelling through the sync server.
    SyncItem = 4,
    /// An entry of the audit log.
    Audit = 5,
    /// A blob of a backup repository (record rows, tables, a snapshot's tree).
    Backup = 6,
}

/// Where an envelope belongs. All of it is authenticated; none of it is stored in the envelope.
#[derive(Clone, Copy, Debug)]
pub struct Aad<'a> {
    /// The owning profile.
    pub profile: &'a ProfileId,
    /// What the envelope holds.
    pub kind: Kind,
    /// The collection (or, for key wraps, `"keys"`).
    pub collection: &'a str,
    /// The record id (or, for key wraps, the wrapped key's label).
    pub record_id: &'a str,
    /// The record's classification.
    pub classification: Classification,
}

impl Aad<'_> {
    fn encode(&self, header: &[u8]) -> Result<Vec<u8>> {
        let c = self.collection.as_bytes();
        let r = self.record_id.as_bytes();
        let cl = u16::try_from(c.len()).map_err(|_| CryptoError::TooLong("collection name"))?;
        let rl = u16::try_from(r.len()).map_err(|_| CryptoError::TooLong("record id"))?;
        let mut ad =
            Vec::with_capacity(AD_LABEL.len() + HEADER_LEN + 16 + 2 + 4 + c.len() + r.len());
        ad.extend_from_slice(AD_LABEL);
        ad.extend_from_slice(header);
        ad.extend_from_slice(&self.profile.0);
        ad.push(self.kind as u8);
        ad.push(self.classification.as_byte());
        ad.extend_from_slice(&cl.to_be_bytes());
        ad.extend_from_slice(c);
        ad.extend_from_slice(&rl.to_be_bytes());
        ad.extend_from_slice(r);
        Ok(ad)
    }
}

/// The parsed fixed part of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u8,
    /// Cipher construction.
    pub alg: Alg,
    /// Key id (epoch) that sealed it.
    pub key_id: u32,
    /// AES-256-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// XChaCha20-Poly1305 nonce, for the cascade.
    pub xnonce: Option<[u8; XNONCE_LEN]>,
}

/// Parses an envelope's header and returns it with the sealed body. Checks sizes only: nothing is
/// authentic until [`open`] succeeds.
pub fn parse(envelope: &[u8]) -> Result<(Header, &[u8])> {
    if envelope.len() < HEADER_LEN {
        return Err(CryptoError::MalformedEnvelope("shorter than its header"));
    }
    let version = envelope[0];
    if version != VERSION {
        return Err(if version > VERSION {
            CryptoError::UnsupportedEnvelopeVersion(version)
        } else {
            CryptoError::MalformedEnvelope("version 0 does not exist")
        });
    }
    let alg = Alg::from_byte(envelope[1])?;
    let key_id = u32::from_be_bytes(envelope[2..6].try_into().expect("4 bytes"));
    let min = alg.prefix_len() + TAG_LEN * if alg == Alg::Cascade { 2 } else { 1 };
    if envelope.len() < min {
        return Err(CryptoError::MalformedEnvelope(
            "shorter than its nonces and tags",
        ));
    }
    let nonce: [u8; NONCE_LEN] = envelope[6..18].try_into().expect("12 bytes");
    let xnonce = match alg {
        Alg::Cascade => Some(envelope[18..42].try_into().expect("24 bytes")),
        Alg::Aes256Gcm => None,
    };
    let header = Header {
        version,
        alg,
        key_id,
        nonce,
        xnonce,
    };
    Ok((header, &envelope[alg.prefix_len()..]))
}

/// The key id of an envelope, to pick the epoch that opens it.
pub fn key_id(envelope: &[u8]) -> Result<u32> {
    parse(envelope).map(|(h, _)| h.key_id)
}

/// Seals a record (or record id) with the collection's keys; the classification picks one or two layers.
pub fn seal(keys: &CollectionKeys, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
    let alg = Alg::for_classification(aad.classification);
    // One call to the generator, for exactly the nonces this algorithm uses.
    let mut nonces = [0u8; NONCE_LEN + XNONCE_LEN];
    let used = match alg {
        Alg::Aes256Gcm => NONCE_LEN,
        Alg::Cascade => NONCE_LEN + XNONCE_LEN,
    };
    crate::random::fill(&mut nonces[..used]);
    let (nonce, xnonce) = nonces.split_at(NONCE_LEN);
    seal_with_nonces(
        keys,
        aad,
        plaintext,
        alg,
        nonce.try_into().expect("12 bytes"),
        xnonce.try_into().expect("24 bytes"),
    )
}

/// Seals with given nonces. Only for test vectors: reusing a nonce under one key breaks AES-GCM.
#[doc(hidden)]
pub fn seal_with_nonces(
    keys: &CollectionKeys,
    aad: &Aad<'_>,
    plaintext: &[u8],
    alg: Alg,
    nonce: [u8; NONCE_LEN],
    xnonce: [u8; XNONCE_LEN],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(alg.prefix_len() + plaintext.len() + 2 * TAG_LEN);
    out.push(VERSION);
    out.push(alg as u8);
    out.extend_from_slice(&keys.key_id.to_be_bytes());
    out.extend_from_slice(&nonce);
    let ad = aad.encode(&out[..HEADER_LEN])?;
    if alg == Alg::Cascade {
        out.extend_from_slice(&xnonce);
    }
    let body_start = out.len();
    if alg == Alg::Aes256Gcm {
        // One layer: encrypt straight from the plaintext into the envelope, without copying it first.
        out.resize(body_start + plaintext.len() + TAG_LEN, 0);
        let (ct, tag) = out[body_start..].split_at_mut(plaintext.len());
        keys.aes
            .0
            .seal_out_of_place_scatter(
                Nonce::assume_unique_for_key(nonce),
                LcAad::from(&ad),
                plaintext,
                ct,
                &[],
                tag,
            )
            .map_err(|_| CryptoError::TooLong("plaintext"))?;
        return Ok(out);
    }
    out.extend_from_slice(plaintext);
    if alg == Alg::Cascade {
        let tag = keys
            .xchacha
            .encrypt_in_place_detached(XNonce::from_slice(&xnonce), &ad, &mut out[body_start..])
            .map_err(|_| CryptoError::TooLong("plaintext"))?;
        out.extend_from_slice(&tag);
    }
    gcm_seal(&keys.aes, nonce, &ad, &mut out, body_start)?;
    Ok(out)
}

/// Opens an envelope sealed by [`seal`] for the same place. Any difference in key, bytes or place fails
/// with [`CryptoError::DecryptionFailed`].
pub fn open(keys: &CollectionKeys, aad: &Aad<'_>, envelope: &[u8]) -> Result<SecretVec> {
    let (header, body) = parse(envelope)?;
    if header.key_id != keys.key_id {
        return Err(CryptoError::DecryptionFailed);
    }
    if aad.classification.needs_cascade() && header.alg != Alg::Cascade {
        return Err(CryptoError::AlgorithmTooWeak);
    }
    let ad = aad.encode(&envelope[..HEADER_LEN])?;
    let mut buf = SecretVec::new(body.to_vec());
    let len = gcm_open(&keys.aes, header.nonce, &ad, &mut buf)?;
    buf.truncate(len);
    if let Some(xnonce) = header.xnonce {
        let inner_len = len - TAG_LEN;
        let (ct, tag) = buf.split_at_mut(inner_len);
        keys.xchacha
            .decrypt_in_place_detached(
                XNonce::from_slice(&xnonce),
                &ad,
                ct,
                chacha20poly1305::Tag::from_slice(tag),
            )
            .map_err(|_| CryptoError::DecryptionFailed)?;
        buf.truncate(inner_len);
    }
    Ok(buf)
}

/// Wraps a key (single AES-256-GCM layer) under a key-encryption key whose id is `key_id`.
pub fn wrap(kek: &AesKey, key_id: u32, aad: &Aad<'_>, secret: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + secret.len() + TAG_LEN);
    let nonce: [u8; NONCE_LEN] = crate::random::bytes();
    out.push(VERSION);
    out.push(Alg::Aes256Gcm as u8);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(&nonce);
    let ad = aad.encode(&out[..HEADER_LEN])?;
    let start = out.len();
    out.extend_from_slice(secret);
    gcm_seal(kek, nonce, &ad, &mut out, start)?;
    Ok(out)
}

/// Opens a key wrapped by [`wrap`].
pub fn unwrap(kek: &AesKey, aad: &Aad<'_>, wrapped: &[u8]) -> Result<SecretVec> {
    let (header, body) = parse(wrapped)?;
    if header.alg != Alg::Aes256Gcm {
        return Err(CryptoError::MalformedEnvelope("key wraps use alg 1"));
    }
    let ad = aad.encode(&wrapped[..HEADER_LEN])?;
    let mut buf = SecretVec::new(body.to_vec());
    let len = gcm_open(kek, header.nonce, &ad, &mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

fn gcm_seal(
    key: &AesKey,
    nonce: [u8; NONCE_LEN],
    ad: &[u8],
    out: &mut Vec<u8>,
    start: usize,
) -> Result<()> {
    let tag = key
        .0
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            LcAad::from(ad),
            &mut out[start..],
        )
        .map_err(|_| CryptoError::TooLong("plaintext"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

fn gcm_open(key: &AesKey, nonce: [u8; NONCE_LEN], ad: &[u8], buf: &mut [u8]) -> Result<usize> {
    key.0
        .open_in_place(Nonce::assume_unique_for_key(nonce), LcAad::from(ad), buf)
        .map(|pt| pt.len())
        .map_err(|_| CryptoError::DecryptionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key32;

    fn keys(id: u32, seed: u8) -> CollectionKeys {
        CollectionKeys::new(
            id,
            &Key32::from_bytes([seed; 32]),
            &Key32::from_bytes([seed ^ 0x55; 32]),
        )
    }

    fn aad<'a>(p: &'a ProfileId, coll: &'a str, id: &'a str, c: Classification) -> Aad<'a> {
        Aad {
            profile: p,
            kind: Kind::Record,
            collection: coll,
            record_id: id,
            classification: c,
        }
    }

    #[test]
    fn round_trip_both_algorithms() {
        let k = keys(1, 1);
        let p = ProfileId([4; 16]);
        for c in Classification::ALL {
            let a = aad(&p, "transactions", "r1", c);
            let env = seal(&k, &a, b"hello").unwrap();
            assert_eq!(parse(&env).unwrap().0.alg, Alg::for_classification(c));
            assert_eq!(&open(&k, &a, &env).unwrap()[..], b"hello");
        }
    }

    #[test]
    fn every_binding_is_checked() {
        let k = keys(1, 1);
        let p = ProfileId([4; 16]);
        let q = ProfileId([5; 16]);
        for c in [Classification::Internal, Classification::Secret] {
            let a = aad(&p, "transactions", "r1", c);
            let env = seal(&k, &a, b"hello").unwrap();
            let moved = [
                aad(&q, "transactions", "r1", c),
                aad(&p, "blocks", "r1", c),
                aad(&p, "transactions", "r2", c),
                Aad {
                    kind: Kind::RecordId,
                    ..a
                },
            ];
            for m in moved {
                assert!(
                    matches!(open(&k, &m, &env), Err(CryptoError::DecryptionFailed)),
                    "{m:?}"
                );
            }
            assert!(open(&keys(1, 2), &a, &env).is_err());
            for i in 0..env.len() {
                let mut t = env.clone();
                t[i] ^= 1;
                assert!(open(&k, &a, &t).is_err(), "flip at {i}");
            }
        }
    }

    #[test]
    fn classification_downgrade_is_refused() {
        let k = keys(1, 1);
        let p = ProfileId([4; 16]);
        let env = seal(&k, &aad(&p, "c", "r", Classification::Internal), b"x").unwrap();
        let err = open(&k, &aad(&p, "c", "r", Classification::Secret), &env).unwrap_err();
        assert!(matches!(err, CryptoError::AlgorithmTooWeak));
    }

    #[test]
    fn parse_rejects_short_and_future() {
        assert!(parse(&[]).is_err());
        assert!(matches!(
            parse(&[2, 1, 0, 0, 0, 1]),
            Err(CryptoError::UnsupportedEnvelopeVersion(2))
        ));
        assert!(matches!(
            parse(&[1, 9, 0, 0, 0, 1]),
            Err(CryptoError::UnknownAlgorithm(9))
        ));
        assert!(parse(&[1, 1, 0, 0, 0, 1, 0, 0]).is_err());
    }
}
