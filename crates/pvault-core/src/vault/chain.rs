//! The breakthrough chain: every version of an append-only record carries an attestation, a
//! content hash chained to the previous version and signed by the profile's identity.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;
use crate::error::Result;
use crate::store::{self, Row};
use pvault_model::models::{self};

/// Signed provenance of one breakthrough version: an immutable content hash, chained to the previous
/// version and signed with the profile's Ed25519 identity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attestation {
    /// Version number, from 1.
    pub version: u64,
    /// SHA-256 of the user fields (hex).
    pub content_hash: String,
    /// Chain hash of the previous version (hex), absent for version 1.
    pub previous_hash: Option<String>,
    /// SHA-256 over profile, id, version, previous hash, content hash and time (hex).
    pub chain_hash: String,
    /// When this version was recorded (RFC 3339).
    pub recorded_at: String,
    /// Ed25519 public key that signed (hex).
    pub signed_by: String,
    /// Ed25519 signature over the chain hash (hex).
    pub signature: String,
}

impl Vault {
    /// The chain hash of the newest stored version of an append-only record (after a delete too, so
    /// a record written again continues its chain).
    pub(crate) fn last_chain_hash(
        &self,
        conn: &Connection,
        row: &Row,
        id: &str,
    ) -> Result<Option<String>> {
        let last = store::versions_of(conn, &row.collection, &row.rid)?.pop();
        match last {
            None => Ok(None),
            Some(v) => Ok(self.open_version(&v, id)?.attestation.map(|a| a.chain_hash)),
        }
    }

    pub(crate) fn chain_hash(
        &self,
        id: &str,
        version: u64,
        previous: Option<&str>,
        content_hash: &str,
        recorded_at: &str,
    ) -> String {
        hex::encode(pvault_crypto::chain::breakthrough_link(
            &self.profile,
            id,
            version,
            previous,
            content_hash,
            recorded_at,
        ))
    }

    pub(crate) fn attest(
        &self,
        id: &str,
        version: u64,
        data: &Value,
        previous: Option<String>,
        now: &str,
    ) -> Attestation {
        let content_hash = hex::encode(pvault_crypto::sha256(&models::breakthrough_hash_input(
            data,
        )));
        let chain_hash = self.chain_hash(id, version, previous.as_deref(), &content_hash, now);
        let identity = self.keys.identity();
        Attestation {
            version,
            content_hash,
            previous_hash: previous,
            signature: hex::encode(identity.sign(chain_hash.as_bytes())),
            chain_hash,
            recorded_at: now.to_string(),
            signed_by: hex::encode(identity.public().ed25519),
        }
    }

    /// Checks one version's attestation against its content, the previous link and the signature.
    pub(crate) fn check_attestation(
        &self,
        id: &str,
        payload: &Payload,
        previous: Option<&str>,
    ) -> std::result::Result<(), String> {
        let a = payload.attestation.as_ref().ok_or("no attestation")?;
        let content_hash = hex::encode(pvault_crypto::sha256(&models::breakthrough_hash_input(
            &payload.data,
        )));
        if content_hash != a.content_hash {
            return Err("content hash does not match the content".into());
        }
        if a.previous_hash.as_deref() != previous {
            return Err(
                "hash chain broken: previous hash does not match the previous version".into(),
            );
        }
        if self.chain_hash(id, a.version, previous, &a.content_hash, &a.recorded_at) != a.chain_hash
        {
            return Err("chain hash does not match".into());
        }
        let public = self.key_file.public_identity().map_err(|e| e.to_string())?;
        if hex::encode(public.ed25519) != a.signed_by {
            return Err("signed by another identity".into());
        }
        let sig = hex::decode(&a.signature).map_err(|_| "signature is not hex")?;
        public
            .verify(a.chain_hash.as_bytes(), &sig)
            .map_err(|_| "signature does not verify".to_string())
    }
}
