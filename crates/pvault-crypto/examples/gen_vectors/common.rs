//! What the vector families share: fixed bytes, where an envelope is opened (`Case`), sealing with
//! the fixed nonces, and the list of envelope vectors being built.

use pvault_crypto::envelope::{self, Aad, Alg, Kind};
use pvault_crypto::{Classification, CollectionKeys, Key32, ProfileId};
use serde_json::{Value, json};

/// `N` bytes counting up from `start`: easy to recognise in a hex dump.
pub fn seq<const N: usize>(start: u8) -> [u8; N] {
    std::array::from_fn(|i| start.wrapping_add(i as u8))
}

pub const PROFILE: [u8; 16] = [
    0x70, 0x76, 0x61, 0x75, 0x6c, 0x74, 0x2d, 0x70, 0x72, 0x6f, 0x66, 0x69, 0x6c, 0x65, 0x2d, 0x31,
];
pub const OTHER_PROFILE: [u8; 16] = [0xee; 16];

/// The nonce every sealed vector uses.
pub fn nonce() -> [u8; 12] {
    seq(0xa0)
}

/// The inner (XChaCha20) nonce every cascade vector uses.
pub fn xnonce() -> [u8; 24] {
    seq(0xb0)
}

/// `len` bytes of a simple pattern, `i * step + add` for byte `i`.
pub fn pattern(len: u32, step: u32, add: u32) -> Vec<u8> {
    (0..len).map(|i| (i * step + add) as u8).collect()
}

/// Where an envelope is opened, and with which keys.
#[derive(Clone)]
pub struct Case {
    pub op: &'static str, // "open" (records) or "unwrap" (key wraps)
    pub key_id: u32,
    pub data_key: [u8; 32],
    pub cascade_key: [u8; 32],
    pub profile: [u8; 16],
    pub kind: Kind,
    pub collection: String,
    pub record_id: String,
    pub classification: Classification,
}

impl Case {
    pub fn record(collection: &str, record_id: &str, classification: Classification) -> Case {
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

    pub fn key_wrap(key_id: u32, label: &str) -> Case {
        Case {
            op: "unwrap",
            kind: Kind::KeyWrap,
            key_id,
            data_key: seq(0x40),
            ..Case::record("keys", label, Classification::TopSecret)
        }
    }

    pub fn keys(&self) -> CollectionKeys {
        CollectionKeys::new(
            self.key_id,
            &Key32::from_bytes(self.data_key),
            &Key32::from_bytes(self.cascade_key),
        )
    }

    pub fn json(&self, description: &str, envelope: &[u8], expect: &str) -> Value {
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

/// Seals `plaintext` with `keys` for where `case` opens it, with the fixed nonces.
pub fn seal(keys: &CollectionKeys, case: &Case, alg: Alg, plaintext: &[u8]) -> Vec<u8> {
    let profile = ProfileId(case.profile);
    let aad = Aad {
        profile: &profile,
        kind: case.kind,
        collection: &case.collection,
        record_id: &case.record_id,
        classification: case.classification,
    };
    envelope::seal_with_nonces(keys, &aad, plaintext, alg, nonce(), xnonce()).expect("seal")
}

/// Adds the fields an "ok" vector needs to be re-sealed byte for byte.
pub fn with_seal_inputs(mut v: Value, alg: Alg, plaintext: &[u8]) -> Value {
    v["alg"] = json!(alg as u8);
    v["nonce"] = json!(hex::encode(nonce()));
    if alg == Alg::Cascade {
        v["xnonce"] = json!(hex::encode(xnonce()));
    }
    v["plaintext"] = json!(hex::encode(plaintext));
    v
}

/// Moves a case somewhere else (another profile, label, key...).
pub type Change = fn(&mut Case);

/// An envelope and where it was sealed for.
pub struct Sealed {
    pub case: Case,
    pub env: Vec<u8>,
}

/// The envelope vectors, in the order they are written.
pub struct Vectors(pub Vec<Value>);

impl Vectors {
    /// Seals `plaintext` for `case` and records an "ok" vector; returns the envelope.
    pub fn ok(&mut self, description: &str, case: Case, alg: Alg, plaintext: &[u8]) -> Sealed {
        let env = seal(&case.keys(), &case, alg, plaintext);
        let v = case.json(description, &env, "ok");
        self.0.push(with_seal_inputs(v, alg, plaintext));
        Sealed { case, env }
    }

    /// Records that `envelope`, opened where `case` says, gives `expect`.
    pub fn fail(&mut self, description: &str, case: &Case, envelope: &[u8], expect: &str) {
        self.0.push(case.json(description, envelope, expect));
    }

    /// Records that `s`'s envelope, opened where `change` moves its case, gives `expect`.
    pub fn moved(&mut self, description: &str, s: &Sealed, change: Change, expect: &str) {
        let mut case = s.case.clone();
        change(&mut case);
        self.fail(description, &case, &s.env, expect);
    }
}

/// A copy of `bytes` with the lowest bit of byte `at` flipped.
pub fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x01;
    b
}

/// A copy of `bytes` with byte `at` set to `value`.
pub fn set(bytes: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] = value;
    b
}
