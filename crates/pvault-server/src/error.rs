//! The crate's one error type.
//!
//! Policy: everything a client can cause (bad input, failed authentication, a conflict, a quota) is a
//! 4xx answer with a stable `code` in an [`ErrorBody`] and a sentence naming the problem; only the
//! database and the server's own startup fail with a 5xx, and a 5xx never tells the client more than
//! "internal error". Authentication failures say which check failed (the client needs to know whether
//! to fix its clock or re-register), but never anything about other accounts.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pvault_proto::api::ErrorBody;

/// Why a request's signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// A signature header is missing or malformed.
    Malformed,
    /// The request's time is too far from the server's clock.
    Expired,
    /// The signature does not verify with the signer's key.
    BadSignature,
    /// The nonce was already used.
    Replayed,
    /// No such device.
    UnknownDevice,
    /// The device was revoked.
    Revoked,
    /// The device belongs to another account than the one in the path.
    WrongAccount,
}

impl AuthFailure {
    /// Every reason, in a fixed order (for metrics).
    pub const ALL: [AuthFailure; 7] = [
        AuthFailure::Malformed,
        AuthFailure::Expired,
        AuthFailure::BadSignature,
        AuthFailure::Replayed,
        AuthFailure::UnknownDevice,
        AuthFailure::Revoked,
        AuthFailure::WrongAccount,
    ];

    /// The stable code sent in the [`ErrorBody`].
    pub fn code(self) -> &'static str {
        match self {
            AuthFailure::Malformed => "unauthenticated",
            AuthFailure::Expired => "expired_request",
            AuthFailure::BadSignature => "bad_signature",
            AuthFailure::Replayed => "replayed_request",
            AuthFailure::UnknownDevice => "unknown_device",
            AuthFailure::Revoked => "device_revoked",
            AuthFailure::WrongAccount => "wrong_account",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            AuthFailure::Revoked | AuthFailure::WrongAccount => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn message(self) -> &'static str {
        match self {
            AuthFailure::Malformed => {
                "the request is not signed (missing or malformed x-pvault-* headers)"
            }
            AuthFailure::Expired => {
                "the request's time is more than 5 minutes from the server's clock (check the clock)"
            }
            AuthFailure::BadSignature => "the request's signature does not verify",
            AuthFailure::Replayed => "this request was already received once (replayed nonce)",
            AuthFailure::UnknownDevice => "this device is not registered with the server",
            AuthFailure::Revoked => "this device was revoked",
            AuthFailure::WrongAccount => "this device belongs to another profile",
        }
    }
}

/// Everything that can go wrong, from startup to a single request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQLite data directory cannot be created or used.
    #[error("cannot use the data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The listening socket cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: SocketAddr,
        /// What the system said.
        source: io::Error,
    },
    /// The server's thread or runtime cannot be started.
    #[error("cannot start the server: {0}")]
    Runtime(io::Error),
    /// The server's thread ended before it was listening.
    #[error("the server stopped before it was ready")]
    Stopped,
    /// A database operation failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database does not answer.
    #[error("the database is unavailable")]
    Unavailable,
    /// The schema cannot be brought to this build's version.
    #[error("cannot migrate the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A malformed request (bad JSON, bad binary message, bad id, bad query).
    #[error("{message}")]
    BadRequest {
        /// The stable code sent to the client.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A request over a size limit.
    #[error("{message}")]
    TooLarge {
        /// The stable code sent to the client.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request's signature was not accepted.
    #[error("authentication failed: {}", .0.message())]
    Auth(AuthFailure),
    /// Too many attempts from this address or for this username.
    #[error("too many attempts; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until the next attempt is allowed (the `Retry-After` header).
        retry_after: u64,
    },
    /// Registration with a username another account has.
    #[error("the username is taken")]
    UsernameTaken,
    /// Registration of an account id that exists.
    #[error("this profile is already registered")]
    AccountExists,
    /// No account with this username or id.
    #[error("no such account")]
    UnknownAccount,
    /// Join with a device id the account already has (with another key, or revoked).
    #[error("this device id is already registered for the profile")]
    DeviceExists,
    /// Revocation of a device the account does not have.
    #[error("no such device in this profile")]
    NoSuchDevice,
    /// The bundle is no longer at the expected version.
    #[error("the key bundle changed meanwhile (now at version {current})")]
    BundleConflict {
        /// The bundle's version now.
        current: u64,
    },
    /// The push would take the account over its live-record quota.
    #[error("the push would exceed the quota of {max} records; nothing was applied")]
    QuotaExceeded {
        /// The account's limit of live records.
        max: u64,
    },
    /// A pull from beyond the log's head: the server lost changes the client saw.
    #[error("since={since} is beyond the server's head {head}")]
    SinceAhead {
        /// What the client asked for.
        since: u64,
        /// The server's head.
        head: u64,
    },
    /// A proof up to beyond the log's head.
    #[error("to={to} is beyond the server's head {head}")]
    BeyondHead {
        /// What the client asked for.
        to: u64,
        /// The server's head.
        head: u64,
    },
    /// A proof the account's tree is not built for yet (its nodes are being built after an upgrade).
    #[error("the profile's Merkle tree is still being built; try again later")]
    TreePending,
    /// A device setting what only another device may set (its own certificate).
    #[error("a device may set only its own certificate")]
    NotThisDevice,
    /// No such endpoint.
    #[error("no such endpoint")]
    NotFound,
    /// The endpoint exists, not with this method.
    #[error("method not allowed for this endpoint")]
    MethodNotAllowed,
}

impl Error {
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Error {
        Error::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn too_large(code: &'static str, message: impl Into<String>) -> Error {
        Error::TooLarge {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status and stable code this error is answered with.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Error::DataDir { .. }
            | Error::Listen { .. }
            | Error::Runtime(_)
            | Error::Stopped
            | Error::Migrate(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
            Error::Unavailable => (S::SERVICE_UNAVAILABLE, "unavailable"),
            Error::Database(e) if is_unavailable(e) => (S::SERVICE_UNAVAILABLE, "unavailable"),
            Error::Database(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
            Error::BadRequest { code, .. } => (S::BAD_REQUEST, code),
            Error::TooLarge { code, .. } => (S::PAYLOAD_TOO_LARGE, code),
            Error::Auth(f) => (f.status(), f.code()),
            Error::RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate_limited"),
            Error::UsernameTaken => (S::CONFLICT, "username_taken"),
            Error::AccountExists => (S::CONFLICT, "account_exists"),
            Error::UnknownAccount => (S::NOT_FOUND, "unknown_account"),
            Error::DeviceExists => (S::CONFLICT, "device_exists"),
            Error::NoSuchDevice => (S::NOT_FOUND, "no_such_device"),
            Error::BundleConflict { .. } => (S::CONFLICT, "bundle_conflict"),
            Error::QuotaExceeded { .. } => (S::FORBIDDEN, "quota_exceeded"),
            Error::SinceAhead { .. } => (S::CONFLICT, "since_ahead"),
            Error::BeyondHead { .. } => (S::CONFLICT, "beyond_head"),
            Error::TreePending => (S::SERVICE_UNAVAILABLE, "tree_pending"),
            Error::NotThisDevice => (S::FORBIDDEN, "not_this_device"),
            Error::NotFound => (S::NOT_FOUND, "not_found"),
            Error::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method_not_allowed"),
        }
    }

    /// The body this error is answered with.
    pub(crate) fn body(&self) -> ErrorBody {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            // Database details stay in the server.
            match code {
                "unavailable" => "the server's database is unavailable; try again later".into(),
                "tree_pending" => self.to_string(),
                _ => "internal server error".into(),
            }
        } else {
            self.to_string()
        };
        ErrorBody {
            code: code.into(),
            message,
        }
    }
}

/// Whether a database error means the database cannot be reached (rather than a bug).
fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
    )
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Error::RateLimited { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
