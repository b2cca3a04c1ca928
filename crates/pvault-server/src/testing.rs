//! Test and benchmark support, not part of the server's API: a PostgreSQL database of one's own on
//! the local server ([`PgDatabase`]), a way to make a running server lie as an attacker who controls
//! its database would ([`Tamper`]), and a TCP relay that switches which server a client talks to
//! ([`Relay`]). Everything here is blocking (each has its own current-thread tokio runtime where it
//! needs one), for synchronous tests, and panics on failure, as a test would.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use pvault_proto::merkle::Hash;
use pvault_proto::{AccountId, DeviceId, Rid};

use crate::storage::Storage;
use crate::storage::postgres::PgStorage;
use crate::storage::sqlite::SqliteStorage;

/// A fresh database on a PostgreSQL server, dropped (with its connections) on drop.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// URL of the new database.
    pub url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{scheme}://{authority}/{name}{query}")
}

impl PgDatabase {
    /// Creates a database named `{prefix}_{random}` through `PVAULT_TEST_POSTGRES` (default
    /// `postgres://postgres@127.0.0.1:5432/postgres`). When PostgreSQL cannot be reached: panics if
    /// `PVAULT_REQUIRE_POSTGRES=1` (CI), else prints `SKIPPED: ...` on stderr and returns `None`.
    pub fn create(prefix: &str) -> Option<PgDatabase> {
        use sqlx::Connection;
        let admin_url = std::env::var("PVAULT_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{prefix}_{:x}_{nanos:x}_{n}", std::process::id());
        let created = runtime().block_on(async {
            let mut conn = tokio::time::timeout(
                Duration::from_secs(10),
                sqlx::PgConnection::connect(&admin_url),
            )
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        });
        match created {
            Ok(()) => Some(PgDatabase {
                url: with_database(&admin_url, &name),
                admin_url,
                name,
            }),
            Err(e) if std::env::var("PVAULT_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("PostgreSQL not reachable at {admin_url} (PVAULT_REQUIRE_POSTGRES=1): {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: PostgreSQL not reachable at {admin_url}: {e}");
                None
            }
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL of the database the new one was created through.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Every row of every table, as text (bytea in hex), for scans of what the server stored.
    pub fn dump(&self) -> String {
        use sqlx::{Connection, Row};
        runtime().block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
            let tables: Vec<String> = sqlx::query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("list tables")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            let mut out = String::new();
            for t in tables {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT row_to_json(x)::text FROM \"{t}\" x"
                )))
                .fetch_all(&mut conn)
                .await
                .expect("read table");
                for r in rows {
                    out.push_str(&r.get::<String, _>(0));
                    out.push('\n');
                }
            }
            out
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sqlx::Connection;
        let _ = runtime().block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&mut conn)
                .await?;
            conn.close().await
        });
    }
}

/// A handle on the database of a running server, to make it lie: roll its log back, withhold or
/// replay a change, swap or drop a blob, substitute a key or a bundle, add a device, replay a
/// checkpoint, or copy everything into another server (a fork).
///
/// The server keeps running meanwhile. Every change to the log keeps the server's own bookkeeping
/// consistent (the chain hash of every change, the head, the tree nodes, the live-record count), so a
/// client's hash-chain check passes and only the checks made for these lies can catch them;
/// [`Tamper::set_current_blob`] is the exception by design (the log names the old blob's hash).
/// Each lie is one transaction that locks the account as a push does. Methods panic on failure
/// (a missing account, record or change included).
pub struct Tamper {
    runtime: tokio::runtime::Runtime,
    db: Db,
}

enum Db {
    Sqlite(SqliteStorage),
    Postgres(PgStorage),
}

/// Runs a storage call on the tamperer's database; panics with `$what` on failure.
macro_rules! on_db {
    ($self:ident, $what:literal, $s:ident => $call:expr) => {
        match &$self.db {
            Db::Sqlite($s) => $self.runtime.block_on($call),
            Db::Postgres($s) => $self.runtime.block_on($call),
        }
        .unwrap_or_else(|e| panic!("tamper: {}: {e}", $what))
    };
}

/// Panics unless a lie found what it was told to change.
fn found(done: bool, what: &str) {
    assert!(done, "tamper: no such {what}");
}

impl Tamper {
    /// Opens the database of a server started with `ServerConfig::sqlite(data_dir)`.
    pub fn sqlite(data_dir: &Path) -> Tamper {
        let runtime = runtime();
        let storage = runtime
            .block_on(SqliteStorage::open(data_dir))
            .unwrap_or_else(|e| panic!("tamper: open {}: {e}", data_dir.display()));
        Tamper {
            runtime,
            db: Db::Sqlite(storage),
        }
    }

    /// Opens the database of a server started with `ServerConfig::postgres(url)`.
    pub fn postgres(url: &str) -> Tamper {
        let runtime = runtime();
        let storage = runtime
            .block_on(PgStorage::open(url))
            .unwrap_or_else(|e| panic!("tamper: open {url}: {e}"));
        Tamper {
            runtime,
            db: Db::Postgres(storage),
        }
    }

    /// The sequence number of the account's last change.
    pub fn head(&self, account: AccountId) -> u64 {
        on_db!(self, "head", s => s.head_seq(account)).expect("tamper: no such account")
    }

    /// A record's current version: its sequence number, tombstone and blob.
    pub fn current(&self, account: AccountId, rid: Rid) -> Option<(u64, bool, Vec<u8>)> {
        on_db!(self, "current", s => s.tamper_current(account, rid))
    }

    /// Every record the server has a current version of, by sequence number: key, sequence
    /// number, tombstone.
    pub fn records(&self, account: AccountId) -> Vec<(Rid, u64, bool)> {
        on_db!(self, "records", s => s.tamper_records(account))
    }

    /// The whole log: sequence number, key, tombstone, blob hash.
    pub fn changes(&self, account: AccountId) -> Vec<(u64, Rid, bool, Hash)> {
        on_db!(self, "changes", s => s.tamper_changes(account))
    }

    /// Appends a change making `blob` the record's current version, extending the chain and the
    /// tree exactly as a push would (a replay: `blob` may be an older sealed version saved with
    /// [`Tamper::current`]). Returns its sequence number.
    pub fn append(&self, account: AccountId, rid: Rid, tombstone: bool, blob: &[u8]) -> u64 {
        on_db!(self, "append", s => s.tamper_append(account, rid, tombstone, blob))
    }

    /// Overwrites the record's current blob, leaving its change (and the hash it names) alone: a
    /// swapped ciphertext.
    pub fn set_current_blob(&self, account: AccountId, rid: Rid, blob: &[u8]) {
        let done =
            on_db!(self, "set_current_blob", s => s.tamper_set_current_blob(account, rid, blob));
        found(done, "record");
    }

    /// Makes (`seq`, `tombstone`, `blob`) the record's current version, whatever the log says: with
    /// [`Tamper::truncate`], takes back a lie told with [`Tamper::append`].
    pub fn put_current(
        &self,
        account: AccountId,
        rid: Rid,
        seq: u64,
        tombstone: bool,
        blob: &[u8],
    ) {
        on_db!(self, "put_current", s => s.tamper_put_current(account, rid, (seq, tombstone, blob)));
    }

    /// Deletes the record's current version but keeps its changes: pulls then send its newest
    /// change without contents (a withheld blob).
    pub fn drop_blob(&self, account: AccountId, rid: Rid) {
        let done = on_db!(self, "drop_blob", s => s.tamper_drop_blob(account, rid));
        found(done, "record");
    }

    /// Rolls the whole log back to its first `keep` changes: later changes and their tree nodes
    /// go, the head moves back, records whose current version was later are deleted.
    pub fn truncate(&self, account: AccountId, keep: u64) {
        on_db!(self, "truncate", s => s.tamper_truncate(account, keep));
    }

    /// Removes change `seq` from the log and renumbers the later ones (each one less), with their
    /// chain hashes, the tree from there on, and the records' sequence numbers; a record whose
    /// current version it was loses its current row.
    pub fn withhold(&self, account: AccountId, seq: u64) {
        let done = on_db!(self, "withhold", s => s.tamper_withhold(account, seq));
        found(done, "change");
    }

    /// The key bundle: version, KDF description (as prelogin answers it), bundle.
    pub fn bundle(&self, account: AccountId) -> (u64, String, String) {
        on_db!(self, "bundle", s => s.tamper_bundle(account)).expect("tamper: no such account")
    }

    /// Overwrites the key bundle and the KDF description, at any version.
    pub fn set_bundle(&self, account: AccountId, version: u64, kdf: &str, bundle: &str) {
        let done =
            on_db!(self, "set_bundle", s => s.tamper_set_bundle(account, version, kdf, bundle));
        found(done, "account");
    }

    /// Replaces a device's public key (the key requests are checked with, and the one
    /// `DeviceInfo.device_key` shows).
    pub fn set_device_key(&self, account: AccountId, device: DeviceId, key: [u8; 32]) {
        let done =
            on_db!(self, "set_device_key", s => s.tamper_set_device_key(account, device, key));
        found(done, "device");
    }

    /// Adds a device nobody added.
    pub fn add_device(&self, account: AccountId, device: DeviceId, key: [u8; 32], name: &str) {
        let now = crate::auth::now();
        let done =
            on_db!(self, "add_device", s => s.tamper_add_device(account, device, key, name, now));
        assert!(done, "tamper: the account has this device already");
    }

    /// Sets or clears a device's certificate.
    pub fn set_certificate(
        &self,
        account: AccountId,
        device: DeviceId,
        certificate: Option<String>,
    ) {
        on_db!(self, "set_certificate", s => s.set_certificate(account, device, certificate));
    }

    /// The latest checkpoint of each device that published one.
    pub fn checkpoints(&self, account: AccountId) -> Vec<(DeviceId, String)> {
        on_db!(self, "checkpoints", s => s.checkpoints(account))
            .into_iter()
            .map(|c| {
                let device = pvault_proto::parse_id16("device", &c.device_id)
                    .expect("tamper: a stored device id");
                (device, c.note)
            })
            .collect()
    }

    /// Stores `note` as the device's latest checkpoint (a replay of an older one, say).
    pub fn set_checkpoint(&self, account: AccountId, device: DeviceId, note: &str) {
        let now = crate::auth::now();
        on_db!(self, "set_checkpoint", s => s.put_checkpoint(account, device, note.to_owned(), now));
    }

    /// Every stored node of the account's tree: level, index, hash, by level then index.
    pub fn tree_nodes(&self, account: AccountId) -> Vec<(u8, u64, Hash)> {
        on_db!(self, "tree_nodes", s => s.tamper_tree_nodes(account))
    }

    /// Deletes the account's tree nodes and marks its tree unbuilt, as in a database from before
    /// the tree: the server builds it when it next starts.
    pub fn forget_tree(&self, account: AccountId) {
        on_db!(self, "forget_tree", s => s.tamper_forget_tree(account));
    }

    /// Builds the nodes of at most `max` more changes of the account's tree, as the server does
    /// at start (an interrupted build, when `max` is short of the log); returns how many it built.
    pub fn build_tree(&self, account: AccountId, max: u64) -> u64 {
        on_db!(self, "build_tree", s => s.build_tree(account, max))
    }

    /// Copies every row of every table (accounts and their bundles, devices, records, changes, tree
    /// nodes, checkpoints; not nonces) into another server's freshly migrated, empty database, of
    /// either backend: a fork.
    pub fn copy_to(&self, other: &Tamper) {
        let dump = on_db!(self, "copy_to (read)", s => s.tamper_dump());
        on_db!(other, "copy_to (write)", s => s.tamper_load(&dump));
    }
}

impl Drop for Tamper {
    fn drop(&mut self) {
        match &self.db {
            Db::Sqlite(s) => self.runtime.block_on(s.close()),
            Db::Postgres(s) => self.runtime.block_on(s.close()),
        }
    }
}

/// A loopback TCP forwarder between clients and a server, so a test can switch the server a device
/// talks to (a fork: [`Relay::set_target`]) or make it unreachable ([`Relay::pause`]). It copies
/// bytes both ways on two threads per connection and parses nothing, so HTTP and WebSockets pass
/// alike. Dropping it stops it and cuts every connection.
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<RelayShared>,
    accept: Option<thread::JoinHandle<()>>,
}

struct RelayShared {
    target: Mutex<SocketAddr>,
    paused: AtomicBool,
    stopping: AtomicBool,
    next_id: AtomicU64,
    /// Both ends of every open connection, to cut them.
    open: Mutex<HashMap<u64, (TcpStream, TcpStream)>>,
}

/// A lock that a panicking thread left poisoned is still good for the relay's simple state.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RelayShared {
    /// Closes every open connection (both ends): clients see the connection cut.
    fn cut_all(&self) {
        for (_, (client, server)) in lock(&self.open).drain() {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
    }

    fn serve(self: &Arc<Self>, client: TcpStream) -> io::Result<()> {
        if self.paused.load(Ordering::SeqCst) {
            return Ok(()); // dropped: closed at once
        }
        let target = *lock(&self.target);
        let server = TcpStream::connect_timeout(&target, Duration::from_secs(5))?;
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        lock(&self.open).insert(id, (client.try_clone()?, server.try_clone()?));
        let (mut client_in, mut server_out) = (client.try_clone()?, server.try_clone()?);
        thread::spawn(move || {
            let _ = io::copy(&mut client_in, &mut server_out);
            let _ = server_out.shutdown(Shutdown::Write);
        });
        let shared = Arc::clone(self);
        let (mut server_in, mut client_out) = (server, client);
        thread::spawn(move || {
            let _ = io::copy(&mut server_in, &mut client_out);
            let _ = client_out.shutdown(Shutdown::Both);
            let _ = server_in.shutdown(Shutdown::Both);
            lock(&shared.open).remove(&id);
        });
        Ok(())
    }
}

impl Relay {
    /// Listens on a free port of 127.0.0.1 and forwards every connection to `target`.
    pub fn start(target: SocketAddr) -> io::Result<Relay> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(RelayShared {
            target: Mutex::new(target),
            paused: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        });
        let state = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("pvault-relay".into())
            .spawn(move || {
                for client in listener.incoming() {
                    if state.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    // A target that does not answer: the client's connection is closed.
                    if let Ok(client) = client {
                        let _ = state.serve(client);
                    }
                }
            })?;
        Ok(Relay {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, to use as a server's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends new connections to `target`, and cuts the open ones (a client's pooled connection
    /// would otherwise go on talking to the old server).
    pub fn set_target(&self, target: SocketAddr) {
        *lock(&self.shared.target) = target;
        self.shared.cut_all();
    }

    /// While paused, every connection is closed as soon as it is accepted, and the open ones are
    /// cut: the server is unreachable.
    pub fn pause(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
        if paused {
            self.shared.cut_all();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees that it is stopping.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        self.shared.cut_all();
    }
}
