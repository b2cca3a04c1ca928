//! An unlocked profile: the record operations of the seed's DataSegregator and SecurityVault.
//!
//! Every record is stored as two envelopes: its id (kind 2, bound to the hidden row key) and its body
//! (kind 1, bound to profile, collection, id and classification). Reads pick the epoch from the
//! envelope's key id, so records written before a rotation stay readable until they are resealed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pvault_crypto::{
    Classification, CollectionKeys, CryptoError, IndexKey, KeyFile, ProfileId, UnlockedKeys,
};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::home::ProfileSummary;
use crate::store::{self};
use pvault_model::models::CollectionName;

mod anomaly;
mod audit;
mod chain;
mod keys;
mod read;
mod report;
mod rotate;
mod tag;
mod verify;
mod write;

pub use chain::Attestation;
pub use report::{AuditSummary, ComplianceReport, StoredClass};
pub use rotate::RotateReport;
pub use verify::VerifyReport;

/// Largest record accepted, measured as its data's JSON encoding.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Envelopes one epoch may seal before a rotation is required: far below the 2^32 random-nonce bound of
/// AES-GCM per key (each collection has its own key; this counts all of them together).
pub const MAX_SEALS_PER_EPOCH: u64 = 1 << 31;

/// A record to write.
#[derive(Clone, Debug)]
pub struct NewRecord {
    /// Collection name.
    pub collection: String,
    /// Record id; a random one when `None`.
    pub id: Option<String>,
    /// Classification; when `None`, an update keeps the record's, and a new record gets the higher of
    /// the profile's and the collection's defaults.
    pub classification: Option<Classification>,
    /// The record's fields.
    pub data: Value,
}

/// What a write stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Written {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Classification it was sealed under.
    pub classification: Classification,
    /// New revision (hybrid logical clock).
    pub revision: u64,
    /// Writes to this record so far.
    pub version: u64,
}

/// What is sealed in a record's body.
#[derive(Serialize, Deserialize)]
pub(crate) struct Payload {
    pub(crate) id: String,
    pub(crate) schema: u32,
    pub(crate) created: String,
    pub(crate) updated: String,
    pub(crate) data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) attestation: Option<Attestation>,
}

/// A record as read back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Classification.
    pub classification: Classification,
    /// Revision (hybrid logical clock).
    pub revision: u64,
    /// Device that wrote this revision.
    pub device: String,
    /// Writes to this record so far.
    pub version: u64,
    /// First write (RFC 3339); empty when hidden.
    pub created: String,
    /// Last write (RFC 3339); empty when hidden.
    pub updated: String,
    /// The fields; `null` when hidden.
    pub data: Value,
    /// True for SECRET and TOP_SECRET records listed without a fresh re-authentication.
    pub hidden: bool,
    /// Provenance (breakthroughs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Attestation>,
}

/// A record that could not be read, named as well as it can be.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Unreadable {
    /// Collection.
    pub collection: String,
    /// Record id, or `#` and its hidden row key when the id itself does not open.
    pub id: String,
    /// What is wrong.
    pub problem: String,
}

/// The result of [`Vault::list`]: what could be read, and what could not.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Listing {
    /// Readable records, oldest revision first.
    pub records: Vec<Record>,
    /// Records that failed to open (each fails alone).
    pub unreadable: Vec<Unreadable>,
    /// The cursor of the next page ([`Vault::list_page`]); `None` after the last.
    #[serde(default)]
    pub next: Option<String>,
}

/// An unlocked profile.
pub struct Vault {
    summary: ProfileSummary,
    dir: PathBuf,
    profile: ProfileId,
    key_file: KeyFile,
    keys: UnlockedKeys,
    conn: Connection,
    device: String,
    naming: IndexKey,
    collection_keys: Mutex<HashMap<(u32, String), Arc<CollectionKeys>>>,
    index_keys: Mutex<HashMap<u32, Arc<IndexKey>>>,
    reauth_until: Option<Instant>,
    reauth_window: Duration,
    audit_keys: pvault_crypto::AuditKeys,
    tag_key: IndexKey,
    audit_pending: Mutex<Vec<crate::audit::Event>>,
    audit_on: bool,
    listeners: Mutex<anomaly::Listeners>,
}

/// A collection name given by a caller, checked.
pub(crate) fn collection_name(name: &str) -> Result<CollectionName> {
    CollectionName::parse(name).map_err(Error::InvalidCollection)
}

/// Checks a record id.
pub fn validate_record_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@' | '+'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidRecordId(id.chars().take(140).collect()))
    }
}

fn random_id() -> String {
    pvault_crypto::base32_encode(&pvault_crypto::random::bytes::<16>()).to_ascii_lowercase()
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting the current time")
}

pub(crate) fn class_of(byte: u8) -> Result<Classification> {
    Classification::from_byte(byte).ok_or(Error::Crypto(CryptoError::MalformedEnvelope(
        "unknown classification",
    )))
}

impl Vault {
    pub(crate) fn new(
        summary: ProfileSummary,
        dir: PathBuf,
        key_file: KeyFile,
        keys: UnlockedKeys,
        conn: Connection,
        device: String,
    ) -> Self {
        let profile = *keys.profile_id();
        let naming = keys.naming_key();
        let audit_keys = keys.audit_keys();
        let tag_key = keys.row_tag_key();
        let summary_window = summary.reauth_window();
        Vault {
            summary,
            dir,
            profile,
            key_file,
            keys,
            conn,
            device,
            naming,
            collection_keys: Mutex::new(HashMap::new()),
            index_keys: Mutex::new(HashMap::new()),
            reauth_until: None,
            reauth_window: summary_window,
            audit_keys,
            tag_key,
            audit_pending: Mutex::new(Vec::new()),
            audit_on: true,
            listeners: Mutex::new(Default::default()),
        }
    }

    /// This device's id.
    pub(crate) fn device(&self) -> &str {
        &self.device
    }

    /// The unlocked keys (for a backup's blob keys).
    pub(crate) fn unlocked(&self) -> &UnlockedKeys {
        &self.keys
    }

    /// The profile's registry entry.
    pub fn summary(&self) -> &ProfileSummary {
        &self.summary
    }

    /// The profile id.
    pub fn profile_id(&self) -> &ProfileId {
        &self.profile
    }

    /// The epoch new data is sealed under.
    pub fn key_id(&self) -> u32 {
        self.keys.current().id()
    }

    /// Ids of the live epochs.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.key_ids()
    }

    /// The profile's public Ed25519 key (hex).
    pub fn public_identity(&self) -> String {
        hex::encode(self.keys.identity().public().ed25519)
    }

    /// Live records per collection.
    pub fn counts(&self) -> Result<Vec<(String, u64)>> {
        store::counts(&self.conn)
    }

    /// The profile directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a re-authentication is in force (SECRET and TOP_SECRET records can be shown).
    pub fn reauth_valid(&self) -> bool {
        self.reauth_until.is_some_and(|t| Instant::now() < t)
    }

    /// Sets how long a re-authentication lasts.
    pub fn set_reauth_window(&mut self, window: Duration) {
        self.reauth_window = window;
    }

    /// Records a fresh re-authentication (after [`crate::Pvault::check_password`] succeeded).
    pub(crate) fn mark_reauthenticated(&mut self) {
        self.reauth_until = Some(Instant::now() + self.reauth_window);
    }

    /// Checks a re-authentication proof made from the password (see
    /// [`pvault_crypto::UnlockedKeys::reauth_proof`]).
    pub(crate) fn check_reauth_proof(&self, challenge: &[u8; 32], proof: &[u8]) -> bool {
        self.keys.check_reauth_proof(challenge, proof)
    }

    /// The revision of a live record, without decrypting it (`None`: no such record).
    pub fn revision_of(&self, collection: &str, id: &str) -> Result<Option<u64>> {
        let name = collection_name(collection)?;
        let row = store::get_row(&self.conn, name.as_str(), &self.rid(name.as_str(), id))?;
        Ok(row.filter(|r| !r.deleted).map(|r| r.revision))
    }

    /// Forgets any re-authentication.
    pub fn clear_reauth(&mut self) {
        self.reauth_until = None;
    }

    pub(crate) fn key_file(&self) -> &KeyFile {
        &self.key_file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_checked() {
        for ok in ["a", "openai-prod", "tx:2026@x+1", &"a".repeat(128)] {
            validate_record_id(ok).unwrap();
        }
        for bad in ["", "-a", "a b", "a/b", &"a".repeat(129), "é"] {
            assert!(validate_record_id(bad).is_err(), "{bad}");
        }
        let id = random_id();
        assert_eq!(id.len(), 26);
        validate_record_id(&id).unwrap();
    }
}
