//! The backup repository's pure parts: what `pvault backup …` decides without touching a disk, a
//! network or a key. Today the retention policy; the pack and snapshot formats come next.
//!
//! - [`retention`]: `pvault backup forget --keep-* …`. Given the snapshots' IDs and times, it plans
//!   which to keep and which to remove, with every reason, by restic's rules (`forget`'s
//!   `--keep-last/-hourly/-daily/-weekly/-monthly/-yearly`, `--keep-within` and
//!   `--keep-within-hourly/…/-yearly`), in UTC. It does no I/O: the caller lists the snapshots
//!   and carries out (or, with `--dry-run`, only prints) the plan. `RETENTION.md` beside this
//!   crate has the table of cases its tests check, each tied to the restic behaviour it pins.
//!
//! ```
//! use pvault_backup::retention::{Action, Count, Policy, SnapshotTime};
//!
//! let policy = Policy { daily: Some(Count::Limited(2)), ..Policy::default() };
//! let day = 86_400;
//! let snapshots = [
//!     SnapshotTime::new("a", 10 * day + 3_600),
//!     SnapshotTime::new("b", 10 * day + 7_200), // the newest of day 10
//!     SnapshotTime::new("c", 11 * day),
//! ];
//! let plan = policy.apply(&snapshots)?;
//! let kept: Vec<&str> = plan
//!     .iter()
//!     .filter(|d| d.action == Action::Keep)
//!     .map(|d| d.id.as_str())
//!     .collect();
//! assert_eq!(kept, ["c", "b"]);
//! assert_eq!(plan[0].reasons, ["daily snapshot"]);
//! # Ok::<(), pvault_backup::retention::Error>(())
//! ```

pub mod retention;
