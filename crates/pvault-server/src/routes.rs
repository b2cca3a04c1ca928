//! The HTTP API (the endpoint table is in [`pvault_proto::api`]): one handler per endpoint, each
//! checking its input, calling the storage, and answering in the protocol's JSON or binary form.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use pvault_proto::api::{
    AccountInfo, Announce, Bundle, JoinResponse, MAX_BUNDLE_BYTES, NewDevice, Prelogin, PutBundle,
    Quota, RegisterAccount, validate_device_name, validate_username,
};
use pvault_proto::auth::{VerifyingKey, parse_public_key};
use pvault_proto::batch::{CONTENT_TYPE, PushRequest};
use pvault_proto::{AccountId, DeviceId, ProtoError, parse_id16};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::auth::{Raw, Signed, authenticate_account_key, now};
use crate::error::Error;
use crate::state::AppState;
use crate::storage::{AccountRow, BundleRow, BundleUpdate, NewAccount, NewDeviceRow, Storage};

/// Pull pages hold at most this many changes unless asked for fewer.
const DEFAULT_PULL_LIMIT: u64 = 1000;
/// The most a pull may ask for.
const MAX_PULL_LIMIT: u64 = 10_000;
/// How often an open WebSocket checks that its device is still allowed.
const WS_RECHECK: Duration = Duration::from_secs(30);

type Shared<S> = State<Arc<AppState<S>>>;

/// The whole API.
pub(crate) fn router<S: Storage>(state: Arc<AppState<S>>, max_request_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(health::<S>))
        .route("/metrics", get(metrics::<S>))
        .route("/v1/accounts", post(register::<S>))
        .route("/v1/accounts/{username}/prelogin", get(prelogin::<S>))
        .route("/v1/accounts/{username}/devices", post(join::<S>))
        .route("/v1/profiles/{account}", get(account::<S>))
        .route(
            "/v1/profiles/{account}/bundle",
            get(get_bundle::<S>).put(put_bundle::<S>),
        )
        .route(
            "/v1/profiles/{account}/devices/{device}",
            delete(revoke::<S>),
        )
        .route("/v1/profiles/{account}/push", post(push::<S>))
        .route("/v1/profiles/{account}/pull", get(pull::<S>))
        .route("/v1/profiles/{account}/ws", get(ws::<S>))
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), count::<S>))
        .layer(DefaultBodyLimit::max(max_request_bytes))
        .with_state(state)
}

/// Counts every answer by route and status class.
async fn count<S: Storage>(State(state): Shared<S>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state.metrics.request(&route, response.status().as_u16());
    response
}

fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::bad_request("bad_json", format!("malformed JSON body: {e}")))
}

fn invalid(code: &'static str) -> impl Fn(ProtoError) -> Error {
    move |e| Error::bad_request(code, e.to_string())
}

fn check_opaque(what: &str, s: &str) -> Result<(), Error> {
    if s.len() > MAX_BUNDLE_BYTES {
        return Err(Error::too_large(
            "bundle_too_large",
            format!("{what} is larger than {MAX_BUNDLE_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// A device as given in a registration or join.
fn new_device(d: &NewDevice) -> Result<NewDeviceRow, Error> {
    validate_device_name(&d.name).map_err(invalid("bad_device_name"))?;
    Ok(NewDeviceRow {
        device_id: parse_id16("device_id", &d.device_id).map_err(invalid("bad_id"))?,
        device_key: *parse_public_key("device_key", &d.device_key)
            .map_err(invalid("bad_key"))?
            .as_bytes(),
        name: d.name.clone(),
    })
}

fn account_info(row: AccountRow, quota: Quota) -> AccountInfo {
    AccountInfo {
        account_id: hex::encode(row.account_id),
        username: row.username,
        head_seq: row.head_seq,
        bundle_version: row.bundle_version,
        records: row.records,
        quota,
        devices: row.devices,
    }
}

fn bundle(row: BundleRow) -> Bundle {
    Bundle {
        version: row.version,
        kdf: row.kdf,
        bundle: row.bundle,
    }
}

async fn load_account<S: Storage>(
    state: &AppState<S>,
    account: AccountId,
) -> Result<AccountInfo, Error> {
    let row = state
        .storage
        .account(account)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(account_info(row, state.quota))
}

async fn health<S: Storage>(State(state): Shared<S>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(3), state.storage.ping()).await;
    match ping {
        Ok(Ok(())) => {
            Json(serde_json::json!({"status": "ok", "backend": state.backend})).into_response()
        }
        Ok(Err(_)) | Err(_) => Error::Unavailable.into_response(),
    }
}

async fn metrics<S: Storage>(State(state): Shared<S>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn register<S: Storage>(
    State(state): Shared<S>,
    raw: Raw,
) -> Result<Json<AccountInfo>, Error> {
    let reg: RegisterAccount = json(&raw.body)?;
    validate_username(&reg.username).map_err(invalid("bad_username"))?;
    state
        .limiter
        .attempt(raw.ip, &reg.username, Instant::now())
        .map_err(|s| state.rate_limited(s))?;
    let account_id = parse_id16("account_id", &reg.account_id).map_err(invalid("bad_id"))?;
    let account_key =
        parse_public_key("account_key", &reg.account_key).map_err(invalid("bad_key"))?;
    let device = new_device(&reg.device)?;
    check_opaque("kdf", &reg.kdf)?;
    check_opaque("bundle", &reg.bundle)?;
    authenticate_account_key(&state, &raw, &account_key, device.device_id).await?;
    state
        .storage
        .create_account(NewAccount {
            account_id,
            username: reg.username,
            account_key: *account_key.as_bytes(),
            kdf: reg.kdf,
            bundle: reg.bundle,
            device,
            now: now(),
        })
        .await?;
    Ok(Json(load_account(&state, account_id).await?))
}

async fn prelogin<S: Storage>(State(state): Shared<S>, raw: Raw) -> Result<Json<Prelogin>, Error> {
    let username = raw.param("username")?;
    validate_username(username).map_err(invalid("bad_username"))?;
    state
        .limiter
        .attempt(raw.ip, username, Instant::now())
        .map_err(|s| state.rate_limited(s))?;
    let (account_id, _, kdf) = state
        .storage
        .find_username(username)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(Json(Prelogin {
        account_id: hex::encode(account_id),
        kdf,
    }))
}

async fn join<S: Storage>(State(state): Shared<S>, raw: Raw) -> Result<Json<JoinResponse>, Error> {
    let username = raw.param("username")?;
    validate_username(username).map_err(invalid("bad_username"))?;
    state
        .limiter
        .attempt(raw.ip, username, Instant::now())
        .map_err(|s| state.rate_limited(s))?;
    let device = new_device(&json::<NewDevice>(&raw.body)?)?;
    let (account_id, key, _) = state
        .storage
        .find_username(username)
        .await?
        .ok_or(Error::UnknownAccount)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| {
        Error::Database(sqlx::Error::Decode(
            "stored account key is not a valid key".into(),
        ))
    })?;
    authenticate_account_key(&state, &raw, &key, device.device_id).await?;
    state.storage.add_device(account_id, device, now()).await?;
    let account = load_account(&state, account_id).await?;
    let bundle_row = state
        .storage
        .bundle(account_id)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(Json(JoinResponse {
        account,
        bundle: bundle(bundle_row),
    }))
}

async fn account<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<AccountInfo>, Error> {
    Ok(Json(load_account(&state, req.account).await?))
}

async fn get_bundle<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<Bundle>, Error> {
    let row = state
        .storage
        .bundle(req.account)
        .await?
        .ok_or(Error::UnknownAccount)?;
    Ok(Json(bundle(row)))
}

async fn put_bundle<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<Bundle>, Error> {
    let put: PutBundle = json(&req.raw.body)?;
    check_opaque("kdf", &put.kdf)?;
    check_opaque("bundle", &put.bundle)?;
    let account_key = put
        .account_key
        .as_deref()
        .map(|k| parse_public_key("account_key", k).map(|k| *k.as_bytes()))
        .transpose()
        .map_err(invalid("bad_key"))?;
    let row = state
        .storage
        .put_bundle(
            req.account,
            BundleUpdate {
                expected_version: put.expected_version,
                kdf: put.kdf,
                bundle: put.bundle,
                account_key,
            },
        )
        .await?;
    Ok(Json(bundle(row)))
}

async fn revoke<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<AccountInfo>, Error> {
    let device: DeviceId = req.raw.id_param("device")?;
    state.storage.revoke_device(req.account, device).await?;
    Ok(Json(load_account(&state, req.account).await?))
}

fn binary(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response()
}

async fn push<S: Storage>(State(state): Shared<S>, req: Signed) -> Result<Response, Error> {
    let quota = state.quota;
    let body = &req.raw.body;
    if body.len() as u64 > quota.max_batch_bytes {
        return Err(Error::too_large(
            "batch_too_large",
            format!("a push may carry at most {} bytes", quota.max_batch_bytes),
        ));
    }
    let request = PushRequest::decode(body).map_err(|e| match e {
        ProtoError::TooLarge("blob") => Error::too_large("record_too_large", e.to_string()),
        ProtoError::TooLarge(_) => Error::too_large("batch_too_large", e.to_string()),
        e => Error::bad_request("bad_message", e.to_string()),
    })?;
    if request.items.len() as u64 > quota.max_batch_items {
        return Err(Error::too_large(
            "batch_too_large",
            format!("a push may carry at most {} records", quota.max_batch_items),
        ));
    }
    if request
        .items
        .iter()
        .any(|i| i.blob.len() as u64 > quota.max_blob_bytes)
    {
        return Err(Error::too_large(
            "record_too_large",
            format!("a record may be at most {} bytes", quota.max_blob_bytes),
        ));
    }
    let result = state
        .storage
        .push(req.account, request, quota.max_records)
        .await?;
    state
        .metrics
        .push(result.applied.len(), result.conflicts.len());
    if !result.applied.is_empty() {
        state.announcer.announce(&req.account, result.head.seq);
    }
    Ok(binary(result.encode()))
}

/// `since` and `limit` from a pull's query.
fn pull_query(path_and_query: &str) -> Result<(u64, u64), Error> {
    let (mut since, mut limit) = (0, DEFAULT_PULL_LIMIT);
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value.parse::<u64>().map_err(|_| {
                Error::bad_request(
                    "bad_query",
                    format!("{key} must be a number, not {value:?}"),
                )
            })
        };
        match key {
            "since" => since = number()?,
            "limit" => limit = number()?.clamp(1, MAX_PULL_LIMIT),
            _ => {}
        }
    }
    Ok((since, limit))
}

async fn pull<S: Storage>(State(state): Shared<S>, req: Signed) -> Result<Response, Error> {
    let (since, limit) = pull_query(&req.raw.path_and_query)?;
    let page = state.storage.pull(req.account, since, limit).await?;
    state.metrics.pull();
    Ok(binary(page.encode()))
}

async fn ws<S: Storage>(
    State(state): Shared<S>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    req: Signed,
) -> Result<Response, Error> {
    let upgrade = upgrade.map_err(|e| Error::bad_request("not_websocket", e.body_text()))?;
    let (account, device) = (req.account, req.device);
    Ok(upgrade.on_upgrade(move |socket| announce(state, account, device, socket)))
}

/// Serves one WebSocket: the head right away, then every newer head, until the client leaves, the
/// device is revoked or the server stops.
async fn announce<S: Storage>(
    state: Arc<AppState<S>>,
    account: AccountId,
    device: DeviceId,
    mut socket: WebSocket,
) {
    state.metrics.ws_opened();
    // Subscribe before reading the head, so no push falls in between.
    let mut heads = state.announcer.subscribe(account);
    if let Ok(Some(head)) = state.storage.head_seq(account).await {
        serve_socket(&state, account, device, &mut socket, &mut heads, head).await;
    }
    let _ = socket.send(Message::Close(None)).await;
    drop(heads);
    state.announcer.release(&account);
    state.metrics.ws_closed();
}

async fn serve_socket<S: Storage>(
    state: &AppState<S>,
    account: AccountId,
    device: DeviceId,
    socket: &mut WebSocket,
    heads: &mut watch::Receiver<u64>,
    head: u64,
) {
    let send = |seq: u64| {
        state.metrics.announcement();
        let text = serde_json::to_string(&Announce { seq }).unwrap_or_default();
        Message::Text(text.into())
    };
    if socket.send(send(head)).await.is_err() {
        return;
    }
    let mut sent = head;
    let mut shutdown = state.shutdown.clone();
    let mut recheck = tokio::time::interval(WS_RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            changed = heads.changed() => {
                if changed.is_err() {
                    return;
                }
                let seq = *heads.borrow_and_update();
                if seq > sent {
                    if socket.send(send(seq)).await.is_err() {
                        return;
                    }
                    sent = seq;
                }
            }
            message = socket.recv() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                // Pings are answered by the socket itself; anything else from the client is ignored.
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => return,
            _ = recheck.tick() => {
                let allowed = state.storage.device_keys(device).await.is_ok_and(|keys| {
                    keys.iter().any(|k| k.account_id == account && !k.revoked)
                });
                if !allowed {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_queries() {
        assert_eq!(pull_query("/p/pull").unwrap(), (0, DEFAULT_PULL_LIMIT));
        assert_eq!(pull_query("/p/pull?since=5&limit=20").unwrap(), (5, 20));
        assert_eq!(pull_query("/p/pull?limit=0&x=y").unwrap(), (0, 1));
        assert_eq!(
            pull_query("/p/pull?limit=99999").unwrap(),
            (0, MAX_PULL_LIMIT)
        );
        assert!(matches!(
            pull_query("/p/pull?since=-1"),
            Err(Error::BadRequest {
                code: "bad_query",
                ..
            })
        ));
    }
}
