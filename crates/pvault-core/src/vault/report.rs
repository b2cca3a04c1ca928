//! The compliance report (the seed's `generateComplianceReport`): what is stored, under which keys,
//! ciphers and KDF, on which devices, and what the audit log and the last checks say.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;
use crate::audit::{AuditFilter, EventKind};
use crate::error::Result;
use crate::store;

/// Records of one collection at one classification.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredClass {
    /// Collection.
    pub collection: String,
    /// Classification.
    pub classification: Classification,
    /// Cipher construction its envelopes use.
    pub cipher: String,
    /// Live records, by the epoch that sealed them.
    pub by_epoch: BTreeMap<u32, u64>,
}

/// The audit log, summarised.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditSummary {
    /// Entries.
    pub entries: u64,
    /// Entries by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Devices that wrote entries, with their newest entry (Unix ms).
    pub devices: BTreeMap<String, i64>,
    /// Signed checkpoints held.
    pub checkpoints: u64,
    /// Whether every chain, MAC and checkpoint verifies.
    pub verified: bool,
    /// Problems `pvault audit verify` names.
    pub problems: u64,
    /// Anomalies recorded.
    pub anomalies: u64,
}

/// The compliance report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComplianceReport {
    /// Profile name.
    pub profile: String,
    /// Profile id.
    pub profile_id: String,
    /// Security level.
    pub security: String,
    /// Argon2id parameters of the password.
    pub kdf: pvault_crypto::KdfParams,
    /// Whether the Secret Key is kept (wrapped) on this device.
    pub secret_key_on_device: bool,
    /// Epoch new data is sealed under, and every live epoch.
    pub current_epoch: u32,
    /// Live epochs.
    pub epochs: Vec<u32>,
    /// What is stored, per collection and classification.
    pub stored: Vec<StoredClass>,
    /// How long audit entries are kept.
    pub audit_retention: String,
    /// The audit log.
    pub audit: AuditSummary,
    /// Last full verify in the audit log (Unix ms) and the problems it found, if any ran.
    pub last_verify: Option<(i64, u64)>,
    /// Last repair in the audit log (Unix ms), if any.
    pub last_repair: Option<i64>,
    /// When this device last synced (Unix ms; `None`: not set up).
    pub last_sync: Option<i64>,
}

impl Vault {
    /// Builds the compliance report (reads the whole audit log and verifies it).
    pub fn compliance_report(&self) -> Result<ComplianceReport> {
        let mut stored: Vec<StoredClass> = Vec::new();
        for (collection, class, key_id, n) in store::census(&self.conn)? {
            let classification = class_of(class)?;
            match stored
                .iter_mut()
                .find(|s| s.collection == collection && s.classification == classification)
            {
                Some(s) => {
                    *s.by_epoch.entry(key_id).or_default() += n;
                }
                None => stored.push(StoredClass {
                    cipher: if classification.needs_cascade() {
                        "XChaCha20-Poly1305 inside AES-256-GCM".into()
                    } else {
                        "AES-256-GCM".into()
                    },
                    collection,
                    classification,
                    by_epoch: BTreeMap::from([(key_id, n)]),
                }),
            }
        }
        let listing = self.audit(&AuditFilter::default())?;
        let checked = self.verify_audit(&mut |_, _| {})?;
        let mut audit = AuditSummary {
            entries: checked.entries,
            checkpoints: checked.checkpoints,
            verified: checked.ok(),
            problems: checked.problems.len() as u64,
            ..Default::default()
        };
        let mut last_repair = None;
        let mut last_verify = None;
        for e in &listing.entries {
            *audit
                .by_kind
                .entry(e.kind.as_str().to_string())
                .or_default() += 1;
            let d = audit.devices.entry(e.device.clone()).or_insert(e.at);
            *d = (*d).max(e.at);
            match e.kind {
                EventKind::Anomaly => audit.anomalies += 1,
                EventKind::Repaired => last_repair = Some(e.at),
                EventKind::Verified => {
                    let problems = e.detail.get("problems").and_then(|v| v.as_u64());
                    last_verify = Some((e.at, problems.unwrap_or(0)));
                }
                _ => {}
            }
        }
        let syncing = store::meta_bytes(&self.conn, store::SYNC_CONFIG)?.is_some();
        Ok(ComplianceReport {
            profile: self.summary.name.clone(),
            profile_id: self.profile.to_hex(),
            security: self.summary.security.to_string(),
            kdf: self.key_file.kdf_params(),
            secret_key_on_device: self.key_file.stores_secret_key(),
            current_epoch: self.key_id(),
            epochs: self.key_ids(),
            stored,
            audit_retention: match self.summary.settings.audit_retention_secs {
                None => "every entry is kept".into(),
                Some(s) => format!(
                    "entries older than {} days are summarised under a signed summary",
                    s / 86_400
                ),
            },
            audit,
            last_verify,
            last_repair,
            last_sync: syncing
                .then(|| store::meta_u64(&self.conn, store::SYNC_LAST_SYNC))
                .transpose()?
                .map(|t| t as i64),
        })
    }
}
