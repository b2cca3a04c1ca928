//! Files written by an earlier pvault open in this one: the home in `tests/fixtures/home-v0.1`
//! was made by pvault 0.1 before the layout refactor (`tests/fixtures/make-home-v0.1.sh`). Every
//! record reads back as written, the breakthrough's chain and signatures verify, the deleted
//! record stays deleted, and the profile takes new writes and rotations.
//!
//! `tests/fixtures/backup-v5` (`tests/fixtures/make-backup-v5.sh`, pvault at store version 5): a
//! home and a backup repository with two snapshots of store version 5. They list, verify and
//! restore into a fresh home (made at version 5, then migrated), and the restored profile and the
//! old home itself back up again into that repository at the current version.

use std::path::{Path, PathBuf};

use pvault_core::internals::STORE_VERSION;
use serde_json::json;

use crate::cli_support::{Home, PASSWORD, contains};

/// Profile ids in the fixture's registry.
const ALICE: &str = "60effc3c0e1350bee44c5cc7697edecb";
const BOB: &str = "087b296369a85e6e63023c742b42be07";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the fixture home (the fixture itself is never written to).
fn old_home() -> Home {
    let home = Home::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/home-v0.1");
    copy_dir(&fixture, home.root());
    home
}

#[test]
fn a_home_written_by_pvault_0_1_opens_reads_verifies_and_takes_writes() {
    let home = old_home();
    let alice_key = home.profile_dir(ALICE).join("key.json");
    let bob_key = home.profile_dir(BOB).join("key.json");
    let old_bob_key = std::fs::read(&bob_key).unwrap();
    assert!(!contains(&std::fs::read(&alice_key).unwrap(), b"checksum"));
    let list = home.cmd(&["profile", "list"]).no_password().ok_json();
    let names: Vec<_> = list["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(list["current"], "alice");

    let tx = home.cmd(&["get", "transactions", "tx1"]).ok_json();
    assert_eq!(tx["data"]["asset"], "BTC");
    // That unlock gave alice's key file its checksum (nothing else changed); bob's is untouched.
    let upgraded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&alice_key).unwrap()).unwrap();
    assert_eq!(upgraded["checksum"].as_str().map(str::len), Some(64));
    assert_eq!(std::fs::read(&bob_key).unwrap(), old_bob_key);
    assert_eq!(tx["data"]["memo"], "fixture");
    let by_index = home
        .cmd(&["list", "transactions", "--where", "asset=eth"])
        .ok_json();
    let found = by_index["records"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], "tx2");
    for (collection, id, field, value) in [
        ("settings", "theme", "value", json!("dark")),
        ("blocks", "b1", "height", json!(1)),
        ("research", "r1", "title", json!("Notes on difficulty")),
        ("reading-list", "book", "chapter", json!(5)),
        (
            "research",
            "after-rotation",
            "title",
            json!("written under epoch 2"),
        ),
    ] {
        let r = home.cmd(&["get", collection, id]).ok_json();
        assert_eq!(r["data"][field], value, "{collection}/{id}");
    }
    home.cmd(&["get", "research", "gone"])
        .run()
        .error_line(&["no record", "gone"]);

    // A SECRET record still needs the password again, and opens with it.
    let reauth = home.root().join("reauth.txt");
    std::fs::write(&reauth, format!("{PASSWORD}\n")).unwrap();
    let key = home
        .cmd(&[
            "--reauth-password-file",
            reauth.to_str().unwrap(),
            "get",
            "api_keys",
            "bot",
        ])
        .ok_json();
    assert_eq!(key["classification"], "SECRET");
    assert_eq!(key["data"]["secret"], "sk-fixture-not-a-real-key");

    // The breakthrough's two versions, their hash chain and signatures.
    let history = home.cmd(&["history", "breakthroughs", "nonce"]).ok_json();
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["data"]["content"], "v2: it holds");
    assert_eq!(
        versions[1]["attestation"]["previous_hash"],
        versions[0]["attestation"]["chain_hash"]
    );

    let report = home.cmd(&["verify"]).ok_json();
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(report["versions"], 2);

    // New writes continue the old data: a third version chains onto the second.
    home.put(
        "alice",
        "breakthroughs",
        "nonce",
        &json!({"title": "Faster nonce search", "content": "v3", "researcher": "alice", "attribution": "alice"}),
    );
    let history = home.cmd(&["history", "breakthroughs", "nonce"]).ok_json();
    assert_eq!(
        history[2]["attestation"]["previous_hash"],
        history[1]["attestation"]["chain_hash"]
    );
    home.cmd(&["profile", "rotate-keys"]).ok();
    let report = home.cmd(&["verify"]).ok_json();
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report}"
    );
    let bob = home
        .cmd(&["--profile", "bob", "get", "settings", "lang"])
        .ok_json();
    assert_eq!(bob["data"]["value"], "en");
    assert!(contains(&std::fs::read(&bob_key).unwrap(), b"\"checksum\""));
}

/// A key file written by pvault 0.1 has no checksum: damage to a wrapped key under the right
/// password is still damage (the keys that open prove the password), and is never counted.
#[test]
fn damage_to_a_key_file_without_checksum_is_not_a_wrong_password() {
    let home = old_home();
    let alice_key = home.profile_dir(ALICE).join("key.json");
    let old = std::fs::read(&alice_key).unwrap();
    let text = String::from_utf8(old.clone()).unwrap();
    let naming = text.find("\"naming_key\": \"").unwrap() + 20;
    let at = (naming..old.len())
        .find(|&i| old[i].is_ascii_digit())
        .unwrap();
    let mut damaged = old.clone();
    damaged[at] ^= 1;
    std::fs::write(&alice_key, &damaged).unwrap();
    for _ in 0..3 {
        home.cmd(&["get", "settings", "theme"]).run().error_line(&[
            "alice",
            "damaged",
            "naming key",
            "not a wrong password",
        ]);
    }
    assert_eq!(std::fs::read(&alice_key).unwrap(), damaged, "not rewritten");
    let shown = home.cmd(&["profile", "show"]).no_password().ok_json();
    assert_eq!(shown["failed_attempts"], 0);
    std::fs::write(&alice_key, &old).unwrap();
    home.cmd(&["get", "settings", "theme"]).ok();
}

/// The fixture `tests/fixtures/backup-v5` (made by `tests/fixtures/make-backup-v5.sh` with pvault
/// as of commit 18a0171, store version 5): alice's home and a repository with two snapshots of it.
const V5_ALICE: &str = "5dbe466a35bdd103fbfa594f5af9a8dc";
/// alice's Secret Key (`standard` keeps it on the device; a restore elsewhere may be given it).
const V5_SECRET_KEY: &str = "PV1-YR3QZZ1-5GH8YAK-AF4QVTT-BD1ZGTX";
/// The snapshots: before and after `settings/theme` went from dark to light.
const V5_FIRST: &str = "149835dfd82296f0";
const V5_SECOND: &str = "c96220177efb79cf";

fn backup_v5() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backup-v5")
}

/// Every record of the v5 fixture as it was when the snapshot was taken, read in `home`: `theme`
/// is the one value that changed between the two snapshots.
#[track_caller]
fn assert_v5_records(home: &Home, theme: &str) {
    for (collection, id, field, value) in [
        ("transactions", "tx1", "asset", json!("BTC")),
        ("transactions", "tx1", "memo", json!("fixture")),
        ("transactions", "tx2", "amount", json!("3")),
        ("transactions", "tx2", "status", json!("pending")),
        ("breakthroughs", "nonce", "content", json!("v2: it holds")),
        ("settings", "theme", "value", json!(theme)),
        ("research", "r1", "title", json!("Notes on difficulty")),
        ("research", "r1", "tags", json!(["mining"])),
    ] {
        let r = home.cmd(&["get", collection, id]).ok_json();
        assert_eq!(r["data"][field], value, "{collection}/{id}");
    }
    home.cmd(&["get", "research", "gone"])
        .run()
        .error_line(&["no record", "gone"]);
    let key = home
        .cmd(&["get", "api_keys", "bot"])
        .env("PVAULT_REAUTH_PASSWORD", PASSWORD)
        .ok_json();
    assert_eq!(key["classification"], "SECRET");
    assert_eq!(key["data"]["secret"], "sk-fixture-not-a-real-key");
    let history = home.cmd(&["history", "breakthroughs", "nonce"]).ok_json();
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["data"]["content"], "v1");
    assert_eq!(
        versions[1]["attestation"]["previous_hash"],
        versions[0]["attestation"]["chain_hash"]
    );
    let report = home.cmd(&["verify"]).ok_json();
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report}"
    );
}

/// Snapshots taken at store version 5 list, verify with every blob read, and restore (the latest,
/// and the first by its id) into a fresh home with the password and Secret Key: the store is made
/// at version 5, filled, and migrated. The restored profile takes writes, and its next backup into
/// the same repository is a snapshot of the current store version that restores too.
#[test]
fn snapshots_of_store_version_5_list_verify_restore_and_back_up_again() {
    let work = Home::new();
    let repo = work.root().join("repo");
    copy_dir(&backup_v5().join("repo"), &repo);
    let repo_s = repo.to_str().unwrap();

    let listed = work
        .cmd(&["backup", "list", "--repo", repo_s])
        .no_password()
        .ok_json();
    let snapshots = listed["snapshots"].as_array().unwrap();
    let ids: Vec<_> = snapshots
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [V5_FIRST, V5_SECOND]);
    for s in snapshots {
        assert_eq!(s["store_version"], 5, "{s}");
        assert_eq!(s["profile"], V5_ALICE, "{s}");
        assert_eq!(s["name"], "alice", "{s}");
    }

    let verified = work
        .cmd(&["backup", "verify", "--read-data", "--repo", repo_s])
        .env("PVAULT_SECRET_KEY", V5_SECRET_KEY)
        .ok_json();
    assert_eq!(verified["snapshot"]["id"], V5_SECOND);
    assert!(
        verified["problems"].as_array().unwrap().is_empty(),
        "{verified}"
    );
    assert_eq!(verified["other_snapshots"][0]["snapshot"], V5_FIRST);

    for (snapshot, id, theme) in [("latest", V5_SECOND, "light"), (V5_FIRST, V5_FIRST, "dark")] {
        let fresh = Home::new();
        let restored = fresh
            .cmd(&["backup", "restore", snapshot, "--repo", repo_s])
            .env("PVAULT_SECRET_KEY", V5_SECRET_KEY)
            .ok_json();
        assert_eq!(restored["snapshot"], id);
        assert_eq!(restored["profile"]["id"], V5_ALICE);
        assert_eq!(
            restored["records"], 7,
            "six records and the deleted one's tombstone"
        );
        let store = fresh.db(V5_ALICE);
        let version: i64 = store
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(
            version, STORE_VERSION,
            "migrated to the current store version"
        );
        drop(store);
        assert_v5_records(&fresh, theme);
    }

    // The restored latest takes a write and a backup into the same repository.
    let fresh = Home::new();
    fresh
        .cmd(&["backup", "restore", "--repo", repo_s])
        .env("PVAULT_SECRET_KEY", V5_SECRET_KEY)
        .ok();
    fresh.put(
        "alice",
        "research",
        "after-restore",
        &json!({"title": "written at the current store version", "body": "z"}),
    );
    let taken = fresh.cmd(&["backup", "--repo", repo_s]).ok_json();
    let third = &taken["snapshots"][0]["snapshot"];
    assert_eq!(third["store_version"], STORE_VERSION, "{taken}");
    assert_eq!(third["profile"], V5_ALICE);
    let listed = work
        .cmd(&["backup", "list", "--repo", repo_s])
        .no_password()
        .ok_json();
    let versions: Vec<_> = listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store_version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [5, 5, STORE_VERSION]);
    let verified = work
        .cmd(&["backup", "verify", "--read-data", "--repo", repo_s])
        .env("PVAULT_SECRET_KEY", V5_SECRET_KEY)
        .ok_json();
    assert_eq!(verified["snapshot"]["id"], third["id"]);
    assert_eq!(verified["other_snapshots"].as_array().unwrap().len(), 2);
    let again = Home::new();
    again
        .cmd(&["backup", "restore", "--repo", repo_s])
        .env("PVAULT_SECRET_KEY", V5_SECRET_KEY)
        .ok();
    assert_v5_records(&again, "light");
    let r = again.cmd(&["get", "research", "after-restore"]).ok_json();
    assert_eq!(r["data"]["title"], "written at the current store version");
}

/// The home the v5 snapshots were taken of opens here (its store migrated to the current version), and its
/// next backup into that repository, whose last snapshot is of version 5, is a whole new snapshot
/// of the current version that restores.
#[test]
fn a_home_of_store_version_5_backs_up_after_its_v5_snapshots() {
    let home = Home::new();
    copy_dir(&backup_v5().join("home"), home.root());
    let repo = home.root().join("repo");
    copy_dir(&backup_v5().join("repo"), &repo);
    let repo_s = repo.to_str().unwrap();
    assert_v5_records(&home, "light");
    let store = home.db(V5_ALICE);
    let version: i64 = store
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, STORE_VERSION);
    drop(store);
    home.put("alice", "settings", "theme", &json!({"value": "sepia"}));
    let taken = home.cmd(&["backup", "--repo", repo_s]).ok_json();
    let third = &taken["snapshots"][0]["snapshot"];
    assert_eq!(third["store_version"], STORE_VERSION, "{taken}");
    assert_eq!(third["records"], 7, "{taken}");
    let fresh = Home::new();
    fresh
        .cmd(&["backup", "restore", "--repo", repo_s])
        .env("PVAULT_SECRET_KEY", V5_SECRET_KEY)
        .ok();
    assert_v5_records(&fresh, "sepia");
}
