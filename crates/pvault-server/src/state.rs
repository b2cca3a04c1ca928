//! What every handler shares: the [`AppState`] built once per server (the storage, the quota, the
//! rate limiter, the announcer, the counters, the shutdown signal), and the two ways a request is
//! refused on the state's account (a failed authentication, a rate limit), which are counted.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use pvault_proto::api::Quota;
use tokio::sync::watch;

use crate::error::{AuthFailure, Error};
use crate::metrics::Metrics;
use crate::notify::Announcer;
use crate::ratelimit::RateLimiter;

/// What every handler shares.
pub(crate) struct AppState<S> {
    pub storage: S,
    pub backend: &'static str,
    pub quota: Quota,
    pub limiter: RateLimiter,
    pub announcer: Arc<Announcer>,
    pub metrics: Arc<Metrics>,
    /// Turns true when the server stops (open WebSockets close).
    pub shutdown: watch::Receiver<bool>,
}

impl<S> AppState<S> {
    /// Counts a failed authentication and answers it.
    pub(crate) fn refuse(&self, ip: IpAddr, failure: AuthFailure) -> Error {
        self.metrics.auth_failure(failure);
        self.limiter.failure(ip, Instant::now());
        Error::Auth(failure)
    }

    /// Counts a request refused by the rate limiter and answers it.
    pub(crate) fn rate_limited(&self, retry_after: u64) -> Error {
        self.metrics.rate_limited();
        Error::RateLimited { retry_after }
    }
}

/// The state as a handler extracts it.
pub(crate) type Shared<S> = State<Arc<AppState<S>>>;
