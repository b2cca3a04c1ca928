//! `pvault backup`, run as a user would: init, two snapshots, list, verify, restore into a fresh
//! home with the password only; a damaged repository is named, exit 3 or 1, nothing restored.

use serde_json::json;

use crate::cli_support::Home;

#[test]
fn backup_list_verify_restore_through_the_binary() {
    let home = Home::new();
    home.create("alice", "standard");
    home.put(
        "alice",
        "research",
        "r1",
        &json!({"title": "t", "body": "one"}),
    );
    let repo = home.root().join("repo");
    let repo_s = repo.to_str().unwrap();
    // No repository given: refused with the way to make one.
    home.cmd(&["backup"])
        .env_remove("PVAULT_BACKUP_REPO")
        .run()
        .error_line(&["--repo", "backup init"]);
    home.cmd(&["backup", "init", repo_s]).ok();
    home.cmd(&["backup", "init", repo_s])
        .run()
        .error_line(&["not empty"]);
    let first = home.cmd(&["backup", "--repo", repo_s]).ok_json();
    assert_eq!(first["snapshots"][0]["snapshot"]["records"], 1);
    home.put(
        "alice",
        "research",
        "r1",
        &json!({"title": "t", "body": "two"}),
    );
    home.put(
        "alice",
        "research",
        "r2",
        &json!({"title": "t", "body": "new"}),
    );
    let second = home
        .cmd(&["backup"])
        .env("PVAULT_BACKUP_REPO", repo_s)
        .ok_json();
    assert_eq!(second["snapshots"][0]["snapshot"]["records"], 2);
    let listed = home.cmd(&["backup", "list", "--repo", repo_s]).ok_json();
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 2);
    let verified = home.cmd(&["backup", "verify", "--repo", repo_s]).ok_json();
    assert_eq!(verified["restored_records"], 2);

    // A fresh home restores the older snapshot with the password only.
    let older = first["snapshots"][0]["snapshot"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = Home::new();
    other
        .cmd(&["backup", "restore", &older[..6], "--repo", repo_s])
        .ok();
    let got = other
        .cmd(&["--profile", "alice", "get", "research", "r1"])
        .ok_json();
    assert_eq!(got["data"]["body"], "one");
    // One record back into the living profile, as a new version.
    let back = home
        .cmd(&[
            "backup",
            "restore",
            &older[..6],
            "--record",
            "research/r1",
            "--repo",
            repo_s,
        ])
        .env("PVAULT_REAUTH_PASSWORD", crate::cli_support::PASSWORD)
        .ok_json();
    assert_eq!(back["from_version"], 1);
    assert_eq!(back["version"], 3);
    let got = home
        .cmd(&["--profile", "alice", "get", "research", "r1"])
        .ok_json();
    assert_eq!(got["data"]["body"], "one");
    home.cmd(&[
        "backup", "restore", "--record", "research", "--repo", repo_s,
    ])
    .run()
    .error_line(&["COLLECTION/ID"]);
    // Restoring it again into that home: refused, nothing changed.
    other
        .cmd(&["backup", "restore", "--repo", repo_s, "--as", "alice2"])
        .run()
        .error_line(&["already here"]);

    // A blob damaged: verify names the file.
    let data = repo.join("data");
    let blob = std::fs::read_dir(&data)
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let out = home
        .cmd(&["backup", "verify", "--read-data", "--repo", repo_s])
        .run();
    out.error_line(&["damaged"]);
}

#[test]
fn a_backup_killed_at_any_moment_leaves_every_listed_snapshot_whole() {
    use std::time::Instant;
    let home = Home::new();
    home.create("alice", "standard");
    let lines: String = (0..3000)
        .map(|i| {
            format!(
                "{{\"id\":\"n{i}\",\"data\":{{\"title\":\"t{i}\",\"body\":\"{}\"}}}}\n",
                "x".repeat(300)
            )
        })
        .collect();
    home.cmd(&["put", "research", "--lines"]).stdin(lines).ok();
    let repo = home.root().join("repo");
    let repo_s = repo.to_str().unwrap();
    home.cmd(&["backup", "init", repo_s]).ok();
    let backup = || home.cmd(&["backup", "--full", "--repo", repo_s]);
    let started = Instant::now();
    backup().ok();
    let whole = started.elapsed();
    let mut killed = 0;
    for i in 1..=8u32 {
        let mut child = backup().command().spawn().unwrap();
        std::thread::sleep(whole * i / 9);
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // Whatever was cut short: every snapshot listed is whole.
        let listed = home.cmd(&["backup", "list", "--repo", repo_s]).ok_json();
        assert!(!listed["snapshots"].as_array().unwrap().is_empty());
        home.cmd(&["backup", "verify", "--repo", repo_s]).ok();
    }
    assert!(killed > 0, "no backup was killed before it finished");
    // The next one completes, and prune removes what the cut-short ones left.
    backup().ok();
    home.cmd(&["backup", "prune", "--repo", repo_s]).ok();
    let pruned = home
        .cmd(&["backup", "prune", "--dry-run", "--repo", repo_s])
        .ok_json();
    assert_eq!(pruned["blobs_removed"], 0);
    let verified = home
        .cmd(&["backup", "verify", "--read-data", "--repo", repo_s])
        .ok_json();
    assert_eq!(verified["restored_records"], 3000);
}
