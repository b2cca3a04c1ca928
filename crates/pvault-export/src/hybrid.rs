//! The post-quantum hybrid age identity (`AGE-SECRET-KEY-PQ-1…`), which opens `mlkem768x25519`
//! recipient stanzas: the `age` crate 0.12 has no such identity, so files encrypted to an
//! `age1pq1…` recipient (age ≥ 1.3's `age-keygen -pq`) would otherwise not open.
//!
//! What it implements, and from where:
//!
//! - The recipient type is "The MLKEM768-X25519 (i.e. X-Wing) hybrid post-quantum recipient type"
//!   of the C2SP age specification (<https://c2sp.org/age>). The identity is 32 bytes of seed,
//!   Bech32-encoded with the HRP `AGE-SECRET-KEY-PQ-`. A stanza is `-> mlkem768x25519 <enc>` with
//!   exactly that one argument after the tag, `enc` the canonical unpadded base64 of 1120 bytes,
//!   and a body of exactly 32 bytes (the 16-byte file key and its 16-byte tag). The file key is
//!   `HPKE.OpenBase(enc, skR = identity, info = "age-encryption.org/mlkem768x25519", aad = "",
//!   body)` from RFC 9180, with HKDF-SHA256 and ChaCha20-Poly1305.
//! - The KEM is MLKEM768-X25519 (KEM id 0x647a) from draft-ietf-hpke-pq-03, as written out in
//!   filippo.io/hpke-pq ("HPKE Hybrid KEMs"); it is X-Wing (draft-connolly-cfrg-xwing-kem). The
//!   seed expands as `SHAKE256(seed, 96)`: the first 64 bytes are the ML-KEM-768 seed `d || z`
//!   for FIPS 203's `ML-KEM.KeyGen_internal`, the last 32 the X25519 secret. `enc` is the ML-KEM
//!   ciphertext (1088 bytes) then the X25519 share (32 bytes); the shared secret is
//!   `SHA3-256(ss_PQ || ss_X25519 || ct_X25519 || pk_X25519 || "\.//^\")`.
//!
//! How stanzas are judged, as the spec asks (and as the C2SP CCTV vectors check):
//!
//! - another tag (including `MLKEM768X25519`, in upper case): not ours, ignored (`None`);
//! - the right tag with more or fewer arguments, an `enc` that is not canonical base64 or not
//!   1120 bytes, a body that is not 32 bytes, or an X25519 share whose shared secret is all zero
//!   (a low-order point): the header is invalid ([`DecryptError::InvalidHeader`]);
//! - a well-formed stanza that does not authenticate under this identity: not ours (`None`), so
//!   other stanzas and identities are still tried (ML-KEM's implicit rejection means a stanza for
//!   another key, or a damaged one, only shows as the AEAD failing).
//!
//! No cryptography is written here, only composed: ML-KEM-768 is the `ml-kem` crate, X25519
//! `x25519-dalek`, SHAKE256 and SHA3-256 `sha3`, and the HPKE key schedule, HKDF-SHA256 and
//! ChaCha20-Poly1305 are the `hpke` crate, called through `age_core::primitives::hpke_open` (what
//! age uses for its own HPKE-based recipient types). Seeds and keys are zeroized when dropped.

use std::str::FromStr;

use age::DecryptError;
use age_core::format::{FILE_KEY_BYTES, FileKey, Stanza};
use age_core::primitives::{bech32_decode, hpke_open};
use base64::Engine;
use base64::prelude::BASE64_STANDARD_NO_PAD;
use hpke::generic_array::typenum::{Sum, U32, Unsigned};
use hpke::kem::SharedSecret;
use hpke::rand_core::{CryptoRng, RngCore};
use hpke::{Deserializable, HpkeError, Serializable};
use ml_kem::kem::{Decapsulate, Encapsulate};
use ml_kem::{B32, Ciphertext, EncodedSizeUser, KemCore, MlKem768};
use sha3::digest::{Digest, ExtendableOutput, Update, XofReader};
use sha3::{Sha3_256, Shake256};
use subtle::ConstantTimeEq;
use x25519_dalek::{EphemeralSecret, PublicKey as X25519Public, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// How an identity line of this type starts (Bech32 is also valid in lower case).
pub(crate) const SECRET_KEY_PREFIX: &str = "AGE-SECRET-KEY-PQ-1";

const SECRET_KEY_HRP: bech32::Hrp = bech32::Hrp::parse_unchecked("AGE-SECRET-KEY-PQ-");
#[cfg(test)]
const RECIPIENT_HRP: bech32::Hrp = bech32::Hrp::parse_unchecked("age1pq");

/// The stanza's tag (its first argument).
const STANZA_TAG: &str = "mlkem768x25519";
/// HPKE's `info` for this recipient type.
const HPKE_INFO: &[u8] = b"age-encryption.org/mlkem768x25519";

/// The identity: a 32-byte seed.
const SEED_LEN: usize = 32;
/// The body: the file key sealed by ChaCha20-Poly1305 (with its 16-byte tag).
const BODY_LEN: usize = FILE_KEY_BYTES + 16;
/// The X-Wing combiner's label, `\.//^\` (hex 5c2e2f2f5e5c).
const XWING_LABEL: &[u8] = b"\\.//^\\";

type MlKemCtLen = <MlKem768 as KemCore>::CiphertextSize;
type MlKemEkLen = <<MlKem768 as KemCore>::EncapsulationKey as EncodedSizeUser>::EncodedSize;
type MlKemDk = <MlKem768 as KemCore>::DecapsulationKey;
type MlKemEk = <MlKem768 as KemCore>::EncapsulationKey;
/// `enc`: the ML-KEM-768 ciphertext, then the X25519 share (Nenc = 1120).
type EncLen = Sum<MlKemCtLen, U32>;
/// The public key: the ML-KEM-768 encapsulation key, then the X25519 public key (Npk = 1216).
type PkLen = Sum<MlKemEkLen, U32>;

const ENC_LEN: usize = 1120;
const _: () = assert!(EncLen::USIZE == ENC_LEN && PkLen::USIZE == 1216);
/// The length of `enc` as unpadded base64 (checked before decoding anything).
const ENC_BASE64_LEN: usize = (ENC_LEN * 4).div_ceil(3);

/// The MLKEM768-X25519 hybrid KEM, in the shape the `hpke` crate composes with a KDF and an AEAD.
struct MlKem768X25519;

/// The decapsulation key: the seed (what is serialized) and what it expands to.
#[derive(Clone)]
struct PrivateKey {
    seed: Zeroizing<[u8; SEED_LEN]>,
    /// Zeroized on drop (`ml-kem`'s `zeroize` feature).
    dk_pq: MlKemDk,
    /// Zeroized on drop (`x25519-dalek`'s `zeroize` feature).
    sk_x: StaticSecret,
    pk: PublicKey,
}

impl PrivateKey {
    /// `expandKey(seed)` of the hybrid KEM.
    fn from_seed(seed: Zeroizing<[u8; SEED_LEN]>) -> PrivateKey {
        let mut expanded = Zeroizing::new([0u8; 64 + 32]);
        Shake256::default()
            .chain(&seed[..])
            .finalize_xof()
            .read(&mut expanded[..]);
        let mut d = B32::try_from(&expanded[..32]).expect("32 bytes");
        let mut z = B32::try_from(&expanded[32..64]).expect("32 bytes");
        let (dk_pq, ek_pq) = MlKem768::generate_deterministic(&d, &z);
        d.as_mut_slice().zeroize();
        z.as_mut_slice().zeroize();
        let mut x = [0u8; 32];
        x.copy_from_slice(&expanded[64..]);
        let sk_x = StaticSecret::from(x);
        x.zeroize();
        let pk_x = X25519Public::from(&sk_x);
        PrivateKey {
            seed,
            dk_pq,
            sk_x,
            pk: PublicKey { ek_pq, pk_x },
        }
    }
}

// Required by `hpke::Kem`; compares the seeds in constant time.
impl PartialEq for PrivateKey {
    fn eq(&self, other: &PrivateKey) -> bool {
        self.seed[..].ct_eq(&other.seed[..]).into()
    }
}
impl Eq for PrivateKey {}

impl Serializable for PrivateKey {
    type OutputSize = U32;
    fn write_exact(&self, buf: &mut [u8]) {
        buf.copy_from_slice(&self.seed[..]);
    }
}

impl Deserializable for PrivateKey {
    fn from_bytes(encoded: &[u8]) -> Result<PrivateKey, HpkeError> {
        if encoded.len() != SEED_LEN {
            return Err(HpkeError::IncorrectInputLength(SEED_LEN, encoded.len()));
        }
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        seed.copy_from_slice(encoded);
        Ok(PrivateKey::from_seed(seed))
    }
}

/// The encapsulation key (the recipient): `ek_PQ || ek_X25519`.
#[derive(Clone, Debug, PartialEq)]
struct PublicKey {
    ek_pq: MlKemEk,
    pk_x: X25519Public,
}
impl Eq for PublicKey {}

impl Serializable for PublicKey {
    type OutputSize = PkLen;
    fn write_exact(&self, buf: &mut [u8]) {
        let (pq, x) = buf.split_at_mut(MlKemEkLen::USIZE);
        pq.copy_from_slice(&self.ek_pq.as_bytes());
        x.copy_from_slice(self.pk_x.as_bytes());
    }
}

impl Deserializable for PublicKey {
    fn from_bytes(encoded: &[u8]) -> Result<PublicKey, HpkeError> {
        if encoded.len() != PkLen::USIZE {
            return Err(HpkeError::IncorrectInputLength(PkLen::USIZE, encoded.len()));
        }
        let (pq, x) = encoded.split_at(MlKemEkLen::USIZE);
        let ek_pq = MlKemEk::from_bytes(pq.try_into().expect("the length was checked"));
        // FIPS 203's encapsulation key check (§7.2): every coefficient is reduced, i.e. the key
        // re-encodes to the same bytes.
        if ek_pq.as_bytes().as_slice() != pq {
            return Err(HpkeError::ValidationError);
        }
        let x: [u8; 32] = x.try_into().expect("the length was checked");
        Ok(PublicKey {
            ek_pq,
            pk_x: X25519Public::from(x),
        })
    }
}

/// `enc`: `ct_PQ || ct_X25519`.
#[derive(Clone)]
struct EncappedKey {
    ct_pq: Ciphertext<MlKem768>,
    ct_x: [u8; 32],
}

impl Serializable for EncappedKey {
    type OutputSize = EncLen;
    fn write_exact(&self, buf: &mut [u8]) {
        let (pq, x) = buf.split_at_mut(MlKemCtLen::USIZE);
        pq.copy_from_slice(&self.ct_pq);
        x.copy_from_slice(&self.ct_x);
    }
}

impl Deserializable for EncappedKey {
    fn from_bytes(encoded: &[u8]) -> Result<EncappedKey, HpkeError> {
        if encoded.len() != ENC_LEN {
            return Err(HpkeError::IncorrectInputLength(ENC_LEN, encoded.len()));
        }
        let (pq, x) = encoded.split_at(MlKemCtLen::USIZE);
        Ok(EncappedKey {
            ct_pq: Ciphertext::<MlKem768>::try_from(pq).expect("the length was checked"),
            ct_x: x.try_into().expect("the length was checked"),
        })
    }
}

impl hpke::Kem for MlKem768X25519 {
    type PublicKey = PublicKey;
    type PrivateKey = PrivateKey;
    type EncappedKey = EncappedKey;
    type NSecret = U32;
    const KEM_ID: u16 = 0x647a;

    fn sk_to_pk(sk: &PrivateKey) -> PublicKey {
        sk.pk.clone()
    }

    /// `DeriveKeyPair(ikm)`: `seed = SHAKE256.LabeledDerive(ikm, "DeriveKeyPair", "", 32)`.
    fn derive_keypair(ikm: &[u8]) -> (PrivateKey, PublicKey) {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        Shake256::default()
            .chain(ikm)
            .chain(b"HPKE-v1")
            .chain(b"KEM")
            .chain(Self::KEM_ID.to_be_bytes())
            .chain((b"DeriveKeyPair".len() as u16).to_be_bytes())
            .chain(b"DeriveKeyPair")
            .chain((SEED_LEN as u16).to_be_bytes())
            .chain(b"")
            .finalize_xof()
            .read(&mut seed[..]);
        let sk = PrivateKey::from_seed(seed);
        let pk = sk.pk.clone();
        (sk, pk)
    }

    fn decap(
        sk: &PrivateKey,
        pk_sender_id: Option<&PublicKey>,
        enc: &EncappedKey,
    ) -> Result<SharedSecret<Self>, HpkeError> {
        // Only HPKE's base mode is defined for this KEM.
        if pk_sender_id.is_some() {
            return Err(HpkeError::DecapError);
        }
        // ML-KEM decapsulation does implicit rejection: it does not fail.
        let mut ss_pq = sk
            .dk_pq
            .decapsulate(&enc.ct_pq)
            .map_err(|()| HpkeError::DecapError)?;
        let ss_x = sk.sk_x.diffie_hellman(&X25519Public::from(enc.ct_x));
        let ss = ss_x
            .was_contributory()
            .then(|| combine(&ss_pq, ss_x.as_bytes(), &enc.ct_x, sk.pk.pk_x.as_bytes()));
        ss_pq.as_mut_slice().zeroize();
        // An all-zero X25519 shared secret (a low-order share) is refused.
        ss.ok_or(HpkeError::DecapError)
    }

    fn encap<R: CryptoRng + RngCore>(
        pk: &PublicKey,
        sender_id_keypair: Option<(&PrivateKey, &PublicKey)>,
        csprng: &mut R,
    ) -> Result<(SharedSecret<Self>, EncappedKey), HpkeError> {
        if sender_id_keypair.is_some() {
            return Err(HpkeError::EncapError);
        }
        let (ct_pq, mut ss_pq) = pk
            .ek_pq
            .encapsulate(csprng)
            .map_err(|()| HpkeError::EncapError)?;
        let ephemeral = EphemeralSecret::random_from_rng(&mut *csprng);
        let ct_x = X25519Public::from(&ephemeral).to_bytes();
        let ss_x = ephemeral.diffie_hellman(&pk.pk_x);
        let ss = ss_x
            .was_contributory()
            .then(|| combine(&ss_pq, ss_x.as_bytes(), &ct_x, pk.pk_x.as_bytes()));
        ss_pq.as_mut_slice().zeroize();
        Ok((
            ss.ok_or(HpkeError::EncapError)?,
            EncappedKey { ct_pq, ct_x },
        ))
    }
}

/// The X-Wing combiner: `SHA3-256(ss_PQ || ss_X25519 || ct_X25519 || pk_X25519 || label)`.
fn combine(
    ss_pq: &[u8],
    ss_x: &[u8; 32],
    ct_x: &[u8; 32],
    pk_x: &[u8; 32],
) -> SharedSecret<MlKem768X25519> {
    SharedSecret(
        Sha3_256::new()
            .chain_update(ss_pq)
            .chain_update(ss_x)
            .chain_update(ct_x)
            .chain_update(pk_x)
            .chain_update(XWING_LABEL)
            .finalize(),
    )
}

/// A post-quantum hybrid age identity (`AGE-SECRET-KEY-PQ-1…`), which opens the
/// `mlkem768x25519` stanzas made for its `age1pq1…` recipient.
pub(crate) struct Identity(PrivateKey);

impl FromStr for Identity {
    type Err = &'static str;

    /// Parses the Bech32 encoding (upper or lower case, never mixed) of a 32-byte seed.
    fn from_str(s: &str) -> Result<Identity, Self::Err> {
        bech32_decode(
            s,
            |_| "invalid Bech32 encoding",
            |hrp| {
                (hrp == SECRET_KEY_HRP)
                    .then_some(())
                    .ok_or("not a post-quantum age identity")
            },
            |_, bytes| {
                let mut seed = Zeroizing::new([0u8; SEED_LEN]);
                let mut len = 0;
                for (i, byte) in bytes.enumerate() {
                    *seed.get_mut(i).ok_or("incorrect identity length")? = byte;
                    len = i + 1;
                }
                if len != SEED_LEN {
                    return Err("incorrect identity length");
                }
                Ok(Identity(PrivateKey::from_seed(seed)))
            },
        )
    }
}

#[cfg(test)]
impl Identity {
    /// The identity's encoding, as age-keygen writes it (upper case).
    fn to_string(&self) -> age::secrecy::SecretString {
        let mut lower = age_core::primitives::bech32_encode(SECRET_KEY_HRP, &self.0.seed[..]);
        let upper = lower.to_uppercase();
        lower.zeroize();
        upper.into()
    }

    /// The recipient (`age1pq1…`).
    fn to_public(&self) -> String {
        age_core::primitives::bech32_encode(RECIPIENT_HRP, &self.0.pk.to_bytes())
    }
}

impl age::Identity for Identity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != STANZA_TAG {
            return None;
        }
        let enc = match &stanza.args[..] {
            [enc] => decode_enc(enc),
            _ => None,
        };
        let Some(enc) = enc else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        // Checked before any decryption is attempted (partitioning oracles).
        if stanza.body.len() != BODY_LEN {
            return Some(Err(DecryptError::InvalidHeader));
        }
        match hpke_open::<MlKem768X25519>(&enc, &self.0, HPKE_INFO, &stanza.body) {
            Ok(plaintext) => {
                let plaintext = Zeroizing::new(plaintext);
                Some(FileKey::try_init_with_mut(|file_key| {
                    if plaintext.len() != FILE_KEY_BYTES {
                        return Err(DecryptError::InvalidHeader);
                    }
                    file_key.copy_from_slice(&plaintext);
                    Ok(())
                }))
            }
            // Not sealed to this identity (or damaged, which HPKE cannot tell apart): other
            // stanzas and identities are still tried.
            Err(HpkeError::OpenError) => None,
            // The KEM refused `enc` (an X25519 share giving the all-zero shared secret).
            Err(_) => Some(Err(DecryptError::InvalidHeader)),
        }
    }
}

/// The stanza's `enc` argument: canonical unpadded base64 (the engine refuses padding and
/// nonzero trailing bits) of exactly 1120 bytes.
fn decode_enc(arg: &str) -> Option<EncappedKey> {
    if arg.len() != ENC_BASE64_LEN {
        return None;
    }
    let bytes = BASE64_STANDARD_NO_PAD.decode(arg).ok()?;
    EncappedKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;

    use age::Identity as _;
    use age::secrecy::ExposeSecret;
    use age_core::primitives::{bech32_encode, hpke_seal};
    use rand_core::OsRng;

    use super::*;

    /// The identity of the CCTV `hybrid*` vectors.
    pub(crate) const CCTV_IDENTITY: &str =
        "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG";

    /// The example identity and recipient of the C2SP age specification.
    const SPEC_IDENTITY: &str =
        "AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR";
    const SPEC_RECIPIENT: &str = concat!(
        "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5aap",
        "dmwjjqpjfdyxnzr2zampc3uxy0dg4z2n2gm9su72p0pc3u0jvev55l694v78snxg3yzvcl7yda0eyytqj6a0ec4",
        "77lnhcy5hzpz4zq3pxanve4cn62gqj3pjy5lqj9c6kyj4v2z8alktn8zh99970x79gjkv7522hv9kfz35zsnxhs",
        "x8wwtmu9cy3ftzjgwcp4sshn3llnylnpdsyz5jm72vefv4x5vfwytrefxg4wq3mv42wcrvkj742479zrxzpvp2p",
        "3e9fed9f0739vcu80r7ma28qfhnvlv4gfzel9q654dj3zmuvvz893azhxdvs9fxd0r7jzchzcfcs5mkyyjxhw0n",
        "2z6dvp9yn9qfdp29h0azxqyjw6v7fhyuzj7zel0uq6j9rd7wgrpz7mf5dnj43jwsgvrc8qcnhy7tu6dkdujuxzk",
        "p9xj43xe8h92ktre2a3u3s8mm5mrp9nr9pwkgtz4mdlq9hgn4fps4k57ff6wddn2fy23t47sm20r8km8sd2pcyy",
        "afnet8f0dajsrlyjeah4n3mssr6aseevuuskdvq5lzguyvpgwpta742c6698vgutzqgny8usfg0w2he7kq5vyxj",
        "d0f9hqg8xk26y9e4th0gezq92q4cpp5p2y9hf5f2cje5l0c3sa3a2qxmm38pxxvhxh99yzmfz0zk7r2s64nnwjh",
        "kfgfr3gf8xnmppcgmaykvh5sh6g7vk9790rf8ws0axmr2t7z8aae5fq2029uvcn2ghgt4fu4wgwdc0k0cz52qkv",
        "wmuzj8p8k5jgf3xzk5zmrkavjekjrpeq408xz3zxazwkc6tyfmhayrkfpjhwtz5mp8j8guqe43k2q6m2kte03vr",
        "w27y3wmqyu5etmt9dnkwcnnpmu9gz9dekfhdevf42ucshphnrk38ra6hx8w5f8q5ru0xdhrjxmwqf6cused7zc5",
        "xvq43r0zscjglpwlptpwydhqw64xz7ptjdyeyzpq2zkxtmzg29gzjpvzva4d3l0cenn9xs297wf4y4ukwrunf57",
        "xj6pm7nvrkwvtrt8hwcmgv8x7ajw7258ugf9wvkmk4052ekg87tw5vnx8nq2swyzv77v8yqlwsenvamr0zsskn",
        "wts8rrhfuwj7ykysnq9jxy0uv3kuyt22djszjdtvpz6d0s0kwh8ryynddzud92emeyvvyqktd0jtj7rvvg5gch2",
        "5v8smlvny3kvn5gagyz475ze2y6q466xqmz2n3hs77lddeqyta2nch5k2u5yacuk9ywnwfdzvyejnucz724hj77",
        "hrrmakm7pr3kxsrxq22ejexlud9fy2kdqmkg5yncz7jm5wv2qjk5w5kvcpqsry2yqffh2la52dxfjkjq5rzhjze",
        "yn6dupn0qwtyv7s4lwg3xdarsdlwe2y3tujy480y7z39q259fzx6jhd2j0f5hagqpcpees7hzc2yrk5cy788uk3",
        "s7qvp5cpepx24gvws3m2g433exgwppnkjscec8qu4y9z9r7vccexjcjaen42245lmgmxmuavg9alej92322gvvy",
        "y2t6267v09ch64y0m53jff0vjj96s0ypk60hr3jw4myd6m5hpn3xjstx7tl2szhpr5qe8jj08ydjc4wy2rch2fh",
        "uy3pdfjax5awe9j99ly5hkntzz9fe5zatgjvzdd0kgtxs25njnajyf6ssekp7gelxquusn4pt25czh3scj68kq7",
        "9wdn5tgm6yvm9nzavrg043x3msnygf8dweknw5jmqd0uvny6ttsn09508k0c55zfnegrm9efhxpfqdkmhh6gjtq",
        "mwze9pyyzk3tlhl53k2ykx3qheyty7saeq0d3fzv49zc0k",
    );

    /// A recipient for tests (this crate encrypts to X25519 and passphrases only): seals a file
    /// key in an `mlkem768x25519` stanza, as age ≥ 1.3 does.
    pub(crate) struct TestRecipient(PublicKey);

    impl TestRecipient {
        pub(crate) fn of(identity: &str) -> TestRecipient {
            TestRecipient(identity.parse::<Identity>().unwrap().0.pk.clone())
        }
    }

    impl age::Recipient for TestRecipient {
        fn wrap_file_key(
            &self,
            file_key: &FileKey,
        ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
            Ok((
                vec![seal(&self.0, file_key.expose_secret())],
                HashSet::from(["postquantum".to_string()]),
            ))
        }
    }

    fn seal(pk: &PublicKey, file_key: &[u8]) -> Stanza {
        let (enc, body) = hpke_seal::<MlKem768X25519, _>(pk, HPKE_INFO, file_key, &mut OsRng);
        Stanza {
            tag: STANZA_TAG.into(),
            args: vec![BASE64_STANDARD_NO_PAD.encode(enc.to_bytes())],
            body,
        }
    }

    /// A copy of a stanza (`Stanza` is not `Clone`).
    fn dup(s: &Stanza) -> Stanza {
        Stanza {
            tag: s.tag.clone(),
            args: s.args.clone(),
            body: s.body.clone(),
        }
    }

    fn identity(s: &str) -> Identity {
        s.parse().unwrap()
    }

    fn random_identity() -> Identity {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        OsRng.fill_bytes(&mut seed[..]);
        Identity(PrivateKey::from_seed(seed))
    }

    fn is_invalid_header(r: Option<Result<FileKey, DecryptError>>) -> bool {
        matches!(r, Some(Err(DecryptError::InvalidHeader)))
    }

    #[test]
    fn a_seed_round_trips_its_bech32_encoding() {
        for s in [CCTV_IDENTITY, SPEC_IDENTITY] {
            assert_eq!(identity(s).to_string().expose_secret(), s);
            // Bech32 is also valid in lower case.
            let lower = identity(&s.to_lowercase());
            assert_eq!(lower.to_string().expose_secret(), s);
        }
        let id = random_identity();
        let again = identity(id.to_string().expose_secret());
        assert_eq!(again.0.seed[..], id.0.seed[..]);
        assert!(again.0 == id.0);
        assert_eq!(again.to_public(), id.to_public());
    }

    #[test]
    fn malformed_identities_are_refused() {
        let mixed = format!(
            "{}{}",
            &CCTV_IDENTITY[..30],
            CCTV_IDENTITY[30..].to_lowercase()
        );
        let mut typo = CCTV_IDENTITY.to_string();
        typo.replace_range(40..41, if &typo[40..41] == "Q" { "P" } else { "Q" });
        let short = bech32_encode(SECRET_KEY_HRP, &[7; 31]).to_uppercase();
        let long = bech32_encode(SECRET_KEY_HRP, &[7; 33]).to_uppercase();
        let x25519 = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
        for bad in [&mixed, &typo, &short, &long, x25519, "", SECRET_KEY_PREFIX] {
            assert!(bad.parse::<Identity>().is_err(), "{bad}");
        }
        assert!(
            bech32_encode(SECRET_KEY_HRP, &[7; 32])
                .parse::<Identity>()
                .is_ok()
        );
    }

    #[test]
    fn the_spec_example_identity_gives_the_spec_example_recipient() {
        // Checks the seed expansion (SHAKE256, ML-KEM-768 key generation from d || z, X25519)
        // and the recipient's layout against the C2SP age specification.
        assert_eq!(identity(SPEC_IDENTITY).to_public(), SPEC_RECIPIENT);
    }

    #[test]
    fn a_sealed_stanza_opens_with_its_identity_only() {
        let id = random_identity();
        let file_key = [42u8; FILE_KEY_BYTES];
        let stanza = seal(&id.0.pk, &file_key);
        let opened = id.unwrap_stanza(&stanza).unwrap().unwrap();
        assert_eq!(opened.expose_secret(), &file_key);
        // Another identity: not a match, and not an error (other stanzas are still tried).
        assert!(random_identity().unwrap_stanza(&stanza).is_none());
        // A damaged body, or a damaged ML-KEM ciphertext: not a match either.
        let mut body = dup(&stanza);
        body.body[3] ^= 1;
        assert!(id.unwrap_stanza(&body).is_none());
        let mut enc = BASE64_STANDARD_NO_PAD.decode(&stanza.args[0]).unwrap();
        enc[10] ^= 1;
        let damaged = Stanza {
            args: vec![BASE64_STANDARD_NO_PAD.encode(&enc)],
            ..dup(&stanza)
        };
        assert!(id.unwrap_stanza(&damaged).is_none());
    }

    #[test]
    fn other_stanza_types_are_ignored() {
        let id = random_identity();
        let stanza = seal(&id.0.pk, &[1; FILE_KEY_BYTES]);
        for tag in [
            "X25519",
            "MLKEM768X25519",
            "mlkem768p256tag",
            "mlkem768x25519x",
        ] {
            let other = Stanza {
                tag: tag.into(),
                ..dup(&stanza)
            };
            assert!(id.unwrap_stanza(&other).is_none(), "{tag}");
        }
    }

    #[test]
    fn a_stanza_with_a_wrong_argument_count_is_an_invalid_header() {
        let id = random_identity();
        let stanza = seal(&id.0.pk, &[1; FILE_KEY_BYTES]);
        let enc = stanza.args[0].clone();
        for args in [
            vec![],
            vec![enc.clone(), "x".into()],
            vec![enc.clone(), enc],
        ] {
            let bad = Stanza {
                args,
                ..dup(&stanza)
            };
            assert!(is_invalid_header(id.unwrap_stanza(&bad)));
        }
    }

    #[test]
    fn a_malformed_enc_or_body_is_an_invalid_header() {
        let id = random_identity();
        let stanza = seal(&id.0.pk, &[1; FILE_KEY_BYTES]);
        let enc = BASE64_STANDARD_NO_PAD.decode(&stanza.args[0]).unwrap();
        let with_arg = |arg: String| Stanza {
            args: vec![arg],
            ..dup(&stanza)
        };
        // 1120 bytes encode to 1494 characters, the last of which carries 4 unused bits: set one.
        let mut not_canonical = stanza.args[0].clone().into_bytes();
        let last = not_canonical.pop().unwrap();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let at = alphabet.iter().position(|&c| c == last).unwrap();
        not_canonical.push(alphabet[at ^ 1]);
        let bad_args = [
            String::from_utf8(not_canonical).unwrap(),
            format!("{}==", stanza.args[0]),
            BASE64_STANDARD_NO_PAD.encode(&enc[..ENC_LEN - 1]),
            BASE64_STANDARD_NO_PAD.encode([&enc[..], &[0]].concat()),
            stanza.args[0].replace('/', "_").replace('+', "-"),
            String::new(),
        ];
        for arg in bad_args {
            assert!(is_invalid_header(id.unwrap_stanza(&with_arg(arg))));
        }
        for len in [0, BODY_LEN - 1, BODY_LEN + 1, BODY_LEN + 16] {
            let mut bad = dup(&stanza);
            bad.body.resize(len, 0);
            assert!(is_invalid_header(id.unwrap_stanza(&bad)), "{len}");
        }
    }

    #[test]
    fn a_low_order_x25519_share_is_an_invalid_header() {
        let id = random_identity();
        let stanza = seal(&id.0.pk, &[1; FILE_KEY_BYTES]);
        let enc = BASE64_STANDARD_NO_PAD.decode(&stanza.args[0]).unwrap();
        // The identity point (0) and a point of order 8 (RFC 7748's list of low-order points).
        let mut order_8 = [0u8; 32];
        hex::decode_to_slice(
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            &mut order_8,
        )
        .unwrap();
        for share in [[0u8; 32], order_8] {
            let mut low = enc.clone();
            low[ENC_LEN - 32..].copy_from_slice(&share);
            let bad = Stanza {
                args: vec![BASE64_STANDARD_NO_PAD.encode(&low)],
                ..dup(&stanza)
            };
            assert!(is_invalid_header(id.unwrap_stanza(&bad)));
        }
    }

    #[test]
    fn keys_serialize_and_validate() {
        let id = random_identity();
        let pk = PublicKey::from_bytes(&id.0.pk.to_bytes()).unwrap();
        assert_eq!(pk, id.0.pk);
        let sk = PrivateKey::from_bytes(&id.0.to_bytes()).unwrap();
        assert!(sk == id.0);
        assert!(PrivateKey::from_bytes(&[0; 31]).is_err());
        // An ML-KEM encapsulation key with an unreduced coefficient (12 bits, all ones).
        let mut bad = id.0.pk.to_bytes();
        bad[0] = 0xff;
        bad[1] |= 0x0f;
        assert!(matches!(
            PublicKey::from_bytes(&bad),
            Err(HpkeError::ValidationError)
        ));
        // Deterministic derivation, and a derived key that works.
        let (a, _) = <MlKem768X25519 as hpke::Kem>::derive_keypair(b"some input keying material");
        let (b, pk_b) =
            <MlKem768X25519 as hpke::Kem>::derive_keypair(b"some input keying material");
        assert!(a == b);
        let stanza = seal(&pk_b, &[9; FILE_KEY_BYTES]);
        let opened = Identity(b).unwrap_stanza(&stanza).unwrap().unwrap();
        assert_eq!(opened.expose_secret(), &[9; FILE_KEY_BYTES]);
    }
}
