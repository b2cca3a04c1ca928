//! Failed-unlock counters, kept on disk beside the profile so that a new process (or a restarted
//! agent) does not reset them.
//!
//! The counters are not secret and not authenticated: someone who can write the profile directory can
//! reset them, but can also copy the key file and guess offline, where only Argon2id's cost protects
//! the password. The counters slow down guessing through pvault itself.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil;
use pvault_model::security::AttemptPolicy;

/// The on-disk state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    /// Consecutive failures.
    pub failures: u32,
    /// Unix time of the last failure.
    pub last_failure: u64,
    /// Unix time until which every attempt is refused (0 = none).
    pub locked_until: u64,
}

/// Reads, checks and updates the counters of one profile.
pub struct AttemptGuard {
    path: PathBuf,
    policy: AttemptPolicy,
    profile: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl AttemptGuard {
    /// The guard for the counters file at `path`.
    pub fn new(path: &Path, policy: AttemptPolicy, profile: &str) -> Self {
        AttemptGuard {
            path: path.to_path_buf(),
            policy,
            profile: profile.to_string(),
        }
    }

    /// Current counters (a missing or unreadable file counts as the strictest reading we can make:
    /// missing = no failures; unreadable = refuse, so deleting bytes does not reset a lockout).
    pub fn load(&self) -> Result<Attempts> {
        match fsutil::read_optional(&self.path)? {
            None => Ok(Attempts::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Home {
                path: self.path.clone(),
                message: format!("failed-attempt counters are unreadable ({e}); restore or delete the file to continue"),
            }),
        }
    }

    /// Refuses an attempt during a lockout or before the delay since the last failure has passed.
    pub fn check(&self) -> Result<()> {
        let a = self.load()?;
        let t = now();
        if a.locked_until > t {
            return Err(Error::LockedOut {
                profile: self.profile.clone(),
                failures: a.failures,
                wait_secs: a.locked_until - t,
            });
        }
        let ready_at = a.last_failure + self.policy.delay_after(a.failures).as_secs();
        if a.locked_until == 0 && ready_at > t {
            return Err(Error::TooManyAttempts {
                profile: self.profile.clone(),
                wait_secs: ready_at - t,
            });
        }
        Ok(())
    }

    /// Counts a failure; returns the attempts left before a lockout.
    pub fn record_failure(&self) -> Result<u32> {
        let mut a = self.load()?;
        let t = now();
        if a.locked_until != 0 && a.locked_until <= t {
            // A lockout has ended: one more failure locks again.
            a.failures = self.policy.lockout_after.saturating_sub(1);
            a.locked_until = 0;
        }
        a.failures = a.failures.saturating_add(1);
        a.last_failure = t;
        if a.failures >= self.policy.lockout_after {
            a.locked_until = t + self.policy.lockout.as_secs();
        }
        self.store(&a)?;
        Ok(self.policy.lockout_after.saturating_sub(a.failures))
    }

    /// Clears the counters after a successful unlock.
    pub fn record_success(&self) -> Result<()> {
        if self.load()? != Attempts::default() {
            self.store(&Attempts::default())?;
        }
        Ok(())
    }

    fn store(&self, a: &Attempts) -> Result<()> {
        fsutil::write_atomic(
            &self.path,
            &serde_json::to_vec(a).expect("attempts serialize"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy() -> AttemptPolicy {
        AttemptPolicy {
            free_failures: 2,
            max_delay: Duration::from_secs(60),
            lockout_after: 4,
            lockout: Duration::from_secs(3600),
        }
    }

    #[test]
    fn counts_delays_and_locks_out() {
        let dir = tempfile::tempdir().unwrap();
        let g = AttemptGuard::new(&dir.path().join("attempts.json"), policy(), "p");
        g.check().unwrap();
        assert_eq!(g.record_failure().unwrap(), 3);
        g.check().unwrap();
        assert_eq!(g.record_failure().unwrap(), 2);
        assert!(matches!(g.check(), Err(Error::TooManyAttempts { .. })));
        g.record_failure().unwrap();
        assert_eq!(g.record_failure().unwrap(), 0);
        assert!(matches!(
            g.check(),
            Err(Error::LockedOut { failures: 4, .. })
        ));
        // A new guard (a new process) sees the same state.
        let g2 = AttemptGuard::new(&dir.path().join("attempts.json"), policy(), "p");
        assert!(matches!(g2.check(), Err(Error::LockedOut { .. })));
    }

    #[test]
    fn success_resets_and_garbage_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attempts.json");
        let g = AttemptGuard::new(&path, policy(), "p");
        g.record_failure().unwrap();
        g.record_success().unwrap();
        assert_eq!(g.load().unwrap(), Attempts::default());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(g.check().is_err());
    }
}
