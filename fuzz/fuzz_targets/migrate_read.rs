//! The migration readers never panic on any file, in any format: the first byte picks the format,
//! the rest is the file. What they accept is in order: every item has a collection and its fields
//! are a JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_migrate::{Format, Options, read};
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(pick) % Format::ALL.len()];
    let options = Options {
        // A KeePass file needs a key; a cheap one keeps the fuzzer from stalling in a KDF the
        // header asks for (the header still chooses its cost).
        password: Some(Zeroizing::new("fuzz".into())),
        ..Options::default()
    };
    if let Ok(parsed) = read(format, file, &options) {
        for item in &parsed.items {
            assert!(!item.collection.is_empty());
            assert!(item.data.is_object());
        }
    }
});
