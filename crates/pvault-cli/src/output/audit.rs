//! How the audit log and its verification read.

use pvault_core::ComplianceReport;
use pvault_core::audit::{AuditEntry, AuditListing, AuditReport};
use pvault_core::integrity::Anomaly;
use pvault_core::sync::RepairReport;
use serde_json::Value;

use super::{Show, time_ms, to_json};

/// `pvault audit`.
pub struct AuditList(pub AuditListing);

impl Show for AuditList {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let mut out: Vec<String> = self
            .0
            .summarised
            .iter()
            .map(|s| {
                let counts: Vec<String> = s
                    .counts
                    .iter()
                    .map(|(k, n)| format!("{}={n}", safe(k)))
                    .collect();
                format!(
                    "device {}: entries 1..={} ({} to {}) summarised by retention: {}",
                    safe(&s.device.chars().take(8).collect::<String>()),
                    s.upto,
                    time_ms(s.first_at),
                    time_ms(s.last_at),
                    counts.join(" ")
                )
            })
            .collect();
        out.extend(self.0.entries.iter().map(entry_line));
        if out.is_empty() {
            out.push("no audit entries match".to_string());
        }
        if self.0.unreadable > 0 {
            out.push(format!(
                "{} entr{} could not be opened; run `pvault audit verify`",
                self.0.unreadable,
                if self.0.unreadable == 1 { "y" } else { "ies" }
            ));
        }
        out.join("\n")
    }
}

/// One entry: time, device (short), position, kind, details as `key=value`.
fn entry_line(e: &AuditEntry) -> String {
    let details: Vec<String> = e
        .detail
        .iter()
        .map(|(k, v)| format!("{}={}", safe(k), safe(&value_text(v))))
        .collect();
    format!(
        "{}  {}  #{:<5} {:<18} {}",
        time_ms(e.at),
        safe(&e.device.chars().take(8).collect::<String>()),
        e.seq,
        e.kind.as_str(),
        details.join(" ")
    )
    .trim_end()
    .to_string()
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Entries may come from other devices: control characters are shown escaped.
fn safe(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `pvault audit verify`.
pub struct AuditVerified {
    pub profile: String,
    pub report: AuditReport,
}

impl Show for AuditVerified {
    fn json(&self) -> String {
        to_json(&self.report)
    }

    fn text(&self) -> String {
        let r = &self.report;
        let mut out = vec![format!(
            "profile '{}': audit log of {} entries from {} device(s) and {} signed checkpoint(s) checked{}",
            self.profile,
            r.entries,
            r.devices,
            r.checkpoints,
            if r.ok() { ", no problems" } else { "" }
        )];
        for p in &r.problems {
            out.push(format!(
                "  device {} entry {}: {:?}: {}",
                safe(&p.device),
                p.seq,
                p.kind,
                safe(&p.detail)
            ));
        }
        out.join("\n")
    }
}

/// `pvault anomalies`.
pub struct Anomalies(pub Vec<Anomaly>);

impl Show for Anomalies {
    fn json(&self) -> String {
        to_json(&serde_json::json!({ "anomalies": self.0 }))
    }

    fn text(&self) -> String {
        if self.0.is_empty() {
            return "no anomalies".to_string();
        }
        self.0
            .iter()
            .map(|a| {
                let details: Vec<String> = a
                    .detail
                    .iter()
                    .map(|(k, v)| format!("{}={}", safe(k), safe(&value_text(v))))
                    .collect();
                format!(
                    "{}  {}  {:<20} {}",
                    time_ms(a.at),
                    safe(&a.device.chars().take(8).collect::<String>()),
                    safe(&a.what),
                    details.join(" ")
                )
                .trim_end()
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `pvault repair`.
pub struct Repaired(pub RepairReport);

impl Show for Repaired {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let r = &self.0;
        if r.repaired.is_empty() && r.unrepaired.is_empty() {
            return "nothing to repair: verify found no problems".to_string();
        }
        let verb = if r.dry_run {
            "would repair"
        } else {
            "repaired"
        };
        let mut out: Vec<String> = r
            .repaired
            .iter()
            .map(|a| {
                format!(
                    "{verb} {}/{} from {}: {}",
                    safe(&a.collection),
                    safe(&a.id),
                    a.from,
                    safe(&a.problem)
                )
            })
            .collect();
        for u in &r.unrepaired {
            out.push(format!(
                "cannot repair {}/{}: {}",
                safe(&u.collection),
                safe(&u.id),
                safe(&u.problem)
            ));
        }
        if r.dry_run && !r.repaired.is_empty() {
            out.push("nothing was changed (--dry-run); run `pvault repair` to do it".to_string());
        }
        out.join("\n")
    }
}

/// `pvault report`.
pub struct Report(pub Box<ComplianceReport>);

impl Show for Report {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let r = &self.0;
        let mut out = vec![
            format!(
                "profile '{}' ({}), security {}",
                safe(&r.profile),
                r.profile_id,
                r.security
            ),
            format!(
                "keys: Argon2id m={} KiB t={} p={} + Secret Key ({}); epochs {:?}, new data under {}",
                r.kdf.m_kib,
                r.kdf.t,
                r.kdf.p,
                if r.secret_key_on_device {
                    "kept on this device, wrapped"
                } else {
                    "not kept on this device"
                },
                r.epochs,
                r.current_epoch
            ),
            "stored:".to_string(),
        ];
        if r.stored.is_empty() {
            out.push("  nothing".to_string());
        }
        for s in &r.stored {
            let epochs: Vec<String> = s
                .by_epoch
                .iter()
                .map(|(k, n)| format!("{n} under epoch {k}"))
                .collect();
            out.push(format!(
                "  {:<14} {:<12} {}  ({})",
                safe(&s.collection),
                s.classification.to_string(),
                epochs.join(", "),
                s.cipher
            ));
        }
        let a = &r.audit;
        out.push(format!(
            "audit log: {} entries from {} device(s), {} signed checkpoint(s), {}; {} anomal{}; retention: {}",
            a.entries,
            a.devices.len(),
            a.checkpoints,
            if a.verified {
                "verifies".to_string()
            } else {
                format!("{} problem(s), run `pvault audit verify`", a.problems)
            },
            a.anomalies,
            if a.anomalies == 1 { "y" } else { "ies" },
            r.audit_retention
        ));
        for (d, at) in &a.devices {
            out.push(format!("  device {}: last entry {}", safe(d), time_ms(*at)));
        }
        out.push(format!(
            "last verify: {}; last repair: {}; last sync: {}",
            match r.last_verify {
                None => "never".to_string(),
                Some((t, 0)) => format!("{}, no problems", time_ms(t)),
                Some((t, n)) => format!("{}, {n} problem(s)", time_ms(t)),
            },
            r.last_repair.map(time_ms).unwrap_or_else(|| "never".into()),
            match r.last_sync {
                None => "not set up".to_string(),
                Some(0) => "never".to_string(),
                Some(t) => time_ms(t),
            }
        ));
        out.join("\n")
    }
}

/// `pvault audit check-export`.
pub struct ExportChecked {
    pub check: pvault_core::audit::ExportCheck,
    pub signed_by_given: bool,
    pub identity: String,
}

impl Show for ExportChecked {
    fn json(&self) -> String {
        to_json(&self.check)
    }

    fn text(&self) -> String {
        let c = &self.check;
        let mut out = vec![format!(
            "{} entries from {} device(s) and {} checkpoint(s) checked{}",
            c.entries,
            c.devices,
            c.checkpoints,
            if c.problems.is_empty() {
                if self.signed_by_given {
                    ", no problems; signed by the identity given".to_string()
                } else {
                    format!(
                        ", no problems; signed by identity {} (compare it with `pvault profile show`, or pass --identity)",
                        safe(&self.identity)
                    )
                }
            } else {
                String::new()
            }
        )];
        out.extend(c.problems.iter().map(|p| format!("  {}", safe(p))));
        out.join("\n")
    }
}
