//! Whole flows through the library, on real SQLite files in a temporary home.
//!
//! Isolation is proven by moving bytes: an envelope copied into another profile, collection or record
//! must fail to open.

use std::path::{Path, PathBuf};

use pvault_core::{
    Classification, Credentials, Error, NewProfile, NewRecord, Pvault, SecurityLevel, Vault,
};
use rusqlite::{Connection, params};
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    pv: Pvault,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pv = Pvault::open(dir.path()).unwrap();
    Fixture { _dir: dir, pv }
}

fn create(pv: &Pvault, name: &str, password: &str) -> Vault {
    pv.create(
        NewProfile {
            name: name.into(),
            display_name: None,
            security: SecurityLevel::Standard,
        },
        password.as_bytes(),
    )
    .unwrap();
    pv.unlock(Some(name), &Credentials::password(password))
        .unwrap()
}

fn put(v: &mut Vault, collection: &str, id: &str, data: Value) {
    v.put(NewRecord {
        collection: collection.into(),
        id: Some(id.into()),
        classification: None,
        data,
    })
    .unwrap();
}

fn note(text: &str) -> Value {
    json!({"title": "note", "body": text})
}

fn db(pv: &Pvault, v: &Vault) -> PathBuf {
    pv.home().profile_dir(&v.summary().id).join("store.db")
}

/// (collection, rid, id_box, body) of a row.
type RawRow = (String, Vec<u8>, Vec<u8>, Vec<u8>);

/// Reads the raw envelopes (id_box, body, classification, key_id) of a record, found by decrypting ids.
fn raw_row(
    path: &Path,
    collection: &str,
    rid_of: impl Fn(&Connection) -> Vec<u8>,
) -> (Vec<u8>, Vec<u8>, Vec<u8>, i64, i64) {
    let c = Connection::open(path).unwrap();
    let rid = rid_of(&c);
    c.query_row(
        "SELECT rid, id_box, body, classification, key_id FROM records WHERE collection = ?1 AND rid = ?2",
        params![collection, rid],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
    .unwrap()
}

/// The hidden row key of the only record of a collection.
fn only_rid(collection: &'static str) -> impl Fn(&Connection) -> Vec<u8> {
    move |c: &Connection| {
        c.query_row(
            "SELECT rid FROM records WHERE collection = ?1",
            [collection],
            |r| r.get(0),
        )
        .unwrap()
    }
}

fn overwrite(
    path: &Path,
    collection: &str,
    rid: &[u8],
    id_box: &[u8],
    body: &[u8],
    class: i64,
    key_id: i64,
) {
    let c = Connection::open(path).unwrap();
    let n = c
        .execute(
            "UPDATE records SET id_box = ?3, body = ?4, classification = ?5, key_id = ?6 WHERE collection = ?1 AND rid = ?2",
            params![collection, rid, id_box, body, class, key_id],
        )
        .unwrap();
    assert_eq!(n, 1);
}

fn assert_tampered<T: std::fmt::Debug>(r: pvault_core::Result<T>) {
    match r {
        Err(Error::Tampered { .. }) => {}
        other => panic!("expected a Tampered error, got {other:?}"),
    }
}

#[test]
fn ciphertext_moved_to_another_profile_fails() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    let mut b = create(&f.pv, "bob", "bob-password");
    put(&mut a, "research", "shared-id", note("alice's secret plan"));
    put(&mut b, "research", "shared-id", note("bob's note"));
    let (rid_a, id_box, body, class, key_id) =
        raw_row(&db(&f.pv, &a), "research", only_rid("research"));
    let (rid_b, ..) = raw_row(&db(&f.pv, &b), "research", only_rid("research"));
    assert_ne!(rid_a, rid_b, "row keys are keyed per profile");
    // Alice's envelopes pasted over Bob's record with the same id and collection.
    overwrite(
        &db(&f.pv, &b),
        "research",
        &rid_b,
        &id_box,
        &body,
        class,
        key_id,
    );
    drop(b);
    let b =
        f.pv.unlock(Some("bob"), &Credentials::password("bob-password"))
            .unwrap();
    assert_tampered(b.get("research", "shared-id"));
    let listing = b.list("research", None).unwrap();
    assert!(listing.records.is_empty());
    assert_eq!(listing.unreadable.len(), 1);
    let report = b.verify(&mut |_, _| {}).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    // Alice still reads her own.
    assert_eq!(
        a.get("research", "shared-id").unwrap().data["body"],
        "alice's secret plan"
    );
}

#[test]
fn ciphertext_moved_to_another_collection_or_record_fails() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    put(&mut a, "research", "r1", note("first"));
    put(&mut a, "research", "r2", note("second"));
    put(&mut a, "notes", "r1", json!({"text": "user collection"}));
    let path = db(&f.pv, &a);
    let c = Connection::open(&path).unwrap();
    let rows: Vec<RawRow> = c
        .prepare("SELECT collection, rid, id_box, body FROM records ORDER BY collection, revision")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let notes_r1 = &rows[0];
    let (research_r1, research_r2) = (&rows[1], &rows[2]);
    // Body of research/r1 under research/r2 (id box kept): another record.
    c.execute(
        "UPDATE records SET body = ?1 WHERE collection = 'research' AND rid = ?2",
        params![research_r1.3, research_r2.1],
    )
    .unwrap();
    // Body and id box of research/r1 under notes/r1: another collection, same id.
    c.execute(
        "UPDATE records SET body = ?1, id_box = ?2 WHERE collection = 'notes' AND rid = ?3",
        params![research_r1.3, research_r1.2, notes_r1.1],
    )
    .unwrap();
    drop(c);
    assert_eq!(a.get("research", "r1").unwrap().data["body"], "first");
    assert_tampered(a.get("research", "r2"));
    assert_tampered(a.get("notes", "r1"));
    let report = a.verify(&mut |_, _| {}).unwrap();
    let named: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}/{}", p.collection, p.id))
        .collect();
    assert!(named.contains(&"research/r2".to_string()), "{named:?}");
    assert!(named.iter().any(|n| n.starts_with("notes/")), "{named:?}");
    assert_eq!(report.problems.len(), 2);
}

#[test]
fn classification_changed_on_disk_fails() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    a.put(NewRecord {
        collection: "research".into(),
        id: Some("r".into()),
        classification: Some(Classification::Secret),
        data: note("x"),
    })
    .unwrap();
    let path = db(&f.pv, &a);
    // Lowering the level to dodge the re-prompt breaks the envelope's binding.
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE records SET classification = 1", [])
        .unwrap();
    assert_tampered(a.get("research", "r"));
}

#[test]
fn another_profiles_password_and_keys_open_nothing() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    let _b = create(&f.pv, "bob", "bob-password");
    put(&mut a, "research", "r", note("alice only"));
    assert!(matches!(
        f.pv.unlock(Some("alice"), &Credentials::password("bob-password")),
        Err(Error::WrongPassword { .. })
    ));
    // Bob's key file put in place of Alice's: Alice's store does not belong to those keys.
    let home = f.pv.home();
    let a_dir = home.profile_dir(&a.summary().id);
    let b_dir = home.profile_dir(&home.profile("bob").unwrap().id);
    std::fs::copy(b_dir.join("key.json"), a_dir.join("key.json")).unwrap();
    let r =
        f.pv.unlock(Some("alice"), &Credentials::password("bob-password"));
    assert!(matches!(r, Err(Error::StoreMismatch(_))), "{:?}", r.err());
}

#[test]
fn password_change_rewraps_only() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "old-password");
    put(&mut a, "research", "r", note("kept"));
    let before: Vec<u8> = Connection::open(db(&f.pv, &a))
        .unwrap()
        .query_row("SELECT body FROM records", [], |r| r.get(0))
        .unwrap();
    a.change_password(b"new-password").unwrap();
    drop(a);
    assert!(matches!(
        f.pv.unlock(Some("alice"), &Credentials::password("old-password")),
        Err(Error::WrongPassword { .. })
    ));
    let a =
        f.pv.unlock(Some("alice"), &Credentials::password("new-password"))
            .unwrap();
    assert_eq!(a.get("research", "r").unwrap().data["body"], "kept");
    let after: Vec<u8> = Connection::open(db(&f.pv, &a))
        .unwrap()
        .query_row("SELECT body FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(before, after, "a password change re-encrypts nothing");
}

#[test]
fn rotation_reseals_everything_and_destroys_the_old_epoch() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    for i in 0..600 {
        put(
            &mut a,
            "transactions",
            &format!("t{i}"),
            json!({"amount": i.to_string(), "asset": if i % 2 == 0 { "BTC" } else { "ETH" },
            "from": "a", "to": "b", "time": "2026-11-23T10:00:00Z", "status": "confirmed"}),
        );
    }
    put(
        &mut a,
        "breakthroughs",
        "b1",
        json!({"title": "t", "content": "v1", "researcher": "alice"}),
    );
    put(
        &mut a,
        "breakthroughs",
        "b1",
        json!({"title": "t", "content": "v2", "researcher": "alice"}),
    );
    a.remove("transactions", "t0").unwrap();
    let path = db(&f.pv, &a);
    let old_body: Vec<u8> = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT body FROM records WHERE deleted = 0 AND collection = 'transactions' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(a.key_ids(), vec![1]);

    let mut calls = 0;
    let report = a.rotate_keys(&mut |_, _| calls += 1).unwrap();
    assert!(calls > 0);
    assert_eq!(report.key_id, 2);
    assert_eq!(report.destroyed, vec![1]);
    assert_eq!(
        report.records, 601,
        "600 transactions (one of them a tombstone) and one breakthrough"
    );
    assert_eq!(report.versions, 2);
    assert_eq!(a.key_ids(), vec![2]);

    let c = Connection::open(&path).unwrap();
    let old: i64 = c
        .query_row("SELECT COUNT(*) FROM records WHERE key_id != 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    let old_v: i64 = c
        .query_row("SELECT COUNT(*) FROM versions WHERE key_id != 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!((old, old_v), (0, 0));
    drop(a);

    // The key file holds only the new epoch; a fresh unlock reads everything, queries work.
    let key_file: Value =
        serde_json::from_slice(&std::fs::read(path.parent().unwrap().join("key.json")).unwrap())
            .unwrap();
    assert_eq!(key_file["epochs"].as_array().unwrap().len(), 1);
    assert_eq!(key_file["epochs"][0]["key_id"], 2);
    let a =
        f.pv.unlock(Some("alice"), &Credentials::password("alice-password"))
            .unwrap();
    assert_eq!(a.list("transactions", None).unwrap().records.len(), 599);
    assert_eq!(
        a.list("transactions", Some(("asset", "btc")))
            .unwrap()
            .records
            .len(),
        299
    );
    // The same a page at a time, in the same order; a page of 0 keeps the cursor.
    let whole: Vec<String> = a
        .list("transactions", Some(("asset", "btc")))
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.id)
        .collect();
    let (mut paged, mut after) = (Vec::new(), None::<String>);
    loop {
        let page = a
            .list_page("transactions", Some(("asset", "btc")), after.as_deref(), 50)
            .unwrap();
        paged.extend(page.records.into_iter().map(|r| r.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    let empty = a.list_page("transactions", None, Some("5.7"), 0).unwrap();
    assert!(empty.records.is_empty());
    assert_eq!(empty.next.as_deref(), Some("5.7"));
    assert!(matches!(
        a.list_page("transactions", None, Some("x"), 10),
        Err(Error::InvalidCursor(_))
    ));
    assert_eq!(a.history("breakthroughs", "b1").unwrap().len(), 2);
    assert_eq!(a.verify(&mut |_, _| {}).unwrap().problems.len(), 0);
    assert!(matches!(
        a.get("transactions", "t0"),
        Err(Error::NotFound { .. })
    ));

    // An envelope from the old epoch put back cannot be opened any more: its key is gone.
    let rid: Vec<u8> = c
        .query_row(
            "SELECT rid FROM records WHERE collection = 'transactions' AND deleted = 0 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    c.execute(
        "UPDATE records SET body = ?1 WHERE collection = 'transactions' AND rid = ?2",
        params![old_body, rid],
    )
    .unwrap();
    let listing = a.list("transactions", None).unwrap();
    assert_eq!(listing.unreadable.len(), 1);
}

#[test]
fn interrupted_rotation_resumes() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    for i in 0..300 {
        put(
            &mut a,
            "research",
            &format!("r{i}"),
            note(&format!("note {i}")),
        );
    }
    // A crash after the new epoch was stored and the first batch resealed: the progress callback runs
    // after each committed batch, so a panic there stops the rotation exactly at that point.
    let mut first = true;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.rotate_keys(&mut |_, _| {
            if first {
                first = false;
                panic!("simulated crash after the first batch");
            }
        })
    }));
    assert!(result.is_err());
    drop(a);
    let mut a =
        f.pv.unlock(Some("alice"), &Credentials::password("alice-password"))
            .unwrap();
    assert_eq!(
        a.key_ids(),
        vec![1, 2],
        "both epochs survive an interrupted rotation"
    );
    let path = db(&f.pv, &a);
    let under_old: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM records WHERE key_id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(under_old, 300 - 256, "the first batch was committed");
    // Mixed epochs read fine, and new writes use the new one.
    assert_eq!(a.list("research", None).unwrap().records.len(), 300);
    let report = a.rotate_keys(&mut |_, _| {}).unwrap();
    assert!(report.resumed);
    assert_eq!(report.records, 44);
    assert_eq!(a.key_ids(), vec![2]);
    assert_eq!(a.verify(&mut |_, _| {}).unwrap().problems.len(), 0);
}

#[test]
fn delete_shreds_keys_and_needs_exact_confirmation() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    put(&mut a, "research", "r", note("gone soon"));
    let dir = f.pv.home().profile_dir(&a.summary().id);
    drop(a);
    assert!(matches!(
        f.pv.delete("alice", "Alice"),
        Err(Error::ConfirmationMismatch(_))
    ));
    assert!(dir.join("key.json").exists());
    f.pv.unlock(Some("alice"), &Credentials::password("alice-password"))
        .unwrap();
    f.pv.delete("alice", "alice").unwrap();
    assert!(!dir.exists());
    assert!(f.pv.list().unwrap().is_empty());
    assert!(matches!(
        f.pv.unlock(Some("alice"), &Credentials::password("alice-password")),
        Err(Error::UnknownProfile(_))
    ));
}

#[test]
fn reauth_window_gates_secret_records() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    a.put(NewRecord {
        collection: "api_keys".into(),
        id: Some("k".into()),
        classification: Some(Classification::TopSecret),
        data: json!({"provider": "x", "name": "k", "secret": "s3cr3t"}),
    })
    .unwrap();
    assert!(matches!(
        a.get("api_keys", "k"),
        Err(Error::ReauthRequired { .. })
    ));
    let listed = a.list("api_keys", None).unwrap();
    assert!(listed.records[0].hidden && listed.records[0].data.is_null());
    assert!(
        f.pv.reauthenticate(&mut a, &Credentials::password("wrong"))
            .is_err()
    );
    assert!(matches!(
        a.get("api_keys", "k"),
        Err(Error::ReauthRequired { .. })
    ));
    f.pv.reauthenticate(&mut a, &Credentials::password("alice-password"))
        .unwrap();
    assert_eq!(a.get("api_keys", "k").unwrap().data["secret"], "s3cr3t");
    a.set_reauth_window(std::time::Duration::ZERO);
    f.pv.reauthenticate(&mut a, &Credentials::password("alice-password"))
        .unwrap();
    assert!(
        matches!(a.get("api_keys", "k"), Err(Error::ReauthRequired { .. })),
        "the window expires"
    );
}

#[test]
fn updates_keep_classification_and_refuse_lowering_below_minimum() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "alice-password");
    let w = a
        .put(NewRecord {
            collection: "research".into(),
            id: Some("r".into()),
            classification: Some(Classification::Confidential),
            data: note("v1"),
        })
        .unwrap();
    assert_eq!(w.classification, Classification::Confidential);
    let w = a
        .put(NewRecord {
            collection: "research".into(),
            id: Some("r".into()),
            classification: None,
            data: note("v2"),
        })
        .unwrap();
    assert_eq!(
        w.classification,
        Classification::Confidential,
        "an update without a level keeps the record's"
    );
    assert_eq!(w.version, 2);
    let err = a
        .put(NewRecord {
            collection: "api_keys".into(),
            id: None,
            classification: Some(Classification::Public),
            data: json!({"provider": "x", "name": "k", "secret": "s"}),
        })
        .unwrap_err();
    assert!(matches!(err, Error::ClassificationTooLow { .. }), "{err}");
}

/// The key file of a profile.
fn key_path(pv: &Pvault, name: &str) -> PathBuf {
    pv.home()
        .profile_dir(&pv.home().profile(name).unwrap().id)
        .join("key.json")
}

/// Rewrites a key file as pvault 0.1 wrote it (no checksum).
fn strip_checksum(path: &Path) -> Vec<u8> {
    let file = pvault_crypto::KeyFile::decode(&std::fs::read(path).unwrap()).unwrap();
    let old = file.encode_without_checksum();
    std::fs::write(path, &old).unwrap();
    old
}

/// Flips the lowest bit of the first digit inside the value of `member` (it stays valid base64).
fn flip_in(bytes: &[u8], member: &str) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    let start = text.find(&format!("\"{member}\": \"")).unwrap() + member.len() + 5;
    let at = (start..bytes.len())
        .find(|&i| bytes[i].is_ascii_digit())
        .unwrap();
    let mut out = bytes.to_vec();
    out[at] ^= 1;
    out
}

#[track_caller]
fn assert_key_file_damaged<T>(r: pvault_core::Result<T>, words: &[&str]) {
    match r {
        Err(e @ Error::KeyFileDamaged { .. }) => {
            assert!(e.is_damaged() && !e.is_wrong_password());
            let text = e.to_string();
            for w in words {
                assert!(text.contains(w), "{w:?} not in {text}");
            }
        }
        Err(e) => panic!("expected KeyFileDamaged, got {e:?}"),
        Ok(_) => panic!("expected KeyFileDamaged, got success"),
    }
}

#[test]
fn a_damaged_key_file_is_reported_as_damage_and_counts_no_failed_attempt() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "pw");
    put(&mut a, "research", "r", note("kept"));
    drop(a);
    let path = key_path(&f.pv, "alice");
    let good = std::fs::read(&path).unwrap();
    let creds = Credentials::password("pw");
    for member in ["salt", "wrapped_root", "naming_key", "wrapped_secret"] {
        std::fs::write(&path, flip_in(&good, member)).unwrap();
        for _ in 0..3 {
            assert_key_file_damaged(
                f.pv.unlock(Some("alice"), &creds),
                &["alice", "key.json", "checksum", "not a wrong password"],
            );
            assert_key_file_damaged(f.pv.unlock_for_transfer(Some("alice"), &creds), &[]);
            assert_key_file_damaged(f.pv.reauth_proof("alice", &creds, &[0; 32]), &[]);
        }
        let shown = f.pv.details(Some("alice")).unwrap();
        assert_eq!(shown.failed_attempts, 0, "{member}");
        assert!(shown.keys.is_none());
        assert!(
            shown
                .key_file_damaged
                .as_deref()
                .unwrap()
                .contains("checksum"),
            "{shown:?}"
        );
        assert!(shown.key_file_error().unwrap().is_damaged());
        // A wrong password on a damaged file is reported as damage too: nothing is derived.
        assert_key_file_damaged(
            f.pv.unlock(Some("alice"), &Credentials::password("wrong")),
            &[],
        );
        assert_eq!(f.pv.details(Some("alice")).unwrap().failed_attempts, 0);
    }
    std::fs::write(&path, &good).unwrap();
    let a = f.pv.unlock(Some("alice"), &creds).unwrap();
    assert_eq!(a.get("research", "r").unwrap().data["body"], "kept");
    assert!(
        f.pv.details(Some("alice"))
            .unwrap()
            .key_file_damaged
            .is_none()
    );
}

#[test]
fn without_a_checksum_wraps_that_do_not_open_under_the_right_password_are_damage() {
    let f = fixture();
    drop(create(&f.pv, "alice", "pw"));
    let path = key_path(&f.pv, "alice");
    let old = strip_checksum(&path);
    for member in ["wrapped_root", "naming_key", "wrapped_secret"] {
        std::fs::write(&path, flip_in(&old, member)).unwrap();
        assert_key_file_damaged(
            f.pv.unlock(Some("alice"), &Credentials::password("pw")),
            &["alice", "open"],
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            flip_in(&old, member),
            "a damaged file is not rewritten"
        );
    }
    assert_eq!(f.pv.details(Some("alice")).unwrap().failed_attempts, 0);
    // A wrong password is still one.
    std::fs::write(&path, &old).unwrap();
    assert!(matches!(
        f.pv.unlock(Some("alice"), &Credentials::password("wrong")),
        Err(Error::WrongPassword { .. })
    ));
    assert_eq!(f.pv.details(Some("alice")).unwrap().failed_attempts, 1);
}

#[test]
fn a_key_file_without_checksum_gets_one_at_the_next_successful_unlock() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "pw");
    put(&mut a, "research", "r", note("kept"));
    drop(a);
    let path = key_path(&f.pv, "alice");
    let old = strip_checksum(&path);
    let decoded = pvault_crypto::KeyFile::decode(&old).unwrap();
    assert!(!decoded.has_checksum());

    // A failed unlock writes nothing.
    assert!(
        f.pv.unlock(Some("alice"), &Credentials::password("wrong"))
            .is_err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), old);

    // The upgrade cannot be written (its lock is a directory): the unlock still succeeds and the
    // file is left as it was.
    let lock = path.with_file_name("key.lock");
    std::fs::create_dir(&lock).unwrap();
    let a =
        f.pv.unlock(Some("alice"), &Credentials::password("pw"))
            .unwrap();
    assert_eq!(a.get("research", "r").unwrap().data["body"], "kept");
    drop(a);
    assert_eq!(std::fs::read(&path).unwrap(), old);
    std::fs::remove_dir(&lock).unwrap();

    // Now it is written: the same key file, with a checksum.
    let a =
        f.pv.unlock(Some("alice"), &Credentials::password("pw"))
            .unwrap();
    drop(a);
    let new = std::fs::read(&path).unwrap();
    let upgraded = pvault_crypto::KeyFile::decode(&new).unwrap();
    assert!(upgraded.has_checksum());
    assert_eq!(upgraded, decoded, "nothing but the checksum changed");
    assert_eq!(new, decoded.encode());
    let a =
        f.pv.unlock(Some("alice"), &Credentials::password("pw"))
            .unwrap();
    assert_eq!(a.get("research", "r").unwrap().data["body"], "kept");
    drop(a);
    assert_eq!(std::fs::read(&path).unwrap(), new, "written once");
    // Its damage is now caught by the checksum.
    std::fs::write(&path, flip_in(&new, "salt")).unwrap();
    assert_key_file_damaged(
        f.pv.unlock(Some("alice"), &Credentials::password("pw")),
        &["checksum"],
    );
}

#[test]
fn a_password_change_writes_the_checksum() {
    let f = fixture();
    let mut a = create(&f.pv, "alice", "pw");
    drop(a);
    let path = key_path(&f.pv, "alice");
    strip_checksum(&path);
    // Opened with the upgrade out of the way, so the password change is what writes it.
    let lock = path.with_file_name("key.lock");
    std::fs::create_dir(&lock).unwrap();
    a =
        f.pv.unlock(Some("alice"), &Credentials::password("pw"))
            .unwrap();
    std::fs::remove_dir(&lock).unwrap();
    assert!(
        !pvault_crypto::KeyFile::decode(&std::fs::read(&path).unwrap())
            .unwrap()
            .has_checksum()
    );
    a.change_password(b"new").unwrap();
    assert!(
        pvault_crypto::KeyFile::decode(&std::fs::read(&path).unwrap())
            .unwrap()
            .has_checksum()
    );
}
