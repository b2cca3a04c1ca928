//! Benchmark 9: `Vault::verify` on a profile of 100,000 records, against reading every record once
//! in the same run, two ways: `Vault::list` of the collection (one scan, every id box and body
//! opened) and `Vault::get` of every id. The goal is judged against the cheaper of the two.

use std::path::PathBuf;

use anyhow::{Result, bail};
use pvault_core::{NewRecord, Pvault};

use crate::insert::{records_of, standard_profile};
use crate::plain;
use crate::report::{Goal, Row, Section};
use crate::timing::{Stats, time};

/// The goal: verify takes at most this many times the read of every record.
const MAX_RATIO: f64 = 2.0;
/// Records per `put_many` when filling the profile (as in benchmark 1).
const FILL_BATCH: usize = 1_000;

pub struct Config {
    pub records: usize,
    pub runs: usize,
    pub dir: PathBuf,
}

#[derive(Clone, Copy)]
enum Contender {
    Verify,
    List,
    GetEach,
}

pub fn run(cfg: &Config) -> Result<Section> {
    let tmp = tempfile::Builder::new()
        .prefix("pvault-verify-")
        .tempdir_in(&cfg.dir)?;
    let pv = Pvault::open(tmp.path())?;
    let (_, mut vault) = standard_profile(&pv, "bench")?;
    let work = plain::workload(0, cfg.records);
    let (filled, fill_secs) = time(|| -> Result<()> {
        for chunk in work.chunks(FILL_BATCH) {
            let batch: Vec<NewRecord> = records_of(chunk);
            vault.put_many(batch, &mut |_, _| {})?;
        }
        Ok(())
    });
    filled?;
    let ids: Vec<&str> = work.iter().map(|r| r.id.as_str()).collect();
    let n = cfg.records as u64;

    let (mut verify, mut list, mut get) = (Vec::new(), Vec::new(), Vec::new());
    // The three take turns, each round starting with the next one.
    let order = [Contender::Verify, Contender::List, Contender::GetEach];
    for round in 0..cfg.runs {
        eprintln!("verify-100k: run {}/{}", round + 1, cfg.runs);
        for k in 0..order.len() {
            match order[(round + k) % order.len()] {
                Contender::Verify => {
                    let (report, secs) = time(|| vault.verify(&mut |_, _| {}));
                    let report = report?;
                    if report.records != n || !report.problems.is_empty() {
                        bail!(
                            "verify checked {} records with {} problems; expected {n} and none",
                            report.records,
                            report.problems.len()
                        );
                    }
                    verify.push(secs);
                }
                Contender::List => {
                    let (listing, secs) = time(|| vault.list(plain::COLLECTION, None));
                    let listing = listing?;
                    if listing.records.len() as u64 != n || !listing.unreadable.is_empty() {
                        bail!(
                            "list read {} records, {} unreadable; expected {n} and none",
                            listing.records.len(),
                            listing.unreadable.len()
                        );
                    }
                    drop(listing); // after the clock: freeing what was read is not reading it
                    list.push(secs);
                }
                Contender::GetEach => {
                    let (read, secs) = time(|| -> Result<u64> {
                        let mut bytes = 0u64;
                        for id in &ids {
                            let r = vault.get(plain::COLLECTION, id)?;
                            bytes += r.data["text"].as_str().map_or(0, |s| s.len() as u64);
                        }
                        Ok(bytes)
                    });
                    if read? != n * plain::DATA_BYTES as u64 {
                        bail!("get did not read every record's text");
                    }
                    get.push(secs);
                }
            }
        }
    }
    let (verify, list, get) = (Stats::of(verify), Stats::of(list), Stats::of(get));
    // The goal is judged against the cheaper of the two ways of reading every record once.
    let (base, base_name) = if list.median <= get.median {
        (list, "Vault::list")
    } else {
        (get, "Vault::get of every id")
    };
    let ratio = verify.median / base.median;
    let note = |s: Stats| {
        format!(
            "{:.0} records/s; ratio = this / {base_name}",
            n as f64 / s.median
        )
    };
    Ok(Section {
        title: format!(
            "9. Verify a profile of {} records against reading each once",
            cfg.records
        ),
        setup: vec![
            format!(
                "benchmark 1's records (× {} B, one user collection, no blind index, no \
                 versions), written with put_many, {FILL_BATCH} per transaction, in {fill_secs:.1} s; \
                 median of {} runs, contenders interleaved",
                plain::DATA_BYTES,
                cfg.runs
            ),
            "verify: every id box and body opened, key ids, schema, blind-index rows checked; \
             list: one scan, every id box and body opened (the listing is dropped after the clock); \
             get: row key, row lookup and body opened per id; the goal uses the cheaper read"
                .into(),
        ],
        rows: vec![
            Row::new("Vault::verify", Some(verify), "s")
                .ratio(Some(ratio))
                .note(note(verify)),
            Row::new("read every record: Vault::list of the collection", Some(list), "s")
                .ratio(Some(list.median / base.median))
                .note(note(list)),
            Row::new("read every record: Vault::get of every id", Some(get), "s")
                .ratio(Some(get.median / base.median))
                .note(note(get)),
        ],
        goals: vec![Goal {
            goal: format!(
                "verify ≤ {MAX_RATIO:.0} × reading every record once (the cheaper read: {base_name})"
            ),
            measured: format!(
                "{ratio:.2}× ({:.3} s vs {:.3} s; {:.2}× list, {:.2}× get of every id)",
                verify.median,
                base.median,
                verify.median / list.median,
                verify.median / get.median
            ),
            met: Some(ratio <= MAX_RATIO),
        }],
    })
}
