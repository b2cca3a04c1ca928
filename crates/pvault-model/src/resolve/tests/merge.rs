//! `merge`.

use serde_json::json;

use super::*;

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
