//! Writes the test vectors under `crates/pvault-crypto/tests/vectors/` (checked by `tests/vectors.rs`).
//!
//! ```text
//! cargo run -p pvault-crypto --example gen_vectors              # envelopes, derivation, Secret Keys
//! cargo run -p pvault-crypto --example gen_vectors -- --keyfile # also a NEW keyfile_v1.json
//! ```
//!
//! Everything but the key file is deterministic (fixed keys and nonces), so regenerating it must give
//! identical files. Key files are made with random salts and nonces; `keyfile_v1.json` is generated
//! once, checked in, and only rewritten on `--keyfile`.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_crypto::envelope::{self, Aad, Alg, Kind};
use pvault_crypto::{
    Classification, CollectionKeys, KdfParams, Key32, KeyFile, PasswordKey, ProfileId, Purpose,
    RootKey, SecretKey,
};
use serde_json::{Value, json};

/// `N` bytes counting up from `start`: easy to recognise in a hex dump.
fn seq<const N: usize>(start: u8) -> [u8; N] {
    std::array::from_fn(|i| start.wrapping_add(i as u8))
}

const PROFILE: [u8; 16] = [
    0x70, 0x76, 0x61, 0x75, 0x6c, 0x74, 0x2d, 0x70, 0x72, 0x6f, 0x66, 0x69, 0x6c, 0x65, 0x2d, 0x31,
];
const OTHER_PROFILE: [u8; 16] = [0xee; 16];

/// Where an envelope is opened, and with which keys.
#[derive(Clone)]
struct Case {
    op: &'static str, // "open" (records) or "unwrap" (key wraps)
    key_id: u32,
    data_key: [u8; 32],
    cascade_key: [u8; 32],
    profile: [u8; 16],
    kind: Kind,
    collection: String,
    record_id: String,
    classification: Classification,
}

impl Case {
    fn record(collection: &str, record_id: &str, classification: Classification) -> Case {
        Case {
            op: "open",
            key_id: 1,
            data_key: seq(0x00),
            cascade_key: seq(0x20),
            profile: PROFILE,
            kind: Kind::Record,
            collection: collection.into(),
            record_id: record_id.into(),
            classification,
        }
    }

    fn key_wrap(key_id: u32, label: &str) -> Case {
        Case {
            op: "unwrap",
            kind: Kind::KeyWrap,
            key_id,
            data_key: seq(0x40),
            ..Case::record("keys", label, Classification::TopSecret)
        }
    }

    fn keys(&self) -> CollectionKeys {
        CollectionKeys::new(
            self.key_id,
            &Key32::from_bytes(self.data_key),
            &Key32::from_bytes(self.cascade_key),
        )
    }

    fn json(&self, description: &str, envelope: &[u8], expect: &str) -> Value {
        let mut v = json!({
            "description": description,
            "op": self.op,
            "key_id": self.key_id,
            "data_key": hex::encode(self.data_key),
            "profile": hex::encode(self.profile),
            "kind": self.kind as u8,
            "collection": self.collection,
            "record_id": self.record_id,
            "classification": self.classification.name(),
            "envelope": hex::encode(envelope),
            "expect": expect,
        });
        if self.op == "open" {
            v["cascade_key"] = json!(hex::encode(self.cascade_key));
        }
        v
    }
}

fn seal(
    keys: &CollectionKeys,
    profile: &[u8; 16],
    case: &Case,
    alg: Alg,
    nonce: [u8; 12],
    xnonce: [u8; 24],
    plaintext: &[u8],
) -> Vec<u8> {
    let profile = ProfileId(*profile);
    let aad = Aad {
        profile: &profile,
        kind: case.kind,
        collection: &case.collection,
        record_id: &case.record_id,
        classification: case.classification,
    };
    envelope::seal_with_nonces(keys, &aad, plaintext, alg, nonce, xnonce).expect("seal")
}

/// Adds the fields an "ok" vector needs to be re-sealed byte for byte.
fn with_seal_inputs(
    mut v: Value,
    alg: Alg,
    nonce: [u8; 12],
    xnonce: [u8; 24],
    plaintext: &[u8],
) -> Value {
    v["alg"] = json!(alg as u8);
    v["nonce"] = json!(hex::encode(nonce));
    if alg == Alg::Cascade {
        v["xnonce"] = json!(hex::encode(xnonce));
    }
    v["plaintext"] = json!(hex::encode(plaintext));
    v
}

struct Vectors(Vec<Value>);

impl Vectors {
    /// Seals `plaintext` for `case` and records an "ok" vector; returns the envelope.
    fn ok(&mut self, description: &str, case: &Case, alg: Alg, plaintext: &[u8]) -> Vec<u8> {
        let (nonce, xnonce) = (seq(0xa0), seq(0xb0));
        let env = seal(
            &case.keys(),
            &case.profile,
            case,
            alg,
            nonce,
            xnonce,
            plaintext,
        );
        let v = case.json(description, &env, "ok");
        self.0
            .push(with_seal_inputs(v, alg, nonce, xnonce, plaintext));
        env
    }

    fn fail(&mut self, description: &str, case: &Case, envelope: &[u8], expect: &str) {
        self.0.push(case.json(description, envelope, expect));
    }
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x01;
    b
}

fn set(bytes: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] = value;
    b
}

fn envelopes() -> Value {
    use Classification::*;
    let mut v = Vectors(Vec::new());
    let long: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();

    // Good envelopes.
    let public = Case::record("notes", "r1", Public);
    v.ok(
        "PUBLIC, alg 1, empty plaintext",
        &public,
        Alg::Aes256Gcm,
        b"",
    );
    let internal = Case::record("transactions", "01J9Z3K7QX", Internal);
    let env_internal = v.ok(
        "INTERNAL, alg 1",
        &internal,
        Alg::Aes256Gcm,
        b"hello, pvault",
    );
    let internal_long = Case::record("transactions", "r-1000", Internal);
    let env_internal_long = v.ok(
        "INTERNAL, alg 1, 1000-byte plaintext",
        &internal_long,
        Alg::Aes256Gcm,
        &long,
    );
    let confidential = Case::record("research", "r-42", Confidential);
    let env_conf = v.ok(
        "CONFIDENTIAL, alg 2 (cascade), 1000-byte plaintext",
        &confidential,
        Alg::Cascade,
        &long,
    );
    let secret = Case::record("medical", "visit-2024-03", Secret);
    let env_secret = v.ok("SECRET, alg 2, empty plaintext", &secret, Alg::Cascade, b"");
    let top = Case {
        key_id: 0xdead_beef,
        ..Case::record("journal/2024", "entr\u{e9}e-\u{1f510}", TopSecret)
    };
    v.ok(
        "TOP_SECRET, alg 2, big-endian key id 0xdeadbeef, UTF-8 collection and record id",
        &top,
        Alg::Cascade,
        "the plaintext of a top secret record".as_bytes(),
    );
    let record_id = Case {
        kind: Kind::RecordId,
        ..Case::record("contacts", "c1", Internal)
    };
    v.ok(
        "kind 2 (record id), INTERNAL, alg 1",
        &record_id,
        Alg::Aes256Gcm,
        b"c1",
    );
    let record_id_conf = Case {
        kind: Kind::RecordId,
        ..Case::record("contacts", "c2", Confidential)
    };
    v.ok(
        "kind 2 (record id), CONFIDENTIAL, alg 2",
        &record_id_conf,
        Alg::Cascade,
        b"c2",
    );
    v.ok(
        "PUBLIC sealed with alg 2: a reader accepts a stronger algorithm than the level requires",
        &Case::record("notes", "r2", Public),
        Alg::Cascade,
        b"over-protected",
    );
    v.ok(
        "empty collection name and record id",
        &Case::record("", "", Internal),
        Alg::Aes256Gcm,
        b"x",
    );

    // Key wraps: alg 1 under a KEK, opened with envelope::unwrap.
    let sk_wrap = Case::key_wrap(0, "secret-key");
    let env_sk = v.ok(
        "key wrap: Secret Key (16 bytes), key id 0",
        &sk_wrap,
        Alg::Aes256Gcm,
        &seq::<16>(0x60),
    );
    v.ok(
        "key wrap: root key of epoch 3",
        &Case::key_wrap(3, "root/3"),
        Alg::Aes256Gcm,
        &seq::<32>(0x80),
    );
    v.ok(
        "key wrap: naming key, under epoch 1's wrap key",
        &Case::key_wrap(1, "naming"),
        Alg::Aes256Gcm,
        &seq::<32>(0x90),
    );
    v.ok(
        "key wrap: identity (Ed25519 seed || X25519 secret)",
        &Case::key_wrap(1, "identity"),
        Alg::Aes256Gcm,
        &seq::<64>(0xc0),
    );

    // Tampering.
    let n = env_internal.len();
    v.fail(
        "alg 1: ciphertext bit flipped",
        &internal,
        &flip(&env_internal, 20),
        "DecryptionFailed",
    );
    v.fail(
        "alg 1: tag bit flipped",
        &internal,
        &flip(&env_internal, n - 1),
        "DecryptionFailed",
    );
    v.fail(
        "alg 1: nonce bit flipped",
        &internal,
        &flip(&env_internal, 6),
        "DecryptionFailed",
    );
    v.fail(
        "alg 1: key id changed (the reader holds keys for id 1)",
        &internal,
        &set(&env_internal, 5, 2),
        "DecryptionFailed",
    );
    v.fail(
        "alg 1: byte appended",
        &internal,
        &[&env_internal[..], &[0]].concat(),
        "DecryptionFailed",
    );
    v.fail(
        "alg 2: inner (XChaCha20) nonce bit flipped",
        &confidential,
        &flip(&env_conf, 30),
        "DecryptionFailed",
    );
    v.fail(
        "alg 2: outer ciphertext bit flipped (over the inner tag)",
        &confidential,
        &flip(&env_conf, env_conf.len() - 17),
        "DecryptionFailed",
    );
    v.fail(
        "alg 2: outer tag bit flipped",
        &confidential,
        &flip(&env_conf, env_conf.len() - 1),
        "DecryptionFailed",
    );
    v.fail(
        "alg 1 envelope relabelled alg 2 (the header is authenticated)",
        &internal_long,
        &set(&env_internal_long, 1, 2),
        "DecryptionFailed",
    );

    // Header and length errors.
    v.fail(
        "version 2 (newer than this reader)",
        &internal,
        &set(&env_internal, 0, 2),
        "UnsupportedEnvelopeVersion(2)",
    );
    v.fail(
        "version 0",
        &internal,
        &set(&env_internal, 0, 0),
        "MalformedEnvelope",
    );
    v.fail(
        "unknown alg 3",
        &internal,
        &set(&env_internal, 1, 3),
        "UnknownAlgorithm(3)",
    );
    v.fail(
        "unknown alg 0",
        &internal,
        &set(&env_internal, 1, 0),
        "UnknownAlgorithm(0)",
    );
    v.fail("empty input", &internal, b"", "MalformedEnvelope");
    v.fail(
        "truncated inside the header",
        &internal,
        &env_internal[..5],
        "MalformedEnvelope",
    );
    v.fail(
        "alg 1 truncated below header + nonce + tag (33 bytes)",
        &internal,
        &env_internal[..33],
        "MalformedEnvelope",
    );
    v.fail(
        "alg 1 truncated by one byte",
        &internal,
        &env_internal[..n - 1],
        "DecryptionFailed",
    );
    v.fail(
        "alg 2 truncated below header + nonces + two tags (73 bytes)",
        &confidential,
        &env_conf[..73],
        "MalformedEnvelope",
    );
    v.fail(
        "alg 1 envelope relabelled alg 2 but too short for the cascade",
        &internal,
        &set(&env_internal, 1, 2),
        "MalformedEnvelope",
    );

    // Moved: the same bytes opened somewhere else.
    let moved = |c: &Case| c.clone();
    let mut m = moved(&internal);
    m.profile = OTHER_PROFILE;
    v.fail(
        "moved to another profile",
        &m,
        &env_internal,
        "DecryptionFailed",
    );
    let mut m = moved(&internal);
    m.collection = "blocks".into();
    v.fail(
        "moved to another collection",
        &m,
        &env_internal,
        "DecryptionFailed",
    );
    let mut m = moved(&internal);
    m.record_id = "01J9Z3K7QY".into();
    v.fail(
        "moved to another record id",
        &m,
        &env_internal,
        "DecryptionFailed",
    );
    let mut m = moved(&internal);
    m.kind = Kind::RecordId;
    v.fail(
        "record body opened as a record id (kind 1 -> 2)",
        &m,
        &env_internal,
        "DecryptionFailed",
    );
    let mut m = moved(&internal);
    m.classification = Public;
    v.fail(
        "classification changed INTERNAL -> PUBLIC",
        &m,
        &env_internal,
        "DecryptionFailed",
    );
    let mut m = moved(&confidential);
    m.classification = Secret;
    v.fail(
        "classification changed CONFIDENTIAL -> SECRET (both alg 2)",
        &m,
        &env_conf,
        "DecryptionFailed",
    );
    let mut m = moved(&confidential);
    m.profile = OTHER_PROFILE;
    v.fail(
        "alg 2 moved to another profile",
        &m,
        &env_conf,
        "DecryptionFailed",
    );

    // Classification downgrade.
    let mut m = moved(&internal);
    m.classification = Secret;
    v.fail(
        "alg 1 envelope (sealed as INTERNAL) opened as SECRET",
        &m,
        &env_internal,
        "AlgorithmTooWeak",
    );
    let weak = seal(
        &secret.keys(),
        &PROFILE,
        &secret,
        Alg::Aes256Gcm,
        seq(0xa0),
        seq(0xb0),
        b"downgraded",
    );
    v.fail(
        "alg 1 envelope sealed with SECRET associated data is refused before decryption",
        &secret,
        &weak,
        "AlgorithmTooWeak",
    );
    v.fail(
        "alg 2 envelope rewritten to alg 1 and opened as SECRET",
        &secret,
        &set(&env_secret, 1, 1),
        "AlgorithmTooWeak",
    );

    // Wrong keys.
    let mut m = moved(&internal);
    m.data_key = seq(0x01);
    v.fail(
        "alg 1: wrong data key",
        &m,
        &env_internal,
        "DecryptionFailed",
    );
    let mut m = moved(&internal);
    m.cascade_key = seq(0x21);
    v.fail("alg 1 ignores the cascade key", &m, &env_internal, "ok");
    let last = v.0.len() - 1;
    v.0[last] = with_seal_inputs(
        v.0[last].take(),
        Alg::Aes256Gcm,
        seq(0xa0),
        seq(0xb0),
        b"hello, pvault",
    );
    let mut m = moved(&confidential);
    m.cascade_key = seq(0x21);
    v.fail(
        "alg 2: right data key, wrong cascade key (the inner layer fails)",
        &m,
        &env_conf,
        "DecryptionFailed",
    );
    let mut m = moved(&confidential);
    m.data_key = seq(0x01);
    v.fail("alg 2: wrong data key", &m, &env_conf, "DecryptionFailed");
    let mut m = moved(&internal);
    m.key_id = 2;
    v.fail(
        "keys of epoch 2 for an envelope of epoch 1",
        &m,
        &env_internal,
        "DecryptionFailed",
    );

    // Key wraps.
    let mut m = moved(&sk_wrap);
    m.record_id = "naming".into();
    v.fail(
        "key wrap opened under another label",
        &m,
        &env_sk,
        "DecryptionFailed",
    );
    let mut m = moved(&sk_wrap);
    m.kind = Kind::Record;
    v.fail("key wrap opened as kind 1", &m, &env_sk, "DecryptionFailed");
    let cascade_wrap = seal(
        &sk_wrap.keys(),
        &PROFILE,
        &sk_wrap,
        Alg::Cascade,
        seq(0xa0),
        seq(0xb0),
        &seq::<16>(0x60),
    );
    v.fail(
        "key wraps must be alg 1",
        &sk_wrap,
        &cascade_wrap,
        "MalformedEnvelope",
    );

    json!({
        "description": "Record envelopes and key wraps (docs/format.md, 'Envelope'). 'open' vectors \
            are opened with envelope::open and CollectionKeys(key_id, data_key, cascade_key); 'unwrap' \
            vectors with envelope::unwrap and AES-256-GCM key data_key. The associated data is built \
            from profile, kind, collection, record_id and classification. 'ok' vectors also give alg, \
            nonce(s) and plaintext: sealing them again must give the envelope byte for byte.",
        "vectors": v.0,
    })
}

fn derivation() -> Value {
    use Classification::*;
    let root_bytes: [u8; 32] = seq(0x10);
    let root = RootKey::from_key(1, Key32::from_bytes(root_bytes));
    let root2_bytes: [u8; 32] = seq(0x30);
    let root2 = RootKey::from_key(2, Key32::from_bytes(root2_bytes));

    let mut purpose_keys = Vec::new();
    for (name, purpose) in [
        ("wrap", Purpose::Wrap),
        ("blind-index", Purpose::BlindIndex),
        ("sync", Purpose::Sync),
        ("backup", Purpose::Backup),
        ("audit", Purpose::Audit),
    ] {
        for (root_bytes, root, profile) in [
            (root_bytes, &root, PROFILE),
            (root2_bytes, &root2, OTHER_PROFILE),
        ] {
            let key = root.derive(&ProfileId(profile), purpose);
            purpose_keys.push(json!({
                "description": format!("purpose key pvault/v1/{name}"),
                "root_key": hex::encode(root_bytes),
                "profile": hex::encode(profile),
                "purpose": name,
                "key": hex::encode(key.expose()),
                "expect": "ok",
            }));
        }
    }

    let mut envs = Vec::new();
    let long: Vec<u8> = (0..1000u32).map(|i| (i * 13 + 1) as u8).collect();
    let in_profile = |profile, coll, rid, class| Case {
        profile,
        ..Case::record(coll, rid, class)
    };
    let cases = [
        (
            &root,
            in_profile(PROFILE, "notes", "n1", Internal),
            b"a note".as_slice(),
        ),
        (
            &root,
            in_profile(PROFILE, "research", "r1", Confidential),
            &long,
        ),
        (&root, in_profile(PROFILE, "medical", "m1", TopSecret), b""),
        (
            &root2,
            in_profile(PROFILE, "notes", "n1", Public),
            b"a note",
        ),
        (
            &root2,
            in_profile(OTHER_PROFILE, "notes", "n1", Secret),
            b"x",
        ),
    ];
    for (root, mut case, pt) in cases {
        case.key_id = root.id();
        let (profile, coll, rid, class) = (
            case.profile,
            &case.collection,
            &case.record_id,
            case.classification,
        );
        let keys = root.collection_keys(&ProfileId(profile), coll);
        let alg = Alg::for_classification(class);
        let (nonce, xnonce) = (seq(0xa0), seq(0xb0));
        let env = seal(&keys, &profile, &case, alg, nonce, xnonce, pt);
        envs.push(with_seal_inputs(
            json!({
                "description": format!(
                    "collection keys of '{coll}' in epoch {}, {class}",
                    root.id()
                ),
                "key_id": root.id(),
                "root_key": hex::encode(root.expose()),
                "profile": hex::encode(profile),
                "kind": 1,
                "collection": coll,
                "record_id": rid,
                "classification": class.name(),
                "envelope": hex::encode(&env),
                "expect": "ok",
            }),
            alg,
            nonce,
            xnonce,
            pt,
        ));
    }
    // The first envelope, opened with keys derived for another collection, profile or root.
    let first = envs[0].clone();
    for (desc, field, value) in [
        (
            "keys derived for another collection",
            "derive_collection",
            json!("blocks"),
        ),
        (
            "keys derived for another profile",
            "derive_profile",
            json!(hex::encode(OTHER_PROFILE)),
        ),
        (
            "keys derived from another root key",
            "root_key",
            json!(hex::encode(root2_bytes)),
        ),
    ] {
        let mut v = json!({});
        for k in [
            "key_id",
            "root_key",
            "profile",
            "kind",
            "collection",
            "record_id",
            "classification",
            "envelope",
        ] {
            v[k] = first[k].clone();
        }
        v["description"] = json!(format!("{desc} do not open it"));
        v[field] = value;
        v["expect"] = json!("DecryptionFailed");
        envs.push(v);
    }

    let mut password_keys = Vec::new();
    let sk: [u8; 16] = seq(0x50);
    for (password, salt, params) in [
        (
            "correct horse battery staple",
            seq::<16>(0x00),
            KdfParams {
                m_kib: 64,
                t: 1,
                p: 1,
            },
        ),
        (
            "p\u{e4}ssw\u{f6}rd",
            seq::<16>(0x80),
            KdfParams {
                m_kib: 256,
                t: 2,
                p: 2,
            },
        ),
        (
            "",
            [0u8; 16],
            KdfParams {
                m_kib: 8,
                t: 1,
                p: 1,
            },
        ),
    ] {
        let pk = PasswordKey::derive(password.as_bytes(), &salt, params).expect("kdf");
        let wrap = pk.secret_key_wrap_key(&salt);
        let kek = pk.kek(&SecretKey::from_bytes(&sk).unwrap(), &salt);
        password_keys.push(json!({
            "description": format!("Argon2id m={} t={} p={}, then HKDF", params.m_kib, params.t, params.p),
            "password": password,
            "salt": hex::encode(salt),
            "m_kib": params.m_kib, "t": params.t, "p": params.p,
            "secret_key": hex::encode(sk),
            "secret_key_wrap_key": hex::encode(wrap.expose()),
            "kek": hex::encode(kek.expose()),
            "expect": "ok",
        }));
    }
    for (desc, m_kib, t, p) in [
        ("t = 0", 64, 0, 1),
        ("t above 64", 64, 65, 1),
        ("p = 0", 64, 1, 0),
        ("p above 64", 1024, 1, 65),
        ("m below 8 KiB per lane", 31, 1, 4),
        ("m above 4 GiB", 4 * 1024 * 1024 + 1, 1, 1),
        ("m = u32::MAX", u32::MAX, 1, 1),
    ] {
        password_keys.push(json!({
            "description": format!("hostile parameters refused before any work: {desc}"),
            "password": "pw",
            "salt": hex::encode([0u8; 16]),
            "m_kib": m_kib, "t": t, "p": p,
            "secret_key": hex::encode(sk),
            "expect": "InvalidKdfParams",
        }));
    }

    let mut tokens = Vec::new();
    let key: [u8; 32] = seq(0x70);
    let parts_list: [&[&[u8]]; 4] = [&[], &[b""], &[b"ab", b"c"], &[b"a", b"bc"]];
    for parts in parts_list {
        let t = pvault_crypto::IndexKey::new(&Key32::from_bytes(key)).token(parts);
        tokens.push(json!({
            "description": "HMAC-SHA256 over length-prefixed parts, first 16 bytes",
            "key": hex::encode(key),
            "parts": parts.iter().map(hex::encode).collect::<Vec<_>>(),
            "token": hex::encode(t),
            "expect": "ok",
        }));
    }

    json!({
        "description": "Key derivation (docs/format.md, 'Key hierarchy'). purpose_keys: \
            RootKey::derive. collection_envelopes: envelopes sealed with RootKey::collection_keys \
            (derive_collection / derive_profile, when present, replace the collection or profile used \
            for the derivation only, not for the associated data). password_keys: PasswordKey \
            secret_key_wrap_key and kek. index_tokens: IndexKey::token.",
        "purpose_keys": purpose_keys,
        "collection_envelopes": envs,
        "password_keys": password_keys,
        "index_tokens": tokens,
    })
}

fn secret_keys() -> Value {
    let mut display = Vec::new();
    let samples: [[u8; 16]; 4] = [[0; 16], [0xff; 16], seq(0x00), seq(0x50)];
    for bytes in samples {
        let sk = SecretKey::from_bytes(&bytes).unwrap();
        display.push(json!({
            "description": "display form of fixed bytes",
            "bytes": hex::encode(bytes),
            "display": sk.to_display_string().as_str(),
            "expect": "ok",
        }));
    }
    display.push(json!({
        "description": "a Secret Key is exactly 16 bytes",
        "bytes": hex::encode([1u8; 15]),
        "expect": "InvalidSecretKey",
    }));

    let good = SecretKey::from_bytes(&seq::<16>(0x50)).unwrap();
    let shown = good.to_display_string().to_string();
    let bytes = hex::encode(seq::<16>(0x50));
    let mut parse = vec![
        json!({"description": "as displayed", "input": shown, "expect": "ok", "bytes": bytes}),
        json!({"description": "lower case", "input": shown.to_lowercase(), "expect": "ok", "bytes": bytes}),
        json!({"description": "spaces instead of dashes", "input": shown.replace('-', " "), "expect": "ok", "bytes": bytes}),
        json!({"description": "no separators", "input": shown.replace('-', ""), "expect": "ok", "bytes": bytes}),
        json!({"description": "surrounding whitespace", "input": format!("  {shown}\n"), "expect": "ok", "bytes": bytes}),
    ];
    // Crockford misreadings in the data part: O for 0, I and L for 1.
    let zeros = SecretKey::from_bytes(&[0; 16])
        .unwrap()
        .to_display_string()
        .to_string();
    let aliased: String = zeros
        .char_indices()
        .map(|(i, c)| {
            if (4..11).contains(&i) && c == '0' {
                'o'
            } else {
                c
            }
        })
        .collect();
    parse.push(json!({
        "description": "O read as 0 in the data characters",
        "input": aliased, "expect": "ok", "bytes": hex::encode([0u8; 16]),
    }));
    let mut typo: Vec<char> = shown.chars().collect();
    typo[5] = if typo[5] == 'A' { 'B' } else { 'A' };
    let mut bad_check: Vec<char> = shown.chars().collect();
    let last = bad_check.len() - 1;
    bad_check[last] = if bad_check[last] == 'Z' { 'Y' } else { 'Z' };
    let mut bad_char: Vec<char> = shown.chars().collect();
    bad_char[5] = 'U';
    // 26 data characters carry 130 bits: the last 2 must be zero.
    let ones = SecretKey::from_bytes(&[0xff; 16])
        .unwrap()
        .to_display_string()
        .to_string();
    let mut padding: Vec<char> = ones.chars().collect();
    padding[4 + 3 * 8 + 4] = 'Z'; // the 26th data character ("W" = 11100 -> "Z" = 11111)
    for (desc, input) in [
        (
            "a data character changed (checksum mismatch)",
            typo.into_iter().collect::<String>(),
        ),
        ("a check character changed", bad_check.into_iter().collect()),
        ("U is not in the alphabet", bad_char.into_iter().collect()),
        ("non-zero padding bits", padding.into_iter().collect()),
        ("wrong prefix", shown.replacen("PV1", "PV2", 1)),
        ("missing prefix", shown[4..].to_string()),
        ("one character short", shown[..shown.len() - 1].to_string()),
        ("one character long", format!("{shown}0")),
        ("empty", String::new()),
    ] {
        parse.push(json!({"description": desc, "input": input, "expect": "InvalidSecretKey"}));
    }
    json!({
        "description": "Secret Keys (docs/format.md, 'Secret Key'). display: SecretKey::from_bytes then \
            to_display_string; parse: SecretKey::parse.",
        "display": display,
        "parse": parse,
    })
}

fn keyfile() -> Value {
    let profile = ProfileId(PROFILE);
    let fast = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    let message = b"pvault test vector";

    // A file that stores the Secret Key, with two epochs (current 2).
    let stored_pw = "correct horse battery staple";
    let (file, keys) = KeyFile::create(profile, stored_pw.as_bytes(), fast, true).unwrap();
    let (stored, keys) = file.add_epoch(&keys).unwrap();
    let expect_stored = expectations(&keys, message);

    // A file whose Secret Key must be typed.
    let typed_pw = "p\u{e4}ssw\u{f6}rd";
    let (typed, tkeys) = KeyFile::create(profile, typed_pw.as_bytes(), fast, false).unwrap();
    let expect_typed = expectations(&tkeys, message);
    let typed_sk = tkeys.secret_key().to_display_string().to_string();
    let other_sk = SecretKey::from_bytes(&[0x42; 16]).unwrap();

    let tampered = |s: &str| {
        let mut b = B64.decode(s).unwrap();
        b[20] ^= 1;
        B64.encode(b)
    };
    let ok = |desc: &str, file: &str, pw: &str, sk: Option<&str>| json!({"description": desc, "file": file, "password": pw, "secret_key": sk, "expect": "ok"});
    let fail =
        |desc: &str, file: &str, pw: &str, sk: Option<&str>, set: Value, at: &str, e: &str| {
            json!({"description": desc, "file": file, "password": pw, "secret_key": sk, "set": set,
               "fails_at": at, "expect": e})
        };
    let vectors = vec![
        ok(
            "unlock with the password; the Secret Key is stored",
            "stored",
            stored_pw,
            None,
        ),
        ok(
            "unlock with the password and the typed Secret Key",
            "typed",
            typed_pw,
            Some(&typed_sk),
        ),
        fail(
            "wrong password",
            "stored",
            "correct horse battery stapler",
            None,
            json!({}),
            "unlock",
            "WrongPassword",
        ),
        fail(
            "typed Secret Key missing",
            "typed",
            typed_pw,
            None,
            json!({}),
            "unlock",
            "SecretKeyRequired",
        ),
        fail(
            "wrong typed Secret Key",
            "typed",
            typed_pw,
            Some(&other_sk.to_display_string()),
            json!({}),
            "unlock",
            "WrongPasswordOrSecretKey",
        ),
        fail(
            "wrong password with the typed Secret Key",
            "typed",
            "passw0rd",
            Some(&typed_sk),
            json!({}),
            "unlock",
            "WrongPasswordOrSecretKey",
        ),
        fail(
            "version 2, with fields this reader does not know",
            "stored",
            stored_pw,
            None,
            json!({"/version": 2, "/wrapped_everything": "?"}),
            "decode",
            "UnsupportedKeyFileVersion(2)",
        ),
        fail(
            "version 0",
            "stored",
            stored_pw,
            None,
            json!({"/version": 0}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "version as a string",
            "stored",
            stored_pw,
            None,
            json!({"/version": "1"}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "another format",
            "stored",
            stored_pw,
            None,
            json!({"/format": "age-keyfile"}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "unknown field",
            "stored",
            stored_pw,
            None,
            json!({"/comment": "hi"}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "hostile KDF memory (4 GB)",
            "stored",
            stored_pw,
            None,
            json!({"/kdf/m_kib": 4_000_000_000u32}),
            "decode",
            "InvalidKdfParams",
        ),
        fail(
            "hostile KDF passes",
            "stored",
            stored_pw,
            None,
            json!({"/kdf/t": 1_000_000}),
            "decode",
            "InvalidKdfParams",
        ),
        fail(
            "zero KDF lanes",
            "stored",
            stored_pw,
            None,
            json!({"/kdf/p": 0}),
            "decode",
            "InvalidKdfParams",
        ),
        fail(
            "unknown KDF",
            "stored",
            stored_pw,
            None,
            json!({"/kdf/alg": "scrypt"}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "salt of 15 bytes",
            "stored",
            stored_pw,
            None,
            json!({"/kdf/salt": B64.encode([0u8; 15])}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "current_key_id names no epoch",
            "stored",
            stored_pw,
            None,
            json!({"/current_key_id": 3}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "profile id not hex",
            "stored",
            stored_pw,
            None,
            json!({"/profile_id": "not-a-profile"}),
            "decode",
            "InvalidKeyFile",
        ),
        fail(
            "another profile id: every wrap is bound to the profile",
            "stored",
            stored_pw,
            None,
            json!({"/profile_id": hex::encode(OTHER_PROFILE)}),
            "unlock",
            "WrongPassword",
        ),
        fail(
            "tampered root key wrap",
            "stored",
            stored_pw,
            None,
            json!({"/epochs/0/wrapped_root": tampered(&stored.epochs[0].wrapped_root)}),
            "unlock",
            "InvalidKeyFile",
        ),
        fail(
            "root key wraps of epochs 1 and 2 swapped",
            "stored",
            stored_pw,
            None,
            json!({"/epochs/0/wrapped_root": stored.epochs[1].wrapped_root,
                    "/epochs/1/wrapped_root": stored.epochs[0].wrapped_root}),
            "unlock",
            "InvalidKeyFile",
        ),
        fail(
            "tampered naming key wrap",
            "stored",
            stored_pw,
            None,
            json!({"/naming_key": tampered(&stored.naming_key)}),
            "unlock",
            "InvalidKeyFile",
        ),
        fail(
            "tampered identity wrap",
            "stored",
            stored_pw,
            None,
            json!({"/identity/wrapped_secret": tampered(&stored.identity.wrapped_secret)}),
            "unlock",
            "InvalidKeyFile",
        ),
        fail(
            "public identity replaced",
            "stored",
            stored_pw,
            None,
            json!({"/identity/ed25519_public": B64.encode([9u8; 32])}),
            "unlock",
            "InvalidKeyFile",
        ),
        fail(
            "current epoch moved back to 1 (naming and identity are wrapped under epoch 2)",
            "stored",
            stored_pw,
            None,
            json!({"/current_key_id": 1}),
            "unlock",
            "InvalidKeyFile",
        ),
    ];

    let value = |f: &KeyFile| serde_json::from_slice::<Value>(&f.encode()).unwrap();
    json!({
        "description": "Key files (docs/format.md, 'Key file'), made once with random salts and nonces \
            and KDF cost m=64 KiB t=1 p=1. Each vector takes files[file], applies 'set' (JSON pointer -> \
            new value), decodes it with KeyFile::decode, and unlocks it with the password (UTF-8) and the \
            typed Secret Key when given. 'ok' vectors must unlock to expected[file]; the others must fail \
            at 'fails_at' with 'expect'. expected: root keys by epoch, the Secret Key, the public identity, \
            the naming key's token over the single part 'message', and the Ed25519 signature of 'message'.",
        "message": String::from_utf8_lossy(message),
        "files": {"stored": value(&stored), "typed": value(&typed)},
        "expected": {"stored": expect_stored, "typed": expect_typed},
        "vectors": vectors,
    })
}

fn expectations(keys: &pvault_crypto::UnlockedKeys, message: &[u8]) -> Value {
    let roots: serde_json::Map<String, Value> = keys
        .key_ids()
        .into_iter()
        .map(|id| {
            let r = keys.root(id).unwrap();
            (id.to_string(), json!(hex::encode(r.expose())))
        })
        .collect();
    let public = keys.identity().public();
    json!({
        "profile_id": keys.profile_id().to_hex(),
        "current_key_id": keys.current().id(),
        "root_keys": roots,
        "secret_key": keys.secret_key().to_display_string().as_str(),
        "ed25519_public": hex::encode(public.ed25519),
        "x25519_public": hex::encode(public.x25519),
        "naming_token": hex::encode(keys.naming_key().token(&[message])),
        "signature": hex::encode(keys.identity().sign(message)),
    })
}

fn write(dir: &std::path::Path, name: &str, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::write(dir.join(name), text).unwrap();
    println!("wrote {}", dir.join(name).display());
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "envelopes.json", &envelopes());
    write(&dir, "derivation.json", &derivation());
    write(&dir, "secret_keys.json", &secret_keys());
    let new_keyfile = std::env::args().any(|a| a == "--keyfile");
    if new_keyfile || !dir.join("keyfile_v1.json").exists() {
        write(&dir, "keyfile_v1.json", &keyfile());
    } else {
        println!("kept keyfile_v1.json (pass --keyfile to make a new one)");
    }
}
