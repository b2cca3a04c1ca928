//! Conflict resolution: how two concurrent versions of one record become one.
//!
//! The sync engine calls [`resolve`] when a push comes back with a conflict (or a pull brings a
//! version of a record that also changed here). It passes the two decrypted versions, `local` and
//! `remote`, the common ancestor `base` when it knows it, and the [`Strategy`] configured for the
//! profile or the collection. The answer is a [`Decision`] plus the list of what the outcome drops,
//! so that no edit disappears without a trace: the engine records it (audit log, `conflicts`).
//! This module is pure: no I/O, no clock, no randomness, and the same inputs always give the same
//! answer on every device.
//!
//! # Rules shared by every strategy
//!
//! - **Identical content** (same data and same classification): `KeepRemote`, nothing dropped.
//! - **Order of writes** ("the timestamp rule"): the version with the higher revision (hybrid
//!   logical clock) is the later one; on a tie the greater device id wins, then the greater
//!   canonical JSON of the content (keys sorted), then the higher classification. This is a total
//!   order on versions that does not look at which side is local, so two devices resolving the same
//!   pair reach the same winner.
//! - **Edits and losses.** A side *edited* a field when its value differs from the base's (a
//!   field absent on one side is a deletion; with no base, or a deleted base, the base counts as an
//!   empty object, so every field is an edit). `dropped` names every field that a side edited and
//!   whose edit the result does not reflect (its value is neither kept nor combined), one line
//!   each, naming fields (dotted paths for nested ones) and never values. A side's changed
//!   classification that is not kept is reported too. A field that a side did not edit is not
//!   reported when the other side's edit replaces it. Combining rules (set merge, counters, audit
//!   append, nested merge) reflect both edits, so they report nothing unless something is undone.
//!
//! # The five strategies
//!
//! - **`timestamp`**: the later version wins whole (`KeepLocal` or `KeepRemote`), deletions
//!   included. `dropped` lists the loser's edited fields that differ from the winner's.
//! - **`profile-priority`**: the version written by the better-ranked device wins whole (its index
//!   in [`Context::device_rank`]; devices not listed rank after all listed ones); equal ranks fall
//!   back to the timestamp rule.
//! - **`merge`**: a three-way merge of JSON objects against `base`, field by field, recursively:
//!   - changed on one side only (added, edited or deleted): that side's value; changed on both to
//!     the same value: that value;
//!   - changed on both differently: two objects merge recursively; a deletion against an edit
//!     keeps the edit (reported); two arrays under an audit-trail name (`audit`, `history`, `log`,
//!     `trail`, or ending in `_log` or `_history`) append: the base entries, then the entries the
//!     earlier version added, then those the later one added that the earlier did not (a multiset
//!     difference, so an entry both added appears once); base entries a side removed are put back
//!     (reported: audit trails only grow); two arrays of scalars merge as sets: base ∪ added on
//!     either side − removed on either side, sorted by canonical JSON; integer counters (`count` or
//!     ending in `_count`, integers on all three sides) add both deltas: base + (local − base) +
//!     (remote − base); anything else goes to the later version (reported).
//!   - Whole record: deleted on one side and edited on the other, the edit wins and the record is
//!     resurrected (reported); deleted on one side and unchanged on the other, the deletion wins;
//!     deleted on both: `KeepRemote`. Data that is not a JSON object on either side follows the
//!     timestamp rule.
//!   - The classification is the higher of the two sides'. The result is `KeepLocal` or
//!     `KeepRemote` when it equals that side exactly, `Merged` otherwise. The merged content does
//!     not depend on which side is local.
//! - **`manual`**: `Manual`: the remote version becomes the record and the local one stays as an
//!   open conflict for the user (CLI or dashboard); nothing is dropped.
//! - **`security-first`**: starts from the timestamp winner and then never lowers a
//!   classification, widens access or undoes a revocation: the classification is the higher of the
//!   two; in `api_keys`, a deletion (a revocation) wins over an edit; in `api_keys`, `scopes`
//!   becomes the intersection of both sides' lists (in the winner's order) when both have one, or
//!   the list of the side that has one, and `expires_at` the earlier of the two when both are set,
//!   or the one that is set; in every collection and at any depth of nested objects, a `revoked`
//!   or `disabled` field that is `true` on either side stays `true`, and a `status` of `revoked`,
//!   `disabled` or `cancelled` (any case) on either side wins. Each adjustment is reported. The
//!   result is `KeepLocal`/`KeepRemote` when it equals that side exactly, `Merged` otherwise.
//!
//! Breakthroughs are append-only in the store: the engine keeps every version it sees, so the
//! outcome here only picks which version is current (it re-attests a `Merged` one).

use std::fmt;

use pvault_crypto::Classification;
use serde_json::Value;

mod merge;
mod order;
mod report;
mod security_first;
mod winner;

#[cfg(test)]
mod tests;

use merge::merge;
use order::{Pick, Side, Sides, by_priority, by_timestamp, canonical};
use report::{base_fields, outcome, report_classification, report_losses};
use security_first::security_first;
use winner::winner_takes_all;

/// How a profile (or one collection of it) settles concurrent edits.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Last writer wins, by hybrid logical clock; deterministic tie-break.
    #[default]
    Timestamp,
    /// The better-ranked device wins; equal ranks fall back to `Timestamp`.
    ProfilePriority,
    /// Three-way merge, field by field, against the common ancestor.
    Merge,
    /// Keep both versions for the user to settle.
    Manual,
    /// The later writer wins, but classifications never go down, access never widens and
    /// revocations are never undone.
    SecurityFirst,
}

impl Strategy {
    /// Every strategy, in the order of the documentation.
    pub const ALL: [Strategy; 5] = [
        Strategy::Timestamp,
        Strategy::ProfilePriority,
        Strategy::Merge,
        Strategy::Manual,
        Strategy::SecurityFirst,
    ];

    /// The name used in settings, on the command line and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Timestamp => "timestamp",
            Strategy::ProfilePriority => "profile-priority",
            Strategy::Merge => "merge",
            Strategy::Manual => "manual",
            Strategy::SecurityFirst => "security-first",
        }
    }

    /// The strategy named `s` (see [`Strategy::as_str`]; case and `_` for `-` are forgiven).
    pub fn parse(s: &str) -> Option<Strategy> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|st| st.as_str() == norm)
    }

    /// One line for help text.
    pub fn describe(self) -> &'static str {
        match self {
            Strategy::Timestamp => {
                "the later write wins (hybrid logical clock; ties broken by device id)"
            }
            Strategy::ProfilePriority => {
                "the better-ranked device wins; equal ranks fall back to the later write"
            }
            Strategy::Merge => {
                "three-way merge per field: sets unite, counters add, audit trails append; \
                 other clashes go to the later write"
            }
            Strategy::Manual => "keep both versions and list the conflict for you to settle",
            Strategy::SecurityFirst => {
                "the later write wins, but never lowers a classification, widens an API key's \
                 access or undoes a revocation"
            }
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of a record, decrypted.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    /// The record's fields (a JSON object in every collection; a setting is `{"value": ..,
    /// "description": ..}`), `None` for a deletion (tombstone).
    pub data: Option<Value>,
    /// The record's classification.
    pub classification: Classification,
    /// Hybrid logical clock of the write (higher = later).
    pub revision: u64,
    /// Id of the device that wrote it (hex string).
    pub device: String,
}

impl Version {
    fn same_content(&self, other: &Version) -> bool {
        self.data == other.data && self.classification == other.classification
    }
}

/// What a resolution needs to know besides the versions.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The collection of the record (`api_keys` gets the revocation rules of `security-first`).
    pub collection: &'a str,
    /// Devices in priority order for `profile-priority` (first wins); devices not listed rank after
    /// all listed ones.
    pub device_rank: &'a [String],
}

/// What to do with the two versions.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Keep the local version (the remote one is recorded as lost).
    KeepLocal,
    /// Keep the remote version (the local one is recorded as lost).
    KeepRemote,
    /// A new version made from both.
    Merged {
        /// The merged fields, `None` for a deletion.
        data: Option<Value>,
        /// The merged classification.
        classification: Classification,
    },
    /// Keep both for the user: the remote version becomes the record, the local one stays as an
    /// open conflict.
    Manual,
}

/// The outcome of one conflict.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// What to keep.
    pub decision: Decision,
    /// What the outcome drops from either side, one line each, naming fields but never values.
    /// Empty when nothing is lost.
    pub dropped: Vec<String>,
}

/// Settles one conflict between `local` and `remote`.
///
/// `base` is the common ancestor (the last version both sides saw), `None` if unknown (the record
/// was created on both sides independently). See the module documentation for the rules.
pub fn resolve(
    strategy: Strategy,
    ctx: &Context<'_>,
    base: Option<&Version>,
    local: &Version,
    remote: &Version,
) -> Resolution {
    if local.same_content(remote) {
        return Resolution {
            decision: Decision::KeepRemote,
            dropped: Vec::new(),
        };
    }
    let sides = Sides { local, remote };
    match strategy {
        Strategy::Timestamp => winner_takes_all(base, sides, by_timestamp(local, remote)),
        Strategy::ProfilePriority => winner_takes_all(base, sides, by_priority(ctx, local, remote)),
        Strategy::Merge => merge(base, sides),
        Strategy::Manual => Resolution {
            decision: Decision::Manual,
            dropped: Vec::new(),
        },
        Strategy::SecurityFirst => security_first(ctx, base, sides),
    }
}
