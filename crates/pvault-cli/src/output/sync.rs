//! What `pvault sync ...` and `pvault conflicts ...` answer, as text and as JSON.

use std::fmt::Write as _;

use pvault_core::sync::{self, ConflictInfo, ConflictSide, HistoryEntry, Keep, SyncConfig};
use pvault_core::sync::{SyncReport, SyncStatus};
use serde_json::json;

use super::{Show, time_ms, to_json};

/// `sync` (and each round of `sync --watch` in the foreground that changed something).
pub struct Synced {
    pub profile: String,
    pub report: SyncReport,
}

impl Show for Synced {
    fn json(&self) -> String {
        to_json(&self.report)
    }

    fn text(&self) -> String {
        report_text(&self.profile, &self.report)
    }
}

/// What one sync did, for people: one line, and a second when changes are still waiting.
pub fn report_text(profile: &str, r: &SyncReport) -> String {
    let mut out = format!(
        "profile '{profile}': pushed {}, pulled {}, conflicts {}{}; at #{}",
        r.pushed,
        r.pulled,
        r.conflicts,
        if r.kept_for_user > 0 {
            format!(
                " ({} waiting for you: `pvault conflicts list`)",
                r.kept_for_user
            )
        } else {
            String::new()
        },
        r.head_seq
    );
    if r.pending > 0 {
        let _ = write!(
            out,
            "\n{} change(s) still waiting: other devices keep changing the same records; run `pvault sync` again",
            r.pending
        );
    }
    out
}

/// `sync --watch [--stop]` when the agent holds the profile unlocked: its background sync
/// switched on or off.
pub struct Watching {
    pub profile: String,
    /// `--stop` was given.
    pub stop: bool,
    /// What the agent answered: whether it watches now.
    pub watching: bool,
}

impl Show for Watching {
    fn json(&self) -> String {
        json!({ "watching": self.watching }).to_string()
    }

    fn text(&self) -> String {
        let profile = &self.profile;
        if self.stop {
            format!("profile '{profile}': background sync stopped")
        } else {
            format!(
                "profile '{profile}' syncs in the background in the agent until it locks; `pvault profile status` shows its news, `pvault sync --watch --stop` stops it"
            )
        }
    }
}

/// `sync setup`.
pub struct SetUp {
    pub profile: String,
    pub config: SyncConfig,
    /// The first sync, which pushed the profile's records.
    pub report: SyncReport,
}

impl Show for SetUp {
    fn json(&self) -> String {
        json!({ "config": self.config, "sync": self.report }).to_string()
    }

    fn text(&self) -> String {
        let cfg = &self.config;
        format!(
            "profile '{}' syncs with {} as '{}' (device '{}'); pushed {} record(s).\nOn another device: pvault sync join --server {} --username {}",
            self.profile,
            cfg.server,
            cfg.username,
            cfg.device_name,
            self.report.pushed,
            cfg.server,
            cfg.username
        )
    }
}

/// `sync join`.
pub struct Joined {
    pub server: String,
    pub username: String,
    /// The profile's name on this device.
    pub profile: String,
    /// The first sync, which pulled the profile's records.
    pub report: SyncReport,
}

impl Show for Joined {
    fn json(&self) -> String {
        json!({ "profile": self.profile, "sync": self.report }).to_string()
    }

    fn text(&self) -> String {
        format!(
            "joined '{}' on {} as profile '{}'; pulled {} record(s)",
            self.username, self.server, self.profile, self.report.pulled
        )
    }
}

/// `sync verify`.
pub struct Verified {
    pub profile: String,
    pub report: sync::TrustReport,
}

impl Show for Verified {
    fn json(&self) -> String {
        to_json(&self.report)
    }

    fn text(&self) -> String {
        let r = &self.report;
        let mut out = format!(
            "profile '{}': this device has pulled {} change(s); safety code {}",
            self.profile, r.size, r.safety_code
        );
        for p in &r.peers {
            let state = match p.state {
                sync::PeerState::Consistent => match p.size {
                    Some(size) => format!("consistent (its checkpoint: {size} changes)"),
                    None => "consistent".into(),
                },
                sync::PeerState::NoCheckpoint => {
                    "no checkpoint yet (it has not synced since it joined)".into()
                }
                sync::PeerState::Uncertified => "NOT CERTIFIED".into(),
                sync::PeerState::Removed => "removed from the account".into(),
                sync::PeerState::Forked => "FORK".into(),
                sync::PeerState::Withheld => "CHANGES WITHHELD".into(),
                sync::PeerState::Substituted => "KEY SUBSTITUTED".into(),
            };
            let _ = write!(
                out,
                "
  device '{}' {}: {state}",
                p.name, p.device_id
            );
        }
        if r.peers.is_empty() {
            out.push_str(
                "
  no other device in the account",
            );
        }
        if r.problems.is_empty() {
            out.push_str(
                "
the server shows this device the log the other devices signed",
            );
        }
        for p in &r.problems {
            let _ = write!(
                out,
                "
problem: {p}"
            );
        }
        out
    }
}

/// `sync safety-code`.
pub struct SafetyCode {
    pub profile: String,
    pub code: sync::SafetyCode,
}

impl Show for SafetyCode {
    fn json(&self) -> String {
        to_json(&self.code)
    }

    fn text(&self) -> String {
        format!(
            "profile '{}', first {} change(s) of the log: {}
             compare with `pvault sync safety-code --size {}` on the other device: the same code means the same log",
            self.profile, self.code.size, self.code.code, self.code.size
        )
    }
}

/// `sync status`.
pub struct Status {
    pub profile: String,
    pub status: SyncStatus,
}

impl Show for Status {
    fn json(&self) -> String {
        to_json(&self.status)
    }

    fn text(&self) -> String {
        let st = &self.status;
        let Some(cfg) = &st.config else {
            return format!(
                "profile '{}' does not sync: run `pvault sync setup --server URL`",
                self.profile
            );
        };
        let mut out = format!(
            "profile '{}' syncs with {} as '{}' (this device: {} {})",
            self.profile, cfg.server, cfg.username, cfg.device_name, cfg.device_id
        );
        let _ = write!(
            out,
            "\nat #{}; {} local change(s) waiting; {} conflict(s) for you; last sync {}",
            st.pulled_seq,
            st.pending,
            st.open_conflicts,
            if st.last_sync == 0 {
                "never".into()
            } else {
                time_ms(st.last_sync as i64)
            }
        );
        match (&st.server, &st.server_error) {
            (Some(info), _) => {
                let _ = write!(
                    out,
                    "\nserver: at #{}, {} record(s), limit {}",
                    info.head_seq, info.records, info.quota.max_records
                );
                for d in &info.devices {
                    let removed = if d.revoked { " (removed)" } else { "" };
                    let _ = write!(out, "\n  device {} {}{removed}", d.device_id, d.name);
                }
            }
            (None, Some(e)) => {
                let _ = write!(out, "\nserver: {e}");
            }
            _ => {}
        }
        out
    }
}

/// `sync history`.
pub struct History(pub Vec<HistoryEntry>);

impl Show for History {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        if self.0.is_empty() {
            return "no sync history yet".into();
        }
        let lines: Vec<String> = self
            .0
            .iter()
            .map(|e| {
                format!(
                    "#{:<5} {} {:<9} {}{}",
                    e.id,
                    time_ms(e.at),
                    e.event,
                    e.detail,
                    if e.restorable {
                        format!(" [restore: pvault sync restore {}]", e.id)
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        lines.join("\n")
    }
}

/// `sync remove-device`.
pub struct DeviceRemoved {
    pub device: String,
    /// The account's name on the server.
    pub username: String,
    /// The account as the server now lists it, as JSON (its type is the sync protocol's, which
    /// this crate does not name).
    pub account_json: String,
}

impl Show for DeviceRemoved {
    fn json(&self) -> String {
        self.account_json.clone()
    }

    fn text(&self) -> String {
        format!(
            "device {} removed from '{}': the server refuses it from now on",
            self.device, self.username
        )
    }
}

/// `sync leave`.
pub struct Left {
    pub profile: String,
    /// The configuration forgotten (`None`: the profile did not sync).
    pub config: Option<SyncConfig>,
}

impl Show for Left {
    fn json(&self) -> String {
        json!({ "left": self.config }).to_string()
    }

    fn text(&self) -> String {
        match &self.config {
            Some(c) => format!(
                "profile '{}' no longer syncs with {}; its records stay here",
                self.profile, c.server
            ),
            None => format!("profile '{}' did not sync", self.profile),
        }
    }
}

/// `sync restore`.
pub struct Restored {
    /// The history entry restored.
    pub entry: i64,
    pub collection: String,
    pub id: String,
}

impl Show for Restored {
    fn json(&self) -> String {
        json!({ "restored": { "collection": self.collection, "id": self.id } }).to_string()
    }

    fn text(&self) -> String {
        format!(
            "{}/{}: restored from history entry #{} (pushed at the next sync)",
            self.collection, self.id, self.entry
        )
    }
}

/// `conflicts list`.
pub struct Conflicts(pub Vec<ConflictInfo>);

impl Show for Conflicts {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        if self.0.is_empty() {
            return "no conflicts waiting".into();
        }
        let mut out = String::new();
        for c in &self.0 {
            let _ = writeln!(
                out,
                "#{} {}/{} ({}; found {})",
                c.id,
                c.collection,
                c.record_id,
                c.strategy,
                time_ms(c.at)
            );
            let _ = writeln!(out, "{}", side_line("local", &c.local));
            if let Some(cur) = &c.current {
                let _ = writeln!(out, "{}", side_line("current", cur));
            }
        }
        out.truncate(out.trim_end_matches('\n').len());
        out
    }
}

/// One version of a conflicting record, on one line.
fn side_line(label: &str, s: &ConflictSide) -> String {
    let what = if s.deleted {
        "deleted".to_string()
    } else if s.hidden {
        format!(
            "{} data hidden (re-authenticate to see it)",
            s.classification
        )
    } else {
        s.data.to_string()
    };
    format!(
        "  {label:<8} device {} {}: {what}",
        s.device, s.classification
    )
}

/// `conflicts resolve`.
pub struct Settled {
    /// The conflict's id.
    pub id: i64,
    pub resolved: sync::Resolved,
}

impl Settled {
    /// What became of the record, in one sentence (also the `result` of the JSON).
    fn said(&self) -> String {
        let r = &self.resolved;
        match (r.kept, &r.copy_id) {
            (Keep::Local, _) => format!(
                "{}/{}: this device's version is the record again (pushed at the next sync)",
                r.collection, r.id
            ),
            (Keep::Both, Some(copy)) => format!(
                "{}/{} kept as it is; this device's version is now {}/{copy}",
                r.collection, r.id, r.collection
            ),
            _ => format!(
                "{}/{}: kept as it is; this device's version stays restorable in `pvault sync history`",
                r.collection, r.id
            ),
        }
    }
}

impl Show for Settled {
    fn json(&self) -> String {
        json!({ "resolved": self.id, "result": self.said() }).to_string()
    }

    fn text(&self) -> String {
        self.said()
    }
}
