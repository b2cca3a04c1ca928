//! `manual` and `security-first`.

use serde_json::json;

use super::*;
use crate::resolve::security_first::is_before;

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

fn sf(collection: &str, base: Option<&Version>, local: &Version, remote: &Version) -> Resolution {
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
