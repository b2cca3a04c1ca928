//! What every server test needs: a fresh backend (a temporary SQLite directory, or a fresh database
//! on the local PostgreSQL), servers started on it, and a client that signs its requests.

#![allow(dead_code)]

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pvault_proto::api::{ErrorBody, NewDevice, RegisterAccount};
use pvault_proto::auth::{RequestAuth, SigningKey, public_key_string};
use pvault_proto::batch::{PullPage, PushItem, PushRequest, PushResult};
use pvault_proto::chain::ChainHead;
use pvault_proto::merkle::{Frontier, change_leaf};
use pvault_server::testing::{PgDatabase, Tamper};
use pvault_server::{ServerConfig, ServerHandle};
use rand_core::{OsRng, RngCore};
use serde::de::DeserializeOwned;

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Writes each test once; runs it on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name($crate::support::Kind::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name($crate::support::Kind::Postgres) })*
        }
    };
}

pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A backend of its own for one test; dropped after the servers started on it.
pub struct Fixture {
    pub kind: Kind,
    dir: Option<tempfile::TempDir>,
    pg: Option<PgDatabase>,
}

impl Fixture {
    /// A fresh backend, or `None` when PostgreSQL is wanted but not reachable (and not required).
    pub fn new(kind: Kind) -> Option<Fixture> {
        match kind {
            Kind::Sqlite => Some(Fixture {
                kind,
                dir: Some(tempfile::tempdir().unwrap()),
                pg: None,
            }),
            Kind::Postgres => PgDatabase::create("pvault_t").map(|pg| Fixture {
                kind,
                dir: None,
                pg: Some(pg),
            }),
        }
    }

    /// The default configuration for this backend.
    pub fn config(&self) -> ServerConfig {
        match (&self.dir, &self.pg) {
            (Some(dir), _) => ServerConfig::sqlite(dir.path().join("data")),
            (_, Some(pg)) => ServerConfig::postgres(pg.url.clone()),
            _ => unreachable!(),
        }
    }

    pub fn start(&self) -> ServerHandle {
        pvault_server::spawn(self.config()).unwrap()
    }

    pub fn start_with(&self, change: impl FnOnce(&mut ServerConfig)) -> ServerHandle {
        let mut config = self.config();
        change(&mut config);
        pvault_server::spawn(config).unwrap()
    }

    /// Drops the PostgreSQL database under the running servers.
    pub fn drop_database(&mut self) {
        drop(self.pg.take());
    }

    /// Ends the PostgreSQL sessions of the servers' notification listeners (as a database restart or
    /// a network cut would); returns how many.
    pub fn kill_pg_listeners(&self) -> i64 {
        use sqlx::Connection;
        let pg = self.pg.as_ref().expect("a PostgreSQL fixture");
        pg_runtime().block_on(async {
            let mut conn = sqlx::PgConnection::connect(pg.admin_url()).await.unwrap();
            let killed: i64 = sqlx::query_scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = $1 AND query ILIKE 'LISTEN%'",
            )
            .bind(pg.name())
            .fetch_one(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
            killed
        })
    }

    /// The SQLite data directory.
    pub fn data_dir(&self) -> Option<std::path::PathBuf> {
        self.dir.as_ref().map(|d| d.path().join("data"))
    }

    /// A tamperer on this backend's database (the servers on it keep running). For SQLite, a
    /// server must have created the database first.
    pub fn tamper(&self) -> Tamper {
        match (&self.dir, &self.pg) {
            (Some(dir), _) => Tamper::sqlite(&dir.path().join("data")),
            (_, Some(pg)) => Tamper::postgres(&pg.url),
            _ => unreachable!(),
        }
    }

    /// The other backend.
    pub fn other_kind(&self) -> Kind {
        match self.kind {
            Kind::Sqlite => Kind::Postgres,
            Kind::Postgres => Kind::Sqlite,
        }
    }
}

fn pg_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An answer: status, headers that tests look at, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not the expected JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The error code, checking that the body is an `ErrorBody`.
    pub fn code(&self) -> String {
        assert!(self.status >= 400, "expected an error, got {self:?}");
        let e: ErrorBody = self.json();
        assert!(!e.message.is_empty());
        e.code
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// Asserts a status, showing the body when it is not.
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }
}

/// A key that signs: an account key or a device key, with the device id it signs for.
pub struct Signer<'a> {
    pub key: &'a SigningKey,
    pub device: [u8; 16],
}

/// A plain HTTP client of one server.
pub struct Client {
    pub base: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(server: &ServerHandle) -> Client {
        Client::at(server.url())
    }

    pub fn at(base: String) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Client { base, agent }
    }

    /// A request with exactly these headers.
    pub fn raw(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Reply {
        self.try_raw(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A request with exactly these headers; `Err` when no answer came (the connection failed).
    pub fn try_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Reply, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            builder = builder.header(*k, v);
        }
        let result = if body.is_empty() {
            self.agent.run(builder.body(()).unwrap())
        } else {
            self.agent.run(builder.body(body.to_vec()).unwrap())
        };
        let mut response = result?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let content_type = header("content-type");
        let retry_after = header("retry-after");
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()?;
        Ok(Reply {
            status: response.status().as_u16(),
            content_type,
            retry_after,
            body,
        })
    }

    pub fn get(&self, path: &str) -> Reply {
        self.raw("GET", path, &[], b"")
    }

    /// A request signed now with a fresh nonce.
    pub fn signed(&self, signer: &Signer, method: &str, path: &str, body: &[u8]) -> Reply {
        let auth = sign(signer, method, path, body, unix_now());
        self.send(&auth, method, path, body)
    }

    /// A request with the given authentication.
    pub fn send(&self, auth: &RequestAuth, method: &str, path: &str, body: &[u8]) -> Reply {
        let headers: Vec<(&str, String)> = auth.headers().into_iter().collect();
        self.raw(method, path, &headers, body)
    }

    /// Registers a new account with one device.
    pub fn register(&self, username: &str) -> (Account, Device) {
        let account = Account {
            id: random(),
            username: username.to_owned(),
            key: SigningKey::from_bytes(&random()),
        };
        let device = Device::new();
        let body = serde_json::to_vec(&RegisterAccount {
            username: username.to_owned(),
            account_id: hex::encode(account.id),
            account_key: public_key_string(&account.key.verifying_key()),
            kdf: "argon2id$m=65536,t=3,p=4$c2FsdA".into(),
            bundle: "sealed-bundle-v1".into(),
            device: device.new_device("laptop"),
        })
        .unwrap();
        self.signed(&account.signer(device.id), "POST", "/v1/accounts", &body)
            .expect(200);
        (account, device)
    }

    /// Adds a new device to an account (signed with the account key).
    pub fn join(&self, account: &Account, name: &str) -> (Device, Reply) {
        let device = Device::new();
        let reply = self.join_device(account, &device, name);
        (device, reply)
    }

    /// Adds this device to an account.
    pub fn join_device(&self, account: &Account, device: &Device, name: &str) -> Reply {
        let body = serde_json::to_vec(&device.new_device(name)).unwrap();
        let path = format!("/v1/accounts/{}/devices", account.username);
        self.signed(&account.signer(device.id), "POST", &path, &body)
    }

    pub fn push(&self, account: &Account, device: &Device, items: Vec<PushItem>) -> Reply {
        let body = PushRequest { items }.encode();
        self.signed(&device.signer(), "POST", &account.path("/push"), &body)
    }

    /// A push that must succeed.
    pub fn push_ok(&self, account: &Account, device: &Device, items: Vec<PushItem>) -> PushResult {
        let reply = self.push(account, device, items).expect(200);
        assert_eq!(
            reply.content_type.as_deref(),
            Some(pvault_proto::batch::CONTENT_TYPE)
        );
        PushResult::decode(&reply.body).unwrap()
    }

    pub fn pull(
        &self,
        account: &Account,
        device: &Device,
        since: u64,
        limit: Option<u64>,
    ) -> Reply {
        let query = match limit {
            Some(l) => format!("/pull?since={since}&limit={l}"),
            None => format!("/pull?since={since}"),
        };
        self.signed(&device.signer(), "GET", &account.path(&query), b"")
    }

    pub fn pull_ok(
        &self,
        account: &Account,
        device: &Device,
        since: u64,
        limit: Option<u64>,
    ) -> PullPage {
        PullPage::decode(&self.pull(account, device, since, limit).expect(200).body).unwrap()
    }

    /// Every change since 0, page by page, with the chain checked from genesis.
    pub fn pull_all(
        &self,
        account: &Account,
        device: &Device,
        limit: u64,
    ) -> (Vec<PullPage>, ChainHead) {
        let mut head = ChainHead::genesis(&account.id);
        let mut pages = Vec::new();
        loop {
            let page = self.pull_ok(account, device, head.seq, Some(limit));
            head = verify_page(head, &page);
            let more = page.more;
            pages.push(page);
            if !more {
                return (pages, head);
            }
        }
    }
}

/// The Merkle tree of a log as a client computes it from pulled changes: the root of every size.
pub fn roots(pages: &[PullPage]) -> Vec<[u8; 32]> {
    let mut frontier = Frontier::new();
    let mut roots = vec![frontier.root()];
    for c in pages.iter().flat_map(|p| &p.changes) {
        frontier.push(change_leaf(c.seq, &c.rid, c.tombstone, &c.blob_hash));
        roots.push(frontier.root());
    }
    roots
}

/// Recomputes the chain over a page from the head before it; checks it ends at `page.end`.
pub fn verify_page(mut head: ChainHead, page: &PullPage) -> ChainHead {
    assert_eq!(page.since, head.seq);
    for c in &page.changes {
        head = head.next(c.seq, &c.rid, c.tombstone, &c.blob_hash);
    }
    assert_eq!(head, page.end, "the page's chain does not reach its end");
    head
}

pub fn sign(signer: &Signer, method: &str, path: &str, body: &[u8], time: u64) -> RequestAuth {
    RequestAuth::sign(
        signer.key,
        signer.device,
        method,
        path,
        time,
        random(),
        body,
    )
}

pub struct Account {
    pub id: [u8; 16],
    pub username: String,
    pub key: SigningKey,
}

impl Account {
    pub fn signer(&self, device: [u8; 16]) -> Signer<'_> {
        Signer {
            key: &self.key,
            device,
        }
    }

    /// `/v1/profiles/{id}` + `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/v1/profiles/{}{rest}", hex::encode(self.id))
    }
}

pub struct Device {
    pub id: [u8; 16],
    pub key: SigningKey,
}

impl Device {
    pub fn new() -> Device {
        Device {
            id: random(),
            key: SigningKey::from_bytes(&random()),
        }
    }

    pub fn signer(&self) -> Signer<'_> {
        Signer {
            key: &self.key,
            device: self.id,
        }
    }

    pub fn new_device(&self, name: &str) -> NewDevice {
        NewDevice {
            device_id: hex::encode(self.id),
            device_key: public_key_string(&self.key.verifying_key()),
            name: name.into(),
        }
    }
}

/// A new record (base 0) or an edit.
pub fn item(rid: [u8; 16], base_seq: u64, blob: &[u8]) -> PushItem {
    PushItem {
        rid,
        base_seq,
        tombstone: false,
        blob: blob.to_vec(),
    }
}

/// A WebSocket client of `/v1/profiles/{account}/ws`.
pub type Socket = tungstenite::WebSocket<TcpStream>;

/// Opens the announcement socket; `Err` carries the HTTP status of a refused upgrade.
pub fn connect_ws(server_url: &str, account: &Account, signer: &Signer) -> Result<Socket, u16> {
    use tungstenite::client::IntoClientRequest;
    let path = account.path("/ws");
    let auth = sign(signer, "GET", &path, b"", unix_now());
    let url = format!("{}{path}", server_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    for (k, v) in auth.headers() {
        request.headers_mut().insert(k, v.parse().unwrap());
    }
    let host = server_url.trim_start_matches("http://");
    let stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    match tungstenite::client(request, stream) {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            Err(r.status().as_u16())
        }
        Err(e) => panic!("WebSocket handshake: {e}"),
    }
}

/// The next announcement on a socket (panics after the read timeout).
pub fn next_announce(socket: &mut Socket) -> u64 {
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let a: pvault_proto::api::Announce = serde_json::from_str(&t).unwrap();
                return a.seq;
            }
            Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_)) => continue,
            Ok(other) => panic!("unexpected WebSocket message {other:?}"),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                panic!("no announcement within the timeout")
            }
            Err(e) => panic!("WebSocket: {e}"),
        }
    }
}

/// Reads announcements until one reaches `seq` (several pushes may be announced as one or each).
pub fn wait_announce(socket: &mut Socket, seq: u64) {
    loop {
        let got = next_announce(socket);
        assert!(got <= seq, "announced {got}, beyond {seq}");
        if got == seq {
            return;
        }
    }
}
