//! The readers through the public API, on the fixture files.

use pvault_migrate::{Error, Format, Options, Parsed, read};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn collections(parsed: &Parsed) -> Vec<&str> {
    parsed.items.iter().map(|i| i.collection.as_str()).collect()
}

#[test]
fn legacy_dump_fills_the_built_in_collections() {
    let parsed = read(
        Format::Legacy,
        &fixture("legacy.jsonl"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        collections(&parsed),
        [
            "transactions",
            "breakthroughs",
            "blocks",
            "api_keys",
            "settings",
            "research"
        ]
    );
    let ids: Vec<Option<&str>> = parsed.items.iter().map(|i| i.id.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("tx-1"),
            Some("bt-1"),
            None,
            Some("key-1"),
            Some("ui.theme"),
            Some("rn-1")
        ]
    );
    assert_eq!(parsed.items[0].data["time"], "2024-05-01T12:30:00Z");
    assert_eq!(parsed.items[5].data["breakthrough_id"], "bt-1");
    assert_eq!(parsed.items[2].source, "line 5 (blocks)");
}

#[test]
fn generated_legacy_dumps_read_back() {
    let text = pvault_migrate::generate_legacy_dump(10, 42);
    let parsed = read(Format::Legacy, text.as_bytes(), &Options::default()).unwrap();
    assert_eq!(parsed.items.len(), 60);
    assert!(parsed.skipped.is_empty());
}

#[test]
fn bitwarden_export_fills_the_password_collections() {
    let parsed = read(
        Format::Bitwarden,
        &fixture("bitwarden.json"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        collections(&parsed),
        ["logins", "notes", "cards", "identities", "ssh_keys"]
    );
    assert_eq!(parsed.skipped.len(), 1);
}

#[test]
fn password_manager_csvs_become_logins() {
    for (file, variant) in [
        ("chrome.csv", "chrome"),
        ("firefox.csv", "firefox"),
        ("keepassxc.csv", "keepassxc"),
        ("onepassword.csv", "1password"),
        ("bitwarden.csv", "bitwarden"),
    ] {
        let parsed = read(Format::Csv, &fixture(file), &Options::default()).unwrap();
        assert!(!parsed.items.is_empty(), "{file}");
        assert_eq!(parsed.items[0].collection, "logins", "{file}");
        assert_eq!(parsed.items[0].data["source"]["variant"], variant, "{file}");
    }
}

#[test]
fn formats_refuse_each_others_files() {
    let dump = fixture("legacy.jsonl");
    assert!(matches!(
        read(Format::Bitwarden, &dump, &Options::default()),
        Err(Error::NotFormat { .. })
    ));
    assert!(matches!(
        read(
            Format::Legacy,
            &fixture("bitwarden.json"),
            &Options::default()
        ),
        Err(Error::NotFormat { .. })
    ));
    let error = read(Format::Csv, b"a,b\n1,2\n", &Options::default()).unwrap_err();
    assert!(error.to_string().contains("(a, b)"), "{error}");
}
