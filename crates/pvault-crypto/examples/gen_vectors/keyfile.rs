//! `keyfile_v1.json`: two key files (random salts and nonces, so made once), what unlocking them
//! must give, and the edits and wrong credentials that must make them fail. The files carry their
//! checksum; vectors that `unset` it read them as a file written before checksums.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_crypto::{KdfParams, KeyFile, ProfileId, SecretKey, UnlockedKeys};
use serde_json::{Value, json};

use crate::common::{OTHER_PROFILE, PROFILE};

const MESSAGE: &[u8] = b"pvault test vector";
const STORED_PASSWORD: &str = "correct horse battery staple";
const TYPED_PASSWORD: &str = "p\u{e4}ssw\u{f6}rd";

/// The two key files and what unlocking them gives.
struct Files {
    /// Stores the Secret Key, with two epochs (current 2).
    stored: KeyFile,
    expect_stored: Value,
    /// Its Secret Key must be typed.
    typed: KeyFile,
    expect_typed: Value,
    typed_sk: String,
}

fn make_files() -> Files {
    let profile = ProfileId(PROFILE);
    let fast = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    let (file, keys) = KeyFile::create(profile, STORED_PASSWORD.as_bytes(), fast, true).unwrap();
    let (stored, keys) = file.add_epoch(&keys).unwrap();
    let expect_stored = expectations(&keys, MESSAGE);
    let (typed, tkeys) = KeyFile::create(profile, TYPED_PASSWORD.as_bytes(), fast, false).unwrap();
    Files {
        stored,
        expect_stored,
        typed,
        expect_typed: expectations(&tkeys, MESSAGE),
        typed_sk: tkeys.secret_key().to_display_string().to_string(),
    }
}

pub fn keyfile() -> Value {
    let f = make_files();
    let mut vectors = credentials(&f.typed_sk);
    vectors.extend(checksum_failures(&f.stored, &f.typed));
    vectors.extend(decode_failures());
    vectors.extend(unlock_failures(&f.stored));
    let value = |f: &KeyFile| serde_json::from_slice::<Value>(&f.encode()).unwrap();
    json!({
        "description": "Key files (docs/format.md, 'Key file'), made once with random salts and nonces \
            and KDF cost m=64 KiB t=1 p=1. Each vector takes files[file], applies 'set' (JSON pointer -> \
            new value), decodes it with KeyFile::decode, and unlocks it with the password (UTF-8) and the \
            typed Secret Key when given; 'unset' (JSON pointers) removes members first, so a vector \
            that unsets /checksum reads the file as one written before checksums. 'ok' vectors must \
            unlock to expected[file]; the others must fail at 'fails_at' with 'expect'. expected: root keys by epoch, the Secret Key, the public identity, \
            the naming key's token over the single part 'message', and the Ed25519 signature of 'message'.",
        "message": String::from_utf8_lossy(MESSAGE),
        "files": {"stored": value(&f.stored), "typed": value(&f.typed)},
        "expected": {"stored": f.expect_stored, "typed": f.expect_typed},
        "vectors": vectors,
    })
}

/// A vector that unlocks `file` with `password` and the typed Secret Key `sk`.
fn ok(description: &str, file: &str, password: &str, sk: Option<&str>) -> Value {
    json!({"description": description, "file": file, "password": password, "secret_key": sk,
        "expect": "ok"})
}

/// The same, with members removed first (`unset`) or changed (`set`).
fn ok_edited(
    description: &str,
    file: &str,
    password: &str,
    sk: Option<&str>,
    unset: &[&str],
    set: Value,
) -> Value {
    json!({"description": description, "file": file, "password": password, "secret_key": sk,
        "unset": unset, "set": set, "expect": "ok"})
}

/// What a vector that reads a file as one written before checksums removes.
const NO_CHECKSUM: &[&str] = &["/checksum"];

/// A vector that must fail at `fails_at` with `expect`.
struct Fail<'a> {
    file: &'a str,
    password: &'a str,
    sk: Option<&'a str>,
    fails_at: &'a str,
    /// Members removed before `set` is applied.
    unset: &'a [&'a str],
}

impl Fail<'_> {
    fn vector(&self, description: &str, set: Value, expect: &str) -> Value {
        json!({"description": description, "file": self.file, "password": self.password,
            "secret_key": self.sk, "unset": self.unset, "set": set, "fails_at": self.fails_at,
            "expect": expect})
    }

    /// One vector per `(description, set, expect)`.
    fn vectors<const N: usize>(&self, cases: [(&str, Value, &str); N]) -> Vec<Value> {
        (cases.into_iter())
            .map(|(description, set, expect)| self.vector(description, set, expect))
            .collect()
    }
}

/// The stored file, with its own password, edited as `set` says.
const STORED: Fail = Fail {
    file: "stored",
    password: STORED_PASSWORD,
    sk: None,
    fails_at: "decode",
    unset: &[],
};

/// The stored file without its checksum, as pvault 0.1 wrote it: each structural check is reached.
const STORED_V0: Fail = Fail {
    unset: NO_CHECKSUM,
    ..STORED
};

/// Unlocking with the right and the wrong password and Secret Key.
fn credentials(typed_sk: &str) -> Vec<Value> {
    let other_sk = SecretKey::from_bytes(&[0x42; 16]).unwrap();
    let other_sk = other_sk.to_display_string();
    let unlock = |file, password, sk| Fail {
        file,
        password,
        sk,
        fails_at: "unlock",
        unset: &[],
    };
    let typed = |password, sk| unlock("typed", password, sk);
    vec![
        ok(
            "unlock with the password; the Secret Key is stored",
            "stored",
            STORED_PASSWORD,
            None,
        ),
        ok(
            "unlock with the password and the typed Secret Key",
            "typed",
            TYPED_PASSWORD,
            Some(typed_sk),
        ),
        unlock("stored", "correct horse battery stapler", None).vector(
            "wrong password",
            json!({}),
            "WrongPassword",
        ),
        typed(TYPED_PASSWORD, None).vector(
            "typed Secret Key missing",
            json!({}),
            "SecretKeyRequired",
        ),
        typed(TYPED_PASSWORD, Some(other_sk.as_str())).vector(
            "wrong typed Secret Key",
            json!({}),
            "WrongPasswordOrSecretKey",
        ),
        typed("passw0rd", Some(typed_sk)).vector(
            "wrong password with the typed Secret Key",
            json!({}),
            "WrongPasswordOrSecretKey",
        ),
        ok_edited(
            "written before checksums (no checksum member); the Secret Key is stored",
            "stored",
            STORED_PASSWORD,
            None,
            NO_CHECKSUM,
            json!({}),
        ),
        ok_edited(
            "written before checksums (no checksum member); the Secret Key is typed",
            "typed",
            TYPED_PASSWORD,
            Some(typed_sk),
            NO_CHECKSUM,
            json!({}),
        ),
        unlock("stored", "correct horse battery stapler", None)
            .with_unset(NO_CHECKSUM)
            .vector(
                "wrong password, file written before checksums",
                json!({}),
                "WrongPassword",
            ),
    ]
}

impl<'a> Fail<'a> {
    fn with_unset(self, unset: &'a [&'a str]) -> Self {
        Fail { unset, ..self }
    }
}

/// Edits of the stored file that its checksum catches before anything is derived.
fn checksum_failures(stored: &KeyFile, typed: &KeyFile) -> Vec<Value> {
    const DAMAGED: &str = "KeyFileDamaged";
    // The lowest bit of the first digit at or after `at`: the text stays valid base64 (or hex), so
    // only the checksum can tell.
    let flip = |s: &str, at: usize| {
        let mut b = s.as_bytes().to_vec();
        let at = (at..b.len()).find(|&i| b[i].is_ascii_digit()).unwrap();
        b[at] ^= 1;
        String::from_utf8(b).unwrap()
    };
    let checksum = hex::encode(stored.checksum());
    let mut cases = vec![
        (
            "salt changed by one bit",
            json!({"/kdf/salt": flip(&stored.kdf.salt, 3)}),
        ),
        (
            "KDF memory changed, within the accepted range",
            json!({"/kdf/m_kib": 65}),
        ),
        ("KDF passes changed", json!({"/kdf/t": 3})),
        (
            "stored Secret Key wrap changed by one bit",
            json!({"/secret_key": flip(stored.secret_key.as_deref().unwrap(), 30)}),
        ),
        (
            "root key wrap of epoch 1 changed by one bit",
            json!({"/epochs/0/wrapped_root": flip(&stored.epochs[0].wrapped_root, 30)}),
        ),
        (
            "naming key wrap changed by one bit",
            json!({"/naming_key": flip(&stored.naming_key, 30)}),
        ),
        (
            "identity wrap changed by one bit",
            json!({"/identity/wrapped_secret": flip(&stored.identity.wrapped_secret, 30)}),
        ),
        (
            "another profile id",
            json!({"/profile_id": hex::encode(OTHER_PROFILE)}),
        ),
        (
            "checksum changed",
            json!({"/checksum": flip(&checksum, 10)}),
        ),
        (
            "checksum is not 64 hex digits",
            json!({"/checksum": &checksum[..63]}),
        ),
        (
            "hostile KDF memory (4 GB), checksum kept",
            json!({"/kdf/m_kib": 4_000_000_000u32}),
        ),
    ]
    .into_iter()
    .map(|(d, set)| (d, set, DAMAGED))
    .collect::<Vec<_>>();
    cases.push((
        "unknown field, checksum kept",
        json!({"/comment": "hi"}),
        "InvalidKeyFile",
    ));
    let mut vectors: Vec<Value> = cases
        .into_iter()
        .map(|(d, set, expect)| STORED.vector(d, set, expect))
        .collect();
    vectors.push(
        Fail {
            file: "typed",
            password: TYPED_PASSWORD,
            sk: None,
            ..STORED
        }
        .vector(
            "typed file: salt changed by one bit",
            json!({"/kdf/salt": flip(&typed.kdf.salt, 3)}),
            DAMAGED,
        ),
    );
    vectors.push(ok_edited(
        "checksum in upper-case hex",
        "stored",
        STORED_PASSWORD,
        None,
        &[],
        json!({"/checksum": checksum.to_uppercase()}),
    ));
    vectors
}

/// Edits of the stored file (its checksum removed, so that each check is reached) that
/// `KeyFile::decode` refuses.
fn decode_failures() -> Vec<Value> {
    const INVALID: &str = "InvalidKeyFile";
    const KDF: &str = "KeyFileDamaged";
    let cases = [
        (
            "version 2, with fields this reader does not know",
            json!({"/version": 2, "/wrapped_everything": "?"}),
            "UnsupportedKeyFileVersion(2)",
        ),
        ("version 0", json!({"/version": 0}), INVALID),
        ("version as a string", json!({"/version": "1"}), INVALID),
        ("another format", json!({"/format": "age-keyfile"}), INVALID),
        ("unknown field", json!({"/comment": "hi"}), INVALID),
        (
            "hostile KDF memory (4 GB)",
            json!({"/kdf/m_kib": 4_000_000_000u32}),
            KDF,
        ),
        ("hostile KDF passes", json!({"/kdf/t": 1_000_000}), KDF),
        ("zero KDF lanes", json!({"/kdf/p": 0}), KDF),
        ("unknown KDF", json!({"/kdf/alg": "scrypt"}), INVALID),
        (
            "salt of 15 bytes",
            json!({"/kdf/salt": B64.encode([0u8; 15])}),
            INVALID,
        ),
        (
            "current_key_id names no epoch",
            json!({"/current_key_id": 3}),
            INVALID,
        ),
        (
            "profile id not hex",
            json!({"/profile_id": "not-a-profile"}),
            INVALID,
        ),
    ];
    let mut vectors = STORED_V0.vectors(cases);
    // Version is read before the checksum: no edit of a newer file is taken for damage.
    vectors.push(STORED.vector(
        "version 2, checksum kept",
        json!({"/version": 2}),
        "UnsupportedKeyFileVersion(2)",
    ));
    vectors
}

/// Edits of the stored file (its checksum removed, as pvault 0.1 wrote it) that decode but must
/// not unlock. The Secret Key is stored, so the password is proven before any root key is opened:
/// a wrap that does not open is damage.
fn unlock_failures(stored: &KeyFile) -> Vec<Value> {
    const INVALID: &str = "KeyFileDamaged";
    let tampered = |s: &str| {
        let mut b = B64.decode(s).unwrap();
        b[20] ^= 1;
        B64.encode(b)
    };
    let (epoch1, epoch2) = (
        &stored.epochs[0].wrapped_root,
        &stored.epochs[1].wrapped_root,
    );
    let cases = [
        (
            "another profile id: every wrap is bound to the profile",
            json!({"/profile_id": hex::encode(OTHER_PROFILE)}),
            "WrongPassword",
        ),
        (
            "tampered root key wrap",
            json!({"/epochs/0/wrapped_root": tampered(epoch1)}),
            INVALID,
        ),
        (
            "root key wraps of epochs 1 and 2 swapped",
            json!({"/epochs/0/wrapped_root": epoch2, "/epochs/1/wrapped_root": epoch1}),
            INVALID,
        ),
        (
            "tampered naming key wrap",
            json!({"/naming_key": tampered(&stored.naming_key)}),
            INVALID,
        ),
        (
            "tampered identity wrap",
            json!({"/identity/wrapped_secret": tampered(&stored.identity.wrapped_secret)}),
            INVALID,
        ),
        (
            "public identity replaced",
            json!({"/identity/ed25519_public": B64.encode([9u8; 32])}),
            INVALID,
        ),
        (
            "current epoch moved back to 1 (naming and identity are wrapped under epoch 2)",
            json!({"/current_key_id": 1}),
            INVALID,
        ),
    ];
    let unlock = Fail {
        fails_at: "unlock",
        ..STORED_V0
    };
    unlock.vectors(cases)
}

/// What unlocking must give: root keys by epoch, the Secret Key, the public identity, the naming
/// key's token over `message` and the signature of `message`.
fn expectations(keys: &UnlockedKeys, message: &[u8]) -> Value {
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
