//! The sealed box (events of a locked profile): `Identity::open_sealed` must never panic on any
//! bytes, and must open only what was sealed to that identity under that label.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_crypto::Identity;

fuzz_target!(|data: &[u8]| {
    let id = Identity::from_secret_bytes(&[7u8; 64]);
    if let Ok(plain) = id.open_sealed("audit-inbox", data) {
        // Only a genuine box opens; its content round-trips through a new box.
        let again = id.public().seal_to("audit-inbox", &plain).expect("seals");
        assert_eq!(&id.open_sealed("audit-inbox", &again).expect("opens")[..], &plain[..]);
    }
    let sealed = id.public().seal_to("audit-inbox", data).expect("seals");
    assert_eq!(&id.open_sealed("audit-inbox", &sealed).expect("opens")[..], data);
    assert!(id.open_sealed("share", &sealed).is_err());
});
