//! Counters for `/metrics`, in the Prometheus text format (version 0.0.4), written by hand.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::error::AuthFailure;

/// Everything the server counts.
#[derive(Default)]
pub(crate) struct Metrics {
    /// Requests by (route, status class such as "2xx").
    requests: Mutex<BTreeMap<(String, &'static str), u64>>,
    pushes: AtomicU64,
    records_applied: AtomicU64,
    conflicts: AtomicU64,
    pulls: AtomicU64,
    auth_failures: [AtomicU64; AuthFailure::ALL.len()],
    rate_limited: AtomicU64,
    ws_connections: AtomicI64,
    announcements: AtomicU64,
    notifications: AtomicU64,
    /// Checkpoint lists answered (with their proofs), and the microseconds spent building them.
    checkpoint_answers: AtomicU64,
    checkpoint_answer_us: AtomicU64,
}

fn class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *requests
            .entry((route.to_owned(), class(status)))
            .or_default() += 1;
    }

    pub fn push(&self, applied: usize, conflicts: usize) {
        self.pushes.fetch_add(1, Relaxed);
        self.records_applied.fetch_add(applied as u64, Relaxed);
        self.conflicts.fetch_add(conflicts as u64, Relaxed);
    }

    pub fn pull(&self) {
        self.pulls.fetch_add(1, Relaxed);
    }

    pub fn auth_failure(&self, reason: AuthFailure) {
        let i = AuthFailure::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.auth_failures[i].fetch_add(1, Relaxed);
    }

    pub fn checkpoint_answer(&self, took: std::time::Duration) {
        self.checkpoint_answers.fetch_add(1, Relaxed);
        self.checkpoint_answer_us
            .fetch_add(took.as_micros() as u64, Relaxed);
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Relaxed);
    }

    pub fn ws_opened(&self) {
        self.ws_connections.fetch_add(1, Relaxed);
    }

    pub fn ws_closed(&self) {
        self.ws_connections.fetch_sub(1, Relaxed);
    }

    pub fn announcement(&self) {
        self.announcements.fetch_add(1, Relaxed);
    }

    pub fn notification(&self) {
        self.notifications.fetch_add(1, Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let name = "pvault_http_requests_total";
        header(
            &mut out,
            name,
            "counter",
            "HTTP requests answered, by route and status class.",
        );
        {
            let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            for ((route, status), n) in requests.iter() {
                let route = escape(route);
                let _ = writeln!(out, "{name}{{route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        let counters = [
            ("pvault_pushes_total", "Pushes committed.", &self.pushes),
            (
                "pvault_records_applied_total",
                "Pushed records applied.",
                &self.records_applied,
            ),
            (
                "pvault_conflicts_total",
                "Pushed records answered with a conflict.",
                &self.conflicts,
            ),
            ("pvault_pulls_total", "Pull pages served.", &self.pulls),
            (
                "pvault_checkpoint_answers_total",
                "Checkpoint lists answered, with their consistency proofs.",
                &self.checkpoint_answers,
            ),
            (
                "pvault_checkpoint_answer_microseconds_total",
                "Time spent reading checkpoints and building their proofs.",
                &self.checkpoint_answer_us,
            ),
            (
                "pvault_rate_limited_total",
                "Requests refused by the rate limiter.",
                &self.rate_limited,
            ),
            (
                "pvault_announcements_total",
                "Head announcements sent to WebSocket clients.",
                &self.announcements,
            ),
            (
                "pvault_notifications_total",
                "PostgreSQL notifications received (from every instance on the database).",
                &self.notifications,
            ),
        ];
        for (name, help, value) in counters {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        }
        let name = "pvault_ws_connections";
        header(&mut out, name, "gauge", "Open WebSocket connections.");
        let _ = writeln!(out, "{name} {}", self.ws_connections.load(Relaxed));
        let name = "pvault_auth_failures_total";
        header(
            &mut out,
            name,
            "counter",
            "Requests whose authentication failed, by reason.",
        );
        for (reason, n) in AuthFailure::ALL.iter().zip(&self.auth_failures) {
            let _ = writeln!(
                out,
                "{name}{{reason=\"{}\"}} {}",
                reason.code(),
                n.load(Relaxed)
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_one_type_line_per_family_and_labelled_samples() {
        let m = Metrics::default();
        m.request("/v1/profiles/{account}/push", 200);
        m.request("/v1/profiles/{account}/push", 201);
        m.request("/v1/profiles/{account}/push", 413);
        m.auth_failure(AuthFailure::Replayed);
        m.push(3, 1);
        let text = m.render();
        assert!(text.contains(
            "pvault_http_requests_total{route=\"/v1/profiles/{account}/push\",status=\"2xx\"} 2\n"
        ));
        assert!(text.contains("status=\"4xx\"} 1\n"));
        assert!(text.contains("pvault_auth_failures_total{reason=\"replayed_request\"} 1\n"));
        assert!(text.contains("pvault_records_applied_total 3\n"));
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let name = line.split(' ').nth(2).unwrap();
            assert_eq!(
                text.matches(&format!("# TYPE {name} ")).count(),
                1,
                "{name}"
            );
        }
    }
}
