//! Migrations from other programs into a real profile: every format, a bad record at the end of
//! each leaves nothing imported; the backup taken first; a migration cut short resumes without
//! duplicates or rolls back; a rollback removes exactly what was added.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use pvault_core::backup::Repo;
use pvault_core::migrate::{
    Format, MigrateOptions, MigrateReport, ReadOptions, RollbackOptions, State, migrations,
};
use pvault_core::{
    Classification, Credentials, NewProfile, NewRecord, Pvault, SecurityLevel, Vault,
};
use serde_json::{Value, json};
use zeroize::Zeroizing;

const PASSWORD: &str = "alice-password";

struct Fixture {
    dir: tempfile::TempDir,
    pv: Pvault,
    repo: Repo,
}

impl Fixture {
    fn new() -> (Fixture, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let pv = Pvault::open(&dir.path().join("home")).unwrap();
        pv.create(
            NewProfile {
                name: "alice".into(),
                display_name: None,
                security: SecurityLevel::Standard,
            },
            PASSWORD.as_bytes(),
        )
        .unwrap();
        let vault = pv
            .unlock(Some("alice"), &Credentials::password(PASSWORD))
            .unwrap();
        let repo = Repo::init(&dir.path().join("repo")).unwrap();
        (Fixture { dir, pv, repo }, vault)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn raw(&self, vault: &Vault) -> rusqlite::Connection {
        let id = vault.summary().id.clone();
        rusqlite::Connection::open(self.pv.home().profile_dir(&id).join("store.db")).unwrap()
    }
}

fn options(format: Format, file: &Path) -> MigrateOptions {
    MigrateOptions {
        format,
        file: file.to_path_buf(),
        read: ReadOptions::default(),
        dry_run: false,
        batch: 0,
    }
}

fn run(f: &Fixture, v: &mut Vault, o: &MigrateOptions) -> pvault_core::Result<MigrateReport> {
    o.run(v, &mut || Repo::open(f.repo.root()), &mut |_, _, _| {})
}

fn total(v: &Vault) -> u64 {
    v.counts().unwrap().iter().map(|(_, n)| n).sum()
}

fn legacy(rows: usize) -> String {
    pvault_migrate::generate_legacy_dump(rows, 7)
}

fn bitwarden(items: Value) -> Vec<u8> {
    json!({"encrypted": false, "folders": [{"id": "f1", "name": "Work"}], "items": items})
        .to_string()
        .into_bytes()
}

fn login(name: &str, notes: &str) -> Value {
    json!({"id": name, "type": 1, "name": name, "notes": notes, "folderId": "f1",
           "login": {"username": "alice", "password": "pw-1", "uris": [{"uri": "https://example.com"}]}})
}

fn onepux(items: Value) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let attributes = json!({"version": 3, "description": "1Password Unencrypted Export"});
    let data = json!({"accounts": [{"attrs": {"accountName": "Me"}, "vaults": [
        {"attrs": {"uuid": "v", "name": "Private"}, "items": items}]}]});
    for (name, body) in [("export.attributes", attributes), ("export.data", data)] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(body.to_string().as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn pux_login(uuid: &str) -> Value {
    json!({"uuid": uuid, "categoryUuid": "001", "overview": {"title": uuid},
           "details": {"loginFields": [{"value": "me", "designation": "username"},
                                       {"value": "pw", "designation": "password"}]}})
}

const KDBX_PASSWORD: &str = "kdbx-password";

fn kdbx(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut db = keepass::Database::new();
    db.config.kdf_config = keepass::config::KdfConfig::Aes { rounds: 10 };
    {
        let mut root = db.root_mut();
        for (title, notes) in entries {
            let mut e = root.add_entry();
            e.set_unprotected("Title", *title);
            e.set_unprotected("UserName", "alice");
            e.set_protected("Password", "pw");
            e.set_unprotected("Notes", *notes);
        }
    }
    let mut out = Vec::new();
    db.save(
        &mut out,
        keepass::DatabaseKey::new().with_password(KDBX_PASSWORD),
    )
    .unwrap();
    out
}

#[test]
fn a_legacy_dump_migrates_into_every_collection_after_a_backup() {
    let (f, mut v) = Fixture::new();
    let dump = legacy(5);
    let file = f.file("dump.jsonl", dump.as_bytes());

    let dry = MigrateOptions {
        dry_run: true,
        ..options(Format::Legacy, &file)
    }
    .run(
        &mut v,
        &mut || panic!("a dry run opens no repository"),
        &mut |_, _, _| {},
    )
    .unwrap();
    assert_eq!(dry.id, None);
    assert_eq!(total(&v), 0, "a dry run writes nothing");
    assert!(f.repo.snapshots(None).unwrap().is_empty(), "nor backs up");

    let report = run(&f, &mut v, &options(Format::Legacy, &file)).unwrap();
    assert_eq!(
        report.collections, dry.collections,
        "the dry run told the truth"
    );
    for c in pvault_core::models::BUILTIN_COLLECTIONS {
        let mapped = report.collections.iter().find(|m| m.collection == c);
        assert_eq!(mapped.map(|m| m.records), Some(5), "{c}: {report:?}");
    }
    assert_eq!(total(&v), 30);
    assert_eq!(report.written, 30);
    // The backup was taken before the first write: it holds the empty profile.
    let backup = report.backup.clone().unwrap();
    let snaps = f.repo.snapshots(None).unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].id, backup.snapshot);
    assert_eq!(snaps[0].records, 0);
    // Every record opens and the profile verifies.
    assert!(v.verify(&mut |_, _| {}).unwrap().problems.is_empty());
    let listed = migrations(&v).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, State::Finished);
    assert_eq!(listed[0].items, 30);

    // The same file again is refused, naming the migration; nothing is written twice.
    let again = run(&f, &mut v, &options(Format::Legacy, &file)).unwrap_err();
    assert_eq!(again.code(), "migration_state");
    assert!(again.to_string().contains(report.id.as_deref().unwrap()));
    assert_eq!(total(&v), 30);

    // Rollback removes exactly what it added; a record of the user's stays.
    v.put(NewRecord {
        collection: "research".into(),
        id: Some("mine".into()),
        classification: None,
        data: json!({"title": "mine", "body": "kept"}),
    })
    .unwrap();
    let rolled = RollbackOptions::default().run(&mut v).unwrap();
    assert_eq!(rolled.removed, 30);
    assert_eq!(total(&v), 1);
    assert!(v.get("research", "mine").is_ok());
    assert_eq!(migrations(&v).unwrap()[0].state, State::RolledBack);
    assert_eq!(
        RollbackOptions::default().run(&mut v).unwrap_err().code(),
        "migration_state",
        "nothing left to roll back"
    );
    // After a rollback the same file may be migrated again.
    run(&f, &mut v, &options(Format::Legacy, &file)).unwrap();
    assert_eq!(total(&v), 31);
}

/// For every format: a file whose last item is bad is refused whole, before the backup.
#[test]
fn a_bad_record_at_the_end_leaves_nothing_imported_in_every_format() {
    let big = "x".repeat(2 << 20);
    let mut bad_dump = legacy(3);
    bad_dump.push_str(
        r#"{"table":"transactions","row":{"id":"bad","amount":"not a number","currency":"BTC","fromAddress":"a","toAddress":"b","timestamp":1700000000000,"status":"completed"}}"#,
    );
    bad_dump.push('\n');
    let csv =
        "name,url,username,password\nsite,https://a.example,me,pw\nsite2,https://b.example,me\n";
    let cases: Vec<(Format, Vec<u8>, &str)> = vec![
        (Format::Legacy, bad_dump.into_bytes(), "amount"),
        (
            Format::Bitwarden,
            bitwarden(json!([login("a", ""), login("b", ""), login("c", &big)])),
            "the limit",
        ),
        (
            Format::OnePux,
            onepux(
                json!([pux_login("a"), pux_login("b"), {"uuid": "z", "categoryUuid": "999", "overview": {"title": "z"}}]),
            ),
            "item 3",
        ),
        (
            Format::Kdbx,
            kdbx(&[("a", ""), ("b", ""), ("c", &big)]),
            "the limit",
        ),
        (Format::Csv, csv.as_bytes().to_vec(), "line 3"),
    ];
    for (format, bytes, named) in cases {
        let (f, mut v) = Fixture::new();
        let file = f.file("input", &bytes);
        let mut o = options(format, &file);
        o.read.password = Some(Zeroizing::new(KDBX_PASSWORD.into()));
        let err = run(&f, &mut v, &o).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(named), "{format}: {message}");
        assert!(
            !message.contains("pw-1") && !message.contains("xxxx"),
            "{format}: no values"
        );
        assert_eq!(total(&v), 0, "{format}: nothing imported");
        assert!(migrations(&v).unwrap().is_empty(), "{format}: no migration");
        assert!(
            f.repo.snapshots(None).unwrap().is_empty(),
            "{format}: no backup"
        );

        // Without the bad item the same file goes in.
        let good: Vec<u8> = match format {
            Format::Legacy => legacy(3).into_bytes(),
            Format::Bitwarden => bitwarden(json!([login("a", ""), login("b", "")])),
            Format::OnePux => onepux(json!([pux_login("a"), pux_login("b")])),
            Format::Kdbx => kdbx(&[("a", ""), ("b", "")]),
            Format::Csv => csv
                .lines()
                .take(2)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
        };
        let file = f.file("good", &good);
        let mut o = options(format, &file);
        o.read.password = Some(Zeroizing::new(KDBX_PASSWORD.into()));
        let report = run(&f, &mut v, &o).unwrap();
        assert!(report.written > 0, "{format}: {report:?}");
        assert_eq!(total(&v), report.written, "{format}");
    }
}

#[test]
fn password_manager_items_land_in_their_collections_with_their_fields() {
    let (f, mut v) = Fixture::new();
    let file = f.file(
        "bw.json",
        &bitwarden(json!([
            login("GitHub", "2fa on"),
            {"id": "n", "type": 2, "name": "Note", "notes": "text", "secureNote": {"type": 0}},
            {"id": "gone", "type": 1, "name": "Old", "deletedDate": "2026-01-01T00:00:00Z", "login": {}}
        ])),
    );
    let report = run(&f, &mut v, &options(Format::Bitwarden, &file)).unwrap();
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert!(report.skipped[0].reason.contains("trash"));
    let logins = v.list("logins", None).unwrap().records;
    assert_eq!(logins.len(), 1);
    let d = &logins[0].data;
    assert_eq!(d["title"], "GitHub");
    assert_eq!(d["username"], "alice");
    assert_eq!(d["password"], "pw-1");
    assert_eq!(d["urls"], json!(["https://example.com"]));
    assert_eq!(d["folder"], "Work");
    assert_eq!(d["notes"], "2fa on");
    // Credentials are sealed in two layers; a note keeps the profile's default.
    assert_eq!(logins[0].classification, Classification::Confidential);
    assert_eq!(
        v.list("notes", None).unwrap().records[0].classification,
        Classification::Internal
    );
    assert_eq!(
        v.list("notes", None).unwrap().records[0].data["text"],
        "text"
    );
}

#[test]
fn a_record_id_already_in_the_profile_is_kept_and_reported() {
    let (f, mut v) = Fixture::new();
    v.put(NewRecord {
        collection: "settings".into(),
        id: Some("theme".into()),
        classification: None,
        data: json!({"value": "mine"}),
    })
    .unwrap();
    let dump = "{\"format\":\"enhanced-database-dump\",\"version\":1,\"exported_at\":\"2026-01-01T00:00:00Z\"}\n\
                {\"table\":\"settings\",\"row\":{\"key\":\"theme\",\"value\":\"theirs\"}}\n\
                {\"table\":\"settings\",\"row\":{\"key\":\"lang\",\"value\":\"en\"}}\n\
                {\"table\":\"settings\",\"row\":{\"key\":\"lang\",\"value\":\"fr\"}}\n";
    let file = f.file("dump.jsonl", dump.as_bytes());
    let report = run(&f, &mut v, &options(Format::Legacy, &file)).unwrap();
    assert_eq!(report.written, 1);
    assert_eq!(report.skipped.len(), 2);
    assert!(
        report.skipped[0].reason.contains("settings/theme"),
        "{report:?}"
    );
    // The same id twice in the file: the first is imported, the second reported.
    assert!(report.skipped[1].source.contains("line 4"), "{report:?}");
    assert!(
        report.skipped[1].reason.contains("again (as line 3"),
        "{report:?}"
    );
    assert_eq!(v.get("settings", "theme").unwrap().data["value"], "mine");
    assert_eq!(v.get("settings", "lang").unwrap().data["value"], "en");
    // The rollback leaves the profile's own setting alone.
    RollbackOptions::default().run(&mut v).unwrap();
    assert_eq!(v.get("settings", "theme").unwrap().data["value"], "mine");
    assert!(v.get("settings", "lang").is_err());
}

#[test]
fn a_migration_cut_short_resumes_without_duplicates_or_rolls_back() {
    let (f, mut v) = Fixture::new();
    let dump = legacy(10); // 60 items
    let file = f.file("dump.jsonl", dump.as_bytes());
    let o = MigrateOptions {
        batch: 10,
        ..options(Format::Legacy, &file)
    };
    // The disk fills up during the third batch.
    f.raw(&v)
        .execute_batch(
            "CREATE TRIGGER full BEFORE INSERT ON migration_records
             WHEN (SELECT count(*) FROM migration_records) >= 25
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    assert!(run(&f, &mut v, &o).is_err());
    assert_eq!(
        total(&v),
        20,
        "two whole batches are in, the third not at all"
    );
    let m = migrations(&v).unwrap();
    assert_eq!(m[0].state, State::Running);

    // Another file must wait for it.
    let other = f.file("other.jsonl", legacy(1).as_bytes());
    let err = run(&f, &mut v, &options(Format::Legacy, &other)).unwrap_err();
    assert!(err.to_string().contains("did not finish"), "{err}");

    // The same command again finishes it.
    f.raw(&v).execute_batch("DROP TRIGGER full;").unwrap();
    let report = run(&f, &mut v, &o).unwrap();
    assert_eq!(report.id.as_deref(), Some(m[0].id.as_str()));
    assert_eq!((report.resumed, report.written), (20, 40));
    assert_eq!(total(&v), 60, "no record twice");
    assert_eq!(
        f.repo.snapshots(None).unwrap().len(),
        1,
        "one backup, before the first write"
    );
    assert_eq!(migrations(&v).unwrap()[0].state, State::Finished);

    // An interrupted migration rolls back too.
    let (f, mut v) = Fixture::new();
    let file = f.file("dump.jsonl", dump.as_bytes());
    let o = MigrateOptions {
        batch: 10,
        ..options(Format::Legacy, &file)
    };
    f.raw(&v)
        .execute_batch(
            "CREATE TRIGGER full BEFORE INSERT ON migration_records
             WHEN (SELECT count(*) FROM migration_records) >= 15
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    assert!(run(&f, &mut v, &o).is_err());
    assert_eq!(total(&v), 10);
    let rolled = RollbackOptions::default().run(&mut v).unwrap();
    assert_eq!(rolled.removed, 10);
    assert_eq!(total(&v), 0);
}

#[test]
fn a_rollback_does_not_remove_an_edited_record_unless_forced() {
    let (f, mut v) = Fixture::new();
    let file = f.file(
        "bw.json",
        &bitwarden(json!([login("a", ""), login("b", "")])),
    );
    run(&f, &mut v, &options(Format::Bitwarden, &file)).unwrap();
    let first = v.list("logins", None).unwrap().records[0].clone();
    let mut data = first.data.clone();
    data["notes"] = json!("edited after the migration");
    v.put(NewRecord {
        collection: "logins".into(),
        id: Some(first.id.clone()),
        classification: None,
        data,
    })
    .unwrap();
    let err = RollbackOptions::default().run(&mut v).unwrap_err();
    assert!(err.to_string().contains("1 of the records"), "{err}");
    assert_eq!(total(&v), 2, "nothing removed");
    let rolled = RollbackOptions {
        force: true,
        ..Default::default()
    }
    .run(&mut v)
    .unwrap();
    assert_eq!((rolled.removed, rolled.changed_since), (2, 1));
    assert_eq!(total(&v), 0);
}

#[test]
fn a_kdbx_database_needs_its_password() {
    let (f, mut v) = Fixture::new();
    let file = f.file("db.kdbx", &kdbx(&[("a", "")]));
    let mut o = options(Format::Kdbx, &file);
    o.read.password = Some(Zeroizing::new("wrong".into()));
    let err = run(&f, &mut v, &o).unwrap_err();
    assert_eq!(err.code(), "migrate_key", "{err}");
    assert_eq!(total(&v), 0);
}
