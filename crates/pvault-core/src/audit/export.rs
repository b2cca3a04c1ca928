//! `pvault audit export`: the whole log as a signed document that anyone holding the profile's
//! public identity key can check, without the password: every chain is recomputed from its entries
//! (which stay sealed), every checkpoint's signature is checked, and the export's own signature
//! covers the head of every chain at the time of the export.
//!
//! ```text
//! signed text = "pvault.audit-export/<profile id>\n" || "at <Unix ms>\n"
//!               || for each device, in order: "<device> <size> <base64 head hash>\n"
//! ```

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_crypto::{ProfileId, PublicIdentity};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{Log, checkpoint_text, entry_hash, hash32};
use crate::error::Result;
use crate::store;

/// The `format` of an export.
pub const EXPORT_FORMAT: &str = "pvault-audit-export";

/// One entry as exported: still sealed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedEntry {
    /// Position.
    pub seq: u64,
    /// The sealed entry (base64).
    pub entry: String,
    /// Its chain hash (hex).
    pub hash: String,
}

/// A checkpoint as exported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedCheckpoint {
    /// Entries covered.
    pub size: u64,
    /// Head hash (hex).
    pub hash: String,
    /// When it was signed (Unix ms).
    pub at: i64,
    /// Ed25519 signature (hex).
    pub signature: String,
}

/// One device's chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedChain {
    /// The device.
    pub device: String,
    /// Its entries, in order.
    pub entries: Vec<ExportedEntry>,
    /// The checkpoints held for it.
    pub checkpoints: Vec<ExportedCheckpoint>,
    /// The retention summary the chain goes on from, if entries were summarised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ExportedSummary>,
}

/// A retention summary as exported (its counts stay sealed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedSummary {
    /// Entries 1..=upto were summarised.
    pub upto: u64,
    /// Chain hash at `upto` (hex).
    pub hash: String,
    /// Oldest summarised entry (Unix ms).
    pub first_at: i64,
    /// Newest summarised entry (Unix ms).
    pub last_at: i64,
    /// Sealed counts (base64).
    pub counts: String,
    /// Ed25519 signature (hex).
    pub signature: String,
}

/// The export document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditExport {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The profile (hex).
    pub profile_id: String,
    /// The profile's Ed25519 public identity (hex): compare it with `pvault profile show`.
    pub identity: String,
    /// When it was made (Unix ms).
    pub at: i64,
    /// Every device's chain.
    pub chains: Vec<ExportedChain>,
    /// Ed25519 signature of the export's signed text (hex).
    pub signature: String,
}

/// The result of checking an export.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ExportCheck {
    /// Entries checked.
    pub entries: u64,
    /// Devices.
    pub devices: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Every problem, in words (empty: the export is genuine and complete as signed).
    pub problems: Vec<String>,
}

fn signed_text(profile: &str, at: i64, heads: &[(String, u64, [u8; 32])]) -> String {
    let mut t = format!("pvault.audit-export/{profile}\nat {at}\n");
    for (device, size, hash) in heads {
        t.push_str(&format!("{device} {size} {}\n", B64.encode(hash)));
    }
    t
}

/// Builds the export of the whole log, signed with the profile's identity.
pub(crate) fn export(conn: &Connection, log: &Log<'_>) -> Result<AuditExport> {
    let mut chains: BTreeMap<String, ExportedChain> = BTreeMap::new();
    store::each_audit(conn, |row| {
        chains
            .entry(row.device.clone())
            .or_insert_with(|| ExportedChain {
                device: row.device.clone(),
                entries: Vec::new(),
                checkpoints: Vec::new(),
                summary: None,
            })
            .entries
            .push(ExportedEntry {
                seq: row.seq,
                entry: B64.encode(&row.entry),
                hash: hex::encode(&row.hash),
            });
        Ok(())
    })?;
    for sm in store::summaries(conn)? {
        if let Some(chain) = chains.get_mut(&sm.device) {
            chain.summary = Some(ExportedSummary {
                upto: sm.upto,
                hash: hex::encode(&sm.hash),
                first_at: sm.first_at,
                last_at: sm.last_at,
                counts: B64.encode(&sm.counts),
                signature: hex::encode(&sm.signature),
            });
        }
    }
    for c in store::checkpoints(conn)? {
        if let Some(chain) = chains.get_mut(&c.device) {
            chain.checkpoints.push(ExportedCheckpoint {
                size: c.size,
                hash: hex::encode(&c.hash),
                at: c.at,
                signature: hex::encode(&c.signature),
            });
        }
    }
    let at = store::now_ms();
    let heads: Vec<(String, u64, [u8; 32])> = chains
        .values()
        .map(|c| {
            let last = c.entries.last();
            (
                c.device.clone(),
                last.map(|e| e.seq).unwrap_or(0),
                last.and_then(|e| hex::decode(&e.hash).ok())
                    .map(|h| hash32(&h))
                    .unwrap_or([0; 32]),
            )
        })
        .collect();
    let profile = log.profile.to_hex();
    let text = signed_text(&profile, at, &heads);
    Ok(AuditExport {
        format: EXPORT_FORMAT.into(),
        version: 1,
        profile_id: profile,
        identity: hex::encode(log.identity.public().ed25519),
        at,
        chains: chains.into_values().collect(),
        signature: hex::encode(log.identity.sign(text.as_bytes())),
    })
}

/// Checks an export with no key but the profile's public identity: `expected` (hex) when the
/// caller has it from elsewhere, else the one the export names (which then proves only that the
/// export is consistent and signed by whoever holds that key).
pub fn check_export(doc: &AuditExport, expected: Option<&str>) -> ExportCheck {
    let mut out = ExportCheck::default();
    let mut problem = |p: String| out.problems.push(p);
    if doc.format != EXPORT_FORMAT || doc.version != 1 {
        problem(format!(
            "not a pvault audit export of version 1 (format {:?}, version {})",
            doc.format.chars().take(40).collect::<String>(),
            doc.version
        ));
        return out;
    }
    if let Some(e) = expected
        && !e.eq_ignore_ascii_case(&doc.identity)
    {
        problem("the export is signed by another identity than the one given".into());
    }
    let Some(public) = hex::decode(&doc.identity)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(|ed25519| PublicIdentity {
            ed25519,
            x25519: [0; 32],
        })
    else {
        out.problems.push("the identity key is malformed".into());
        return out;
    };
    let Ok(profile) = ProfileId::parse(&doc.profile_id) else {
        out.problems.push("the profile id is malformed".into());
        return out;
    };
    let mut heads = Vec::new();
    for chain in &doc.chains {
        out.devices += 1;
        let mut previous = [0u8; 32];
        let mut hashes = BTreeMap::new();
        let mut start = 1;
        if let Some(sm) = &chain.summary {
            let row = (|| {
                Some(store::SummaryRow {
                    device: chain.device.clone(),
                    upto: sm.upto,
                    hash: hex::decode(&sm.hash).ok()?,
                    first_at: sm.first_at,
                    last_at: sm.last_at,
                    counts: B64.decode(&sm.counts).ok()?,
                    signature: hex::decode(&sm.signature).ok()?,
                })
            })();
            match row {
                Some(r) if super::retention::summary_genuine(&profile, &public, &r) => {
                    previous = hash32(&r.hash);
                    hashes.insert(r.upto, previous);
                    start = r.upto + 1;
                }
                _ => out.problems.push(format!(
                    "device {}: the summary of entries 1..={} is not signed by this identity",
                    chain.device, sm.upto
                )),
            }
        }
        for (i, e) in chain.entries.iter().enumerate() {
            out.entries += 1;
            let expected_seq = start + i as u64;
            let at = format!("device {} entry {}", chain.device, e.seq);
            if e.seq != expected_seq {
                out.problems.push(format!(
                    "{at}: expected entry {expected_seq} (entries removed or reordered)"
                ));
            }
            let (Ok(entry), Some(stored)) = (
                B64.decode(&e.entry),
                hex::decode(&e.hash).ok().map(|h| hash32(&h)),
            ) else {
                out.problems.push(format!("{at}: malformed"));
                continue;
            };
            let computed = entry_hash(&previous, &chain.device, e.seq, &entry);
            if computed != stored {
                out.problems.push(format!(
                    "{at}: does not chain (modified, moved or removed before it)"
                ));
            }
            hashes.insert(e.seq, stored);
            previous = stored;
        }
        for c in &chain.checkpoints {
            out.checkpoints += 1;
            let at = format!("device {} checkpoint at {}", chain.device, c.size);
            let (Some(hash), Ok(sig)) = (
                hex::decode(&c.hash).ok().map(|h| hash32(&h)),
                hex::decode(&c.signature),
            ) else {
                out.problems.push(format!("{at}: malformed"));
                continue;
            };
            let text = checkpoint_text(&profile, &chain.device, c.size, &hash, c.at);
            if public.verify(text.as_bytes(), &sig).is_err() {
                out.problems
                    .push(format!("{at}: not signed by this identity"));
            } else if hashes.get(&c.size) != Some(&hash) {
                out.problems.push(format!(
                    "{at}: the chain does not reach the signed head (truncated or rewritten)"
                ));
            }
        }
        heads.push((
            chain.device.clone(),
            chain.entries.last().map(|e| e.seq).unwrap_or(0),
            previous,
        ));
    }
    let text = signed_text(&doc.profile_id, doc.at, &heads);
    let signed = hex::decode(&doc.signature)
        .ok()
        .is_some_and(|sig| public.verify(text.as_bytes(), &sig).is_ok());
    if !signed {
        out.problems.push(
            "the export's signature does not cover these chains (entries added, removed or changed after the export)"
                .into(),
        );
    }
    out
}
