//! Unit tests of conflict resolution: shared helpers and rules here, one file per strategy.

mod merge;
mod properties;
mod security_first;
mod timestamp;

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
fn content(r: &Resolution, local: &Version, remote: &Version) -> (Option<Value>, Classification) {
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
