//! Real-time sync: a WebSocket to the server, which announces every new log position; the client
//! pulls when it is ahead of what this device has, and pushes local changes as they appear. It
//! reconnects with backoff and catches up after every reconnection.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use pvault_proto::api::Announce;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use super::device::ws_target;
use super::run::sync;
use super::state::SyncReport;
use super::transport::sign;
use crate::error::{Error, Result};
use crate::store;
use crate::vault::Vault;
use pvault_model::Policy;

/// How often local changes are looked for (and how long a read waits for an announcement).
const POLL: Duration = Duration::from_millis(20);
/// Granularity of the waits between reconnections.
const TICK: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What a watch reports.
#[derive(Debug)]
pub enum WatchEvent {
    /// Connected; the server's log is at `seq`.
    Connected {
        /// The server's head.
        seq: u64,
    },
    /// A sync ran.
    Synced(SyncReport),
    /// A sync or the connection failed; the watch goes on.
    Trouble(Error),
}

/// A WebSocket's transport: plain TCP, or TLS over TCP for `wss://`.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn connect(vault: &Vault) -> Result<WebSocket<Conn>> {
    let (url, path, signer) = ws_target(vault)?;
    let unreachable = |reason: String| Error::ServerUnreachable {
        url: url.clone(),
        reason,
    };
    let (tls, rest) = match url.strip_prefix("wss://") {
        Some(rest) => (true, rest),
        None => (false, url.strip_prefix("ws://").unwrap_or(&url)),
    };
    let hostport = rest.split('/').next().unwrap_or_default();
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => hostport.rsplit_once(':').map_or(hostport, |(h, _)| h),
    };
    let with_port = if hostport.starts_with('[') && hostport.ends_with(']')
        || !hostport.starts_with('[') && !hostport.contains(':')
    {
        format!("{hostport}:{}", if tls { 443 } else { 80 })
    } else {
        hostport.to_string()
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable("no address".into()))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| unreachable(e.to_string()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| unreachable(e.to_string()))?;
    stream.set_nodelay(true).ok();
    let conn = if tls {
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|_| unreachable(format!("'{host}' is not a valid TLS server name")))?;
        let client = rustls::ClientConnection::new(super::tls::client_config()?, name)
            .map_err(|e| unreachable(e.to_string()))?;
        Conn::Tls(Box::new(rustls::StreamOwned::new(client, stream)))
    } else {
        Conn::Plain(stream)
    };
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| unreachable(e.to_string()))?;
    for (k, v) in sign(&signer, "GET", &path, b"").headers() {
        req.headers_mut().insert(
            k,
            v.parse()
                .map_err(|_| Error::Protocol("header value".into()))?,
        );
    }
    let (ws, _) = tungstenite::client(req, conn).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice::<pvault_proto::api::ErrorBody>(b).ok());
            match body {
                Some(b) if b.code == "device_revoked" || b.code == "unknown_device" => {
                    Error::DeviceRemoved(url.clone())
                }
                Some(b) => Error::Server {
                    status: resp.status().as_u16(),
                    code: b.code,
                    message: b.message,
                },
                None => unreachable(format!("WebSocket refused: HTTP {}", resp.status())),
            }
        }
        other => unreachable(other.to_string()),
    })?;
    ws.get_ref()
        .tcp()
        .set_read_timeout(Some(POLL))
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(ws)
}

fn sync_now(vault: &mut Vault, policy: &Policy, on_event: &mut dyn FnMut(WatchEvent)) {
    match sync(vault, policy, &mut |_, _, _| {}) {
        Ok(r) => on_event(WatchEvent::Synced(r)),
        Err(e) => on_event(WatchEvent::Trouble(e)),
    }
}

/// Syncs whenever the server announces a change or a local change appears, until `stop()` is true.
/// Connection failures are reported and retried with backoff; configuration errors end the watch.
pub fn watch(
    vault: &mut Vault,
    policy: &Policy,
    stop: &dyn Fn() -> bool,
    on_event: &mut dyn FnMut(WatchEvent),
) -> Result<()> {
    let mut backoff = Duration::from_millis(500);
    while !stop() {
        let mut ws = match connect(vault) {
            Ok(ws) => ws,
            Err(
                e @ (Error::SyncNotSetUp(_) | Error::SyncTampered(_) | Error::DeviceRemoved(_)),
            ) => {
                return Err(e);
            }
            Err(e) => {
                on_event(WatchEvent::Trouble(e));
                let until = Instant::now() + backoff;
                while Instant::now() < until && !stop() {
                    std::thread::sleep(TICK);
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(500);
        // Catch up with whatever happened while disconnected.
        sync_now(vault, policy, on_event);
        let mut first = true;
        let mut checked = Instant::now();
        // SQLite's data_version moves when another connection commits: only then can there be
        // new local changes to count (counting dirty rows every 20 ms would read the whole
        // push index while a large import is waiting to be pushed).
        let mut seen_version = None;
        loop {
            if stop() {
                let _ = ws.close(None);
                return Ok(());
            }
            // Local changes, whether or not announcements keep arriving.
            if checked.elapsed() >= POLL {
                checked = Instant::now();
                let version = store::data_version(vault.conn()).ok();
                if version.is_none() || version != seen_version {
                    seen_version = version;
                    if store::dirty_count(vault.conn()).unwrap_or(0) > 0 {
                        sync_now(vault, policy, on_event);
                        // Its own commits do not move data_version, a change made meanwhile
                        // does. What a failed sync left is tried again at the next poll.
                        if store::dirty_count(vault.conn()).unwrap_or(0) > 0 {
                            seen_version = None;
                        }
                    }
                }
            }
            match ws.read() {
                Ok(Message::Text(t)) => {
                    let Ok(a) = serde_json::from_str::<Announce>(t.as_str()) else {
                        continue;
                    };
                    if std::mem::take(&mut first) {
                        on_event(WatchEvent::Connected { seq: a.seq });
                    }
                    let have = store::meta_u64(vault.conn(), store::SYNC_PULLED_SEQ).unwrap_or(0);
                    if a.seq > have {
                        sync_now(vault, policy, on_event);
                    }
                }
                Ok(Message::Close(_)) => break,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    on_event(WatchEvent::Trouble(Error::ServerUnreachable {
                        url: "WebSocket".into(),
                        reason: e.to_string(),
                    }));
                    break;
                }
            }
        }
    }
    Ok(())
}
