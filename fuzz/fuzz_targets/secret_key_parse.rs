//! `SecretKey::parse` never panics; what it accepts displays as a string that parses to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_crypto::SecretKey;

fuzz_target!(|input: &str| {
    let Ok(sk) = SecretKey::parse(input) else {
        return;
    };
    let shown = sk.to_display_string();
    assert!(
        shown.starts_with("PV1-") && shown.len() == 35,
        "{}",
        shown.as_str()
    );
    let back = SecretKey::parse(&shown).expect("a displayed Secret Key parses");
    assert_eq!(back.expose(), sk.expose());
});
