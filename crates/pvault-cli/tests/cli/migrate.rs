//! `pvault migrate`, run as a user would: a dry run, the migration with its backup, the report,
//! `migrate list`, a second run of the same file refused, rollback; KeePass with its password; bad
//! input named with nothing changed; `kill -9` at any moment, then the same command finishes it
//! with every record exactly once.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;

use crate::cli_support::Home;

fn dump(home: &Home, rows: usize) -> PathBuf {
    let path = home.root().join(format!("legacy-{rows}.jsonl"));
    std::fs::write(&path, pvault_migrate::generate_legacy_dump(rows, 3)).unwrap();
    path
}

fn count(home: &Home, collection: &str) -> usize {
    home.cmd(&["list", collection]).ok_json()["records"]
        .as_array()
        .unwrap()
        .len()
}

fn records(home: &Home) -> usize {
    // The six built-in collections, which a legacy dump fills.
    [
        "transactions",
        "breakthroughs",
        "blocks",
        "api_keys",
        "settings",
        "research",
    ]
    .iter()
    .map(|c| count(home, c))
    .sum()
}

#[test]
fn migrate_a_legacy_dump_list_it_and_roll_it_back() {
    let home = Home::new();
    home.create("alice", "standard");
    let file = dump(&home, 4);
    let file_s = file.to_str().unwrap();

    let dry = home
        .cmd(&["migrate", "--from", "legacy", file_s, "--dry-run"])
        .ok_json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["id"], Value::Null);
    assert_eq!(records(&home), 0);
    let text = home
        .cmd(&["migrate", "--from", "legacy", file_s, "--dry-run"])
        .ok();
    assert!(text.stdout.contains("would be imported"), "{}", text.stdout);

    let done = home.cmd(&["migrate", "--from", "legacy", file_s]).ok_json();
    let id = done["id"].as_str().unwrap().to_string();
    assert_eq!(done["written"], 24);
    assert_eq!(done["collections"], dry["collections"]);
    // The backup went to the home's own repository, made for it.
    let repo = done["backup"]["repo"].as_str().unwrap();
    assert!(repo.ends_with("backups"), "{repo}");
    let snaps = home.cmd(&["backup", "list", "--repo", repo]).ok_json();
    assert_eq!(snaps["snapshots"][0]["id"], done["backup"]["snapshot"]);
    assert_eq!(records(&home), 24);

    let listed = home.cmd(&["migrate", "list"]).ok_json();
    assert_eq!(listed["migrations"][0]["id"], id.as_str());
    assert_eq!(listed["migrations"][0]["state"], "finished");

    home.cmd(&["migrate", "--from", "legacy", file_s])
        .run()
        .error_line(&["already", &id]);
    assert_eq!(records(&home), 24, "nothing written twice");

    let rolled = home.cmd(&["migrate", "rollback"]).ok_json();
    assert_eq!(rolled["removed"], 24);
    assert_eq!(records(&home), 0);
    let text = home.cmd(&["migrate", "list"]).ok();
    assert!(text.stdout.contains("rolled back"), "{}", text.stdout);
    let line = home
        .cmd(&["migrate", "rollback"])
        .run()
        .error_line(&["no migration to roll back"]);
    assert!(!line.contains("migration :"), "{line}");
}

#[test]
fn a_keepass_database_migrates_with_its_password() {
    let home = Home::new();
    home.create("alice", "standard");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../pvault-migrate/tests/fixtures/keepassxc.kdbx");
    let fixture_s = fixture.to_str().unwrap();
    home.cmd(&["migrate", "--from", "kdbx", fixture_s])
        .env("PVAULT_KDBX_PASSWORD", "not-it")
        .run()
        .error_line(&["keepass", "wrong password"]);
    assert_eq!(count(&home, "logins"), 0);
    home.cmd(&["migrate", "--from", "kdbx", fixture_s])
        .env_remove("PVAULT_KDBX_PASSWORD")
        .run()
        .error_line(&["PVAULT_KDBX_PASSWORD", "--kdbx-password-file"]);
    let done = home
        .cmd(&["migrate", "--from", "kdbx", fixture_s])
        .env("PVAULT_KDBX_PASSWORD", "fixture-password")
        .ok_json();
    assert!(done["written"].as_u64().unwrap() > 0, "{done}");
    let logins = home.cmd(&["list", "logins"]).ok_json();
    let logins = logins["records"].as_array().unwrap();
    assert_eq!(logins.len() as u64, done["written"].as_u64().unwrap());
    assert!(
        logins
            .iter()
            .all(|r| r["data"]["source"]["format"] == "kdbx")
    );
}

#[test]
fn bad_migration_input_is_named_and_changes_nothing() {
    let home = Home::new();
    home.create("alice", "standard");
    let file = dump(&home, 1);
    let file_s = file.to_str().unwrap();
    home.cmd(&["migrate", "--from", "lastpass", file_s])
        .run()
        .error_line(&["lastpass", "legacy, bitwarden, 1pux, kdbx, csv"]);
    home.cmd(&["migrate", "--from", "legacy", "/nonexistent/dump.jsonl"])
        .run()
        .error_line(&["/nonexistent/dump.jsonl", "no such file"]);
    // A file of another format is named as such.
    home.cmd(&["migrate", "--from", "bitwarden", file_s])
        .run()
        .error_line(&["not a Bitwarden"]);
    let encrypted = home.root().join("bw.json");
    std::fs::write(&encrypted, r#"{"encrypted": true, "items": []}"#).unwrap();
    home.cmd(&[
        "migrate",
        "--from",
        "bitwarden",
        encrypted.to_str().unwrap(),
    ])
    .run()
    .error_line(&["encrypted", "unencrypted"]);
    // A CSV that is no password-manager export needs its collection.
    let csv = home.root().join("t.csv");
    std::fs::write(&csv, "amount,asset\n1,BTC\n").unwrap();
    home.cmd(&["migrate", "--from", "csv", csv.to_str().unwrap()])
        .run()
        .error_line(&["amount", "collection"]);
    assert_eq!(records(&home), 0);
    assert!(!home.root().join("backups").exists(), "no backup was taken");
    let listed = home.cmd(&["migrate", "list"]).ok_json();
    assert_eq!(listed["migrations"], serde_json::json!([]));
}

#[test]
fn a_migration_killed_at_any_moment_finishes_with_every_record_once() {
    let home = Home::new();
    home.create("alice", "standard");
    let file = dump(&home, 800); // 4,800 items, ten batches
    let file_s = file.to_str().unwrap();
    // How long a whole migration takes here, in a home of its own.
    let probe = Home::new();
    probe.create("alice", "standard");
    let probe_file = dump(&probe, 800);
    let started = Instant::now();
    probe
        .cmd(&["migrate", "--from", "legacy", probe_file.to_str().unwrap()])
        .ok();
    let whole = started.elapsed();

    let mut killed = 0;
    for i in 1..=6u32 {
        let mut child = home
            .cmd(&["migrate", "--from", "legacy", file_s])
            .command()
            .spawn()
            .unwrap();
        std::thread::sleep(whole * i / 7);
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let listed = home.cmd(&["migrate", "list"]).ok_json();
        let state = listed["migrations"][0]["state"].clone();
        if state == "finished" {
            break;
        }
        // Cut short: what is in is whole batches of this migration, nothing else.
        assert!(records(&home) <= 4800);
    }
    assert!(killed > 0, "no migration was killed before it finished");
    let listed = home.cmd(&["migrate", "list"]).ok_json();
    if listed["migrations"][0]["state"] != "finished" {
        let done = home.cmd(&["migrate", "--from", "legacy", file_s]).ok_json();
        assert_eq!(
            done["written"].as_u64().unwrap() + done["resumed"].as_u64().unwrap(),
            4800,
            "{done}"
        );
    }
    assert_eq!(records(&home), 4800, "every record exactly once");
    let listed = home.cmd(&["migrate", "list"]).ok_json();
    assert_eq!(listed["migrations"].as_array().unwrap().len(), 1);
    assert_eq!(listed["migrations"][0]["state"], "finished");
    home.cmd(&["verify"]).ok();
}
