//! Backups into a real repository directory: a round trip into a fresh home with the password
//! only; an incremental backup after one change at 100,000 records writes under 1% of the first;
//! every single-byte flip of every repository file is detected; older snapshots stay restorable.

use std::path::{Path, PathBuf};

use pvault_core::backup::{BackupOptions, Repo, RestoreOptions, check};
use pvault_core::{
    Classification, Credentials, NewProfile, NewRecord, Pvault, SecurityLevel, Vault,
};
use serde_json::{Value, json};

const PASSWORD: &str = "alice-password";

fn home(dir: &Path, name: &str) -> Pvault {
    Pvault::open(&dir.join(name)).unwrap()
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

fn profile(pv: &Pvault) -> Vault {
    pv.create(
        NewProfile {
            name: "alice".into(),
            display_name: None,
            security: SecurityLevel::Standard,
        },
        PASSWORD.as_bytes(),
    )
    .unwrap();
    pv.unlock(Some("alice"), &Credentials::password(PASSWORD))
        .unwrap()
}

fn fill(v: &mut Vault) {
    put(
        v,
        "transactions",
        "t1",
        None,
        json!({"amount": "0.25", "asset": "btc", "from": "alice", "to": "bob", "time": "2026-11-23T10:00:00Z", "status": "confirmed"}),
    );
    for (i, content) in ["first", "second"].iter().enumerate() {
        put(
            v,
            "breakthroughs",
            "b1",
            None,
            json!({"title": format!("v{i}"), "content": content, "researcher": "alice"}),
        );
    }
    put(
        v,
        "api_keys",
        "k1",
        Some(Classification::TopSecret),
        json!({"provider": "x", "name": "bot", "secret": "s3cr3t-key"}),
    );
    put(
        v,
        "research",
        "r1",
        None,
        json!({"title": "Notes", "body": "one"}),
    );
}

fn contents(pv: &Pvault, v: &mut Vault) -> Vec<(String, String, Value)> {
    pv.reauthenticate(v, &Credentials::password(PASSWORD))
        .unwrap();
    let mut out = Vec::new();
    for (c, _) in v.counts().unwrap() {
        for r in v.list(&c, None).unwrap().records {
            out.push((c.clone(), r.id, r.data));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn restore(pv: &Pvault, repo: &Repo, snapshot: &str) -> Vault {
    RestoreOptions {
        snapshot: snapshot.into(),
        profile: None,
        name: None,
    }
    .run(pv, repo, &Credentials::password(PASSWORD))
    .unwrap();
    pv.unlock(Some("alice"), &Credentials::password(PASSWORD))
        .unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn backup_then_restore_on_a_fresh_home_with_the_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "a");
    let mut v = profile(&pv);
    fill(&mut v);
    let repo = Repo::init(&dir.path().join("repo")).unwrap();
    assert!(
        Repo::init(&dir.path().join("repo")).is_err(),
        "a repository starts empty"
    );
    let first = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert!(!first.incremental);
    assert_eq!(first.snapshot.records, 4);
    // Nothing readable in the repository.
    for f in files(repo.root()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(10).any(|w| w == b"s3cr3t-key"),
            "{}",
            f.display()
        );
        assert!(!bytes.windows(5).any(|w| w == b"Notes"), "{}", f.display());
    }
    // A change, a second snapshot: incremental, and small.
    put(
        &mut v,
        "research",
        "r1",
        None,
        json!({"title": "Notes", "body": "two"}),
    );
    let second = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert!(second.incremental);
    assert_eq!(second.buckets_read, 1);
    assert_eq!(
        second.snapshot.parent.as_deref(),
        Some(first.snapshot.id.as_str())
    );

    let fresh = home(dir.path(), "b");
    let mut w = restore(&fresh, &Repo::open(repo.root()).unwrap(), "latest");
    assert_eq!(contents(&fresh, &mut w), contents(&pv, &mut v));
    let history = w.history("breakthroughs", "b1").unwrap();
    assert_eq!(history.len(), 2);
    let verified = w.verify(&mut |_, _| {}).unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    assert!(
        w.audit(&Default::default())
            .unwrap()
            .entries
            .iter()
            .any(|e| e.kind == pvault_core::audit::EventKind::Restored)
    );
    // The older snapshot still restores, to the older contents.
    let older = home(dir.path(), "c");
    let mut o = restore(&older, &repo, &first.snapshot.id);
    assert_eq!(o.get("research", "r1").unwrap().data["body"], "one");
    let _ = contents(&older, &mut o);
    // A wrong password restores nothing.
    let wrong = home(dir.path(), "d");
    let e = RestoreOptions {
        snapshot: "latest".into(),
        profile: None,
        name: None,
    }
    .run(&wrong, &repo, &Credentials::password("nope"))
    .err()
    .unwrap();
    assert!(e.is_wrong_password(), "{e}");
    assert!(wrong.list().unwrap().is_empty());
    // Restoring into the home that has the profile is refused.
    assert!(
        RestoreOptions {
            snapshot: "latest".into(),
            profile: None,
            name: Some("again".into())
        }
        .run(&pv, &repo, &Credentials::password(PASSWORD))
        .is_err()
    );
}

#[test]
fn every_single_byte_flip_of_a_repository_file_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "a");
    let mut v = profile(&pv);
    fill(&mut v);
    let repo = Repo::init(&dir.path().join("repo")).unwrap();
    BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    let keys = pvault_core::internals::unlocked_keys(&v);
    let all = files(repo.root());
    // config, key file, pack, index, snapshot.
    assert!(all.len() >= 5, "{all:?}");
    let checked = |root: &Path| -> pvault_core::Result<()> {
        let r = Repo::open(root)?;
        let s = r.snapshot(None, "latest")?;
        check(&r, &s, keys).map(drop)
    };
    checked(repo.root()).unwrap();
    let mut flips = 0;
    for f in &all {
        let original = std::fs::read(f).unwrap();
        for i in 0..original.len() {
            let mut b = original.clone();
            b[i] ^= 0x01;
            std::fs::write(f, &b).unwrap();
            assert!(
                checked(repo.root()).is_err(),
                "a flip at byte {i} of {} went unseen",
                f.display()
            );
            flips += 1;
        }
        std::fs::write(f, &original).unwrap();
    }
    checked(repo.root()).unwrap();
    assert!(flips > 5000, "{flips} flips");
    // A missing blob, too.
    let blob = all
        .iter()
        .find(|p| p.to_string_lossy().contains("/data/"))
        .unwrap();
    std::fs::remove_file(blob).unwrap();
    assert!(checked(repo.root()).is_err());
}

#[test]
fn an_incremental_backup_after_one_change_at_100k_records_writes_under_1_percent() {
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "a");
    let mut v = profile(&pv);
    let n = 100_000;
    for chunk in 0..(n / 10_000) {
        let batch = (0..10_000)
            .map(|i| NewRecord {
                collection: "research".into(),
                id: Some(format!("n{}", chunk * 10_000 + i)),
                classification: None,
                data: json!({"title": "t", "body": "x".repeat(400)}),
            })
            .collect();
        v.put_many(batch, &mut |_, _| {}).unwrap();
    }
    let repo = Repo::init(&dir.path().join("repo")).unwrap();
    let first = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert_eq!(first.snapshot.records, n as u64);
    put(
        &mut v,
        "research",
        "n7",
        None,
        json!({"title": "t", "body": "changed"}),
    );
    let second = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert!(second.incremental);
    let ratio = second.snapshot.added_bytes as f64 / first.snapshot.added_bytes as f64;
    eprintln!(
        "first {} bytes, second {} bytes: {:.3}%",
        first.snapshot.added_bytes,
        second.snapshot.added_bytes,
        ratio * 100.0
    );
    assert!(
        ratio < 0.01,
        "the second backup wrote {:.2}% of the first",
        ratio * 100.0
    );
    // And it restores with the change.
    let fresh = home(dir.path(), "b");
    let w = restore(&fresh, &repo, "latest");
    assert_eq!(w.get("research", "n7").unwrap().data["body"], "changed");
    assert_eq!(
        w.counts().unwrap(),
        vec![("research".to_string(), n as u64)]
    );
}

#[test]
fn forget_keeps_what_the_policy_says_and_prune_leaves_every_kept_snapshot_whole() {
    use pvault_core::backup::{Count, ForgetOptions, Policy, prune};
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "a");
    let mut v = profile(&pv);
    let repo = Repo::init(&dir.path().join("repo")).unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        put(
            &mut v,
            "research",
            &format!("r{i}"),
            None,
            json!({"title": "t", "body": format!("{i}")}),
        );
        ids.push(
            BackupOptions::default()
                .run(&v, &repo, &mut |_, _| {})
                .unwrap()
                .snapshot
                .id,
        );
    }
    let policy = Policy {
        last: Some(Count::Limited(2)),
        ..Policy::default()
    };
    let plan = ForgetOptions {
        policy: policy.clone(),
        profile: None,
        dry_run: true,
    }
    .run(&repo)
    .unwrap();
    assert_eq!(plan.removed, 0);
    assert_eq!(
        repo.snapshots(None).unwrap().len(),
        4,
        "a dry run removes nothing"
    );
    let done = ForgetOptions {
        policy,
        profile: None,
        dry_run: false,
    }
    .run(&repo)
    .unwrap();
    assert_eq!(done.removed, 2);
    let left: Vec<String> = repo
        .snapshots(None)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, ids[2..], "the two newest are kept");
    let pruned = prune(&repo, false).unwrap();
    assert!(pruned.blobs_removed > 0);
    assert_eq!(prune(&repo, false).unwrap().blobs_removed, 0);
    let keys = pvault_core::internals::unlocked_keys(&v);
    for s in repo.snapshots(None).unwrap() {
        check(&repo, &s, keys).unwrap();
    }
    let fresh = home(dir.path(), "b");
    let w = restore(&fresh, &repo, "latest");
    assert_eq!(w.counts().unwrap(), vec![("research".to_string(), 4)]);
}

fn many(v: &mut Vault, n: usize, body: &str) {
    let batch = (0..n)
        .map(|i| NewRecord {
            collection: "research".into(),
            id: Some(format!("n{i}")),
            classification: None,
            data: json!({"title": "t", "body": format!("{body}{i}")}),
        })
        .collect();
    v.put_many(batch, &mut |_, _| {}).unwrap();
}

fn under(root: &Path, sub: &str) -> Vec<PathBuf> {
    files(&root.join(sub))
}

#[test]
fn a_backup_of_thousands_of_records_writes_a_handful_of_packs() {
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "a");
    let mut v = profile(&pv);
    many(&mut v, 3000, "body ");
    let repo = Repo::init(&dir.path().join("repo")).unwrap();
    let first = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert!(first.blobs_written > 1000, "{}", first.blobs_written);
    let packs = under(repo.root(), "data");
    assert!(
        !packs.is_empty() && packs.len() <= 3,
        "{} blobs in {} files",
        first.blobs_written,
        packs.len()
    );
    assert_eq!(under(repo.root(), "index").len(), 1);
    // Each pack is named by the SHA-256 of its bytes.
    use sha2::Digest;
    for p in &packs {
        let sha = hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()));
        assert_eq!(p.file_name().unwrap().to_str().unwrap(), sha);
    }
    // An incremental one after one change: one more small pack, one more index file.
    put(
        &mut v,
        "research",
        "n7",
        None,
        json!({"title": "t", "body": "changed"}),
    );
    let second = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert!(second.incremental);
    assert_eq!(under(repo.root(), "data").len(), packs.len() + 1);
    assert_eq!(under(repo.root(), "index").len(), 2);
    // Nothing new: nothing written but the snapshot.
    let third = BackupOptions { full: true }
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    // The audit log's last chunk, the small tables (the log position) and the tree.
    assert!(third.blobs_written <= 3, "{}", third.blobs_written);
    assert_eq!(under(repo.root(), "data").len(), packs.len() + 2);
    let keys = pvault_core::internals::unlocked_keys(&v);
    for s in Repo::open(repo.root()).unwrap().snapshots(None).unwrap() {
        check(&repo, &s, keys).unwrap();
    }
    let fresh = home(dir.path(), "b");
    let w = restore(&fresh, &Repo::open(repo.root()).unwrap(), "latest");
    assert_eq!(w.get("research", "n7").unwrap().data["body"], "changed");
    assert_eq!(w.counts().unwrap(), vec![("research".to_string(), 3000)]);
}

#[test]
fn prune_repacks_a_partly_used_pack_and_the_kept_snapshots_still_verify() {
    use pvault_core::backup::{Count, ForgetOptions, Policy, VerifyOptions, prune};
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "a");
    let mut v = profile(&pv);
    many(&mut v, 2000, "one ");
    let repo = Repo::init(&dir.path().join("repo")).unwrap();
    BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    // A tenth of the records change: the first pack is then partly used by the second snapshot.
    for i in (0..2000).step_by(10) {
        put(
            &mut v,
            "research",
            &format!("n{i}"),
            None,
            json!({"title": "t", "body": "two"}),
        );
    }
    let second = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    ForgetOptions {
        policy: Policy {
            last: Some(Count::Limited(1)),
            ..Policy::default()
        },
        profile: None,
        dry_run: false,
    }
    .run(&repo)
    .unwrap();
    let before = files(repo.root());
    let plan = prune(&repo, true).unwrap();
    assert!(plan.dry_run);
    assert!(plan.packs_repacked >= 1, "{plan:?}");
    assert!(plan.blobs_removed > 0, "{plan:?}");
    assert_eq!(files(repo.root()), before, "a dry run changes nothing");
    let done = prune(&repo, false).unwrap();
    assert_eq!(done.packs_repacked, plan.packs_repacked);
    assert_eq!(done.blobs_removed, plan.blobs_removed);
    assert!(done.packs_written >= 1);
    assert_eq!(
        under(repo.root(), "index").len(),
        1,
        "one index names every pack"
    );
    let again = prune(&repo, true).unwrap();
    assert_eq!(
        (
            again.blobs_removed,
            again.packs_repacked,
            again.packs_removed
        ),
        (0, 0, 0),
        "{again:?}"
    );
    let repo = Repo::open(repo.root()).unwrap();
    let verified = VerifyOptions {
        snapshot: second.snapshot.id.clone(),
        profile: None,
        read_data: true,
    }
    .run(&repo, &Credentials::password(PASSWORD))
    .unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    assert_eq!(verified.restored_records, 2000);
    // And a backup after prune still dedupes against what stayed.
    let third = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert!(third.blobs_written <= 3, "{}", third.blobs_written);
    let fresh = home(dir.path(), "b");
    let w = restore(&fresh, &repo, "latest");
    assert_eq!(w.get("research", "n10").unwrap().data["body"], "two");
    assert_eq!(w.get("research", "n11").unwrap().data["body"], "one 11");
}

/// Rewrites a packed repository the way version 1 stored it: one file per blob, no index.
fn unpack_to_version_1(root: &Path) {
    use sha2::Digest;
    for f in under(root, "index") {
        let index: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        for pack in index["packs"].as_array().unwrap() {
            let id = pack["id"].as_str().unwrap();
            let path = root.join("data").join(&id[..2]).join(id);
            let bytes = std::fs::read(&path).unwrap();
            for b in pack["blobs"].as_array().unwrap() {
                let blob = b[0].as_str().unwrap();
                let (off, len) = (
                    b[1].as_u64().unwrap() as usize,
                    b[2].as_u64().unwrap() as usize,
                );
                let dir = root.join("data").join(&blob[..2]);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(blob), &bytes[off..off + len]).unwrap();
            }
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::fs::remove_dir_all(root.join("index")).unwrap();
    let path = root.join("config.json");
    let config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (id, created) = (
        config["id"].as_str().unwrap(),
        config["created"].as_str().unwrap(),
    );
    let text = format!("pvault/backup/config\n1\n{id}\n{created}\n");
    let sum = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    let file = format!(
        "{{\n  \"pvault_backup\": 1,\n  \"id\": \"{id}\",\n  \"created\": \"{created}\",\n  \"checksum\": \"{sum}\"\n}}"
    );
    std::fs::write(&path, file).unwrap();
}

#[test]
fn a_version_1_repository_of_loose_blobs_still_restores_and_takes_packed_backups() {
    use pvault_core::backup::{REPO_VERSION, prune};
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "a");
    let mut v = profile(&pv);
    fill(&mut v);
    let root = dir.path().join("repo");
    let first = BackupOptions::default()
        .run(&v, &Repo::init(&root).unwrap(), &mut |_, _| {})
        .unwrap();
    unpack_to_version_1(&root);
    let loose = under(&root, "data").len();
    assert!(loose >= 3, "{loose}");
    let repo = Repo::open(&root).unwrap();
    let keys = pvault_core::internals::unlocked_keys(&v);
    check(&repo, &repo.snapshot(None, "latest").unwrap(), keys).unwrap();
    let older = home(dir.path(), "b");
    let o = restore(&older, &repo, &first.snapshot.id);
    assert_eq!(o.get("research", "r1").unwrap().data["body"], "one");
    // A loose blob flipped is seen.
    let blob = under(&root, "data").into_iter().next().unwrap();
    let original = std::fs::read(&blob).unwrap();
    let mut b = original.clone();
    b[original.len() / 2] ^= 1;
    std::fs::write(&blob, &b).unwrap();
    assert!(check(&repo, &repo.snapshot(None, "latest").unwrap(), keys).is_err());
    std::fs::write(&blob, &original).unwrap();

    // A new backup into it: the repository becomes version 2, unchanged blobs stay loose.
    put(
        &mut v,
        "research",
        "r1",
        None,
        json!({"title": "Notes", "body": "two"}),
    );
    let second = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert!(second.blobs_written <= 4, "{}", second.blobs_written);
    let config: Value =
        serde_json::from_slice(&std::fs::read(root.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["pvault_backup"], json!(REPO_VERSION));
    let keys = pvault_core::internals::unlocked_keys(&v);
    let repo = Repo::open(&root).unwrap();
    for s in repo.snapshots(None).unwrap() {
        check(&repo, &s, keys).unwrap();
    }
    assert_eq!(prune(&repo, false).unwrap().blobs_removed, 0);
    for s in repo.snapshots(None).unwrap() {
        check(&repo, &s, keys).unwrap();
    }
    let fresh = home(dir.path(), "c");
    let w = restore(&fresh, &repo, "latest");
    assert_eq!(w.get("research", "r1").unwrap().data["body"], "two");
}

#[test]
fn a_repository_of_a_newer_version_is_refused_clearly() {
    use pvault_core::backup::REPO_VERSION;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    Repo::init(&root).unwrap();
    let path = root.join("config.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!("\"pvault_backup\": {REPO_VERSION}"),
        &format!("\"pvault_backup\": {}", REPO_VERSION + 1),
    );
    std::fs::write(&path, text).unwrap();
    let e = Repo::open(&root).err().unwrap();
    assert!(
        e.to_string().contains("newer") || format!("{e:?}").contains("NewerFormat"),
        "{e}"
    );
}

#[test]
fn a_repository_rolled_back_to_an_older_copy_is_refused_until_a_full_backup() {
    let dir = tempfile::tempdir().unwrap();
    let pv = home(dir.path(), "home");
    let mut v = profile(&pv);
    fill(&mut v);
    let repo_dir = dir.path().join("repo");
    let repo = Repo::init(&repo_dir).unwrap();
    BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    // An attacker (or a sync tool) keeps a copy of the repository as it is now...
    let old_copy = dir.path().join("old-copy");
    std::fs::create_dir_all(&old_copy).unwrap();
    for f in files(&repo_dir) {
        let to = old_copy.join(f.strip_prefix(&repo_dir).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&f, &to).unwrap();
    }
    put(
        &mut v,
        "research",
        "later",
        None,
        json!({"title": "t", "body": "b"}),
    );
    let second = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    // ...and puts it back in place of the newer one.
    std::fs::remove_dir_all(&repo_dir).unwrap();
    std::fs::rename(&old_copy, &repo_dir).unwrap();
    let repo = Repo::open(&repo_dir).unwrap();
    let err = BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap_err();
    assert!(err.is_damaged(), "{err}");
    let message = err.to_string();
    assert!(message.contains(&second.snapshot.id), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    assert_eq!(
        repo.snapshots(None).unwrap().len(),
        1,
        "nothing was written"
    );
    // A full backup accepts the repository as it is, and the next incremental one is fine.
    BackupOptions { full: true }
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    BackupOptions::default()
        .run(&v, &repo, &mut |_, _| {})
        .unwrap();
    assert_eq!(repo.snapshots(None).unwrap().len(), 3);
}
