//! Timing helpers: medians of repeated runs, and throughput over a fixed time.

use std::time::{Duration, Instant};

/// Median, minimum and maximum of repeated measurements.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stats {
    /// Summarizes `xs` (not empty).
    pub fn of(mut xs: Vec<f64>) -> Stats {
        assert!(!xs.is_empty(), "no measurements");
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        let median = if n % 2 == 1 {
            xs[n / 2]
        } else {
            (xs[n / 2 - 1] + xs[n / 2]) / 2.0
        };
        Stats {
            median,
            min: xs[0],
            max: xs[n - 1],
            runs: n,
        }
    }

    /// The same figures multiplied by `k` (e.g. seconds to milliseconds).
    pub fn scaled(self, k: f64) -> Stats {
        Stats {
            median: self.median * k,
            min: self.min * k,
            max: self.max * k,
            runs: self.runs,
        }
    }
}

/// Runs `f` once and returns its result and the seconds it took.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

/// Calls `f` (which processes `bytes` bytes) repeatedly for about `budget` after a short warm-up, and
/// returns the throughput in bytes per second.
pub fn throughput(budget: Duration, bytes: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..8 {
        f();
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..16 {
            f();
        }
        calls += 16;
    }
    (calls as f64 * bytes as f64) / start.elapsed().as_secs_f64()
}
