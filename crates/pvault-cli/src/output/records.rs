//! What `pvault put | get | list | history | rm | verify` answer, as text and as JSON.

use pvault_core::{Listing, Record, Unreadable, VerifyReport, Written};
use serde_json::json;

use super::{Show, record, to_json};

/// A result that may name records that could not be read: the command prints it, then names each
/// of them and fails (exit code 3).
pub trait Unreadables: Show {
    fn unreadable(&self) -> &[Unreadable];
}

/// `put` (one record).
pub struct Stored(pub Written);

impl Show for Stored {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let w = &self.0;
        format!(
            "{}/{}  {}  version {}",
            w.collection, w.id, w.classification, w.version
        )
    }
}

/// `get`.
pub struct Got(pub Box<Record>);

impl Show for Got {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        record(&self.0)
    }
}

/// `history`: every version, oldest first.
pub struct Versions(pub Vec<Record>);

impl Show for Versions {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let mut lines: Vec<String> = self.0.iter().map(record).collect();
        lines.push(format!(
            "{} version(s); hash chain and signatures verified",
            self.0.len()
        ));
        lines.join("\n")
    }
}

/// `list`.
pub struct Listed(pub Listing);

impl Show for Listed {
    fn json(&self) -> String {
        to_json(&self.0)
    }

    fn text(&self) -> String {
        let l = &self.0;
        if l.records.is_empty() && l.unreadable.is_empty() {
            return "no records".into();
        }
        let lines: Vec<String> = l.records.iter().map(record).collect();
        lines.join("\n")
    }
}

impl Unreadables for Listed {
    fn unreadable(&self) -> &[Unreadable] {
        &self.0.unreadable
    }
}

/// `rm`.
pub struct Removed(pub Written);

impl Show for Removed {
    fn json(&self) -> String {
        json!({ "deleted": self.0 }).to_string()
    }

    fn text(&self) -> String {
        format!("deleted {}/{}", self.0.collection, self.0.id)
    }
}

/// `verify`.
pub struct Verified {
    pub profile: String,
    pub report: VerifyReport,
}

impl Show for Verified {
    fn json(&self) -> String {
        to_json(&self.report)
    }

    fn text(&self) -> String {
        let r = &self.report;
        format!(
            "profile '{}': {} records, {} versions and {} audit entries checked{}",
            self.profile,
            r.records,
            r.versions,
            r.audit_entries,
            if r.problems.is_empty() {
                ", no problems"
            } else {
                ""
            }
        )
    }
}

impl Unreadables for Verified {
    fn unreadable(&self) -> &[Unreadable] {
        &self.report.problems
    }
}
