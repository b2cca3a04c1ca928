//! Benchmark 10: incremental backup of one change at 100,000 and at 1,000,000 records
//! (`BackupOptions::run` into a repository on the same disk).

use std::path::PathBuf;

use anyhow::{Result, ensure};
use pvault_core::backup::{BackupOptions, Repo};

use crate::plain::{self, Timing};
use crate::report::{Goal, Row, Section, ratio};
use crate::sync::{Device, changed_data, filled_device, quantile, record};
use crate::timing::Stats;

pub struct Config {
    pub small: usize,
    pub large: usize,
    pub changes: usize,
    pub dir: PathBuf,
}

struct Sized {
    n: usize,
    device: Device,
    repo: Repo,
    _repo_dir: tempfile::TempDir,
    first: Timing,
    first_bytes: u64,
    times: Vec<f64>,
    bytes: Vec<f64>,
}

fn build(cfg: &Config, n: usize) -> Result<Sized> {
    eprintln!("backup: filling {n} records");
    let (device, _, _) = filled_device(&cfg.dir, n)?;
    let repo_dir = tempfile::Builder::new()
        .prefix("pvault-backup-repo-")
        .tempdir_in(&cfg.dir)?;
    let repo = Repo::init(&repo_dir.path().join("repo"))?;
    eprintln!("backup: first backup of {n} records");
    let (report, first) =
        plain::timed(|| BackupOptions::default().run(&device.vault, &repo, &mut |_, _| {}));
    let report = report?;
    ensure!(
        report.snapshot.records == n as u64,
        "the first backup holds {} records",
        report.snapshot.records
    );
    Ok(Sized {
        n,
        device,
        repo,
        _repo_dir: repo_dir,
        first,
        first_bytes: report.snapshot.added_bytes,
        times: Vec::new(),
        bytes: Vec::new(),
    })
}

/// Changes record `i` and times the backup that follows.
fn one_change(s: &mut Sized, i: usize) -> Result<()> {
    let id = plain::workload(i as u64, 1).remove(0).id;
    s.device.vault.put(record(id, changed_data(i)))?;
    let (report, t) =
        plain::timed(|| BackupOptions::default().run(&s.device.vault, &s.repo, &mut |_, _| {}));
    let report = report?;
    ensure!(
        report.incremental && report.buckets_read == 1,
        "not incremental: {} buckets read",
        report.buckets_read
    );
    s.times.push(t.wall);
    s.bytes.push(report.snapshot.added_bytes as f64);
    Ok(())
}

pub fn run(cfg: &Config) -> Result<Section> {
    let mut small = build(cfg, cfg.small)?;
    let mut large = build(cfg, cfg.large)?;
    for i in 0..cfg.changes {
        // The sizes take turns, so a change in background load hits both alike.
        if i % 2 == 0 {
            one_change(&mut small, i)?;
            one_change(&mut large, i)?;
        } else {
            one_change(&mut large, i)?;
            one_change(&mut small, i)?;
        }
    }
    let ms = |xs: &[f64]| Stats::of(xs.to_vec()).scaled(1e3);
    let mut rows = Vec::new();
    for s in [&small, &large] {
        rows.push(
            Row::new(
                format!("first backup, {} records", s.n),
                Some(Stats::of(vec![s.first.wall])),
                "s",
            )
            .note(format!(
                "{:.1} MB written, {:.0} records/s",
                s.first_bytes as f64 / 1e6,
                s.n as f64 / s.first.wall
            )),
        );
    }
    let (a, b) = (ms(&small.times), ms(&large.times));
    rows.push(
        Row::new(
            format!("backup after one change, {} records", small.n),
            Some(a),
            "ms",
        )
        .ratio(Some(1.0))
        .note(format!(
            "p90 {:.1} ms; {:.0} KB written",
            1e3 * quantile(&small.times, 0.9),
            quantile(&small.bytes, 0.5) / 1e3
        )),
    );
    rows.push(
        Row::new(
            format!("backup after one change, {} records", large.n),
            Some(b),
            "ms",
        )
        .ratio(ratio(Some(b.median), Some(a.median)))
        .note(format!(
            "p90 {:.1} ms; {:.0} KB written",
            1e3 * quantile(&large.times, 0.9),
            quantile(&large.bytes, 0.5) / 1e3
        )),
    );
    let r = b.median / a.median;
    let written = quantile(&small.bytes, 0.5) / small.first_bytes as f64;
    Ok(Section {
        title: format!(
            "10. Incremental backup of one change, profiles of {} and {} records",
            cfg.small, cfg.large
        ),
        setup: vec![format!(
            "per size: a profile filled like benchmark 5 (512-char records, batches of 1,000) and a repository \
             on the same disk; one full backup, then {} rounds, sizes taking turns: one record changed, \
             then `BackupOptions::run` timed; ratio = this size / the small one",
            cfg.changes
        )],
        rows,
        goals: vec![
            Goal {
                goal: format!(
                    "incremental backup of one change at {} records ≤ 1.5 × at {}",
                    cfg.large, cfg.small
                ),
                measured: format!("{r:.2}× (medians {:.1} vs {:.1} ms)", b.median, a.median),
                met: Some(r <= 1.5),
            },
            Goal {
                goal: format!(
                    "the backup after one change writes < 1% of the first ({} records)",
                    cfg.small
                ),
                measured: format!("{:.3}%", written * 100.0),
                met: Some(written < 0.01),
            },
        ],
    })
}
