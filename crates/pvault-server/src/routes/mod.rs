//! The HTTP API (the endpoint table is in [`pvault_proto::api`]): the [`router`], and one handler per
//! endpoint, each checking its input, calling the storage, and answering in the protocol's JSON or
//! binary form. By area: [`accounts`] (registration, prelogin, the account and its key bundle),
//! [`devices`] (join, revocation, certificates), [`sync`] (push, pull), [`trust`] (tree proofs and
//! checkpoints), [`ws`] (head announcements over a WebSocket) and [`ops`] (health, metrics, and the
//! request counter every answer passes through).
//! What several areas check in a request is in [`input`].

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{delete, get, post, put};

use crate::error::Error;
use crate::state::AppState;
use crate::storage::Storage;

mod accounts;
mod devices;
mod input;
mod ops;
mod sync;
mod trust;
mod ws;

/// The whole API.
pub(crate) fn router<S: Storage>(state: Arc<AppState<S>>, max_request_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(ops::health::<S>))
        .route("/metrics", get(ops::metrics::<S>))
        .route("/v1/accounts", post(accounts::register::<S>))
        .route(
            "/v1/accounts/{username}/prelogin",
            get(accounts::prelogin::<S>),
        )
        .route("/v1/accounts/{username}/devices", post(devices::join::<S>))
        .route("/v1/profiles/{account}", get(accounts::account::<S>))
        .route(
            "/v1/profiles/{account}/bundle",
            get(accounts::get_bundle::<S>).put(accounts::put_bundle::<S>),
        )
        .route(
            "/v1/profiles/{account}/devices/{device}",
            delete(devices::revoke::<S>),
        )
        .route(
            "/v1/profiles/{account}/devices/{device}/certificate",
            put(devices::put_certificate::<S>),
        )
        .route("/v1/profiles/{account}/push", post(sync::push::<S>))
        .route("/v1/profiles/{account}/pull", get(sync::pull::<S>))
        .route("/v1/profiles/{account}/proof", get(trust::proof::<S>))
        .route(
            "/v1/profiles/{account}/checkpoint",
            put(trust::put_checkpoint::<S>),
        )
        .route(
            "/v1/profiles/{account}/checkpoints",
            get(trust::checkpoints::<S>),
        )
        .route("/v1/profiles/{account}/ws", get(ws::ws::<S>))
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ops::count::<S>,
        ))
        .layer(DefaultBodyLimit::max(max_request_bytes))
        .with_state(state)
}
