//! The Community Cryptography Test Vectors for age (`../shared/vectors/age-cctv/`), through the
//! same decryption path `pvault profile import` uses ([`pvault_export::file::open`]): every
//! `success` vector decrypts to the payload with its hash; every other vector is refused with the
//! kind of error its `expect` line names. Skipped (and said so) when the folder is absent.

use std::io::Read;
use std::path::PathBuf;

use age::secrecy::SecretString;
use pvault_export::Error;
use pvault_export::file::{Identities, Key, open};
use sha2::{Digest, Sha256};

fn vectors() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/age-cctv");
    dir.is_dir().then_some(dir)
}

#[derive(Debug, Clone)]
struct Vector {
    name: String,
    expect: String,
    payload: Option<String>,
    identities: Vec<String>,
    passphrase: Option<String>,
    armored: bool,
    file: Vec<u8>,
}

fn parse(name: &str, bytes: &[u8]) -> Vector {
    let split = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a header and an empty line");
    let head = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut v = Vector {
        name: name.into(),
        expect: String::new(),
        payload: None,
        identities: vec![],
        passphrase: None,
        armored: false,
        file: bytes[split + 2..].to_vec(),
    };
    let mut compressed = false;
    for line in head.lines() {
        let (k, value) = line.split_once(": ").unwrap();
        match k {
            "expect" => v.expect = value.into(),
            "payload" => v.payload = Some(value.into()),
            "identity" => v.identities.push(value.into()),
            "passphrase" => v.passphrase = Some(value.into()),
            "armored" => v.armored = value == "yes",
            "compressed" => compressed = value == "zlib",
            _ => {} // file key, comment; unknown keys are to be ignored
        }
    }
    if compressed {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&v.file[..])
            .read_to_end(&mut out)
            .unwrap();
        v.file = out;
    }
    v
}

/// What our decryption path makes of a vector: the payload read (all of it, or up to the
/// error) and the error.
fn run(v: &Vector) -> (Vec<u8>, Option<Error>) {
    let key = match &v.passphrase {
        Some(p) if v.identities.is_empty() => Key::Passphrase(SecretString::from(p.clone())),
        // Neither: any identity (the file must fail before a key could matter).
        None if v.identities.is_empty() => Key::Identities(
            Identities::parse(
                "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0",
            )
            .unwrap(),
        ),
        _ => match Identities::parse(&v.identities.join("\n")) {
            Ok(ids) => Key::Identities(ids),
            Err(e) => return (vec![], Some(e)),
        },
    };
    let mut payload = Vec::new();
    match open(&v.file[..], &key) {
        Err(e) => (payload, Some(e)),
        Ok(mut r) => match r.read_to_end(&mut payload) {
            Ok(_) => (payload, None),
            Err(e) => (payload, Some(Error::from(e))),
        },
    }
}

/// The vector with its identities in one identity file, between unrelated X25519 and hybrid
/// identities (the hybrid one in lower case), with comments and blank lines.
fn in_a_mixed_identity_file(v: &Vector) -> Option<Vector> {
    use age::secrecy::ExposeSecret;
    if v.identities.is_empty() {
        return None;
    }
    let unrelated = age::x25519::Identity::generate().to_string();
    // Not the vectors' hybrid identity (another seed, lower case).
    let unrelated_pq =
        "age-secret-key-pq-1xx76jralnlxdmew0crk45qmcch4x06se84un3vpm33w6hwdx0h3sk3zqfr";
    let mut text = format!("# created: 2026-06-05\n{}\n\n", unrelated.expose_secret());
    for id in &v.identities {
        text.push_str(&format!("# public key: (elided)\n{id}\n"));
    }
    text.push_str(&format!("\n{unrelated_pq}\n"));
    Some(Vector {
        identities: vec![text],
        ..v.clone()
    })
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether the outcome is the one the vector expects. Two documented leniencies of the age
/// library: stanzas without the short final line still parse (legacy files), and an armor whose
/// begin line is itself malformed is refused as "not an age file" or a header failure (the armor
/// is only recognised by that line).
fn outcome_matches(v: &Vector, payload: &[u8], error: &Option<Error>) -> Result<(), String> {
    let got = match error {
        None => "success".to_string(),
        Some(e) => format!("{e:?}"),
    };
    let ok = match (v.expect.as_str(), error) {
        ("success", None) => v.payload.as_deref() == Some(&sha(payload)),
        ("header failure", None) => {
            ["stanza_missing_body", "stanza_missing_final_line"].contains(&v.name.as_str())
        }
        ("header failure", Some(Error::Header(_) | Error::NotAge)) => true,
        ("armor failure", Some(Error::Armor(_))) => true,
        ("armor failure", Some(Error::Header(_) | Error::NotAge)) => v.armored,
        ("payload failure", Some(Error::Payload(_))) => {
            // Nothing of a chunk that fails is released.
            v.payload.as_deref() == Some(&sha(payload))
        }
        ("HMAC failure", Some(Error::HeaderMac)) => true,
        ("no match", Some(Error::NoMatch(_))) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{}: expected {}, got {got}", v.name, v.expect))
    }
}

#[test]
fn every_age_test_vector_gives_its_expected_outcome() {
    let Some(dir) = vectors() else {
        eprintln!("SKIPPED: ../shared/vectors/age-cctv is absent");
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("README"))
        .collect();
    names.sort();
    assert!(names.len() >= 140, "only {} vectors found", names.len());
    let mut failures = Vec::new();
    let mut by_expect = std::collections::BTreeMap::<String, usize>::new();
    for name in &names {
        let v = parse(name, &std::fs::read(dir.join(name)).unwrap());
        *by_expect.entry(v.expect.clone()).or_default() += 1;
        let (payload, error) = run(&v);
        if let Err(why) = outcome_matches(&v, &payload, &error) {
            failures.push(why);
        }
        // The same outcome when the vector's identities sit in one identity file among other
        // (unrelated) identities, comments and blank lines, as a user's file may hold them.
        if let Some(mixed) = in_a_mixed_identity_file(&v) {
            let (payload, error) = run(&mixed);
            if let Err(why) = outcome_matches(&mixed, &payload, &error) {
                failures.push(format!("{why} (in a mixed identity file)"));
            }
        }
    }
    eprintln!("{} vectors: {by_expect:?}", names.len());
    assert!(
        failures.is_empty(),
        "{} of {} vectors did not give their expected outcome:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
