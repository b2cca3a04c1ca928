//! The agent: unlock once, then work without the password; lock, auto-lock, switch, re-prompt, and
//! what happens when the agent dies.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli_support::{AgentGuard, Home, PASSWORD};

fn unlocked(home: &Home) -> Vec<String> {
    let v = home.cmd(&["profile", "status"]).no_password().ok_json();
    v["unlocked"]
        .as_array()
        .expect("unlocked list")
        .iter()
        .map(|s| s["profile"].as_str().expect("name").to_string())
        .collect()
}

fn agent_pid(home: &Home) -> i32 {
    let v = raw_call(home, br#"{"v":2,"msg":{"req":"hello"}}"#);
    assert_eq!(v["msg"]["ok"]["protocol"], 2, "{v}");
    v["msg"]["ok"]["pid"].as_i64().expect("pid") as i32
}

#[test]
fn unlock_once_then_work_without_the_password() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    home.create("alice", "standard");
    home.cmd(&["profile", "unlock"]).ok();
    assert_eq!(unlocked(&home), vec!["alice"]);

    // No password anywhere: the agent does the work.
    home.cmd(&[
        "put",
        "research",
        "--id",
        "n1",
        "--data",
        r#"{"title":"t","body":"via agent"}"#,
    ])
    .no_password()
    .ok();
    let got = home.cmd(&["get", "research", "n1"]).no_password().ok_json();
    assert_eq!(got["data"]["body"], "via agent");
    let listed = home.cmd(&["list", "research"]).no_password().ok_json();
    assert_eq!(listed["records"].as_array().unwrap().len(), 1);
    home.cmd(&["verify"]).no_password().ok();
    home.cmd(&["rm", "research", "n1"]).no_password().ok();

    // The socket and its directory are private.
    let dir = home.root().join("run/pvault");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let sock = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sock"))
        .unwrap();
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Locked: a command says so and how to unlock, and changes nothing.
    home.cmd(&["profile", "lock"]).no_password().ok();
    assert!(unlocked(&home).is_empty());
    home.cmd(&["get", "research", "n1"])
        .no_password()
        .run()
        .error_line(&["alice", "locked", "pvault profile unlock"]);
    // Without an agent session every command still works with the password.
    home.cmd(&[
        "put",
        "research",
        "--id",
        "n2",
        "--data",
        r#"{"title":"t","body":"local"}"#,
    ])
    .ok();
}

#[test]
fn switching_between_unlocked_profiles_needs_no_password() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    home.create("alice", "standard");
    home.create("bob", "standard");
    home.cmd(&["profile", "unlock", "alice"]).ok();
    home.cmd(&["profile", "unlock", "bob"]).ok();
    home.cmd(&["profile", "use", "alice"]).no_password().ok();
    home.cmd(&["put", "notes", "--id", "x", "--data", r#"{"who":"alice"}"#])
        .no_password()
        .ok();
    home.cmd(&["profile", "use", "bob"]).no_password().ok();
    home.cmd(&["put", "notes", "--id", "x", "--data", r#"{"who":"bob"}"#])
        .no_password()
        .ok();
    let b = home.cmd(&["get", "notes", "x"]).no_password().ok_json();
    assert_eq!(b["data"]["who"], "bob");
    home.cmd(&["profile", "use", "alice"]).no_password().ok();
    let a = home.cmd(&["get", "notes", "x"]).no_password().ok_json();
    assert_eq!(
        a["data"]["who"], "alice",
        "sessions and caches are per profile"
    );
    // Locking one leaves the other.
    home.cmd(&["profile", "lock", "bob"]).no_password().ok();
    assert_eq!(unlocked(&home), vec!["alice"]);
    home.cmd(&["profile", "lock", "--all"]).no_password().ok();
    assert!(unlocked(&home).is_empty());
}

#[test]
fn idle_profiles_lock_themselves() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    home.create("alice", "standard");
    home.cmd(&["profile", "set", "auto-lock", "1s"]).ok();
    let shown = home.cmd(&["profile", "show"]).ok_json();
    assert_eq!(shown["summary"]["settings"]["auto_lock_secs"], 1);
    home.cmd(&["profile", "unlock"]).ok();
    assert_eq!(unlocked(&home), vec!["alice"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !unlocked(&home).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the profile did not lock after 1 s idle"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    home.cmd(&["get", "notes", "x"])
        .no_password()
        .run()
        .error_line(&["locked"]);
    home.cmd(&["profile", "set", "auto-lock", "soon"])
        .run()
        .error_line(&["invalid duration"]);
}

#[test]
fn secret_records_need_the_password_again_through_the_agent() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    let p = home.create("alice", "standard");
    home.cmd(&["profile", "unlock"]).ok();
    let data = json!({"provider": "x", "name": "k", "secret": "agent-secret-value"}).to_string();
    home.cmd(&[
        "put", "api_keys", "--id", "k", "-c", "SECRET", "--data", &data,
    ])
    .no_password()
    .ok();
    let out = home.cmd(&["get", "api_keys", "k"]).no_password().run();
    out.error_line(&["api_keys/k", "password again"]);
    out.assert_not_shown("agent-secret-value");
    let out = home
        .cmd(&["get", "api_keys", "k"])
        .no_password()
        .env("PVAULT_REAUTH_PASSWORD", "wrong password")
        .run();
    out.error_line(&["wrong password"]);
    assert_eq!(
        home.attempts(&p.id)["failures"],
        1,
        "a failed re-authentication is counted"
    );
    let got = home
        .cmd(&["get", "api_keys", "k"])
        .no_password()
        .env("PVAULT_REAUTH_PASSWORD", PASSWORD)
        .ok_json();
    assert_eq!(got["data"]["secret"], "agent-secret-value");
}

/// Sends one raw frame to the agent of `home` and returns its answer.
fn raw_call(home: &Home, frame: &[u8]) -> serde_json::Value {
    use std::io::{Read, Write};
    let socket = std::fs::read_dir(home.root().join("run/pvault"))
        .expect("agent directory")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "sock"))
        .expect("agent socket");
    let mut client = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    client
        .write_all(&(frame.len() as u32).to_be_bytes())
        .unwrap();
    client.write_all(frame).unwrap();
    let mut len = [0u8; 4];
    client.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    client.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn a_client_of_another_protocol_version_is_told_so() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    home.create("alice", "standard");
    home.cmd(&["profile", "unlock"]).ok();
    // A request of protocol 1 (no version, no frame): refused with the versions named.
    let old = raw_call(&home, br#"{"op":"status"}"#);
    assert_eq!(old["msg"]["err"]["kind"], "version", "{old}");
    let message = old["msg"]["err"]["message"].as_str().unwrap();
    assert!(
        message.contains("protocol 2 here, an older protocol there"),
        "{message}"
    );
    let newer = raw_call(&home, br#"{"v":3,"msg":{"req":"status"}}"#);
    assert_eq!(newer["msg"]["err"]["kind"], "version", "{newer}");
    // The agent still serves this version afterwards.
    assert_eq!(unlocked(&home), ["alice"]);
}

#[test]
fn a_killed_agent_loses_nothing_and_leaves_every_profile_locked() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    home.create("alice", "standard");
    home.cmd(&["profile", "unlock"]).ok();
    home.cmd(&["put", "notes", "--id", "kept", "--data", r#"{"v":1}"#])
        .no_password()
        .ok();
    let pid = agent_pid(&home);
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // The socket file is left behind; nobody answers on it: every profile is locked.
    assert!(unlocked(&home).is_empty());
    home.cmd(&["get", "notes", "kept"])
        .no_password()
        .run()
        .error_line(&["locked"]);
    // A new agent replaces the stale socket; the acknowledged write is there.
    home.cmd(&["profile", "unlock"]).ok();
    assert_ne!(agent_pid(&home), pid);
    let got = home.cmd(&["get", "notes", "kept"]).no_password().ok_json();
    assert_eq!(got["data"]["v"], 1);
}

#[test]
fn sigterm_locks_everything_and_removes_the_socket() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    home.create("alice", "standard");
    home.cmd(&["profile", "unlock"]).ok();
    let pid = agent_pid(&home);
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .contains("zombie")
    {
        assert!(
            Instant::now() < deadline,
            "the agent did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sockets = std::fs::read_dir(home.root().join("run/pvault"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sock")
        })
        .count();
    assert_eq!(sockets, 0);
    assert!(unlocked(&home).is_empty());
}

#[test]
fn failed_unlocks_are_counted_by_the_client_and_survive_the_agent() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    let p = home.create("alice", "standard");
    home.cmd(&["profile", "unlock"])
        .password("wrong password")
        .run()
        .error_line(&["wrong password"]);
    assert_eq!(home.attempts(&p.id)["failures"], 1);
    home.cmd(&["agent", "--stop"]).ok();
    assert_eq!(
        home.attempts(&p.id)["failures"],
        1,
        "stopping the agent does not reset counters"
    );
    home.cmd(&["profile", "unlock"]).ok();
    assert_eq!(home.attempts(&p.id)["failures"], 0);
}

#[test]
fn the_agent_takes_scheduled_backups_of_an_unlocked_profile() {
    let home = Home::new();
    let _guard = AgentGuard(&home);
    home.create("alice", "standard");
    home.put("alice", "notes", "n", &json!({"text": "kept safe"}));
    let repo = home.root().join("repo");
    let repo_s = repo.to_str().unwrap();
    // A schedule needs a repository, and one that exists.
    home.cmd(&["profile", "set", "backup-schedule", "daily"])
        .run()
        .error_line(&["--repo"]);
    home.cmd(&[
        "profile",
        "set",
        "backup-schedule",
        "daily",
        "--repo",
        repo_s,
    ])
    .run()
    .error_line(&["not a pvault backup repository"]);
    home.cmd(&["backup", "init", repo_s]).ok();
    home.cmd(&[
        "profile",
        "set",
        "backup-schedule",
        "daily",
        "--repo",
        repo_s,
    ])
    .ok();
    home.cmd(&["profile", "set", "backup-keep", "daily=7,sometimes=1"])
        .run()
        .error_line(&["unknown key"]);
    home.cmd(&["profile", "set", "backup-keep", "last=3,daily=7"])
        .ok();
    let shown = home.cmd(&["profile", "show"]).ok_json();
    assert_eq!(shown["summary"]["settings"]["backup_every_secs"], 86_400);
    // No snapshot yet: the first is due at once, once the agent holds the profile.
    home.cmd(&["profile", "unlock"]).ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    let snapshots = loop {
        let listed = home.cmd(&["backup", "list", "--repo", repo_s]).ok_json();
        let n = listed["snapshots"].as_array().unwrap().len();
        if n > 0 {
            break n;
        }
        assert!(Instant::now() < deadline, "no scheduled backup after 20 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(snapshots, 1);
    // Not again before a day has passed.
    std::thread::sleep(Duration::from_secs(3));
    let listed = home.cmd(&["backup", "list", "--repo", repo_s]).ok_json();
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 1);
    let verified = home.cmd(&["backup", "verify", "--repo", repo_s]).ok_json();
    assert_eq!(verified["restored_records"], 1);
}
