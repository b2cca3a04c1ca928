//! `KeyFile::decode` never panics; what it accepts encodes and decodes back to an equal key file, and
//! unlocking it (when its KDF cost is the cheapest) fails cleanly or succeeds, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_crypto::KeyFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = KeyFile::decode(data) else {
        return;
    };
    let again = KeyFile::decode(&file.encode()).expect("an encoded key file decodes");
    assert_eq!(again, file);
    file.profile_id().expect("decode checked the profile id");
    file.public_identity()
        .expect("decode checked the public keys");
    if file.kdf_params() == pvault_fuzz::FAST
        && let Ok(keys) = file.unlock(pvault_fuzz::PASSWORD, None)
    {
        assert_eq!(keys.current().id(), file.current_key_id);
        assert_eq!(keys.identity().public(), file.public_identity().unwrap());
    }
});
