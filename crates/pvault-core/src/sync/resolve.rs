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

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use pvault_crypto::Classification;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

// ---------------------------------------------------------------------------------------------
// Sides and the order of writes

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Local,
    Remote,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Local => Side::Remote,
            Side::Remote => Side::Local,
        }
    }

    fn keep(self) -> Decision {
        match self {
            Side::Local => Decision::KeepLocal,
            Side::Remote => Decision::KeepRemote,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Local => "local",
            Side::Remote => "remote",
        })
    }
}

#[derive(Clone, Copy)]
struct Sides<'a> {
    local: &'a Version,
    remote: &'a Version,
}

impl<'a> Sides<'a> {
    fn get(self, side: Side) -> &'a Version {
        match side {
            Side::Local => self.local,
            Side::Remote => self.remote,
        }
    }
}

/// Which side wins, and why (a short phrase for `dropped`).
#[derive(Clone, Copy)]
struct Pick {
    winner: Side,
    why: &'static str,
}

/// The timestamp rule: a total order on versions that ignores which side is local.
fn by_timestamp(local: &Version, remote: &Version) -> Pick {
    let (order, why) = match local.revision.cmp(&remote.revision) {
        Ordering::Equal => match local.device.cmp(&remote.device) {
            Ordering::Equal => (
                content_key(local).cmp(&content_key(remote)),
                "same revision and device, content order",
            ),
            order => (order, "same revision, greater device id"),
        },
        order => (order, "later revision"),
    };
    Pick {
        winner: if order == Ordering::Greater {
            Side::Local
        } else {
            Side::Remote
        },
        why,
    }
}

fn content_key(v: &Version) -> (Option<String>, Classification) {
    (v.data.as_ref().map(canonical), v.classification)
}

fn by_priority(ctx: &Context<'_>, local: &Version, remote: &Version) -> Pick {
    let rank = |device: &str| {
        ctx.device_rank
            .iter()
            .position(|d| d == device)
            .unwrap_or(ctx.device_rank.len())
    };
    match rank(&local.device).cmp(&rank(&remote.device)) {
        Ordering::Less => Pick {
            winner: Side::Local,
            why: "better-ranked device",
        },
        Ordering::Greater => Pick {
            winner: Side::Remote,
            why: "better-ranked device",
        },
        Ordering::Equal => {
            let pick = by_timestamp(local, remote);
            Pick {
                winner: pick.winner,
                why: match pick.why {
                    "later revision" => "same device rank, later revision",
                    "same revision, greater device id" => {
                        "same device rank and revision, greater device id"
                    }
                    _ => "same device rank, revision and device, content order",
                },
            }
        }
    }
}

/// JSON with object keys sorted at every level: the same value always gives the same text.
fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (key, value)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting losses

/// The base's fields: empty when there is no base, it is a deletion, or it is not an object.
fn base_fields(base: Option<&Version>) -> Option<&Map<String, Value>> {
    base.and_then(|b| b.data.as_ref())
        .and_then(Value::as_object)
}

/// Reports the fields that `side` edited (against `base`) and whose value `result` does not hold,
/// except those in `skip` (already reported by a more precise line).
fn report_losses(
    out: &mut Vec<String>,
    base: Option<&Version>,
    side: Side,
    version: &Version,
    result: Option<&Value>,
    why: &str,
    skip: &BTreeSet<String>,
) {
    let base_data = base.and_then(|b| b.data.as_ref());
    match (&version.data, result) {
        (None, None) => {}
        (None, Some(_)) => {
            // A deleted base deleted on this side too is not an edit.
            if base.is_none() || base_data.is_some() {
                out.push(format!("record: {side} deletion undone ({why})"));
            }
        }
        (Some(Value::Object(fields)), result) if result.is_none_or(Value::is_object) => {
            let empty = Map::new();
            let base_fields = base_fields(base).unwrap_or(&empty);
            let result = result.and_then(Value::as_object);
            let keys: BTreeSet<&String> = fields.keys().chain(base_fields.keys()).collect();
            for key in keys {
                let mine = fields.get(key);
                if mine == base_fields.get(key) || skip.contains(key) {
                    continue;
                }
                let kept = result.and_then(|r| r.get(key));
                if mine == kept {
                    continue;
                }
                out.push(match (mine, kept) {
                    (None, _) => format!("field '{key}': {side} deletion undone ({why})"),
                    (Some(_), None) => format!("field '{key}': {side} edit dropped ({why})"),
                    (Some(_), Some(_)) => format!("field '{key}': {side} edit replaced ({why})"),
                });
            }
        }
        (Some(data), result) => {
            if Some(data) != base_data && Some(data) != result {
                out.push(format!("record: {side} version replaced ({why})"));
            }
        }
    }
}

/// Reports `side`'s changed classification when the result does not keep it.
fn report_classification(
    out: &mut Vec<String>,
    base: Option<&Version>,
    side: Side,
    version: &Version,
    result: Classification,
    why: &str,
) {
    let changed = base.is_none_or(|b| b.classification != version.classification);
    if changed && version.classification != result {
        out.push(format!(
            "classification: {side} change to {} not kept ({why})",
            version.classification
        ));
    }
}

/// The decision for a result: one side when it equals that side exactly, `Merged` otherwise.
fn outcome(
    sides: Sides<'_>,
    data: Option<Value>,
    classification: Classification,
    dropped: Vec<String>,
) -> Resolution {
    let equals = |v: &Version| v.data == data && v.classification == classification;
    let decision = if equals(sides.remote) {
        Decision::KeepRemote
    } else if equals(sides.local) {
        Decision::KeepLocal
    } else {
        Decision::Merged {
            data,
            classification,
        }
    };
    Resolution { decision, dropped }
}

// ---------------------------------------------------------------------------------------------
// timestamp and profile-priority

fn winner_takes_all(base: Option<&Version>, sides: Sides<'_>, pick: Pick) -> Resolution {
    let winner = sides.get(pick.winner);
    let loser_side = pick.winner.other();
    let loser = sides.get(loser_side);
    let what = if winner.data.is_some() {
        "version"
    } else {
        "deletion"
    };
    let why = format!("the {} {what} wins: {}", pick.winner, pick.why);
    let mut dropped = Vec::new();
    report_losses(
        &mut dropped,
        base,
        loser_side,
        loser,
        winner.data.as_ref(),
        &why,
        &BTreeSet::new(),
    );
    if winner.data.is_some() {
        report_classification(
            &mut dropped,
            base,
            loser_side,
            loser,
            winner.classification,
            &why,
        );
    }
    Resolution {
        decision: pick.winner.keep(),
        dropped,
    }
}

// ---------------------------------------------------------------------------------------------
// merge

fn merge(base: Option<&Version>, sides: Sides<'_>) -> Resolution {
    let (local, remote) = (sides.local, sides.remote);
    let pick = by_timestamp(local, remote);
    let base_data = base.and_then(|b| b.data.as_ref());
    let mut dropped = Vec::new();
    let data = match (&local.data, &remote.data) {
        (None, None) => {
            return Resolution {
                decision: Decision::KeepRemote,
                dropped,
            };
        }
        (None, Some(_)) | (Some(_), None) => {
            let deleter = if local.data.is_none() {
                Side::Local
            } else {
                Side::Remote
            };
            let editor = deleter.other();
            let edited = sides.get(editor).data.as_ref();
            if edited == base_data {
                // Deleted on one side, untouched on the other: the deletion stands.
                return Resolution {
                    decision: deleter.keep(),
                    dropped,
                };
            }
            dropped.push(format!(
                "record: {deleter} deletion undone (the {editor} version edited the record)"
            ));
            edited.cloned()
        }
        (Some(Value::Object(l)), Some(Value::Object(r))) => {
            let empty = Map::new();
            let mut merger = Merger {
                later: pick,
                dropped: Vec::new(),
            };
            let merged = merger.object("", base_fields(base).unwrap_or(&empty), l, r);
            dropped = merger.dropped;
            Some(Value::Object(merged))
        }
        _ => return winner_takes_all(base, sides, pick),
    };
    let classification = local.classification.max(remote.classification);
    let why = format!("a merge keeps the higher classification, {classification}");
    for side in [Side::Local, Side::Remote] {
        report_classification(
            &mut dropped,
            base,
            side,
            sides.get(side),
            classification,
            &why,
        );
    }
    outcome(sides, data, classification, dropped)
}

struct Merger {
    /// Who wins a clash no combining rule settles.
    later: Pick,
    dropped: Vec<String>,
}

impl Merger {
    fn object(
        &mut self,
        prefix: &str,
        base: &Map<String, Value>,
        local: &Map<String, Value>,
        remote: &Map<String, Value>,
    ) -> Map<String, Value> {
        let keys: BTreeSet<&String> = base
            .keys()
            .chain(local.keys())
            .chain(remote.keys())
            .collect();
        let mut out = Map::new();
        for key in keys {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let merged = self.field(&path, key, base.get(key), local.get(key), remote.get(key));
            if let Some(value) = merged {
                out.insert(key.clone(), value);
            }
        }
        out
    }

    /// Merges one field; `None` means absent.
    fn field(
        &mut self,
        path: &str,
        name: &str,
        base: Option<&Value>,
        local: Option<&Value>,
        remote: Option<&Value>,
    ) -> Option<Value> {
        if local == remote || remote == base {
            return local.cloned();
        }
        if local == base {
            return remote.cloned();
        }
        let (l, r) = match (local, remote) {
            (Some(l), Some(r)) => (l, r),
            (None, Some(kept)) | (Some(kept), None) => {
                let deleter = if local.is_none() {
                    Side::Local
                } else {
                    Side::Remote
                };
                self.dropped.push(format!(
                    "field '{path}': {deleter} deletion undone (the {} version changed it)",
                    deleter.other()
                ));
                return Some(kept.clone());
            }
            (None, None) => return None,
        };
        if let (Value::Object(lm), Value::Object(rm)) = (l, r) {
            let empty = Map::new();
            let bm = base.and_then(Value::as_object).unwrap_or(&empty);
            return Some(Value::Object(self.object(path, bm, lm, rm)));
        }
        if let (Value::Array(la), Value::Array(ra)) = (l, r) {
            let ba = base
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            if is_audit_trail(name) {
                return Some(Value::Array(self.append(path, ba, la, ra)));
            }
            if la.iter().chain(ra).all(is_scalar) {
                return Some(Value::Array(set_merge(ba, la, ra)));
            }
        }
        if is_counter(name)
            && let Some(sum) = base.and_then(|b| add_counts(b, l, r))
        {
            return Some(sum);
        }
        let winner = self.later.winner;
        self.dropped.push(format!(
            "field '{path}': {} edit replaced by the {winner} edit (both changed it; the {winner} \
             version wins: {})",
            winner.other(),
            self.later.why
        ));
        Some(match winner {
            Side::Local => l.clone(),
            Side::Remote => r.clone(),
        })
    }

    /// Audit trails only grow: the base entries, then what the earlier version added, then what
    /// the later one added and the earlier did not.
    fn append(
        &mut self,
        path: &str,
        base: &[Value],
        local: &[Value],
        remote: &[Value],
    ) -> Vec<Value> {
        let (local_added, local_removed) = additions(base, local);
        let (remote_added, remote_removed) = additions(base, remote);
        for (side, removed) in [(Side::Local, local_removed), (Side::Remote, remote_removed)] {
            if removed > 0 {
                let entries = if removed == 1 { "entry" } else { "entries" };
                self.dropped.push(format!(
                    "field '{path}': {side} removal of {removed} {entries} undone (audit trails only \
                     grow)"
                ));
            }
        }
        let (earlier, later) = match self.later.winner {
            Side::Local => (remote_added, local_added),
            Side::Remote => (local_added, remote_added),
        };
        let mut out = base.to_vec();
        out.extend(earlier.iter().map(|v| (*v).clone()));
        let mut unmatched = earlier;
        for entry in later {
            match unmatched.iter().position(|e| *e == entry) {
                Some(i) => {
                    unmatched.swap_remove(i);
                }
                None => out.push(entry.clone()),
            }
        }
        out
    }
}

/// The entries of `side` that are not in `base` (multiset difference, in order), and how many
/// base entries `side` lacks.
fn additions<'a>(base: &[Value], side: &'a [Value]) -> (Vec<&'a Value>, usize) {
    let mut unmatched: Vec<&Value> = base.iter().collect();
    let mut added = Vec::new();
    for entry in side {
        match unmatched.iter().position(|b| *b == entry) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => added.push(entry),
        }
    }
    (added, unmatched.len())
}

/// (base ∪ local ∪ remote) − (base − local) − (base − remote), sorted by canonical JSON.
fn set_merge(base: &[Value], local: &[Value], remote: &[Value]) -> Vec<Value> {
    let base: BTreeSet<String> = base.iter().map(canonical).collect();
    let local: BTreeMap<String, &Value> = local.iter().map(|v| (canonical(v), v)).collect();
    let remote: BTreeMap<String, &Value> = remote.iter().map(|v| (canonical(v), v)).collect();
    let mut union: BTreeMap<&String, &Value> = local.iter().map(|(k, v)| (k, *v)).collect();
    union.extend(remote.iter().map(|(k, v)| (k, *v)));
    union
        .into_iter()
        .filter(|(k, _)| !base.contains(*k) || (local.contains_key(*k) && remote.contains_key(*k)))
        .map(|(_, v)| v.clone())
        .collect()
}

/// base + (local − base) + (remote − base), when all three are integers and the sum fits.
fn add_counts(base: &Value, local: &Value, remote: &Value) -> Option<Value> {
    let int = |v: &Value| {
        v.as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from))
    };
    let sum = int(local)? + int(remote)? - int(base)?;
    i64::try_from(sum)
        .map(Value::from)
        .or_else(|_| u64::try_from(sum).map(Value::from))
        .ok()
}

fn is_scalar(v: &Value) -> bool {
    !(v.is_array() || v.is_object())
}

fn is_audit_trail(name: &str) -> bool {
    matches!(name, "audit" | "history" | "log" | "trail")
        || name.ends_with("_log")
        || name.ends_with("_history")
}

fn is_counter(name: &str) -> bool {
    name == "count" || name.ends_with("_count")
}

// ---------------------------------------------------------------------------------------------
// security-first

const API_KEYS: &str = "api_keys";
const SCOPES: &str = "scopes";
const EXPIRES_AT: &str = "expires_at";
const REVOKED_STATUSES: [&str; 3] = ["revoked", "disabled", "cancelled"];

type Fields = Map<String, Value>;

fn security_first(ctx: &Context<'_>, base: Option<&Version>, sides: Sides<'_>) -> Resolution {
    let pick = by_timestamp(sides.local, sides.remote);
    let (w, l) = (pick.winner, pick.winner.other());
    let (winner, loser) = (sides.get(w), sides.get(l));
    let classification = sides.local.classification.max(sides.remote.classification);
    let revocation = ctx.collection == API_KEYS && winner.data.is_some() && loser.data.is_none();
    let mut dropped = Vec::new();
    // Top-level fields whose losses an adjustment line already reports, for each side.
    let mut skip_winner = BTreeSet::new();
    let mut skip_loser = BTreeSet::new();
    let data = if revocation {
        None
    } else {
        let mut data = winner.data.clone();
        if let (Some(Value::Object(result)), Some(Value::Object(wf)), Some(Value::Object(lf))) =
            (&mut data, &winner.data, &loser.data)
        {
            let empty = Map::new();
            let base_fields = base_fields(base).unwrap_or(&empty);
            let both = [(w, wf), (l, lf)];
            if ctx.collection == API_KEYS {
                for (field, settle) in [
                    (SCOPES, narrow_scopes as Settle),
                    (EXPIRES_AT, earliest_expiry as Settle),
                ] {
                    if settle(result, base_fields, both, &mut dropped) {
                        skip_winner.insert(field.to_string());
                        skip_loser.insert(field.to_string());
                    }
                }
            }
            let mut adjusted = Vec::new();
            keep_revocations(
                "",
                None,
                result,
                [(w, Some(wf)), (l, Some(lf))],
                &mut dropped,
                &mut adjusted,
            );
            for (top, nested) in adjusted {
                if !nested {
                    skip_loser.insert(top.clone());
                }
                skip_winner.insert(top);
            }
        }
        data
    };
    let what = if winner.data.is_some() {
        "version"
    } else {
        "deletion"
    };
    let loser_why = format!("the {w} {what} wins: {}", pick.why);
    let winner_why = if revocation {
        format!("the {l} deletion of this API key is a revocation, which security-first keeps")
    } else {
        "security-first adjustment".to_string()
    };
    report_losses(
        &mut dropped,
        base,
        l,
        loser,
        data.as_ref(),
        &loser_why,
        &skip_loser,
    );
    report_losses(
        &mut dropped,
        base,
        w,
        winner,
        data.as_ref(),
        &winner_why,
        &skip_winner,
    );
    if data.is_some() {
        let why = format!("security-first keeps the higher classification, {classification}");
        for side in [w, l] {
            report_classification(
                &mut dropped,
                base,
                side,
                sides.get(side),
                classification,
                &why,
            );
        }
    }
    outcome(sides, data, classification, dropped)
}

/// Settles one field of `result` from both sides (winner first); `true` when it did, having
/// reported what each side loses.
type Settle = fn(&mut Fields, &Fields, [(Side, &Fields); 2], &mut Vec<String>) -> bool;

/// A field with a value (JSON `null` counts as absent, as the models store it).
fn present<'a>(fields: &'a Fields, key: &str) -> Option<&'a Value> {
    fields.get(key).filter(|v| !v.is_null())
}

/// `scopes`: the intersection when both sides list scopes, the listed ones when only one does.
fn narrow_scopes(
    result: &mut Fields,
    base: &Fields,
    sides: [(Side, &Fields); 2],
    out: &mut Vec<String>,
) -> bool {
    let [(_, wf), (_, lf)] = sides;
    let value = match (present(wf, SCOPES), present(lf, SCOPES)) {
        (Some(Value::Array(wa)), Some(Value::Array(la))) => {
            let mut both: Vec<Value> = Vec::new();
            for scope in wa {
                if la.contains(scope) && !both.contains(scope) {
                    both.push(scope.clone());
                }
            }
            Value::Array(both)
        }
        (Some(listed), None) | (None, Some(listed)) => listed.clone(),
        _ => return false,
    };
    for (side, fields) in sides {
        if fields.get(SCOPES) == Some(&value) || fields.get(SCOPES) == base.get(SCOPES) {
            continue;
        }
        match present(fields, SCOPES) {
            None => out.push(format!(
                "field 'scopes': {side} removal of the scope list not applied (security-first \
                 keeps the narrower access)"
            )),
            Some(Value::Array(items)) => {
                let extra = items
                    .iter()
                    .filter(|s| value.as_array().is_some_and(|kept| !kept.contains(s)))
                    .count();
                if extra > 0 {
                    let scopes = if extra == 1 { "scope" } else { "scopes" };
                    out.push(format!(
                        "field 'scopes': {extra} {scopes} granted only by the {side} version \
                         removed (security-first keeps the scopes both versions grant)"
                    ));
                }
            }
            Some(_) => out.push(format!(
                "field 'scopes': {side} edit replaced (security-first keeps the narrower access)"
            )),
        }
    }
    result.insert(SCOPES.to_string(), value);
    true
}

/// `expires_at`: the earlier expiry when both are set, the set one when only one is.
fn earliest_expiry(
    result: &mut Fields,
    base: &Fields,
    sides: [(Side, &Fields); 2],
    out: &mut Vec<String>,
) -> bool {
    let [(_, wf), (_, lf)] = sides;
    let value = match (present(wf, EXPIRES_AT), present(lf, EXPIRES_AT)) {
        (Some(Value::String(w)), Some(Value::String(l))) => {
            if is_before(l, w) {
                Value::String(l.clone())
            } else {
                Value::String(w.clone())
            }
        }
        (Some(set), None) | (None, Some(set)) => set.clone(),
        _ => return false,
    };
    for (side, fields) in sides {
        if fields.get(EXPIRES_AT) == Some(&value) || fields.get(EXPIRES_AT) == base.get(EXPIRES_AT)
        {
            continue;
        }
        out.push(match present(fields, EXPIRES_AT) {
            None => format!(
                "field 'expires_at': {side} removal of the expiry not applied (security-first keeps \
                 a set expiry)"
            ),
            Some(_) => format!(
                "field 'expires_at': {side} expiry replaced by the earlier one (security-first \
                 keeps the earlier expiry)"
            ),
        });
    }
    result.insert(EXPIRES_AT.to_string(), value);
    true
}

/// Whether RFC 3339 time `a` is before `b` (text order when one does not parse).
fn is_before(a: &str, b: &str) -> bool {
    let parse = |s: &str| OffsetDateTime::parse(s.trim(), &Rfc3339).ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a < b,
        _ => a < b,
    }
}

fn value_on<'a>(fields: Option<&'a Fields>, key: &str) -> Option<&'a Value> {
    fields.and_then(|f| f.get(key))
}

fn is_revoked_status(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        REVOKED_STATUSES
            .iter()
            .any(|r| s.trim().eq_ignore_ascii_case(r))
    })
}

/// `revoked`/`disabled` true on either side stay true, a revoked/disabled/cancelled `status` on
/// either side wins, in `result` and in every nested object of it. Pushes `(top-level field,
/// nested)` for each adjustment into `adjusted`.
fn keep_revocations(
    prefix: &str,
    top: Option<&str>,
    result: &mut Fields,
    sides: [(Side, Option<&Fields>); 2],
    out: &mut Vec<String>,
    adjusted: &mut Vec<(String, bool)>,
) {
    let keys: BTreeSet<&String> = sides
        .iter()
        .filter_map(|(_, fields)| *fields)
        .flat_map(Map::keys)
        .collect();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let top_key = top.unwrap_or(key);
        let kept = if key == "revoked" || key == "disabled" {
            let revoked = |v: &Value| *v == Value::Bool(true);
            (!result.get(key).is_some_and(revoked))
                .then(|| {
                    sides
                        .iter()
                        .find(|(_, f)| value_on(*f, key).is_some_and(revoked))
                })
                .flatten()
        } else if key == "status" {
            (!result.get(key).is_some_and(is_revoked_status))
                .then(|| {
                    sides
                        .iter()
                        .find(|(_, f)| value_on(*f, key).is_some_and(is_revoked_status))
                })
                .flatten()
        } else {
            None
        };
        if let Some((side, fields)) = kept
            && let Some(value) = value_on(*fields, key)
        {
            result.insert(key.clone(), value.clone());
            out.push(format!(
                "field '{path}': kept as the {side} version set it (security-first never undoes a \
                 revocation)"
            ));
            adjusted.push((top_key.to_string(), top.is_some()));
        }
        if let Some(Value::Object(child)) = result.get_mut(key) {
            let child_sides = sides
                .map(|(side, fields)| (side, value_on(fields, key).and_then(Value::as_object)));
            keep_revocations(&path, Some(top_key), child, child_sides, out, adjusted);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NO_RANK: &[String] = &[];

    fn ctx(collection: &str) -> Context<'_> {
        Context {
            collection,
            device_rank: NO_RANK,
        }
    }

    fn v(data: Value, revision: u64, device: &str) -> Version {
        Version {
            data: Some(data),
            classification: Classification::Internal,
            revision,
            device: device.to_string(),
        }
    }

    fn tomb(revision: u64, device: &str) -> Version {
        Version {
            data: None,
            classification: Classification::Internal,
            revision,
            device: device.to_string(),
        }
    }

    fn class(mut version: Version, c: Classification) -> Version {
        version.classification = c;
        version
    }

    fn run(s: Strategy, base: Option<&Version>, local: &Version, remote: &Version) -> Resolution {
        resolve(s, &ctx("research"), base, local, remote)
    }

    /// The content a resolution keeps: (data, classification).
    fn content(
        r: &Resolution,
        local: &Version,
        remote: &Version,
    ) -> (Option<Value>, Classification) {
        match &r.decision {
            Decision::KeepLocal => (local.data.clone(), local.classification),
            Decision::KeepRemote => (remote.data.clone(), remote.classification),
            Decision::Merged {
                data,
                classification,
            } => (data.clone(), *classification),
            Decision::Manual => panic!("unexpected Manual"),
        }
    }

    fn merged_data(r: &Resolution) -> Value {
        match &r.decision {
            Decision::Merged {
                data: Some(data), ..
            } => data.clone(),
            other => panic!("expected a merged record, got {other:?}"),
        }
    }

    fn mentions(r: &Resolution, needle: &str) -> bool {
        r.dropped.iter().any(|line| line.contains(needle))
    }

    // --- Strategy ---------------------------------------------------------------------------

    #[test]
    fn strategy_names_round_trip() {
        let names: Vec<_> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "timestamp",
                "profile-priority",
                "merge",
                "manual",
                "security-first"
            ]
        );
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(
                serde_json::from_value::<Strategy>(json!(s.as_str())).unwrap(),
                s
            );
            assert!(!s.describe().is_empty() && !s.describe().contains('\n'));
        }
        assert_eq!(
            Strategy::parse(" Security_First "),
            Some(Strategy::SecurityFirst)
        );
        assert_eq!(Strategy::parse("newest"), None);
        assert_eq!(Strategy::default(), Strategy::Timestamp);
        assert!(serde_json::from_value::<Strategy>(json!("Merge")).is_err());
    }

    // --- Shared rules -------------------------------------------------------------------------

    #[test]
    fn identical_content_keeps_remote_whatever_the_strategy() {
        let local = v(json!({"title": "a"}), 10, "aa");
        let remote = v(json!({"title": "a"}), 5, "bb");
        let base = v(json!({"title": "b"}), 1, "aa");
        for s in Strategy::ALL {
            let r = resolve(s, &ctx("api_keys"), Some(&base), &local, &remote);
            assert_eq!(r.decision, Decision::KeepRemote, "{s}");
            assert!(r.dropped.is_empty(), "{s}: {:?}", r.dropped);
        }
        let (a, b) = (tomb(3, "aa"), tomb(9, "bb"));
        assert_eq!(
            run(Strategy::Manual, None, &a, &b).decision,
            Decision::KeepRemote
        );
    }

    #[test]
    fn a_different_classification_is_not_identical() {
        let local = class(v(json!({"x": 1}), 10, "aa"), Classification::Secret);
        let remote = v(json!({"x": 1}), 5, "bb");
        let r = run(Strategy::Timestamp, None, &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(
            r.dropped,
            [
                "classification: remote change to INTERNAL not kept (the local version wins: later \
              revision)"
            ]
        );
        assert_eq!(
            run(Strategy::Manual, None, &local, &remote).decision,
            Decision::Manual
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":0,"y":"é"}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical(&a),
            r#"{"a":{"c":null,"d":[1,{"y":"é","z":0}]},"b":1}"#
        );
        assert_eq!(canonical(&json!("q\"uote")), r#""q\"uote""#);
    }

    // --- timestamp ----------------------------------------------------------------------------

    #[test]
    fn timestamp_later_revision_wins_and_reports_the_losers_edits() {
        let base = v(json!({"memo": "m0", "title": "t0", "tags": ["x"]}), 1, "aa");
        let local = v(json!({"memo": "m1", "title": "t0", "extra": 1}), 20, "aa");
        let remote = v(
            json!({"memo": "m2", "title": "t2", "tags": ["x"]}),
            30,
            "bb",
        );
        let r = run(Strategy::Timestamp, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert_eq!(
            r.dropped,
            [
                "field 'extra': local edit dropped (the remote version wins: later revision)",
                "field 'memo': local edit replaced (the remote version wins: later revision)",
                "field 'tags': local deletion undone (the remote version wins: later revision)",
            ]
        );
        let r = run(Strategy::Timestamp, Some(&base), &remote, &local);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(r.dropped.len(), 3, "{:?}", r.dropped);
    }

    #[test]
    fn timestamp_ties_break_on_device_then_content() {
        let a = v(json!({"x": 1}), 7, "aa");
        let b = v(json!({"x": 2}), 7, "bb");
        assert_eq!(
            run(Strategy::Timestamp, None, &a, &b).decision,
            Decision::KeepRemote
        );
        let r = run(Strategy::Timestamp, None, &b, &a);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert!(
            mentions(&r, "same revision, greater device id"),
            "{:?}",
            r.dropped
        );
        let c = v(json!({"x": 3}), 7, "aa");
        let first = content(&run(Strategy::Timestamp, None, &a, &c), &a, &c);
        let second = content(&run(Strategy::Timestamp, None, &c, &a), &c, &a);
        assert_eq!(first, second);
        assert_eq!(first.0, Some(json!({"x": 3})));
        let r = run(Strategy::Timestamp, None, &a, &c);
        assert!(mentions(&r, "content order"), "{:?}", r.dropped);
    }

    #[test]
    fn timestamp_deletions_win_or_lose_by_revision() {
        let base = v(json!({"memo": "m0", "title": "t"}), 1, "aa");
        let edit = v(json!({"memo": "m1", "title": "t"}), 5, "aa");
        let gone = tomb(9, "bb");
        let r = run(Strategy::Timestamp, Some(&base), &edit, &gone);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert_eq!(
            r.dropped,
            ["field 'memo': local edit dropped (the remote deletion wins: later revision)"]
        );
        let old_gone = tomb(2, "bb");
        let r = run(Strategy::Timestamp, Some(&base), &edit, &old_gone);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(
            r.dropped,
            ["record: remote deletion undone (the local version wins: later revision)"]
        );
    }

    #[test]
    fn timestamp_without_base_reports_every_differing_field() {
        let local = v(json!({"a": 1, "b": 2}), 1, "aa");
        let remote = v(json!({"a": 1, "c": 3}), 2, "aa");
        let r = run(Strategy::Timestamp, None, &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert_eq!(
            r.dropped,
            ["field 'b': local edit dropped (the remote version wins: later revision)"]
        );
    }

    #[test]
    fn timestamp_non_object_data_is_reported_as_the_record() {
        let local = v(json!([1, 2]), 1, "aa");
        let remote = v(json!("text"), 2, "aa");
        let r = run(Strategy::Timestamp, None, &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert_eq!(
            r.dropped,
            ["record: local version replaced (the remote version wins: later revision)"]
        );
    }

    // --- profile-priority ---------------------------------------------------------------------

    #[test]
    fn profile_priority_prefers_the_better_ranked_device() {
        let rank = ["phone".to_string(), "laptop".to_string()];
        let ctx = Context {
            collection: "transactions",
            device_rank: &rank,
        };
        let phone = v(json!({"memo": "p"}), 1, "phone");
        let laptop = v(json!({"memo": "l"}), 100, "laptop");
        let stranger = v(json!({"memo": "s"}), 1000, "zz");
        let pp = |a: &Version, b: &Version| resolve(Strategy::ProfilePriority, &ctx, None, a, b);
        let r = pp(&phone, &laptop);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(
            r.dropped,
            ["field 'memo': remote edit replaced (the local version wins: better-ranked device)"]
        );
        assert_eq!(pp(&laptop, &phone).decision, Decision::KeepRemote);
        assert_eq!(pp(&stranger, &laptop).decision, Decision::KeepRemote);
        assert_eq!(pp(&laptop, &stranger).decision, Decision::KeepLocal);
        // Two unlisted devices rank the same: the later revision wins.
        let other = v(json!({"memo": "o"}), 2000, "yy");
        let r = pp(&other, &stranger);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert!(
            mentions(&r, "same device rank, later revision"),
            "{:?}",
            r.dropped
        );
        // Same device on both sides (e.g. restored backup): timestamp rule.
        let phone2 = v(json!({"memo": "p2"}), 3, "phone");
        assert_eq!(pp(&phone, &phone2).decision, Decision::KeepRemote);
    }

    // --- merge --------------------------------------------------------------------------------

    #[test]
    fn merge_takes_each_sides_own_changes() {
        let base = v(
            json!({"title": "t", "memo": "m", "status": "draft", "old": 1}),
            1,
            "aa",
        );
        let local = v(
            json!({"title": "t2", "memo": "m", "status": "draft", "added": true}),
            5,
            "aa",
        );
        let remote = v(
            json!({"title": "t", "memo": "m", "status": "active"}),
            4,
            "bb",
        );
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(
            merged_data(&r),
            json!({"title": "t2", "memo": "m", "status": "active", "added": true})
        );
        assert!(r.dropped.is_empty(), "{:?}", r.dropped);
    }

    #[test]
    fn merge_same_change_on_both_sides_is_taken_once() {
        let base = v(json!({"memo": "m", "n": 1}), 1, "aa");
        let local = v(json!({"memo": "same", "n": 2}), 5, "aa");
        let remote = v(json!({"memo": "same", "n": 1}), 4, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert!(r.dropped.is_empty());
    }

    #[test]
    fn merge_conflicting_edits_go_to_the_later_version() {
        let base = v(json!({"memo": "m", "title": "t"}), 1, "aa");
        let local = v(json!({"memo": "mine", "title": "t"}), 5, "aa");
        let remote = v(json!({"memo": "theirs", "title": "t2"}), 4, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"memo": "mine", "title": "t2"}));
        assert_eq!(
            r.dropped,
            [
                "field 'memo': remote edit replaced by the local edit (both changed it; the local \
              version wins: later revision)"
            ]
        );
    }

    #[test]
    fn merge_recurses_into_objects() {
        let base = v(
            json!({"value": {"theme": "dark", "size": 1, "lang": "en"}}),
            1,
            "aa",
        );
        let local = v(
            json!({"value": {"theme": "light", "size": 1, "lang": "fr"}}),
            2,
            "aa",
        );
        let remote = v(
            json!({"value": {"theme": "dark", "size": 2, "lang": "de"}}),
            3,
            "bb",
        );
        let r = resolve(
            Strategy::Merge,
            &ctx("settings"),
            Some(&base),
            &local,
            &remote,
        );
        assert_eq!(
            merged_data(&r),
            json!({"value": {"theme": "light", "size": 2, "lang": "de"}})
        );
        assert_eq!(r.dropped.len(), 1);
        assert!(r.dropped[0].starts_with("field 'value.lang': local edit replaced by the remote"));
    }

    #[test]
    fn merge_unites_sets_of_scalars() {
        let base = v(json!({"tags": ["a", "b", "c"]}), 1, "aa");
        let local = v(json!({"tags": ["a", "c", "x", "x"]}), 2, "aa");
        let remote = v(json!({"tags": ["z", "a", "b"]}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        // b removed locally, c removed remotely; x and z added.
        assert_eq!(merged_data(&r), json!({"tags": ["a", "x", "z"]}));
        assert!(r.dropped.is_empty());
        let swapped = run(Strategy::Merge, Some(&base), &remote, &local);
        assert_eq!(merged_data(&swapped), json!({"tags": ["a", "x", "z"]}));
        // Numbers and mixed scalars sort by canonical JSON.
        let base = v(json!({"ids": [1]}), 1, "aa");
        let local = v(json!({"ids": [1, 10, true]}), 2, "aa");
        let remote = v(json!({"ids": [2, null]}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"ids": [10, 2, null, true]}));
    }

    #[test]
    fn merge_appends_audit_trails() {
        let e = |n: u32| json!({"at": n});
        let base = v(json!({"history": [e(1), e(2)]}), 1, "aa");
        let local = v(json!({"history": [e(1), e(2), e(3), e(5)]}), 9, "aa");
        let remote = v(json!({"history": [e(1), e(2), e(4), e(5)]}), 8, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        // Base, then the earlier (remote) additions, then the later's new ones; e(5) once.
        assert_eq!(
            merged_data(&r),
            json!({"history": [e(1), e(2), e(4), e(5), e(3)]})
        );
        assert!(r.dropped.is_empty());
        let swapped = run(Strategy::Merge, Some(&base), &remote, &local);
        assert_eq!(merged_data(&swapped), merged_data(&r));
        for name in ["audit", "log", "trail", "access_log", "edit_history"] {
            let base = v(json!({name: ["a"]}), 1, "aa");
            let local = v(json!({name: ["a", "l"]}), 2, "aa");
            let remote = v(json!({name: ["a", "r"]}), 3, "bb");
            let r = run(Strategy::Merge, Some(&base), &local, &remote);
            assert_eq!(merged_data(&r), json!({name: ["a", "l", "r"]}), "{name}");
        }
        // Not an audit name: a set, sorted.
        let base = v(json!({"logs": ["a"]}), 1, "aa");
        let local = v(json!({"logs": ["a", "z"]}), 2, "aa");
        let remote = v(json!({"logs": ["a", "b"]}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"logs": ["a", "b", "z"]}));
    }

    #[test]
    fn merge_audit_trails_never_lose_entries() {
        let base = v(json!({"audit": ["a", "b", "c"]}), 1, "aa");
        let local = v(json!({"audit": ["a", "x"]}), 2, "aa");
        let remote = v(json!({"audit": ["a", "b", "c", "y"]}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"audit": ["a", "b", "c", "x", "y"]}));
        assert_eq!(
            r.dropped,
            ["field 'audit': local removal of 2 entries undone (audit trails only grow)"]
        );
        // Repeated entries are kept as often as one side added them.
        let base = v(json!({"log": []}), 1, "aa");
        let local = v(json!({"log": ["x", "x"]}), 2, "aa");
        let remote = v(json!({"log": ["x", "y"]}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"log": ["x", "x", "y"]}));
    }

    #[test]
    fn merge_adds_counter_deltas() {
        let base = v(json!({"count": 10, "view_count": 0, "amount": 5}), 1, "aa");
        let local = v(json!({"count": 12, "view_count": 3, "amount": 6}), 2, "aa");
        let remote = v(json!({"count": 15, "view_count": 4, "amount": 7}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(
            merged_data(&r),
            json!({"count": 17, "view_count": 7, "amount": 7})
        );
        assert_eq!(r.dropped.len(), 1);
        assert!(r.dropped[0].starts_with("field 'amount': local edit replaced"));
        // Negative deltas and results.
        let base = v(json!({"count": 0}), 1, "aa");
        let local = v(json!({"count": -2}), 2, "aa");
        let remote = v(json!({"count": -3}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"count": -5}));
    }

    #[test]
    fn merge_counters_need_integers_on_all_three_sides() {
        // No base value: later wins.
        let base = v(json!({}), 1, "aa");
        let local = v(json!({"count": 2}), 2, "aa");
        let remote = v(json!({"count": 3}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert!(mentions(&r, "field 'count'"));
        // A float is not a counter.
        let base = v(json!({"count": 1}), 1, "aa");
        let local = v(json!({"count": 2.5}), 2, "aa");
        let remote = v(json!({"count": 3}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        // Overflow: later wins instead of wrapping.
        let base = v(json!({"count": 0}), 1, "aa");
        let local = v(json!({"count": u64::MAX}), 2, "aa");
        let remote = v(json!({"count": 1}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        // Big values that still fit in u64 add up.
        let local = v(json!({"count": u64::MAX - 1}), 2, "aa");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"count": u64::MAX}));
    }

    #[test]
    fn merge_field_deletions() {
        let base = v(json!({"memo": "m", "fee": "1", "tx_hash": "h"}), 1, "aa");
        let local = v(json!({"fee": "1", "tx_hash": "h2"}), 2, "aa");
        let remote = v(json!({"memo": "m", "tx_hash": "h"}), 3, "bb");
        // memo deleted locally, untouched remotely: deleted; fee deleted remotely: deleted.
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r), json!({"tx_hash": "h2"}));
        assert!(r.dropped.is_empty());
        // Deleted on one side, changed on the other: the change wins, reported.
        let remote = v(json!({"memo": "m2", "fee": "1", "tx_hash": "h"}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(
            merged_data(&r),
            json!({"memo": "m2", "fee": "1", "tx_hash": "h2"})
        );
        assert_eq!(
            r.dropped,
            ["field 'memo': local deletion undone (the remote version changed it)"]
        );
    }

    #[test]
    fn merge_record_deletion_against_an_edit() {
        let base = v(json!({"title": "t"}), 1, "aa");
        let edit = v(json!({"title": "t2"}), 2, "aa");
        let gone = tomb(9, "bb");
        let r = run(Strategy::Merge, Some(&base), &edit, &gone);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(
            r.dropped,
            ["record: remote deletion undone (the local version edited the record)"]
        );
        let r = run(Strategy::Merge, Some(&base), &gone, &edit);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert!(mentions(&r, "record: local deletion undone"));
        // The other side did not edit: the deletion stands.
        let same = v(json!({"title": "t"}), 5, "aa");
        let r = run(Strategy::Merge, Some(&base), &same, &gone);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert!(r.dropped.is_empty());
        let r = run(Strategy::Merge, Some(&base), &gone, &same);
        assert_eq!(r.decision, Decision::KeepLocal);
        // A higher classification on the tombstone carries over to the resurrected record.
        let secret_gone = class(tomb(9, "bb"), Classification::Secret);
        let r = run(Strategy::Merge, Some(&base), &edit, &secret_gone);
        assert_eq!(
            r.decision,
            Decision::Merged {
                data: Some(json!({"title": "t2"})),
                classification: Classification::Secret
            }
        );
        // Both deleted.
        let other_gone = class(tomb(3, "aa"), Classification::Secret);
        let r = run(Strategy::Merge, Some(&base), &other_gone, &gone);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert!(r.dropped.is_empty());
    }

    #[test]
    fn merge_without_base_treats_it_as_empty() {
        let local = v(json!({"title": "a", "tags": ["x"], "l": 1}), 2, "aa");
        let remote = v(json!({"title": "b", "tags": ["y"], "r": 1}), 3, "bb");
        let r = run(Strategy::Merge, None, &local, &remote);
        assert_eq!(
            merged_data(&r),
            json!({"title": "b", "tags": ["x", "y"], "l": 1, "r": 1})
        );
        assert_eq!(r.dropped.len(), 1);
        assert!(r.dropped[0].starts_with("field 'title': local edit replaced by the remote edit"));
        // A deleted base is an empty object too.
        let base = tomb(1, "aa");
        let r2 = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(merged_data(&r2), merged_data(&r));
    }

    #[test]
    fn merge_classification_is_the_higher_one() {
        let base = v(json!({"a": 0, "b": 0}), 1, "aa");
        let local = class(v(json!({"a": 1, "b": 0}), 2, "aa"), Classification::Secret);
        let remote = v(json!({"a": 0, "b": 1}), 3, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(
            r.decision,
            Decision::Merged {
                data: Some(json!({"a": 1, "b": 1})),
                classification: Classification::Secret
            }
        );
        assert!(
            r.dropped.is_empty(),
            "remote did not change it: {:?}",
            r.dropped
        );
        // A lowering on one side is reported as not kept.
        let base = class(v(json!({"a": 0}), 1, "aa"), Classification::Confidential);
        let local = class(v(json!({"a": 1}), 2, "aa"), Classification::Confidential);
        let remote = class(v(json!({"a": 0}), 3, "bb"), Classification::Public);
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(
            r.dropped,
            [
                "classification: remote change to PUBLIC not kept (a merge keeps the higher \
              classification, CONFIDENTIAL)"
            ]
        );
    }

    #[test]
    fn merge_of_non_objects_follows_the_timestamp_rule() {
        let local = v(json!(["x"]), 5, "aa");
        let remote = v(json!({"a": 1}), 4, "bb");
        let r = run(Strategy::Merge, None, &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert!(mentions(&r, "the local version wins: later revision"));
    }

    #[test]
    fn merge_type_changes_go_to_the_later_version() {
        let base = v(json!({"x": [1], "y": {"a": 1}}), 1, "aa");
        let local = v(json!({"x": "one", "y": {"a": 2}}), 5, "aa");
        let remote = v(json!({"x": [1, 2], "y": 7}), 4, "bb");
        let r = run(Strategy::Merge, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(r.dropped.len(), 2);
        assert!(mentions(
            &r,
            "field 'x': remote edit replaced by the local edit"
        ));
        assert!(mentions(
            &r,
            "field 'y': remote edit replaced by the local edit"
        ));
    }

    // --- manual -------------------------------------------------------------------------------

    #[test]
    fn manual_keeps_both_and_drops_nothing() {
        let base = v(json!({"memo": "m"}), 1, "aa");
        let local = v(json!({"memo": "l"}), 2, "aa");
        let remote = tomb(3, "bb");
        let r = run(Strategy::Manual, Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::Manual);
        assert!(r.dropped.is_empty());
    }

    // --- security-first -----------------------------------------------------------------------

    fn key(extra: Value) -> Value {
        let mut data = json!({"provider": "binance", "name": "prod", "secret": "sk_DO_NOT_LEAK"});
        for (k, value) in extra.as_object().unwrap() {
            data[k] = value.clone();
        }
        data
    }

    fn sf(
        collection: &str,
        base: Option<&Version>,
        local: &Version,
        remote: &Version,
    ) -> Resolution {
        let r = resolve(
            Strategy::SecurityFirst,
            &ctx(collection),
            base,
            local,
            remote,
        );
        for line in &r.dropped {
            assert!(!line.contains("DO_NOT_LEAK"), "value leaked: {line}");
        }
        r
    }

    #[test]
    fn security_first_never_lowers_a_classification() {
        let base = class(
            v(json!({"memo": "m"}), 1, "aa"),
            Classification::Confidential,
        );
        let local = class(v(json!({"memo": "m2"}), 9, "aa"), Classification::Internal);
        let remote = class(
            v(json!({"memo": "m"}), 5, "bb"),
            Classification::Confidential,
        );
        let r = sf("research", Some(&base), &local, &remote);
        assert_eq!(
            r.decision,
            Decision::Merged {
                data: Some(json!({"memo": "m2"})),
                classification: Classification::Confidential
            }
        );
        assert_eq!(
            r.dropped,
            [
                "classification: local change to INTERNAL not kept (security-first keeps the higher \
              classification, CONFIDENTIAL)"
            ]
        );
        // When the winner already has the higher level, it is kept whole.
        let local = class(v(json!({"memo": "m2"}), 9, "aa"), Classification::Secret);
        let r = sf("research", Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert!(r.dropped.is_empty());
    }

    #[test]
    fn security_first_keeps_an_api_key_revocation() {
        let base = v(key(json!({"notes": "n"})), 1, "aa");
        let edit = v(key(json!({"notes": "n2"})), 9, "aa");
        let gone = tomb(5, "bb");
        let r = sf("api_keys", Some(&base), &edit, &gone);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert_eq!(
            r.dropped,
            [
                "field 'notes': local edit dropped (the remote deletion of this API key is a \
              revocation, which security-first keeps)"
            ]
        );
        assert_eq!(
            sf("api_keys", Some(&base), &gone, &edit).decision,
            Decision::KeepLocal
        );
        // A deletion carrying a lower classification still wins, with the higher level.
        let secret_edit = class(
            v(key(json!({"notes": "n2"})), 9, "aa"),
            Classification::Secret,
        );
        assert_eq!(
            sf("api_keys", Some(&base), &secret_edit, &gone).decision,
            Decision::Merged {
                data: None,
                classification: Classification::Secret
            }
        );
        // Elsewhere a deletion follows the timestamp rule.
        let r = sf("research", Some(&base), &edit, &gone);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert!(mentions(&r, "record: remote deletion undone"));
        let later_gone = tomb(10, "bb");
        assert_eq!(
            sf("research", Some(&base), &edit, &later_gone).decision,
            Decision::KeepRemote
        );
    }

    #[test]
    fn security_first_narrows_api_key_scopes() {
        let base = v(key(json!({"scopes": ["read", "trade"]})), 1, "aa");
        let local = v(
            key(json!({"scopes": ["read", "trade", "withdraw"]})),
            9,
            "aa",
        );
        let remote = v(key(json!({"scopes": ["read"], "notes": "n"})), 5, "bb");
        let r = sf("api_keys", Some(&base), &local, &remote);
        assert_eq!(merged_data(&r)["scopes"], json!(["read"]));
        assert_eq!(merged_data(&r).get("notes"), None);
        assert!(
            r.dropped.contains(
                &"field 'scopes': 2 scopes granted only by the local version removed \
                  (security-first keeps the scopes both versions grant)"
                    .to_string()
            ),
            "{:?}",
            r.dropped
        );
        assert!(mentions(&r, "field 'notes': remote edit dropped"));
        // One side has no scope list: the listed one wins.
        let local = v(key(json!({"notes": "x"})), 9, "aa");
        let r = sf("api_keys", Some(&base), &local, &remote);
        assert_eq!(
            merged_data(&r),
            key(json!({"notes": "x", "scopes": ["read"]}))
        );
        assert!(mentions(
            &r,
            "field 'scopes': local removal of the scope list not applied"
        ));
        // Not in other collections.
        let r = sf("research", Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
    }

    #[test]
    fn security_first_keeps_the_earlier_expiry() {
        let base = v(key(json!({"expires_at": "2030-01-01T00:00:00Z"})), 1, "aa");
        let local = v(key(json!({"expires_at": "2031-01-01T00:00:00Z"})), 9, "aa");
        let remote = v(
            key(json!({"expires_at": "2029-06-01T00:00:00.5Z"})),
            5,
            "bb",
        );
        let r = sf("api_keys", Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert_eq!(
            r.dropped,
            [
                "field 'expires_at': local expiry replaced by the earlier one (security-first keeps \
              the earlier expiry)"
            ]
        );
        // Compared as times, not text.
        assert!(is_before("2029-06-01T00:00:00.5Z", "2029-06-01T00:00:01Z"));
        assert!(is_before(
            "2029-06-01T01:00:00+02:00",
            "2029-06-01T00:00:00Z"
        ));
        // A set expiry beats none.
        let local = v(key(json!({"notes": "n"})), 9, "aa");
        let r = sf("api_keys", Some(&base), &local, &remote);
        assert_eq!(
            merged_data(&r),
            key(json!({"notes": "n", "expires_at": "2029-06-01T00:00:00.5Z"}))
        );
        assert!(mentions(
            &r,
            "field 'expires_at': local removal of the expiry not applied"
        ));
    }

    #[test]
    fn security_first_never_undoes_a_revocation() {
        let base = v(
            json!({"revoked": true, "disabled": false, "status": "active"}),
            1,
            "aa",
        );
        let local = v(
            json!({"revoked": false, "disabled": false, "status": "active"}),
            9,
            "aa",
        );
        let remote = v(
            json!({"revoked": true, "disabled": true, "status": "revoked"}),
            5,
            "bb",
        );
        let r = sf("research", Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
        assert_eq!(
            r.dropped,
            [
                "field 'disabled': kept as the remote version set it (security-first never undoes a \
                 revocation)",
                "field 'revoked': kept as the remote version set it (security-first never undoes a \
                 revocation)",
                "field 'status': kept as the remote version set it (security-first never undoes a \
                 revocation)",
            ]
        );
        // A transaction cancelled on one side stays cancelled.
        let base = v(json!({"status": "pending", "memo": "m"}), 1, "aa");
        let local = v(json!({"status": "confirmed", "memo": "m2"}), 9, "aa");
        let remote = v(json!({"status": "Cancelled", "memo": "m"}), 5, "bb");
        let r = sf("transactions", Some(&base), &local, &remote);
        assert_eq!(
            merged_data(&r),
            json!({"status": "Cancelled", "memo": "m2"})
        );
        // Nested flags, in a user collection.
        let base = v(
            json!({"shares": {"bob": {"revoked": false, "note": "x"}}}),
            1,
            "aa",
        );
        let local = v(
            json!({"shares": {"bob": {"revoked": false, "note": "y"}}}),
            9,
            "aa",
        );
        let remote = v(
            json!({"shares": {"bob": {"revoked": true, "note": "x"}}}),
            5,
            "bb",
        );
        let r = sf("notes", Some(&base), &local, &remote);
        assert_eq!(
            merged_data(&r),
            json!({"shares": {"bob": {"revoked": true, "note": "y"}}})
        );
        assert!(mentions(
            &r,
            "field 'shares.bob.revoked': kept as the remote version set it"
        ));
        assert!(mentions(&r, "field 'shares': remote edit replaced"));
        // A winner that removes the flag does not remove the revocation either.
        let local = v(json!({"status": "active"}), 9, "aa");
        let remote = v(json!({"status": "active", "disabled": true}), 5, "bb");
        let r = sf("notes", None, &local, &remote);
        assert_eq!(r.decision, Decision::KeepRemote);
    }

    #[test]
    fn security_first_is_the_timestamp_rule_otherwise() {
        let base = v(json!({"memo": "m"}), 1, "aa");
        let local = v(json!({"memo": "l"}), 9, "aa");
        let remote = v(json!({"memo": "r"}), 5, "bb");
        let r = sf("blocks", Some(&base), &local, &remote);
        assert_eq!(r.decision, Decision::KeepLocal);
        assert_eq!(
            r.dropped,
            ["field 'memo': remote edit replaced (the local version wins: later revision)"]
        );
    }

    // --- Properties ---------------------------------------------------------------------------

    /// xorshift64*: a small deterministic generator, so the cases are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len() as u64) as usize]
        }
    }

    const KEYS: &[&str] = &[
        "memo",
        "title",
        "count",
        "hits_count",
        "tags",
        "history",
        "deploy_log",
        "nested",
        "status",
        "revoked",
        "scopes",
        "expires_at",
    ];
    const INNER_KEYS: &[&str] = &["a", "b", "count", "log", "revoked"];

    fn scalar(rng: &mut Rng) -> Value {
        match rng.below(5) {
            0 => json!(format!("SECRET-{}", rng.below(4))),
            1 => json!(rng.below(6) as i64 - 2),
            2 => json!(rng.below(2) == 0),
            3 => Value::Null,
            _ => json!(["revoked", "active", "cancelled"][rng.below(3) as usize]),
        }
    }

    fn value(rng: &mut Rng, depth: u32) -> Value {
        match rng.below(if depth > 1 { 3 } else { 5 }) {
            0 | 1 => scalar(rng),
            2 => Value::Array((0..rng.below(4)).map(|_| scalar(rng)).collect()),
            3 => Value::Array(
                (0..rng.below(3))
                    .map(|_| json!({"e": scalar(rng)}))
                    .collect(),
            ),
            _ => {
                let mut m = Map::new();
                for _ in 0..rng.below(4) {
                    m.insert(rng.pick(INNER_KEYS).to_string(), value(rng, depth + 1));
                }
                Value::Object(m)
            }
        }
    }

    fn object(rng: &mut Rng) -> Map<String, Value> {
        let mut m = Map::new();
        for _ in 0..rng.below(6) {
            m.insert(rng.pick(KEYS).to_string(), value(rng, 0));
        }
        m
    }

    /// A plausible edit of `v`: small changes to arrays, counters and nested objects.
    fn mutate(rng: &mut Rng, v: &Value, depth: u32) -> Value {
        match v {
            Value::Array(items) if rng.below(3) > 0 => {
                let mut items = items.clone();
                if !items.is_empty() && rng.below(2) == 0 {
                    items.remove(rng.below(items.len() as u64) as usize);
                }
                if rng.below(2) == 0 {
                    items.push(scalar(rng));
                }
                Value::Array(items)
            }
            Value::Number(n) if rng.below(2) == 0 => json!(n.as_i64().unwrap_or(0) + 1),
            Value::Object(m) if rng.below(3) > 0 => Value::Object(mutate_map(rng, m, depth + 1)),
            _ => value(rng, depth),
        }
    }

    fn mutate_map(rng: &mut Rng, m: &Map<String, Value>, depth: u32) -> Map<String, Value> {
        let keys = if depth == 0 { KEYS } else { INNER_KEYS };
        let mut out = Map::new();
        for (k, value) in m {
            match rng.below(10) {
                0..=4 => {
                    out.insert(k.clone(), value.clone());
                }
                5 => {}
                _ => {
                    out.insert(k.clone(), mutate(rng, value, depth));
                }
            }
        }
        if rng.below(3) == 0 {
            out.insert(rng.pick(keys).to_string(), value(rng, depth));
        }
        out
    }

    fn gen_class(rng: &mut Rng) -> Classification {
        *rng.pick(&Classification::ALL[..3])
    }

    /// (base, local, remote), with ties on revision and device now and then.
    fn case(rng: &mut Rng) -> (Option<Version>, Version, Version) {
        let base_fields = object(rng);
        let base = match rng.below(10) {
            0 | 1 => None,
            2 => Some(Version {
                data: None,
                classification: gen_class(rng),
                revision: 1,
                device: "aa".into(),
            }),
            _ => Some(Version {
                data: Some(Value::Object(base_fields.clone())),
                classification: gen_class(rng),
                revision: 1,
                device: "aa".into(),
            }),
        };
        let side = |rng: &mut Rng| {
            let data = match rng.below(12) {
                0 => None,
                1 => Some(value(rng, 0)),
                2 => Some(Value::Object(base_fields.clone())),
                _ => Some(Value::Object(mutate_map(rng, &base_fields, 0))),
            };
            Version {
                data,
                classification: if rng.below(2) == 0 {
                    base.as_ref()
                        .map_or(Classification::Internal, |b| b.classification)
                } else {
                    gen_class(rng)
                },
                revision: 2 + rng.below(3),
                device: rng.pick(&["aa", "bb"]).to_string(),
            }
        };
        let local = side(rng);
        let remote = side(rng);
        (base, local, remote)
    }

    /// The content kept, ignoring the classification of a deletion.
    fn kept(
        r: &Resolution,
        local: &Version,
        remote: &Version,
    ) -> (Option<Value>, Option<Classification>) {
        let (data, classification) = content(r, local, remote);
        let classification = data.as_ref().map(|_| classification);
        (data, classification)
    }

    fn check_symmetry(strategy: Strategy, collection: &str, seed: u64, cases: usize) {
        let mut rng = Rng(seed);
        let ctx = ctx(collection);
        let mut merged = 0;
        for i in 0..cases {
            let (base, a, b) = case(&mut rng);
            let ab = resolve(strategy, &ctx, base.as_ref(), &a, &b);
            let ba = resolve(strategy, &ctx, base.as_ref(), &b, &a);
            assert_eq!(
                kept(&ab, &a, &b),
                kept(&ba, &b, &a),
                "case {i}: {strategy} depends on argument order\nbase {base:?}\na {a:?}\nb {b:?}"
            );
            assert_eq!(ab.dropped.len(), ba.dropped.len(), "case {i}");
            for line in ab.dropped.iter().chain(&ba.dropped) {
                assert!(!line.contains("SECRET-"), "case {i}: value in {line:?}");
            }
            merged += usize::from(matches!(ab.decision, Decision::Merged { .. }));
        }
        if strategy != Strategy::Timestamp {
            assert!(
                merged > cases / 20,
                "{strategy}: only {merged} merges in {cases} cases"
            );
        }
    }

    #[test]
    fn timestamp_winner_does_not_depend_on_argument_order() {
        check_symmetry(Strategy::Timestamp, "research", 0x9E37_79B9_7F4A_7C15, 2000);
        let mut rng = Rng(42);
        for _ in 0..1000 {
            let (base, a, b) = case(&mut rng);
            if a.same_content(&b) {
                continue;
            }
            let r = run(Strategy::Timestamp, base.as_ref(), &a, &b);
            let (winner, loser) = match r.decision {
                Decision::KeepLocal => (&a, &b),
                Decision::KeepRemote => (&b, &a),
                other => panic!("timestamp decided {other:?}"),
            };
            assert!(
                (winner.revision, &winner.device) >= (loser.revision, &loser.device),
                "{winner:?} beat {loser:?}"
            );
        }
    }

    #[test]
    fn merge_does_not_depend_on_argument_order() {
        check_symmetry(Strategy::Merge, "research", 0xDEAD_BEEF_CAFE_F00D, 3000);
    }

    #[test]
    fn security_first_does_not_depend_on_argument_order() {
        check_symmetry(Strategy::SecurityFirst, "api_keys", 7, 1500);
        check_symmetry(Strategy::SecurityFirst, "transactions", 8, 500);
    }

    /// Every edit is either in the result, combined by a rule that keeps both, or reported.
    #[test]
    fn merge_reports_every_edit_it_drops() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let empty = Map::new();
        let mut checked = 0;
        for i in 0..2000 {
            let (base, a, b) = case(&mut rng);
            let r = run(Strategy::Merge, base.as_ref(), &a, &b);
            let (result, _) = content(&r, &a, &b);
            let (Some(Value::Object(la)), Some(Value::Object(lb)), Some(Value::Object(res))) =
                (&a.data, &b.data, &result)
            else {
                continue;
            };
            let base_fields = base_fields(base.as_ref()).unwrap_or(&empty);
            // A side that changed nothing gets the other side's version.
            if a.data.as_ref() == base.as_ref().and_then(|v| v.data.as_ref()) {
                assert_eq!(result, b.data, "case {i}");
            }
            for (mine, theirs) in [(la, lb), (lb, la)] {
                for (k, value) in mine.iter().map(|(k, v)| (k, Some(v))).chain(
                    base_fields
                        .iter()
                        .filter(|(k, _)| !mine.contains_key(*k))
                        .map(|(k, _)| (k, None)),
                ) {
                    let before = base_fields.get(k);
                    if value == before || value == res.get(k) {
                        continue;
                    }
                    checked += 1;
                    let other = theirs.get(k);
                    let combined = other != before
                        && matches!(
                            (value, other),
                            (Some(Value::Object(_)), Some(Value::Object(_)))
                                | (Some(Value::Array(_)), Some(Value::Array(_)))
                                | (Some(Value::Number(_)), Some(Value::Number(_)))
                        );
                    assert!(
                        combined
                            || mentions(&r, &format!("'{k}'"))
                            || mentions(&r, &format!("'{k}.")),
                        "case {i}: edit of '{k}' lost silently: {:?}\nbase {base:?}\na {a:?}\nb {b:?}",
                        r.dropped
                    );
                }
            }
        }
        assert!(checked > 200, "only {checked} lost edits checked");
    }
}
