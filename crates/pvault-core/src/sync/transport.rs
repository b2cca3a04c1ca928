//! HTTP to the sync server: signed requests, answers and errors mapped to [`Error`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pvault_proto::DeviceId;
use pvault_proto::api::ErrorBody;
use pvault_proto::auth::{RequestAuth, SigningKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Longest wait for one request.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer read.
const MAX_ANSWER: u64 = 96 << 20;

/// Who signs a request: a device key, or the account key (to register or join).
pub(crate) struct Signer {
    pub key: SigningKey,
    pub device: DeviceId,
}

/// A sync server.
pub(crate) struct Server {
    base: String,
    agent: ureq::Agent,
}

/// Checks a server URL (`http://` or `https://`) and returns it without a trailing slash.
pub(crate) fn normalize_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let bad = |reason: &str| Error::InvalidServerUrl {
        url: trimmed.to_string(),
        reason: reason.into(),
    };
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.contains(['?', '#', ' ', '/']) {
        return Err(bad("not a server URL like https://HOST[:PORT]"));
    }
    Ok(trimmed.to_string())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Server {
    pub(crate) fn new(url: &str) -> Result<Server> {
        let base = normalize_url(url)?;
        let agent = ureq::Agent::config_builder()
            .tls_config(super::tls::http_config()?)
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(Server { base, agent })
    }

    pub(crate) fn url(&self) -> &str {
        &self.base
    }

    /// The `ws://` or `wss://` URL of a path.
    pub(crate) fn ws_url(&self, path: &str) -> String {
        match self.base.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}{path}"),
            None => format!("ws://{}{path}", &self.base["http://".len()..]),
        }
    }

    /// Sends a request; returns the body of a 2xx answer, or the server's error.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        content_type: &str,
        signer: Option<&Signer>,
    ) -> Result<Vec<u8>> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !body.is_empty() {
            req = req.header("content-type", content_type);
        }
        if let Some(s) = signer {
            let auth = sign(s, method, path, body);
            for (k, v) in auth.headers() {
                req = req.header(k, v);
            }
        }
        let req = req
            .body(body.to_vec())
            .map_err(|e| Error::Protocol(format!("request: {e}")))?;
        let mut resp = self.agent.run(req).map_err(|e| self.unreachable(e))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| self.unreachable(e))?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(e) if e.code == "device_revoked" || e.code == "unknown_device" => {
                Error::DeviceRemoved(self.base.clone())
            }
            Ok(e) => Error::Server {
                status,
                code: e.code,
                message: e.message,
            },
            Err(_) => Error::Server {
                status,
                code: "http_error".into(),
                message: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
            },
        })
    }

    /// A JSON request and answer.
    pub(crate) fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
        signer: Option<&Signer>,
    ) -> Result<T> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).expect("request serializes"),
            None => Vec::new(),
        };
        let answer = self.send(method, path, &bytes, "application/json", signer)?;
        serde_json::from_slice(&answer).map_err(|e| Error::Protocol(format!("{path}: {e}")))
    }

    fn unreachable(&self, e: ureq::Error) -> Error {
        Error::ServerUnreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        }
    }
}

/// Signs a request made now with a fresh nonce.
pub(crate) fn sign(s: &Signer, method: &str, path: &str, body: &[u8]) -> RequestAuth {
    RequestAuth::sign(
        &s.key,
        s.device,
        method,
        path,
        unix_now(),
        pvault_crypto::random::bytes(),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked() {
        assert_eq!(
            normalize_url(" http://127.0.0.1:8787/ ").unwrap(),
            "http://127.0.0.1:8787"
        );
        assert_eq!(
            normalize_url("https://sync.example.org").unwrap(),
            "https://sync.example.org"
        );
        for bad in [
            "127.0.0.1:8787",
            "ftp://x",
            "http://",
            "https://",
            "http://a?b",
            "http://a/b",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad}");
        }
    }
}
