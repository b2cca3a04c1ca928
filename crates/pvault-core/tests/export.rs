//! Export and import of a whole profile: a round trip into a fresh home, and every way a file can
//! be wrong refused with nothing imported. Debian's `age` opens pvault's exports, and an export
//! re-encrypted by `age` imports (skipped without `age`, unless PVAULT_REQUIRE_AGE=1).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use pvault_core::export::{ExportOptions, Identities, ImportOptions, Key};
use pvault_core::{
    Classification, Credentials, Error, NewProfile, NewRecord, Pvault, SecurityLevel, Vault,
};
use pvault_export::file::Protection;
use serde_json::{Value, json};

const PASSWORD: &str = "alice-password";
const PASSPHRASE: &str = "export passphrase";

fn home() -> (tempfile::TempDir, Pvault) {
    let dir = tempfile::tempdir().unwrap();
    let pv = Pvault::open(&dir.path().join("home")).unwrap();
    (dir, pv)
}

fn put(v: &mut Vault, collection: &str, id: &str, class: Option<Classification>, data: Value) {
    v.put(NewRecord {
        collection: collection.into(),
        id: Some(id.into()),
        classification: class,
        data,
    })
    .unwrap();
}

/// A profile with a record in every collection, a breakthrough of three versions and a
/// TOP_SECRET API key; unlocked and re-authenticated (an export shows every record).
fn filled(pv: &Pvault) -> Vault {
    pv.create(
        NewProfile {
            name: "alice".into(),
            display_name: Some("Alice A.".into()),
            security: SecurityLevel::Standard,
        },
        PASSWORD.as_bytes(),
    )
    .unwrap();
    let mut v = pv
        .unlock(Some("alice"), &Credentials::password(PASSWORD))
        .unwrap();
    put(
        &mut v,
        "transactions",
        "t1",
        None,
        json!({"amount": "0.25", "asset": "btc", "from": "alice", "to": "bob", "time": "2026-11-23T10:00:00Z", "status": "confirmed"}),
    );
    for (i, content) in ["first idea", "refined", "final"].iter().enumerate() {
        put(
            &mut v,
            "breakthroughs",
            "b1",
            None,
            json!({"title": format!("v{}", i + 1), "content": content, "researcher": "alice"}),
        );
    }
    put(
        &mut v,
        "api_keys",
        "k1",
        Some(Classification::TopSecret),
        json!({"provider": "exchange", "name": "bot", "secret": "s3cr3t-key"}),
    );
    put(&mut v, "settings", "theme", None, json!({"value": "dark"}));
    put(
        &mut v,
        "research",
        "r1",
        None,
        json!({"title": "Notes", "body": "line one\nline two", "tags": ["mining"]}),
    );
    pv.reauthenticate(&mut v, &Credentials::password(PASSWORD))
        .unwrap();
    v
}

fn export(v: &Vault, out: &Path, protection: Protection) -> pvault_core::export::ExportReport {
    ExportOptions {
        protection,
        armor: false,
    }
    .run(v, out, &mut |_, _| {})
    .unwrap()
}

fn passphrase() -> Protection {
    Protection::Passphrase(PASSPHRASE.to_string().into())
}

fn key() -> Key {
    Key::Passphrase(PASSPHRASE.to_string().into())
}

fn import(
    pv: &Pvault,
    file: &Path,
    key: Key,
    name: &str,
) -> pvault_core::Result<pvault_core::export::ImportReport> {
    ImportOptions {
        file: file.to_path_buf(),
        key,
        name: Some(name.into()),
        signed_by: None,
    }
    .run(pv, b"new-password", &mut |_, _, _| {})
}

/// Every record of every collection, as (collection, id, classification, data).
fn contents(v: &Vault) -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    for (c, _) in v.counts().unwrap() {
        for r in v.list(&c, None).unwrap().records {
            out.push((c.clone(), r.id, r.classification.to_string(), r.data));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn profile_dirs(pv: &Pvault) -> usize {
    std::fs::read_dir(pv.home().root().join("profiles")).map_or(0, |d| d.count())
}

#[test]
fn export_then_import_on_a_fresh_home_gives_every_record_back() {
    let (dir, pv) = home();
    let v = filled(&pv);
    let file = dir.path().join("alice.age");
    let report = export(&v, &file, passphrase());
    assert_eq!(report.records.values().sum::<u64>(), 5);
    assert_eq!(report.versions, 2);
    assert!(report.audit_entries > 0);
    // An export never replaces a file.
    assert!(
        ExportOptions {
            protection: passphrase(),
            armor: false
        }
        .run(&v, &file, &mut |_, _| {})
        .is_err()
    );
    // No plaintext reaches the disk: the file is age, and no secret appears in it.
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(!bytes.windows(10).any(|w| w == b"s3cr3t-key"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only the home and the export: {leftovers:?}"
    );

    let (_dir2, fresh) = home();
    let imported = import(&fresh, &file, key(), "alice").unwrap();
    assert_eq!(imported.records, report.records);
    assert_eq!(imported.versions, 2);
    assert_eq!(imported.signed_by, v.public_identity());
    assert_eq!(imported.profile.display_name, "Alice A.");
    let mut w = fresh
        .unlock(Some("alice"), &Credentials::password("new-password"))
        .unwrap();
    fresh
        .reauthenticate(&mut w, &Credentials::password("new-password"))
        .unwrap();
    assert_eq!(contents(&w), contents(&v));
    let history = w.history("breakthroughs", "b1").unwrap();
    let titles: Vec<&str> = history
        .iter()
        .map(|r| r.data["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["v1", "v2", "v3"]);
    // New keys, a new identity, and a log that starts with the import.
    assert_ne!(w.public_identity(), v.public_identity());
    let verified = w.verify(&mut |_, _| {}).unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
}

#[test]
fn an_export_needs_the_secret_records_shown() {
    let (dir, pv) = home();
    let mut v = filled(&pv);
    v.clear_reauth();
    let out = dir.path().join("x.age");
    let r = ExportOptions {
        protection: passphrase(),
        armor: false,
    }
    .run(&v, &out, &mut |_, _| {});
    assert!(
        matches!(r, Err(Error::ReauthRequired { .. })),
        "{:?}",
        r.err()
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no partial file left"
    );
}

#[test]
fn a_damaged_or_foreign_file_imports_nothing() {
    let (dir, pv) = home();
    let v = filled(&pv);
    let file = dir.path().join("alice.age");
    export(&v, &file, passphrase());
    let bytes = std::fs::read(&file).unwrap();
    let (_d, fresh) = home();
    let try_bytes = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        import(&fresh, &p, key(), "copy")
    };
    // Cut, flipped in the payload, flipped in the header, not age at all, wrong passphrase.
    let cut = try_bytes("cut.age", &bytes[..bytes.len() - 100])
        .err()
        .unwrap();
    assert!(cut.is_damaged(), "{cut}");
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x20;
    let e = try_bytes("flip.age", &flipped).err().unwrap();
    assert!(e.is_damaged(), "{e}");
    assert!(e.to_string().contains("damaged"), "{e}");
    let e = try_bytes("plain.json", b"{\"records\": []}\n")
        .err()
        .unwrap();
    assert_eq!(e.code(), "export_not_age");
    let e = import(
        &fresh,
        &file,
        Key::Passphrase("wrong".to_string().into()),
        "copy",
    )
    .err()
    .unwrap();
    assert_eq!(e.code(), "export_no_match");
    assert!(fresh.list().unwrap().is_empty());
    assert_eq!(profile_dirs(&fresh), 0);
}

/// Writes an export's contents by hand (signed with `key`), sealed to the passphrase.
fn handmade(
    path: &Path,
    key: &ed25519_dalek::SigningKey,
    entries: &[pvault_export::format::Entry],
    version: u64,
) {
    use ed25519_dalek::Signer;
    use pvault_export::format::{Header, Writer};
    let mut header = Header::new(
        "00112233445566778899aabbccddeeff",
        "eve",
        "Eve",
        "standard",
        key.verifying_key().as_bytes(),
        "dev",
        "2026-12-01T00:00:00Z",
    );
    header.pvault_export = version;
    let sealed =
        pvault_export::file::seal(std::fs::File::create(path).unwrap(), &passphrase(), false)
            .unwrap();
    let mut w = Writer::new(sealed, &header).unwrap();
    for e in entries {
        w.entry(e).unwrap();
    }
    let (sealed, _) = w.finish(|m| key.sign(m).to_bytes()).unwrap();
    sealed.finish().unwrap().flush().unwrap();
}

fn note(id: &str, data: Value) -> pvault_export::format::Entry {
    pvault_export::format::Entry::Record(pvault_export::format::RecordEntry {
        collection: "research".into(),
        id: id.into(),
        classification: "INTERNAL".into(),
        version: 1,
        revision: 1,
        device: "d".into(),
        created: String::new(),
        updated: String::new(),
        data,
        attestation: None,
    })
}

#[test]
fn a_bad_record_at_the_end_or_a_newer_format_imports_nothing() {
    let (dir, pv) = home();
    let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let mut entries: Vec<_> = (0..1200)
        .map(|i| note(&format!("n{i}"), json!({"title": "t", "body": "b"})))
        .collect();
    entries.push(note(
        "last",
        json!({"title": "t", "body": "b", "colour": "red"}),
    ));
    let file = dir.path().join("bad.age");
    handmade(&file, &key, &entries, 1);
    let e = import(&pv, &file, self::key(), "eve").err().unwrap();
    assert!(e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("research/last"), "{e}");
    assert!(pv.list().unwrap().is_empty());
    assert_eq!(profile_dirs(&pv), 0);

    entries.pop();
    handmade(&file, &key, &entries, 1);
    let ok = import(&pv, &file, self::key(), "eve").unwrap();
    assert_eq!(ok.records["research"], 1200);
    // The report names the signer; asking for another one refuses the file.
    let other = ImportOptions {
        file: file.clone(),
        key: self::key(),
        name: Some("eve2".into()),
        signed_by: Some("ab".repeat(32)),
    }
    .run(&pv, b"pw", &mut |_, _, _| {});
    assert_eq!(other.err().unwrap().code(), "export_tampered");

    handmade(&file, &key, &entries[..1], 2);
    let e = import(&pv, &file, self::key(), "eve3").err().unwrap();
    assert_eq!(e.code(), "newer_format");
    assert_eq!(pv.list().unwrap().len(), 1);
}

#[test]
fn an_unfinished_import_is_removed_by_the_next() {
    let (dir, pv) = home();
    let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let file = dir.path().join("ok.age");
    handmade(
        &file,
        &key,
        &[note("n", json!({"title": "t", "body": "b"}))],
        1,
    );
    // What a crash in the middle of an import leaves: a marked directory nobody registered.
    let orphan = pv
        .home()
        .root()
        .join("profiles")
        .join("ffeeddccbbaa99887766554433221100");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("unfinished"), b"").unwrap();
    std::fs::write(orphan.join("store.db"), b"partial").unwrap();
    import(&pv, &file, self::key(), "eve").unwrap();
    assert!(!orphan.exists());
    assert_eq!(profile_dirs(&pv), 1);
}

fn age_available() -> bool {
    let found = Command::new("age").arg("--version").output().is_ok()
        && Command::new("age-keygen").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("PVAULT_REQUIRE_AGE").is_err(),
            "PVAULT_REQUIRE_AGE is set but `age` is not installed"
        );
        eprintln!("SKIPPED: Debian's age is not installed");
    }
    found
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    (path, recipient)
}

#[test]
fn debian_age_opens_an_export_and_its_files_import() {
    if !age_available() {
        return;
    }
    let (dir, pv) = home();
    let v = filled(&pv);
    let (identity, recipient) = keygen(dir.path(), "key.txt");
    let file = dir.path().join("alice.age");
    export(&v, &file, Protection::Recipients(vec![recipient.clone()]));
    // `age -d` gives the documented format: a header, every record, a manifest last.
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&identity)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["pvault_export"], 1);
    assert_eq!(lines[0]["profile"]["name"], "alice");
    assert_eq!(lines.last().unwrap()["type"], "manifest");
    let records: Vec<&Value> = lines.iter().filter(|l| l["type"] == "record").collect();
    assert_eq!(records.len(), 5);
    assert!(records.iter().any(|r| r["data"]["secret"] == "s3cr3t-key"));
    assert_eq!(lines.iter().filter(|l| l["type"] == "version").count(), 2);

    // The same contents encrypted by `age -r` (to another recipient, armored) import too.
    let plain = dir.path().join("plain.jsonl");
    std::fs::write(&plain, &text).unwrap();
    let (_, other_recipient) = keygen(dir.path(), "other.txt");
    let rewrapped = dir.path().join("rewrapped.age");
    let st = Command::new("age")
        .args(["-a", "-r", &other_recipient, "-r", &recipient, "-o"])
        .arg(&rewrapped)
        .arg(&plain)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_file(&plain).unwrap();
    let ids = Identities::parse(&std::fs::read_to_string(&identity).unwrap()).unwrap();
    let (_d, fresh) = home();
    let imported = import(&fresh, &rewrapped, Key::Identities(ids), "alice").unwrap();
    assert_eq!(imported.records.values().sum::<u64>(), 5);

    // And by `age -p` (its passphrase typed at a terminal: a pseudo-terminal here).
    std::fs::write(&plain, &text).unwrap();
    let by_passphrase = dir.path().join("passphrase.age");
    age_p(dir.path(), PASSPHRASE, &by_passphrase, &plain);
    std::fs::remove_file(&plain).unwrap();
    assert!(
        std::fs::read(&by_passphrase)
            .unwrap()
            .starts_with(b"age-encryption.org/v1\n-> scrypt ")
    );
    let imported = import(&fresh, &by_passphrase, key(), "alice-2").unwrap();
    assert_eq!(imported.records.values().sum::<u64>(), 5);
}

/// Runs `age -p -o OUT IN` on a pseudo-terminal (age reads a passphrase only from a terminal),
/// typing `passphrase` at both prompts.
fn age_p(dir: &Path, passphrase: &str, out: &Path, input: &Path) {
    const SCRIPT: &str = r#"
import os, pty, sys, time
passphrase, out, inp = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("age", ["age", "-p", "-o", out, inp])
buf, sent, deadline = b"", 0, time.time() + 60
while time.time() < deadline:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    buf += data
    while sent < 2 and buf.count(b"assphrase") > sent:
        os.write(fd, passphrase.encode() + b"\r")
        sent += 1
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let script = dir.join("age_p.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let status = Command::new("python3")
        .arg(&script)
        .arg(passphrase)
        .arg(out)
        .arg(input)
        .status()
        .expect("python3 (to give age a terminal)");
    assert!(status.success(), "age -p failed");
}
