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
/// Whole-profile exports within [`MASS_EXPORT_WINDOW_MS`] (by one device) that make a mass export:
/// each export hands every record to whoever holds its passphrase or identity.
pub const MASS_EXPORT: usize = 3;
/// The window of [`MASS_EXPORT`].
pub const MASS_EXPORT_WINDOW_MS: i64 = 60 * 60 * 1000;
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
    out.extend(mass_exports(entries, now));
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

/// [`MASS_EXPORT`] or more profile exports by one device within the window: once per burst.
fn mass_exports(entries: &[AuditEntry], now: i64) -> Vec<Anomaly> {
    let mut by_device: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for e in entries {
        if e.kind == EventKind::Exported
            && e.detail.get("what").and_then(Value::as_str) == Some("profile")
        {
            by_device.entry(e.device.as_str()).or_default().push(e.at);
        }
    }
    let mut out = Vec::new();
    for (device, mut times) in by_device {
        times.sort_unstable();
        let mut i = 0;
        while i + MASS_EXPORT <= times.len() {
            let end = i + MASS_EXPORT - 1;
            if times[end] - times[i] <= MASS_EXPORT_WINDOW_MS {
                out.push(
                    Anomaly::new("mass_export", device, now)
                        .with("exports", MASS_EXPORT as u64)
                        .with("first", times[i])
                        .with("window_secs", MASS_EXPORT_WINDOW_MS / 1000),
                );
                // The next burst starts after this one.
                i = end + 1;
            } else {
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_profile_exports_within_an_hour_are_a_mass_export() {
        let hour = 3600 * 1000;
        let export = |device: &str, at: i64, what: &str| {
            let mut e = entry(device, 1, at, EventKind::Exported);
            e.detail.insert("what".into(), what.into());
            e
        };
        let spread = vec![
            export("a", 0, "profile"),
            export("a", 2 * hour, "profile"),
            export("a", 4 * hour, "profile"),
            export("b", 0, "audit log"),
            export("b", 1, "audit log"),
            export("b", 2, "audit log"),
        ];
        assert!(
            detect(&spread, 5 * hour)
                .iter()
                .all(|a| a.what != "mass_export")
        );
        let burst = vec![
            export("a", 0, "profile"),
            export("a", 10, "profile"),
            export("b", 20, "profile"),
            export("a", hour, "profile"),
        ];
        let found: Vec<_> = detect(&burst, hour)
            .into_iter()
            .filter(|a| a.what == "mass_export")
            .collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].device, "a");
    }

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
