//! Benchmark 7: the audit log's cost on the batched insert. Benchmark 1's pvault contender
//! (`Vault::put_many`, the same records and batches) with the audit log on, as it always is, and off
//! (`Vault::disable_audit_for_benchmarks`), in alternating rounds of the same run.

use std::path::PathBuf;

use anyhow::{Result, bail};
use pvault_core::{NewRecord, Pvault};

use crate::insert::{records_of, standard_profile};
use crate::plain::{self, Input, Timing};
use crate::report::{Goal, Row, Section};
use crate::timing::Stats;

/// The goal: with the log on, at most 10% more time than with it off.
const MAX_TIME_RATIO: f64 = 1.10;

pub struct Config {
    pub records: usize,
    pub batch: usize,
    pub runs: usize,
    /// Where each run gets a fresh temp dir.
    pub dir: PathBuf,
}

pub fn run(cfg: &Config) -> Result<Section> {
    let work = plain::workload(0, cfg.records);
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let mut entries = (0, 0);
    // Rounds alternate, and so does the order inside a round (on then off, off then on), so that
    // neither setting always runs first after the other one's files were deleted.
    for round in 1..=cfg.runs {
        let order = if round % 2 == 1 {
            [true, false]
        } else {
            [false, true]
        };
        for audit in order {
            eprintln!(
                "audit-insert: run {round}/{}: audit {}",
                cfg.runs,
                if audit { "on" } else { "off" }
            );
            let (t, n) = once(&work, cfg, audit)?;
            if audit {
                on.push(t);
                entries.0 = n;
            } else {
                off.push(t);
                entries.1 = n;
            }
        }
    }
    // The two settings really differ: one entry per transaction more with the log on.
    let transactions = cfg.records.div_ceil(cfg.batch);
    if entries.0 != entries.1 + transactions as u64 {
        bail!(
            "audit on left {} entries and off {}: expected {transactions} more with it on",
            entries.0,
            entries.1
        );
    }
    let wall = |ts: &[Timing]| Stats::of(ts.iter().map(|t| t.wall).collect());
    let cpu = |ts: &[Timing]| Stats::of(ts.iter().map(|t| t.cpu).collect()).median;
    let rate = |s: Stats| Stats {
        median: cfg.records as f64 / s.median,
        min: cfg.records as f64 / s.max,
        max: cfg.records as f64 / s.min,
        runs: s.runs,
    };
    let (w_on, w_off) = (wall(&on), wall(&off));
    let time_ratio = w_on.median / w_off.median;
    let rate_ratio = w_off.median / w_on.median;
    let cpu_ratio = cpu(&on) / cpu(&off).max(1e-9);
    // The same comparison round by round (each round's two runs are next to each other in time),
    // which a drift of the background load over the whole run affects less.
    let paired = Stats::of(on.iter().zip(&off).map(|(a, b)| a.wall / b.wall).collect());
    Ok(Section {
        title: format!(
            "7. Audit log cost on the batched insert: {} records × {} B, {} per transaction",
            cfg.records,
            plain::DATA_BYTES,
            cfg.batch
        ),
        setup: vec![
            format!(
                "benchmark 1's pvault contender (Vault::put_many, INTERNAL, fresh home and profile under \
                 {} each run) with the audit log on (default) and off \
                 (Vault::disable_audit_for_benchmarks); median of {} runs each, alternating",
                cfg.dir.display(),
                cfg.runs
            ),
            format!(
                "audit on writes one records_written entry and one signed checkpoint per transaction \
                 ({transactions} per run); timed: the writes and commits only"
            ),
        ],
        rows: vec![
            Row::new("put_many, audit log off (baseline)", Some(rate(w_off)), "rec/s")
                .ratio(Some(1.0))
                .note(format!(
                    "{:.2} s (min {:.2}, max {:.2}), CPU {:.2} s; {} audit entries in the store",
                    w_off.median,
                    w_off.min,
                    w_off.max,
                    cpu(&off),
                    entries.1
                )),
            Row::new("put_many, audit log on", Some(rate(w_on)), "rec/s")
                .ratio(Some(rate_ratio))
                .note(format!(
                    "{:.2} s (min {:.2}, max {:.2}), CPU {:.2} s; {} audit entries in the store; \
                     ratio = throughput on / off; time on / off {time_ratio:.3}×, CPU {cpu_ratio:.3}×; \
                     per round, time on / off: median {:.3}×, {:.3}–{:.3}×",
                    w_on.median,
                    w_on.min,
                    w_on.max,
                    cpu(&on),
                    entries.0,
                    paired.median,
                    paired.min,
                    paired.max
                )),
        ],
        goals: vec![Goal {
            goal: format!(
                "audit on ≤ 10% slower than off, judged in time: on / off ≤ {MAX_TIME_RATIO:.2}"
            ),
            measured: format!(
                "time {time_ratio:.3}× (throughput {rate_ratio:.3}×, CPU {cpu_ratio:.3}×; per-round \
                 time ratios {:.3}–{:.3}×)",
                paired.min, paired.max
            ),
            met: Some(time_ratio <= MAX_TIME_RATIO),
        }],
    })
}

/// One run: a new home and standard profile, the audit log on or off, then every batch through
/// `put_many`. Returns the time and the number of audit entries the store then holds.
fn once(work: &[Input], cfg: &Config, audit: bool) -> Result<(Timing, u64)> {
    let tmp = tempfile::Builder::new()
        .prefix("pvault-audit-insert-")
        .tempdir_in(&cfg.dir)?;
    let pv = Pvault::open(tmp.path())?;
    let (_, mut vault) = standard_profile(&pv, "bench")?;
    if !audit {
        vault.disable_audit_for_benchmarks();
    }
    let batches: Vec<Vec<NewRecord>> = work.chunks(cfg.batch).map(records_of).collect();
    let (written, timing) = plain::timed(|| -> Result<usize> {
        let mut n = 0;
        for batch in batches {
            n += vault.put_many(batch, &mut |_, _| {})?.len();
        }
        Ok(n)
    });
    if written? != work.len() {
        bail!("pvault did not store {} records", work.len());
    }
    let store = pv.details(Some("bench"))?.dir.join("store.db");
    let entries: i64 = rusqlite::Connection::open(store)?.query_row(
        "SELECT count(*) FROM audit_log",
        [],
        |r| r.get(0),
    )?;
    Ok((timing, entries as u64))
}
