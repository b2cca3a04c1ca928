//! Who is asking: the request extractors and the signature check of [`pvault_proto::auth`].
//!
//! A device request is accepted when, in this order: its address is not rate-limited; the
//! `x-pvault-*` headers parse; its time is within [`MAX_CLOCK_SKEW_SECS`] of the server's clock; the
//! device id is registered; the signature over method, path and query, time, nonce and body
//! verifies with that device's key; the nonce was not seen before (nonces are kept in the database,
//! so instances sharing one share them too, until the request could no longer be fresh); the device
//! belongs to the account in the path; and it is not revoked. Registration and joins are signed
//! with the account key instead. Every failure counts against the client's address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderMap, Method, StatusCode};
use pvault_proto::auth::{MAX_CLOCK_SKEW_SECS, RequestAuth, VerifyingKey};
use pvault_proto::{AccountId, DeviceId};

use crate::error::{AuthFailure, Error};
use crate::state::AppState;
use crate::storage::Storage;

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A request as received, body read (up to the configured limit).
pub(crate) struct Raw {
    pub ip: IpAddr,
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub params: HashMap<String, String>,
    pub body: Bytes,
}

impl Raw {
    /// A path parameter.
    pub fn param(&self, name: &'static str) -> Result<&str, Error> {
        self.params.get(name).map(String::as_str).ok_or_else(|| {
            Error::bad_request(
                "bad_path",
                format!("missing or malformed {name} in the path"),
            )
        })
    }

    /// A path parameter that is 32 hex digits.
    pub fn id_param(&self, name: &'static str) -> Result<[u8; 16], Error> {
        pvault_proto::parse_id16(name, self.param(name)?)
            .map_err(|e| Error::bad_request("bad_id", e.to_string()))
    }
}

impl<S: Send + Sync> FromRequest<S> for Raw {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let (mut parts, body) = req.into_parts();
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let params = Path::<HashMap<String, String>>::from_request_parts(&mut parts, state)
            .await
            .map(|p| p.0)
            .unwrap_or_default();
        let method = parts.method.clone();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        let headers = parts.headers.clone();
        let is_push = parts.uri.path().ends_with("/push");
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    let code = if is_push {
                        "batch_too_large"
                    } else {
                        "body_too_large"
                    };
                    Error::too_large(code, "the request body is larger than the server accepts")
                } else {
                    Error::bad_request("bad_body", rejection.body_text())
                }
            })?;
        Ok(Raw {
            ip,
            method,
            path_and_query,
            headers,
            params,
            body,
        })
    }
}

/// A request signed by a device of the account named in its path.
pub(crate) struct Signed {
    pub account: AccountId,
    pub device: DeviceId,
    pub raw: Raw,
}

impl<S: Storage> FromRequest<Arc<AppState<S>>> for Signed {
    type Rejection = Error;

    async fn from_request(req: Request, state: &Arc<AppState<S>>) -> Result<Self, Error> {
        let raw = Raw::from_request(req, state).await?;
        let account = raw.id_param("account")?;
        let device = authenticate_device(state, &raw, account).await?;
        Ok(Signed {
            account,
            device,
            raw,
        })
    }
}

fn parse_headers(headers: &HeaderMap) -> Result<RequestAuth, AuthFailure> {
    RequestAuth::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .map_err(|_| AuthFailure::Malformed)
}

fn verifies(auth: &RequestAuth, key: &[u8; 32], raw: &Raw) -> bool {
    VerifyingKey::from_bytes(key).is_ok_and(|vk| {
        auth.verify(&vk, raw.method.as_str(), &raw.path_and_query, &raw.body)
            .is_ok()
    })
}

/// Until when a nonce must be remembered: after that, its request is no longer fresh anyway.
fn nonce_expiry(auth: &RequestAuth) -> u64 {
    auth.time.saturating_add(MAX_CLOCK_SKEW_SECS + 1)
}

/// Checks a device's request for `account`; returns the device.
async fn authenticate_device<S: Storage>(
    state: &AppState<S>,
    raw: &Raw,
    account: AccountId,
) -> Result<DeviceId, Error> {
    let ip = raw.ip;
    state
        .limiter
        .check(ip, Instant::now())
        .map_err(|s| state.rate_limited(s))?;
    let auth = parse_headers(&raw.headers).map_err(|f| state.refuse(ip, f))?;
    let now = now();
    if !auth.fresh(now) {
        return Err(state.refuse(ip, AuthFailure::Expired));
    }
    let keys = state.storage.device_keys(auth.device).await?;
    if keys.is_empty() {
        return Err(state.refuse(ip, AuthFailure::UnknownDevice));
    }
    // The device's registration with this account; else (a device id may be registered with several
    // accounts) whichever registration the signature is from, to tell a wrong account from a forgery.
    let own = keys.iter().find(|k| k.account_id == account);
    let signer = match own {
        Some(k) => verifies(&auth, &k.key, raw).then_some(k),
        None => keys.iter().find(|k| verifies(&auth, &k.key, raw)),
    }
    .ok_or_else(|| state.refuse(ip, AuthFailure::BadSignature))?;
    let touch = own.is_some().then_some(account);
    if !state
        .storage
        .accept_nonce(touch, auth.device, auth.nonce, nonce_expiry(&auth), now)
        .await?
    {
        return Err(state.refuse(ip, AuthFailure::Replayed));
    }
    if signer.account_id != account {
        return Err(state.refuse(ip, AuthFailure::WrongAccount));
    }
    if signer.revoked {
        return Err(state.refuse(ip, AuthFailure::Revoked));
    }
    Ok(auth.device)
}

/// Checks a request signed with an account key (registration, join) for adding `new_device`: the
/// header names that device, and the signature is the account key's.
pub(crate) async fn authenticate_account_key<S: Storage>(
    state: &AppState<S>,
    raw: &Raw,
    account_key: &VerifyingKey,
    new_device: DeviceId,
) -> Result<(), Error> {
    let ip = raw.ip;
    let auth = parse_headers(&raw.headers).map_err(|f| state.refuse(ip, f))?;
    let now = now();
    if !auth.fresh(now) {
        return Err(state.refuse(ip, AuthFailure::Expired));
    }
    if auth.device != new_device
        || auth
            .verify(
                account_key,
                raw.method.as_str(),
                &raw.path_and_query,
                &raw.body,
            )
            .is_err()
    {
        return Err(state.refuse(ip, AuthFailure::BadSignature));
    }
    if !state
        .storage
        .accept_nonce(None, auth.device, auth.nonce, nonce_expiry(&auth), now)
        .await?
    {
        return Err(state.refuse(ip, AuthFailure::Replayed));
    }
    Ok(())
}
