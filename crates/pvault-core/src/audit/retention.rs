//! Retention (`profile set audit-retention 2y`): the oldest entries of each chain are summarised
//! (how many of each kind, and the span of time) under a signature, then removed; the chain goes on
//! verifying from the summary. Nothing is dropped silently: the part summarised must verify first,
//! the summary says what it replaced, and an entry of kind `summarised` records that it happened.
//!
//! ```text
//! signed text = "pvault.audit-summary/<profile id>/<device>\n<upto>\n<base64 hash(upto)>\n"
//!               || "<first at> <last at>\n<base64 SHA-256(sealed counts)>\n"
//! ```

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pvault_crypto::{AuditKeys, ProfileId, PublicIdentity};
use rusqlite::Connection;

use super::{Event, EventKind, Log, Sealed, entry_hash, hash32};
use crate::error::{Error, Result};
use crate::store::{self, SummaryRow};

/// The signed text of a summary.
pub(crate) fn summary_text(profile: &ProfileId, s: &SummaryRow) -> String {
    format!(
        "pvault.audit-summary/{}/{}\n{}\n{}\n{} {}\n{}\n",
        profile.to_hex(),
        s.device,
        s.upto,
        B64.encode(&s.hash),
        s.first_at,
        s.last_at,
        B64.encode(pvault_crypto::sha256(&s.counts))
    )
}

/// Whether a summary is signed by the profile.
pub(crate) fn summary_genuine(
    profile: &ProfileId,
    public: &PublicIdentity,
    s: &SummaryRow,
) -> bool {
    public
        .verify(summary_text(profile, s).as_bytes(), &s.signature)
        .is_ok()
}

/// The counts a summary holds.
pub(crate) fn open_counts(keys: &AuditKeys, s: &SummaryRow) -> Option<BTreeMap<String, u64>> {
    keys.open(&s.device, &s.counts)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
}

impl Log<'_> {
    /// Summarises, in every chain, the entries older than `cutoff` (Unix ms), keeping at least each
    /// chain's newest entry. Returns `(device, entries summarised)` for each chain it shortened.
    pub(crate) fn apply_retention(
        &self,
        conn: &Connection,
        cutoff: i64,
    ) -> Result<Vec<(String, u64)>> {
        let mut done = Vec::new();
        for device in store::audit_devices(conn)? {
            if let Some(n) = self.summarise(conn, &device, cutoff)? {
                done.push((device, n));
            }
        }
        for (device, n) in &done {
            self.append(
                conn,
                Event::new(EventKind::Summarised)
                    .with("device", device.as_str())
                    .with("entries", *n),
            )?;
        }
        Ok(done)
    }

    fn summarise(&self, conn: &Connection, device: &str, cutoff: i64) -> Result<Option<u64>> {
        let before = store::summary_of(conn, device)?;
        let (mut next, mut previous) = match &before {
            Some(s) => (s.upto + 1, hash32(&s.hash)),
            None => (1, [0u8; 32]),
        };
        let mut counts = before
            .as_ref()
            .and_then(|s| open_counts(self.keys, s))
            .unwrap_or_default();
        let (mut first_at, mut last_at) = before
            .as_ref()
            .map(|s| (s.first_at, s.last_at))
            .unwrap_or((i64::MAX, i64::MIN));
        let rows = store::audit_entries_of(conn, device)?;
        let damaged = || {
            Error::AuditUnavailable(format!(
                "device {device}'s audit chain does not verify, so retention did not summarise it (run the audit log's verification)"
            ))
        };
        let mut summarised = 0;
        // The newest entry always stays.
        for row in rows.iter().take(rows.len().saturating_sub(1)) {
            let sealed = self
                .keys
                .open(device, &row.entry)
                .ok()
                .and_then(|p| serde_json::from_slice::<Sealed>(&p).ok());
            let stored = hash32(&row.hash);
            let genuine = row.seq == next
                && entry_hash(&previous, device, row.seq, &row.entry) == stored
                && self.keys.check_mac(&stored, &row.mac);
            let Some(s) = sealed.filter(|s| genuine && s.seq == row.seq && s.device == device)
            else {
                return Err(damaged());
            };
            if s.event.at >= cutoff {
                break;
            }
            *counts.entry(s.event.kind.as_str().to_string()).or_default() += 1;
            first_at = first_at.min(s.event.at);
            last_at = last_at.max(s.event.at);
            next = row.seq + 1;
            previous = stored;
            summarised += 1;
        }
        if summarised == 0 {
            return Ok(None);
        }
        let plain = serde_json::to_vec(&counts).expect("counts serialize");
        let mut summary = SummaryRow {
            device: device.to_string(),
            upto: next - 1,
            hash: previous.to_vec(),
            first_at,
            last_at,
            counts: self.keys.seal(device, &plain)?,
            signature: Vec::new(),
        };
        summary.signature = self
            .identity
            .sign(summary_text(self.profile, &summary).as_bytes())
            .to_vec();
        store::put_summary(conn, &summary)?;
        Ok(Some(summarised))
    }
}
