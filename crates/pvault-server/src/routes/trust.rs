//! What lets devices check the server rather than trust it: consistency proofs over the Merkle tree
//! of the account's log, and the checkpoints (signed notes of the tree heads they saw) devices
//! publish for each other. The server builds proofs from its node table and stores checkpoints as
//! they come; it never reads a checkpoint.

use axum::Json;
use axum::extract::State;
use pvault_proto::api::{Checkpoints, DeviceCheckpoint, PutCheckpoint, TreeProof};
use pvault_proto::checkpoint::MAX_NOTE_BYTES;

use super::input::{check_size, json, query_number};
use crate::auth::{Signed, now};
use crate::error::Error;
use crate::state::Shared;
use crate::storage::Storage;

/// `from` and `to` of a proof's query: both required, `from <= to`.
fn proof_query(path_and_query: &str) -> Result<(u64, u64), Error> {
    let required = |key| {
        query_number(path_and_query, key)?
            .ok_or_else(|| Error::bad_request("bad_query", format!("{key}=N is required")))
    };
    let (from, to) = (required("from")?, required("to")?);
    if from > to {
        return Err(Error::bad_request(
            "bad_range",
            format!("from={from} is beyond to={to}: a log does not shrink"),
        ));
    }
    Ok((from, to))
}

async fn tree_proof<S: Storage>(
    storage: &S,
    account: pvault_proto::AccountId,
    from: u64,
    to: u64,
) -> Result<TreeProof, Error> {
    let parts = storage.tree_proof(account, from, to).await?;
    Ok(TreeProof {
        from,
        to,
        root_from: hex::encode(parts.root_from),
        root_to: hex::encode(parts.root_to),
        proof: parts.proof.iter().map(hex::encode).collect(),
    })
}

pub(super) async fn proof<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<TreeProof>, Error> {
    let (from, to) = proof_query(&req.raw.path_and_query)?;
    Ok(Json(
        tree_proof(&state.storage, req.account, from, to).await?,
    ))
}

pub(super) async fn put_checkpoint<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<DeviceCheckpoint>, Error> {
    let put: PutCheckpoint = json(&req.raw.body)?;
    check_size("a checkpoint", &put.note, MAX_NOTE_BYTES, "note_too_large")?;
    let stored = state
        .storage
        .put_checkpoint(req.account, req.device, put.note, now())
        .await?;
    Ok(Json(stored))
}

/// With `?to=N`, each other device's checkpoint comes with the proof from the size its note names
/// to `N` (see [`with_proofs`]).
pub(super) async fn checkpoints<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<Checkpoints>, Error> {
    let to = query_number(&req.raw.path_and_query, "to")?;
    let started = std::time::Instant::now();
    let answer = with_proofs(&state.storage, req.account, &req.device, to).await?;
    state.metrics.checkpoint_answer(started.elapsed());
    Ok(Json(answer))
}

/// Every device's latest checkpoint; with `to`, each other device's comes with the proof from the
/// size its note names to `to` (the note is read for that number only; a note without one, of
/// size `to` (nothing to prove: the roots are compared) or beyond it gets none).
pub(super) async fn with_proofs<S: Storage>(
    storage: &S,
    account: pvault_proto::AccountId,
    asking: &pvault_proto::DeviceId,
    to: Option<u64>,
) -> Result<Checkpoints, Error> {
    let mut checkpoints = storage.checkpoints(account).await?;
    if let Some(to) = to {
        let asking = hex::encode(asking);
        for c in checkpoints.iter_mut().filter(|c| c.device_id != asking) {
            let Some(size) = note_size(&c.note).filter(|&s| s < to) else {
                continue;
            };
            c.proof = match tree_proof(storage, account, size, to).await {
                Ok(p) => Some(p),
                Err(Error::BeyondHead { .. } | Error::TreePending) => None,
                Err(e) => return Err(e),
            };
        }
    }
    Ok(Checkpoints { checkpoints })
}

/// The tree size a checkpoint note names (its text's second line), if it names one.
fn note_size(note: &str) -> Option<u64> {
    let text = &note[..note.rfind("\n\n")? + 1];
    pvault_proto::checkpoint::Checkpoint::parse_body(text)
        .ok()
        .map(|c| c.size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_queries() {
        assert_eq!(proof_query("/p/proof?from=3&to=9").unwrap(), (3, 9));
        assert_eq!(proof_query("/p/proof?to=0&from=0").unwrap(), (0, 0));
        let code = |q: &str| match proof_query(q) {
            Err(Error::BadRequest { code, .. }) => code,
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(code("/p/proof?from=9&to=3"), "bad_range");
        assert_eq!(code("/p/proof?from=1"), "bad_query");
        assert_eq!(code("/p/proof?from=x&to=3"), "bad_query");
    }
}
