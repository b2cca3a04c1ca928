use super::*;

include!("../../testdata/cases.rs");

/// The kept list of a plan, as (id, reasons), and the removed IDs; checks the plan is sorted.
fn split(plan: &[Decision]) -> (Vec<(String, Vec<String>)>, Vec<String>) {
    for pair in plan.windows(2) {
        assert!(
            (pair[0].time, &pair[1].id) >= (pair[1].time, &pair[0].id),
            "not newest first: {} before {}",
            pair[0].id,
            pair[1].id
        );
    }
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for d in plan {
        assert_eq!(d.is_kept(), !d.reasons.is_empty(), "{}: {d:?}", d.id);
        if d.is_kept() {
            kept.push((d.id.clone(), d.reasons.clone()));
        } else {
            removed.push(d.id.clone());
        }
    }
    (kept, removed)
}

fn expected(case: &Case) -> Vec<(String, Vec<String>)> {
    case.kept
        .iter()
        .map(|(t, r)| (t.to_string(), r.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn every_case_of_the_table() {
    for case in CASES {
        let policy = policy_from_args(case.args).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let snapshots = case.data.snapshots();
        let plan = policy
            .apply(&snapshots)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(plan.len(), snapshots.len(), "{}", case.name);
        let (kept, removed) = split(&plan);
        assert_eq!(kept, expected(case), "{}: {}", case.name, case.checks);
        let mut all: Vec<String> = kept.into_iter().map(|(id, _)| id).chain(removed).collect();
        all.sort();
        let mut given: Vec<String> = snapshots.into_iter().map(|s| s.id).collect();
        given.sort();
        assert_eq!(
            all, given,
            "{}: every snapshot is kept or removed",
            case.name
        );
    }
}

#[test]
fn the_table_has_the_cases_the_docs_promise() {
    // RETENTION.md lists these names; a renamed or dropped case must change both.
    let md = include_str!("../../RETENTION.md");
    for case in CASES {
        let id = case.name.split(' ').next().unwrap_or_default();
        assert!(
            md.contains(&format!("| {id} ")),
            "{} missing from RETENTION.md",
            case.name
        );
    }
    assert!(CASES.len() >= 20);
}

#[test]
fn cases_with_unlimited_need_restic_0_16() {
    // restic 0.14/0.15 have no `unlimited` (and read -1 as "keep nothing"): the cross-check must
    // skip those cases there, and run the others.
    for case in CASES {
        let unlimited = case.args.contains(&"unlimited");
        let want = if unlimited { (0, 16) } else { (0, 14) };
        assert_eq!(case.min_restic, want, "{}", case.name);
        assert!(!case.checks.is_empty(), "{}", case.name);
    }
}

#[test]
fn the_plan_does_not_depend_on_the_input_order() {
    let policy = policy_from_args(&[
        "--keep-daily",
        "5",
        "--keep-weekly",
        "3",
        "--keep-within",
        "3d",
    ])
    .expect("policy");
    let mut snapshots = Data::Restic.snapshots();
    let plan = policy.apply(&snapshots).expect("plan");
    snapshots.reverse();
    assert_eq!(policy.apply(&snapshots).expect("plan"), plan);
    snapshots.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(policy.apply(&snapshots).expect("plan"), plan);
}

#[test]
fn equal_times_are_ordered_by_id() {
    // Three snapshots in one second: "a" counts as the newest, whatever the input order.
    let t = unix("2020-05-05 12:00:00");
    let policy = Policy {
        daily: Some(Count::Limited(1)),
        ..Policy::default()
    };
    for order in [["a", "b", "c"], ["c", "b", "a"], ["b", "c", "a"]] {
        let snapshots: Vec<SnapshotTime> =
            order.iter().map(|id| SnapshotTime::new(*id, t)).collect();
        let plan = policy.apply(&snapshots).expect("plan");
        let ids: Vec<&str> = plan.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(plan[0].reasons, ["daily snapshot"]);
        // "c" is the oldest in the walk: the daily rule has no count left, so it goes.
        assert_eq!(plan[1].action, Action::Remove);
        assert_eq!(plan[2].action, Action::Remove);
    }
}

#[test]
fn the_oldest_is_kept_only_while_counts_are_left() {
    // Two snapshots on one day. keep-daily 2 has a count left at the oldest: kept as oldest.
    // keep-daily 1 has none: removed. keep-last never marks oldest (each is its own period).
    let snapshots = [
        SnapshotTime::new("new", unix("2020-05-05 12:00:00")),
        SnapshotTime::new("old", unix("2020-05-05 08:00:00")),
    ];
    let plan = |args: &[&str]| {
        policy_from_args(args)
            .expect("policy")
            .apply(&snapshots)
            .expect("plan")
    };
    assert_eq!(
        plan(&["--keep-daily", "2"])[1].reasons,
        ["oldest daily snapshot"]
    );
    assert_eq!(plan(&["--keep-daily", "1"])[1].action, Action::Remove);
    assert_eq!(plan(&["--keep-last", "5"])[1].reasons, ["last snapshot"]);
    assert_eq!(
        plan(&["--keep-daily", "unlimited"])[1].reasons,
        ["oldest daily snapshot"]
    );
    // A single snapshot is newest and oldest at once: a new period, not "oldest".
    let one = [SnapshotTime::new("only", 0)];
    let p = policy_from_args(&["--keep-weekly", "3"]).expect("policy");
    assert_eq!(p.apply(&one).expect("plan")[0].reasons, ["weekly snapshot"]);
}

#[test]
fn keep_within_uses_calendar_steps_from_the_newest() {
    let newest = "2016-02-29 12:00:00"; // a leap day
    let snapshots: Vec<SnapshotTime> = [
        newest,
        "2015-03-01 12:00:01",
        "2015-03-01 12:00:00", // 2016-02-29 - 1y = "2015-02-29" = 2015-03-01: on the edge
        "2015-02-28 12:00:00",
        "2016-02-28 12:00:00", // 1d back
        "2016-02-28 11:59:59",
    ]
    .iter()
    .map(|t| SnapshotTime::new(*t, unix(t)))
    .collect();
    let kept = |d: &str| -> Vec<String> {
        let policy = Policy {
            within: Some(Policy::parse_duration(d).expect("duration")),
            ..Policy::default()
        };
        let plan = policy.apply(&snapshots).expect("plan");
        plan.into_iter()
            .filter(Decision::is_kept)
            .map(|d| d.id)
            .collect()
    };
    assert_eq!(
        kept("1y"),
        [
            newest,
            "2016-02-28 12:00:00",
            "2016-02-28 11:59:59",
            "2015-03-01 12:00:01"
        ]
    );
    assert_eq!(kept("1d"), [newest]);
    assert_eq!(
        kept("1d1h"),
        [newest, "2016-02-28 12:00:00", "2016-02-28 11:59:59"]
    );
    assert_eq!(kept("23h"), [newest]);
    assert_eq!(kept("24h"), [newest]);
    // 2015-03-31 - 1m = "2015-02-31" = 2015-03-03 (not a leap year).
    let march = [
        SnapshotTime::new("newest", unix("2015-03-31 00:00:00")),
        SnapshotTime::new("edge", unix("2015-03-03 00:00:00")),
        SnapshotTime::new("inside", unix("2015-03-03 00:00:01")),
    ];
    let policy = Policy {
        within: Some(Duration {
            months: 1,
            ..Duration::default()
        }),
        ..Policy::default()
    };
    let plan = policy.apply(&march).expect("plan");
    let kept: Vec<&str> = plan
        .iter()
        .filter(|d| d.is_kept())
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(kept, ["newest", "inside"]);
}

#[test]
fn a_window_reaching_past_the_calendar_holds_everything() {
    let policy = Policy {
        within: Some(Duration {
            years: 4_000_000_000,
            ..Duration::default()
        }),
        ..Policy::default()
    };
    let snapshots = [
        SnapshotTime::new("a", unix("1970-01-01 00:00:00")),
        SnapshotTime::new("b", -200_000_000_000),
    ];
    let plan = policy.apply(&snapshots).expect("plan");
    assert!(plan.iter().all(Decision::is_kept), "{plan:?}");
    assert_eq!(plan[1].reasons, ["within 4000000000y"]);
}

#[test]
fn apply_at_does_not_measure_from_future_snapshots() {
    let now = unix("2020-06-01 00:00:00");
    let snapshots = [
        SnapshotTime::new("future", unix("2031-01-01 00:00:00")),
        SnapshotTime::new("recent", unix("2020-05-31 00:00:00")),
        SnapshotTime::new("day-before", unix("2020-05-30 12:00:00")),
        SnapshotTime::new("old", unix("2020-01-01 00:00:00")),
    ];
    let policy = policy_from_args(&["--keep-within", "1d"]).expect("policy");
    let kept = |plan: Vec<Decision>| -> Vec<String> {
        plan.into_iter()
            .filter(Decision::is_kept)
            .map(|d| d.id)
            .collect()
    };
    // From now: the newest before now is "recent"; the future one is within too (it is later).
    assert_eq!(
        kept(policy.apply_at(&snapshots, now).expect("plan")),
        ["future", "recent", "day-before"]
    );
    // Without now, the future snapshot is the newest and the window is 2030-12-31 on.
    assert_eq!(kept(policy.apply(&snapshots).expect("plan")), ["future"]);
    // Every snapshot in the future: nothing to measure from, the window holds them all.
    let plan = policy
        .apply_at(&snapshots, unix("2000-01-01 00:00:00"))
        .expect("plan");
    assert_eq!(kept(plan).len(), 4);
    // A snapshot exactly at now is not "before now" (restic: Before(now)).
    let at_now = [
        SnapshotTime::new("now", now),
        SnapshotTime::new("earlier", now - 2 * 86_400),
    ];
    assert_eq!(
        kept(policy.apply_at(&at_now, now).expect("plan")),
        ["now", "earlier"]
    );
}

#[test]
fn an_empty_policy_is_refused() {
    let snapshots = Data::Edges.snapshots();
    assert!(Policy::default().is_empty());
    assert_eq!(Policy::default().apply(&snapshots), Err(Error::EmptyPolicy));
    for args in EMPTY_POLICIES {
        let policy = policy_from_args(args).expect("policy");
        assert!(policy.is_empty(), "{args:?}");
        assert_eq!(
            policy.apply(&snapshots),
            Err(Error::EmptyPolicy),
            "{args:?}"
        );
        assert_eq!(
            policy.apply_at(&snapshots, 0),
            Err(Error::EmptyPolicy),
            "{args:?}"
        );
    }
    for args in [
        &["--keep-last", "1"][..],
        &["--keep-within", "1h"],
        &["--keep-within-yearly", "1y"],
        &["--keep-yearly", "unlimited"],
    ] {
        assert!(
            !policy_from_args(args).expect("policy").is_empty(),
            "{args:?}"
        );
    }
    assert!(
        Error::EmptyPolicy
            .to_string()
            .contains("no snapshot will be removed")
    );
}

#[test]
fn bad_input_is_refused_by_name() {
    let policy = policy_from_args(&["--keep-last", "1"]).expect("policy");
    let dup = [
        SnapshotTime::new("x", 1),
        SnapshotTime::new("y", 2),
        SnapshotTime::new("x", 3),
    ];
    assert_eq!(
        policy.apply(&dup),
        Err(Error::DuplicateId { id: "x".into() })
    );
    let far = [
        SnapshotTime::new("ok", 0),
        SnapshotTime::new("far", i64::MAX),
    ];
    let err = policy.apply(&far).expect_err("out of range");
    assert_eq!(
        err,
        Error::TimeOutOfRange {
            id: "far".into(),
            time: i64::MAX
        }
    );
    assert!(err.to_string().contains("\"far\""), "{err}");
    // No snapshots: an empty plan.
    assert_eq!(policy.apply(&[]), Ok(vec![]));
}

#[test]
fn durations_read_as_restic_reads_them() {
    let d = |y, m, d, h| Duration {
        years: y,
        months: m,
        days: d,
        hours: h,
    };
    for (input, want) in [
        ("1y5m7d2h", d(1, 5, 7, 2)),
        ("7d", d(0, 0, 7, 0)),
        ("1m14d", d(0, 1, 14, 0)),
        ("1y1d1m", d(1, 1, 1, 0)), // any order (restic's own test policy)
        ("2y5m7d3h", d(2, 5, 7, 3)),
        (" 36h ", d(0, 0, 0, 36)),
        ("0d", d(0, 0, 0, 0)),
        ("007d", d(0, 0, 7, 0)),
    ] {
        assert_eq!(Policy::parse_duration(input), Ok(want), "{input:?}");
        assert_eq!(input.parse::<Duration>(), Ok(want), "{input:?}");
    }
    assert_eq!(d(1, 5, 7, 2).to_string(), "1y5m7d2h");
    assert_eq!(d(0, 1, 14, 0).to_string(), "1m14d");
    assert_eq!(d(1, 1, 1, 0).to_string(), "1y1m1d");
    assert_eq!(d(0, 0, 0, 0).to_string(), "0h");
    assert!(d(0, 0, 0, 0).is_zero() && !d(0, 0, 0, 1).is_zero());

    let problem = |input: &str| match Policy::parse_duration(input) {
        Err(Error::BadDuration { input: i, problem }) => {
            assert_eq!(i, input);
            problem
        }
        other => panic!("{input:?}: {other:?}"),
    };
    assert!(problem("1w").contains("write 7d"));
    assert!(problem("2w").contains("write 14d"));
    assert!(problem("5").contains("no unit after 5"));
    assert!(problem("d").contains("expected a number"));
    assert!(problem("1s").contains("unknown unit 's'"));
    assert!(problem("1M").contains("unknown unit 'M'"));
    assert!(problem("1d 2h").contains("expected a number"));
    assert!(problem("+1d").contains("expected a number"));
    assert!(problem("1d2d").contains("already given"));
    assert!(problem("99999999999d").contains("too large"));
    assert!(problem("1٣d").contains("unknown unit")); // a non-ASCII digit is no digit
    assert_eq!(Policy::parse_duration(""), Err(Error::EmptyDuration));
    assert_eq!(Policy::parse_duration("   "), Err(Error::EmptyDuration));
    for input in ["-1d", "1y-2m"] {
        assert_eq!(
            Policy::parse_duration(input),
            Err(Error::NegativeDuration {
                input: input.into()
            }),
            "{input:?}"
        );
    }
    let msg = Policy::parse_duration("3x").expect_err("bad").to_string();
    assert!(
        msg.contains("\"3x\"") && msg.contains("y (years), m (months)"),
        "{msg}"
    );
}

#[test]
fn counts_read_as_restic_reads_them() {
    assert_eq!(Count::parse("3"), Ok(Count::Limited(3)));
    assert_eq!(Count::parse("0"), Ok(Count::Limited(0)));
    assert_eq!(Count::parse(" 12 "), Ok(Count::Limited(12)));
    assert_eq!(Count::parse("unlimited"), Ok(Count::Unlimited));
    assert_eq!(Count::parse("-1"), Ok(Count::Unlimited));
    assert_eq!("7".parse::<Count>(), Ok(Count::Limited(7)));
    for input in ["-2", "-100"] {
        assert_eq!(
            Count::parse(input),
            Err(Error::NegativeCount {
                input: input.into()
            })
        );
    }
    for input in [
        "",
        "x",
        "1.5",
        "3d",
        "-",
        "--1",
        "Unlimited",
        "99999999999",
        "+3",
    ] {
        assert_eq!(
            Count::parse(input),
            Err(Error::BadCount {
                input: input.into()
            }),
            "{input:?}"
        );
    }
    assert!(
        Count::parse("-2")
            .expect_err("neg")
            .to_string()
            .contains("use \"unlimited\"")
    );
    assert_eq!(Count::Unlimited.to_string(), "unlimited");
    assert_eq!(Count::Limited(4).to_string(), "4");
    assert!(!Count::Limited(0).is_set() && Count::Limited(1).is_set() && Count::Unlimited.is_set());
}

#[test]
fn decisions_serialize_for_json_output() {
    let policy = policy_from_args(&["--keep-last", "1", "--keep-within", "1h"]).expect("policy");
    let plan = policy
        .apply(&[SnapshotTime::new("b", 7200), SnapshotTime::new("a", 0)])
        .expect("plan");
    let json = serde_json::to_value(&plan).expect("json");
    assert_eq!(
        json,
        serde_json::json!([
            {"id": "b", "time": 7200, "action": "keep", "reasons": ["within 1h", "last snapshot"]},
            {"id": "a", "time": 0, "action": "remove", "reasons": []},
        ])
    );
    let back: Vec<Decision> = serde_json::from_value(json).expect("back");
    assert_eq!(back, plan);
}

#[test]
fn the_policy_prints_as_restic_prints_it() {
    let show = |args: &[&str]| policy_from_args(args).expect("policy").to_string();
    assert_eq!(show(&["--keep-last", "3"]), "keep 3 latest snapshots");
    assert_eq!(
        show(&[
            "--keep-daily",
            "7",
            "--keep-weekly",
            "unlimited",
            "--keep-within-daily",
            "1m",
            "--keep-within",
            "2d"
        ]),
        "keep 7 daily, all weekly snapshots, daily snapshots within 1m and all snapshots within 2d of the newest"
    );
    assert_eq!(
        show(&["--keep-within", "1y"]),
        "keep all snapshots within 1y of the newest"
    );
    assert_eq!(Policy::default().to_string(), "no policy");
}
