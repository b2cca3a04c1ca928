//! Sync over https:// and wss://, through a TLS-terminating proxy in front of a real server (how a
//! server is usually deployed), with the proxy's CA given in PVAULT_CA_FILE.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::cli_support::Home;

/// A TLS proxy on 127.0.0.1 with a certificate for that address, signed by a fresh CA.
struct TlsProxy {
    addr: SocketAddr,
    ca_pem: String,
}

fn pump(mut tls: rustls::StreamOwned<rustls::ServerConnection, TcpStream>, mut up: TcpStream) {
    let tick = Some(Duration::from_millis(5));
    let _ = tls.sock.set_read_timeout(tick);
    let _ = up.set_read_timeout(tick);
    let mut buf = vec![0u8; 64 << 10];
    let blocked =
        |e: &std::io::Error| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
    loop {
        let mut moved = false;
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if up.write_all(&buf[..n]).is_err() {
                    return;
                }
                moved = true;
            }
            Err(e) if blocked(&e) => {}
            Err(_) => return,
        }
        match up.read(&mut buf) {
            Ok(0) => {
                let _ = tls.flush();
                return;
            }
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|()| tls.flush()).is_err() {
                    return;
                }
                moved = true;
            }
            Err(e) if blocked(&e) => {}
            Err(_) => return,
        }
        if !moved {
            std::thread::yield_now();
        }
    }
}

impl TlsProxy {
    fn start(upstream: SocketAddr) -> TlsProxy {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let key = rcgen::KeyPair::generate().expect("server key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let config = config.clone();
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let Ok(up) = TcpStream::connect(upstream) else {
                        return;
                    };
                    pump(rustls::StreamOwned::new(conn, client), up);
                });
            }
        });
        TlsProxy {
            addr,
            ca_pem: ca.pem(),
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

#[test]
fn sync_and_real_time_work_over_https_with_a_private_ca_and_refuse_an_unknown_one() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = pvault_server::spawn(pvault_server::ServerConfig::sqlite(data.path().join("d")))
        .expect("server");
    let proxy = TlsProxy::start(server.addr());
    let ca = data.path().join("ca.pem");
    std::fs::write(&ca, &proxy.ca_pem).expect("write CA");
    let ca = ca.to_str().expect("utf-8 path");
    let url = proxy.url();

    let a = Home::new();
    let p = a.create("alice", "standard");
    // Without the CA the certificate is refused, and nothing is registered.
    a.cmd(&["--profile", "alice", "sync", "setup", "--server", &url])
        .run()
        .error_line(&["unreachable", "certificate"]);
    a.cmd(&["--profile", "alice", "sync", "setup", "--server", &url])
        .env("PVAULT_CA_FILE", ca)
        .ok();
    a.put("alice", "notes", "n", &json!({"text": "over tls"}));
    a.cmd(&["--profile", "alice", "sync"])
        .env("PVAULT_CA_FILE", ca)
        .ok();
    let b = Home::new();
    let joined = b
        .cmd(&[
            "--json",
            "sync",
            "join",
            "--server",
            &url,
            "--username",
            "alice",
        ])
        .env("PVAULT_SECRET_KEY", &p.secret_key)
        .env("PVAULT_CA_FILE", ca)
        .ok_json();
    assert_eq!(joined["sync"]["pulled"], 1, "{joined}");

    // wss://: the watcher connects through TLS and says so.
    let mut watcher = b
        .cmd(&["--profile", "alice", "--json", "sync", "--watch"])
        .env("PVAULT_CA_FILE", ca)
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("watcher");
    let mut out = watcher.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            if text.contains("\"connected\"") {
                let _ = tx.send(());
            }
        }
    });
    let connected = rx.recv_timeout(Duration::from_secs(30)).is_ok();
    let _ = std::process::Command::new("kill")
        .args(["-INT", &watcher.id().to_string()])
        .status();
    let _ = watcher.wait();
    assert!(connected, "the watcher did not connect over wss://");
}
