//! The server's reading of request signature headers and of the JSON control bodies never panics,
//! and accepted headers round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pvault_proto::api::{NewDevice, PutBundle, RegisterAccount};
use pvault_proto::auth::{HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIME, RequestAuth};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(4, '\n');
    let fields: Vec<&str> = (0..4).map(|_| parts.next().unwrap_or("")).collect();
    let get = |name: &str| match name {
        HEADER_DEVICE => Some(fields[0]),
        HEADER_TIME => Some(fields[1]),
        HEADER_NONCE => Some(fields[2]),
        HEADER_SIGNATURE => Some(fields[3]),
        _ => None,
    };
    if let Ok(auth) = RequestAuth::from_headers(get) {
        let headers = auth.headers();
        let again = RequestAuth::from_headers(|n| {
            headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.as_str())
        })
        .expect("what was accepted is accepted again");
        assert_eq!(again, auth);
    }
    let _ = serde_json::from_str::<RegisterAccount>(text);
    let _ = serde_json::from_str::<NewDevice>(text);
    let _ = serde_json::from_str::<PutBundle>(text);
    let _ = pvault_proto::api::validate_username(text);
});
