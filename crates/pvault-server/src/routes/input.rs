//! What several endpoints check in a request: JSON bodies, the protocol's validations (answered as
//! 400 with a stable code), the size of opaque strings, a new device, and a username in the path
//! (which is also rate-limited).

use std::time::Instant;

use pvault_proto::api::{MAX_BUNDLE_BYTES, NewDevice, validate_device_name, validate_username};
use pvault_proto::auth::parse_public_key;
use pvault_proto::{ProtoError, parse_id16};
use serde::de::DeserializeOwned;

use crate::auth::Raw;
use crate::error::Error;
use crate::state::AppState;
use crate::storage::NewDeviceRow;

/// A JSON body.
pub(super) fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::bad_request("bad_json", format!("malformed JSON body: {e}")))
}

/// A failed protocol validation, answered as a bad request with `code`.
pub(super) fn invalid(code: &'static str) -> impl Fn(ProtoError) -> Error {
    move |e| Error::bad_request(code, e.to_string())
}

/// An opaque string (KDF description, key bundle) within [`MAX_BUNDLE_BYTES`].
pub(super) fn check_opaque(what: &str, s: &str) -> Result<(), Error> {
    if s.len() > MAX_BUNDLE_BYTES {
        return Err(Error::too_large(
            "bundle_too_large",
            format!("{what} is larger than {MAX_BUNDLE_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// A device as given in a registration or join.
pub(super) fn new_device(d: &NewDevice) -> Result<NewDeviceRow, Error> {
    validate_device_name(&d.name).map_err(invalid("bad_device_name"))?;
    Ok(NewDeviceRow {
        device_id: parse_id16("device_id", &d.device_id).map_err(invalid("bad_id"))?,
        device_key: *parse_public_key("device_key", &d.device_key)
            .map_err(invalid("bad_key"))?
            .as_bytes(),
        name: d.name.clone(),
    })
}

/// The username in the path, checked and within its rate limit.
pub(super) fn limited_username<'r, S>(state: &AppState<S>, raw: &'r Raw) -> Result<&'r str, Error> {
    let username = raw.param("username")?;
    validate_username(username).map_err(invalid("bad_username"))?;
    state
        .limiter
        .attempt(raw.ip, username, Instant::now())
        .map_err(|s| state.rate_limited(s))?;
    Ok(username)
}
