//! `Vault::verify` finds every edit on disk of a column that changes what a user sees, and of the
//! store's own counters; it names the record.

use pvault_core::{Credentials, NewProfile, NewRecord, Pvault, SecurityLevel, Vault};
use rusqlite::Connection;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

fn profile() -> (tempfile::TempDir, Pvault, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let pv = Pvault::open(dir.path()).unwrap();
    pv.create(
        NewProfile {
            name: "alice".into(),
            display_name: None,
            security: SecurityLevel::Standard,
        },
        PASSWORD.as_bytes(),
    )
    .unwrap();
    let mut v = pv
        .unlock(Some("alice"), &Credentials::password(PASSWORD))
        .unwrap();
    for id in ["a", "b"] {
        v.put(NewRecord {
            collection: "notes".into(),
            id: Some(id.into()),
            classification: None,
            data: json!({"title": id, "body": "text"}),
        })
        .unwrap();
    }
    // A second version of `a`, so an older body exists to swap in.
    v.put(NewRecord {
        collection: "notes".into(),
        id: Some("a".into()),
        classification: None,
        data: json!({"title": "a", "body": "newer"}),
    })
    .unwrap();
    (dir, pv, v)
}

fn raw(pv: &Pvault, v: &Vault) -> Connection {
    Connection::open(pv.home().profile_dir(&v.summary().id).join("store.db")).unwrap()
}

#[test]
fn an_untouched_profile_verifies() {
    let (_d, _pv, v) = profile();
    let r = v.verify(&mut |_, _| {}).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn every_edit_of_a_visible_column_is_named() {
    for (what, sql) in [
        (
            "deleted",
            "UPDATE records SET deleted = 1, body = NULL WHERE rid = (SELECT rid FROM records LIMIT 1)",
        ),
        ("deleted flag only", "UPDATE records SET deleted = 1"),
        ("version", "UPDATE records SET version = version + 5"),
        ("revision", "UPDATE records SET revision = revision - 1"),
        ("device", "UPDATE records SET device = 'someone-else'"),
        ("tag removed", "UPDATE records SET tag = NULL"),
    ] {
        let (_d, pv, v) = profile();
        // At least one problem per edited row is required.
        let edited = raw(&pv, &v).execute(sql, []).unwrap();
        assert!(edited > 0, "{what}");
        let r = v.verify(&mut |_, _| {}).unwrap();
        assert!(
            r.problems.len() >= edited,
            "{what}: {edited} row(s) edited, problems: {:?}",
            r.problems
        );
        assert!(
            r.problems
                .iter()
                .all(|p| p.collection == "notes" || p.collection == "(store)"),
            "{what}: {:?}",
            r.problems
        );
    }
}

#[test]
fn an_older_body_swapped_back_in_is_named() {
    let (_d, pv, mut v) = profile();
    let conn = raw(&pv, &v);
    let rid: Vec<u8> = conn
        .query_row("SELECT rid FROM records WHERE version = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    let old_body: Vec<u8> = conn
        .query_row("SELECT body FROM records WHERE rid = ?1", [&rid], |r| {
            r.get(0)
        })
        .unwrap();
    // A newer write, then the old (valid, same record) body put back, with its version.
    v.put(NewRecord {
        collection: "notes".into(),
        id: Some("a".into()),
        classification: None,
        data: json!({"title": "a", "body": "newest"}),
    })
    .unwrap();
    conn.execute(
        "UPDATE records SET body = ?1, version = 2 WHERE rid = ?2",
        rusqlite::params![old_body, rid],
    )
    .unwrap();
    // The envelope opens (it is genuine), but it is not the one this row holds.
    assert_eq!(v.get("notes", "a").unwrap().data["body"], "newer");
    let r = v.verify(&mut |_, _| {}).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.id == "a" && p.problem.contains("edited on disk")),
        "{:?}",
        r.problems
    );
}

#[test]
fn lowered_counters_are_named() {
    let (_d, pv, v) = profile();
    let conn = raw(&pv, &v);
    conn.execute("UPDATE meta SET value = 0 WHERE key = 'seals/1'", [])
        .unwrap();
    conn.execute("UPDATE meta SET value = 1 WHERE key = 'hlc'", [])
        .unwrap();
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('key_id', 9)",
        [],
    )
    .unwrap();
    let r = v.verify(&mut |_, _| {}).unwrap();
    let ids: Vec<&str> = r.problems.iter().map(|p| p.id.as_str()).collect();
    for want in ["seals/1", "meta/hlc", "meta/key_id"] {
        assert!(ids.contains(&want), "{want}: {:?}", r.problems);
    }
}

#[test]
fn a_mass_delete_is_an_anomaly_raised_and_recorded() {
    let (_d, _pv, mut v) = profile();
    let raised = v.on_security_anomaly();
    let n = pvault_core::integrity::MASS_DELETE;
    let records: Vec<NewRecord> = (0..n)
        .map(|i| NewRecord {
            collection: "notes".into(),
            id: Some(format!("m{i}")),
            classification: None,
            data: json!({"title": "t", "body": "b"}),
        })
        .collect();
    v.put_many(records, &mut |_, _| {}).unwrap();
    for i in 0..n - 1 {
        v.remove("notes", &format!("m{i}")).unwrap();
    }
    assert!(raised.try_recv().is_err(), "not yet a mass delete");
    assert!(v.anomalies().unwrap().is_empty());
    v.remove("notes", &format!("m{}", n - 1)).unwrap();
    let a = raised.try_recv().expect("raised");
    assert_eq!(a.what, "mass_delete");
    assert_eq!(a.detail["deleted"], n);
    let listed = v.anomalies().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].what, "mass_delete");
}

#[test]
fn a_burst_of_failed_unlocks_is_an_anomaly_at_the_next_unlock() {
    let (_d, pv, v) = profile();
    drop(v);
    let burst = pvault_core::integrity::FAILED_UNLOCK_BURST;
    for _ in 0..burst {
        assert!(
            pv.unlock(Some("alice"), &Credentials::password("guess"))
                .err()
                .unwrap()
                .is_wrong_password()
        );
    }
    let v = pv
        .unlock(Some("alice"), &Credentials::password(PASSWORD))
        .unwrap();
    let found = v.anomalies().unwrap();
    let a = found
        .iter()
        .find(|a| a.what == "failed_unlock_burst")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(a.detail["failures"], burst);
    // Fewer failures are not a burst.
    drop(v);
    for _ in 0..burst - 1 {
        let _ = pv.unlock(Some("alice"), &Credentials::password("guess"));
    }
    let v = pv
        .unlock(Some("alice"), &Credentials::password(PASSWORD))
        .unwrap();
    let bursts = v
        .anomalies()
        .unwrap()
        .into_iter()
        .filter(|a| a.what == "failed_unlock_burst")
        .count();
    assert_eq!(bursts, 1);
}

#[test]
fn verify_raises_what_it_finds_to_listeners() {
    let (_d, pv, v) = profile();
    let violations = v.on_integrity_violation();
    raw(&pv, &v)
        .execute("UPDATE records SET version = 99", [])
        .unwrap();
    let r = v.verify(&mut |_, _| {}).unwrap();
    let got: Vec<_> = violations.try_iter().collect();
    assert_eq!(got.len(), r.problems.len());
    assert!(!got.is_empty());
}

#[test]
fn the_agent_monitor_reports_each_new_anomaly_once() {
    use pvault_core::ops::Op;
    use std::time::{Duration, Instant};
    let (dir, pv, mut v) = profile();
    let n = pvault_core::integrity::MASS_DELETE;
    let records: Vec<NewRecord> = (0..n)
        .map(|i| NewRecord {
            collection: "notes".into(),
            id: Some(format!("m{i}")),
            classification: None,
            data: json!({"title": "t", "body": "b"}),
        })
        .collect();
    v.put_many(records, &mut |_, _| {}).unwrap();
    drop(v);
    pv.update_settings("alice", |s| s.monitor_secs = Some(60))
        .unwrap();
    let (_, transfer) = pv
        .unlock_for_transfer(Some("alice"), &Credentials::password(PASSWORD))
        .unwrap();
    let mut sessions = pvault_core::Sessions::new(Pvault::open(dir.path()).unwrap());
    sessions.unlock_with_keys("alice", &transfer).unwrap();
    let start = Instant::now();
    assert!(sessions.check_monitors(start).is_empty(), "nothing yet");
    for i in 0..n {
        sessions
            .run(
                "alice",
                Op::Remove {
                    collection: "notes".into(),
                    id: format!("m{i}"),
                },
            )
            .unwrap();
    }
    // Not due before its interval.
    assert!(
        sessions
            .check_monitors(start + Duration::from_secs(30))
            .is_empty()
    );
    let found = sessions.check_monitors(start + Duration::from_secs(61));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alice");
    assert_eq!(found[0].1.what, "mass_delete");
    // Reported once.
    assert!(
        sessions
            .check_monitors(start + Duration::from_secs(200))
            .is_empty()
    );
}

#[test]
fn verify_includes_the_audit_log_and_anomalies_see_edited_rows() {
    let (_d, pv, v) = profile();
    let conn = raw(&pv, &v);
    conn.execute("DELETE FROM audit_log WHERE seq = 2", [])
        .unwrap();
    let r = v.verify(&mut |_, _| {}).unwrap();
    assert!(r.audit_entries > 0);
    assert!(
        r.problems
            .iter()
            .any(|p| p.collection == "(audit)" && p.problem.starts_with("removed")),
        "{:?}",
        r.problems
    );
    conn.execute("UPDATE records SET version = 7", []).unwrap();
    let found = v.anomalies().unwrap();
    let edited = found
        .iter()
        .find(|a| a.what == "store_changed_outside")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(edited.detail["rows"], 2);
}
