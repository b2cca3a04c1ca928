//! Reporting what a resolution drops: fields, deletions and classifications, never values.

use std::collections::BTreeSet;

use pvault_crypto::Classification;
use serde_json::{Map, Value};

use super::*;

/// The base's fields: empty when there is no base, it is a deletion, or it is not an object.
pub(crate) fn base_fields(base: Option<&Version>) -> Option<&Map<String, Value>> {
    base.and_then(|b| b.data.as_ref())
        .and_then(Value::as_object)
}

/// Reports the fields that `side` edited (against `base`) and whose value `result` does not hold,
/// except those in `skip` (already reported by a more precise line).
pub(crate) fn report_losses(
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
pub(crate) fn report_classification(
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
pub(crate) fn outcome(
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
