//! What `pvault put | get | list | history | rm | verify` answer, as text and as JSON.

use std::io::Write;

use pvault_core::{Record, Unreadable, VerifyReport, Written};
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

/// `list`, printed page by page as the pages arrive.
pub struct ListPrinter {
    json: bool,
    printed: usize,
}

impl ListPrinter {
    pub fn new(json: bool) -> Self {
        ListPrinter { json, printed: 0 }
    }

    /// Prints a page of records; `false` once stdout is closed.
    pub fn records(&mut self, records: &[Record]) -> bool {
        let mut out = std::io::stdout().lock();
        let mut text = String::new();
        for r in records {
            if self.json {
                text.push_str(if self.printed == 0 {
                    "{\"records\":["
                } else {
                    ","
                });
                text.push_str(&to_json(r));
            } else {
                // Names and values may come from the sync server or another device: no control
                // character reaches the terminal as it is.
                text.push_str(&crate::terminal_safe(&record(r), true));
                text.push('\n');
            }
            self.printed += 1;
        }
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_ok()
    }

    /// Ends the listing: in JSON the unreadable records and the cursor of the next page (`null`
    /// after the last); in text "no records", or the cursor of the rest on stderr.
    pub fn finish(self, unreadable: &[Unreadable], next: Option<&str>) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let head = if self.printed == 0 {
                "{\"records\":["
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{head}],\"unreadable\":{},\"next\":{}}}",
                to_json(unreadable),
                to_json(&next)
            );
        } else if self.printed == 0 && unreadable.is_empty() {
            let _ = writeln!(out, "no records");
        }
        let _ = out.flush();
        if let (false, Some(next)) = (self.json, next) {
            eprintln!("more records: go on with --after {next}");
        }
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
