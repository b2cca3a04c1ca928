//! `pvault profile export` and `pvault profile import`, run as a user would: a round trip into a
//! fresh home, the refusals, and exit codes.

use serde_json::json;

use crate::cli_support::{Home, PASSWORD};

const PASSPHRASE: &str = "a long export passphrase";

#[test]
fn export_and_import_round_trip_through_the_binary() {
    let home = Home::new();
    home.create("alice", "standard");
    home.put(
        "alice",
        "research",
        "r1",
        &json!({"title": "t", "body": "hello"}),
    );
    home.cmd(&[
        "--profile",
        "alice",
        "put",
        "api_keys",
        "--id",
        "k",
        "-c",
        "top_secret",
        "--data",
        r#"{"provider": "x", "name": "k", "secret": "do-not-leak"}"#,
    ])
    .ok();
    let file = home.root().join("alice.age");
    let file_s = file.to_str().unwrap();
    // No protection named: refused before anything is asked.
    home.cmd(&["profile", "export", "alice", "--out", file_s])
        .run()
        .error_line(&["--recipient", "--passphrase"]);
    // Without the password again (SECRET records leave): refused, nothing written.
    home.cmd(&[
        "profile",
        "export",
        "alice",
        "--out",
        file_s,
        "--passphrase",
    ])
    .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
    .env_remove("PVAULT_REAUTH_PASSWORD")
    .run()
    .code(1);
    assert!(!file.exists());
    let exported = home
        .cmd(&[
            "profile",
            "export",
            "alice",
            "--out",
            file_s,
            "--passphrase",
        ])
        .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
        .env("PVAULT_REAUTH_PASSWORD", PASSWORD)
        .ok_json();
    assert_eq!(exported["export"]["records"]["api_keys"], 1);
    assert_eq!(exported["export"]["records"]["research"], 1);
    assert!(
        home.files_containing(b"do-not-leak").is_empty(),
        "no plaintext in the home"
    );
    // Again to the same file: refused, the file kept.
    let before = std::fs::read(&file).unwrap();
    home.cmd(&[
        "profile",
        "export",
        "alice",
        "--out",
        file_s,
        "--passphrase",
    ])
    .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
    .env("PVAULT_REAUTH_PASSWORD", PASSWORD)
    .run()
    .error_line(&["exists"]);
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // A fresh home: the import needs only the file and its passphrase (and a new password).
    let other = Home::new();
    let imported = other
        .cmd(&["profile", "import", file_s, "--as", "alice-copy"])
        .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
        .ok_json();
    assert_eq!(imported["records"]["api_keys"], 1);
    assert_eq!(imported["profile"]["name"], "alice-copy");
    assert!(imported["secret_key"].as_str().unwrap().starts_with("PV1-"));
    let got = other
        .cmd(&["--profile", "alice-copy", "get", "research", "r1"])
        .ok_json();
    assert_eq!(got["data"]["body"], "hello");

    // Tampered, wrong passphrase, a name taken: exit 1, a message naming it, nothing added.
    let mut bytes = before.clone();
    let at = bytes.len() - 40;
    bytes[at] ^= 4;
    let bad = home.root().join("tampered.age");
    std::fs::write(&bad, &bytes).unwrap();
    other
        .cmd(&["profile", "import", bad.to_str().unwrap(), "--as", "x1"])
        .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
        .run()
        .error_line(&["damaged"]);
    other
        .cmd(&["profile", "import", file_s, "--as", "x2"])
        .env("PVAULT_EXPORT_PASSPHRASE", "not the passphrase")
        .run()
        .error_line(&["passphrase does not open"]);
    other
        .cmd(&["profile", "import", file_s, "--as", "alice-copy"])
        .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
        .run()
        .error_line(&["already exists"]);
    let list = other.cmd(&["profile", "list"]).ok_json();
    assert_eq!(list["profiles"].as_array().unwrap().len(), 1, "{list}");
}
