//! pvault's retention plans against restic's own `forget`.
//!
//! When `restic version` works, this makes a restic repository in a temporary directory, one
//! snapshot of a one-file directory per time of a data set (`restic backup --time …`, `TZ=UTC`),
//! and for every case of `testdata/cases.rs` runs `restic forget --dry-run --json` with the case's
//! options. It checks that restic keeps and removes what pvault's plan keeps and removes, with
//! the same reasons, and that both match the table. The rules restic gained after the installed
//! release are set aside by its version (see `as_of`), and options it does not have are skipped.
//!
//! Without restic it prints `SKIPPED: restic not installed` and passes, unless
//! `PVAULT_REQUIRE_RESTIC=1`. By default it runs the cases on the calendar-edge data set (18
//! snapshots, about 20 s on 2 cores); `PVAULT_RESTIC_FULL=1` adds restic's own 99-snapshot data
//! set (about 90 s more).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use pvault_backup::retention::{Count, Decision, Error, Policy, SnapshotTime};

include!("../testdata/cases.rs");

type Version = (u32, u32, u32);
type Kept = Vec<(String, Vec<String>)>;

/// `restic 0.14.0 compiled with go1.19.8 on linux/amd64` → (0, 14, 0).
fn restic_version() -> Option<Version> {
    let out = Command::new("restic").arg("version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let word = text.split_whitespace().nth(1)?;
    let mut parts = word
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// The reasons of a modern restic (0.18), as the given release gives them: before 0.16 there is
/// no oldest-snapshot rule (a snapshot kept only by it is removed); 0.16 and 0.17 keep the oldest
/// for the count rules without saying "oldest", and not for the `--keep-within-*` rules.
fn as_of(version: Version, kept: Kept) -> Kept {
    kept.into_iter()
        .filter_map(|(time, reasons)| {
            let reasons: Vec<String> = reasons
                .into_iter()
                .filter_map(|r| match r.strip_prefix("oldest ") {
                    None => Some(r),
                    Some(_) if version < (0, 16, 0) => None,
                    Some(rest) if version < (0, 18, 0) => {
                        (!rest.contains(" within ")).then(|| rest.to_string())
                    }
                    Some(_) => Some(r),
                })
                .collect();
            (!reasons.is_empty()).then_some((time, reasons))
        })
        .collect()
}

fn kept_of(plan: &[Decision]) -> Kept {
    plan.iter()
        .filter(|d| d.is_kept())
        .map(|d| (d.id.clone(), d.reasons.clone()))
        .collect()
}

fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `f` over `items` on two threads (the machine has two cores), keeping the order.
fn two_at_a_time<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let half = items.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(half)
            .map(|chunk| s.spawn(|| chunk.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    })
}

struct Repo {
    dir: tempfile::TempDir,
    data: PathBuf,
}

impl Repo {
    fn restic(&self) -> Command {
        let mut c = Command::new("restic");
        for var in [
            "RESTIC_PASSWORD_FILE",
            "RESTIC_PASSWORD_COMMAND",
            "RESTIC_REPOSITORY_FILE",
            "RESTIC_CACHE_DIR",
        ] {
            c.env_remove(var);
        }
        c.env("RESTIC_REPOSITORY", self.dir.path().join("repo"))
            .env("RESTIC_PASSWORD", "pvault retention test")
            .env("TZ", "UTC")
            .arg("--no-cache");
        c
    }

    /// A repository with one snapshot per time ("YYYY-MM-DD HH:MM:SS", UTC).
    fn with_snapshots(times: &[&str]) -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        std::fs::write(data.join("file"), "pvault\n").expect("data file");
        let repo = Repo { dir, data };
        check(
            &repo
                .restic()
                .args(["init", "-q"])
                .output()
                .expect("run restic"),
            "restic init",
        );
        // `backup` takes a shared lock: two can run at once.
        two_at_a_time(times, |t| {
            let out = repo
                .restic()
                .args(["backup", "-q", "--host", "pvault-test", "--time", t])
                .arg(&repo.data)
                .output()
                .expect("run restic");
            check(&out, &format!("restic backup --time {t:?}"));
        });
        repo
    }

    /// `restic forget --dry-run --json ARGS`: (kept with reasons, removed), or None when restic
    /// refused or printed no plan (an empty policy).
    fn forget(&self, args: &[&str]) -> Option<(Kept, Vec<String>)> {
        let out = self
            .restic()
            .args(["--no-lock", "forget", "--dry-run", "--json"])
            .args(args)
            .output()
            .expect("run restic");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || stdout.trim().is_empty() {
            return None;
        }
        let groups: serde_json::Value = serde_json::from_str(stdout.trim()).expect("forget --json");
        let groups = groups.as_array().expect("a list of groups");
        assert_eq!(groups.len(), 1, "one host, one path: one group\n{stdout}");
        let g = &groups[0];
        // restic's times are RFC 3339 in UTC ("2016-01-18T12:02:03Z"); our IDs are the times.
        let time_of = |v: &serde_json::Value| -> String {
            let t = v["time"].as_str().expect("a time");
            assert!(t.ends_with('Z'), "not UTC: {t}");
            t[..19].replace('T', " ")
        };
        let list = |key: &str| -> Vec<&serde_json::Value> {
            g[key]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        };
        let kept: Kept = list("reasons")
            .into_iter()
            .map(|r| {
                let matches = r["matches"].as_array().expect("matches");
                let reasons = matches
                    .iter()
                    .map(|m| m.as_str().expect("a reason").to_string());
                (time_of(&r["snapshot"]), reasons.collect())
            })
            .collect();
        let keep: Vec<String> = list("keep").into_iter().map(time_of).collect();
        let ids: Vec<String> = kept.iter().map(|(t, _)| t.clone()).collect();
        assert_eq!(
            keep, ids,
            "restic's keep list and its reasons name the same snapshots"
        );
        let removed = list("remove").into_iter().map(time_of).collect();
        Some((kept, removed))
    }
}

fn run_cases(version: Version, data: Data) -> usize {
    let started = Instant::now();
    let times = data.times();
    let repo = Repo::with_snapshots(&times);
    let cases: Vec<&Case> = CASES.iter().filter(|c| c.data == data).collect();
    let runnable: Vec<&Case> = cases
        .iter()
        .copied()
        .filter(|c| {
            let ok = (version.0, version.1) >= c.min_restic;
            if !ok {
                println!("skipped {}: restic {version:?} lacks its options", c.name);
            }
            ok
        })
        .collect();
    let results = two_at_a_time(&runnable, |c| repo.forget(c.args));
    for (case, result) in runnable.iter().zip(results) {
        let (restic_kept, restic_removed) =
            result.unwrap_or_else(|| panic!("{}: restic printed no plan", case.name));
        let policy = policy_from_args(case.args).expect("policy");
        let plan = policy.apply(&data.snapshots()).expect("plan");
        let pvault_kept = as_of(version, kept_of(&plan));
        let mut pvault_removed: Vec<String> = plan
            .iter()
            .map(|d| d.id.clone())
            .filter(|id| !pvault_kept.iter().any(|(k, _)| k == id))
            .collect();
        let mut restic_removed = restic_removed;
        pvault_removed.sort();
        restic_removed.sort();
        let name = format!("{} ({})", case.name, case.checks);
        assert_eq!(restic_kept, pvault_kept, "{name}: kept (restic, pvault)");
        assert_eq!(
            restic_removed, pvault_removed,
            "{name}: removed (restic, pvault)"
        );
        let table: Kept = case
            .kept
            .iter()
            .map(|(t, r)| (t.to_string(), r.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(
            restic_kept,
            as_of(version, table),
            "{name}: restic against the table"
        );
        assert_eq!(
            restic_kept.len() + restic_removed.len(),
            times.len(),
            "{name}"
        );
    }
    // A policy of only zeros: pvault refuses, restic refuses (0.17+) or plans nothing (before).
    for args in EMPTY_POLICIES {
        let policy = policy_from_args(args).expect("policy");
        assert_eq!(
            policy.apply(&data.snapshots()),
            Err(Error::EmptyPolicy),
            "{args:?}"
        );
        if let Some((_, removed)) = repo.forget(args) {
            assert!(
                removed.is_empty(),
                "{args:?}: restic would remove {removed:?}"
            );
        }
    }
    println!(
        "restic {}.{}.{} agrees with pvault on {} cases of {data:?} ({} snapshots) in {:.1?}",
        version.0,
        version.1,
        version.2,
        runnable.len(),
        times.len(),
        started.elapsed()
    );
    runnable.len()
}

#[test]
fn restic_forget_plans_what_pvault_plans() {
    let Some(version) = restic_version() else {
        assert!(
            std::env::var("PVAULT_REQUIRE_RESTIC").as_deref() != Ok("1"),
            "PVAULT_REQUIRE_RESTIC=1 but `restic version` does not run"
        );
        println!("SKIPPED: restic not installed");
        return;
    };
    let mut checked = run_cases(version, Data::Edges);
    if std::env::var("PVAULT_RESTIC_FULL").as_deref() == Ok("1") {
        checked += run_cases(version, Data::Restic);
    }
    assert!(
        checked >= 9,
        "only {checked} cases ran against restic {version:?}"
    );
}

#[test]
fn the_version_mapping_sets_aside_only_the_later_rules() {
    let kept = |rows: &[(&str, &[&str])]| -> Kept {
        rows.iter()
            .map(|(t, r)| (t.to_string(), r.iter().map(|s| s.to_string()).collect()))
            .collect()
    };
    let modern = kept(&[
        ("b", &["daily snapshot"]),
        ("a", &["oldest monthly snapshot", "oldest weekly within 2y"]),
    ]);
    assert_eq!(
        as_of((0, 14, 0), modern.clone()),
        kept(&[("b", &["daily snapshot"])])
    );
    assert_eq!(
        as_of((0, 16, 4), modern.clone()),
        kept(&[("b", &["daily snapshot"]), ("a", &["monthly snapshot"])])
    );
    assert_eq!(as_of((0, 18, 0), modern.clone()), modern);
}
