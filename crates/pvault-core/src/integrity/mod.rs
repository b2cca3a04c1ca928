//! The integrity guardian (the seed's IntegrityGuardian): anomalies, and where a caller hears of
//! them and of integrity violations.
//!
//! An anomaly is either recorded when it happens, as an audit entry of kind `anomaly` (so it
//! travels to every device with the log): a burst of failed unlocks, a mass delete, a fork of the
//! audit log, a damaged key file, an attack seen by sync; or found when the log is read: a device
//! whose clock runs ahead, a device silent for long, a log that does not verify. [`detect`] is the
//! pure part: the anomalies a list of audit entries shows at a given time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::{AuditEntry, EventKind};

/// Failed unlocks between two unlocks that make a burst.
pub const FAILED_UNLOCK_BURST: u64 = 3;
/// Deletes within [`MASS_DELETE_WINDOW_MS`] that make a mass delete.
pub const MASS_DELETE: u64 = 25;
/// The window of [`MASS_DELETE`].
pub const MASS_DELETE_WINDOW_MS: i64 = 10 * 60 * 1000;
/// A device whose clock is this far ahead of this one's is named.
pub const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
/// A device that wrote nothing for this long, while others did, is named.
pub const SILENT_MS: i64 = 30 * 24 * 3600 * 1000;

/// One anomaly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// What it is: `failed_unlock_burst`, `mass_delete`, `audit_fork`, `key_file_damaged`,
    /// `sync_integrity`, `clock_skew`, `silent_device`, `audit_tampered`.
    pub what: String,
    /// When it happened or was found, Unix milliseconds.
    pub at: i64,
    /// The device it happened on or is about.
    pub device: String,
    /// Details (counts, positions; never a secret).
    pub detail: BTreeMap<String, Value>,
}

impl Anomaly {
    /// An anomaly found now.
    pub fn new(what: &str, device: &str, at: i64) -> Self {
        Anomaly {
            what: what.to_string(),
            at,
            device: device.to_string(),
            detail: BTreeMap::new(),
        }
    }

    /// Adds a detail.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_string(), value.into());
        self
    }
}

/// The anomalies the audit log shows at `now`: those recorded as entries, and those that only
/// reading the whole log finds (clock skew, silent devices).
pub fn detect(entries: &[AuditEntry], now: i64) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let mut newest: BTreeMap<&str, i64> = BTreeMap::new();
    for e in entries {
        if e.kind == EventKind::Anomaly {
            let what = e
                .detail
                .get("what")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let mut a = Anomaly::new(what, &e.device, e.at);
            a.detail = e.detail.clone();
            a.detail.remove("what");
            a.detail.insert("seq".into(), e.seq.into());
            out.push(a);
        }
        let n = newest.entry(e.device.as_str()).or_insert(e.at);
        *n = (*n).max(e.at);
    }
    for (device, at) in &newest {
        if *at > now + CLOCK_SKEW_MS {
            out.push(
                Anomaly::new("clock_skew", device, now)
                    .with("ahead_ms", *at - now)
                    .with(
                        "detail",
                        "this device wrote entries dated in this device's future",
                    ),
            );
        }
    }
    let latest = newest.values().copied().max().unwrap_or(0);
    for (device, at) in &newest {
        if latest - *at > SILENT_MS {
            out.push(
                Anomaly::new("silent_device", device, now)
                    .with("last_entry", *at)
                    .with("silent_days", (latest - *at) / (24 * 3600 * 1000)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(device: &str, seq: u64, at: i64, kind: EventKind) -> AuditEntry {
        AuditEntry {
            device: device.into(),
            seq,
            at,
            kind,
            detail: BTreeMap::new(),
        }
    }

    #[test]
    fn recorded_skewed_and_silent() {
        let day = 24 * 3600 * 1000;
        let now = 100 * day;
        let mut anomaly = entry("a", 2, now - 10, EventKind::Anomaly);
        anomaly.detail.insert("what".into(), "mass_delete".into());
        anomaly.detail.insert("deleted".into(), 25.into());
        let entries = vec![
            entry("a", 1, now - 20, EventKind::Unlocked),
            anomaly,
            entry("b", 1, now - 40 * day, EventKind::Unlocked),
            entry("c", 1, now + 10 * CLOCK_SKEW_MS, EventKind::Unlocked),
        ];
        let found = detect(&entries, now);
        let whats: Vec<(&str, &str)> = found
            .iter()
            .map(|a| (a.what.as_str(), a.device.as_str()))
            .collect();
        assert!(whats.contains(&("mass_delete", "a")), "{whats:?}");
        assert!(whats.contains(&("clock_skew", "c")), "{whats:?}");
        assert!(whats.contains(&("silent_device", "b")), "{whats:?}");
        assert_eq!(found.len(), 3, "{found:?}");
        let mass = found.iter().find(|a| a.what == "mass_delete").unwrap();
        assert_eq!(mass.detail["deleted"], 25);
        assert_eq!(mass.detail["seq"], 2);
        // Nothing to say about a quiet, honest log.
        assert!(detect(&entries[..1], now).is_empty());
    }
}
