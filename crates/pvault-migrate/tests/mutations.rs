//! Every reader on damaged copies of its fixtures: each single-byte change and each cut of the
//! file gives an answer (items or a named error), never a panic; a damaged KeePass database is
//! never read as a good one.

use std::path::PathBuf;

use pvault_migrate::{Error, Format, Options, read};
use zeroize::Zeroizing;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

fn options() -> Options {
    Options {
        password: Some(Zeroizing::new("fixture-password".into())),
        ..Options::default()
    }
}

/// Reads every one-byte variant (each byte XOR 0x01 and XOR 0x80) and every cut of `bytes`.
fn survives(format: Format, bytes: &[u8]) -> (usize, usize) {
    let (mut read_ok, mut refused) = (0, 0);
    let mut variants: Vec<Vec<u8>> = Vec::new();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut v = bytes.to_vec();
            v[i] ^= mask;
            variants.push(v);
        }
        variants.push(bytes[..i].to_vec());
    }
    for v in variants {
        match read(format, &v, &options()) {
            Ok(_) => read_ok += 1,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
        }
    }
    (read_ok, refused)
}

#[test]
fn text_formats_never_panic_on_a_damaged_file() {
    for (format, name) in [
        (Format::Legacy, "legacy.jsonl"),
        (Format::Bitwarden, "bitwarden.json"),
        (Format::Csv, "bitwarden.csv"),
        (Format::Csv, "chrome.csv"),
        (Format::Csv, "firefox.csv"),
        (Format::Csv, "keepassxc.csv"),
        (Format::Csv, "onepassword.csv"),
    ] {
        let bytes = fixture(name);
        assert!(read(format, &bytes, &options()).is_ok(), "{name} reads");
        let (_, refused) = survives(format, &bytes);
        assert!(refused > 0, "{name}: some damage must be refused");
    }
}

#[test]
fn a_damaged_keepass_database_is_refused_or_read_never_wrong() {
    let bytes = fixture("keepassxc.kdbx");
    let good = read(Format::Kdbx, &bytes, &options()).unwrap();
    // Each read runs the KDF (AES-KDF, 2.3 million rounds): a sample of positions across the file, and cuts.
    let mut tried = 0;
    for i in (0..bytes.len()).step_by(61) {
        let mut v = bytes.clone();
        v[i] ^= 0x01;
        match read(Format::Kdbx, &v, &options()) {
            // KDBX 4 authenticates its header and every block: a change is never read as data.
            Ok(parsed) => assert_eq!(parsed.items, good.items, "byte {i} changed the contents"),
            Err(Error::Key(_) | Error::Malformed { .. } | Error::NotFormat { .. }) => {}
            Err(e) => panic!("byte {i}: unexpected {e:?}"),
        }
        let cut = read(Format::Kdbx, &bytes[..i], &options());
        assert!(cut.is_err(), "a database cut at {i} was read");
        tried += 1;
    }
    assert!(tried > 25);
}
