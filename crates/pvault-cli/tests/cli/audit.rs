//! `pvault audit` and `pvault audit verify`, run as a user would, against real store files.

use serde_json::{Value, json};

use crate::cli_support::Home;

fn kinds(listing: &Value) -> Vec<String> {
    listing["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

#[test]
fn the_audit_log_lists_what_happened_and_verify_names_tampering() {
    let home = Home::new();
    let p = home.create("alice", "standard");
    home.put("alice", "notes", "n1", &json!({"text": "one"}));
    home.put("alice", "notes", "n2", &json!({"text": "two"}));
    home.cmd(&["rm", "notes", "n1"]).ok();
    home.cmd(&["list", "notes"])
        .password("not the password")
        .run();

    let all = home.cmd(&["audit"]).ok_json();
    let got = kinds(&all);
    for want in [
        "profile_created",
        "unlocked",
        "records_written",
        "record_deleted",
        "unlock_failed",
    ] {
        assert!(got.iter().any(|k| k == want), "{want} missing: {got:?}");
    }
    let deleted = home.cmd(&["audit", "--kind", "record_deleted"]).ok_json();
    assert_eq!(kinds(&deleted), vec!["record_deleted"]);
    assert_eq!(deleted["entries"][0]["detail"]["id"], "n1");
    let text = home.cmd(&["audit", "--since", "1d"]).ok();
    assert!(text.stdout.contains("record_deleted"), "{}", text.stdout);
    assert!(
        text.stdout.contains("collection=notes id=n1"),
        "{}",
        text.stdout
    );
    let future = home.cmd(&["audit", "--since", "2999-01-01"]).ok();
    assert!(
        future.stdout.contains("no audit entries match"),
        "{}",
        future.stdout
    );

    // Bad filters are named, and nothing is listed.
    home.cmd(&["audit", "--kind", "bogus"])
        .run()
        .error_line(&["unknown audit event kind 'bogus'", "unlock_failed"]);
    home.cmd(&["audit", "--since", "yesterday"])
        .run()
        .error_line(&["--since", "yesterday", "7d"]);

    let ok = home.cmd(&["audit", "verify"]).ok();
    assert!(ok.stdout.contains("no problems"), "{}", ok.stdout);

    // One byte of entry 3 changed on disk: named, with its position, exit code 3.
    let db = home.db(&p.id);
    let (device, entry): (String, Vec<u8>) = db
        .query_row(
            "SELECT device, entry FROM audit_log WHERE seq = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("entry 3");
    let mut bad = entry.clone();
    bad[30] ^= 0x40;
    db.execute(
        "UPDATE audit_log SET entry = ?1 WHERE seq = 3",
        rusqlite::params![bad],
    )
    .expect("tamper");
    let out = home.cmd(&["audit", "verify"]).run().code(3);
    out.assert_mentions(
        &out.stdout,
        &[&format!("device {device} entry 3"), "modified"],
    );
    out.assert_mentions(&out.stderr, &["1 problem", "entry 3"]);
    let json_out = home.cmd(&["--json", "audit", "verify"]).run().code(3);
    let report: Value = serde_json::from_str(&json_out.stdout).expect("json report");
    assert_eq!(report["problems"][0]["seq"], 3, "{report}");
    assert_eq!(report["problems"][0]["kind"], "modified", "{report}");
    // The listing still shows the rest, and says one entry does not open.
    let listed = home.cmd(&["audit"]).ok();
    assert!(
        listed.stdout.contains("1 entry could not be opened"),
        "{}",
        listed.stdout
    );
}

#[test]
fn a_read_only_store_still_reads_but_refuses_writes_it_cannot_audit() {
    let home = Home::new();
    let p = home.create("alice", "standard");
    home.put("alice", "notes", "n1", &json!({"text": "one"}));
    // The audit log refuses every new entry, as a full disk would.
    home.db(&p.id)
        .execute_batch(
            "CREATE TRIGGER full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .expect("trigger");
    let before = home.snapshot();
    let got = home.cmd(&["get", "notes", "n1"]).ok_json();
    assert_eq!(got["data"]["text"], "one");
    home.cmd(&["put", "notes", "--id", "n2", "--data", r#"{"text":"two"}"#])
        .run()
        .error_line(&[
            "audit log cannot be written",
            "disk is full",
            "nothing was changed",
        ]);
    home.cmd(&["rm", "notes", "n1"])
        .run()
        .error_line(&["audit log cannot be written", "nothing was changed"]);
    home.snapshot()
        .assert_same(&before, "writes refused while the audit log is full");
}

#[test]
fn failed_unlocks_and_a_hidden_record_are_named() {
    let home = Home::new();
    let p = home.create("alice", "standard");
    home.put("alice", "notes", "n1", &json!({"text": "one"}));
    assert!(
        home.cmd(&["anomalies"])
            .ok()
            .stdout
            .contains("no anomalies")
    );
    for _ in 0..3 {
        home.cmd(&["list", "notes"])
            .password("a guess")
            .run()
            .code(1);
    }
    let found = home.cmd(&["anomalies"]).ok_json();
    let list = found["anomalies"].as_array().expect("anomalies");
    assert!(
        list.iter()
            .any(|a| a["what"] == "failed_unlock_burst" && a["detail"]["failures"] == 3),
        "{found}"
    );
    // Setting deleted = 1 on disk hides a live record from `list`; verify names it.
    home.db(&p.id)
        .execute(
            "UPDATE records SET deleted = 1 WHERE collection = 'notes'",
            [],
        )
        .expect("hide");
    let out = home.cmd(&["verify"]).run().code(3);
    out.assert_mentions(&out.stderr, &["notes/n1", "edited on disk"]);
}

#[test]
fn the_compliance_report_says_what_is_stored_and_how() {
    let home = Home::new();
    let p = home.create("alice", "standard");
    home.put("alice", "notes", "n1", &json!({"text": "one"}));
    home.put("alice", "notes", "n2", &json!({"text": "two"}));
    home.put(
        "alice",
        "api_keys",
        "k1",
        &json!({"provider": "binance", "name": "prod", "secret": "s3cr3t-value"}),
    );
    let r = home.cmd(&["report"]).ok_json();
    let stored = r["stored"].as_array().expect("stored");
    let notes = stored
        .iter()
        .find(|s| s["collection"] == "notes")
        .expect("notes");
    assert_eq!(notes["by_epoch"]["1"], 2, "{r}");
    assert_eq!(notes["cipher"], "AES-256-GCM");
    let keys = stored
        .iter()
        .find(|s| s["collection"] == "api_keys")
        .expect("api_keys");
    assert!(
        keys["cipher"].as_str().unwrap().contains("XChaCha20"),
        "{r}"
    );
    assert_eq!(r["security"], "standard");
    assert_eq!(r["epochs"], json!([1]));
    assert_eq!(r["audit"]["verified"], true, "{r}");
    assert!(
        r["audit"]["by_kind"]["records_written"].as_u64() >= Some(3),
        "{r}"
    );
    let text = home.cmd(&["report"]).ok().stdout;
    assert!(!text.contains("s3cr3t-value"), "no secret in the report");
    // A tampered log shows in the report.
    home.db(&p.id)
        .execute("DELETE FROM audit_log WHERE seq = 2", [])
        .expect("tamper");
    let r = home.cmd(&["report"]).ok_json();
    assert_eq!(r["audit"]["verified"], false, "{r}");
}

#[test]
fn an_export_is_checked_without_the_password_and_any_change_to_it_is_named() {
    let home = Home::new();
    home.create("alice", "standard");
    home.put("alice", "notes", "n1", &json!({"text": "one"}));
    home.cmd(&["rm", "notes", "n1"]).ok();
    let identity = home.cmd(&["profile", "show"]).ok_json()["identity"]
        .as_str()
        .expect("identity")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("audit.json");
    let file_arg = file.to_str().expect("utf-8");
    let out = home.cmd(&["audit", "export", "-o", file_arg]).ok();
    assert!(out.stdout.contains(&identity), "{}", out.stdout);
    // Exporting again to the same file is refused: nothing is overwritten.
    home.cmd(&["audit", "export", "-o", file_arg])
        .run()
        .error_line(&["exists"]);

    let ok = home
        .cmd(&["audit", "check-export", file_arg, "--identity", &identity])
        .no_password()
        .ok();
    assert!(ok.stdout.contains("no problems"), "{}", ok.stdout);
    // The export is recorded.
    let exported = home.cmd(&["audit", "--kind", "exported"]).ok_json();
    assert_eq!(
        exported["entries"].as_array().map(Vec::len),
        Some(1),
        "{exported}"
    );

    // Another identity, a removed entry, a changed entry: each named, exit code 3.
    let other = "00".repeat(32);
    home.cmd(&["audit", "check-export", file_arg, "--identity", &other])
        .no_password()
        .run()
        .code(3);
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let mut removed = doc.clone();
    removed["chains"][0]["entries"]
        .as_array_mut()
        .expect("entries")
        .remove(1);
    let mut changed = doc.clone();
    let e = changed["chains"][0]["entries"][2]["entry"]
        .as_str()
        .expect("entry")
        .to_string();
    let flipped = if e.starts_with('A') { "B" } else { "A" }.to_string() + &e[1..];
    changed["chains"][0]["entries"][2]["entry"] = Value::String(flipped);
    let mut truncated = doc.clone();
    truncated["chains"][0]["entries"]
        .as_array_mut()
        .expect("entries")
        .pop();
    for (what, bad) in [
        ("removed", removed),
        ("changed", changed),
        ("truncated", truncated),
    ] {
        let path = dir.path().join(format!("{what}.json"));
        std::fs::write(&path, serde_json::to_vec(&bad).expect("json")).expect("write");
        let out = home
            .cmd(&[
                "audit",
                "check-export",
                path.to_str().expect("utf-8"),
                "--identity",
                &identity,
            ])
            .no_password()
            .run()
            .code(3);
        assert!(out.stdout.contains("device "), "{what}: {}", out.stdout);
    }
}
