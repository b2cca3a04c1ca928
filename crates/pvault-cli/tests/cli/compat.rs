//! Files written by an earlier pvault open in this one: the home in `tests/fixtures/home-v0.1`
//! was made by pvault 0.1 before the layout refactor (`tests/fixtures/make-home-v0.1.sh`). Every
//! record reads back as written, the breakthrough's chain and signatures verify, the deleted
//! record stays deleted, and the profile takes new writes and rotations.

use std::path::Path;

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
