//! What several endpoints check in a request: JSON bodies, numbers in the query, the protocol's
//! validations (answered as 400 with a stable code), the size of opaque strings, a new device, and a
//! username in the path (which is also rate-limited).

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

/// The number `key` of a request's query (`…?key=N&…`), if it has one; the last one counts.
/// Anything but a decimal `u64` is a bad query.
pub(super) fn query_number(path_and_query: &str, key: &str) -> Result<Option<u64>, Error> {
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, value) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            found = Some(value.parse::<u64>().map_err(|_| {
                Error::bad_request(
                    "bad_query",
                    format!("{key} must be a number, not {value:?}"),
                )
            })?);
        }
    }
    Ok(found)
}

/// An opaque string at most `max` bytes long, else a 413 with `code`.
pub(super) fn check_size(what: &str, s: &str, max: usize, code: &'static str) -> Result<(), Error> {
    if s.len() > max {
        return Err(Error::too_large(
            code,
            format!("{what} is larger than {max} bytes"),
        ));
    }
    Ok(())
}

/// A failed protocol validation, answered as a bad request with `code`.
pub(super) fn invalid(code: &'static str) -> impl Fn(ProtoError) -> Error {
    move |e| Error::bad_request(code, e.to_string())
}

/// An opaque string (KDF description, key bundle) within [`MAX_BUNDLE_BYTES`].
pub(super) fn check_opaque(what: &str, s: &str) -> Result<(), Error> {
    check_size(what, s, MAX_BUNDLE_BYTES, "bundle_too_large")
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
