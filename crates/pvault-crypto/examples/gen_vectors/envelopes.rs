//! `envelopes.json`: good record envelopes and key wraps, then the same bytes tampered with,
//! truncated, moved, downgraded and opened with the wrong keys.

use pvault_crypto::Classification::*;
use pvault_crypto::envelope::{Alg, Kind};
use serde_json::{Value, json};

use crate::common::{
    Case, Change, OTHER_PROFILE, Sealed, Vectors, flip, pattern, seal, seq, set, with_seal_inputs,
};

const DECRYPTION_FAILED: &str = "DecryptionFailed";
const MALFORMED: &str = "MalformedEnvelope";
const TOO_WEAK: &str = "AlgorithmTooWeak";

pub fn envelopes() -> Value {
    let mut v = Vectors(Vec::new());
    let good = records(&mut v);
    let sk_wrap = key_wraps(&mut v);
    tampered(&mut v, &good);
    header_errors(&mut v, &good);
    moved(&mut v, &good);
    downgraded(&mut v, &good);
    wrong_keys(&mut v, &good);
    key_wraps_misused(&mut v, &sk_wrap);
    json!({
        "description": "Record envelopes and key wraps (docs/format.md, 'Envelope'). 'open' vectors \
            are opened with envelope::open and CollectionKeys(key_id, data_key, cascade_key); 'unwrap' \
            vectors with envelope::unwrap and AES-256-GCM key data_key. The associated data is built \
            from profile, kind, collection, record_id and classification. 'ok' vectors also give alg, \
            nonce(s) and plaintext: sealing them again must give the envelope byte for byte.",
        "vectors": v.0,
    })
}

/// The good record envelopes that later vectors tamper with, move or open as something else.
struct Good {
    internal: Sealed,
    internal_long: Sealed,
    confidential: Sealed,
    secret: Sealed,
}

/// The good record envelopes, one per classification and kind, and a few edge cases.
fn records(v: &mut Vectors) -> Good {
    let long = pattern(1000, 7, 3);
    let (aes, cascade) = (Alg::Aes256Gcm, Alg::Cascade);
    let record_id = |collection, record_id, class| Case {
        kind: Kind::RecordId,
        ..Case::record(collection, record_id, class)
    };
    let public = Case::record("notes", "r1", Public);
    v.ok("PUBLIC, alg 1, empty plaintext", public, aes, b"");
    let internal = Case::record("transactions", "01J9Z3K7QX", Internal);
    let internal = v.ok("INTERNAL, alg 1", internal, aes, b"hello, pvault");
    let internal_long = Case::record("transactions", "r-1000", Internal);
    let internal_long = v.ok(
        "INTERNAL, alg 1, 1000-byte plaintext",
        internal_long,
        aes,
        &long,
    );
    let confidential = Case::record("research", "r-42", Confidential);
    let description = "CONFIDENTIAL, alg 2 (cascade), 1000-byte plaintext";
    let confidential = v.ok(description, confidential, cascade, &long);
    let secret = Case::record("medical", "visit-2024-03", Secret);
    let secret = v.ok("SECRET, alg 2, empty plaintext", secret, cascade, b"");
    let top = Case {
        key_id: 0xdead_beef,
        ..Case::record("journal/2024", "entr\u{e9}e-\u{1f510}", TopSecret)
    };
    v.ok(
        "TOP_SECRET, alg 2, big-endian key id 0xdeadbeef, UTF-8 collection and record id",
        top,
        cascade,
        "the plaintext of a top secret record".as_bytes(),
    );
    let c1 = record_id("contacts", "c1", Internal);
    v.ok("kind 2 (record id), INTERNAL, alg 1", c1, aes, b"c1");
    let c2 = record_id("contacts", "c2", Confidential);
    v.ok(
        "kind 2 (record id), CONFIDENTIAL, alg 2",
        c2,
        cascade,
        b"c2",
    );
    v.ok(
        "PUBLIC sealed with alg 2: a reader accepts a stronger algorithm than the level requires",
        Case::record("notes", "r2", Public),
        cascade,
        b"over-protected",
    );
    let empty = Case::record("", "", Internal);
    v.ok("empty collection name and record id", empty, aes, b"x");
    Good {
        internal,
        internal_long,
        confidential,
        secret,
    }
}

/// Key wraps: alg 1 under a KEK, opened with envelope::unwrap. Returns the Secret Key's.
fn key_wraps(v: &mut Vectors) -> Sealed {
    let wraps: [(&str, u32, &str, &[u8]); 4] = [
        (
            "Secret Key (16 bytes), key id 0",
            0,
            "secret-key",
            &seq::<16>(0x60),
        ),
        ("root key of epoch 3", 3, "root/3", &seq::<32>(0x80)),
        (
            "naming key, under epoch 1's wrap key",
            1,
            "naming",
            &seq::<32>(0x90),
        ),
        (
            "identity (Ed25519 seed || X25519 secret)",
            1,
            "identity",
            &seq::<64>(0xc0),
        ),
    ];
    let mut sealed: Vec<Sealed> = (wraps.into_iter())
        .map(|(what, key_id, label, key)| {
            let case = Case::key_wrap(key_id, label);
            v.ok(&format!("key wrap: {what}"), case, Alg::Aes256Gcm, key)
        })
        .collect();
    sealed.swap_remove(0)
}

/// Records each `(description, sealed for, envelope, expect)`.
fn fail_all(v: &mut Vectors, rows: Vec<(&str, &Sealed, Vec<u8>, &str)>) {
    for (description, s, envelope, expect) in rows {
        v.fail(description, &s.case, &envelope, expect);
    }
}

/// Bits flipped and bytes changed in good envelopes.
fn tampered(v: &mut Vectors, g: &Good) {
    let (i, e, n) = (&g.internal, &g.internal.env, g.internal.env.len());
    let (c, ce) = (&g.confidential, &g.confidential.env);
    let relabelled = set(&g.internal_long.env, 1, 2);
    fail_all(
        v,
        vec![
            (
                "alg 1: ciphertext bit flipped",
                i,
                flip(e, 20),
                DECRYPTION_FAILED,
            ),
            (
                "alg 1: tag bit flipped",
                i,
                flip(e, n - 1),
                DECRYPTION_FAILED,
            ),
            ("alg 1: nonce bit flipped", i, flip(e, 6), DECRYPTION_FAILED),
            (
                "alg 1: key id changed (the reader holds keys for id 1)",
                i,
                set(e, 5, 2),
                DECRYPTION_FAILED,
            ),
            (
                "alg 1: byte appended",
                i,
                [&e[..], &[0]].concat(),
                DECRYPTION_FAILED,
            ),
            (
                "alg 2: inner (XChaCha20) nonce bit flipped",
                c,
                flip(ce, 30),
                DECRYPTION_FAILED,
            ),
            (
                "alg 2: outer ciphertext bit flipped (over the inner tag)",
                c,
                flip(ce, ce.len() - 17),
                DECRYPTION_FAILED,
            ),
            (
                "alg 2: outer tag bit flipped",
                c,
                flip(ce, ce.len() - 1),
                DECRYPTION_FAILED,
            ),
            (
                "alg 1 envelope relabelled alg 2 (the header is authenticated)",
                &g.internal_long,
                relabelled,
                DECRYPTION_FAILED,
            ),
        ],
    );
}

/// Header and length errors.
fn header_errors(v: &mut Vectors, g: &Good) {
    let (i, e, n) = (&g.internal, &g.internal.env, g.internal.env.len());
    let c = &g.confidential;
    fail_all(
        v,
        vec![
            (
                "version 2 (newer than this reader)",
                i,
                set(e, 0, 2),
                "UnsupportedEnvelopeVersion(2)",
            ),
            ("version 0", i, set(e, 0, 0), MALFORMED),
            ("unknown alg 3", i, set(e, 1, 3), "UnknownAlgorithm(3)"),
            ("unknown alg 0", i, set(e, 1, 0), "UnknownAlgorithm(0)"),
            ("empty input", i, Vec::new(), MALFORMED),
            ("truncated inside the header", i, e[..5].to_vec(), MALFORMED),
            (
                "alg 1 truncated below header + nonce + tag (33 bytes)",
                i,
                e[..33].to_vec(),
                MALFORMED,
            ),
            (
                "alg 1 truncated by one byte",
                i,
                e[..n - 1].to_vec(),
                DECRYPTION_FAILED,
            ),
            (
                "alg 2 truncated below header + nonces + two tags (73 bytes)",
                c,
                c.env[..73].to_vec(),
                MALFORMED,
            ),
            (
                "alg 1 envelope relabelled alg 2 but too short for the cascade",
                i,
                set(e, 1, 2),
                MALFORMED,
            ),
        ],
    );
}

/// The same bytes opened somewhere else: another profile, collection, record id, kind or level.
fn moved(v: &mut Vectors, g: &Good) {
    let (i, c) = (&g.internal, &g.confidential);
    let rows: [(&str, &Sealed, Change); 7] = [
        ("moved to another profile", i, |c| c.profile = OTHER_PROFILE),
        ("moved to another collection", i, |c| {
            c.collection = "blocks".into()
        }),
        ("moved to another record id", i, |c| {
            c.record_id = "01J9Z3K7QY".into()
        }),
        ("record body opened as a record id (kind 1 -> 2)", i, |c| {
            c.kind = Kind::RecordId
        }),
        ("classification changed INTERNAL -> PUBLIC", i, |c| {
            c.classification = Public
        }),
        (
            "classification changed CONFIDENTIAL -> SECRET (both alg 2)",
            c,
            |c| c.classification = Secret,
        ),
        ("alg 2 moved to another profile", c, |c| {
            c.profile = OTHER_PROFILE
        }),
    ];
    for (description, s, change) in rows {
        v.moved(description, s, change, DECRYPTION_FAILED);
    }
}

/// Envelopes of a weaker algorithm than the level they are opened at requires.
fn downgraded(v: &mut Vectors, g: &Good) {
    let description = "alg 1 envelope (sealed as INTERNAL) opened as SECRET";
    v.moved(
        description,
        &g.internal,
        |c| c.classification = Secret,
        TOO_WEAK,
    );
    let secret = &g.secret.case;
    let weak = seal(&secret.keys(), secret, Alg::Aes256Gcm, b"downgraded");
    let description =
        "alg 1 envelope sealed with SECRET associated data is refused before decryption";
    v.fail(description, secret, &weak, TOO_WEAK);
    let rewritten = set(&g.secret.env, 1, 1);
    let description = "alg 2 envelope rewritten to alg 1 and opened as SECRET";
    v.fail(description, secret, &rewritten, TOO_WEAK);
}

/// Good envelopes opened with keys that are wrong (or, for alg 1's cascade key, unused).
fn wrong_keys(v: &mut Vectors, g: &Good) {
    let (i, c) = (&g.internal, &g.confidential);
    v.moved(
        "alg 1: wrong data key",
        i,
        |c| c.data_key = seq(0x01),
        DECRYPTION_FAILED,
    );
    let mut ignored = i.case.clone();
    ignored.cascade_key = seq(0x21);
    let still_opens = ignored.json("alg 1 ignores the cascade key", &i.env, "ok");
    v.0.push(with_seal_inputs(
        still_opens,
        Alg::Aes256Gcm,
        b"hello, pvault",
    ));
    v.moved(
        "alg 2: right data key, wrong cascade key (the inner layer fails)",
        c,
        |c| c.cascade_key = seq(0x21),
        DECRYPTION_FAILED,
    );
    v.moved(
        "alg 2: wrong data key",
        c,
        |c| c.data_key = seq(0x01),
        DECRYPTION_FAILED,
    );
    let description = "keys of epoch 2 for an envelope of epoch 1";
    v.moved(description, i, |c| c.key_id = 2, DECRYPTION_FAILED);
}

/// A key wrap opened under another label or kind, and one sealed with the cascade.
fn key_wraps_misused(v: &mut Vectors, sk_wrap: &Sealed) {
    let description = "key wrap opened under another label";
    v.moved(
        description,
        sk_wrap,
        |c| c.record_id = "naming".into(),
        DECRYPTION_FAILED,
    );
    v.moved(
        "key wrap opened as kind 1",
        sk_wrap,
        |c| c.kind = Kind::Record,
        DECRYPTION_FAILED,
    );
    let case = &sk_wrap.case;
    let cascade_wrap = seal(&case.keys(), case, Alg::Cascade, &seq::<16>(0x60));
    v.fail("key wraps must be alg 1", case, &cascade_wrap, MALFORMED);
}
