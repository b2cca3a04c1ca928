//! Profile security levels and what each one sets.
//!
//! | level      | Argon2id           | Secret Key           | default class | free tries | delay after   | lockout            | auto-lock |
//! |------------|--------------------|----------------------|---------------|------------|---------------|--------------------|-----------|
//! | `standard` | 64 MiB, t=3, p=4   | kept on this device  | INTERNAL      | 5          | 2^n s, ≤ 5 min| 20 tries → 1 h     | 15 min    |
//! | `high`     | 256 MiB, t=3, p=4  | kept on this device  | CONFIDENTIAL  | 3          | 2^n s, ≤ 15 min| 10 tries → 4 h    | 5 min     |
//! | `military` | 1 GiB, t=4, p=4    | typed at every unlock| SECRET        | 2          | 2^n s, ≤ 1 h  | 5 tries → 24 h     | 1 min     |

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use pvault_crypto::{Classification, KdfParams};
use serde::{Deserialize, Serialize};

/// How long a re-authentication lets SECRET and TOP_SECRET records be shown, unless a profile sets
/// its own window.
pub const DEFAULT_REAUTH_WINDOW: Duration = Duration::from_secs(60);

/// A profile's security level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SecurityLevel {
    /// Bitwarden-like defaults.
    #[default]
    Standard,
    /// Stronger KDF, shorter auto-lock, stricter lockout.
    High,
    /// Strongest KDF, Secret Key never stored, SECRET by default.
    Military,
}

/// Failed-unlock policy of a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptPolicy {
    /// Failures allowed without any delay.
    pub free_failures: u32,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// Failures that trigger a lockout.
    pub lockout_after: u32,
    /// How long a lockout lasts.
    pub lockout: Duration,
}

impl AttemptPolicy {
    /// The wait required after `failures` consecutive failures.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures < self.free_failures {
            return Duration::ZERO;
        }
        let exp = (failures - self.free_failures).min(20);
        Duration::from_secs(1u64 << exp).min(self.max_delay)
    }
}

impl SecurityLevel {
    /// Argon2id cost.
    pub fn kdf_params(self) -> KdfParams {
        match self {
            SecurityLevel::Standard => KdfParams {
                m_kib: 64 * 1024,
                t: 3,
                p: 4,
            },
            SecurityLevel::High => KdfParams {
                m_kib: 256 * 1024,
                t: 3,
                p: 4,
            },
            SecurityLevel::Military => KdfParams {
                m_kib: 1024 * 1024,
                t: 4,
                p: 4,
            },
        }
    }

    /// Whether the Secret Key is kept (wrapped under the password) on this device.
    pub fn stores_secret_key(self) -> bool {
        self != SecurityLevel::Military
    }

    /// Classification of records written without one.
    pub fn default_classification(self) -> Classification {
        match self {
            SecurityLevel::Standard => Classification::Internal,
            SecurityLevel::High => Classification::Confidential,
            SecurityLevel::Military => Classification::Secret,
        }
    }

    /// Failed-unlock policy.
    pub fn attempt_policy(self) -> AttemptPolicy {
        let min = |m: u64| Duration::from_secs(60 * m);
        match self {
            SecurityLevel::Standard => AttemptPolicy {
                free_failures: 5,
                max_delay: min(5),
                lockout_after: 20,
                lockout: min(60),
            },
            SecurityLevel::High => AttemptPolicy {
                free_failures: 3,
                max_delay: min(15),
                lockout_after: 10,
                lockout: min(4 * 60),
            },
            SecurityLevel::Military => AttemptPolicy {
                free_failures: 2,
                max_delay: min(60),
                lockout_after: 5,
                lockout: min(24 * 60),
            },
        }
    }

    /// Idle time before an unlocked profile locks itself (used by the agent).
    pub fn auto_lock(self) -> Duration {
        match self {
            SecurityLevel::Standard => Duration::from_secs(15 * 60),
            SecurityLevel::High => Duration::from_secs(5 * 60),
            SecurityLevel::Military => Duration::from_secs(60),
        }
    }

    /// The name used on the command line and in the registry.
    pub fn name(self) -> &'static str {
        match self {
            SecurityLevel::Standard => "standard",
            SecurityLevel::High => "high",
            SecurityLevel::Military => "military",
        }
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SecurityLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "standard" => Ok(SecurityLevel::Standard),
            "high" => Ok(SecurityLevel::High),
            "military" => Ok(SecurityLevel::Military),
            _ => Err(format!(
                "unknown security level '{s}': expected standard, high or military"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = SecurityLevel::Standard.attempt_policy();
        assert_eq!(p.delay_after(4), Duration::ZERO);
        assert_eq!(p.delay_after(5), Duration::from_secs(1));
        assert_eq!(p.delay_after(7), Duration::from_secs(4));
        assert_eq!(p.delay_after(19), Duration::from_secs(300));
        assert!(SecurityLevel::Military.attempt_policy().lockout_after < p.lockout_after);
    }

    #[test]
    fn levels_order_their_costs() {
        let m = |l: SecurityLevel| l.kdf_params().m_kib;
        assert!(m(SecurityLevel::Standard) < m(SecurityLevel::High));
        assert!(m(SecurityLevel::High) < m(SecurityLevel::Military));
        for l in [
            SecurityLevel::Standard,
            SecurityLevel::High,
            SecurityLevel::Military,
        ] {
            l.kdf_params().validate().unwrap();
            assert_eq!(l.name().parse::<SecurityLevel>().unwrap(), l);
        }
        assert!(
            "ultra"
                .parse::<SecurityLevel>()
                .unwrap_err()
                .contains("ultra")
        );
    }
}
