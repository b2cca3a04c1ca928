//! What `pvault profile ...` answers, as text and as JSON.

use std::fmt::Write as _;

use pvault_core::{CreatedProfile, ProfileDetails, ProfileSummary, RotateReport, SessionStatus};
use serde_json::json;

use super::{Show, human, profile_line, to_json};

/// `profile create`.
pub struct Created(pub CreatedProfile);

impl Show for Created {
    fn json(&self) -> String {
        let s = &self.0.summary;
        json!({
            "id": s.id,
            "name": s.name,
            "security": s.security,
            "secret_key": self.0.secret_key.as_str(),
        })
        .to_string()
    }

    fn text(&self) -> String {
        let s = &self.0.summary;
        format!(
            "created profile '{}' ({}), id {}\n\nSecret Key: {}\n\n\
             Write the Secret Key down and keep it apart from your password. It is shown only now.\n\
             You need it to add this profile to another device{}.",
            s.name,
            s.security,
            s.id,
            self.0.secret_key.as_str(),
            if s.security.stores_secret_key() {
                ""
            } else {
                ", and on this device at every unlock"
            }
        )
    }
}

/// `profile list`.
pub struct Profiles {
    pub current: Option<String>,
    pub profiles: Vec<ProfileSummary>,
}

impl Show for Profiles {
    fn json(&self) -> String {
        json!({ "current": self.current, "profiles": self.profiles }).to_string()
    }

    fn text(&self) -> String {
        if self.profiles.is_empty() {
            return "no profiles yet: create one with `pvault profile create NAME`".into();
        }
        let lines: Vec<String> = self
            .profiles
            .iter()
            .map(|p| profile_line(p, self.current.as_deref() == Some(&p.name)))
            .collect();
        lines.join("\n")
    }
}

/// `profile unlock`.
pub struct Unlocked {
    pub name: String,
    pub auto_lock_secs: u64,
}

impl Show for Unlocked {
    fn json(&self) -> String {
        json!({ "unlocked": self.name, "auto_lock_secs": self.auto_lock_secs }).to_string()
    }

    fn text(&self) -> String {
        format!(
            "profile '{}' unlocked in the agent; it locks after {} of inactivity",
            self.name,
            human(self.auto_lock_secs)
        )
    }
}

/// `profile lock`.
pub struct Locked {
    /// The profile asked for (`None`: all).
    pub target: Option<String>,
    pub locked: Vec<String>,
}

impl Show for Locked {
    fn json(&self) -> String {
        json!({ "locked": self.locked }).to_string()
    }

    fn text(&self) -> String {
        if self.locked.is_empty() {
            match &self.target {
                Some(t) => format!("nothing to lock: '{t}' is not unlocked in an agent"),
                None => "nothing to lock: no profile is unlocked in an agent".into(),
            }
        } else {
            format!(
                "locked {} (keys and cached records zeroized)",
                self.locked.join(", ")
            )
        }
    }
}

/// `profile status`.
pub struct Status {
    pub current: Option<String>,
    pub sessions: Vec<SessionStatus>,
}

impl Show for Status {
    fn json(&self) -> String {
        json!({ "current": self.current, "unlocked": self.sessions }).to_string()
    }

    fn text(&self) -> String {
        if self.sessions.is_empty() {
            return "every profile is locked".into();
        }
        let mut out = String::new();
        for s in &self.sessions {
            let current = self.current.as_deref() == Some(s.profile.as_str());
            let _ = writeln!(
                out,
                "{} {:<20} unlocked, idle {}, locks in {}{}",
                if current { "*" } else { " " },
                s.profile,
                human(s.idle_secs),
                human(s.locks_in_secs),
                if s.cache_encrypted {
                    ", cache encrypted"
                } else {
                    ""
                },
            );
            if let Some(news) = &s.watch_news {
                let _ = writeln!(out, "    background sync: {news}");
            }
        }
        out.truncate(out.trim_end_matches('\n').len());
        out
    }
}

/// `profile set conflict-strategy | device-rank`.
pub struct PolicySet(pub ProfileSummary);

impl Show for PolicySet {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let p = self.0.sync_policy();
        format!(
            "profile '{}': conflict strategy {}{}{}",
            self.0.name,
            p.default.as_str(),
            p.per_collection
                .iter()
                .map(|(c, s)| format!(", {c}: {}", s.as_str()))
                .collect::<String>(),
            if p.device_rank.is_empty() {
                String::new()
            } else {
                format!("; device priority {}", p.device_rank.join(" > "))
            }
        )
    }
}

/// `profile set auto-lock | reauth-window`.
pub struct TimingSet(pub ProfileSummary);

impl Show for TimingSet {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let s = &self.0.settings;
        let backups = match (s.backup_every_secs, &s.backup_repo) {
            (Some(every), Some(repo)) => format!(
                "every {} to {repo}{} (while the agent holds it unlocked)",
                human(every),
                s.backup_keep
                    .as_deref()
                    .map(|k| format!(", keeping {k}"))
                    .unwrap_or_default()
            ),
            _ => "off".to_string(),
        };
        format!(
            "profile '{}': auto-lock {}, re-authentication window {}, anomaly monitor {}, scheduled backups {backups} (applies from the next unlock)",
            self.0.name,
            human(self.0.auto_lock().as_secs()),
            human(self.0.reauth_window().as_secs()),
            s.monitor_secs
                .map(|s| format!("every {}", human(s)))
                .unwrap_or_else(|| "off".to_string())
        )
    }
}

/// `profile use`.
pub struct Current(pub String);

impl Show for Current {
    fn json(&self) -> String {
        json!({ "current": self.0 }).to_string()
    }

    fn text(&self) -> String {
        format!("current profile: {}", self.0)
    }
}

/// `profile show`.
pub struct Details(pub ProfileDetails);

impl Show for Details {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let (d, s) = (&self.0, &self.0.summary);
        let mut lines = vec![
            format!("name:            {}", s.name),
            format!("display name:    {}", s.display_name),
            format!("id:              {}", s.id),
            format!("security level:  {}", s.security),
            format!("created:         {}", s.created),
        ];
        match (&d.keys, &d.key_file_damaged) {
            (Some(k), _) => lines.extend([
                format!(
                    "key epochs:      {:?} (current {})",
                    k.key_ids, k.current_key_id
                ),
                format!(
                    "KDF:             Argon2id m={} KiB t={} p={}",
                    k.kdf.m_kib, k.kdf.t, k.kdf.p
                ),
                format!(
                    "Secret Key:      {}",
                    if k.secret_key_on_device {
                        "kept on this device (wrapped)"
                    } else {
                        "typed at every unlock"
                    }
                ),
                format!("identity:        ed25519 {}", k.identity),
            ]),
            (None, reason) => lines.push(format!(
                "key file:        DAMAGED ({})",
                reason.as_deref().unwrap_or("unreadable")
            )),
        }
        lines.extend([
            format!("failed unlocks:  {}", d.failed_attempts),
            format!("directory:       {}", d.dir.display()),
        ]);
        lines.join("\n")
    }
}

/// `profile passwd`.
pub struct PasswordChanged(pub String);

impl Show for PasswordChanged {
    fn json(&self) -> String {
        json!({ "profile": self.0, "password_changed": true }).to_string()
    }

    fn text(&self) -> String {
        format!(
            "password of profile '{}' changed (keys rewrapped, no record re-encrypted)",
            self.0
        )
    }
}

/// `profile rotate-keys`.
pub struct Rotated(pub RotateReport);

impl Show for Rotated {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let r = &self.0;
        format!(
            "{}rotated to key epoch {}: {} records and {} versions resealed; {}",
            if r.resumed { "resumed and " } else { "" },
            r.key_id,
            r.records,
            r.versions,
            if r.kept_for_sync.is_empty() {
                format!("destroyed epoch(s) {:?}", r.destroyed)
            } else {
                format!(
                    "old epoch(s) {:?} kept for reading because the profile syncs; everything is pushed again under the new one at the next `pvault sync`",
                    r.kept_for_sync
                )
            }
        )
    }
}

/// `profile delete`.
pub struct Deleted(pub ProfileSummary);

impl Show for Deleted {
    fn json(&self) -> String {
        json!({ "deleted": self.0.name, "id": self.0.id }).to_string()
    }

    fn text(&self) -> String {
        format!(
            "profile '{}' deleted: keys destroyed, then its files",
            self.0.name
        )
    }
}

/// `profile export`.
pub struct Exported {
    pub name: String,
    pub report: pvault_core::export::ExportReport,
}

impl Show for Exported {
    fn json(&self) -> String {
        to_json(&json!({"profile": self.name, "export": self.report}))
    }

    fn text(&self) -> String {
        let r = &self.report;
        let records: u64 = r.records.values().sum();
        let by: Vec<String> = r.records.iter().map(|(c, n)| format!("{c} {n}")).collect();
        format!(
            "exported profile '{}' to {} ({} bytes)\n  {records} records ({}), {} earlier breakthrough \
             versions, settings, {} audit entries\n  signed by the profile identity {}\n  \
             contents SHA-256 {}\n\nAnyone with the passphrase or identity can read every record in \
             it (`age -d`): keep the file as carefully as the profile.",
            self.name,
            r.path.display(),
            r.bytes,
            by.join(", "),
            r.versions,
            r.audit_entries,
            r.identity,
            r.sha256,
        )
    }
}

/// `profile import`.
pub struct Imported(pub pvault_core::export::ImportReport);

impl Show for Imported {
    fn json(&self) -> String {
        let r = &self.0;
        to_json(&json!({
            "profile": {"id": r.profile.id, "name": r.profile.name, "security": r.profile.security},
            "secret_key": r.secret_key.as_str(),
            "source": {"id": r.source_id, "name": r.source_name, "exported_at": r.exported_at,
                       "device": r.exported_by_device, "signed_by": r.signed_by},
            "records": r.records,
            "versions": r.versions,
            "settings": r.settings,
            "audit_entries_checked": r.audit_entries,
        }))
    }

    fn text(&self) -> String {
        let r = &self.0;
        let records: u64 = r.records.values().sum();
        let by: Vec<String> = r.records.iter().map(|(c, n)| format!("{c} {n}")).collect();
        format!(
            "imported '{}' (exported {} from device {}) as profile '{}' ({}), id {}\n  {records} \
             records ({}), {} earlier breakthrough versions{}\n  the file's manifest is signed by \
             {}: compare it with `pvault profile show` where it was made\n  its audit log ({} \
             entries) checked out; the new profile starts a log of its own\n\nSecret Key: {}\n\n\
             The profile has new keys: write this Secret Key down and keep it apart from your \
             password. It is shown only now.",
            r.source_name,
            r.exported_at,
            r.exported_by_device,
            r.profile.name,
            r.profile.security,
            r.profile.id,
            by.join(", "),
            r.versions,
            if r.settings { ", settings" } else { "" },
            r.signed_by,
            r.audit_entries,
            r.secret_key.as_str(),
        )
    }
}
