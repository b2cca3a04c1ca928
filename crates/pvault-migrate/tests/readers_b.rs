//! The 1PUX and KDBX readers through the public `read`.

use std::io::{Cursor, Write};

use pvault_migrate::{Error, Format, Options, read};
use serde_json::json;
use zeroize::Zeroizing;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

fn onepux(items: serde_json::Value) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let attributes = json!({"version": 3, "description": "1Password Unencrypted Export", "createdAt": 1_700_000_000});
    let data = json!({"accounts": [{"attrs": {"accountName": "Me"}, "vaults": [
        {"attrs": {"uuid": "a", "name": "Private"}, "items": items},
        {"attrs": {"uuid": "b", "name": "Shared"}, "items": [
            {"uuid": "n1", "categoryUuid": "003", "overview": {"title": "Shared note"}, "details": {"notesPlain": "hi"}}
        ]}
    ]}]});
    for (name, body) in [("export.attributes", attributes), ("export.data", data)] {
        zip.start_file(name, SimpleFileOptions::default()).unwrap();
        zip.write_all(body.to_string().as_bytes()).unwrap();
    }
    zip.start_file("files/doc1__scan.pdf", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"%PDF").unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_1pux_export_reads_across_vaults() {
    let bytes = onepux(json!([
        {"uuid": "l1", "favIndex": 0, "createdAt": 0, "updatedAt": 0, "state": "active", "categoryUuid": "001",
         "details": {"loginFields": [{"value": "me", "designation": "username"}, {"value": "pw", "designation": "password"}]},
         "overview": {"title": "Site", "url": "https://site.example"}},
        {"uuid": "d1", "categoryUuid": "006", "overview": {"title": "Scan"}, "details": {"documentAttributes": {"fileName": "scan.pdf"}}}
    ]));
    let parsed = read(Format::OnePux, &bytes, &Options::default()).unwrap();
    let got: Vec<_> = parsed
        .items
        .iter()
        .map(|i| (i.source.as_str(), i.collection.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("item 1 'Site'", "logins"),
            ("item 3 'Shared note'", "notes")
        ]
    );
    assert_eq!(
        parsed.items[0].data,
        json!({"title": "Site", "username": "me", "password": "pw", "urls": ["https://site.example"],
            "folder": "Private", "source": {"format": "1pux", "id": "l1", "vault": "Private"}})
    );
    assert_eq!(parsed.items[1].data["folder"], "Shared");
    assert_eq!(parsed.skipped.len(), 1);
    assert_eq!(parsed.skipped[0].source, "item 2 'Scan'");
    // The same bytes are not a KeePass database.
    let options = Options {
        password: Some(Zeroizing::new("x".into())),
        ..Options::default()
    };
    assert!(matches!(
        read(Format::Kdbx, &bytes, &options),
        Err(Error::NotFormat { .. })
    ));
}

const FIXTURE: &[u8] = include_bytes!("fixtures/keepassxc.kdbx");

fn fixture_options(password: &str) -> Options {
    Options {
        password: Some(Zeroizing::new(password.into())),
        ..Options::default()
    }
}

/// `tests/fixtures/keepassxc.kdbx`, written by KeePassXC (see `tests/fixtures/README.md`).
#[test]
fn a_keepassxc_database_reads() {
    let parsed = read(Format::Kdbx, FIXTURE, &fixture_options("fixture-password")).unwrap();
    let mut got: Vec<_> = parsed
        .items
        .iter()
        .map(|i| (i.source.clone(), i.data["title"].clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            (
                "entry 'Passwords/Top level'".to_string(),
                json!("Top level")
            ),
            ("entry 'Passwords/Work/GitHub'".to_string(), json!("GitHub")),
        ]
    );
    let github = parsed
        .items
        .iter()
        .find(|i| i.data["title"] == "GitHub")
        .unwrap();
    assert_eq!(github.data["username"], "octocat");
    assert_eq!(github.data["password"], "s3cret-entry-password");
    assert_eq!(github.data["urls"], json!(["https://github.com"]));
    assert_eq!(github.data["notes"], "fixture notes");
    assert_eq!(github.data["folder"], "Work");
    assert_eq!(github.data["source"]["format"], "kdbx");
    assert!(github.data["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(parsed.skipped.len(), 1);
    assert_eq!(
        parsed.skipped[0].source,
        "entry 'Passwords/Recycle Bin/Deleted one'"
    );
    assert_eq!(parsed.skipped[0].reason, "in the recycle bin");

    let e = read(Format::Kdbx, FIXTURE, &fixture_options("wrong")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the KeePass database did not open: wrong password or key file"
    );
}
