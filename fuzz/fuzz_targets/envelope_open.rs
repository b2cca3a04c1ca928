//! `envelope::open` and `envelope::unwrap` never panic, and never accept bytes that sealing did not
//! produce: any success must be the envelope that sealing the plaintext again, with the same nonces,
//! gives byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_crypto::envelope::{self, Aad};
use pvault_crypto::{AesKey, CollectionKeys, Key32};

fn assert_resealed(keys: &CollectionKeys, aad: &Aad<'_>, plaintext: &[u8], data: &[u8]) {
    let (header, _) = envelope::parse(data).expect("an opened envelope parses");
    let again = envelope::seal_with_nonces(
        keys,
        aad,
        plaintext,
        header.alg,
        header.nonce,
        header.xnonce.unwrap_or([0; 24]),
    )
    .expect("seal");
    assert_eq!(again, data, "opened bytes that seal does not produce");
}

fuzz_target!(|data: &[u8]| {
    let keys = pvault_fuzz::keys();
    let kek = AesKey::new(&Key32::from_bytes(pvault_fuzz::DATA_KEY));
    for aad in pvault_fuzz::places() {
        if let Ok(plaintext) = envelope::open(&keys, &aad, data) {
            assert_resealed(&keys, &aad, &plaintext, data);
        }
        if let Ok(secret) = envelope::unwrap(&kek, &aad, data) {
            // A key wrap is an alg-1 envelope whose key id is the caller's to choose.
            let key_id = envelope::key_id(data).unwrap();
            assert_resealed(&pvault_fuzz::keys_with_id(key_id), &aad, &secret, data);
        }
    }
});
