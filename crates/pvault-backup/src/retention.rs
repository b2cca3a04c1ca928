//! The retention policy of `pvault backup forget`: which snapshots to keep and which to remove,
//! by restic's `forget --keep-*` rules, as a plan. No I/O: the caller lists the snapshots (ID and
//! time), prints the plan (`--dry-run`, `--json`) and removes what it says.
//!
//! # The rules
//!
//! They are restic's (`internal/restic/snapshot_policy.go`, `cmd/restic/cmd_forget.go` and the
//! "Removing backup snapshots" manual page, restic 0.17/0.18), with one deliberate difference:
//! **every calendar period is taken in UTC** (restic uses the time zone each snapshot was made in).
//!
//! 1. The snapshots are sorted newest first. Equal times are ordered by [`SnapshotTime::order`]
//!    (newest first; pvault gives milliseconds and the snapshot chain), then by ID (ascending), so that the
//!    plan does not depend on the order of the input (restic keeps the order its repository listed
//!    them in, which is not specified).
//! 2. Each snapshot is offered to every rule, and is kept if **any** rule keeps it (the rules are
//!    ORed); [`Decision::reasons`] lists every rule that kept it, in restic's order: `within`,
//!    then last, hourly, daily, weekly, monthly, yearly, then the `within-*` rules. A snapshot that
//!    no rule keeps is removed.
//! 3. **Counts** (`--keep-last N`, `--keep-hourly N`, …, `--keep-yearly N`). A period is an hour
//!    (`:00`–`:59`), a day, an ISO week (Monday 00:00 to Sunday 23:59:59; week 1 is the week
//!    with the year's first Thursday, so 2015-12-31 is in week 2015-W53 and 2018-12-31 in
//!    2019-W01), a month or a year; for `--keep-last` each snapshot is a period of its own. Walking
//!    newest first, the newest snapshot of each period that has one is kept, until N periods are
//!    kept: only periods with snapshots count, so `--keep-daily 4` over one snapshot a week keeps
//!    four weeks. Reason: `last snapshot`, `hourly snapshot`, …, `yearly snapshot`.
//! 4. **Unlimited** ([`Count::Unlimited`], `unlimited` on restic's command line, `-1` in restic's
//!    policy code): the count never runs out, so the newest snapshot of every period is kept.
//!    `0` (or unset) turns the rule off. Other negative counts are refused.
//! 5. **The oldest snapshot** (restic 0.16 and later): if a count rule still has periods left (or
//!    is unlimited) when the walk reaches the oldest snapshot, it keeps that one too, even when a
//!    newer snapshot of the same period was already kept; the reason is then marked `oldest`
//!    (`oldest monthly snapshot`). So a history shorter than the policy is not cut at its start.
//! 6. **`--keep-within D`** keeps every snapshot strictly newer than the newest snapshot's time
//!    minus D, measured back from the **newest snapshot**, not from now: a repository that stops
//!    getting backups keeps its last window for ever. D is years, months, days and hours
//!    ([`Policy::parse_duration`], `1y5m7d2h`); years, months and days are calendar steps with
//!    Go's `AddDate` normalisation (31 March minus one month is "31 February", which is 3 March,
//!    or 2 March in a leap year), hours are 3600 s. Reason: `within 1y5m7d2h`.
//!    With [`Policy::apply_at`], snapshots later than `now` are not taken as the newest (restic
//!    0.16+), so one with a clock far in the future cannot push the window forward.
//! 7. **`--keep-within-hourly D`** (and `-daily`, `-weekly`, `-monthly`, `-yearly`): the newest
//!    snapshot of every period, unlimited, among the snapshots within D (as in 6.), and the oldest
//!    snapshot too when it is within D (as in 5.). Reason: `daily within 7d` (`oldest daily within
//!    7d`).
//! 8. **An empty policy** (every rule unset, `0` or a zero duration) is refused with
//!    [`Error::EmptyPolicy`], as restic 0.17+ refuses it ("no policy was specified, no snapshots
//!    will be removed"; restic up to 0.16 kept every snapshot with the reason `policy is empty`).
//!
//! restic's `--keep-tag`, `--group-by` and snapshot filters are not here: pvault has no tags yet,
//! and grouping (per profile, per host) is the caller's: apply the policy to each group.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

/// Everything that can be wrong with a policy or its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An empty string where a duration was expected.
    #[error("the duration is empty: give numbers with units, e.g. 7d, 2y6m or 1y5m7d2h")]
    EmptyDuration,
    /// A duration that does not follow `[Ny][Nm][Nd][Nh]`.
    #[error("invalid duration {input:?}: {problem}")]
    BadDuration { input: String, problem: String },
    /// A duration with a negative part (`-2d`, `1y-1m`).
    #[error("invalid duration {input:?}: durations cannot be negative")]
    NegativeDuration { input: String },
    /// A count below zero other than `-1` (which means unlimited).
    #[error(
        "invalid count {input:?}: negative counts other than -1 are not allowed (use \"unlimited\" to keep all)"
    )]
    NegativeCount { input: String },
    /// A count that is not a whole number nor `unlimited`.
    #[error("invalid count {input:?}: give a whole number (0 turns the rule off) or \"unlimited\"")]
    BadCount { input: String },
    /// A policy with no rule set: refused, so that a typo cannot remove every snapshot.
    #[error(
        "no policy was specified (every --keep-* is unset, 0 or a zero duration): refusing to plan, no snapshot will be removed"
    )]
    EmptyPolicy,
    /// Two snapshots with one ID: the plan would be ambiguous.
    #[error("snapshot ID {id:?} appears more than once")]
    DuplicateId { id: String },
    /// A time outside the calendar this crate computes with (the years -9999 to 9999).
    #[error("snapshot {id:?} has the time {time} (Unix seconds), outside the years -9999 to 9999")]
    TimeOutOfRange { id: String, time: i64 },
}

/// A count rule's N: a number of periods (`0` turns the rule off), or every period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Count {
    /// Keep the newest snapshot of this many periods (`0`: the rule is off).
    Limited(u32),
    /// Keep the newest snapshot of every period (restic's `unlimited`, and `-1`).
    Unlimited,
}

impl Count {
    /// Reads a count as restic's command line does: a whole number, or `unlimited`. `-1` also
    /// means unlimited (restic's policy code and restic before 0.16 spell it so); other negative
    /// numbers are refused.
    pub fn parse(input: &str) -> Result<Count, Error> {
        let s = input.trim();
        if s == "unlimited" || s == "-1" {
            return Ok(Count::Unlimited);
        }
        if let Some(rest) = s.strip_prefix('-') {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::NegativeCount {
                    input: input.to_string(),
                });
            }
            return Err(Error::BadCount {
                input: input.to_string(),
            });
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::BadCount {
                input: input.to_string(),
            });
        }
        s.parse::<u32>()
            .map(Count::Limited)
            .map_err(|_| Error::BadCount {
                input: input.to_string(),
            })
    }

    /// Whether the rule does anything (`Limited(0)` does not).
    pub fn is_set(self) -> bool {
        self != Count::Limited(0)
    }
}

impl FromStr for Count {
    type Err = Error;
    fn from_str(s: &str) -> Result<Count, Error> {
        Count::parse(s)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Limited(n) => write!(f, "{n}"),
            Count::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// restic's duration: years, months, days and hours, applied as calendar steps back from the
/// newest snapshot (not a fixed number of seconds, unlike [`std::time::Duration`]). Note that
/// `m` is **months**: restic has no minutes, no seconds and no weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl Duration {
    /// Whether every part is zero; a zero duration leaves its rule off, as in restic.
    pub fn is_zero(&self) -> bool {
        self.years == 0 && self.months == 0 && self.days == 0 && self.hours == 0
    }
}

impl FromStr for Duration {
    type Err = Error;
    fn from_str(s: &str) -> Result<Duration, Error> {
        Policy::parse_duration(s)
    }
}

/// restic's spelling: `1y5m7d2h`, zero parts left out (`0h` for a zero duration).
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0h");
        }
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// One snapshot as the policy sees it: its ID and its time, in Unix seconds (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotTime {
    pub id: String,
    pub time: i64,
    /// Orders snapshots of the same second, larger = newer (the caller's finer clock or
    /// sequence; 0 for all leaves them ordered by ID).
    #[serde(default)]
    pub order: i64,
}

impl SnapshotTime {
    pub fn new(id: impl Into<String>, time: i64) -> SnapshotTime {
        SnapshotTime {
            id: id.into(),
            time,
            order: 0,
        }
    }

    /// The same, ordered among snapshots of its second by `order` (larger = newer).
    pub fn with_order(mut self, order: i64) -> SnapshotTime {
        self.order = order;
        self
    }
}

/// What the plan does with a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Keep,
    Remove,
}

/// The plan for one snapshot. Serialized (for `--json`) as
/// `{"id": "…", "time": 1452, "action": "keep", "reasons": ["daily snapshot", "within 2d"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    /// Unix seconds, UTC, as given.
    pub time: i64,
    pub action: Action,
    /// Every rule that keeps the snapshot, in restic's wording and order; empty when removed.
    pub reasons: Vec<String>,
}

impl Decision {
    pub fn is_kept(&self) -> bool {
        self.action == Action::Keep
    }
}

/// A retention policy: restic's `forget --keep-*` options. `None`, `Limited(0)` and a zero
/// duration all leave a rule off. See the [module documentation](self) for the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `--keep-last`: the newest N snapshots.
    pub last: Option<Count>,
    /// `--keep-hourly`: the newest snapshot of each of the newest N hours that have one.
    pub hourly: Option<Count>,
    /// `--keep-daily`.
    pub daily: Option<Count>,
    /// `--keep-weekly` (ISO weeks).
    pub weekly: Option<Count>,
    /// `--keep-monthly`.
    pub monthly: Option<Count>,
    /// `--keep-yearly`.
    pub yearly: Option<Count>,
    /// `--keep-within`: every snapshot newer than the newest one's time minus this.
    pub within: Option<Duration>,
    /// `--keep-within-hourly`: the newest snapshot of every hour, within this of the newest.
    pub within_hourly: Option<Duration>,
    /// `--keep-within-daily`.
    pub within_daily: Option<Duration>,
    /// `--keep-within-weekly`.
    pub within_weekly: Option<Duration>,
    /// `--keep-within-monthly`.
    pub within_monthly: Option<Duration>,
    /// `--keep-within-yearly`.
    pub within_yearly: Option<Duration>,
}

/// A calendar period, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    fn name(self) -> &'static str {
        match self {
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }

    /// A number naming the period `t` falls in, unique per period (restic's `ymdh`, `ymd`, `yw`,
    /// `ym` and `y`: YYYYMMDDHH and so on, the ISO week-numbering year for weeks).
    fn key(self, t: OffsetDateTime) -> i64 {
        let (y, m, d, h) = (
            i64::from(t.year()),
            i64::from(u8::from(t.month())),
            i64::from(t.day()),
            i64::from(t.hour()),
        );
        match self {
            Period::Hour => ((y * 100 + m) * 100 + d) * 100 + h,
            Period::Day => (y * 100 + m) * 100 + d,
            Period::Week => {
                let (iso_year, week, _) = t.to_iso_week_date();
                i64::from(iso_year) * 100 + i64::from(week)
            }
            Period::Month => y * 100 + m,
            Period::Year => y,
        }
    }
}

/// Which snapshots a duration rule covers.
#[derive(Debug, Clone, Copy)]
enum Window {
    /// Every snapshot (no snapshot before `now` to measure from, or the window reaches past the
    /// calendar's start).
    All,
    /// The snapshots strictly later than this time.
    After(i64),
}

impl Window {
    fn contains(self, time: i64) -> bool {
        match self {
            Window::All => true,
            Window::After(t) => time > t,
        }
    }

    /// The window of `d` measured back from `reference` (the newest snapshot's time), with Go's
    /// `AddDate` normalisation: months first (carrying into years), then days from the first of
    /// the resulting month, so that day overflow rolls into the next month; hours last.
    fn back_from(reference: Option<OffsetDateTime>, d: Duration) -> Window {
        let Some(reference) = reference else {
            return Window::All;
        };
        let date = reference.date();
        let months = i64::from(date.year()) * 12 + i64::from(u8::from(date.month()))
            - 1
            - i64::from(d.years) * 12
            - i64::from(d.months);
        let start = (|| {
            let year = i32::try_from(months.div_euclid(12)).ok()?;
            let month = Month::try_from(u8::try_from(months.rem_euclid(12) + 1).ok()?).ok()?;
            let first = Date::from_calendar_date(year, month, 1).ok()?;
            let day = first.checked_add(time::Duration::days(
                i64::from(date.day()) - 1 - i64::from(d.days),
            ))?;
            let t = day
                .with_time(reference.time())
                .assume_utc()
                .unix_timestamp();
            t.checked_sub(i64::from(d.hours) * 3600)
        })();
        match start {
            Some(t) => Window::After(t),
            None => Window::All,
        }
    }
}

/// A count rule while the walk goes on.
struct CountRule {
    name: &'static str,
    /// `None`: each snapshot is its own period (`--keep-last`).
    period: Option<Period>,
    /// Periods still to keep; `None` for unlimited.
    left: Option<u32>,
    /// The period of the last snapshot this rule kept.
    last: Option<i64>,
}

/// A `--keep-within-*` rule while the walk goes on.
struct WithinRule {
    period: Period,
    duration: Duration,
    window: Window,
    last: Option<i64>,
}

impl Policy {
    /// Reads restic's duration syntax: numbers each followed by a unit, `y` (years), `m`
    /// (**months**), `d` (days) or `h` (hours), in any order, e.g. `1y5m7d2h`, `14d`, `1m14d`.
    /// Like restic it trims surrounding whitespace and accepts `0d` (a zero duration: the rule
    /// is off). Stricter than restic: a unit given twice (`1d2d`, which restic reads as `2d`) and
    /// an empty string (which restic takes as "not set") are refused, as is a negative part
    /// (restic 0.16+ refuses those too; 0.14 took `-1d` and kept nothing by it). There is no `w`: a week is `7d`.
    pub fn parse_duration(input: &str) -> Result<Duration, Error> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Error::EmptyDuration);
        }
        let bad = |problem: String| Error::BadDuration {
            input: input.to_string(),
            problem,
        };
        let mut d = Duration::default();
        let mut seen = [false; 4];
        let mut rest = s;
        while !rest.is_empty() {
            if rest.starts_with('-') {
                return Err(Error::NegativeDuration {
                    input: input.to_string(),
                });
            }
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad(format!("expected a number at {rest:?}")));
            }
            let (number, after) = rest.split_at(digits);
            let n: u32 = number
                .parse()
                .map_err(|_| bad(format!("{number} is too large")))?;
            let mut chars = after.chars();
            let (slot, index) = match chars.next() {
                Some('y') => (&mut d.years, 0),
                Some('m') => (&mut d.months, 1),
                Some('d') => (&mut d.days, 2),
                Some('h') => (&mut d.hours, 3),
                Some('w') => {
                    return Err(bad(format!(
                        "{number}w: weeks are not a unit, write {}d",
                        u64::from(n) * 7
                    )));
                }
                Some(other) => {
                    return Err(bad(format!(
                        "unknown unit {other:?} after {number}: the units are y (years), m (months), d (days) and h (hours)"
                    )));
                }
                None => {
                    return Err(bad(format!(
                        "no unit after {number}: add y (years), m (months), d (days) or h (hours)"
                    )));
                }
            };
            if seen[index] {
                return Err(bad(format!("the unit after {number} was already given")));
            }
            seen[index] = true;
            *slot = n;
            rest = chars.as_str();
        }
        Ok(d)
    }

    /// Whether no rule is set: every count unset or 0, every duration unset or zero. Such a
    /// policy is refused by [`Policy::apply`], as restic refuses it.
    pub fn is_empty(&self) -> bool {
        let counts = [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
        ];
        let durations = [
            self.within,
            self.within_hourly,
            self.within_daily,
            self.within_weekly,
            self.within_monthly,
            self.within_yearly,
        ];
        counts.iter().flatten().all(|c| !c.is_set())
            && durations.iter().flatten().all(Duration::is_zero)
    }

    /// The plan for `snapshots` (any order): one [`Decision`] per snapshot, newest first,
    /// `--keep-within*` measured back from the newest snapshot. Refuses an empty policy, two
    /// snapshots with one ID, and times outside the years -9999 to 9999.
    pub fn apply(&self, snapshots: &[SnapshotTime]) -> Result<Vec<Decision>, Error> {
        self.plan(snapshots, None)
    }

    /// As [`Policy::apply`], but like restic 0.16+ the `--keep-within*` rules are measured back
    /// from the newest snapshot earlier than `now` (Unix seconds): snapshots dated in the future
    /// still go through every rule but do not move the window. When every snapshot is in the
    /// future, the windows hold all of them.
    pub fn apply_at(&self, snapshots: &[SnapshotTime], now: i64) -> Result<Vec<Decision>, Error> {
        self.plan(snapshots, Some(now))
    }

    fn plan(&self, snapshots: &[SnapshotTime], now: Option<i64>) -> Result<Vec<Decision>, Error> {
        if self.is_empty() {
            return Err(Error::EmptyPolicy);
        }
        let mut ids = HashSet::with_capacity(snapshots.len());
        let mut list = Vec::with_capacity(snapshots.len());
        for s in snapshots {
            if !ids.insert(s.id.as_str()) {
                return Err(Error::DuplicateId { id: s.id.clone() });
            }
            let t =
                OffsetDateTime::from_unix_timestamp(s.time).map_err(|_| Error::TimeOutOfRange {
                    id: s.id.clone(),
                    time: s.time,
                })?;
            list.push((s, t));
        }
        list.sort_by(|(a, _), (b, _)| {
            b.time
                .cmp(&a.time)
                .then_with(|| b.order.cmp(&a.order))
                .then_with(|| a.id.cmp(&b.id))
        });

        let reference = list
            .iter()
            .map(|&(_, t)| t)
            .find(|t| now.is_none_or(|now| t.unix_timestamp() < now));
        let within = self
            .within
            .filter(|d| !d.is_zero())
            .map(|d| (d, Window::back_from(reference, d)));

        let mut counts: Vec<CountRule> = [
            (self.last, "last", None),
            (self.hourly, "hourly", Some(Period::Hour)),
            (self.daily, "daily", Some(Period::Day)),
            (self.weekly, "weekly", Some(Period::Week)),
            (self.monthly, "monthly", Some(Period::Month)),
            (self.yearly, "yearly", Some(Period::Year)),
        ]
        .into_iter()
        .filter_map(|(count, name, period)| {
            let left = match count? {
                Count::Limited(0) => return None,
                Count::Limited(n) => Some(n),
                Count::Unlimited => None,
            };
            Some(CountRule {
                name,
                period,
                left,
                last: None,
            })
        })
        .collect();

        let mut withins: Vec<WithinRule> = [
            (self.within_hourly, Period::Hour),
            (self.within_daily, Period::Day),
            (self.within_weekly, Period::Week),
            (self.within_monthly, Period::Month),
            (self.within_yearly, Period::Year),
        ]
        .into_iter()
        .filter_map(|(duration, period)| {
            let duration = duration.filter(|d| !d.is_zero())?;
            Some(WithinRule {
                period,
                duration,
                window: Window::back_from(reference, duration),
                last: None,
            })
        })
        .collect();

        let oldest_index = list.len().saturating_sub(1);
        let mut plan = Vec::with_capacity(list.len());
        for (nr, &(snapshot, t)) in list.iter().enumerate() {
            let oldest = nr == oldest_index;
            let mut reasons = Vec::new();

            if let Some((d, window)) = within
                && window.contains(snapshot.time)
            {
                reasons.push(format!("within {d}"));
            }

            for rule in &mut counts {
                if rule.left == Some(0) {
                    continue;
                }
                // `--keep-last` has no period: each snapshot is one of its own.
                let key = rule.period.map(|p| p.key(t));
                let new_period = key.is_none() || rule.last != key;
                if new_period || oldest {
                    rule.last = key;
                    if let Some(left) = &mut rule.left {
                        *left -= 1;
                    }
                    let prefix = if new_period { "" } else { "oldest " };
                    reasons.push(format!("{prefix}{} snapshot", rule.name));
                }
            }

            for rule in &mut withins {
                if !rule.window.contains(snapshot.time) {
                    continue;
                }
                let key = rule.period.key(t);
                let new_period = rule.last != Some(key);
                if new_period || oldest {
                    rule.last = Some(key);
                    let prefix = if new_period { "" } else { "oldest " };
                    reasons.push(format!(
                        "{prefix}{} within {}",
                        rule.period.name(),
                        rule.duration
                    ));
                }
            }

            plan.push(Decision {
                id: snapshot.id.clone(),
                time: snapshot.time,
                action: if reasons.is_empty() {
                    Action::Remove
                } else {
                    Action::Keep
                },
                reasons,
            });
        }
        Ok(plan)
    }
}

/// restic's "Applying Policy" line: `keep 3 latest, 7 daily snapshots, daily snapshots within
/// 1m and all snapshots within 2d of the newest`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = [
            (self.last, "latest"),
            (self.hourly, "hourly"),
            (self.daily, "daily"),
            (self.weekly, "weekly"),
            (self.monthly, "monthly"),
            (self.yearly, "yearly"),
        ]
        .into_iter()
        .filter_map(|(count, name)| match count? {
            Count::Limited(0) => None,
            Count::Limited(n) => Some(format!("{n} {name}")),
            Count::Unlimited => Some(format!("all {name}")),
        })
        .collect();
        let withins: Vec<String> = [
            (self.within_hourly, "hourly"),
            (self.within_daily, "daily"),
            (self.within_weekly, "weekly"),
            (self.within_monthly, "monthly"),
            (self.within_yearly, "yearly"),
        ]
        .into_iter()
        .filter_map(|(d, name)| {
            let d = d.filter(|d| !d.is_zero())?;
            Some(format!("{name} snapshots within {d}"))
        })
        .collect();
        let mut s = String::new();
        if !counts.is_empty() {
            s = format!("{} snapshots", counts.join(", "));
        }
        if !withins.is_empty() {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&withins.join(", "));
        }
        if let Some(d) = self.within.filter(|d| !d.is_zero()) {
            if !s.is_empty() {
                s.push_str(" and ");
            }
            s.push_str(&format!("all snapshots within {d} of the newest"));
        }
        if s.is_empty() {
            f.write_str("no policy")
        } else {
            write!(f, "keep {s}")
        }
    }
}

#[cfg(test)]
mod tests;
