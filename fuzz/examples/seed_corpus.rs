//! Writes a small seed corpus under `fuzz/corpus/<target>/`: real envelopes sealed with the targets'
//! fixed keys, a key file the targets can unlock, and Secret Keys. Run from `fuzz/`:
//! `cargo run --example seed_corpus`.

use std::path::Path;

use pvault_crypto::envelope::{self, Alg};
use pvault_crypto::{KeyFile, SecretKey};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let keys = pvault_fuzz::keys();
    for (i, aad) in pvault_fuzz::places().iter().enumerate() {
        for (j, plaintext) in [&b""[..], b"hello", &[7; 300]].into_iter().enumerate() {
            for alg in [Alg::Aes256Gcm, Alg::Cascade] {
                let sealed = envelope::seal_with_nonces(
                    &keys,
                    aad,
                    plaintext,
                    alg,
                    [i as u8; 12],
                    [j as u8; 24],
                )
                .unwrap();
                let name = format!("seed-{i}-{j}-{}", alg as u8);
                write("envelope_open", &name, &sealed);
                write("envelope_parse", &name, &sealed);
            }
        }
    }

    for (name, store) in [("stored", true), ("typed", false)] {
        let (file, keys) = KeyFile::create(
            pvault_fuzz::PROFILE,
            pvault_fuzz::PASSWORD,
            pvault_fuzz::FAST,
            store,
        )
        .unwrap();
        write("keyfile_decode", name, &file.encode());
        let (rotated, _) = file.add_epoch(&keys).unwrap();
        write(
            "keyfile_decode",
            &format!("{name}-rotated"),
            &rotated.encode(),
        );
    }

    for (i, bytes) in [[0u8; 16], [0xff; 16], [0x5a; 16]].iter().enumerate() {
        let shown = SecretKey::from_bytes(bytes).unwrap().to_display_string();
        write("secret_key_parse", &format!("seed-{i}"), shown.as_bytes());
        write(
            "secret_key_parse",
            &format!("seed-{i}-lower"),
            shown.to_lowercase().as_bytes(),
        );
    }
    println!("wrote fuzz/corpus/*/");
}
