//! One typed operations API for an unlocked profile: the CLI, the agent and the dashboard all say
//! what they want as an [`Op`] and get a [`Reply`].
//!
//! [`Operations::run`] is the one handler. [`Vault`] implements it in-process; the agent runs the
//! same `Op` on the profile it holds ([`crate::Sessions::run`], which adds its record cache) after
//! receiving it over its socket; a client that talks to the agent sends the `Op` as it is. Adding
//! an operation is one variant here and one arm in [`Vault::run`]: the agent protocol, the CLI's
//! backend and the dashboard pass it through without knowing it.
//!
//! ```no_run
//! use pvault_core::ops::{Op, Operations};
//! # fn demo(vault: &mut pvault_core::Vault) -> pvault_core::Result<()> {
//! let listing = vault
//!     .run(
//!         Op::List { collection: "transactions".into(), filter: None, after: None, limit: None },
//!         &mut |_, _, _| {},
//!     )?
//!     .into_listing()?;
//! println!("{} transactions", listing.records.len());
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::{AuditExport, AuditFilter, AuditListing, AuditReport};
use crate::error::{Error, Result};
use crate::integrity::Anomaly;
use crate::sync::{Phase, RepairReport, SyncReport};
use crate::vault::{ComplianceReport, Listing, NewRecord, Record, Vault, VerifyReport, Written};
use pvault_crypto::Classification;

/// Where a long operation is: a stage name (`verifying`, `pushing`, `pulling`), work done, and
/// the total when known.
pub type Progress<'a> = &'a mut dyn FnMut(&'static str, u64, u64);

/// One operation on an unlocked profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Write a record (insert or update).
    Put {
        /// Collection name.
        collection: String,
        /// Record id; a random one when `None`.
        id: Option<String>,
        /// Classification; `None` keeps the record's or takes the defaults.
        classification: Option<Classification>,
        /// The record's fields.
        data: Value,
    },
    /// Read one record.
    Get {
        /// Collection name.
        collection: String,
        /// Record id.
        id: String,
    },
    /// List a collection, optionally filtered by an equality on a declared field: the whole
    /// listing, or with `limit` one page of it after the cursor `after` (the `next` of the page
    /// before), so that no side holds more than a page.
    List {
        /// Collection name.
        collection: String,
        /// `(field, value)`.
        filter: Option<(String, String)>,
        /// The cursor to go on after (`None`: from the start).
        #[serde(default)]
        after: Option<String>,
        /// Records per page (`None`: every record, in one reply).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Every version of a breakthrough.
    History {
        /// Collection name.
        collection: String,
        /// Record id.
        id: String,
    },
    /// Delete a record (a tombstone stays for sync).
    Remove {
        /// Collection name.
        collection: String,
        /// Record id.
        id: String,
    },
    /// Check every envelope, id, index entry and chain of the profile.
    Verify,
    /// Push local changes and pull the others' (the profile must be set up for sync).
    Sync,
    /// List the audit log.
    Audit {
        /// Which entries.
        filter: AuditFilter,
    },
    /// Check the audit log: every chain, MAC and checkpoint.
    AuditVerify,
    /// Every anomaly, recorded or found in the audit log.
    Anomalies,
    /// The compliance report.
    Report,
    /// The audit log as a signed export.
    AuditExport,
    /// Verify, then restore what is damaged from the sync server (`dry_run`: only say what).
    Repair {
        /// Only plan.
        dry_run: bool,
    },
}

impl Op {
    /// Whether the operation only reads (and so may need a fresh re-authentication to show a
    /// SECRET or TOP_SECRET record).
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Get { .. } | Op::List { .. } | Op::History { .. })
    }
}

/// What an operation answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "snake_case")]
pub enum Reply {
    /// `Put` and `Remove`: what was written.
    Written(Written),
    /// `Get`.
    Record(Box<Record>),
    /// `List`.
    Listing(Listing),
    /// `History`: every version, oldest first.
    Versions(Vec<Record>),
    /// `Verify`.
    Verified(VerifyReport),
    /// `Sync`.
    Synced(SyncReport),
    /// `Audit`.
    Audit(AuditListing),
    /// `AuditVerify`.
    AuditVerified(AuditReport),
    /// `Anomalies`.
    Anomalies(Vec<Anomaly>),
    /// `Repair`.
    Repaired(RepairReport),
    /// `Report`.
    Report(Box<ComplianceReport>),
    /// `AuditExport`.
    AuditExport(Box<AuditExport>),
}

macro_rules! into {
    ($(#[$doc:meta] $name:ident => $variant:ident($t:ty)),* $(,)?) => {
        impl Reply {
            /// The name of this kind of reply, for messages.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Reply::$variant(_) => stringify!($variant),)*
                }
            }

            $(
                #[$doc]
                pub fn $name(self) -> Result<$t> {
                    match self {
                        Reply::$variant(v) => Ok(v),
                        other => Err(Error::Protocol(format!(
                            "expected a {} reply, got {}",
                            stringify!($variant),
                            other.kind()
                        ))),
                    }
                }
            )*
        }
    };
}

into! {
    /// The written record of a `Put` or `Remove`.
    into_written => Written(Written),
    /// The record of a `Get`.
    into_record => Record(Box<Record>),
    /// The listing of a `List`.
    into_listing => Listing(Listing),
    /// The versions of a `History`.
    into_versions => Versions(Vec<Record>),
    /// The report of a `Verify`.
    into_verified => Verified(VerifyReport),
    /// The report of a `Sync`.
    into_synced => Synced(SyncReport),
    /// The entries of an `Audit`.
    into_audit => Audit(AuditListing),
    /// The report of an `AuditVerify`.
    into_audit_verified => AuditVerified(AuditReport),
    /// The anomalies of an `Anomalies`.
    into_anomalies => Anomalies(Vec<Anomaly>),
    /// The report of a `Repair`.
    into_repaired => Repaired(RepairReport),
    /// The compliance report of a `Report`.
    into_report => Report(Box<ComplianceReport>),
    /// The document of an `AuditExport`.
    into_audit_export => AuditExport(Box<AuditExport>),
}

/// Something that runs operations on one unlocked profile.
pub trait Operations {
    /// Runs `op`; long operations report through `progress`.
    fn run(&mut self, op: Op, progress: Progress<'_>) -> Result<Reply>;
}

impl Operations for Vault {
    fn run(&mut self, op: Op, progress: Progress<'_>) -> Result<Reply> {
        Ok(match op {
            Op::Put {
                collection,
                id,
                classification,
                data,
            } => Reply::Written(self.put(NewRecord {
                collection,
                id,
                classification,
                data,
            })?),
            Op::Get { collection, id } => Reply::Record(Box::new(self.get(&collection, &id)?)),
            Op::List {
                collection,
                filter,
                after,
                limit,
            } => {
                let filter = filter.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
                let limit = limit.unwrap_or(usize::MAX);
                Reply::Listing(self.list_page(&collection, filter, after.as_deref(), limit)?)
            }
            Op::History { collection, id } => Reply::Versions(self.history(&collection, &id)?),
            Op::Remove { collection, id } => Reply::Written(self.remove(&collection, &id)?),
            Op::Verify => {
                Reply::Verified(self.verify(&mut |done, total| progress("verifying", done, total))?)
            }
            Op::Sync => {
                let policy = self.summary().sync_policy();
                Reply::Synced(crate::sync::sync(
                    self,
                    &policy,
                    &mut |phase, done, total| {
                        let stage = match phase {
                            Phase::Push => "pushing",
                            Phase::Pull => "pulling",
                        };
                        progress(stage, done, total)
                    },
                )?)
            }
            Op::Audit { filter } => Reply::Audit(self.audit(&filter)?),
            Op::Anomalies => Reply::Anomalies(self.anomalies()?),
            Op::Report => Reply::Report(Box::new(self.compliance_report()?)),
            Op::AuditExport => Reply::AuditExport(Box::new(self.export_audit()?)),
            Op::Repair { dry_run } => Reply::Repaired(crate::sync::repair(self, dry_run)?),
            Op::AuditVerify => Reply::AuditVerified(
                self.verify_audit(&mut |done, total| progress("verifying", done, total))?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_and_replies_keep_their_wire_names() {
        let op: Op = serde_json::from_value(serde_json::json!({
            "op": "get", "collection": "research", "id": "a"
        }))
        .unwrap();
        assert!(matches!(op, Op::Get { ref id, .. } if id == "a"));
        assert_eq!(
            serde_json::to_value(Op::Verify).unwrap(),
            serde_json::json!({ "op": "verify" })
        );
        let unknown = serde_json::json!({ "op": "get", "collection": "c", "id": "i", "x": 1 });
        assert!(serde_json::from_value::<Op>(unknown).is_err());
        let reply = Reply::Versions(Vec::new());
        assert_eq!(reply.kind(), "Versions");
        let err = reply.into_listing().unwrap_err().to_string();
        assert!(
            err.contains("expected a Listing reply, got Versions"),
            "{err}"
        );
    }
}
