//! The audit log through the library, on real SQLite files: every event kind written, every kind of
//! tampering named by `verify_audit` with its position, and actions refused when their entry cannot
//! be written.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pvault_core::audit::{AuditFilter, AuditReport, EventKind, ProblemKind};
use pvault_core::{Credentials, NewProfile, NewRecord, Pvault, SecurityLevel, Sessions, Vault};
use rusqlite::{Connection, params};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    _dir: tempfile::TempDir,
    pv: Pvault,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pv = Pvault::open(dir.path()).unwrap();
    pv.create(
        NewProfile {
            name: "alice".into(),
            display_name: None,
            security: SecurityLevel::Standard,
        },
        PASSWORD.as_bytes(),
    )
    .unwrap();
    Fixture { _dir: dir, pv }
}

impl Fixture {
    fn unlock(&self) -> Vault {
        self.pv
            .unlock(Some("alice"), &Credentials::password(PASSWORD))
            .unwrap()
    }

    fn db(&self) -> PathBuf {
        let id = self.pv.resolve(Some("alice")).unwrap().id;
        self.pv.home().profile_dir(&id).join("store.db")
    }

    fn raw(&self) -> Connection {
        Connection::open(self.db()).unwrap()
    }

    fn verify(&self) -> AuditReport {
        self.unlock().verify_audit(&mut |_, _| {}).unwrap()
    }
}

fn put(v: &mut Vault, id: &str) {
    v.put(NewRecord {
        collection: "notes".into(),
        id: Some(id.into()),
        classification: None,
        data: json!({"title": id, "body": "text"}),
    })
    .unwrap();
}

fn kinds(v: &Vault) -> Vec<EventKind> {
    v.audit(&AuditFilter::default())
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// A profile with a log of `n` entries or more (one record written per entry), and a vault
/// open on it: checks made through it append nothing after the tampering.
fn with_entries(n: usize) -> (Fixture, Vault) {
    let f = fixture();
    let mut v = f.unlock();
    for i in 0..n {
        put(&mut v, &format!("n{i}"));
    }
    (f, v)
}

fn check(v: &Vault) -> AuditReport {
    v.verify_audit(&mut |_, _| {}).unwrap()
}

/// Flips one byte of the sealed entry at `seq`, as damage on disk would.
fn flip_entry_byte(f: &Fixture, seq: i64, at: usize) {
    let conn = f.raw();
    let mut entry: Vec<u8> = conn
        .query_row("SELECT entry FROM audit_log WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    entry[at] ^= 0x01;
    conn.execute(
        "UPDATE audit_log SET entry = ?1 WHERE seq = ?2",
        params![entry, seq],
    )
    .unwrap();
}

fn entry_count(f: &Fixture) -> i64 {
    f.raw()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_lifecycle_of_a_profile_is_recorded() {
    let f = fixture();
    let wrong =
        f.pv.unlock(Some("alice"), &Credentials::password("wrong password"));
    assert!(wrong.err().unwrap().is_wrong_password());
    let mut v = f.unlock();
    put(&mut v, "a");
    put(&mut v, "b");
    v.remove("notes", "a").unwrap();
    f.pv.reauthenticate(&mut v, &Credentials::password(PASSWORD))
        .unwrap();
    assert!(
        f.pv.reauthenticate(&mut v, &Credentials::password("nope"))
            .is_err()
    );
    v.change_password(b"a new password, long enough").unwrap();
    v.rotate_keys(&mut |_, _| {}).unwrap();
    let got = kinds(&v);
    for want in [
        EventKind::ProfileCreated,
        EventKind::UnlockFailed,
        EventKind::Unlocked,
        EventKind::RecordsWritten,
        EventKind::RecordDeleted,
        EventKind::Reauthenticated,
        EventKind::ReauthFailed,
        EventKind::PasswordChanged,
        EventKind::RotationStarted,
        EventKind::RotationFinished,
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
    // The failed unlock happened while locked: it was sealed to the profile's key and moved into the
    // chain by the next unlock, after the creation.
    let listing = v.audit(&AuditFilter::default()).unwrap();
    let failed = listing
        .entries
        .iter()
        .find(|e| e.kind == EventKind::UnlockFailed)
        .unwrap();
    assert_eq!(failed.detail["while_locked"], true);
    assert_eq!(failed.detail["error"], "wrong_password");
    let deleted = listing
        .entries
        .iter()
        .find(|e| e.kind == EventKind::RecordDeleted)
        .unwrap();
    assert_eq!(deleted.detail["id"], "a");
    assert_eq!(listing.unreadable, 0);
    // Filters.
    let only = v
        .audit(&AuditFilter {
            kind: Some(EventKind::RecordsWritten),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(only.entries.len(), 2);
    let later = v
        .audit(&AuditFilter {
            since: Some(deleted.at),
            ..Default::default()
        })
        .unwrap();
    assert!(later.entries.iter().all(|e| e.at >= deleted.at));
    assert!(later.entries.len() < listing.entries.len());
    assert!(v.verify_audit(&mut |_, _| {}).unwrap().ok());
}

#[test]
fn the_agent_records_locks_and_auto_locks() {
    let f = fixture();
    let (_, transfer) =
        f.pv.unlock_for_transfer(Some("alice"), &Credentials::password(PASSWORD))
            .unwrap();
    let dir = f._dir.path().to_path_buf();
    let mut sessions = Sessions::new(Pvault::open(&dir).unwrap());
    sessions.unlock_with_keys("alice", &transfer).unwrap();
    assert!(sessions.lock("alice"));
    sessions.unlock_with_keys("alice", &transfer).unwrap();
    let expired = sessions.expire_idle(Instant::now() + Duration::from_secs(3600));
    assert_eq!(expired, vec!["alice".to_string()]);
    let got = kinds(&f.unlock());
    let unlocks = got.iter().filter(|k| **k == EventKind::Unlocked).count();
    assert!(unlocks >= 3, "{got:?}");
    assert!(got.contains(&EventKind::Locked), "{got:?}");
    assert!(got.contains(&EventKind::AutoLocked), "{got:?}");
}

#[test]
fn an_untouched_log_verifies() {
    let (f, v) = with_entries(20);
    let r = check(&v);
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.entries as i64, entry_count(&f));
    assert_eq!(r.devices, 1);
    assert_eq!(r.checkpoints, 1);
}

#[test]
fn every_flipped_byte_of_an_entry_is_named() {
    let (f, v) = with_entries(3);
    let rows: Vec<(i64, i64, i64, i64)> = f
        .raw()
        .prepare("SELECT seq, length(entry), length(hash), length(mac) FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    // One vault checks every case: verifying appends nothing.
    let clean = v.verify_audit(&mut |_, _| {}).unwrap();
    assert!(clean.ok(), "{:?}", clean.problems);
    for (seq, entry_len, hash_len, mac_len) in rows {
        for (column, len) in [("entry", entry_len), ("hash", hash_len), ("mac", mac_len)] {
            for i in 0..len as usize {
                let conn = f.raw();
                let get = format!("SELECT {column} FROM audit_log WHERE seq = ?1");
                let mut bytes: Vec<u8> = conn.query_row(&get, [seq], |r| r.get(0)).unwrap();
                bytes[i] ^= 0x01;
                let set = format!("UPDATE audit_log SET {column} = ?1 WHERE seq = ?2");
                conn.execute(&set, params![bytes, seq]).unwrap();
                let r = v.verify_audit(&mut |_, _| {}).unwrap();
                assert!(
                    r.problems.iter().any(|p| p.seq == seq as u64),
                    "{column}[{i}] of entry {seq}: {:?}",
                    r.problems
                );
                bytes[i] ^= 0x01;
                conn.execute(&set, params![bytes, seq]).unwrap();
            }
        }
    }
}

#[test]
fn a_modified_entry_is_named_as_modified_at_its_position() {
    let (f, v) = with_entries(5);
    flip_entry_byte(&f, 3, 20);
    let r = check(&v);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(r.problems[0].seq, 3);
    assert_eq!(r.problems[0].kind, ProblemKind::Modified);
}

#[test]
fn swapped_entries_are_named_as_reordered() {
    let (f, v) = with_entries(5);
    let conn = f.raw();
    conn.execute_batch(
        "UPDATE audit_log SET seq = -1 WHERE seq = 3;
         UPDATE audit_log SET seq = 3 WHERE seq = 4;
         UPDATE audit_log SET seq = 4 WHERE seq = -1;",
    )
    .unwrap();
    let r = check(&v);
    let reordered: Vec<u64> = r
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Reordered)
        .map(|p| p.seq)
        .collect();
    assert_eq!(reordered, vec![3, 4], "{:?}", r.problems);
}

#[test]
fn a_removed_entry_is_named() {
    let (f, v) = with_entries(5);
    f.raw()
        .execute("DELETE FROM audit_log WHERE seq = 2", [])
        .unwrap();
    let r = check(&v);
    assert_eq!(r.problems[0].kind, ProblemKind::Removed, "{:?}", r.problems);
    assert_eq!(r.problems[0].seq, 2);
    assert!(r.problems[0].detail.contains("entry 2 is missing"));
}

#[test]
fn a_rewritten_chain_without_the_audit_key_is_named() {
    // Remove entry 2 and renumber the rest, recomputing every hash as someone without the audit key
    // can: the MACs and the checkpoint give it away.
    let (f, v) = with_entries(5);
    let conn = f.raw();
    conn.execute("DELETE FROM audit_log WHERE seq = 2", [])
        .unwrap();
    let rows: Vec<(String, i64, Vec<u8>)> = conn
        .prepare("SELECT device, seq, entry FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut previous = [0u8; 32];
    for (new_seq, (device, old_seq, entry)) in rows.iter().enumerate() {
        let new_seq = new_seq as u64 + 1;
        let hash = pvault_crypto::codec::link(
            b"pvault/audit/entry/v1",
            &previous,
            &[device.as_bytes(), &new_seq.to_be_bytes(), entry],
        );
        conn.execute(
            "UPDATE audit_log SET seq = ?1, hash = ?2 WHERE seq = ?3",
            params![new_seq as i64, hash.to_vec(), old_seq],
        )
        .unwrap();
        previous = hash;
    }
    let r = check(&v);
    let kinds: Vec<ProblemKind> = r.problems.iter().map(|p| p.kind).collect();
    assert!(kinds.contains(&ProblemKind::ForgedMac), "{:?}", r.problems);
    assert!(kinds.contains(&ProblemKind::Reordered), "{:?}", r.problems);
    assert!(kinds.contains(&ProblemKind::Truncated), "{:?}", r.problems);
}

#[test]
fn a_truncated_tail_is_measured_against_the_signed_checkpoint() {
    let (f, v) = with_entries(5);
    let n = entry_count(&f);
    f.raw()
        .execute("DELETE FROM audit_log WHERE seq > ?1", [n - 2])
        .unwrap();
    let r = check(&v);
    let t = r
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Truncated)
        .unwrap_or_else(|| panic!("{:?}", r.problems));
    assert_eq!(t.seq as i64, n);
    // Unlocking again appends to the shortened chain and signs it: the old checkpoint stays.
    drop(v);
    let again = f.verify();
    assert!(
        again
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::Truncated),
        "{:?}",
        again.problems
    );
}

#[test]
fn a_forged_checkpoint_is_named() {
    let (f, v) = with_entries(2);
    f.raw()
        .execute("UPDATE audit_checkpoints SET signature = zeroblob(64)", [])
        .unwrap();
    let r = check(&v);
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::ForgedCheckpoint),
        "{:?}",
        r.problems
    );
    // A new checkpoint does not replace a forged one: it stays as evidence.
    drop(v);
    let again = f.verify();
    assert!(
        again
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::ForgedCheckpoint),
        "{:?}",
        again.problems
    );
}

#[test]
fn an_action_whose_entry_cannot_be_written_is_refused_and_changes_nothing() {
    let (f, mut v) = with_entries(1);
    // The disk takes every write but the audit log's (as a full or failing disk would refuse one).
    f.raw()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let before: i64 = f
        .raw()
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap();
    let put = v.put(NewRecord {
        collection: "notes".into(),
        id: Some("new".into()),
        classification: None,
        data: json!({"title": "t", "body": "b"}),
    });
    let err = put.unwrap_err();
    assert_eq!(err.code(), "audit_unavailable", "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    let removed = v.remove("notes", "n0").unwrap_err();
    assert_eq!(removed.code(), "audit_unavailable");
    let after: i64 = f
        .raw()
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(before, after);
    assert!(v.get("notes", "n0").is_ok(), "reads still work");
    assert!(v.get("notes", "new").unwrap_err().is_not_found());
    // A new unlock still opens the profile for reading, and its entry waits for the first write.
    drop(v);
    let mut v = f.unlock();
    assert!(v.get("notes", "n0").is_ok());
    assert_eq!(
        v.remove("notes", "n0").unwrap_err().code(),
        "audit_unavailable"
    );
    f.raw().execute_batch("DROP TRIGGER refuse;").unwrap();
    put_ok(&mut v);
    let kinds = kinds(&v);
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Unlocked).count(),
        2,
        "the unlock kept in memory was written before the write: {kinds:?}"
    );
    assert!(v.verify_audit(&mut |_, _| {}).unwrap().ok());
}

fn put_ok(v: &mut Vault) {
    put(v, "after");
}

#[test]
fn retention_summarises_old_entries_under_a_signature_and_the_chain_goes_on() {
    let (f, mut v) = with_entries(6);
    let before = entry_count(&f) as u64;
    drop(v);
    // Keep nothing older than now: everything but each chain's newest entry is summarised.
    f.pv.update_settings("alice", |s| s.audit_retention_secs = Some(0))
        .unwrap();
    v = f.unlock();
    let listing = v.audit(&AuditFilter::default()).unwrap();
    assert_eq!(listing.summarised.len(), 1, "{listing:?}");
    let s = &listing.summarised[0];
    assert!(s.upto >= before, "{s:?}");
    assert_eq!(s.counts["records_written"], 6, "{s:?}");
    assert!(
        listing
            .entries
            .iter()
            .any(|e| e.kind == EventKind::Summarised),
        "{listing:?}"
    );
    assert!(entry_count(&f) < before as i64);
    let r = check(&v);
    assert!(r.ok(), "{:?}", r.problems);
    // Writing goes on from the summary.
    put(&mut v, "later");
    assert!(check(&v).ok());
    let doc = v.export_audit().unwrap();
    assert!(
        pvault_core::audit::check_export(&doc, None)
            .problems
            .is_empty()
    );

    // A forged summary, and a summary removed, are named.
    f.raw()
        .execute("UPDATE audit_summaries SET upto = upto - 1", [])
        .unwrap();
    let r = check(&v);
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::ForgedCheckpoint),
        "{:?}",
        r.problems
    );
    f.raw().execute("DELETE FROM audit_summaries", []).unwrap();
    let r = check(&v);
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Removed && p.seq == 1),
        "{:?}",
        r.problems
    );
}

#[test]
fn retention_refuses_to_summarise_a_chain_that_does_not_verify() {
    let (f, v) = with_entries(4);
    drop(v);
    flip_entry_byte(&f, 2, 20);
    f.pv.update_settings("alice", |s| s.audit_retention_secs = Some(0))
        .unwrap();
    let v = f.unlock();
    let err = v.apply_audit_retention(true).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
    // The damage is still there to be named, nothing was summarised.
    assert!(
        v.audit(&AuditFilter::default())
            .unwrap()
            .summarised
            .is_empty()
    );
    assert!(check(&v).problems.iter().any(|p| p.seq == 2));
}
