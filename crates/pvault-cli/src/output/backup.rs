//! How `pvault backup ...` results read.

use std::fmt::Write as _;
use std::path::PathBuf;

use pvault_core::backup::{
    BackupReport, ForgetReport, PruneReport, RestoreReport, Snapshot, VerifyReport,
};
use serde_json::json;

use super::{Show, to_json};

/// `backup init`.
pub struct Initialized {
    pub path: PathBuf,
    pub id: String,
}

impl Show for Initialized {
    fn json(&self) -> String {
        to_json(&json!({"repository": self.path, "id": self.id}))
    }

    fn text(&self) -> String {
        format!(
            "made backup repository {} (id {})\nIt holds nothing readable without each profile's \
             password and Secret Key; keep a copy of the Secret Key apart from it.",
            self.path.display(),
            self.id
        )
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} B"),
    }
}

/// `backup`.
pub struct BackedUp(pub Vec<BackupReport>);

impl Show for BackedUp {
    fn json(&self) -> String {
        to_json(&json!({"snapshots": self.0}))
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.0 {
            let s = &r.snapshot;
            let _ = writeln!(
                out,
                "snapshot {} of profile '{}': {} records, {} added ({} new blobs; {})",
                s.id,
                s.name,
                s.records,
                size(s.added_bytes),
                r.blobs_written,
                if r.incremental {
                    format!("incremental: {} of 4096 buckets read", r.buckets_read)
                } else {
                    "full".to_string()
                }
            );
        }
        out.trim_end().to_string()
    }
}

/// `backup list`.
pub struct Snapshots(pub Vec<Snapshot>);

impl Show for Snapshots {
    fn json(&self) -> String {
        to_json(&json!({"snapshots": self.0}))
    }

    fn text(&self) -> String {
        if self.0.is_empty() {
            return "no snapshots yet (take one with `pvault backup`)".into();
        }
        let mut out = format!(
            "{:<16}  {:<20}  {:<16}  {:>8}  {:>10}\n",
            "snapshot", "time", "profile", "records", "added"
        );
        for s in &self.0 {
            let _ = writeln!(
                out,
                "{:<16}  {:<20}  {:<16}  {:>8}  {:>10}",
                s.id,
                s.time.get(..19).unwrap_or(&s.time),
                s.name,
                s.records,
                size(s.added_bytes)
            );
        }
        out.trim_end().to_string()
    }
}

/// `backup verify`.
pub struct Verified(pub VerifyReport);

impl Show for Verified {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let r = &self.0;
        let mut out = format!(
            "snapshot {} of '{}': {} files authenticated ({}), signature and root check out\n\
             restored into a scratch home: {} records opened, {}",
            r.snapshot.id,
            r.snapshot.name,
            r.checked.blobs + 2,
            size(r.checked.bytes),
            r.restored_records,
            if r.problems.is_empty() {
                "nothing damaged".to_string()
            } else {
                format!("{} DAMAGED", r.problems.len())
            }
        );
        for p in &r.problems {
            let _ = write!(out, "\n  {p}");
        }
        if !r.other_snapshots.is_empty() {
            let _ = write!(
                out,
                "\n{} other snapshots read in full: every blob checks out",
                r.other_snapshots.len()
            );
        }
        out
    }
}

/// `backup restore`.
pub struct Restored(pub RestoreReport);

impl Show for Restored {
    fn json(&self) -> String {
        to_json(&json!({
            "snapshot": self.0.snapshot.id,
            "profile": {"id": self.0.profile.id, "name": self.0.profile.name},
            "records": self.0.records,
        }))
    }

    fn text(&self) -> String {
        let r = &self.0;
        format!(
            "restored snapshot {} ({}) as profile '{}': {} records\nIt opens with the password \
             (and Secret Key) it had then. Sync is not set up on it: set it up or join again.",
            r.snapshot.id, r.snapshot.time, r.profile.name, r.records
        )
    }
}

/// `backup forget`.
pub struct Forgot(pub ForgetReport, pub Option<PruneReport>);

impl Show for Forgot {
    fn json(&self) -> String {
        to_json(&json!({"forget": self.0, "prune": self.1}))
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for (id, (name, plan)) in &self.0.profiles {
            let kept = plan.iter().filter(|d| d.is_kept()).count();
            let _ = writeln!(
                out,
                "profile '{name}' ({id}): keep {kept}, remove {}",
                plan.len() - kept
            );
            for d in plan {
                let when = time::OffsetDateTime::from_unix_timestamp(d.time)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {} {:<16}  {when}  {}",
                    if d.is_kept() { "keep  " } else { "remove" },
                    d.id,
                    d.reasons.join(", ")
                );
            }
        }
        if self.0.dry_run {
            out.push_str("(dry run: nothing was removed)");
        } else {
            let _ = write!(out, "removed {} snapshot(s)", self.0.removed);
            if let Some(p) = &self.1 {
                let _ = write!(
                    out,
                    "; pruned {} blob(s), {}",
                    p.blobs_removed,
                    size(p.bytes_removed)
                );
            } else {
                out.push_str("; their blobs stay until `pvault backup prune`");
            }
        }
        out
    }
}

/// `backup prune`.
pub struct Pruned(pub PruneReport);

impl Show for Pruned {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let p = &self.0;
        format!(
            "{} {} blob(s) ({}) and {} key file(s) no snapshot needs: {} pack(s) {}, {} pack(s) {} into {}; {} blob(s) kept{}",
            if p.dry_run { "would remove" } else { "removed" },
            p.blobs_removed,
            size(p.bytes_removed),
            p.key_files_removed,
            p.packs_removed,
            if p.dry_run { "to remove" } else { "removed" },
            p.packs_repacked,
            if p.dry_run { "to repack" } else { "repacked" },
            if p.dry_run {
                "new ones".to_string()
            } else {
                format!("{} new", p.packs_written)
            },
            p.blobs_kept,
            if p.dry_run { " (dry run)" } else { "" }
        )
    }
}

/// `backup restore --record`.
pub struct RestoredRecord {
    pub snapshot: String,
    pub collection: String,
    pub id: String,
    pub from_version: u64,
    pub version: u64,
}

impl Show for RestoredRecord {
    fn json(&self) -> String {
        to_json(&json!({
            "snapshot": self.snapshot, "collection": self.collection, "id": self.id,
            "from_version": self.from_version, "version": self.version,
        }))
    }

    fn text(&self) -> String {
        format!(
            "restored {}/{} as it was in snapshot {} (its version {}): now version {}",
            self.collection, self.id, self.snapshot, self.from_version, self.version
        )
    }
}
