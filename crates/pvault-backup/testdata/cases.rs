// The table of retention cases, shared by two tests through `include!`:
// - `src/retention/tests.rs` checks pvault's plan against it;
// - `tests/restic.rs` checks restic's own `forget --dry-run --json` against it (and so against
//   pvault), when restic is installed.
// RETENTION.md (beside this crate's Cargo.toml) is the same table in prose. Expects `Policy`,
// `Count`, `Error` and `SnapshotTime` (pvault_backup::retention) in scope.
//
// Every `kept` list is newest first with restic's reasons; every snapshot of the data set not
// listed must be removed. The lists were checked against restic 0.14.0 (Debian 12), except the
// rules restic gained later (the oldest-snapshot rule, 0.16; its "oldest" label, 0.17+;
// `unlimited`, 0.16), which follow restic's code and manual.

/// Which snapshot times a case runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Data {
    /// restic's own `TestApplyPolicy` snapshots (99, 2014-08-08 to 2016-01-18).
    Restic,
    /// Calendar edges (18, 2014-12-27 to 2016-03-31).
    Edges,
}

impl Data {
    pub fn times(self) -> Vec<&'static str> {
        let text = match self {
            Data::Restic => include_str!("restic_snapshots.txt"),
            Data::Edges => include_str!("edges.txt"),
        };
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }

    /// The snapshots, each named by its time ("2016-01-18 12:02:03").
    pub fn snapshots(self) -> Vec<SnapshotTime> {
        self.times()
            .into_iter()
            .map(|t| SnapshotTime::new(t, unix(t)))
            .collect()
    }
}

/// "YYYY-MM-DD HH:MM:SS" (UTC) to Unix seconds.
pub fn unix(s: &str) -> i64 {
    let n: Vec<i64> = s
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().expect("a number"))
        .collect();
    let [y, mo, d, h, mi, se] = n[..] else {
        panic!("not a time: {s}")
    };
    // Days from civil (Howard Hinnant's algorithm), independent of the code under test.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + mi * 60 + se
}

/// A policy from restic's `forget` options, through pvault's own parsers.
pub fn policy_from_args(args: &[&str]) -> Result<Policy, Error> {
    let mut p = Policy::default();
    for pair in args.chunks(2) {
        let [flag, value] = pair else {
            panic!("flag without a value: {args:?}")
        };
        let value = *value;
        match *flag {
            "--keep-last" => p.last = Some(Count::parse(value)?),
            "--keep-hourly" => p.hourly = Some(Count::parse(value)?),
            "--keep-daily" => p.daily = Some(Count::parse(value)?),
            "--keep-weekly" => p.weekly = Some(Count::parse(value)?),
            "--keep-monthly" => p.monthly = Some(Count::parse(value)?),
            "--keep-yearly" => p.yearly = Some(Count::parse(value)?),
            "--keep-within" => p.within = Some(Policy::parse_duration(value)?),
            "--keep-within-hourly" => p.within_hourly = Some(Policy::parse_duration(value)?),
            "--keep-within-daily" => p.within_daily = Some(Policy::parse_duration(value)?),
            "--keep-within-weekly" => p.within_weekly = Some(Policy::parse_duration(value)?),
            "--keep-within-monthly" => p.within_monthly = Some(Policy::parse_duration(value)?),
            "--keep-within-yearly" => p.within_yearly = Some(Policy::parse_duration(value)?),
            other => panic!("not a --keep option: {other}"),
        }
    }
    Ok(p)
}

pub struct Case {
    pub name: &'static str,
    /// The restic behaviour the case pins (RETENTION.md cites the same).
    pub checks: &'static str,
    pub data: Data,
    /// restic `forget` options.
    pub args: &'static [&'static str],
    /// (snapshot time, reasons), newest first.
    pub kept: &'static [(&'static str, &'static [&'static str])],
    /// The oldest restic release that accepts the options (`unlimited`: 0.16).
    pub min_restic: (u32, u32),
}

const LAST: &[&str] = &["last snapshot"];
const HOURLY: &[&str] = &["hourly snapshot"];
const DAILY: &[&str] = &["daily snapshot"];
const WEEKLY: &[&str] = &["weekly snapshot"];
const MONTHLY: &[&str] = &["monthly snapshot"];
const YEARLY: &[&str] = &["yearly snapshot"];

pub const CASES: &[Case] = &[
    // ---- restic's own data set -------------------------------------------------------------
    Case {
        name: "R1 keep-last 3",
        checks: "--keep-last n keeps the n most recent snapshots",
        data: Data::Restic,
        args: &["--keep-last", "3"],
        kept: &[
            ("2016-01-18 12:02:03", LAST),
            ("2016-01-12 21:08:03", LAST),
            ("2016-01-12 21:02:03", LAST),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R2 keep-hourly 5",
        checks: "the newest snapshot of each of the last n hours that have snapshots",
        data: Data::Restic,
        args: &["--keep-hourly", "5"],
        kept: &[
            ("2016-01-18 12:02:03", HOURLY),
            ("2016-01-12 21:08:03", HOURLY),
            ("2016-01-09 21:02:03", HOURLY),
            ("2016-01-08 20:02:03", HOURLY),
            ("2016-01-07 10:02:03", HOURLY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R3 keep-daily 3",
        checks: "several snapshots a day: only the day's newest counts (2016-01-12 21:08, not 21:02)",
        data: Data::Restic,
        args: &["--keep-daily", "3"],
        kept: &[
            ("2016-01-18 12:02:03", DAILY),
            ("2016-01-12 21:08:03", DAILY),
            ("2016-01-09 21:02:03", DAILY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R4 keep-daily 10",
        checks: "only days that have snapshots count; a busy day (2016-01-04, 7 snapshots) keeps its newest",
        data: Data::Restic,
        args: &["--keep-daily", "10"],
        kept: &[
            ("2016-01-18 12:02:03", DAILY),
            ("2016-01-12 21:08:03", DAILY),
            ("2016-01-09 21:02:03", DAILY),
            ("2016-01-08 20:02:03", DAILY),
            ("2016-01-07 10:02:03", DAILY),
            ("2016-01-06 08:02:03", DAILY),
            ("2016-01-05 09:02:03", DAILY),
            ("2016-01-04 16:23:03", DAILY),
            ("2016-01-03 07:02:03", DAILY),
            ("2016-01-01 07:08:03", DAILY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R5 keep-last 5 + keep-daily 5",
        checks: "rules are ORed and every matching reason is listed",
        data: Data::Restic,
        args: &["--keep-last", "5", "--keep-daily", "5"],
        kept: &[
            ("2016-01-18 12:02:03", &["last snapshot", "daily snapshot"]),
            ("2016-01-12 21:08:03", &["last snapshot", "daily snapshot"]),
            ("2016-01-12 21:02:03", LAST),
            ("2016-01-09 21:02:03", &["last snapshot", "daily snapshot"]),
            ("2016-01-08 20:02:03", &["last snapshot", "daily snapshot"]),
            ("2016-01-07 10:02:03", DAILY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R6 keep-weekly 4",
        checks: "ISO weeks: Sunday 2016-01-03 is in 2015-W53, apart from Monday 2016-01-04's 2016-W01",
        data: Data::Restic,
        args: &["--keep-weekly", "4"],
        kept: &[
            ("2016-01-18 12:02:03", WEEKLY),
            ("2016-01-12 21:08:03", WEEKLY),
            ("2016-01-09 21:02:03", WEEKLY),
            ("2016-01-03 07:02:03", WEEKLY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R7 keep-monthly 6",
        checks: "the newest snapshot of each of the last n months that have snapshots (a gap of months is skipped)",
        data: Data::Restic,
        args: &["--keep-monthly", "6"],
        kept: &[
            ("2016-01-18 12:02:03", MONTHLY),
            ("2015-11-22 10:20:30", MONTHLY),
            ("2015-10-22 10:20:30", MONTHLY),
            ("2015-09-22 10:20:30", MONTHLY),
            ("2015-08-22 10:20:30", MONTHLY),
            ("2014-11-22 10:20:30", MONTHLY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R8 keep-yearly 10",
        checks: "3 years for 10: the oldest snapshot is kept as well (restic 0.16+), marked oldest (0.17+)",
        data: Data::Restic,
        args: &["--keep-yearly", "10"],
        kept: &[
            ("2016-01-18 12:02:03", YEARLY),
            ("2015-11-22 10:20:30", YEARLY),
            ("2014-11-22 10:20:30", YEARLY),
            ("2014-08-08 10:20:30", &["oldest yearly snapshot"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R9 daily 7 + weekly 2 + monthly 3 + yearly 10",
        checks: "the manual's combination: a Sunday/month-end snapshot matches several rules; only yearly has counts left at the oldest",
        data: Data::Restic,
        args: &[
            "--keep-daily",
            "7",
            "--keep-weekly",
            "2",
            "--keep-monthly",
            "3",
            "--keep-yearly",
            "10",
        ],
        kept: &[
            (
                "2016-01-18 12:02:03",
                &[
                    "daily snapshot",
                    "weekly snapshot",
                    "monthly snapshot",
                    "yearly snapshot",
                ],
            ),
            ("2016-01-12 21:08:03", &["daily snapshot", "weekly snapshot"]),
            ("2016-01-09 21:02:03", DAILY),
            ("2016-01-08 20:02:03", DAILY),
            ("2016-01-07 10:02:03", DAILY),
            ("2016-01-06 08:02:03", DAILY),
            ("2016-01-05 09:02:03", DAILY),
            ("2015-11-22 10:20:30", &["monthly snapshot", "yearly snapshot"]),
            ("2015-10-22 10:20:30", MONTHLY),
            ("2014-11-22 10:20:30", YEARLY),
            ("2014-08-08 10:20:30", &["oldest yearly snapshot"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R10 daily 3 + weekly 2 + monthly unlimited + yearly unlimited",
        checks: "restic's policy_keep_snapshots_39: unlimited keeps every month's and year's newest, and the oldest",
        data: Data::Restic,
        args: &[
            "--keep-daily",
            "3",
            "--keep-weekly",
            "2",
            "--keep-monthly",
            "unlimited",
            "--keep-yearly",
            "unlimited",
        ],
        kept: &[
            (
                "2016-01-18 12:02:03",
                &[
                    "daily snapshot",
                    "weekly snapshot",
                    "monthly snapshot",
                    "yearly snapshot",
                ],
            ),
            ("2016-01-12 21:08:03", &["daily snapshot", "weekly snapshot"]),
            ("2016-01-09 21:02:03", DAILY),
            ("2015-11-22 10:20:30", &["monthly snapshot", "yearly snapshot"]),
            ("2015-10-22 10:20:30", MONTHLY),
            ("2015-09-22 10:20:30", MONTHLY),
            ("2015-08-22 10:20:30", MONTHLY),
            ("2014-11-22 10:20:30", &["monthly snapshot", "yearly snapshot"]),
            ("2014-10-22 10:20:30", MONTHLY),
            ("2014-09-22 10:20:30", MONTHLY),
            ("2014-08-22 10:20:30", MONTHLY),
            (
                "2014-08-08 10:20:30",
                &["oldest monthly snapshot", "oldest yearly snapshot"],
            ),
        ],
        min_restic: (0, 16),
    },
    Case {
        name: "R11 keep-within 7d",
        checks: "--keep-within counts back from the newest snapshot (2016-01-18 12:02:03), not from now",
        data: Data::Restic,
        args: &["--keep-within", "7d"],
        kept: &[
            ("2016-01-18 12:02:03", &["within 7d"]),
            ("2016-01-12 21:08:03", &["within 7d"]),
            ("2016-01-12 21:02:03", &["within 7d"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "R12 keep-within-daily 7d",
        checks: "--keep-within-daily: each day's newest, among the snapshots within 7d of the newest",
        data: Data::Restic,
        args: &["--keep-within-daily", "7d"],
        kept: &[
            ("2016-01-18 12:02:03", &["daily within 7d"]),
            ("2016-01-12 21:08:03", &["daily within 7d"]),
        ],
        min_restic: (0, 14),
    },
    // ---- calendar edges ---------------------------------------------------------------------
    Case {
        name: "E1 keep-hourly 8",
        checks: "an hour is :00 to :59: 00:45 stands for 00:30, 01:50 for 01:10, 09:00:01 for 09:00:00",
        data: Data::Edges,
        args: &["--keep-hourly", "8"],
        kept: &[
            ("2016-03-31 09:00:00", HOURLY),
            ("2016-03-30 10:00:00", HOURLY),
            ("2016-03-02 09:00:01", HOURLY),
            ("2016-02-29 10:00:00", HOURLY),
            ("2016-01-31 10:00:00", HOURLY),
            ("2016-01-05 09:00:00", HOURLY),
            ("2016-01-04 01:50:00", HOURLY),
            ("2016-01-04 00:45:00", HOURLY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E2 keep-weekly 8",
        checks: "ISO weeks across both year ends (2016-01-03 is 2015-W53; 2014-12-29 is 2015-W01, so 2015-01-01 stands for it), then the oldest",
        data: Data::Edges,
        args: &["--keep-weekly", "8"],
        kept: &[
            ("2016-03-31 09:00:00", WEEKLY),
            ("2016-03-02 09:00:01", WEEKLY),
            ("2016-01-31 10:00:00", WEEKLY),
            ("2016-01-05 09:00:00", WEEKLY),
            ("2016-01-03 12:00:00", WEEKLY),
            ("2015-01-01 09:00:00", WEEKLY),
            ("2014-12-28 23:00:00", WEEKLY),
            ("2014-12-27 10:00:00", &["oldest weekly snapshot"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E3 keep-monthly 12",
        checks: "calendar months (2016-01-01 is January's, though in 2015-W53); 6 months for 12, so the oldest too",
        data: Data::Edges,
        args: &["--keep-monthly", "12"],
        kept: &[
            ("2016-03-31 09:00:00", MONTHLY),
            ("2016-02-29 10:00:00", MONTHLY),
            ("2016-01-31 10:00:00", MONTHLY),
            ("2015-12-31 10:00:00", MONTHLY),
            ("2015-01-01 09:00:00", MONTHLY),
            ("2014-12-29 08:00:00", MONTHLY),
            ("2014-12-27 10:00:00", &["oldest monthly snapshot"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E4 keep-yearly 3",
        checks: "calendar years, not ISO years: 2014-12-29 (in 2015-W01) is 2014's; the count is used up before the oldest",
        data: Data::Edges,
        args: &["--keep-yearly", "3"],
        kept: &[
            ("2016-03-31 09:00:00", YEARLY),
            ("2015-12-31 10:00:00", YEARLY),
            ("2014-12-29 08:00:00", YEARLY),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E5 keep-last unlimited",
        checks: "unlimited (restic 0.16+): every snapshot",
        data: Data::Edges,
        args: &["--keep-last", "unlimited"],
        kept: &[
            ("2016-03-31 09:00:00", LAST),
            ("2016-03-30 10:00:00", LAST),
            ("2016-03-02 09:00:01", LAST),
            ("2016-03-02 09:00:00", LAST),
            ("2016-02-29 10:00:00", LAST),
            ("2016-01-31 10:00:00", LAST),
            ("2016-01-05 09:00:00", LAST),
            ("2016-01-04 01:50:00", LAST),
            ("2016-01-04 01:10:00", LAST),
            ("2016-01-04 00:45:00", LAST),
            ("2016-01-04 00:30:00", LAST),
            ("2016-01-03 12:00:00", LAST),
            ("2016-01-01 11:00:00", LAST),
            ("2015-12-31 10:00:00", LAST),
            ("2015-01-01 09:00:00", LAST),
            ("2014-12-29 08:00:00", LAST),
            ("2014-12-28 23:00:00", LAST),
            ("2014-12-27 10:00:00", LAST),
        ],
        min_restic: (0, 16),
    },
    Case {
        name: "E6 keep-daily unlimited",
        checks: "unlimited (restic 0.16+): the newest snapshot of every day",
        data: Data::Edges,
        args: &["--keep-daily", "unlimited"],
        kept: &[
            ("2016-03-31 09:00:00", DAILY),
            ("2016-03-30 10:00:00", DAILY),
            ("2016-03-02 09:00:01", DAILY),
            ("2016-02-29 10:00:00", DAILY),
            ("2016-01-31 10:00:00", DAILY),
            ("2016-01-05 09:00:00", DAILY),
            ("2016-01-04 01:50:00", DAILY),
            ("2016-01-03 12:00:00", DAILY),
            ("2016-01-01 11:00:00", DAILY),
            ("2015-12-31 10:00:00", DAILY),
            ("2015-01-01 09:00:00", DAILY),
            ("2014-12-29 08:00:00", DAILY),
            ("2014-12-28 23:00:00", DAILY),
            ("2014-12-27 10:00:00", DAILY),
        ],
        min_restic: (0, 16),
    },
    Case {
        name: "E7 keep-within 1m",
        checks: "months are calendar steps with Go's normalisation (2016-03-31 - 1m = 2016-03-02) and the edge is excluded (09:00:00 goes, 09:00:01 stays)",
        data: Data::Edges,
        args: &["--keep-within", "1m"],
        kept: &[
            ("2016-03-31 09:00:00", &["within 1m"]),
            ("2016-03-30 10:00:00", &["within 1m"]),
            ("2016-03-02 09:00:01", &["within 1m"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E8 keep-within 2d3h",
        checks: "days and hours combine: after 2016-03-29 06:00",
        data: Data::Edges,
        args: &["--keep-within", "2d3h"],
        kept: &[
            ("2016-03-31 09:00:00", &["within 2d3h"]),
            ("2016-03-30 10:00:00", &["within 2d3h"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E9 keep-within-daily 1m",
        checks: "--keep-within-daily: one per day inside the window; the oldest is outside it, so no oldest rule",
        data: Data::Edges,
        args: &["--keep-within-daily", "1m"],
        kept: &[
            ("2016-03-31 09:00:00", &["daily within 1m"]),
            ("2016-03-30 10:00:00", &["daily within 1m"]),
            ("2016-03-02 09:00:01", &["daily within 1m"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E10 keep-within-weekly 2y",
        checks: "a window holding every snapshot: one per ISO week, and the oldest (restic's code, 0.17+)",
        data: Data::Edges,
        args: &["--keep-within-weekly", "2y"],
        kept: &[
            ("2016-03-31 09:00:00", &["weekly within 2y"]),
            ("2016-03-02 09:00:01", &["weekly within 2y"]),
            ("2016-01-31 10:00:00", &["weekly within 2y"]),
            ("2016-01-05 09:00:00", &["weekly within 2y"]),
            ("2016-01-03 12:00:00", &["weekly within 2y"]),
            ("2015-01-01 09:00:00", &["weekly within 2y"]),
            ("2014-12-28 23:00:00", &["weekly within 2y"]),
            ("2014-12-27 10:00:00", &["oldest weekly within 2y"]),
        ],
        min_restic: (0, 14),
    },
    Case {
        name: "E11 last 2 + daily 3 + weekly 2 + monthly 2 + within 1d",
        checks: "OR of five rules, reasons in restic's order (within first); counts run out before the oldest",
        data: Data::Edges,
        args: &[
            "--keep-last",
            "2",
            "--keep-daily",
            "3",
            "--keep-weekly",
            "2",
            "--keep-monthly",
            "2",
            "--keep-within",
            "1d",
        ],
        kept: &[
            (
                "2016-03-31 09:00:00",
                &[
                    "within 1d",
                    "last snapshot",
                    "daily snapshot",
                    "weekly snapshot",
                    "monthly snapshot",
                ],
            ),
            (
                "2016-03-30 10:00:00",
                &["within 1d", "last snapshot", "daily snapshot"],
            ),
            ("2016-03-02 09:00:01", &["daily snapshot", "weekly snapshot"]),
            ("2016-02-29 10:00:00", MONTHLY),
        ],
        min_restic: (0, 14),
    },
];

/// Policies restic and pvault both refuse to act on: nothing may be removed.
pub const EMPTY_POLICIES: &[&[&str]] = &[
    &["--keep-last", "0"],
    &["--keep-daily", "0", "--keep-within", "0d"],
];
