//! Hybrid logical clock: 48 bits of Unix milliseconds and a 16-bit counter in one `u64`.
//!
//! Revisions from one device are strictly increasing even when the wall clock steps back, and stay
//! close to wall time so that revisions from different devices compare meaningfully (sync uses them
//! for last-writer-wins).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The revision after `last` at wall time `now_ms`.
pub fn next(last: u64, now_ms: u64) -> u64 {
    let (phys, logical) = (last >> 16, last & 0xFFFF);
    if now_ms > phys {
        now_ms << 16
    } else if logical < 0xFFFF {
        (phys << 16) | (logical + 1)
    } else {
        (phys + 1) << 16
    }
}

/// The wall-clock milliseconds part of a revision.
#[cfg(test)]
fn millis(rev: u64) -> u64 {
    rev >> 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_even_when_clock_goes_back() {
        let mut r = 0;
        let mut seen = Vec::new();
        for now in [1000, 1000, 999, 500, 1001, 1001] {
            let n = next(r, now);
            assert!(n > r);
            r = n;
            seen.push(millis(r));
        }
        assert_eq!(seen, vec![1000, 1000, 1000, 1000, 1001, 1001]);
        let full = (5u64 << 16) | 0xFFFF;
        assert_eq!(next(full, 5), 6 << 16);
    }
}
