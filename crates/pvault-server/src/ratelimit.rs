//! In-memory token buckets limiting authentication attempts per client address and per username.
//!
//! Each bucket holds up to `per_minute` tokens and refills at `per_minute` a minute. Registering,
//! joining and the prelogin lookup take a token from the client's address and from the username;
//! a failed authentication takes one from the address; a signed request is refused while its
//! address has no token left. Limits are per instance (a client spreading attempts over N instances
//! gets N times the rate), which bounds online guessing well enough for keys that cannot be guessed.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Buckets<K> {
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Clone> Buckets<K> {
    fn new() -> Self {
        Buckets {
            map: Mutex::new(HashMap::new()),
        }
    }
}

/// The limiter of one server instance.
pub(crate) struct RateLimiter {
    capacity: f64,
    /// Tokens per second.
    rate: f64,
    ips: Buckets<IpAddr>,
    names: Buckets<String>,
}

impl RateLimiter {
    /// `per_minute` = 0 turns limiting off.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            capacity: f64::from(per_minute),
            rate: f64::from(per_minute) / 60.0,
            ips: Buckets::new(),
            names: Buckets::new(),
        }
    }

    fn enabled(&self) -> bool {
        self.capacity > 0.0
    }

    fn level(&self, b: Option<&Bucket>, now: Instant) -> f64 {
        b.map_or(self.capacity, |b| {
            (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.rate)
                .min(self.capacity)
        })
    }

    /// Seconds until a bucket at `level` has a whole token.
    fn retry_after(&self, level: f64) -> u64 {
        ((1.0 - level) / self.rate).ceil().max(1.0) as u64
    }

    /// An attempt to register, join or look up a username: takes a token from the address and the
    /// username, or none when either is empty (then `Err(seconds to wait)`).
    pub fn attempt(&self, ip: IpAddr, username: &str, now: Instant) -> Result<(), u64> {
        if !self.enabled() {
            return Ok(());
        }
        let mut ips = self.ips.map.lock().unwrap_or_else(|e| e.into_inner());
        let mut names = self.names.map.lock().unwrap_or_else(|e| e.into_inner());
        let ip_level = self.level(ips.get(&ip), now);
        let name_level = self.level(names.get(username), now);
        let lowest = ip_level.min(name_level);
        if lowest < 1.0 {
            return Err(self.retry_after(lowest));
        }
        ips.insert(
            ip,
            Bucket {
                tokens: ip_level - 1.0,
                at: now,
            },
        );
        names.insert(
            username.to_owned(),
            Bucket {
                tokens: name_level - 1.0,
                at: now,
            },
        );
        Ok(())
    }

    /// Whether the address may try to authenticate now.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if !self.enabled() {
            return Ok(());
        }
        let ips = self.ips.map.lock().unwrap_or_else(|e| e.into_inner());
        let level = self.level(ips.get(&ip), now);
        if level < 1.0 {
            Err(self.retry_after(level))
        } else {
            Ok(())
        }
    }

    /// A failed authentication from the address.
    pub fn failure(&self, ip: IpAddr, now: Instant) {
        if !self.enabled() {
            return;
        }
        let mut ips = self.ips.map.lock().unwrap_or_else(|e| e.into_inner());
        let level = self.level(ips.get(&ip), now);
        ips.insert(
            ip,
            Bucket {
                tokens: (level - 1.0).max(0.0),
                at: now,
            },
        );
    }

    /// Forgets buckets that are full again (they are the same as no bucket).
    pub fn prune(&self, now: Instant) {
        let full = |b: &Bucket| self.level(Some(b), now) >= self.capacity;
        self.ips
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, b| !full(b));
        self.names
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, b| !full(b));
    }
}

/// How often [`RateLimiter::prune`] runs.
pub(crate) const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn attempts_are_limited_per_address_and_per_username_and_refill() {
        let t0 = Instant::now();
        let rl = RateLimiter::new(3);
        for _ in 0..3 {
            rl.attempt(A, "alice", t0).unwrap();
        }
        // Address A is out of tokens, whatever the name; so is "alice", from anywhere.
        assert_eq!(rl.attempt(A, "bob", t0), Err(20));
        assert_eq!(rl.attempt(B, "alice", t0), Err(20));
        rl.attempt(B, "bob", t0).unwrap();
        // One token every 20 s.
        rl.attempt(A, "alice", t0 + Duration::from_secs(20))
            .unwrap();
        assert!(rl.check(A, t0 + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn failures_drain_the_address_and_full_buckets_are_forgotten() {
        let t0 = Instant::now();
        let rl = RateLimiter::new(2);
        rl.failure(A, t0);
        rl.check(A, t0).unwrap();
        rl.failure(A, t0);
        assert_eq!(rl.check(A, t0), Err(30));
        rl.check(B, t0).unwrap();
        rl.prune(t0 + Duration::from_secs(60));
        assert!(rl.ips.map.lock().unwrap().is_empty());
        let off = RateLimiter::new(0);
        for _ in 0..100 {
            off.attempt(A, "x", t0).unwrap();
        }
    }
}
