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

/// A profile of `n` research notes (through `put --lines`), exported with the passphrase.
fn exported(home: &Home, n: usize) -> std::path::PathBuf {
    home.create("alice", "standard");
    let lines: String = (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"n{i}\",\"data\":{{\"title\":\"t{i}\",\"body\":\"{}\"}}}}\n",
                "x".repeat(400)
            )
        })
        .collect();
    home.cmd(&["put", "research", "--lines"]).stdin(lines).ok();
    let file = home.root().join("alice.age");
    home.cmd(&[
        "profile",
        "export",
        "--out",
        file.to_str().unwrap(),
        "--passphrase",
    ])
    .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
    .env("PVAULT_REAUTH_PASSWORD", PASSWORD)
    .ok();
    file
}

#[test]
fn an_import_killed_at_any_moment_leaves_nothing_and_the_next_one_completes() {
    use std::time::Instant;
    let home = Home::new();
    let n = 2000;
    let file = exported(&home, n);
    let file_s = file.to_str().unwrap();
    let other = Home::new();
    let import = || {
        other
            .cmd(&["profile", "import", file_s, "--as", "copy"])
            .env("PVAULT_EXPORT_PASSPHRASE", PASSPHRASE)
    };
    let registered = || {
        let list = other.cmd(&["profile", "list"]).ok_json();
        list["profiles"].as_array().unwrap().len()
    };
    let dirs = || std::fs::read_dir(other.root().join("profiles")).map_or(0, |d| d.count());
    // How long a whole import takes here, to spread the kills over it (then undone: deleted).
    let started = Instant::now();
    import().ok();
    let whole = started.elapsed();
    other
        .cmd(&["profile", "delete", "copy", "--confirm", "copy"])
        .ok();
    assert_eq!((registered(), dirs()), (0, 0));
    let mut killed = 0;
    for i in 1..=8u32 {
        let mut child = import().command().spawn().unwrap();
        std::thread::sleep(whole * i / 9);
        let done = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if registered() == 1 {
            // It finished before the kill: then it is whole.
            let listed = other
                .cmd(&["--profile", "copy", "list", "research"])
                .ok_json();
            assert_eq!(listed["records"].as_array().unwrap().len(), n);
            break;
        }
        assert!(!done || registered() == 1);
        killed += 1;
        // Nothing half-made is listed; a marked directory may remain until the next import.
        assert_eq!(registered(), 0, "after a kill at {i}/9 of the import");
    }
    assert!(killed > 0, "no import was killed before it finished");
    if registered() == 0 {
        import().ok();
    }
    assert_eq!(registered(), 1);
    assert_eq!(dirs(), 1, "the unfinished directories were removed");
    let listed = other
        .cmd(&["--profile", "copy", "list", "research"])
        .ok_json();
    assert_eq!(listed["records"].as_array().unwrap().len(), n);
}

#[test]
fn a_file_that_is_not_an_export_is_named_before_any_secret_is_asked() {
    let home = Home::new();
    let plain = home.root().join("notes.txt");
    std::fs::write(&plain, "just some notes\n").unwrap();
    home.cmd(&["profile", "import", plain.to_str().unwrap()])
        .run()
        .error_line(&["not an age file"]);
    let missing = home.root().join("missing.age");
    home.cmd(&["profile", "import", missing.to_str().unwrap()])
        .run()
        .error_line(&["cannot read"]);
}
