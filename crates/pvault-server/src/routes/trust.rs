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

pub(super) async fn proof<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<TreeProof>, Error> {
    let (from, to) = proof_query(&req.raw.path_and_query)?;
    let parts = state.storage.tree_proof(req.account, from, to).await?;
    Ok(Json(TreeProof {
        from,
        to,
        root_from: hex::encode(parts.root_from),
        root_to: hex::encode(parts.root_to),
        proof: parts.proof.iter().map(hex::encode).collect(),
    }))
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

pub(super) async fn checkpoints<S: Storage>(
    State(state): Shared<S>,
    req: Signed,
) -> Result<Json<Checkpoints>, Error> {
    Ok(Json(Checkpoints {
        checkpoints: state.storage.checkpoints(req.account).await?,
    }))
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
