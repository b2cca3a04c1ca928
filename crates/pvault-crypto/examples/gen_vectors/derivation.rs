//! `derivation.json`: purpose keys, envelopes under derived collection keys, password keys and
//! index tokens.

use pvault_crypto::Classification::*;
use pvault_crypto::envelope::Alg;
use pvault_crypto::{KdfParams, Key32, PasswordKey, ProfileId, Purpose, RootKey, SecretKey};
use serde_json::{Value, json};

use crate::common::{Case, OTHER_PROFILE, PROFILE, pattern, seal, seq, with_seal_inputs};

/// The root keys of epochs 1 and 2.
fn root_bytes(epoch: u32) -> [u8; 32] {
    match epoch {
        1 => seq(0x10),
        _ => seq(0x30),
    }
}

fn root(epoch: u32) -> RootKey {
    RootKey::from_key(epoch, Key32::from_bytes(root_bytes(epoch)))
}

pub fn derivation() -> Value {
    json!({
        "description": "Key derivation (docs/format.md, 'Key hierarchy'). purpose_keys: \
            RootKey::derive. collection_envelopes: envelopes sealed with RootKey::collection_keys \
            (derive_collection / derive_profile, when present, replace the collection or profile used \
            for the derivation only, not for the associated data). password_keys: PasswordKey \
            secret_key_wrap_key and kek. index_tokens: IndexKey::token.",
        "purpose_keys": purpose_keys(),
        "collection_envelopes": collection_envelopes(),
        "password_keys": password_keys(),
        "index_tokens": index_tokens(),
    })
}

/// Every purpose key, from epoch 1's root in one profile and epoch 2's in another.
fn purpose_keys() -> Vec<Value> {
    let mut out = Vec::new();
    for (name, purpose) in [
        ("wrap", Purpose::Wrap),
        ("blind-index", Purpose::BlindIndex),
        ("sync", Purpose::Sync),
        ("backup", Purpose::Backup),
        ("audit", Purpose::Audit),
    ] {
        for (epoch, profile) in [(1, PROFILE), (2, OTHER_PROFILE)] {
            let key = root(epoch).derive(&ProfileId(profile), purpose);
            out.push(json!({
                "description": format!("purpose key pvault/v1/{name}"),
                "root_key": hex::encode(root_bytes(epoch)),
                "profile": hex::encode(profile),
                "purpose": name,
                "key": hex::encode(key.expose()),
                "expect": "ok",
            }));
        }
    }
    out
}

/// Envelopes sealed with collection keys derived from a root key, then the first of them opened
/// with keys derived for somewhere else.
fn collection_envelopes() -> Vec<Value> {
    let long = pattern(1000, 13, 1);
    let in_profile = |profile, collection, record_id, class| Case {
        profile,
        ..Case::record(collection, record_id, class)
    };
    let cases = [
        (
            1,
            in_profile(PROFILE, "notes", "n1", Internal),
            b"a note".as_slice(),
        ),
        (
            1,
            in_profile(PROFILE, "research", "r1", Confidential),
            &long,
        ),
        (1, in_profile(PROFILE, "medical", "m1", TopSecret), b""),
        (2, in_profile(PROFILE, "notes", "n1", Public), b"a note"),
        (2, in_profile(OTHER_PROFILE, "notes", "n1", Secret), b"x"),
    ];
    let mut envs: Vec<Value> = (cases.into_iter())
        .map(|(epoch, case, plaintext)| collection_envelope(&root(epoch), case, plaintext))
        .collect();
    let first = envs[0].clone();
    for (description, field, value) in [
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
            json!(hex::encode(root_bytes(2))),
        ),
    ] {
        envs.push(derived_elsewhere(&first, description, field, value));
    }
    envs
}

/// Seals `plaintext` for `case` with `root`'s collection keys, at the algorithm its level asks for.
fn collection_envelope(root: &RootKey, mut case: Case, plaintext: &[u8]) -> Value {
    case.key_id = root.id();
    let (collection, class) = (&case.collection, case.classification);
    let keys = root.collection_keys(&ProfileId(case.profile), collection);
    let alg = Alg::for_classification(class);
    let env = seal(&keys, &case, alg, plaintext);
    let v = json!({
        "description": format!("collection keys of '{collection}' in epoch {}, {class}", root.id()),
        "key_id": root.id(),
        "root_key": hex::encode(root.expose()),
        "profile": hex::encode(case.profile),
        "kind": 1,
        "collection": collection,
        "record_id": case.record_id,
        "classification": class.name(),
        "envelope": hex::encode(&env),
        "expect": "ok",
    });
    with_seal_inputs(v, alg, plaintext)
}

/// The vector `first` with its keys derived with `field` set to `value`: it must not open.
fn derived_elsewhere(first: &Value, description: &str, field: &str, value: Value) -> Value {
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
    v["description"] = json!(format!("{description} do not open it"));
    v[field] = value;
    v["expect"] = json!("DecryptionFailed");
    v
}

/// Password keys of good KDF parameters, then hostile parameters refused before any work.
fn password_keys() -> Vec<Value> {
    let sk: [u8; 16] = seq(0x50);
    let kdf = |m_kib, t, p| KdfParams { m_kib, t, p };
    let mut out = Vec::new();
    for (password, salt, params) in [
        (
            "correct horse battery staple",
            seq::<16>(0x00),
            kdf(64, 1, 1),
        ),
        ("p\u{e4}ssw\u{f6}rd", seq::<16>(0x80), kdf(256, 2, 2)),
        ("", [0u8; 16], kdf(8, 1, 1)),
    ] {
        let pk = PasswordKey::derive(password.as_bytes(), &salt, params).expect("kdf");
        let wrap = pk.secret_key_wrap_key(&salt);
        let kek = pk.kek(&SecretKey::from_bytes(&sk).unwrap(), &salt);
        out.push(json!({
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
    for (description, m_kib, t, p) in [
        ("t = 0", 64, 0, 1),
        ("t above 64", 64, 65, 1),
        ("p = 0", 64, 1, 0),
        ("p above 64", 1024, 1, 65),
        ("m below 8 KiB per lane", 31, 1, 4),
        ("m above 4 GiB", 4 * 1024 * 1024 + 1, 1, 1),
        ("m = u32::MAX", u32::MAX, 1, 1),
    ] {
        out.push(json!({
            "description": format!("hostile parameters refused before any work: {description}"),
            "password": "pw",
            "salt": hex::encode([0u8; 16]),
            "m_kib": m_kib, "t": t, "p": p,
            "secret_key": hex::encode(sk),
            "expect": "InvalidKdfParams",
        }));
    }
    out
}

/// Blind-index tokens of a fixed key over a few part lists that must not collide.
fn index_tokens() -> Vec<Value> {
    let key: [u8; 32] = seq(0x70);
    let parts_list: [&[&[u8]]; 4] = [&[], &[b""], &[b"ab", b"c"], &[b"a", b"bc"]];
    (parts_list.into_iter())
        .map(|parts| {
            let t = pvault_crypto::IndexKey::new(&Key32::from_bytes(key)).token(parts);
            json!({
                "description": "HMAC-SHA256 over length-prefixed parts, first 16 bytes",
                "key": hex::encode(key),
                "parts": parts.iter().map(hex::encode).collect::<Vec<_>>(),
                "token": hex::encode(t),
                "expect": "ok",
            })
        })
        .collect()
}
