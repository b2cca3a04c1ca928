//! What a server is started with.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use pvault_proto::api::Quota;
use pvault_proto::batch::{MAX_BLOB, MAX_ITEMS};

/// Where the server keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite database, `server.db`, in this directory (created 0700 if missing).
    Sqlite {
        /// The directory holding `server.db`.
        data_dir: PathBuf,
    },
    /// A PostgreSQL database, e.g. `postgres://pvault@db.internal/pvault`. Several servers may share
    /// one database; their real-time announcements then travel through `LISTEN`/`NOTIFY`.
    Postgres {
        /// The connection URL.
        url: String,
    },
}

impl Backend {
    /// `sqlite` or `postgres`, as reported by `/health`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// How to run a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (see [`crate::ServerHandle::addr`]).
    pub listen: SocketAddr,
    /// Where the data lives.
    pub backend: Backend,
    /// Limits every account gets (also sent to devices in [`pvault_proto::api::AccountInfo`]).
    pub quota: Quota,
    /// Largest request body accepted, in bytes; a larger one is answered 413.
    pub max_request_bytes: usize,
    /// Registrations, joins and prelogin lookups, and failed authentications, allowed per minute from
    /// one client address (and the first three per username), before the server answers 429.
    pub auth_rate_per_minute: u32,
}

/// Default per-account limits: a million live records, blobs up to the protocol's 4 MiB, batches of
/// up to 10 000 items and 16 MiB.
pub const DEFAULT_QUOTA: Quota = Quota {
    max_records: 1_000_000,
    max_blob_bytes: MAX_BLOB as u64,
    max_batch_items: MAX_ITEMS as u64,
    max_batch_bytes: 16 << 20,
};

impl ServerConfig {
    /// A server on 127.0.0.1 (any free port) keeping its data in `data_dir/server.db`.
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> Self {
        Self::with_backend(Backend::Sqlite {
            data_dir: data_dir.into(),
        })
    }

    /// A server on 127.0.0.1 (any free port) keeping its data in the PostgreSQL database at `url`.
    pub fn postgres(url: impl Into<String>) -> Self {
        Self::with_backend(Backend::Postgres { url: url.into() })
    }

    fn with_backend(backend: Backend) -> Self {
        ServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            backend,
            quota: DEFAULT_QUOTA,
            // A full batch plus room for the message framing.
            max_request_bytes: DEFAULT_QUOTA.max_batch_bytes as usize + (64 << 10),
            auth_rate_per_minute: 60,
        }
    }
}
