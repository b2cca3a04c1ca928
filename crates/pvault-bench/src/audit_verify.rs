//! Benchmark 8: `Vault::verify_audit` on a log of 1,000,000 entries, against reading the same rows
//! straight from SQLite without checking them, and against that read plus the same per-entry
//! crypto done by hand (one chain hash, one HMAC-SHA256 check).
//!
//! The log is built through `Vault::append_audit_entries_for_benchmarks`, which appends real
//! `records_written` events through the engine's own append (sealed, chained, MACed, each followed by
//! a signed checkpoint), in transactions of 10,000: every entry is one verify must accept.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use aws_lc_rs::hmac;
use pvault_core::Pvault;
use pvault_core::audit::AuditFilter;
use rusqlite::Connection;

use crate::insert::standard_profile;
use crate::report::{Goal, Row, Section};
use crate::timing::{Stats, time};

/// The goal, in entries per second.
const GOAL_RATE: f64 = 500_000.0;
/// Entries appended per call while building (progress is printed after each).
const BUILD_STEP: u64 = 100_000;

pub struct Config {
    /// Entries in the log (the profile's own first entries included).
    pub entries: u64,
    pub runs: usize,
    pub dir: PathBuf,
}

pub fn run(cfg: &Config) -> Result<Section> {
    let tmp = tempfile::Builder::new()
        .prefix("pvault-audit-verify-")
        .tempdir_in(&cfg.dir)?;
    let pv = Pvault::open(tmp.path())?;
    let (_, vault) = standard_profile(&pv, "bench")?;
    let store = pv.details(Some("bench"))?.dir.join("store.db");

    // The profile's own entries (created, unlocked), then real entries up to the size wanted.
    let first = vault.audit(&AuditFilter::default())?.entries.len() as u64;
    let size_before = checkpointed_size(&store)?;
    let start = Instant::now();
    let mut done = first;
    while done < cfg.entries {
        let k = BUILD_STEP.min(cfg.entries - done);
        vault.append_audit_entries_for_benchmarks(k)?;
        done += k;
        eprintln!(
            "audit-verify: building the log: {done}/{} entries ({:.0} s)",
            cfg.entries,
            start.elapsed().as_secs_f64()
        );
    }
    let build_secs = start.elapsed().as_secs_f64();
    let size_after = checkpointed_size(&store)?;
    let appended = cfg.entries - first;
    let per_entry = (size_after - size_before) as f64 / appended.max(1) as f64;
    let avg_entry: f64 = Connection::open(&store)?.query_row(
        "SELECT avg(length(entry)) FROM audit_log",
        [],
        |r| r.get(0),
    )?;

    let raw = Connection::open(&store)?;
    let bench_key = hmac::Key::new(hmac::HMAC_SHA256, &[0x5a; 32]);
    let (mut verify, mut scan, mut by_hand) = (Vec::new(), Vec::new(), Vec::new());
    let mut checkpoints = 0;
    for i in 1..=cfg.runs {
        eprintln!("audit-verify: run {i}/{}", cfg.runs);
        let (report, secs) = time(|| vault.verify_audit(&mut |_, _| {}));
        let report = report?;
        if !report.ok() || report.entries != cfg.entries || report.devices != 1 {
            bail!(
                "verify_audit checked {} entries of {} devices with {} problems; expected {} \
                 entries of 1 device and none",
                report.entries,
                report.devices,
                report.problems.len(),
                cfg.entries
            );
        }
        checkpoints = report.checkpoints;
        verify.push(secs);
        let (n, secs) = time(|| read_rows(&raw, None));
        expect_rows(n?, cfg.entries)?;
        scan.push(secs);
        let (n, secs) = time(|| read_rows(&raw, Some(&bench_key)));
        expect_rows(n?, cfg.entries)?;
        by_hand.push(secs);
    }
    let (verify, scan, by_hand) = (Stats::of(verify), Stats::of(scan), Stats::of(by_hand));
    let n = cfg.entries as f64;
    let rate = |s: Stats| Stats {
        median: n / s.median,
        min: n / s.max,
        max: n / s.min,
        runs: s.runs,
    };
    let verify_rate = n / verify.median;
    let secs = |s: Stats| format!("{:.3} s (min {:.3}, max {:.3})", s.median, s.min, s.max);
    Ok(Section {
        title: format!(
            "8. Audit log verification: {} entries, one device",
            cfg.entries
        ),
        setup: vec![
            format!(
                "log built with Vault::append_audit_entries_for_benchmarks (real records_written \
                 events through the engine's append: sealed, chained, MACed, a signed checkpoint \
                 after each; 10,000 per transaction) in {build_secs:.0} s, then a median of {} runs, \
                 contenders interleaved, the file in the OS page cache (it was just written)",
                cfg.runs
            ),
            format!(
                "store file: {size_before} B before, {size_after} B after (checkpointed, no WAL): \
                 {per_entry:.0} B per entry; sealed entries average {avg_entry:.0} B; {checkpoints} \
                 checkpoint(s) kept"
            ),
        ],
        rows: vec![
            Row::new("Vault::verify_audit", Some(rate(verify)), "ent/s")
                .ratio(Some(1.0))
                .note(secs(verify)),
            Row::new(
                "baseline: SQLite scan of the same rows, no checks",
                Some(rate(scan)),
                "ent/s",
            )
            .ratio(Some(scan.median / verify.median))
            .note(format!(
                "{}; same SELECT and order on a second connection, values borrowed; ratio = this \
                 time / verify's",
                secs(scan)
            )),
            Row::new(
                "baseline: scan + chain hash + HMAC by hand",
                Some(rate(by_hand)),
                "ent/s",
            )
            .ratio(Some(by_hand.median / verify.median))
            .note(format!(
                "{}; the scan, plus per entry the same framed SHA-256 link and an HMAC-SHA256 \
                 check (the bench's own key); ratio = this time / verify's",
                secs(by_hand)
            )),
        ],
        goals: vec![Goal {
            goal: format!("verify_audit ≥ {GOAL_RATE:.0} entries/s"),
            measured: format!(
                "{verify_rate:.0} entries/s ({:.3} s for {} entries; {:.2}× the time of the scan \
                 alone, {:.2}× the scan + crypto by hand)",
                verify.median,
                cfg.entries,
                verify.median / scan.median,
                verify.median / by_hand.median
            ),
            met: Some(verify_rate >= GOAL_RATE),
        }],
    })
}

fn expect_rows(n: u64, want: u64) -> Result<()> {
    if n != want {
        bail!("read {n} audit rows, expected {want}");
    }
    Ok(())
}

/// Reads every entry of the log in verify's order. With `key`, also does verify's per-entry crypto:
/// the chain hash from the previous stored hash, compared with the stored one, and an HMAC-SHA256
/// check of the stored hash against the stored MAC (under the bench's key, so it fails, at the same
/// cost). Returns the number of rows.
fn read_rows(conn: &Connection, key: Option<&hmac::Key>) -> Result<u64> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, seq, CAST(entry AS BLOB), CAST(hash AS BLOB), CAST(mac AS BLOB)
         FROM audit_log ORDER BY device, seq",
    )?;
    let mut rows = stmt.query([])?;
    let (mut n, mut chained, mut macs) = (0u64, 0u64, 0u64);
    let mut previous = [0u8; 32];
    while let Some(r) = rows.next()? {
        let device = r.get_ref(0)?.as_str()?;
        let seq = r.get_ref(1)?.as_i64()? as u64;
        let entry = r.get_ref(2)?.as_blob()?;
        let hash = r.get_ref(3)?.as_blob()?;
        let mac = r.get_ref(4)?.as_blob()?;
        n += 1;
        if let Some(key) = key {
            let computed = pvault_crypto::codec::link(
                b"pvault/audit/entry/v1",
                &previous,
                &[device.as_bytes(), &seq.to_be_bytes(), entry],
            );
            chained += u64::from(computed[..] == *hash);
            macs += u64::from(hmac::verify(key, hash, mac).is_ok());
            previous = hash.try_into().unwrap_or([0xff; 32]);
        } else {
            chained += u64::from(!entry.is_empty() && !hash.is_empty() && !mac.is_empty());
        }
    }
    if key.is_some() && chained != n {
        bail!(
            "the hand-made chain check failed on {} of {n} entries",
            n - chained
        );
    }
    std::hint::black_box((chained, macs));
    Ok(n)
}

/// The size of the store file once its WAL is checkpointed into it (and truncated).
fn checkpointed_size(store: &Path) -> Result<u64> {
    let conn = Connection::open(store)?;
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        bail!("the WAL of {} could not be checkpointed", store.display());
    }
    Ok(std::fs::metadata(store)?.len())
}
