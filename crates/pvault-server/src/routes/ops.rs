//! Operations: `/health` (is the database there?), `/metrics` (Prometheus text), and the middleware
//! that counts every answer by route and status class.

use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;
use crate::state::Shared;
use crate::storage::Storage;

/// Counts every answer by route and status class.
pub(super) async fn count<S: Storage>(
    State(state): Shared<S>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state.metrics.request(&route, response.status().as_u16());
    response
}

pub(super) async fn health<S: Storage>(State(state): Shared<S>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(3), state.storage.ping()).await;
    match ping {
        Ok(Ok(())) => {
            Json(serde_json::json!({"status": "ok", "backend": state.backend})).into_response()
        }
        Ok(Err(_)) | Err(_) => Error::Unavailable.into_response(),
    }
}

pub(super) async fn metrics<S: Storage>(State(state): Shared<S>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
