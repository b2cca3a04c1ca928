//! Sync between devices (homes) through real servers on loopback, as users run it.

use serde_json::{Value, json};

use crate::cli_support::{Home, PASSWORD, Profile, unique_marker};

/// A sync server for one test: SQLite in a temporary directory.
struct SqliteServer {
    dir: tempfile::TempDir,
    handle: pvault_server::ServerHandle,
}

impl SqliteServer {
    fn start() -> SqliteServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let handle =
            pvault_server::spawn(pvault_server::ServerConfig::sqlite(dir.path().join("data")))
                .expect("server starts");
        SqliteServer { dir, handle }
    }

    /// Every byte the server wrote to disk.
    fn bytes_on_disk(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir.path().join("data")).expect("data dir") {
            let p = entry.expect("entry").path();
            if p.is_file() {
                out.extend(std::fs::read(&p).expect("read server file"));
            }
        }
        out
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Every record of a profile, by collection, as (id -> data).
fn snapshot(home: &Home, profile: &str) -> Value {
    let mut out = serde_json::Map::new();
    for c in ["transactions", "research", "api_keys", "notes"] {
        let listing = home
            .cmd(&["--profile", profile, "list", c])
            .env("PVAULT_REAUTH_PASSWORD", PASSWORD)
            .ok_json();
        let mut recs = serde_json::Map::new();
        for r in listing["records"].as_array().expect("records") {
            recs.insert(
                r["id"].as_str().expect("id").to_string(),
                json!({ "data": r["data"], "classification": r["classification"] }),
            );
        }
        out.insert(c.to_string(), Value::Object(recs));
    }
    Value::Object(out)
}

fn setup(home: &Home, profile: &str, url: &str) -> Value {
    home.cmd(&[
        "--profile",
        profile,
        "sync",
        "setup",
        "--server",
        url,
        "--username",
        profile,
        "--device-name",
        "laptop",
    ])
    .ok_json()
}

fn join(home: &Home, p: &Profile, url: &str) -> Value {
    home.cmd(&[
        "sync",
        "join",
        "--server",
        url,
        "--username",
        &p.name,
        "--device-name",
        "phone",
    ])
    .env("PVAULT_SECRET_KEY", &p.secret_key)
    .ok_json()
}

fn sync(home: &Home, profile: &str) -> Value {
    home.cmd(&["--profile", profile, "sync"]).ok_json()
}

/// Two devices edit, delete and add records, sync through `url`, and end up with the same records.
/// Returns the markers written, for a scan of the server's storage.
fn two_devices_converge(url: &str) -> Vec<String> {
    let a = Home::new();
    let b = Home::new();
    let p = a.create("alice", "standard");
    let m1 = unique_marker("txmemo");
    let m2 = unique_marker("notebody");
    let m3 = unique_marker("apisecret");
    a.put(
        "alice",
        "transactions",
        "t1",
        &json!({"amount": "12.50", "asset": "BTC", "from": "a", "to": "b",
                "time": "2026-01-01T00:00:00Z", "status": "pending", "memo": m1}),
    );
    a.put(
        "alice",
        "research",
        "n1",
        &json!({"title": "idea", "body": m2}),
    );
    a.put(
        "alice",
        "research",
        "gone",
        &json!({"title": "to delete", "body": "x"}),
    );
    a.put(
        "alice",
        "api_keys",
        "k1",
        &json!({"provider": "binance", "name": "prod", "secret": m3}),
    );
    let set_up = setup(&a, "alice", url);
    assert_eq!(set_up["sync"]["pushed"], 4, "{set_up}");

    let joined = join(&b, &p, url);
    assert_eq!(joined["sync"]["pulled"], 4, "{joined}");
    assert_eq!(snapshot(&a, "alice"), snapshot(&b, "alice"));
    // The joined device unlocks with the password alone (it keeps the Secret Key, wrapped).
    b.cmd(&["--profile", "alice", "get", "research", "n1"]).ok();

    // Both devices change things while apart.
    let m4 = unique_marker("fromphone");
    b.put("alice", "notes", "new", &json!({"text": m4}));
    b.cmd(&["--profile", "alice", "rm", "research", "gone"])
        .ok();
    a.put(
        "alice",
        "research",
        "n2",
        &json!({"title": "second", "body": "from laptop"}),
    );
    let pushed = sync(&b, "alice");
    assert_eq!(pushed["pushed"], 2, "{pushed}");
    let both = sync(&a, "alice");
    assert_eq!(
        (both["pushed"].as_u64(), both["pulled"].as_u64()),
        (Some(1), Some(2)),
        "{both}"
    );
    sync(&b, "alice");
    let (sa, sb) = (snapshot(&a, "alice"), snapshot(&b, "alice"));
    assert_eq!(sa, sb);
    assert_eq!(sa["notes"]["new"]["data"]["text"], m4.as_str());
    assert!(sa["research"].get("gone").is_none(), "{sa}");
    assert!(sa["research"].get("n2").is_some(), "{sa}");

    // Nothing waits, on either side, and both devices are listed by the server.
    let st = b.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    assert_eq!(st["pending"], 0, "{st}");
    assert_eq!(
        st["server"]["devices"].as_array().map(Vec::len),
        Some(2),
        "{st}"
    );

    // An honest server: each device finds the other's signed checkpoint consistent with its log,
    // and both show the same safety code for the same size.
    for home in [&a, &b] {
        let verified = home
            .cmd(&["--profile", "alice", "sync", "verify"])
            .ok_json();
        assert_eq!(verified["problems"], json!([]), "{verified}");
        assert_eq!(verified["peers"][0]["state"], "consistent", "{verified}");
    }
    let size = [&a, &b]
        .iter()
        .map(|h| {
            h.cmd(&["--profile", "alice", "sync", "safety-code"])
                .ok_json()["size"]
                .as_u64()
                .expect("size")
        })
        .min()
        .expect("two sizes");
    let codes: Vec<Value> = [&a, &b]
        .iter()
        .map(|h| {
            h.cmd(&[
                "--profile",
                "alice",
                "sync",
                "safety-code",
                "--size",
                &size.to_string(),
            ])
            .ok_json()["code"]
                .clone()
        })
        .collect();
    assert_eq!(codes[0], codes[1]);
    assert_eq!(codes[0].as_str().map(str::len), Some(23), "{codes:?}");
    vec![m1, m2, m3, m4]
}

#[test]
fn two_devices_converge_through_the_sqlite_server_which_sees_no_plaintext() {
    let server = SqliteServer::start();
    let markers = two_devices_converge(&server.handle.url());
    let disk = server.bytes_on_disk();
    assert!(disk.len() > 10_000, "the server stored something");
    for m in &markers {
        assert!(
            !contains(&disk, m),
            "marker {m} found in the server's files"
        );
    }
    for word in [
        "alice-record-names",
        "research",
        "transactions",
        "api_keys",
        "binance",
    ] {
        assert!(
            !contains(&disk, word),
            "'{word}' found in the server's files"
        );
    }
}

#[test]
fn a_wrong_password_or_secret_key_cannot_join_and_changes_nothing() {
    let server = SqliteServer::start();
    let url = server.handle.url();
    let a = Home::new();
    let p = a.create("alice", "standard");
    setup(&a, "alice", &url);
    let b = Home::new();
    let out = b
        .cmd(&["sync", "join", "--server", &url, "--username", "alice"])
        .env("PVAULT_SECRET_KEY", &p.secret_key)
        .password("not the password")
        .run();
    out.error_line(&["wrong password or secret key"]);
    let other = Home::new().create("other", "standard");
    let out = b
        .cmd(&["sync", "join", "--server", &url, "--username", "alice"])
        .env("PVAULT_SECRET_KEY", &other.secret_key)
        .run();
    out.error_line(&["wrong password or secret key"]);
    b.cmd(&["sync", "join", "--server", &url, "--username", "nobody"])
        .env("PVAULT_SECRET_KEY", &p.secret_key)
        .run()
        .error_line(&["no account named 'nobody'", "--username"]);
    // No profile was made here, and the server lists one device.
    assert_eq!(b.cmd(&["profile", "list"]).ok_json()["profiles"], json!([]));
    let st = a.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    assert_eq!(
        st["server"]["devices"].as_array().map(Vec::len),
        Some(1),
        "{st}"
    );
}

#[test]
fn an_unreachable_server_is_named_and_the_next_sync_resumes() {
    let server = SqliteServer::start();
    let url = server.handle.url();
    let a = Home::new();
    a.create("alice", "standard");
    setup(&a, "alice", &url);
    a.put("alice", "notes", "n1", &json!({"text": "kept"}));
    let data = server.dir.path().join("data");
    server.handle.shutdown();
    let out = a.cmd(&["--profile", "alice", "sync"]).run();
    out.error_line(&["unreachable", &url, "nothing was lost"]);
    let st = a.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    assert_eq!(st["pending"], 1, "{st}");
    // The server comes back on the same data (another port): point the profile at it by joining
    // from nowhere is not needed: a new server process on the same directory and address.
    let again = pvault_server::spawn({
        let mut c = pvault_server::ServerConfig::sqlite(&data);
        c.listen = url.trim_start_matches("http://").parse().expect("address");
        c
    })
    .expect("server restarts on the same address");
    let done = sync(&a, "alice");
    assert_eq!(done["pushed"], 1, "{done}");
    assert_eq!(done["pending"], 0, "{done}");
    again.shutdown();
}

#[test]
fn manual_conflicts_are_kept_listed_and_resolved_and_nothing_is_lost() {
    let server = SqliteServer::start();
    let url = server.handle.url();
    let a = Home::new();
    let b = Home::new();
    let p = a.create("alice", "standard");
    a.put("alice", "notes", "n", &json!({"text": "base"}));
    setup(&a, "alice", &url);
    join(&b, &p, &url);
    b.cmd(&[
        "--profile",
        "alice",
        "profile",
        "set",
        "conflict-strategy",
        "manual",
    ])
    .ok();
    a.put("alice", "notes", "n", &json!({"text": "from laptop"}));
    b.put("alice", "notes", "n", &json!({"text": "from phone"}));
    sync(&a, "alice");
    let r = sync(&b, "alice");
    assert_eq!(r["kept_for_user"], 1, "{r}");
    let list = b
        .cmd(&["--profile", "alice", "conflicts", "list"])
        .ok_json();
    let c = &list[0];
    assert_eq!(c["local"]["data"]["text"], "from phone", "{list}");
    assert_eq!(c["current"]["data"]["text"], "from laptop", "{list}");
    let id = c["id"].to_string();
    // A bad id is named and changes nothing.
    b.cmd(&[
        "--profile",
        "alice",
        "conflicts",
        "resolve",
        "999",
        "--keep",
        "local",
    ])
    .run()
    .error_line(&["no open conflict #999"]);
    b.cmd(&[
        "--profile",
        "alice",
        "conflicts",
        "resolve",
        &id,
        "--keep",
        "local",
    ])
    .ok();
    sync(&b, "alice");
    sync(&a, "alice");
    assert_eq!(snapshot(&a, "alice"), snapshot(&b, "alice"));
    assert_eq!(
        snapshot(&a, "alice")["notes"]["n"]["data"]["text"],
        "from phone"
    );
    // The laptop's version lost; it is in the phone's history and can come back.
    let hist = b.cmd(&["--profile", "alice", "sync", "history"]).ok_json();
    let entry = hist
        .as_array()
        .expect("history")
        .iter()
        .find(|e| e["restorable"] == true)
        .unwrap_or_else(|| panic!("a restorable entry: {hist}"));
    let eid = entry["id"].to_string();
    b.cmd(&["--profile", "alice", "sync", "restore", &eid]).ok();
    sync(&b, "alice");
    sync(&a, "alice");
    assert_eq!(
        snapshot(&a, "alice")["notes"]["n"]["data"]["text"],
        "from laptop"
    );
}

#[test]
fn default_strategy_sets_aside_the_older_edit_in_history() {
    let server = SqliteServer::start();
    let url = server.handle.url();
    let a = Home::new();
    let b = Home::new();
    let p = a.create("alice", "standard");
    a.put("alice", "notes", "n", &json!({"text": "base"}));
    setup(&a, "alice", &url);
    join(&b, &p, &url);
    b.put("alice", "notes", "n", &json!({"text": "older, from phone"}));
    a.put(
        "alice",
        "notes",
        "n",
        &json!({"text": "newer, from laptop"}),
    );
    sync(&b, "alice");
    let r = sync(&a, "alice");
    assert_eq!(r["conflicts"], 1, "{r}");
    sync(&b, "alice");
    assert_eq!(
        snapshot(&b, "alice")["notes"]["n"]["data"]["text"],
        "newer, from laptop"
    );
    let hist = a.cmd(&["--profile", "alice", "sync", "history"]).ok_json();
    let conflict = hist
        .as_array()
        .expect("history")
        .iter()
        .find(|e| e["event"] == "conflict")
        .unwrap_or_else(|| panic!("a conflict entry: {hist}"));
    assert_eq!(conflict["restorable"], true, "{hist}");
    assert!(
        conflict["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("timestamp"),
        "{hist}"
    );
}

#[test]
fn sync_commands_refuse_bad_input_clearly() {
    let a = Home::new();
    a.create("alice", "standard");
    a.cmd(&["--profile", "alice", "sync"])
        .run()
        .error_line(&["not set up for sync", "pvault sync setup"]);
    a.cmd(&["--profile", "alice", "sync", "setup", "--server", "ftp://x"])
        .run()
        .error_line(&["http://"]);
    a.cmd(&[
        "--profile",
        "alice",
        "profile",
        "set",
        "conflict-strategy",
        "newest",
    ])
    .run()
    .error_line(&["unknown conflict strategy", "timestamp", "security-first"]);
    // Nothing listens on port 9 of loopback.
    a.cmd(&[
        "--profile",
        "alice",
        "sync",
        "setup",
        "--server",
        "http://127.0.0.1:9",
    ])
    .run()
    .error_line(&["unreachable"]);
    let st = a.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    assert_eq!(st["config"], Value::Null, "{st}");
}

#[test]
fn two_devices_converge_through_the_postgres_server_which_sees_no_plaintext() {
    let Some(db) = pvault_server::testing::PgDatabase::create("pvault_cli") else {
        return;
    };
    let server = pvault_server::spawn(pvault_server::ServerConfig::postgres(db.url.clone()))
        .expect("server starts");
    let markers = two_devices_converge(&server.url());
    server.shutdown();
    let dump = db.dump();
    assert!(dump.len() > 10_000, "the server stored something");
    for m in &markers {
        assert!(
            !dump.contains(m.as_str()),
            "marker {m} found in the database"
        );
        assert!(
            !dump.contains(&hex::encode(m)),
            "marker {m} found (hex) in the database"
        );
    }
}

#[test]
fn a_change_made_through_one_postgres_instance_reaches_a_watcher_on_another_in_real_time() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let Some(db) = pvault_server::testing::PgDatabase::create("pvault_cli") else {
        return;
    };
    let one = pvault_server::spawn(pvault_server::ServerConfig::postgres(db.url.clone()))
        .expect("instance 1");
    let two = pvault_server::spawn(pvault_server::ServerConfig::postgres(db.url.clone()))
        .expect("instance 2");
    let a = Home::new();
    let b = Home::new();
    let p = a.create("alice", "standard");
    setup(&a, "alice", &one.url());
    join(&b, &p, &two.url());

    let mut watcher = b
        .cmd(&["--profile", "alice", "--json", "sync", "--watch"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the watcher");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let out = watcher.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let wait_for = |what: &dyn Fn(&Value) -> bool, within: Duration| -> Option<Value> {
        let until = Instant::now() + within;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(v) if what(&v) => return Some(v),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    };
    let connected = wait_for(&|v| v["event"] == "connected", Duration::from_secs(30));
    assert!(connected.is_some(), "the watcher connected to instance 2");

    let marker = unique_marker("live");
    a.put("alice", "notes", "live", &json!({"text": marker}));
    let started = Instant::now();
    sync(&a, "alice");
    let pulled = wait_for(
        &|v| v["event"] == "synced" && v["report"]["pulled"].as_u64() >= Some(1),
        Duration::from_secs(20),
    );
    let elapsed = started.elapsed();
    let _ = interrupt(watcher.id());
    let _ = watcher.wait();
    assert!(
        pulled.is_some(),
        "no real-time sync reached the watcher on instance 2"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let got = b
        .cmd(&["--profile", "alice", "get", "notes", "live"])
        .ok_json();
    assert_eq!(got["data"]["text"], marker.as_str());
    one.shutdown();
    two.shutdown();
}

/// Asks a child to stop the way Ctrl-C would.
fn interrupt(pid: u32) -> std::io::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other("kill failed"))
    }
}

#[test]
fn the_agent_syncs_without_the_password_and_in_the_background_until_the_profile_locks() {
    use std::time::{Duration, Instant};

    let server = SqliteServer::start();
    let url = server.handle.url();
    let a = Home::new();
    let b = Home::new();
    let _agent = crate::cli_support::AgentGuard(&b);
    let p = a.create("alice", "standard");
    setup(&a, "alice", &url);
    join(&b, &p, &url);
    b.cmd(&["profile", "unlock", "alice"]).ok();

    a.put("alice", "notes", "one", &json!({"text": "first"}));
    sync(&a, "alice");
    let r = b
        .cmd(&["--profile", "alice", "sync"])
        .no_password()
        .ok_json();
    assert_eq!(r["pulled"], 1, "{r}");

    b.cmd(&["--profile", "alice", "sync", "--watch"])
        .no_password()
        .ok();
    let marker = unique_marker("background");
    a.put("alice", "notes", "two", &json!({"text": marker}));
    sync(&a, "alice");
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let got = b
            .cmd(&["--profile", "alice", "get", "notes", "two"])
            .no_password()
            .run();
        if got.code == Some(0) {
            assert!(got.stdout.contains(&marker), "{}", got.stdout);
            break;
        }
        assert!(
            Instant::now() < until,
            "the background sync never pulled the change"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = b.cmd(&["profile", "status"]).no_password().ok_json();
    assert_eq!(st["unlocked"][0]["watching"], true, "{st}");

    // Locking stops it: a later change stays on the server until the next sync.
    b.cmd(&["profile", "lock", "alice"]).ok();
    a.put(
        "alice",
        "notes",
        "three",
        &json!({"text": "after the lock"}),
    );
    sync(&a, "alice");
    std::thread::sleep(Duration::from_millis(800));
    let pending = b
        .cmd(&["--profile", "alice", "get", "notes", "three"])
        .run();
    pending.error_line(&["no record"]);
}

#[test]
fn a_removed_device_is_refused_clearly_and_keeps_its_records() {
    let server = SqliteServer::start();
    let url = server.handle.url();
    let a = Home::new();
    let b = Home::new();
    let p = a.create("alice", "standard");
    setup(&a, "alice", &url);
    join(&b, &p, &url);
    let st = b.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    let phone = st["config"]["device_id"]
        .as_str()
        .expect("device id")
        .to_string();
    a.cmd(&["--profile", "alice", "sync", "remove-device", "nothex"])
        .run()
        .error_line(&["not a device id"]);
    a.cmd(&["--profile", "alice", "sync", "remove-device", &phone])
        .ok();
    b.put(
        "alice",
        "notes",
        "offline",
        &json!({"text": "written after removal"}),
    );
    b.cmd(&["--profile", "alice", "sync"])
        .run()
        .error_line(&["removed from the profile's account", "pvault sync leave"]);
    // Nothing was lost here, and the server took nothing from the removed device.
    b.cmd(&["--profile", "alice", "get", "notes", "offline"])
        .ok();
    assert_eq!(snapshot(&a, "alice")["notes"], json!({}));
    let after = a.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    let devices = after["server"]["devices"]
        .as_array()
        .expect("devices")
        .clone();
    assert!(
        devices
            .iter()
            .any(|d| d["device_id"] == phone.as_str() && d["revoked"] == true),
        "{after}"
    );
    // Leaving keeps the records and forgets the server.
    b.cmd(&["--profile", "alice", "sync", "leave"]).ok();
    let st = b.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    assert_eq!(st["config"], Value::Null, "{st}");
    b.cmd(&["--profile", "alice", "get", "notes", "offline"])
        .ok();
}

#[test]
fn a_key_rotation_on_one_device_reaches_the_others_and_loses_nothing() {
    let server = SqliteServer::start();
    let url = server.handle.url();
    let a = Home::new();
    let b = Home::new();
    let p = a.create("alice", "standard");
    a.put(
        "alice",
        "notes",
        "before",
        &json!({"text": "sealed under epoch 1"}),
    );
    setup(&a, "alice", &url);
    join(&b, &p, &url);
    // The phone edits while the laptop rotates.
    b.put(
        "alice",
        "notes",
        "offline",
        &json!({"text": "written under epoch 1"}),
    );
    let rotated = a
        .cmd(&["--profile", "alice", "profile", "rotate-keys"])
        .ok_json();
    assert_eq!(rotated["key_id"], 2, "{rotated}");
    assert_eq!(rotated["kept_for_sync"], json!([1]), "{rotated}");
    let pushed = sync(&a, "alice");
    assert_eq!(pushed["pushed"], 1, "everything is pushed again: {pushed}");
    // The phone gets epoch 2 from the server's bundle and keeps its own edit.
    sync(&b, "alice");
    sync(&a, "alice");
    assert_eq!(snapshot(&a, "alice"), snapshot(&b, "alice"));
    assert_eq!(
        snapshot(&a, "alice")["notes"]["offline"]["data"]["text"],
        "written under epoch 1"
    );
    let shown = b.cmd(&["--profile", "alice", "profile", "show"]).ok_json();
    assert_eq!(shown["key_ids"], json!([1, 2]), "{shown}");
    b.put(
        "alice",
        "notes",
        "after",
        &json!({"text": "written under epoch 2"}),
    );
    sync(&b, "alice");
    sync(&a, "alice");
    assert_eq!(snapshot(&a, "alice"), snapshot(&b, "alice"));
    for home in [&a, &b] {
        let v = home.cmd(&["--profile", "alice", "verify"]).ok_json();
        assert_eq!(v["problems"], json!([]), "{v}");
    }
    // A device that joins now opens everything.
    let c = Home::new();
    join(&c, &p, &url);
    assert_eq!(snapshot(&a, "alice"), snapshot(&c, "alice"));
}

/// A TCP proxy in front of a real server that can cut connections: in `cut` mode it forwards a
/// request to the server, lets the server act on it, and closes the client's connection before any
/// answer reaches it (what a network failure in the middle of a push looks like to the device).
struct CuttingProxy {
    addr: std::net::SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CuttingProxy {
    fn start(upstream: std::net::SocketAddr) -> CuttingProxy {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cut2 = cut.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let cut = cut2.load(Ordering::SeqCst);
                std::thread::spawn(move || {
                    let Ok(mut server) = TcpStream::connect(upstream) else {
                        return;
                    };
                    let (mut c2, mut s2) = (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    );
                    let up = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c2, &mut s2);
                        let _ = s2.shutdown(Shutdown::Write);
                    });
                    if cut {
                        // Wait for the server's first answer bytes (it has acted), then drop both.
                        let mut first = [0u8; 1];
                        let _ = server.read(&mut first);
                        let _ = client.shutdown(Shutdown::Both);
                        let _ = server.shutdown(Shutdown::Both);
                    } else {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = server.read(&mut buf) {
                            if n == 0 || client.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = client.shutdown(Shutdown::Write);
                    }
                    let _ = up.join();
                });
            }
        });
        CuttingProxy { addr, cut }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn cutting(&self, on: bool) {
        self.cut.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_connection_cut_mid_push_loses_nothing_and_the_next_sync_resumes() {
    let server = SqliteServer::start();
    let proxy = CuttingProxy::start(server.handle.addr());
    let a = Home::new();
    let p = a.create("alice", "standard");
    setup(&a, "alice", &proxy.url());
    for i in 0..20 {
        a.put(
            "alice",
            "notes",
            &format!("n{i}"),
            &json!({"text": format!("note {i}")}),
        );
    }
    proxy.cutting(true);
    let out = a.cmd(&["--profile", "alice", "sync"]).run();
    out.error_line(&["unreachable", "nothing was lost"]);
    // The server applied the push; the device never heard so and still holds its changes.
    let st = a.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    assert_eq!(st["pending"], 20, "{st}");
    proxy.cutting(false);
    let done = sync(&a, "alice");
    assert_eq!(done["pending"], 0, "{done}");
    assert_eq!(
        done["conflicts"], 0,
        "its own lost acknowledgements are not conflicts: {done}"
    );
    // Each record exists once on the server, with the device's content: a new device sees all 20.
    let b = Home::new();
    let joined = join(&b, &p, &server.handle.url());
    assert_eq!(joined["sync"]["pulled"], 20, "{joined}");
    assert_eq!(snapshot(&a, "alice"), snapshot(&b, "alice"));
    let st = b.cmd(&["--profile", "alice", "sync", "status"]).ok_json();
    // The server also holds the audit log: every entry B holds as synced, and up to one
    // checkpoint per device.
    let audit: i64 = b
        .db(&p.id)
        .query_row("SELECT count(*) FROM audit_log WHERE synced = 1", [], |r| {
            r.get(0)
        })
        .expect("audit entries");
    let records = st["server"]["records"].as_i64().expect("records");
    assert!(
        (20 + audit..=20 + audit + 2).contains(&records),
        "20 notes and {audit} audit entries: {st}"
    );
}

/// The kinds and devices of a profile's audit log, as `pvault audit --json` lists them.
fn audit_entries(home: &Home, profile: &str) -> Vec<(String, String)> {
    home.cmd(&["--profile", profile, "audit"]).ok_json()["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["device"].as_str().expect("device").to_string(),
                e["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect()
}

#[test]
fn every_device_holds_the_whole_audit_log_and_a_cut_off_tail_is_seen_by_the_other() {
    let server = SqliteServer::start();
    let url = server.handle.url();
    let (a, b) = (Home::new(), Home::new());
    let p = a.create("alice", "standard");
    a.put("alice", "notes", "n1", &json!({"text": "one"}));
    setup(&a, "alice", &url);
    join(&b, &p, &url);
    b.put("alice", "notes", "n2", &json!({"text": "two"}));
    sync(&b, "alice");
    sync(&a, "alice");
    sync(&b, "alice");

    let on_a = audit_entries(&a, "alice");
    let on_b = audit_entries(&b, "alice");
    let device_a = on_a
        .iter()
        .find(|(_, k)| k == "profile_created")
        .map(|(d, _)| d.clone())
        .expect("A created the profile");
    let device_b = on_b
        .iter()
        .find(|(d, k)| k == "device_added" && *d != device_a)
        .map(|(d, _)| d.clone())
        .expect("B joined");
    for (on, name) in [(&on_a, "A"), (&on_b, "B")] {
        for (device, kind) in [
            (&device_a, "profile_created"),
            (&device_a, "device_added"),
            (&device_a, "synced"),
            (&device_b, "device_added"),
            (&device_b, "records_written"),
        ] {
            assert!(
                on.iter().any(|(d, k)| d == device && k == kind),
                "{name} lacks {kind} of {device}: {on:?}"
            );
        }
    }
    let verified = b.cmd(&["--profile", "alice", "audit", "verify"]).ok_json();
    assert_eq!(verified["devices"], 2, "{verified}");
    assert_eq!(verified["problems"], json!([]), "{verified}");

    // Someone cuts off the tail of A's log on A's disk, checkpoint and all: A alone cannot tell.
    let db = a.db(&p.id);
    let last: i64 = db
        .query_row(
            "SELECT max(seq) FROM audit_log WHERE device = ?1",
            [&device_a],
            |r| r.get(0),
        )
        .expect("A's last entry");
    db.execute_batch(&format!(
        "DELETE FROM audit_log WHERE device = '{device_a}' AND seq > {};
         DELETE FROM audit_checkpoints WHERE device = '{device_a}';",
        last - 3
    ))
    .expect("cut off");
    drop(db);
    // A goes on and syncs; B, at its next sync, sees that A's chain no longer matches the copy it holds.
    // (More entries than were cut off, so that some land past the old end on every timing.)
    for n in ["n3", "n4", "n5"] {
        a.put("alice", "notes", n, &json!({"text": n}));
    }
    sync(&a, "alice");
    sync(&b, "alice");
    let out = b
        .cmd(&["--profile", "alice", "--json", "audit", "verify"])
        .run()
        .code(3);
    let report: Value = serde_json::from_str(&out.stdout).expect("report");
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p["device"] == device_a.as_str() && p["kind"] == "forked"),
        "{report}"
    );
    // A was told too: its pushes met entries the server already held with other content.
    let anomalies = a
        .cmd(&["--profile", "alice", "audit", "--kind", "anomaly"])
        .ok_json();
    assert!(
        anomalies["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["detail"]["what"] == "audit_fork"),
        "{anomalies}"
    );
}

#[test]
fn repair_restores_a_corrupted_record_from_the_server_after_saying_what_it_will_do() {
    let server = SqliteServer::start();
    let a = Home::new();
    let p = a.create("alice", "standard");
    a.put("alice", "notes", "n1", &json!({"text": "keep me"}));
    a.put("alice", "notes", "n2", &json!({"text": "untouched"}));
    setup(&a, "alice", &server.handle.url());
    // A flipped byte in n1's body on disk.
    let db = a.db(&p.id);
    let rows: Vec<(Vec<u8>, Vec<u8>)> = db
        .prepare("SELECT rid, body FROM records WHERE collection = 'notes'")
        .expect("select")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    let mut damaged = None;
    for (rid, body) in rows {
        let mut bad = body.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        db.execute(
            "UPDATE records SET body = ?1 WHERE rid = ?2",
            rusqlite::params![bad, rid],
        )
        .expect("damage");
        if a.cmd(&["--profile", "alice", "get", "notes", "n1"])
            .run()
            .code
            == Some(0)
        {
            // That was n2: put it back and damage the other.
            db.execute(
                "UPDATE records SET body = ?1 WHERE rid = ?2",
                rusqlite::params![body, rid],
            )
            .expect("undo");
            continue;
        }
        damaged = Some(rid);
        break;
    }
    assert!(damaged.is_some(), "n1 damaged");
    drop(db);
    a.cmd(&["--profile", "alice", "verify"]).run().code(3);

    let plan = a.cmd(&["--profile", "alice", "repair", "--dry-run"]).ok();
    assert!(
        plan.stdout.contains("would repair notes/n1 from server #"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("nothing was changed"),
        "{}",
        plan.stdout
    );
    a.cmd(&["--profile", "alice", "verify"]).run().code(3);

    let done = a.cmd(&["--profile", "alice", "--json", "repair"]).ok_json();
    assert_eq!(done["repaired"][0]["id"], "n1", "{done}");
    assert_eq!(done["unrepaired"], json!([]), "{done}");
    a.cmd(&["--profile", "alice", "verify"]).ok();
    let got = a
        .cmd(&["--profile", "alice", "get", "notes", "n1"])
        .ok_json();
    assert_eq!(got["data"]["text"], "keep me");
    let repaired = a
        .cmd(&["--profile", "alice", "audit", "--kind", "repaired"])
        .ok_json();
    assert_eq!(repaired["entries"][0]["detail"]["id"], "n1", "{repaired}");
    // Nothing left: a second repair says so.
    let again = a.cmd(&["--profile", "alice", "repair"]).ok();
    assert!(
        again.stdout.contains("nothing to repair"),
        "{}",
        again.stdout
    );
}

#[test]
fn repair_without_a_source_names_what_stays_damaged() {
    let a = Home::new();
    let p = a.create("alice", "standard");
    a.put("alice", "notes", "n1", &json!({"text": "x"}));
    a.db(&p.id)
        .execute("UPDATE records SET version = 42", [])
        .expect("edit");
    let out = a.cmd(&["--profile", "alice", "repair"]).run().code(3);
    out.assert_mentions(&out.stdout, &["cannot repair notes/n1", "no repair source"]);
}
