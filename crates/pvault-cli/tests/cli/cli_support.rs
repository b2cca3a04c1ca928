//! Shared helpers: run the real `pvault` binary in a private temporary home, collect its exit code,
//! stdout and stderr, parse its JSON, and look at (or damage) the files it wrote.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::Value;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pvault");

/// The password every test profile is created with (unless a test says otherwise).
pub const PASSWORD: &str = "correct horse battery staple";

/// No command may take longer than this: a command that waits for a prompt fails the test instead of
/// hanging it.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Unix time in seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A marker that occurs nowhere else: letters and digits only, so it fits in record ids too.
pub fn unique_marker(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{prefix}{:x}{:x}q", nanos as u64, std::process::id())
}

/// When the test itself runs at a terminal, the binary could open /dev/tty and prompt there; run it
/// in a new session (no controlling terminal) through `setsid`, which execs in place, so the child's
/// pid is still pvault's. In CI there is no terminal and the binary is run directly.
fn setsid_wrapper() -> Option<&'static Path> {
    static WRAPPER: OnceLock<Option<PathBuf>> = OnceLock::new();
    WRAPPER
        .get_or_init(|| {
            std::fs::File::open("/dev/tty").ok()?;
            ["/usr/bin/setsid", "/bin/setsid"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
        .as_deref()
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Output {
    /// The command line, for messages.
    pub args: String,
    /// Exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    fn describe(&self) -> String {
        format!(
            "pvault {}\n  exit: {:?}\n  stdout: {}\n  stderr: {}",
            self.args, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        self
    }

    /// Asserts the given exit code.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}:\n{}",
            self.describe()
        );
        self
    }

    /// Asserts exit code 1 and exactly one line on stderr (`error: ...`) containing every one of
    /// `words` (case-insensitive); returns that line.
    #[track_caller]
    pub fn error_line(&self, words: &[&str]) -> String {
        assert_eq!(
            self.code,
            Some(1),
            "expected a failure (exit 1):\n{}",
            self.describe()
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one line on stderr:\n{}",
            self.describe()
        );
        let line = lines[0];
        assert!(
            line.starts_with("error: "),
            "stderr should start with 'error: ':\n{}",
            self.describe()
        );
        self.assert_mentions(line, words);
        // One clear sentence: no clause repeated (as a chain of causes printing itself twice would).
        let clauses: Vec<&str> = line
            .trim_start_matches("error: ")
            .split(": ")
            .filter(|c| c.len() >= 16)
            .collect();
        for c in &clauses {
            assert_eq!(
                clauses.iter().filter(|x| *x == c).count(),
                1,
                "clause {c:?} repeated:\n{}",
                self.describe()
            );
        }
        line.to_string()
    }

    /// Asserts that `text` contains every one of `words` (case-insensitive).
    #[track_caller]
    pub fn assert_mentions(&self, text: &str, words: &[&str]) {
        let lower = text.to_lowercase();
        for w in words {
            assert!(
                lower.contains(&w.to_lowercase()),
                "expected {w:?} in {text:?}:\n{}",
                self.describe()
            );
        }
    }

    /// stdout parsed as one JSON value.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{}", self.describe()))
    }

    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts that neither stdout nor stderr contains `needle`.
    #[track_caller]
    pub fn assert_not_shown(&self, needle: &str) {
        assert!(
            !self.all().contains(needle),
            "{needle:?} must not be printed:\n{}",
            self.describe()
        );
    }
}

/// A command to run, built step by step.
pub struct Cmd {
    root: PathBuf,
    args: Vec<String>,
    env: Vec<(String, Option<String>)>,
    stdin: Option<Vec<u8>>,
}

impl Cmd {
    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// Runs without PVAULT_PASSWORD.
    pub fn no_password(self) -> Self {
        self.env_remove("PVAULT_PASSWORD")
    }

    /// Runs with this PVAULT_PASSWORD.
    pub fn password(self, password: &str) -> Self {
        self.env("PVAULT_PASSWORD", password)
    }

    /// Feeds these bytes on stdin (otherwise stdin is /dev/null).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// The process to spawn: a clean environment for pvault (no inherited PVAULT_* variable), the
    /// test's home, stdin null unless set up otherwise by the caller.
    pub fn command(&self) -> Command {
        let mut cmd = match setsid_wrapper() {
            Some(setsid) => {
                let mut c = Command::new(setsid);
                c.arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        cmd.args(&self.args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PVAULT_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("PVAULT_HOME", &self.root)
            .env("HOME", &self.root)
            .env("XDG_DATA_HOME", self.root.join("xdg-data"))
            // Agent sockets live here: private to the test, and no agent of the user is reached.
            .env("XDG_RUNTIME_DIR", self.root.join("run"))
            .env("PVAULT_PASSWORD", PASSWORD)
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs to completion (or fails the test after the timeout).
    pub fn run(self) -> Output {
        let mut cmd = self.command();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if self.stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let args = self.args.join(" ");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let writer = self.stdin.map(|bytes| {
            let mut pipe = child.stdin.take().expect("piped stdin");
            // The binary may stop reading early (e.g. refuse oversized input): ignore EPIPE.
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            })
        });
        let stdout = read_all(child.stdout.take().expect("piped stdout"));
        let stderr = read_all(child.stderr.take().expect("piped stderr"));
        let status = wait_with_timeout(&mut child, TIMEOUT, &args);
        if let Some(w) = writer {
            w.join().expect("stdin writer");
        }
        Output {
            args,
            code: status.code(),
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        }
    }

    /// Runs and asserts success.
    #[track_caller]
    pub fn ok(self) -> Output {
        let out = self.run();
        out.success()
    }

    /// Runs with `--json`, asserts success, and parses stdout.
    #[track_caller]
    pub fn ok_json(mut self) -> Value {
        self.args.push("--json".into());
        let out = self.run();
        out.success().json()
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Waits for a child, killing it (and failing the test) after `timeout`.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().expect("waiting for pvault") {
            return status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pvault {what} did not finish within {timeout:?} (waiting for a prompt?)");
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// A profile as `profile create --json` reported it.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub id: String,
    pub secret_key: String,
}

/// A temporary pvault home.
/// Stops the home's agent when the test ends, however it ends.
pub struct AgentGuard<'a>(pub &'a Home);

impl Drop for AgentGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd(&["agent", "--stop"]).run();
    }
}

pub struct Home {
    dir: TempDir,
}

impl Home {
    /// A new, empty home.
    pub fn new() -> Self {
        Home {
            dir: tempfile::Builder::new()
                .prefix("pvault-cli-test-")
                .tempdir()
                .expect("temporary directory"),
        }
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `pvault ARGS` in this home, with PVAULT_PASSWORD set to [`PASSWORD`].
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        Cmd {
            root: self.root().to_path_buf(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            stdin: None,
        }
    }

    /// Creates a profile with [`PASSWORD`].
    pub fn create(&self, name: &str, security: &str) -> Profile {
        self.create_with(name, security, PASSWORD)
    }

    /// Creates a profile with the given password.
    pub fn create_with(&self, name: &str, security: &str, password: &str) -> Profile {
        let v = self
            .cmd(&["profile", "create", name, "--security", security])
            .password(password)
            .ok_json();
        Profile {
            name: v["name"].as_str().expect("name").to_string(),
            id: v["id"].as_str().expect("id").to_string(),
            secret_key: v["secret_key"].as_str().expect("secret_key").to_string(),
        }
    }

    /// `put COLLECTION --id ID --data JSON --json` (plus `extra`), as the profile `profile`.
    pub fn put(&self, profile: &str, collection: &str, id: &str, data: &Value) -> Value {
        let data = data.to_string();
        self.cmd(&[
            "--profile",
            profile,
            "put",
            collection,
            "--id",
            id,
            "--data",
            &data,
        ])
        .ok_json()
    }

    /// Directory of a profile.
    pub fn profile_dir(&self, id: &str) -> PathBuf {
        self.root().join("profiles").join(id)
    }

    /// The store of a profile.
    pub fn store_path(&self, id: &str) -> PathBuf {
        self.profile_dir(id).join("store.db")
    }

    /// A connection to a profile's store (no pvault process must be running).
    pub fn db(&self, id: &str) -> Connection {
        let conn = Connection::open(self.store_path(id)).expect("open store.db");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn
    }

    /// Every regular file under the home.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&path, out),
                    Ok(t) if t.is_file() => out.push(path),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root(), &mut out);
        out.sort();
        out
    }

    /// Files under the home whose raw bytes contain `needle`.
    pub fn files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        self.files()
            .into_iter()
            .filter(|p| {
                std::fs::read(p)
                    .map(|bytes| contains(&bytes, needle))
                    .unwrap_or(false)
            })
            .collect()
    }

    /// Everything a failed command must leave alone: the registry, every key file, and the full
    /// logical content of every store (attempt counters are left out: failures are counted on
    /// purpose).
    pub fn snapshot(&self) -> Snapshot {
        let mut files = BTreeMap::new();
        let mut stores = BTreeMap::new();
        for path in self.files() {
            let rel = path
                .strip_prefix(self.root())
                .expect("under home")
                .to_string_lossy()
                .into_owned();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name == "registry.json" || name == "key.json" {
                files.insert(rel, std::fs::read(&path).expect("read"));
            } else if name == "store.db" {
                stores.insert(rel, dump_store(&path));
            }
        }
        Snapshot { files, stores }
    }

    /// Reads a profile's failed-attempt counters (failures, last_failure, locked_until).
    pub fn attempts(&self, id: &str) -> Value {
        match std::fs::read(self.profile_dir(id).join("attempts.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).expect("attempts.json is JSON"),
            Err(_) => serde_json::json!({"failures": 0, "last_failure": 0, "locked_until": 0}),
        }
    }
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// Offset of the first occurrence of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    (0..=haystack.len() - needle.len())
        .find(|&i| haystack[i] == first && &haystack[i..i + needle.len()] == needle)
}

/// Number of occurrences of `needle` in `haystack`.
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    let mut n = 0;
    let mut at = 0;
    while let Some(i) = find(&haystack[at..], needle) {
        n += 1;
        at += i + 1;
    }
    n
}

/// The state a failed command must not change.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    files: BTreeMap<String, Vec<u8>>,
    stores: BTreeMap<String, Vec<String>>,
}

impl Snapshot {
    /// Asserts that nothing changed since `self` was taken.
    #[track_caller]
    pub fn assert_same(&self, now: &Snapshot, what: &str) {
        assert_eq!(
            self.files.keys().collect::<Vec<_>>(),
            now.files.keys().collect::<Vec<_>>(),
            "{what}: the set of key files / registry changed"
        );
        for (k, v) in &self.files {
            assert!(now.files[k] == *v, "{what}: {k} changed");
        }
        assert_eq!(
            self.stores.keys().collect::<Vec<_>>(),
            now.stores.keys().collect::<Vec<_>>(),
            "{what}: the set of stores changed"
        );
        for (k, v) in &self.stores {
            assert_eq!(&now.stores[k], v, "{what}: content of {k} changed");
        }
    }

    /// Number of rows in the `records` tables.
    pub fn record_rows(&self) -> usize {
        self.stores
            .values()
            .flat_map(|rows| rows.iter())
            .filter(|r| r.starts_with("records|"))
            .count()
    }
}

/// Every row of every table of a store, plus its format version, as text. The audit log's tables
/// are left out: a refused action changes nothing else, but the attempt itself is recorded (a wrong
/// password is an entry in the inbox; tests/audit.rs checks those entries).
fn dump_store(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).expect("open store.db");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version");
    let mut out = vec![format!("user_version|{version}")];
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'audit%' ORDER BY name",
            )
            .expect("tables");
        stmt.query_map([], |r| r.get(0))
            .expect("tables")
            .collect::<Result<_, _>>()
            .expect("tables")
    };
    for t in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\""))
            .expect("select");
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut s = format!("{t}|");
                for i in 0..n {
                    match r.get_ref(i)? {
                        ValueRef::Null => s.push_str("NULL"),
                        ValueRef::Integer(v) => s.push_str(&v.to_string()),
                        ValueRef::Real(v) => s.push_str(&v.to_string()),
                        ValueRef::Text(v) => s.push_str(&String::from_utf8_lossy(v)),
                        ValueRef::Blob(v) => s.push_str(&hex(v)),
                    }
                    s.push('|');
                }
                Ok(s)
            })
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.sort();
        out.extend(rows);
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One row of a store's `records` table, as the tests need it.
#[derive(Clone, Debug)]
pub struct RawRow {
    pub rid: Vec<u8>,
    pub id_box: Vec<u8>,
    pub classification: i64,
    pub key_id: i64,
    pub body: Option<Vec<u8>>,
}

/// The row written at `revision` (the revision `put --json` reported).
pub fn row_by_revision(conn: &Connection, revision: i64) -> RawRow {
    conn.query_row(
        "SELECT rid, id_box, classification, key_id, body FROM records WHERE revision = ?1",
        [revision],
        |r| {
            Ok(RawRow {
                rid: r.get(0)?,
                id_box: r.get(1)?,
                classification: r.get(2)?,
                key_id: r.get(3)?,
                body: r.get(4)?,
            })
        },
    )
    .unwrap_or_else(|e| panic!("no record row at revision {revision}: {e}"))
}

/// Overwrites the envelope columns (id_box, body, classification, key_id) of the row
/// (collection, rid) with those of `from`.
pub fn overwrite_row(conn: &Connection, collection: &str, rid: &[u8], from: &RawRow) {
    let n = conn
        .execute(
            "UPDATE records SET id_box = ?1, body = ?2, classification = ?3, key_id = ?4 WHERE collection = ?5 AND rid = ?6",
            rusqlite::params![from.id_box, from.body, from.classification, from.key_id, collection, rid],
        )
        .expect("update row");
    assert_eq!(n, 1, "exactly one row overwritten");
}

/// The revision a `put --json` reported.
pub fn revision(written: &Value) -> i64 {
    written["revision"].as_i64().expect("revision")
}

/// A running `pvault` with piped stdin and stdout, read line by line (for `put --lines`).
pub struct Running {
    pub child: Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: thread::JoinHandle<String>,
}

impl Running {
    /// Starts `cmd` with piped stdin, stdout and stderr.
    pub fn spawn(cmd: &Cmd) -> Running {
        let mut c = cmd.command();
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = read_all(child.stderr.take().expect("piped stderr"));
        let (tx, lines) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut r = std::io::BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match std::io::BufRead::read_line(&mut r, &mut line) {
                    // Only complete lines count.
                    Ok(n) if n > 0 && line.ends_with('\n') => {
                        if tx.send(line.trim_end().to_string()).is_err() {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        });
        Running {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// Writes one line on stdin.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to pvault");
        stdin.flush().expect("flush");
    }

    /// The next line of stdout, or None if none comes within `timeout` (or stdout closed).
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Closes stdin and waits for the exit; returns (exit code, remaining stdout lines, stderr).
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        drop(self.stdin.take());
        let status = wait_with_timeout(&mut self.child, TIMEOUT, "put --lines");
        let rest: Vec<String> = self.lines.iter().collect();
        (
            status.code(),
            rest,
            self.stderr.join().expect("stderr reader"),
        )
    }
}
