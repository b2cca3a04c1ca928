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
//!
//! One module per file: `envelopes`, `derivation`, `secret_keys`, `keyfile`; `common` holds the
//! fixed bytes, `Case` (where an envelope is opened) and sealing with the fixed nonces.

mod common;
mod derivation;
mod envelopes;
mod keyfile;
mod secret_keys;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn write(dir: &Path, name: &str, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::write(dir.join(name), text).unwrap();
    println!("wrote {}", dir.join(name).display());
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "envelopes.json", &envelopes::envelopes());
    write(&dir, "derivation.json", &derivation::derivation());
    write(&dir, "secret_keys.json", &secret_keys::secret_keys());
    let new_keyfile = std::env::args().any(|a| a == "--keyfile");
    if new_keyfile || !dir.join("keyfile_v1.json").exists() {
        write(&dir, "keyfile_v1.json", &keyfile::keyfile());
    } else {
        println!("kept keyfile_v1.json (pass --keyfile to make a new one)");
    }
}
