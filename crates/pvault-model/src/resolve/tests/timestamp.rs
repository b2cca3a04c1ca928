//! `timestamp` and `profile-priority`.

use serde_json::json;

use super::*;

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
