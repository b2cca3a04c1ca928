//! Reading the log: every entry opened, filtered by time, kind and device.

use std::collections::BTreeMap;

use pvault_crypto::AuditKeys;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EventKind, Sealed};
use crate::error::Result;
use crate::store;

/// Which entries to list.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only entries at or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// Only entries of this kind.
    pub kind: Option<EventKind>,
    /// Only entries written by this device.
    pub device: Option<String>,
}

/// One entry, opened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Device that wrote it.
    pub device: String,
    /// Its place in that device's chain.
    pub seq: u64,
    /// When, Unix milliseconds.
    pub at: i64,
    /// What happened.
    pub kind: EventKind,
    /// Details.
    pub detail: BTreeMap<String, Value>,
}

/// What retention summarised of one device's chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditSummarised {
    /// The device.
    pub device: String,
    /// Entries 1..=upto were summarised.
    pub upto: u64,
    /// The oldest and newest of them (Unix ms).
    pub first_at: i64,
    /// See `first_at`.
    pub last_at: i64,
    /// How many of each kind.
    pub counts: BTreeMap<String, u64>,
}

/// The result of a listing: the entries, oldest first, and how many did not open.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditListing {
    /// Matching entries, oldest first.
    pub entries: Vec<AuditEntry>,
    /// Entries that did not open (`pvault audit verify` says why).
    pub unreadable: u64,
    /// What retention summarised (before the entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summarised: Vec<AuditSummarised>,
}

/// Opens every entry and keeps the ones `filter` selects.
pub(crate) fn list(
    conn: &Connection,
    keys: &AuditKeys,
    filter: &AuditFilter,
) -> Result<AuditListing> {
    let mut out = AuditListing::default();
    store::each_audit(conn, |row| {
        if filter.device.as_ref().is_some_and(|d| *d != row.device) {
            return Ok(());
        }
        let opened = keys
            .open(&row.device, &row.entry)
            .ok()
            .and_then(|p| serde_json::from_slice::<Sealed>(&p).ok())
            .filter(|s| s.device == row.device && s.seq == row.seq);
        let Some(s) = opened else {
            out.unreadable += 1;
            return Ok(());
        };
        if filter.since.is_some_and(|t| s.event.at < t)
            || filter.kind.is_some_and(|k| k != s.event.kind)
        {
            return Ok(());
        }
        out.entries.push(AuditEntry {
            device: row.device,
            seq: row.seq,
            at: s.event.at,
            kind: s.event.kind,
            detail: s.event.detail,
        });
        Ok(())
    })?;
    for sm in store::summaries(conn)? {
        if filter.device.as_ref().is_some_and(|d| *d != sm.device) {
            continue;
        }
        out.summarised.push(AuditSummarised {
            counts: super::retention::open_counts(keys, &sm).unwrap_or_default(),
            device: sm.device,
            upto: sm.upto,
            first_at: sm.first_at,
            last_at: sm.last_at,
        });
    }
    out.entries
        .sort_by(|a, b| (a.at, &a.device, a.seq).cmp(&(b.at, &b.device, b.seq)));
    Ok(out)
}
