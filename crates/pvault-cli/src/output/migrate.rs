//! How `pvault migrate ...` results read.

use std::fmt::Write as _;

use pvault_core::migrate::{MigrateReport, Migration, RollbackReport, State};

use super::{Show, time_ms, to_json};

/// Skipped items listed one by one in text; past that, a count (all of them in `--json`).
const LISTED_SKIPS: usize = 20;

/// `migrate --from FORMAT FILE`.
pub struct Migrated(pub MigrateReport);

impl Show for Migrated {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let r = &self.0;
        let mut out = String::new();
        let records: u64 = r.collections.iter().map(|c| c.records).sum();
        match &r.id {
            None => {
                let _ = writeln!(
                    out,
                    "dry run: {records} record(s) from {} ({}) would be imported; nothing was written",
                    r.file, r.format
                );
            }
            Some(id) => {
                let _ = write!(
                    out,
                    "migration {id}: {records} record(s) from {} ({}) imported",
                    r.file, r.format
                );
                if r.resumed > 0 {
                    let _ = write!(out, " ({} by an interrupted run, finished now)", r.resumed);
                }
                out.push('\n');
            }
        }
        for c in &r.collections {
            let _ = writeln!(out, "  {:<14} {}", c.collection, c.records);
        }
        if !r.skipped.is_empty() {
            let _ = writeln!(out, "skipped {} item(s):", r.skipped.len());
            for s in r.skipped.iter().take(LISTED_SKIPS) {
                let _ = writeln!(out, "  {}: {}", s.source, s.reason);
            }
            if r.skipped.len() > LISTED_SKIPS {
                let _ = writeln!(
                    out,
                    "  ... and {} more (--json lists them all)",
                    r.skipped.len() - LISTED_SKIPS
                );
            }
        }
        if let Some(b) = &r.backup {
            let _ = writeln!(
                out,
                "backup taken first: snapshot {} in {}",
                b.snapshot,
                b.repo.display()
            );
        }
        if let Some(id) = &r.id {
            let _ = writeln!(out, "undo it with: pvault migrate rollback {id}");
        }
        out
    }
}

fn state(s: State) -> &'static str {
    match s {
        State::Running => "UNFINISHED (run the same migration again to finish it, or roll it back)",
        State::Finished => "finished",
        State::RolledBack => "rolled back",
    }
}

/// `migrate list`.
pub struct Migrations(pub Vec<Migration>);

impl Show for Migrations {
    fn json(&self) -> String {
        to_json(&serde_json::json!({ "migrations": self.0 }))
    }

    fn text(&self) -> String {
        if self.0.is_empty() {
            return "no migrations in this profile\n".into();
        }
        let mut out = String::new();
        for m in &self.0 {
            let _ = writeln!(
                out,
                "{}  {}  {} from {} ({} items, {} skipped): {}",
                m.id,
                time_ms(m.started_ms),
                m.format,
                m.file,
                m.items,
                m.skipped,
                state(m.state)
            );
            if let Some(b) = &m.backup {
                let _ = writeln!(
                    out,
                    "          backup before it: snapshot {} in {}",
                    b.snapshot,
                    b.repo.display()
                );
            }
        }
        out
    }
}

/// `migrate rollback`.
pub struct RolledBack(pub RollbackReport);

impl Show for RolledBack {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let r = &self.0;
        let mut out = format!(
            "migration {} rolled back: {} record(s) removed",
            r.migration.id, r.removed
        );
        if r.changed_since > 0 {
            let _ = write!(
                out,
                ", {} of them changed since the migration",
                r.changed_since
            );
        }
        if r.already_gone > 0 {
            let _ = write!(out, "; {} were deleted already", r.already_gone);
        }
        out.push('\n');
        if let Some(b) = &r.migration.backup {
            let _ = writeln!(
                out,
                "the profile as it was before the migration stays in snapshot {} of {}",
                b.snapshot,
                b.repo.display()
            );
        }
        out
    }
}
