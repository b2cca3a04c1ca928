//! Runs the test vectors under `tests/vectors/` (made by `examples/gen_vectors/`, specified in
//! `docs/format.md`). Every vector declares its outcome: `"ok"`, or the `CryptoError` it must fail with.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_crypto::envelope::{self, Aad, Alg, Kind};
use pvault_crypto::{
    AesKey, Classification, CollectionKeys, CryptoError, IndexKey, KdfParams, Key32, KeyFile,
    PasswordKey, ProfileId, Purpose, RootKey, SecretKey,
};
use serde::Deserialize;
use serde_json::Value;

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).unwrap_or_else(|e| panic!("{s}: {e}"));
    out
}

/// The name a vector's `expect` uses for an error (numbers included where the variant carries one).
fn error_name(e: &CryptoError) -> String {
    match e {
        CryptoError::DecryptionFailed => "DecryptionFailed".into(),
        CryptoError::MalformedEnvelope(_) => "MalformedEnvelope".into(),
        CryptoError::UnsupportedEnvelopeVersion(v) => format!("UnsupportedEnvelopeVersion({v})"),
        CryptoError::UnknownAlgorithm(a) => format!("UnknownAlgorithm({a})"),
        CryptoError::AlgorithmTooWeak => "AlgorithmTooWeak".into(),
        CryptoError::UnknownKeyId(id) => format!("UnknownKeyId({id})"),
        CryptoError::InvalidSecretKey(_) => "InvalidSecretKey".into(),
        CryptoError::InvalidKdfParams(_) => "InvalidKdfParams".into(),
        CryptoError::InvalidKeyFile(_) => "InvalidKeyFile".into(),
        CryptoError::KeyFileDamaged(_) => "KeyFileDamaged".into(),
        CryptoError::UnsupportedKeyFileVersion(v) => format!("UnsupportedKeyFileVersion({v})"),
        CryptoError::WrongPassword => "WrongPassword".into(),
        CryptoError::WrongPasswordOrSecretKey => "WrongPasswordOrSecretKey".into(),
        CryptoError::SecretKeyRequired => "SecretKeyRequired".into(),
        CryptoError::TooLong(_) => "TooLong".into(),
        CryptoError::BadSignature => "BadSignature".into(),
        other => format!("{other:?}"),
    }
}

/// Checks a negative vector's outcome, or hands back the value of a positive one.
fn outcome<T>(description: &str, expect: &str, result: Result<T, CryptoError>) -> Option<T> {
    match (expect, result) {
        ("ok", Ok(v)) => Some(v),
        ("ok", Err(e)) => panic!("{description}: expected ok, got {e:?}"),
        (want, Ok(_)) => panic!("{description}: expected {want}, but it succeeded"),
        (want, Err(e)) => {
            assert_eq!(error_name(&e), want, "{description}: {e}");
            None
        }
    }
}

fn kind(b: u8) -> Kind {
    match b {
        1 => Kind::Record,
        2 => Kind::RecordId,
        3 => Kind::KeyWrap,
        _ => panic!("kind {b}"),
    }
}

fn alg(b: u8) -> Alg {
    match b {
        1 => Alg::Aes256Gcm,
        2 => Alg::Cascade,
        _ => panic!("alg {b}"),
    }
}

/// The fields shared by every envelope vector: where it is opened, its bytes, and how to re-seal it.
#[derive(Deserialize)]
struct Sealed {
    description: String,
    expect: String,
    profile: String,
    kind: u8,
    collection: String,
    record_id: String,
    classification: Classification,
    envelope: String,
    alg: Option<u8>,
    nonce: Option<String>,
    xnonce: Option<String>,
    plaintext: Option<String>,
}

impl Sealed {
    /// Opens with `open`, checks the outcome, and for "ok" vectors checks the plaintext, the parsed
    /// header and that sealing again with the same nonces gives the same bytes.
    fn check(
        &self,
        keys: &CollectionKeys,
        open: impl Fn(&Aad<'_>, &[u8]) -> Result<Vec<u8>, CryptoError>,
    ) {
        let d = &self.description;
        let profile = ProfileId(unhex(&self.profile));
        let aad = Aad {
            profile: &profile,
            kind: kind(self.kind),
            collection: &self.collection,
            record_id: &self.record_id,
            classification: self.classification,
        };
        let bytes = hex::decode(&self.envelope).unwrap();
        let Some(plaintext) = outcome(d, &self.expect, open(&aad, &bytes)) else {
            return;
        };
        assert_eq!(
            hex::encode(&plaintext),
            *self.plaintext.as_ref().unwrap(),
            "{d}"
        );

        let alg = alg(self.alg.unwrap());
        let nonce: [u8; 12] = unhex(self.nonce.as_ref().unwrap());
        let xnonce: [u8; 24] = self.xnonce.as_deref().map_or([0; 24], unhex);
        let (header, body) = envelope::parse(&bytes).unwrap();
        assert_eq!(header.version, 1, "{d}");
        assert_eq!(header.alg, alg, "{d}");
        assert_eq!(header.key_id, keys.key_id(), "{d}");
        assert_eq!(header.nonce, nonce, "{d}");
        let tags = if alg == Alg::Cascade { 32 } else { 16 };
        assert_eq!(body.len(), plaintext.len() + tags, "{d}");
        if alg == Alg::Cascade {
            assert_eq!(header.xnonce, Some(xnonce), "{d}");
        }
        let again = envelope::seal_with_nonces(keys, &aad, &plaintext, alg, nonce, xnonce).unwrap();
        assert_eq!(hex::encode(again), self.envelope, "{d}: re-sealing differs");
    }
}

#[derive(Deserialize)]
struct EnvelopeVector {
    op: String,
    key_id: u32,
    data_key: String,
    cascade_key: Option<String>,
    #[serde(flatten)]
    sealed: Sealed,
}

#[derive(Deserialize)]
struct EnvelopeFile {
    vectors: Vec<EnvelopeVector>,
}

#[test]
fn envelopes() {
    let file: EnvelopeFile = load("envelopes.json");
    let mut seen = (0, 0);
    for v in &file.vectors {
        let data = Key32::from_bytes(unhex(&v.data_key));
        let cascade = Key32::from_bytes(v.cascade_key.as_deref().map_or([0; 32], unhex));
        let keys = CollectionKeys::new(v.key_id, &data, &cascade);
        match v.op.as_str() {
            "open" => v
                .sealed
                .check(&keys, |aad, b| Ok(envelope::open(&keys, aad, b)?.to_vec())),
            "unwrap" => {
                let kek = AesKey::new(&data);
                v.sealed
                    .check(&keys, |aad, b| Ok(envelope::unwrap(&kek, aad, b)?.to_vec()))
            }
            op => panic!("{}: unknown op {op}", v.sealed.description),
        }
        if v.sealed.expect == "ok" {
            seen.0 += 1;
        } else {
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 10 && seen.1 >= 20, "too few vectors: {seen:?}");
}

#[derive(Deserialize)]
struct PurposeVector {
    description: String,
    root_key: String,
    profile: String,
    purpose: String,
    key: String,
}

#[derive(Deserialize)]
struct CollectionVector {
    key_id: u32,
    root_key: String,
    derive_collection: Option<String>,
    derive_profile: Option<String>,
    #[serde(flatten)]
    sealed: Sealed,
}

#[derive(Deserialize)]
struct PasswordVector {
    description: String,
    password: String,
    salt: String,
    m_kib: u32,
    t: u32,
    p: u32,
    secret_key: String,
    secret_key_wrap_key: Option<String>,
    kek: Option<String>,
    expect: String,
}

#[derive(Deserialize)]
struct TokenVector {
    description: String,
    key: String,
    parts: Vec<String>,
    token: String,
}

#[derive(Deserialize)]
struct DerivationFile {
    purpose_keys: Vec<PurposeVector>,
    collection_envelopes: Vec<CollectionVector>,
    password_keys: Vec<PasswordVector>,
    index_tokens: Vec<TokenVector>,
}

#[test]
fn derivation() {
    let file: DerivationFile = load("derivation.json");

    let mut purposes = Vec::new();
    for v in &file.purpose_keys {
        let purpose = match v.purpose.as_str() {
            "wrap" => Purpose::Wrap,
            "blind-index" => Purpose::BlindIndex,
            "sync" => Purpose::Sync,
            "backup" => Purpose::Backup,
            "audit" => Purpose::Audit,
            p => panic!("unknown purpose {p}"),
        };
        purposes.push(purpose);
        let root = RootKey::from_key(1, Key32::from_bytes(unhex(&v.root_key)));
        let key = root.derive(&ProfileId(unhex(&v.profile)), purpose);
        assert_eq!(hex::encode(key.expose()), v.key, "{}", v.description);
    }
    for p in [
        Purpose::Wrap,
        Purpose::BlindIndex,
        Purpose::Sync,
        Purpose::Backup,
        Purpose::Audit,
    ] {
        assert!(purposes.contains(&p), "no vector for {p:?}");
    }

    for v in &file.collection_envelopes {
        let root = RootKey::from_key(v.key_id, Key32::from_bytes(unhex(&v.root_key)));
        let profile = ProfileId(unhex(
            v.derive_profile.as_ref().unwrap_or(&v.sealed.profile),
        ));
        let collection = v.derive_collection.as_ref().unwrap_or(&v.sealed.collection);
        let keys = root.collection_keys(&profile, collection);
        v.sealed
            .check(&keys, |aad, b| Ok(envelope::open(&keys, aad, b)?.to_vec()));
    }
    assert!(file.collection_envelopes.len() >= 8);

    for v in &file.password_keys {
        let d = &v.description;
        let salt: [u8; 16] = unhex(&v.salt);
        let params = KdfParams {
            m_kib: v.m_kib,
            t: v.t,
            p: v.p,
        };
        let result = PasswordKey::derive(v.password.as_bytes(), &salt, params);
        let Some(pk) = outcome(d, &v.expect, result) else {
            continue;
        };
        let sk = SecretKey::from_bytes(&unhex::<16>(&v.secret_key)).unwrap();
        let wrap = pk.secret_key_wrap_key(&salt);
        assert_eq!(
            Some(hex::encode(wrap.expose())),
            v.secret_key_wrap_key,
            "{d}"
        );
        assert_eq!(Some(hex::encode(pk.kek(&sk, &salt).expose())), v.kek, "{d}");
    }
    assert!(file.password_keys.len() >= 8);

    for v in &file.index_tokens {
        let key = IndexKey::new(&Key32::from_bytes(unhex(&v.key)));
        let parts: Vec<Vec<u8>> = v.parts.iter().map(|p| hex::decode(p).unwrap()).collect();
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        assert_eq!(hex::encode(key.token(&parts)), v.token, "{}", v.description);
    }
    assert!(file.index_tokens.len() >= 4);
}

#[derive(Deserialize)]
struct DisplayVector {
    description: String,
    bytes: String,
    display: Option<String>,
    expect: String,
}

#[derive(Deserialize)]
struct ParseVector {
    description: String,
    input: String,
    bytes: Option<String>,
    expect: String,
}

#[derive(Deserialize)]
struct SecretKeyFile {
    display: Vec<DisplayVector>,
    parse: Vec<ParseVector>,
}

#[test]
fn secret_keys() {
    let file: SecretKeyFile = load("secret_keys.json");
    for v in &file.display {
        let d = &v.description;
        let bytes = hex::decode(&v.bytes).unwrap();
        let Some(sk) = outcome(d, &v.expect, SecretKey::from_bytes(&bytes)) else {
            continue;
        };
        let shown = sk.to_display_string();
        assert_eq!(Some(shown.as_str()), v.display.as_deref(), "{d}");
        assert_eq!(
            SecretKey::parse(&shown).unwrap().expose()[..],
            bytes[..],
            "{d}"
        );
    }
    for v in &file.parse {
        let d = &v.description;
        if let Some(sk) = outcome(d, &v.expect, SecretKey::parse(&v.input)) {
            assert_eq!(Some(hex::encode(sk.expose())), v.bytes, "{d}");
        }
    }
    assert!(file.display.len() >= 4 && file.parse.len() >= 12);
}

#[derive(Deserialize)]
struct Expected {
    profile_id: String,
    current_key_id: u32,
    root_keys: std::collections::BTreeMap<u32, String>,
    secret_key: String,
    ed25519_public: String,
    x25519_public: String,
    naming_token: String,
    signature: String,
}

#[derive(Deserialize)]
struct KeyFileVector {
    description: String,
    file: String,
    password: String,
    secret_key: Option<String>,
    #[serde(default)]
    unset: Vec<String>,
    #[serde(default)]
    set: serde_json::Map<String, Value>,
    fails_at: Option<String>,
    expect: String,
}

#[derive(Deserialize)]
struct KeyFileVectors {
    message: String,
    files: std::collections::BTreeMap<String, Value>,
    expected: std::collections::BTreeMap<String, Expected>,
    vectors: Vec<KeyFileVector>,
}

/// Sets the value at a JSON pointer, adding the last member if it is missing.
fn set_pointer(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"));
    match parent {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
        }
        Value::Array(items) => items[last.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer}"),
    }
}

/// Removes the member at a JSON pointer.
fn unset_pointer(doc: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let removed = doc
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove(last));
    assert!(removed.is_some(), "{pointer}: nothing to remove");
}

/// The key file's checksum as `docs/format.md` (§3, "checksum") defines it, computed here from
/// the JSON, apart from the crate's code: SHA-256 over every other field, each behind its length
/// as a big-endian u32; integers big-endian, strings as stored.
fn checksum_by_the_spec(doc: &Value) -> String {
    fn part(m: &mut Vec<u8>, bytes: &[u8]) {
        m.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        m.extend_from_slice(bytes);
    }
    let text = |pointer: &str| doc.pointer(pointer).unwrap().as_str().unwrap().as_bytes();
    let int = |pointer: &str| doc.pointer(pointer).unwrap().as_u64().unwrap();
    let mut m = Vec::new();
    part(&mut m, b"pvault/v1/keyfile-checksum");
    part(&mut m, text("/format"));
    part(&mut m, &int("/version").to_be_bytes());
    part(&mut m, text("/profile_id"));
    part(&mut m, text("/kdf/alg"));
    for p in ["/kdf/m_kib", "/kdf/t", "/kdf/p"] {
        part(&mut m, &(int(p) as u32).to_be_bytes());
    }
    part(&mut m, text("/kdf/salt"));
    match doc["secret_key"].as_str() {
        None => part(&mut m, &[0]),
        Some(s) => {
            part(&mut m, &[1]);
            part(&mut m, s.as_bytes());
        }
    }
    part(&mut m, &(int("/current_key_id") as u32).to_be_bytes());
    let epochs = doc["epochs"].as_array().unwrap();
    part(&mut m, &(epochs.len() as u32).to_be_bytes());
    for e in epochs {
        part(
            &mut m,
            &(e["key_id"].as_u64().unwrap() as u32).to_be_bytes(),
        );
        part(&mut m, e["wrapped_root"].as_str().unwrap().as_bytes());
    }
    for p in [
        "/naming_key",
        "/identity/ed25519_public",
        "/identity/x25519_public",
        "/identity/wrapped_secret",
    ] {
        part(&mut m, text(p));
    }
    hex::encode(pvault_crypto::sha256(&m))
}

#[test]
fn key_files() {
    let file: KeyFileVectors = load("keyfile_v1.json");
    let message = file.message.as_bytes();

    // The stored files decode, and encode back to the same JSON (field names are part of the format),
    // checksum included; the checksum is the one the spec defines.
    for (name, json) in &file.files {
        let kf = KeyFile::decode(&serde_json::to_vec(json).unwrap()).unwrap();
        assert!(kf.has_checksum(), "{name}");
        let again: Value = serde_json::from_slice(&kf.encode()).unwrap();
        assert_eq!(&again, json, "{name}: encode(decode(file)) differs");
        assert_eq!(json["checksum"], checksum_by_the_spec(json), "{name}");
        let public = kf.public_identity().unwrap();
        let want = &file.expected[name];
        assert_eq!(hex::encode(public.ed25519), want.ed25519_public, "{name}");
        assert_eq!(hex::encode(public.x25519), want.x25519_public, "{name}");
    }

    let (mut ok, mut failed) = (0, 0);
    for v in &file.vectors {
        let d = &v.description;
        let mut json = file.files[&v.file].clone();
        for pointer in &v.unset {
            unset_pointer(&mut json, pointer);
        }
        for (pointer, value) in &v.set {
            set_pointer(&mut json, pointer, value.clone());
        }
        let bytes = serde_json::to_vec(&json).unwrap();
        let sk = v
            .secret_key
            .as_deref()
            .map(|s| SecretKey::parse(s).unwrap());
        let decoded = KeyFile::decode(&bytes);
        if v.expect != "ok" && v.fails_at.as_deref() == Some("decode") {
            outcome(d, &v.expect, decoded);
            failed += 1;
            continue;
        }
        let kf = decoded.unwrap_or_else(|e| panic!("{d}: decode failed: {e}"));
        let unlocked = kf.unlock(v.password.as_bytes(), sk.as_ref());
        let Some(keys) = outcome(d, &v.expect, unlocked) else {
            assert_eq!(v.fails_at.as_deref(), Some("unlock"), "{d}");
            failed += 1;
            continue;
        };
        ok += 1;
        let want = &file.expected[&v.file];
        assert_eq!(keys.profile_id().to_hex(), want.profile_id, "{d}");
        assert_eq!(keys.current().id(), want.current_key_id, "{d}");
        assert_eq!(
            keys.key_ids(),
            want.root_keys.keys().copied().collect::<Vec<_>>(),
            "{d}"
        );
        for (id, root) in &want.root_keys {
            assert_eq!(
                hex::encode(keys.root(*id).unwrap().expose()),
                *root,
                "{d}: root {id}"
            );
        }
        assert_eq!(
            keys.secret_key().to_display_string().as_str(),
            want.secret_key,
            "{d}"
        );
        let public = keys.identity().public();
        assert_eq!(hex::encode(public.ed25519), want.ed25519_public, "{d}");
        assert_eq!(hex::encode(public.x25519), want.x25519_public, "{d}");
        assert_eq!(
            hex::encode(keys.naming_key().token(&[message])),
            want.naming_token,
            "{d}"
        );
        let sig = keys.identity().sign(message);
        assert_eq!(hex::encode(sig), want.signature, "{d}");
        public.verify(message, &sig).unwrap();
    }
    assert!(
        ok >= 5 && failed >= 35,
        "too few vectors: {ok} ok, {failed} failing"
    );

    // The stored file's Secret Key wrap is the alg-1 envelope the spec describes: key id 0, AD label
    // "secret-key". Checked here by hand so that a reader of the spec can follow it.
    let stored = &file.files["stored"];
    let wrapped = B64.decode(stored["secret_key"].as_str().unwrap()).unwrap();
    let (header, body) = envelope::parse(&wrapped).unwrap();
    assert_eq!(
        (header.alg, header.key_id, body.len()),
        (Alg::Aes256Gcm, 0, 16 + 16)
    );
}
