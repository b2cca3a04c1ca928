//! Sync: a push (a batch of sealed records, applied where its bases match) and a pull (a page of the
//! change log after a sequence number), both in the protocol's binary form.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pvault_proto::ProtoError;
use pvault_proto::api::Quota;
use pvault_proto::batch::{CONTENT_TYPE, PushRequest};

use super::input::query_number;
use crate::auth::Signed;
use crate::error::Error;
use crate::state::Shared;
use crate::storage::Storage;

/// Pull pages hold at most this many changes unless asked for fewer.
const DEFAULT_PULL_LIMIT: u64 = 1000;
/// The most a pull may ask for.
const MAX_PULL_LIMIT: u64 = 10_000;

fn binary(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response()
}

/// A push's body, decoded and within the quota's batch and record sizes.
fn push_request(body: &[u8], quota: &Quota) -> Result<PushRequest, Error> {
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
    Ok(request)
}

pub(super) async fn push<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Response, Error> {
    let request = push_request(&req.raw.body, &state.quota)?;
    let result = state
        .storage
        .push(req.account, request, state.quota.max_records)
        .await?;
    state
        .metrics
        .push(result.applied.len(), result.conflicts.len());
    if !result.applied.is_empty() {
        state.announcer.announce(&req.account, result.head.seq);
    }
    Ok(binary(result.encode()))
}

/// `since` and `limit` from a pull's query (`checkpoints=1` is read by [`pull`]).
fn pull_query(path_and_query: &str) -> Result<(u64, u64), Error> {
    let since = query_number(path_and_query, "since")?.unwrap_or(0);
    let limit = query_number(path_and_query, "limit")?
        .unwrap_or(DEFAULT_PULL_LIMIT)
        .clamp(1, MAX_PULL_LIMIT);
    Ok((since, limit))
}

pub(super) async fn pull<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Response, Error> {
    let (since, limit) = pull_query(&req.raw.path_and_query)?;
    let mut page = state.storage.pull(req.account, since, limit).await?;
    // The last page may carry the checkpoints, with proofs to where it ends: one request less.
    if !page.more && query_number(&req.raw.path_and_query, "checkpoints")? == Some(1) {
        let (at, started) = (Some(page.end.seq), std::time::Instant::now());
        page.checkpoints =
            Some(super::trust::with_proofs(&state.storage, req.account, &req.device, at).await?);
        state.metrics.checkpoint_answer(started.elapsed());
    }
    state.metrics.pull();
    Ok(binary(page.encode()))
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
