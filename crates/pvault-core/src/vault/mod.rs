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
    Aad, Classification, CollectionKeys, CryptoError, IndexKey, KeyFile, Kind, ProfileId,
    UnlockedKeys, envelope,
};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fsutil;
use crate::home::ProfileSummary;
use crate::store::{self, Row, VersionRow, WriteTx};
use pvault_model::hlc;
use pvault_model::models::{self, CollectionKind, CollectionName};

mod replica;
pub(crate) use replica::item_is_tombstone;

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

/// What is sealed in a record's body.
#[derive(Serialize, Deserialize)]
struct Payload {
    id: String,
    schema: u32,
    created: String,
    updated: String,
    data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attestation: Option<Attestation>,
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
}

/// The result of [`Vault::verify`].
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct VerifyReport {
    /// Record rows checked (tombstones included).
    pub records: u64,
    /// Breakthrough versions checked.
    pub versions: u64,
    /// Every problem found.
    pub problems: Vec<Unreadable>,
}

/// The result of [`Vault::rotate_keys`].
#[derive(Clone, Debug, Serialize)]
pub struct RotateReport {
    /// The epoch now in use.
    pub key_id: u32,
    /// Whether an interrupted rotation was resumed.
    pub resumed: bool,
    /// Record rows resealed.
    pub records: u64,
    /// Breakthrough versions resealed.
    pub versions: u64,
    /// Epochs destroyed.
    pub destroyed: Vec<u32>,
    /// Old epochs kept because the profile syncs: other devices may still send records sealed under
    /// them, and sync history refers to them. New data is sealed under `key_id` only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_for_sync: Vec<u32>,
}

/// `meta` key: the epoch an unfinished rotation is moving to (0: none).
const ROTATING: &str = "rotating";

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

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting the current time")
}

fn class_of(byte: u8) -> Result<Classification> {
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
        }
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

    // ----- keys -----

    fn keys_for(&self, key_id: u32, collection: &str) -> Result<Arc<CollectionKeys>> {
        let mut cache = self.collection_keys.lock().expect("key cache lock");
        if let Some(k) = cache.get(&(key_id, collection.to_string())) {
            return Ok(k.clone());
        }
        let k = Arc::new(
            self.keys
                .root(key_id)?
                .collection_keys(&self.profile, collection),
        );
        cache.insert((key_id, collection.to_string()), k.clone());
        Ok(k)
    }

    fn rid(&self, collection: &str, id: &str) -> [u8; 16] {
        self.naming.token(&[collection.as_bytes(), id.as_bytes()])
    }

    fn record_aad<'a>(&'a self, collection: &'a str, id: &'a str, c: Classification) -> Aad<'a> {
        Aad {
            profile: &self.profile,
            kind: Kind::Record,
            collection,
            record_id: id,
            classification: c,
        }
    }

    fn id_aad<'a>(&'a self, collection: &'a str, rid_hex: &'a str) -> Aad<'a> {
        // The id box is always single-layer INTERNAL, so a record stays nameable even if its
        // classification column is tampered with.
        Aad {
            profile: &self.profile,
            kind: Kind::RecordId,
            collection,
            record_id: rid_hex,
            classification: Classification::Internal,
        }
    }

    fn version_record_id(id: &str, version: u64) -> String {
        format!("{id}#v{version}")
    }

    fn index_tokens(
        &self,
        key_id: u32,
        collection: &str,
        entries: &[(&'static str, String)],
    ) -> Result<Vec<(&'static str, [u8; 16])>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let ik = {
            let mut cache = self.index_keys.lock().expect("index key cache lock");
            match cache.get(&key_id) {
                Some(k) => k.clone(),
                None => {
                    let k = Arc::new(self.keys.root(key_id)?.index_key(&self.profile));
                    cache.insert(key_id, k.clone());
                    k
                }
            }
        };
        Ok(entries
            .iter()
            .map(|(f, v)| {
                (
                    *f,
                    ik.token(&[collection.as_bytes(), f.as_bytes(), v.as_bytes()]),
                )
            })
            .collect())
    }

    // ----- opening -----

    fn open_id(&self, row: &Row) -> Result<String> {
        let rid_hex = hex::encode(row.rid);
        // Envelopes name the epoch that sealed them; the key_id column is only an index for rotation.
        let key_id = envelope::key_id(&row.id_box).unwrap_or(row.key_id);
        let keys = self
            .keys_for(key_id, &row.collection)
            .map_err(|_| Error::Tampered {
                collection: row.collection.clone(),
                id: format!("#{rid_hex}"),
            })?;
        let raw = envelope::open(&keys, &self.id_aad(&row.collection, &rid_hex), &row.id_box)
            .map_err(|_| Error::Tampered {
                collection: row.collection.clone(),
                id: format!("#{rid_hex}"),
            })?;
        let id = String::from_utf8(raw.to_vec()).map_err(|_| Error::Tampered {
            collection: row.collection.clone(),
            id: format!("#{rid_hex}"),
        })?;
        if self.rid(&row.collection, &id) != row.rid {
            return Err(Error::Tampered {
                collection: row.collection.clone(),
                id,
            });
        }
        Ok(id)
    }

    fn open_body(&self, row: &Row, id: &str) -> Result<Payload> {
        let tampered = || Error::Tampered {
            collection: row.collection.clone(),
            id: id.to_string(),
        };
        let body = row.body.as_ref().ok_or_else(tampered)?;
        let c = class_of(row.classification).map_err(|_| tampered())?;
        let key_id = envelope::key_id(body).map_err(|_| tampered())?;
        let keys = self
            .keys_for(key_id, &row.collection)
            .map_err(|_| tampered())?;
        let raw = envelope::open(&keys, &self.record_aad(&row.collection, id, c), body)
            .map_err(|_| tampered())?;
        let payload: Payload = serde_json::from_slice(&raw).map_err(|_| tampered())?;
        if payload.id != id {
            return Err(tampered());
        }
        Ok(payload)
    }

    fn to_record(&self, row: &Row, id: String, payload: Option<Payload>) -> Result<Record> {
        let classification = class_of(row.classification)?;
        let (created, updated, data, attestation, hidden) = match payload {
            Some(p) => (p.created, p.updated, p.data, p.attestation, false),
            None => (String::new(), String::new(), Value::Null, None, true),
        };
        Ok(Record {
            collection: row.collection.clone(),
            id,
            classification,
            revision: row.revision,
            device: row.device.clone(),
            version: row.version,
            created,
            updated,
            data,
            hidden,
            attestation,
        })
    }

    /// Whether a re-authentication is in force (SECRET and TOP_SECRET records can be shown).
    pub fn reauth_valid(&self) -> bool {
        self.reauth_until.is_some_and(|t| Instant::now() < t)
    }

    // ----- re-authentication -----

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
        let name = CollectionName::parse(collection)?;
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

    // ----- reads -----

    /// Reads one record. SECRET and TOP_SECRET need a re-authentication within the window.
    pub fn get(&self, collection: &str, id: &str) -> Result<Record> {
        let name = CollectionName::parse(collection)?;
        let not_found = || Error::NotFound {
            collection: name.to_string(),
            id: id.to_string(),
        };
        let row = store::get_row(&self.conn, name.as_str(), &self.rid(name.as_str(), id))?
            .ok_or_else(not_found)?;
        if row.deleted {
            return Err(not_found());
        }
        let classification = class_of(row.classification).map_err(|_| Error::Tampered {
            collection: name.to_string(),
            id: id.to_string(),
        })?;
        if classification.needs_reauth() && !self.reauth_valid() {
            return Err(Error::ReauthRequired {
                collection: name.to_string(),
                id: id.to_string(),
                classification,
            });
        }
        let payload = self.open_body(&row, id)?;
        self.to_record(&row, id.to_string(), Some(payload))
    }

    /// Every version of a breakthrough, oldest first, each with its attestation checked.
    pub fn history(&self, collection: &str, id: &str) -> Result<Vec<Record>> {
        let name = CollectionName::parse(collection)?;
        let rid = self.rid(name.as_str(), id);
        let row =
            store::get_row(&self.conn, name.as_str(), &rid)?.ok_or_else(|| Error::NotFound {
                collection: name.to_string(),
                id: id.to_string(),
            })?;
        if name.kind() != CollectionKind::Breakthroughs {
            return Err(Error::NoHistory(name.to_string()));
        }
        let tampered = || Error::Tampered {
            collection: name.to_string(),
            id: id.to_string(),
        };
        let versions = store::versions_of(&self.conn, name.as_str(), &rid)?;
        // The highest level over the record and every version: an old SECRET version stays SECRET
        // even when the record was lowered since.
        let mut classification = class_of(row.classification).map_err(|_| tampered())?;
        for v in &versions {
            classification =
                classification.max(class_of(v.classification).map_err(|_| tampered())?);
        }
        if classification.needs_reauth() && !self.reauth_valid() {
            return Err(Error::ReauthRequired {
                collection: name.to_string(),
                id: id.to_string(),
                classification,
            });
        }
        let mut out = Vec::new();
        let mut previous: Option<String> = None;
        for v in versions {
            let payload = self.open_version(&v, id)?;
            self.check_attestation(id, &payload, previous.as_deref())
                .map_err(|problem| Error::Tampered {
                    collection: name.to_string(),
                    id: format!("{id} version {}: {problem}", v.version),
                })?;
            previous = payload.attestation.as_ref().map(|a| a.chain_hash.clone());
            let vrow = Row {
                collection: v.collection.clone(),
                rid,
                id_box: Vec::new(),
                classification: v.classification,
                key_id: v.key_id,
                body: None,
                revision: v.revision,
                device: row.device.clone(),
                version: v.version,
                deleted: false,
            };
            out.push(self.to_record(&vrow, id.to_string(), Some(payload))?);
        }
        Ok(out)
    }

    fn open_version(&self, v: &VersionRow, id: &str) -> Result<Payload> {
        let tampered = || Error::Tampered {
            collection: v.collection.clone(),
            id: format!("{id} version {}", v.version),
        };
        let c = class_of(v.classification).map_err(|_| tampered())?;
        let keys = self
            .keys_for(v.key_id, &v.collection)
            .map_err(|_| tampered())?;
        let vid = Self::version_record_id(id, v.version);
        let raw = envelope::open(&keys, &self.record_aad(&v.collection, &vid, c), &v.body)
            .map_err(|_| tampered())?;
        serde_json::from_slice(&raw).map_err(|_| tampered())
    }

    /// Lists a collection, optionally filtered by an equality on a declared field (through the blind
    /// index: only matching records are decrypted). A record that fails to open is reported in
    /// `unreadable` and does not stop the others.
    pub fn list(&self, collection: &str, filter: Option<(&str, &str)>) -> Result<Listing> {
        let name = CollectionName::parse(collection)?;
        let rows = match filter {
            None => store::rows_of(&self.conn, Some(name.as_str()), false)?,
            Some((field, value)) => {
                let canonical = models::canonical_query_value(&name, field, value)?;
                let field = models::indexed_fields(name.kind())
                    .iter()
                    .find(|f| **f == field)
                    .copied()
                    .unwrap_or("");
                let mut tokens = Vec::new();
                for key_id in self.keys.key_ids() {
                    let t =
                        self.index_tokens(key_id, name.as_str(), &[(field, canonical.clone())])?;
                    tokens.push(t[0].1);
                }
                let mut rows = Vec::new();
                for rid in store::lookup_index(&self.conn, name.as_str(), field, &tokens)? {
                    if let Some(r) =
                        store::get_row(&self.conn, name.as_str(), &rid)?.filter(|r| !r.deleted)
                    {
                        rows.push(r);
                    }
                }
                rows.sort_by_key(|r| r.revision);
                rows
            }
        };
        let mut listing = Listing::default();
        let reauth = self.reauth_valid();
        for row in rows {
            // The best name for a record that fails: its id once that opened, else its row key.
            let mut row_ref = format!("#{}", hex::encode(row.rid));
            let row_collection = row.collection.clone();
            let result = self.open_id(&row).and_then(|id| {
                row_ref = id.clone();
                let hide = class_of(row.classification)
                    .map_err(|_| Error::Tampered {
                        collection: row.collection.clone(),
                        id: id.clone(),
                    })?
                    .needs_reauth()
                    && !reauth;
                let payload = if hide {
                    None
                } else {
                    Some(self.open_body(&row, &id)?)
                };
                self.to_record(&row, id, payload)
            });
            match result {
                Ok(r) => listing.records.push(r),
                Err(Error::Tampered { collection, id }) => listing.unreadable.push(Unreadable {
                    collection,
                    id,
                    problem: "does not decrypt: tampered with, corrupted or moved from elsewhere"
                        .into(),
                }),
                Err(e) => listing.unreadable.push(Unreadable {
                    collection: row_collection,
                    id: row_ref,
                    problem: e.to_string(),
                }),
            }
        }
        Ok(listing)
    }

    // ----- writes -----

    /// Writes one record (insert or update) and returns once it is durable.
    pub fn put(&mut self, record: NewRecord) -> Result<Written> {
        Ok(self.put_many(vec![record], &mut |_, _| {})?.remove(0))
    }

    /// Writes records in one transaction: all of them are durable when this returns, or none is
    /// written. `progress(done, total)` is called as records are sealed.
    pub fn put_many(
        &mut self,
        records: Vec<NewRecord>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<Written>> {
        let total = records.len() as u64;
        let tx = self.begin_write()?;
        let mut revision = store::meta_u64(&tx, "hlc")?;
        let key_id = self.keys.current().id();
        let mut seals = 0u64;
        let mut out = Vec::with_capacity(records.len());
        for (i, rec) in records.into_iter().enumerate() {
            revision = hlc::next(revision, hlc::wall_ms());
            let (written, n) = self.write_one(&tx, rec, revision, key_id)?;
            seals += n;
            out.push(written);
            if i % 1024 == 1023 {
                progress(i as u64 + 1, total);
            }
        }
        store::set_meta_u64(&tx, "hlc", revision)?;
        self.count_seals(&tx, key_id, seals)?;
        tx.commit()?;
        progress(total, total);
        Ok(out)
    }

    /// Begins a write transaction, refusing if another process has rotated the keys since this vault
    /// was unlocked: writing under an epoch that rotation is about to destroy would lose the write.
    fn begin_write(&self) -> Result<WriteTx<'_>> {
        let tx = WriteTx::begin(&self.conn)?;
        let fenced = store::meta_u64(&tx, "key_id")?;
        if fenced > u64::from(self.keys.current().id()) {
            return Err(Error::KeysChanged);
        }
        Ok(tx)
    }

    fn count_seals(&self, conn: &Connection, key_id: u32, n: u64) -> Result<()> {
        let key = format!("seals/{key_id}");
        let total = store::meta_u64(conn, &key)? + n;
        if total > MAX_SEALS_PER_EPOCH {
            return Err(Error::KeyExhausted(key_id));
        }
        store::set_meta_u64(conn, &key, total)
    }

    fn write_one(
        &self,
        conn: &Connection,
        rec: NewRecord,
        revision: u64,
        key_id: u32,
    ) -> Result<(Written, u64)> {
        let name = CollectionName::parse(&rec.collection)?;
        let id = match rec.id {
            Some(id) => {
                validate_record_id(&id)?;
                id
            }
            None => random_id(),
        };
        let size = serde_json::to_vec(&rec.data)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_RECORD_BYTES {
            return Err(Error::TooLarge {
                size,
                limit: MAX_RECORD_BYTES,
            });
        }
        let valid = models::validate(&name, &id, rec.data)?;
        let rid = self.rid(name.as_str(), &id);
        let existing = store::get_row(conn, name.as_str(), &rid)?;
        let classification = match (rec.classification, &existing) {
            (Some(c), _) => c,
            (None, Some(row)) if !row.deleted => {
                class_of(row.classification)?.max(valid.min_classification)
            }
            (None, _) => self
                .summary
                .security
                .default_classification()
                .max(valid.default_classification),
        };
        if classification < valid.min_classification {
            return Err(Error::ClassificationTooLow {
                collection: name.to_string(),
                min: valid.min_classification,
                given: classification,
            });
        }
        let now = now_rfc3339();
        let (created, version, previous_chain) = match &existing {
            Some(row) => {
                let prev = if row.deleted {
                    None
                } else {
                    Some(self.open_body(row, &id)?)
                };
                let created = prev
                    .as_ref()
                    .map(|p| p.created.clone())
                    .unwrap_or_else(|| now.clone());
                (
                    created,
                    row.version + 1,
                    self.last_chain_hash(conn, row, &id)?,
                )
            }
            None => (now.clone(), 1, None),
        };
        let append_only = name.kind() == CollectionKind::Breakthroughs;
        let attestation =
            append_only.then(|| self.attest(&id, version, &valid.data, previous_chain, &now));
        let payload = Payload {
            id: id.clone(),
            schema: models::SCHEMA_VERSION,
            created,
            updated: now,
            data: valid.data,
            attestation,
        };
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(&payload).expect("payload serializes"));
        let keys = self.keys_for(key_id, name.as_str())?;
        let body = envelope::seal(
            &keys,
            &self.record_aad(name.as_str(), &id, classification),
            &plain,
        )?;
        let rid_hex = hex::encode(rid);
        let id_box = envelope::seal(&keys, &self.id_aad(name.as_str(), &rid_hex), id.as_bytes())?;
        let mut seals = 2;
        if append_only {
            let vid = Self::version_record_id(&id, version);
            let vbody = envelope::seal(
                &keys,
                &self.record_aad(name.as_str(), &vid, classification),
                &plain,
            )?;
            store::add_version(
                conn,
                &VersionRow {
                    collection: name.to_string(),
                    rid,
                    version,
                    classification: classification.as_byte(),
                    key_id,
                    body: vbody,
                    revision,
                },
            )?;
            seals += 1;
        }
        let row = Row {
            collection: name.to_string(),
            rid,
            id_box,
            classification: classification.as_byte(),
            key_id,
            body: Some(body),
            revision,
            device: self.device.clone(),
            version,
            deleted: false,
        };
        store::put_row(conn, &row)?;
        let tokens = self.index_tokens(key_id, name.as_str(), &valid.index)?;
        // A new record has no old entries to replace; one without indexed fields has none at all.
        if existing.is_some() || !tokens.is_empty() {
            store::set_index(conn, name.as_str(), &rid, &tokens)?;
        }
        Ok((
            Written {
                collection: name.to_string(),
                id,
                classification,
                revision,
                version,
            },
            seals,
        ))
    }

    /// The chain hash of the newest stored version of an append-only record (after a delete too, so
    /// a record written again continues its chain).
    fn last_chain_hash(&self, conn: &Connection, row: &Row, id: &str) -> Result<Option<String>> {
        let last = store::versions_of(conn, &row.collection, &row.rid)?.pop();
        match last {
            None => Ok(None),
            Some(v) => Ok(self.open_version(&v, id)?.attestation.map(|a| a.chain_hash)),
        }
    }

    fn chain_hash(
        &self,
        id: &str,
        version: u64,
        previous: Option<&str>,
        content_hash: &str,
        recorded_at: &str,
    ) -> String {
        let mut input = Vec::new();
        for part in [
            b"pvault/breakthrough/v1".as_slice(),
            &self.profile.0,
            id.as_bytes(),
            &version.to_be_bytes(),
            previous.unwrap_or("").as_bytes(),
            content_hash.as_bytes(),
            recorded_at.as_bytes(),
        ] {
            input.extend_from_slice(&(part.len() as u32).to_be_bytes());
            input.extend_from_slice(part);
        }
        hex::encode(pvault_crypto::sha256(&input))
    }

    fn attest(
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
    fn check_attestation(
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

    /// Deletes a record, leaving a tombstone (for sync). Breakthrough versions are kept.
    pub fn remove(&mut self, collection: &str, id: &str) -> Result<Written> {
        let name = CollectionName::parse(collection)?;
        let rid = self.rid(name.as_str(), id);
        let tx = self.begin_write()?;
        let row = store::get_row(&tx, name.as_str(), &rid)?
            .filter(|r| !r.deleted)
            .ok_or_else(|| Error::NotFound {
                collection: name.to_string(),
                id: id.to_string(),
            })?;
        let revision = hlc::next(store::meta_u64(&tx, "hlc")?, hlc::wall_ms());
        let tomb = self.write_tombstone(&tx, row, id, revision)?;
        store::set_meta_u64(&tx, "hlc", revision)?;
        tx.commit()?;
        Ok(Written {
            collection: name.to_string(),
            id: id.to_string(),
            classification: class_of(tomb.classification)?,
            revision,
            version: tomb.version,
        })
    }

    /// Replaces a record by its tombstone at `revision` (the id box resealed, the body and index
    /// entries gone) and returns the tombstone.
    fn write_tombstone(&self, conn: &Connection, row: Row, id: &str, revision: u64) -> Result<Row> {
        let key_id = self.keys.current().id();
        let keys = self.keys_for(key_id, &row.collection)?;
        let id_box = envelope::seal(
            &keys,
            &self.id_aad(&row.collection, &hex::encode(row.rid)),
            id.as_bytes(),
        )?;
        let tomb = Row {
            id_box,
            key_id,
            body: None,
            revision,
            device: self.device.clone(),
            version: row.version + 1,
            deleted: true,
            ..row
        };
        store::put_row(conn, &tomb)?;
        store::set_index(conn, &tomb.collection, &tomb.rid, &[])?;
        self.count_seals(conn, key_id, 1)?;
        Ok(tomb)
    }

    // ----- verification -----

    /// Opens every envelope of the profile, checks ids, blind-index entries, and the hash chain and
    /// signatures of every breakthrough version. Collects every problem instead of stopping.
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let rows = store::rows_of(&self.conn, None, true)?;
        let versions = store::all_versions(&self.conn)?;
        let total = (rows.len() + versions.len()) as u64;
        let mut ids: HashMap<(String, [u8; 16]), String> = HashMap::new();
        for row in &rows {
            report.records += 1;
            if let Err(p) = self.verify_row(row, &mut ids) {
                report.problems.push(p);
            }
            if report.records % 1024 == 0 {
                progress(report.records, total);
            }
        }
        let mut previous: HashMap<(String, [u8; 16]), String> = HashMap::new();
        for v in &versions {
            report.versions += 1;
            let id = ids.get(&(v.collection.clone(), v.rid)).cloned();
            let problem = match &id {
                None => Some((
                    "#".to_string() + &hex::encode(v.rid),
                    "version of a record whose id does not open".to_string(),
                )),
                Some(id) => match self.open_version(v, id) {
                    Err(_) => Some((
                        id.clone(),
                        format!("version {} does not decrypt", v.version),
                    )),
                    Ok(p) => {
                        let prev = previous
                            .get(&(v.collection.clone(), v.rid))
                            .map(|s| s.as_str());
                        let checked = self.check_attestation(id, &p, prev);
                        if let Some(a) = &p.attestation {
                            previous.insert((v.collection.clone(), v.rid), a.chain_hash.clone());
                        }
                        checked
                            .err()
                            .map(|e| (id.clone(), format!("version {}: {e}", v.version)))
                    }
                },
            };
            if let Some((id, problem)) = problem {
                report.problems.push(Unreadable {
                    collection: v.collection.clone(),
                    id,
                    problem,
                });
            }
        }
        progress(total, total);
        Ok(report)
    }

    fn verify_row(
        &self,
        row: &Row,
        ids: &mut HashMap<(String, [u8; 16]), String>,
    ) -> std::result::Result<(), Unreadable> {
        let problem = |id: &str, p: &str| Unreadable {
            collection: row.collection.clone(),
            id: id.to_string(),
            problem: p.to_string(),
        };
        let rid_ref = format!("#{}", hex::encode(row.rid));
        let id = self.open_id(row).map_err(|_| {
            problem(
                &rid_ref,
                "record id does not decrypt (tampered, corrupted or moved)",
            )
        })?;
        ids.insert((row.collection.clone(), row.rid), id.clone());
        let sealed_under = [Some(&row.id_box), row.body.as_ref()]
            .into_iter()
            .flatten()
            .map(|e| envelope::key_id(e).ok());
        if sealed_under.into_iter().any(|k| k != Some(row.key_id)) {
            return Err(problem(
                &id,
                "key id column does not match the record's envelopes",
            ));
        }
        if row.deleted {
            return Ok(());
        }
        let payload = self
            .open_body(row, &id)
            .map_err(|_| problem(&id, "body does not decrypt (tampered, corrupted or moved)"))?;
        let name = CollectionName::parse(&row.collection)
            .map_err(|_| problem(&id, "unknown collection"))?;
        let valid = models::validate(&name, &id, payload.data)
            .map_err(|e| problem(&id, &format!("fails its schema: {e}")))?;
        let key_id =
            envelope::key_id(row.body.as_deref().unwrap_or_default()).unwrap_or(row.key_id);
        let mut expected: Vec<(String, [u8; 16])> = self
            .index_tokens(key_id, &row.collection, &valid.index)
            .map_err(|_| problem(&id, "sealed under an unknown key"))?
            .into_iter()
            .map(|(f, t)| (f.to_string(), t))
            .collect();
        expected.sort();
        expected.dedup();
        let stored = store::index_of(&self.conn, &row.collection, &row.rid)
            .map_err(|e| problem(&id, &e.to_string()))?;
        if stored != expected {
            return Err(problem(&id, "blind index entries do not match the record"));
        }
        Ok(())
    }

    // ----- key management -----

    fn store_key_file(&mut self, file: KeyFile, keys: UnlockedKeys) -> Result<()> {
        fsutil::write_atomic(&self.dir.join(crate::profiles::KEY_FILE), &file.encode())?;
        self.key_file = file;
        self.keys = keys;
        self.naming = self.keys.naming_key();
        let live = self.keys.key_ids();
        self.collection_keys
            .lock()
            .expect("key cache lock")
            .retain(|(id, _), _| live.contains(id));
        self.index_keys
            .lock()
            .expect("index key cache lock")
            .retain(|id, _| live.contains(id));
        Ok(())
    }

    /// Before an epoch is destroyed: every envelope (by its own header, not the key_id column) must be
    /// sealed under `current`, or destroying the old epoch would lose data.
    fn check_all_sealed_under(&self, current: u32) -> Result<()> {
        let rows = store::rows_of(&self.conn, None, true)?;
        let versions = store::all_versions(&self.conn)?;
        let stale = rows
            .iter()
            .flat_map(|r| [Some(&r.id_box), r.body.as_ref()])
            .flatten()
            .chain(versions.iter().map(|v| &v.body))
            .filter(|e| envelope::key_id(e).ok() != Some(current))
            .count();
        if stale > 0 {
            return Err(Error::RotationIncomplete(stale));
        }
        Ok(())
    }

    /// Changes the password: rewraps the root keys under a new KEK (new salt, the level's KDF cost).
    /// No record is re-encrypted. The caller has checked the old password.
    pub fn change_password(&mut self, new_password: &[u8]) -> Result<()> {
        let (file, keys) = self.key_file.change_password(
            &self.keys,
            new_password,
            self.summary.security.kdf_params(),
        )?;
        self.store_key_file(file, keys)
    }

    /// Rotates keys: a new epoch becomes current, every record and version is resealed under it in
    /// batches (each batch durable on its own, so an interrupted rotation resumes where it stopped),
    /// then the old epochs are destroyed.
    pub fn rotate_keys(&mut self, progress: &mut dyn FnMut(u64, u64)) -> Result<RotateReport> {
        // A syncing profile keeps its old epochs, so an unfinished rotation is marked apart.
        let syncing = crate::sync::config(self)?.is_some();
        let unfinished = store::meta_u64(&self.conn, ROTATING)? != 0;
        let resumed = unfinished || (!syncing && self.keys.key_ids().len() > 1);
        if !resumed {
            let (file, keys) = self.key_file.add_epoch(&self.keys)?;
            self.store_key_file(file, keys)?;
            store::set_meta_u64(&self.conn, ROTATING, u64::from(self.keys.current().id()))?;
        }
        let current = self.keys.current().id();
        // Fence: from now on, writers still holding only the old epoch are refused (see begin_write).
        {
            let tx = self.begin_write()?;
            store::set_meta_u64(&tx, "key_id", u64::from(current))?;
            tx.commit()?;
        }
        let total: u64 = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM records WHERE key_id != ?1) + (SELECT COUNT(*) FROM versions WHERE key_id != ?1)",
            [current],
            |r| r.get::<_, i64>(0),
        )? as u64;
        let (mut records, mut versions) = (0u64, 0u64);
        loop {
            let rows = store::rows_not_under(&self.conn, current, 256)?;
            if rows.is_empty() {
                break;
            }
            let tx = self.begin_write()?;
            let mut seals = 0;
            for row in rows {
                let id = self.open_id(&row)?;
                let keys = self.keys_for(current, &row.collection)?;
                let id_box = envelope::seal(
                    &keys,
                    &self.id_aad(&row.collection, &hex::encode(row.rid)),
                    id.as_bytes(),
                )?;
                let body = match &row.body {
                    None => None,
                    Some(_) => {
                        let payload = self.open_body(&row, &id)?;
                        let c = class_of(row.classification)?;
                        let name = CollectionName::parse(&row.collection)?;
                        let index = models::validate(&name, &id, payload.data.clone())?.index;
                        let plain = zeroize::Zeroizing::new(
                            serde_json::to_vec(&payload).expect("payload serializes"),
                        );
                        let sealed = envelope::seal(
                            &keys,
                            &self.record_aad(&row.collection, &id, c),
                            &plain,
                        )?;
                        let tokens = self.index_tokens(current, &row.collection, &index)?;
                        store::set_index(&tx, &row.collection, &row.rid, &tokens)?;
                        seals += 1;
                        Some(sealed)
                    }
                };
                seals += 1;
                store::reseal_row(
                    &tx,
                    &Row {
                        key_id: current,
                        id_box,
                        body,
                        ..row
                    },
                )?;
                records += 1;
            }
            self.count_seals(&tx, current, seals)?;
            tx.commit()?;
            progress(records + versions, total);
        }
        loop {
            let vs = store::versions_not_under(&self.conn, current, 256)?;
            if vs.is_empty() {
                break;
            }
            let tx = self.begin_write()?;
            let batch = vs.len() as u64;
            for v in vs {
                let row =
                    store::get_row(&tx, &v.collection, &v.rid)?.ok_or_else(|| Error::Tampered {
                        collection: v.collection.clone(),
                        id: format!("#{}", hex::encode(v.rid)),
                    })?;
                let id = self.open_id(&row)?;
                let payload = self.open_version(&v, &id)?;
                let plain = zeroize::Zeroizing::new(
                    serde_json::to_vec(&payload).expect("payload serializes"),
                );
                let keys = self.keys_for(current, &v.collection)?;
                let vid = Self::version_record_id(&id, v.version);
                let body = envelope::seal(
                    &keys,
                    &self.record_aad(&v.collection, &vid, class_of(v.classification)?),
                    &plain,
                )?;
                store::reseal_version(
                    &tx,
                    &VersionRow {
                        key_id: current,
                        body,
                        ..v
                    },
                )?;
                versions += 1;
            }
            self.count_seals(&tx, current, batch)?;
            tx.commit()?;
            progress(records + versions, total);
        }
        if syncing {
            // Every record is pushed again under the new epoch; the old ones stay readable.
            let tx = self.begin_write()?;
            tx.execute("UPDATE records SET dirty = 1 WHERE dirty = 0", [])?;
            store::set_meta_u64(&tx, ROTATING, 0)?;
            tx.commit()?;
            let kept_for_sync = self
                .keys
                .key_ids()
                .into_iter()
                .filter(|id| *id != current)
                .collect();
            return Ok(RotateReport {
                key_id: current,
                resumed,
                records,
                versions,
                destroyed: Vec::new(),
                kept_for_sync,
            });
        }
        self.check_all_sealed_under(current)?;
        let destroyed: Vec<u32> = self
            .keys
            .key_ids()
            .into_iter()
            .filter(|id| *id != current)
            .collect();
        let (file, keys) = self.key_file.drop_old_epochs(&self.keys)?;
        self.store_key_file(file, keys)?;
        // Old ciphertext pages may linger in the WAL; checkpoint so they leave it (they are unreadable
        // without the destroyed keys either way).
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        store::set_meta_u64(&self.conn, ROTATING, 0)?;
        Ok(RotateReport {
            key_id: current,
            resumed,
            records,
            versions,
            destroyed,
            kept_for_sync: Vec::new(),
        })
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
