//! HTTP without pvault's sync client, for the sync benchmarks:
//!
//! - [`RawServer`], the baseline: a minimal axum server on loopback that serves a list of byte
//!   strings (`GET /page/{i}`) and swallows uploads (`POST /sink`), fetched with [`download`] and
//!   [`upload`] through ureq, one request at a time, the way the sync client makes its requests;
//! - [`RawDevice`], the breakdowns: a device that speaks the protocol with signed requests and does
//!   nothing else. Joined to a profile with the password and Secret Key (as `join` does), it pulls
//!   the log and only reads the pages: the server's share of a pull. Registered with an account of
//!   its own, it pushes the same sealed items: the server's share of a push.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use pvault_crypto::{KdfSection, ProfileId, SecretKey};
use pvault_proto::api::{NewDevice, Prelogin, RegisterAccount};
use pvault_proto::auth::{RequestAuth, SigningKey, public_key_string};
use pvault_proto::batch::{CONTENT_TYPE, PullPage, PushItem, PushRequest, PushResult};
use tokio::sync::oneshot;

/// Largest body read or accepted, as the sync client's (`transport::MAX_ANSWER`).
const MAX_BODY: u64 = 96 << 20;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn read_body(resp: &mut ureq::http::Response<ureq::Body>) -> Result<Vec<u8>> {
    Ok(resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()?)
}

/// The baseline server, on its own thread and tokio runtime with 2 workers (as
/// `pvault_server::spawn`); stopped when dropped.
pub struct RawServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn page(State(pages): State<Arc<Vec<Bytes>>>, Path(i): Path<usize>) -> (StatusCode, Bytes) {
    match pages.get(i) {
        Some(p) => (StatusCode::OK, p.clone()),
        None => (StatusCode::NOT_FOUND, Bytes::new()),
    }
}

async fn sink(body: Bytes) -> StatusCode {
    std::hint::black_box(&body);
    StatusCode::NO_CONTENT
}

impl RawServer {
    pub fn start(pages: Vec<Vec<u8>>) -> Result<RawServer> {
        let pages: Arc<Vec<Bytes>> = Arc::new(pages.into_iter().map(Bytes::from).collect());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let app = Router::new()
                    .route("/page/{i}", get(page))
                    .route("/sink", post(sink))
                    .layer(DefaultBodyLimit::max(MAX_BODY as usize))
                    .with_state(pages);
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(listener.local_addr());
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = ready_rx
            .recv()
            .context("the baseline server did not start")??;
        Ok(RawServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// GETs pages `0..n` in order, one at a time, each body read into a `Vec`; returns the seconds it took
/// and the bytes received.
pub fn download(url: &str, n: usize) -> Result<(f64, u64)> {
    let agent = agent();
    let start = Instant::now();
    let mut bytes = 0u64;
    for i in 0..n {
        let mut resp = agent.get(format!("{url}/page/{i}")).call()?;
        if resp.status() != 200 {
            bail!("baseline GET /page/{i}: HTTP {}", resp.status());
        }
        bytes += read_body(&mut resp)?.len() as u64;
    }
    Ok((start.elapsed().as_secs_f64(), bytes))
}

/// POSTs each of `pages` in order, one at a time; returns the seconds it took.
pub fn upload(url: &str, pages: &[Vec<u8>]) -> Result<f64> {
    let agent = agent();
    let start = Instant::now();
    for p in pages {
        let resp = agent
            .post(format!("{url}/sink"))
            .content_type("application/octet-stream")
            .send(&p[..])?;
        if resp.status() != 204 {
            bail!("baseline POST /sink: HTTP {}", resp.status());
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// A device of a pvault account that speaks the protocol directly.
pub struct RawDevice {
    base: String,
    agent: ureq::Agent,
    key: SigningKey,
    device: [u8; 16],
    account: String,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl RawDevice {
    /// Registers a new device on `username`'s account from the password and Secret Key, as `join`
    /// does (without fetching the key bundle).
    pub fn join(url: &str, username: &str, password: &[u8], secret_key: &str) -> Result<RawDevice> {
        let agent = agent();
        let mut resp = agent
            .get(format!("{url}/v1/accounts/{username}/prelogin"))
            .call()?;
        let pre: Prelogin = serde_json::from_slice(&read_body(&mut resp)?)?;
        let profile = ProfileId::parse(&pre.account_id)?;
        let kdf: KdfSection = serde_json::from_str(&pre.kdf)?;
        let kek = kdf.derive_kek(&profile, password, &SecretKey::parse(secret_key)?)?;
        let account_key = SigningKey::from_bytes(kek.account_signing_seed().expose());
        let device: [u8; 16] = pvault_crypto::random::bytes();
        let key = SigningKey::from_bytes(&pvault_crypto::random::bytes::<32>());
        let raw = RawDevice {
            base: url.to_string(),
            agent,
            key,
            device,
            account: pre.account_id,
        };
        let body = serde_json::to_vec(&NewDevice {
            device_id: hex::encode(device),
            device_key: public_key_string(&raw.key.verifying_key()),
            name: "raw client".into(),
        })?;
        raw.send(
            &account_key,
            "POST",
            &format!("/v1/accounts/{username}/devices"),
            &body,
            "application/json",
        )?;
        Ok(raw)
    }

    /// Registers a new account with random keys (its key bundle a placeholder: the server never
    /// opens it) and this device.
    pub fn register(url: &str, username: &str) -> Result<RawDevice> {
        let account_key = SigningKey::from_bytes(&pvault_crypto::random::bytes::<32>());
        let account: [u8; 16] = pvault_crypto::random::bytes();
        let raw = RawDevice {
            base: url.to_string(),
            agent: agent(),
            key: SigningKey::from_bytes(&pvault_crypto::random::bytes::<32>()),
            device: pvault_crypto::random::bytes(),
            account: hex::encode(account),
        };
        let body = serde_json::to_vec(&RegisterAccount {
            username: username.to_string(),
            account_id: raw.account.clone(),
            account_key: public_key_string(&account_key.verifying_key()),
            kdf: "{}".into(),
            bundle: "{}".into(),
            device: NewDevice {
                device_id: hex::encode(raw.device),
                device_key: public_key_string(&raw.key.verifying_key()),
                name: "raw client".into(),
            },
        })?;
        raw.send(
            &account_key,
            "POST",
            "/v1/accounts",
            &body,
            "application/json",
        )?;
        Ok(raw)
    }

    fn send(
        &self,
        key: &SigningKey,
        method: &str,
        path: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<Vec<u8>> {
        let auth = RequestAuth::sign(
            key,
            self.device,
            method,
            path,
            unix_now(),
            pvault_crypto::random::bytes(),
            body,
        );
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !body.is_empty() {
            req = req.header("content-type", content_type);
        }
        for (k, v) in auth.headers() {
            req = req.header(k, v);
        }
        let mut resp = self.agent.run(req.body(body.to_vec())?)?;
        let status = resp.status().as_u16();
        let answer = read_body(&mut resp)?;
        if !(200..300).contains(&status) {
            bail!(
                "{method} {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(200)])
            );
        }
        Ok(answer)
    }

    /// Pulls the whole log, `limit` changes per page, as the sync client asks for it. Returns the
    /// page bodies and the seconds spent in requests (decoding a page to find the next one is not
    /// counted).
    pub fn pull_all(&self, limit: usize) -> Result<(Vec<Vec<u8>>, f64)> {
        let (mut pages, mut secs, mut since) = (Vec::new(), 0.0, 0u64);
        loop {
            let path = format!(
                "/v1/profiles/{}/pull?since={since}&limit={limit}",
                self.account
            );
            let start = Instant::now();
            let body = self.send(&self.key, "GET", &path, b"", "")?;
            secs += start.elapsed().as_secs_f64();
            let page = PullPage::decode(&body)?;
            pages.push(body);
            since = page.end.seq;
            if !page.more {
                return Ok((pages, secs));
            }
        }
    }

    /// Pushes `items` in requests of `per` (in the order given); returns the seconds spent in
    /// requests (encoding them is not counted).
    pub fn push_all(&self, items: &[PushItem], per: usize) -> Result<f64> {
        let path = format!("/v1/profiles/{}/push", self.account);
        let mut secs = 0.0;
        for chunk in items.chunks(per) {
            let body = PushRequest {
                items: chunk.to_vec(),
            }
            .encode();
            let start = Instant::now();
            let answer = self.send(&self.key, "POST", &path, &body, CONTENT_TYPE)?;
            secs += start.elapsed().as_secs_f64();
            let result = PushResult::decode(&answer)?;
            if result.applied.len() != chunk.len() {
                bail!(
                    "the server applied {} of {} items",
                    result.applied.len(),
                    chunk.len()
                );
            }
        }
        Ok(secs)
    }
}

/// The changes of pull pages as new items to push elsewhere.
pub fn items_of(pages: &[Vec<u8>]) -> Result<Vec<PushItem>> {
    let mut items = Vec::new();
    for p in pages {
        for c in PullPage::decode(p)?.changes {
            items.push(PushItem {
                rid: c.rid,
                base_seq: 0,
                tombstone: c.tombstone,
                blob: c.blob.context("a pull page without a blob")?,
            });
        }
    }
    Ok(items)
}
