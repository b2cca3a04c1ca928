//! Bad input: every refusal exits non-zero with one clear line on stderr naming the problem, and
//! changes nothing. Damaged data (a flipped byte, files from a newer pvault) is named precisely;
//! repeated wrong passwords are slowed down, then locked out, across processes. No secret is ever
//! printed by a failing command.

use serde_json::{Value, json};

use crate::cli_support::{
    Home, Output, PASSWORD, Profile, contains, count, find, now_secs, revision, row_by_revision,
    unique_marker,
};

fn tx(amount: &str) -> Value {
    json!({"amount": amount, "asset": "BTC", "from": "alice", "to": "bob",
           "time": "2026-11-23T10:00:00Z", "status": "pending"})
}

/// A home with profile "alice" holding a few records.
fn populated() -> (Home, Profile) {
    let home = Home::new();
    let p = home.create("alice", "standard");
    home.put("alice", "notes", "n1", &json!({"text": "one"}));
    home.put("alice", "transactions", "t1", &tx("1.5"));
    home.cmd(&[
        "put",
        "api_keys",
        "--id",
        "k1",
        "--data",
        r#"{"provider":"okx","name":"bot","secret":"sk-populated"}"#,
    ])
    .ok();
    (home, p)
}

#[test]
fn bad_records_are_refused_and_change_nothing() {
    let (home, _) = populated();
    let files = tempfile::tempdir().expect("tempdir");
    let big = files.path().join("big.json");
    std::fs::write(
        &big,
        json!({"blob": "x".repeat(1024 * 1024 + 100)}).to_string(),
    )
    .expect("write");
    let big_arg = format!("@{}", big.display());
    let lines = files.path().join("lines.jsonl");
    std::fs::write(
        &lines,
        "{\"id\":\"l1\",\"data\":{\"a\":1},\"extra\":true}\n",
    )
    .expect("write");
    let lines_arg = format!("@{}", lines.display());
    let unknown_field = {
        let mut t = tx("2");
        t["price"] = json!(3);
        t.to_string()
    };
    let missing_field = {
        let mut t = tx("2");
        t.as_object_mut().expect("object").remove("status");
        t.to_string()
    };
    let bad_amount = tx("abc").to_string();
    let huge_stdin = vec![b' '; 5 * 1024 * 1024];

    let list_before = home.cmd(&["list", "notes"]).ok_json();
    let before = home.snapshot();
    assert!(before.record_rows() >= 3);
    type Case<'a> = (&'a str, Vec<&'a str>, Option<Vec<u8>>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            vec!["put", "notes", "--id", "x", "--data", "{\"a\":"],
            None,
            vec!["invalid JSON"],
        ),
        (
            "malformed JSON on stdin",
            vec!["put", "notes", "--id", "x"],
            Some(b"{not json".to_vec()),
            vec!["invalid JSON"],
        ),
        (
            "empty stdin",
            vec!["put", "notes", "--id", "x"],
            Some(Vec::new()),
            vec!["invalid JSON"],
        ),
        (
            "schema: amount abc",
            vec!["put", "transactions", "--id", "t2", "--data", &bad_amount],
            None,
            vec!["transactions", "amount", "abc"],
        ),
        (
            "schema: update of an existing record with amount abc",
            vec!["put", "transactions", "--id", "t1", "--data", &bad_amount],
            None,
            vec!["transactions", "amount"],
        ),
        (
            "schema: unknown field",
            vec!["put", "transactions", "--data", &unknown_field],
            None,
            vec!["transactions", "unknown field", "price"],
        ),
        (
            "schema: missing field",
            vec!["put", "transactions", "--data", &missing_field],
            None,
            vec!["transactions", "missing field", "status"],
        ),
        (
            "not an object",
            vec!["put", "notes", "--data", "[1,2]"],
            None,
            vec!["notes", "expected a JSON object"],
        ),
        (
            "oversized record from a file",
            vec!["put", "notes", "--id", "big", "--data", &big_arg],
            None,
            vec!["1048576"],
        ),
        (
            "oversized input on stdin",
            vec!["put", "notes", "--id", "big"],
            Some(huge_stdin),
            vec!["stdin", "larger than"],
        ),
        (
            "invalid record id",
            vec!["put", "notes", "--id", "bad id", "--data", "{}"],
            None,
            vec!["invalid record id", "bad id"],
        ),
        (
            "invalid record id (slash)",
            vec!["put", "notes", "--id", "../etc", "--data", "{}"],
            None,
            vec!["invalid record id"],
        ),
        (
            "unknown collection name",
            vec!["put", "Bad Name", "--data", "{}"],
            None,
            vec!["invalid collection name", "Bad Name"],
        ),
        (
            "reserved collection name",
            vec!["put", "pvault_meta", "--data", "{}"],
            None,
            vec!["reserved"],
        ),
        (
            "list of an invalid collection name",
            vec!["list", "Bad Name"],
            None,
            vec!["invalid collection name"],
        ),
        (
            "classification below the collection minimum",
            vec![
                "put",
                "api_keys",
                "--id",
                "k2",
                "-c",
                "PUBLIC",
                "--data",
                r#"{"provider":"okx","name":"n","secret":"s"}"#,
            ],
            None,
            vec!["api_keys", "at least CONFIDENTIAL", "PUBLIC"],
        ),
        (
            "downgrading an existing record below the minimum",
            vec![
                "put",
                "api_keys",
                "--id",
                "k1",
                "-c",
                "INTERNAL",
                "--data",
                r#"{"provider":"okx","name":"n","secret":"s"}"#,
            ],
            None,
            vec!["at least CONFIDENTIAL"],
        ),
        (
            "rm of a missing record",
            vec!["rm", "notes", "nothere"],
            None,
            vec!["no record 'nothere'", "notes"],
        ),
        (
            "get of a missing record",
            vec!["get", "notes", "nothere"],
            None,
            vec!["no record 'nothere'"],
        ),
        (
            "query on a field without index",
            vec!["list", "transactions", "--where", "memo=x"],
            None,
            vec!["memo", "not indexed"],
        ),
        (
            "bad --where",
            vec!["list", "transactions", "--where", "asset"],
            None,
            vec!["FIELD=VALUE"],
        ),
        (
            "bad line in put --lines",
            vec!["put", "notes", "--lines", "--data", &lines_arg],
            None,
            vec!["line 1", "extra"],
        ),
    ];
    for (what, args, stdin, words) in cases {
        let mut cmd = home.cmd(&args);
        if let Some(bytes) = stdin {
            cmd = cmd.stdin(bytes);
        }
        let out = cmd.run();
        out.error_line(&words);
        assert!(out.stdout.is_empty(), "{what}: stdout {:?}", out.stdout);
        home.snapshot().assert_same(&before, what);
    }

    // Usage errors (exit 2) change nothing either.
    let out = home
        .cmd(&["put", "notes", "-c", "ULTRA", "--data", "{}"])
        .run()
        .code(2);
    out.assert_mentions(&out.stderr, &["ULTRA"]);
    home.snapshot().assert_same(&before, "usage error");

    // A schema problem is stated once (the cause is not printed a second time).
    let line = home
        .cmd(&["put", "transactions", "--data", &bad_amount])
        .run()
        .error_line(&["amount"]);
    assert_eq!(line.matches("field 'amount'").count(), 1, "{line}");

    assert_eq!(home.cmd(&["list", "notes"]).ok_json(), list_before);
    home.cmd(&["verify"]).ok();
}

#[test]
fn bad_credentials_are_refused_and_change_nothing() {
    let (home, p) = populated();
    let files = tempfile::tempdir().expect("tempdir");
    let empty = files.path().join("empty");
    std::fs::write(&empty, "\n").expect("write");
    let empty_arg = empty.to_str().expect("utf-8").to_string();
    let missing = files.path().join("missing");
    let missing_arg = missing.to_str().expect("utf-8").to_string();
    let before = home.snapshot();

    let out = home
        .cmd(&["list", "notes"])
        .password("Correct Horse Battery Staple")
        .run();
    out.error_line(&["wrong password for profile 'alice'"]);
    out.assert_not_shown("Correct Horse Battery Staple");
    out.assert_not_shown(PASSWORD);
    assert_eq!(
        home.attempts(&p.id)["failures"],
        1,
        "a wrong password counts"
    );
    home.snapshot().assert_same(&before, "wrong password");

    home.cmd(&["put", "notes", "--id", "x", "--data", "{}"])
        .password("wrong")
        .run()
        .error_line(&["wrong password"]);
    home.snapshot()
        .assert_same(&before, "put with a wrong password");

    home.cmd(&["--profile", "nobody", "list", "notes"])
        .run()
        .error_line(&["no profile named 'nobody'"]);
    home.cmd(&["put", "notes", "--id", "x", "--data", "{}"])
        .env("PVAULT_PROFILE", "nobody")
        .run()
        .error_line(&["no profile named 'nobody'"]);
    home.cmd(&["list", "notes"])
        .no_password()
        .run()
        .error_line(&["alice", "PVAULT_PASSWORD", "--password-file"]);
    home.cmd(&["list", "notes", "--password-file", &empty_arg])
        .no_password()
        .run()
        .error_line(&["password file", "empty"]);
    home.cmd(&["list", "notes", "--password-file", &missing_arg])
        .no_password()
        .run()
        .error_line(&["cannot read password file", "missing"]);
    home.cmd(&["list", "notes"])
        .env("PVAULT_SECRET_KEY", "PV1-not-a-key")
        .run()
        .error_line(&["invalid Secret Key"]);
    // A well-formed Secret Key that is not this profile's.
    home.cmd(&["list", "notes"])
        .env("PVAULT_SECRET_KEY", "PV1-N7SB6VS-4XT60G4-EJFAP1P-RWQV0DN")
        .run()
        .error_line(&["wrong password or Secret Key"]);
    // --json errors are one JSON object.
    let out = home
        .cmd(&["list", "notes", "--json"])
        .password("wrong")
        .run();
    assert_eq!(out.code, Some(1));
    let err: Value = serde_json::from_str(out.stderr.trim()).expect("JSON error on stderr");
    assert!(
        err["error"]
            .as_str()
            .is_some_and(|e| e.contains("wrong password")),
        "{err}"
    );
    home.snapshot().assert_same(&before, "bad credentials");
    // The right password still works, and resets the counter.
    home.cmd(&["get", "notes", "n1"]).ok();
    assert_eq!(home.attempts(&p.id)["failures"], 0);
}

#[test]
fn no_profile_selected() {
    // An empty home.
    let empty = Home::new();
    empty.cmd(&["list", "notes"]).run().error_line(&[
        "no profile selected",
        "--profile",
        "profile use",
    ]);
    empty
        .cmd(&["profile", "show"])
        .no_password()
        .run()
        .error_line(&["no profile selected"]);
    let list = empty.cmd(&["profile", "list"]).no_password().ok();
    assert!(list.stdout.contains("no profiles yet"), "{}", list.stdout);

    // A home whose current profile was deleted.
    let home = Home::new();
    home.create("a", "standard");
    home.create("b", "standard");
    home.put("b", "notes", "n1", &json!({"x": 1}));
    home.cmd(&["profile", "delete", "a", "--confirm", "a"])
        .no_password()
        .ok();
    let before = home.snapshot();
    home.cmd(&["put", "notes", "--id", "n2", "--data", "{}"])
        .run()
        .error_line(&["no profile selected"]);
    home.cmd(&["get", "notes", "n1"])
        .run()
        .error_line(&["no profile selected"]);
    home.snapshot().assert_same(&before, "no profile selected");
    home.cmd(&["--profile", "b", "get", "notes", "n1"]).ok();
}

/// A profile with three notes; returns the home, the profile and each note's row revision.
fn three_notes() -> (Home, Profile, Vec<i64>) {
    let home = Home::new();
    let p = home.create("alice", "standard");
    let revs = ["n1", "n2", "n3"]
        .iter()
        .map(|id| {
            revision(&home.put(
                "alice",
                "notes",
                id,
                &json!({"id": id, "text": "some text"}),
            ))
        })
        .collect();
    (home, p, revs)
}

/// After n2 was damaged: get n2 fails naming it, the others still read, list shows the others and
/// exits 3 naming n2, verify exits 3 naming n2.
fn assert_only_n2_is_damaged(home: &Home) {
    home.cmd(&["get", "notes", "n2"])
        .run()
        .error_line(&["notes/n2", "does not decrypt"]);
    for id in ["n1", "n3"] {
        let rec = home.cmd(&["get", "notes", id]).ok_json();
        assert_eq!(rec["data"]["id"], id);
    }
    let listed = home.cmd(&["list", "notes"]).run().code(3);
    assert!(listed.stdout.contains("notes/n1"), "{}", listed.stdout);
    assert!(listed.stdout.contains("notes/n3"), "{}", listed.stdout);
    assert!(!listed.stdout.contains("notes/n2"), "{}", listed.stdout);
    assert!(listed.stderr.contains("notes/n2:"), "{}", listed.stderr);
    assert!(!listed.stderr.contains("notes/n1") && !listed.stderr.contains("notes/n3"));
    let listed = home.cmd(&["list", "notes", "--json"]).run().code(3);
    let v = listed.json();
    let ok: Vec<&str> = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ok, ["n1", "n3"]);
    assert_eq!(v["unreadable"][0]["id"], "n2", "{v}");
    assert_eq!(v["unreadable"][0]["collection"], "notes");
    assert_eq!(v["unreadable"].as_array().map(Vec::len), Some(1));
    let verify = home.cmd(&["verify"]).run().code(3);
    assert!(verify.stderr.contains("notes/n2:"), "{}", verify.stderr);
    assert!(!verify.stderr.contains("notes/n1") && !verify.stderr.contains("notes/n3"));
    // Other collections are unaffected.
    home.cmd(&["put", "research", "--data", r#"{"title":"t","body":"b"}"#])
        .ok();
}

#[test]
fn a_flipped_ciphertext_byte_is_named_sql() {
    let (home, p, revs) = three_notes();
    let db = home.db(&p.id);
    let row = row_by_revision(&db, revs[1]);
    let mut body = row.body.clone().expect("body");
    let mid = body.len() / 2;
    body[mid] ^= 0x01;
    db.execute(
        "UPDATE records SET body = ?1 WHERE collection = 'notes' AND rid = ?2",
        rusqlite::params![body, row.rid],
    )
    .expect("update");
    drop(db);
    assert_only_n2_is_damaged(&home);
}

#[test]
fn a_flipped_byte_in_the_database_file_is_named() {
    let (home, p, revs) = three_notes();
    let path = home.store_path(&p.id);
    let body = {
        let db = home.db(&p.id);
        db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            let busy: i64 = r.get(0)?;
            assert_eq!(busy, 0, "checkpoint blocked");
            Ok(())
        })
        .expect("checkpoint");
        row_by_revision(&db, revs[1]).body.expect("body")
    };
    let wal = path.with_extension("db-wal");
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0,
        "the WAL is empty after the checkpoint"
    );
    let mut file = std::fs::read(&path).expect("read store.db");
    // A window from the middle of the ciphertext: random bytes, so it occurs once.
    let mid = body.len() / 2;
    let window = &body[mid - 16..mid + 16];
    assert_eq!(count(&file, window), 1, "the ciphertext is stored once");
    let at = find(&file, window).expect("found") + 16;
    file[at] ^= 0x40;
    std::fs::write(&path, &file).expect("write store.db");
    // The flip landed in the live row.
    let now = row_by_revision(&home.db(&p.id), revs[1])
        .body
        .expect("body");
    assert_ne!(now, body);
    assert_eq!(now.len(), body.len());
    assert_only_n2_is_damaged(&home);
}

/// A damaged plaintext column: a classification that is not a level makes that record fail alone
/// (named by `list`, `get` and `verify`, others still shown); a key id that disagrees with the
/// envelopes does not stop reads (envelopes name their own key) but `verify` reports it.
#[test]
fn a_damaged_classification_column_is_named_by_list() {
    let (home, p, revs) = three_notes();
    let row = row_by_revision(&home.db(&p.id), revs[1]);
    let db = home.db(&p.id);
    db.execute(
        "UPDATE records SET classification = 99 WHERE collection = 'notes' AND rid = ?1",
        rusqlite::params![row.rid],
    )
    .expect("update");
    drop(db);
    let listed = home.cmd(&["list", "notes"]).run().code(3);
    assert!(listed.stdout.contains("notes/n1"), "{}", listed.stdout);
    assert!(listed.stdout.contains("notes/n3"), "{}", listed.stdout);
    assert!(listed.stderr.contains("notes/n2"), "{}", listed.stderr);
    home.cmd(&["get", "notes", "n2"])
        .run()
        .error_line(&["notes/n2"]);
    home.cmd(&["verify"]).run().code(3);
    crate::cli_support::overwrite_row(&home.db(&p.id), "notes", &row.rid, &row);
    home.cmd(&["verify"]).ok();
}

#[test]
fn a_damaged_key_id_column_is_reported_by_verify_only() {
    let (home, p, revs) = three_notes();
    let row = row_by_revision(&home.db(&p.id), revs[1]);
    let db = home.db(&p.id);
    db.execute(
        "UPDATE records SET key_id = 7 WHERE collection = 'notes' AND rid = ?1",
        rusqlite::params![row.rid],
    )
    .expect("update");
    drop(db);
    home.cmd(&["get", "notes", "n2"]).ok();
    let listed = home.cmd(&["list", "notes"]).ok();
    assert!(listed.stdout.contains("notes/n2"), "{}", listed.stdout);
    let verified = home.cmd(&["verify"]).run().code(3);
    assert!(
        verified.stderr.contains("notes/n2") && verified.stderr.contains("key id"),
        "{}",
        verified.stderr
    );
    crate::cli_support::overwrite_row(&home.db(&p.id), "notes", &row.rid, &row);
    home.cmd(&["verify"]).ok();
}

#[test]
fn files_from_a_newer_pvault_are_refused() {
    let (home, p) = populated();
    let key_path = home.profile_dir(&p.id).join("key.json");
    let original = std::fs::read(&key_path).expect("key.json");
    let mut v: Value = serde_json::from_slice(&original).expect("key.json is JSON");
    assert_eq!(v["version"], 1);
    v["version"] = json!(2);
    std::fs::write(&key_path, serde_json::to_vec_pretty(&v).expect("json")).expect("write");
    let before = home.snapshot();
    for args in [
        &["list", "notes"][..],
        &["get", "notes", "n1"],
        &["put", "notes", "--id", "x", "--data", "{}"],
    ] {
        let out = home.cmd(args).run();
        out.error_line(&["newer pvault", "upgrade", "key.json", "format 2"]);
    }
    home.cmd(&["profile", "show"])
        .no_password()
        .run()
        .error_line(&["newer pvault", "upgrade"]);
    home.snapshot().assert_same(&before, "newer key file");
    std::fs::write(&key_path, &original).expect("restore");
    home.cmd(&["get", "notes", "n1"]).ok();

    // A store at a newer format version.
    let db = home.db(&p.id);
    db.pragma_update(None, "user_version", 99)
        .expect("user_version");
    drop(db);
    let before = home.snapshot();
    for args in [
        &["list", "notes"][..],
        &["put", "notes", "--id", "x", "--data", "{}"],
        &["verify"],
    ] {
        home.cmd(args)
            .run()
            .error_line(&["store.db", "newer pvault", "format 99", "upgrade"]);
    }
    home.snapshot().assert_same(&before, "newer store");
    let version: i64 = home
        .db(&p.id)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, 99, "the store was not migrated or rewritten");
}

/// Flips the lowest bit of the first digit inside the string value of `member` (the text stays
/// valid base64, so only the checksum can tell).
fn flip_digit_in(bytes: &[u8], member: &str) -> Vec<u8> {
    let needle = format!("\"{member}\": \"");
    let start = find(bytes, needle.as_bytes()).expect("member") + needle.len();
    let at = (start..bytes.len())
        .find(|&i| bytes[i].is_ascii_digit())
        .expect("a digit");
    let mut out = bytes.to_vec();
    out[at] ^= 1;
    out
}

#[test]
fn a_damaged_key_file_is_reported_as_damage_and_never_counted_or_locked_out() {
    let (home, p) = populated();
    let key_path = home.profile_dir(&p.id).join("key.json");
    let good = std::fs::read(&key_path).expect("key.json");
    assert!(
        contains(&good, b"\"checksum\""),
        "a new key file has a checksum"
    );
    let damaged = flip_digit_in(&good, "salt");
    std::fs::write(&key_path, &damaged).expect("write");
    let words = [
        "alice",
        "key.json",
        "damaged",
        "checksum",
        "not a wrong password",
        "no failed unlock was counted",
        "backup",
    ];
    // Ten tries, more than the free failures of the standard level: never a delay, never a lockout.
    for round in 0..10 {
        let args: &[&str] = match round % 3 {
            0 => &["profile", "unlock"],
            1 => &["get", "notes", "n1"],
            _ => &["list", "notes"],
        };
        let out = home.cmd(args).run();
        out.error_line(&words);
        out.assert_not_shown(PASSWORD);
        let shown = home.cmd(&["--json", "profile", "show"]).no_password().run();
        let details = shown.code(3).json();
        assert_eq!(details["failed_attempts"], 0, "round {round}: {details}");
        assert!(
            details["key_file_damaged"]
                .as_str()
                .is_some_and(|r| r.contains("checksum")),
            "{details}"
        );
        assert!(details.get("kdf").is_none(), "{details}");
    }
    // A wrong password on the damaged file: damage as well (nothing is derived, nothing counted).
    home.cmd(&["get", "notes", "n1"])
        .password("wrong password 123")
        .run()
        .error_line(&["damaged"]);
    assert_eq!(home.attempts(&p.id)["failures"], 0);
    // Shown as text too, with exit code 3 and the same message on stderr.
    let text = home.cmd(&["profile", "show"]).no_password().run().code(3);
    assert!(
        text.stdout.contains("key file:        DAMAGED")
            && text.stdout.contains("failed unlocks:  0"),
        "{}",
        text.stdout
    );
    text.assert_mentions(&text.stderr, &words);
    assert_eq!(
        std::fs::read(&key_path).expect("key.json"),
        damaged,
        "a damaged key file is left as it is"
    );

    // Put back from a backup, it opens at once: no delay was ever earned.
    std::fs::write(&key_path, &good).expect("restore");
    let n1 = home.cmd(&["get", "notes", "n1"]).ok_json();
    assert_eq!(n1["data"]["text"], "one");
    let shown = home.cmd(&["profile", "show"]).no_password().ok_json();
    assert_eq!(shown["failed_attempts"], 0);
    assert!(shown.get("key_file_damaged").is_none(), "{shown}");

    // Damage in a wrapped key or the KDF parameters reads the same way.
    for damaged in [
        flip_digit_in(&good, "wrapped_root"),
        flip_digit_in(&good, "naming_key"),
        flip_digit_in(&good, "wrapped_secret"),
        String::from_utf8(good.clone())
            .expect("UTF-8")
            .replacen("\"t\": 3", "\"t\": 2", 1)
            .into_bytes(),
    ] {
        assert_ne!(damaged, good);
        std::fs::write(&key_path, &damaged).expect("write");
        home.cmd(&["get", "notes", "n1"])
            .run()
            .error_line(&["damaged", "checksum"]);
    }
    assert_eq!(home.attempts(&p.id)["failures"], 0);
    std::fs::write(&key_path, &good).expect("restore");
    home.cmd(&["get", "notes", "n1"]).ok();
}

#[test]
fn repeated_wrong_passwords_are_delayed_then_locked_out() {
    let home = Home::new();
    let p = home.create("alice", "standard");
    home.put("alice", "notes", "n1", &json!({"x": 1}));
    let wrong = "wrong password 123";
    let before = home.snapshot();

    // Five failures are free; the sixth attempt right after is refused before any KDF runs: even
    // the right password is refused, and nothing is counted.
    let mut delayed = false;
    for _round in 0..3 {
        for i in 0..5u32 {
            let out = home.cmd(&["list", "notes"]).password(wrong).run();
            let left = format!("{} attempts left", 19 - i);
            out.error_line(&["wrong password for profile 'alice'", &left]);
        }
        let counters = home.attempts(&p.id);
        assert_eq!(counters["failures"], 5, "{counters}");
        let last = counters["last_failure"].as_u64().expect("last_failure");
        let out = home.cmd(&["get", "notes", "n1"]).run();
        let ended = now_secs();
        if out.code == Some(0) {
            // Allowed only if a whole second passed since the fifth failure (the delay is 1 s).
            assert!(
                ended > last,
                "the sixth attempt ran right after five failures: {}",
                out.stdout
            );
            assert_eq!(home.attempts(&p.id)["failures"], 0);
            continue;
        }
        out.error_line(&["alice", "too many failed unlock attempts", "try again in"]);
        assert_eq!(
            home.attempts(&p.id),
            counters,
            "a refused attempt is not counted"
        );
        // A wrong password during the delay is not counted either.
        let out = home.cmd(&["list", "notes"]).password(wrong).run();
        if now_secs() == last {
            out.error_line(&["try again in"]);
            assert_eq!(home.attempts(&p.id), counters);
        }
        delayed = true;
        break;
    }
    assert!(delayed, "the sixth attempt was never delayed");
    let shown = home
        .cmd(&["profile", "show", "alice"])
        .no_password()
        .ok_json();
    assert!(shown["failed_attempts"].as_u64() >= Some(5), "{shown}");

    // Simulate time: 19 failures, the last one long ago. The 20th locks the profile out.
    let t = now_secs();
    let attempts_path = home.profile_dir(&p.id).join("attempts.json");
    std::fs::write(
        &attempts_path,
        json!({"failures": 19, "last_failure": t - 1000, "locked_until": 0}).to_string(),
    )
    .expect("write attempts.json");
    home.cmd(&["list", "notes"])
        .password(wrong)
        .run()
        .error_line(&["wrong password", "locked out"]);
    let counters = home.attempts(&p.id);
    assert_eq!(counters["failures"], 20, "{counters}");
    assert!(
        counters["locked_until"].as_u64() > Some(t + 3000),
        "{counters}"
    );
    // Every new process sees it, whatever the command and even with the right password.
    for args in [
        &["list", "notes"][..],
        &["get", "notes", "n1"],
        &["put", "notes", "--id", "n2", "--data", "{}"],
        &["verify"],
        &["profile", "passwd"],
    ] {
        let out = home
            .cmd(args)
            .env("PVAULT_NEW_PASSWORD", "a brand new password")
            .run();
        let line = out.error_line(&["alice", "locked out", "20 failed", "try again in"]);
        let secs: u64 = line
            .rsplit("try again in ")
            .next()
            .and_then(|s| s.trim_end_matches(" s").parse().ok())
            .unwrap_or_else(|| panic!("no wait time in {line}"));
        assert!((3000..=3600).contains(&secs), "{line}");
        out.assert_not_shown(PASSWORD);
    }
    assert_eq!(home.attempts(&p.id), counters, "refusals are not counted");
    let shown = home
        .cmd(&["profile", "show", "alice"])
        .no_password()
        .ok_json();
    assert_eq!(shown["failed_attempts"], 20);
    home.snapshot().assert_same(&before, "lockout");

    // When the lockout ends, the right password works again and resets the counters.
    std::fs::write(
        &attempts_path,
        json!({"failures": 20, "last_failure": t - 4000, "locked_until": t - 1}).to_string(),
    )
    .expect("write attempts.json");
    let rec = home.cmd(&["get", "notes", "n1"]).ok_json();
    assert_eq!(rec["data"]["x"], 1);
    assert_eq!(home.attempts(&p.id)["failures"], 0);
}

#[test]
fn failing_commands_never_print_secrets() {
    let home = Home::new();
    let password = unique_marker("pw-secret-");
    let p = home.create_with("alice", "standard", &password);
    let secret = unique_marker("sk-live-");
    let wrong = unique_marker("wrong-guess-");
    let key = |extra: Value| {
        let mut v = json!({"provider": "okx", "name": "bot", "secret": secret});
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        v.to_string()
    };
    home.cmd(&[
        "put",
        "api_keys",
        "--id",
        "k1",
        "-c",
        "SECRET",
        "--data",
        &key(json!({})),
    ])
    .password(&password)
    .ok();
    let files = tempfile::tempdir().expect("tempdir");
    let lines = files.path().join("lines");
    std::fs::write(
        &lines,
        format!(
            "{}\n",
            json!({"id": "k2", "data": {"provider": "okx", "name": "b", "secret": secret}, "bogus": secret})
        ),
    )
    .expect("write");
    let lines_arg = format!("@{}", lines.display());
    let malformed = format!("{{\"provider\":\"okx\",\"secret\":\"{secret}\"");
    let secret_as_number = r#"{"provider":"okx","name":"n","secret":12345678901234567890}"#;
    let long_secret = json!({"provider": "okx", "name": "n", "secret": format!("{secret}{}", "x".repeat(17 * 1024))}).to_string();
    let unknown = key(json!({"oops": secret}));

    let runs: Vec<Output> = vec![
        home.cmd(&["list", "api_keys"]).password(&wrong).run(),
        home.cmd(&["get", "api_keys", "k1"])
            .password(&password)
            .run(),
        home.cmd(&["get", "api_keys", "k1"])
            .password(&password)
            .env("PVAULT_REAUTH_PASSWORD", &wrong)
            .run(),
        home.cmd(&["put", "api_keys", "--data", &key(json!({})), "-c", "PUBLIC"])
            .password(&password)
            .run(),
        home.cmd(&["put", "api_keys", "--data", &malformed])
            .password(&password)
            .run(),
        home.cmd(&["put", "api_keys"])
            .stdin(malformed.clone())
            .password(&password)
            .run(),
        home.cmd(&["put", "api_keys", "--data", secret_as_number])
            .password(&password)
            .run(),
        home.cmd(&["put", "api_keys", "--data", &long_secret])
            .password(&password)
            .run(),
        home.cmd(&["put", "api_keys", "--data", &unknown])
            .password(&password)
            .run(),
        home.cmd(&["put", "api_keys", "--lines", "--data", &lines_arg])
            .password(&password)
            .run(),
        home.cmd(&["profile", "passwd"])
            .password(&password)
            .env("PVAULT_NEW_PASSWORD", "short")
            .run(),
        home.cmd(&["profile", "passwd"]).password(&wrong).run(),
        home.cmd(&["profile", "create", "alice"])
            .password(&password)
            .run(),
    ];
    for out in &runs {
        assert_ne!(out.code, Some(0), "expected a failure: {out:?}");
        for s in [&password, &secret, &wrong] {
            out.assert_not_shown(s);
        }
        // The secret's value is not shown in any shortened form either.
        out.assert_not_shown(&secret[..12]);
    }
    // Nothing but the one record was stored.
    let listed = home
        .cmd(&["list", "api_keys"])
        .password(&password)
        .ok_json();
    assert_eq!(listed["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(home.attempts(&p.id)["failures"], 0);
}
