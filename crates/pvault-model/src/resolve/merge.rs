//! `merge`: a three-way, field-by-field merge against the common ancestor.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::*;

pub(crate) fn merge(base: Option<&Version>, sides: Sides<'_>) -> Resolution {
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

pub(crate) struct Merger {
    /// Who wins a clash no combining rule settles.
    later: Pick,
    dropped: Vec<String>,
}

impl Merger {
    pub(crate) fn object(
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
    pub(crate) fn field(
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
    pub(crate) fn append(
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
pub(crate) fn additions<'a>(base: &[Value], side: &'a [Value]) -> (Vec<&'a Value>, usize) {
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
pub(crate) fn set_merge(base: &[Value], local: &[Value], remote: &[Value]) -> Vec<Value> {
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
pub(crate) fn add_counts(base: &Value, local: &Value, remote: &Value) -> Option<Value> {
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

pub(crate) fn is_scalar(v: &Value) -> bool {
    !(v.is_array() || v.is_object())
}

pub(crate) fn is_audit_trail(name: &str) -> bool {
    matches!(name, "audit" | "history" | "log" | "trail")
        || name.ends_with("_log")
        || name.ends_with("_history")
}

pub(crate) fn is_counter(name: &str) -> bool {
    name == "count" || name.ends_with("_count")
}
