//! TLS for `https://` servers: rustls on aws-lc-rs (the crypto library the rest of pvault uses),
//! trusting the Mozilla roots, or only the certificates in the PEM file named by `PVAULT_CA_FILE`
//! (a self-hosted server with its own CA).

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::{Error, Result};

/// Environment variable naming a PEM file of CA certificates to trust instead of the Mozilla roots.
pub const CA_FILE_ENV: &str = "PVAULT_CA_FILE";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The certificates of `PVAULT_CA_FILE`, when it is set.
fn custom_roots() -> Result<Option<Vec<CertificateDer<'static>>>> {
    let Some(path) = std::env::var_os(CA_FILE_ENV) else {
        return Ok(None);
    };
    let bad = |reason: String| Error::ServerUnreachable {
        url: format!("{CA_FILE_ENV}={}", path.to_string_lossy()),
        reason,
    };
    let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM file of certificates: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    Ok(Some(certs))
}

/// The TLS configuration of HTTP requests.
pub(crate) fn http_config() -> Result<ureq::tls::TlsConfig> {
    let roots = match custom_roots()? {
        Some(certs) => ureq::tls::RootCerts::new_with_certs(
            &certs
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                .collect::<Vec<_>>(),
        ),
        None => ureq::tls::RootCerts::WebPki,
    };
    Ok(ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(provider())
        .root_certs(roots)
        .build())
}

/// The rustls client configuration of WebSocket connections (`wss://`).
pub(crate) fn client_config() -> Result<Arc<rustls::ClientConfig>> {
    let mut store = rustls::RootCertStore::empty();
    match custom_roots()? {
        Some(certs) => {
            for c in certs {
                store.add(c).map_err(|e| Error::ServerUnreachable {
                    url: CA_FILE_ENV.into(),
                    reason: format!("unusable CA certificate: {e}"),
                })?;
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Protocol(format!("TLS: {e}")))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
