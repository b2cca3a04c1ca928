//! The export reader never panics on any decrypted contents, hands out only entries that parse,
//! and accepts a file only with a manifest whose hash and signature check out (so random input is
//! never accepted: an accepted input must carry a valid Ed25519 signature).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut entries = 0u64;
    if let Ok(v) = pvault_export::format::verify(data, |_| {
        entries += 1;
        Ok(())
    }) {
        assert_eq!(v.manifest.entries, entries);
        assert!(data.ends_with(b"\n"));
    }
});
