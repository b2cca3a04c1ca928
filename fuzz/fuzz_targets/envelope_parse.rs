//! `envelope::parse` never panics, and what it returns is exactly what the bytes say.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_crypto::CryptoError;
use pvault_crypto::envelope::{self, Alg};

fuzz_target!(|data: &[u8]| {
    let (header, body) = match envelope::parse(data) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(matches!(
                e,
                CryptoError::MalformedEnvelope(_)
                    | CryptoError::UnsupportedEnvelopeVersion(_)
                    | CryptoError::UnknownAlgorithm(_)
            ));
            assert!(envelope::key_id(data).is_err());
            return;
        }
    };
    assert_eq!(header.version, 1);
    assert_eq!(header.version, data[0]);
    assert_eq!(header.alg as u8, data[1]);
    assert_eq!(header.key_id.to_be_bytes(), data[2..6]);
    assert_eq!(header.nonce, data[6..18]);
    let (prefix, tags) = match header.alg {
        Alg::Aes256Gcm => {
            assert_eq!(header.xnonce, None);
            (18, 16)
        }
        Alg::Cascade => {
            assert_eq!(header.xnonce.expect("cascade has an xnonce"), data[18..42]);
            (42, 32)
        }
    };
    assert_eq!(body, &data[prefix..]);
    assert!(body.len() >= tags);
    assert_eq!(envelope::key_id(data).unwrap(), header.key_id);
});
