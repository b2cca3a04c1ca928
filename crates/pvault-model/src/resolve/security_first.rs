//! `security-first`: the later write wins, but never lowers a classification, widens access or undoes a revocation.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::*;

pub(crate) const API_KEYS: &str = "api_keys";
pub(crate) const SCOPES: &str = "scopes";
pub(crate) const EXPIRES_AT: &str = "expires_at";
pub(crate) const REVOKED_STATUSES: [&str; 3] = ["revoked", "disabled", "cancelled"];

pub(crate) type Fields = Map<String, Value>;

pub(crate) fn security_first(
    ctx: &Context<'_>,
    base: Option<&Version>,
    sides: Sides<'_>,
) -> Resolution {
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
        adjusted_winner(
            ctx,
            base,
            sides,
            pick,
            &mut dropped,
            &mut skip_winner,
            &mut skip_loser,
        )
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

/// The winner's data with the security-first adjustments applied (API key scopes and expiry,
/// revocations at any depth); the fields an adjustment reports are added to the skip sets.
fn adjusted_winner(
    ctx: &Context<'_>,
    base: Option<&Version>,
    sides: Sides<'_>,
    pick: Pick,
    dropped: &mut Vec<String>,
    skip_winner: &mut BTreeSet<String>,
    skip_loser: &mut BTreeSet<String>,
) -> Option<Value> {
    let (w, l) = (pick.winner, pick.winner.other());
    let (winner, loser) = (sides.get(w), sides.get(l));
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
                if settle(result, base_fields, both, dropped) {
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
            dropped,
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
}

/// Settles one field of `result` from both sides (winner first); `true` when it did, having
/// reported what each side loses.
pub(crate) type Settle = fn(&mut Fields, &Fields, [(Side, &Fields); 2], &mut Vec<String>) -> bool;

/// A field with a value (JSON `null` counts as absent, as the models store it).
pub(crate) fn present<'a>(fields: &'a Fields, key: &str) -> Option<&'a Value> {
    fields.get(key).filter(|v| !v.is_null())
}

/// `scopes`: the intersection when both sides list scopes, the listed ones when only one does.
pub(crate) fn narrow_scopes(
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
pub(crate) fn earliest_expiry(
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
pub(crate) fn is_before(a: &str, b: &str) -> bool {
    let parse = |s: &str| OffsetDateTime::parse(s.trim(), &Rfc3339).ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a < b,
        _ => a < b,
    }
}

pub(crate) fn value_on<'a>(fields: Option<&'a Fields>, key: &str) -> Option<&'a Value> {
    fields.and_then(|f| f.get(key))
}

pub(crate) fn is_revoked_status(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        REVOKED_STATUSES
            .iter()
            .any(|r| s.trim().eq_ignore_ascii_case(r))
    })
}

/// `revoked`/`disabled` true on either side stay true, a revoked/disabled/cancelled `status` on
/// either side wins, in `result` and in every nested object of it. Pushes `(top-level field,
/// nested)` for each adjustment into `adjusted`.
pub(crate) fn keep_revocations(
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
