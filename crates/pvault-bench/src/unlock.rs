//! Benchmark 3: unlock time with 10 and with many records, against the KDF alone. Unlocking runs
//! Argon2id once and must not depend on the size of the store.

use std::path::Path;

use anyhow::Result;
use pvault_core::{Credentials, Pvault, SecurityLevel};
use pvault_crypto::{KdfParams, KeyFile, PasswordKey};

use crate::insert::{PASSWORD, standard_profile};
use crate::plain;
use crate::report::{Goal, Row, Section};
use crate::timing::{Stats, time};

/// Records per `put_many` when filling the large profile.
const FILL_BATCH: usize = 10_000;
/// The cheapest Argon2id a key file may have: used to time unlocking without the KDF.
const MIN_KDF: KdfParams = KdfParams {
    m_kib: 8,
    t: 1,
    p: 1,
};

pub fn run(large: usize, runs: usize, dir: &Path) -> Result<Section> {
    let tmp = tempfile::Builder::new()
        .prefix("pvault-unlock-")
        .tempdir_in(dir)?;
    let pv = Pvault::open(tmp.path())?;
    fill(&pv, "small", 10)?;
    fill(&pv, "large", large)?;
    let t = measure(&pv, runs)?;
    Ok(Section {
        title: format!("3. Unlock time, standard profile, 10 and {large} records"),
        setup: vec![
            format!(
                "Pvault::unlock (KDF, key file, attempt counters, store open) timed alone; {runs} runs, KDF and \
                 unlocks interleaved; profiles filled with put_many, {FILL_BATCH} per transaction"
            ),
            "the goal is judged on the direct non-KDF figure; the differences are shown too".into(),
        ],
        rows: rows(&t, large),
        goals: goals(&t, large),
    })
}

/// The figures, in milliseconds: the KDF alone, and unlocking each profile with its standard KDF
/// and with the cheapest one.
struct Times {
    params: KdfParams,
    kdf: Stats,
    small: Stats,
    big: Stats,
    small0: Stats,
    big0: Stats,
}

fn measure(pv: &Pvault, runs: usize) -> Result<Times> {
    let creds = Credentials::password(PASSWORD);
    // The KDF and both unlocks take turns, so background load hits them alike.
    let salt = [0x17u8; 16];
    let params = SecurityLevel::Standard.kdf_params();
    let (mut kdf, mut small, mut big) = (Vec::new(), Vec::new(), Vec::new());
    for i in 1..=runs {
        eprintln!("unlock: run {i}/{runs}");
        kdf.push(time(|| PasswordKey::derive(PASSWORD, &salt, params)).1);
        small.push(timed_unlock(pv, "small", &creds)?);
        big.push(timed_unlock(pv, "large", &creds)?);
    }

    // The same profiles with their key files rewrapped under the cheapest KDF: what is left of an
    // unlock is everything but Argon2id, measured directly rather than as a difference of two
    // noisy figures.
    rewrap(pv, "small", MIN_KDF)?;
    rewrap(pv, "large", MIN_KDF)?;
    let (mut small0, mut big0) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(20) {
        small0.push(timed_unlock(pv, "small", &creds)?);
        big0.push(timed_unlock(pv, "large", &creds)?);
    }
    let ms = |xs: Vec<f64>| Stats::of(xs).scaled(1e3);
    Ok(Times {
        params,
        kdf: ms(kdf),
        small: ms(small),
        big: ms(big),
        small0: ms(small0),
        big0: ms(big0),
    })
}

fn rows(t: &Times, large: usize) -> Vec<Row> {
    let m = |p: KdfParams| format!("Argon2id m={} MiB, t={}, p={}", p.m_kib / 1024, p.t, p.p);
    let minus_kdf = |s: Stats| {
        format!(
            "− KDF: {:+.1} ms (medians), {:+.1} ms (minima)",
            s.median - t.kdf.median,
            s.min - t.kdf.min
        )
    };
    let rewrapped = "key file rewrapped with Argon2id m=8 KiB, t=1, p=1";
    vec![
        Row::new(format!("KDF alone ({})", m(t.params)), Some(t.kdf), "ms"),
        Row::new("unlock, 10 records", Some(t.small), "ms").note(minus_kdf(t.small)),
        Row::new(format!("unlock, {large} records"), Some(t.big), "ms").note(minus_kdf(t.big)),
        Row::new("unlock without KDF cost, 10 records", Some(t.small0), "ms").note(rewrapped),
        Row::new(
            format!("unlock without KDF cost, {large} records"),
            Some(t.big0),
            "ms",
        )
        .note(rewrapped),
    ]
}

fn goals(t: &Times, large: usize) -> Vec<Goal> {
    let goal = |n: &str, direct: Stats, full: Stats| Goal {
        goal: format!("unlock at {n} records ≈ KDF + < 5 ms"),
        measured: format!(
            "non-KDF part {:.2} ms (direct); unlock − KDF {:+.1} ms (medians)",
            direct.median,
            full.median - t.kdf.median
        ),
        met: Some(direct.median < 5.0),
    };
    vec![
        goal("10", t.small0, t.small),
        goal(&large.to_string(), t.big0, t.big),
    ]
}

fn timed_unlock(pv: &Pvault, name: &str, creds: &Credentials) -> Result<f64> {
    let (vault, secs) = time(|| pv.unlock(Some(name), creds));
    drop(vault?);
    Ok(secs)
}

/// Creates profile `name` with `n` records of the insert workload.
fn fill(pv: &Pvault, name: &str, n: usize) -> Result<()> {
    let (_, mut vault) = standard_profile(pv, name)?;
    let start = std::time::Instant::now();
    let mut done = 0;
    while done < n {
        let k = FILL_BATCH.min(n - done);
        let batch = plain::workload(done as u64, k)
            .into_iter()
            .map(|r| pvault_core::NewRecord {
                collection: plain::COLLECTION.into(),
                id: Some(r.id),
                classification: None,
                data: r.data,
            })
            .collect();
        vault.put_many(batch, &mut |_, _| {})?;
        done += k;
        if n >= FILL_BATCH {
            eprintln!(
                "unlock: filling '{name}': {done}/{n} records ({:.0} s)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Rewraps a profile's keys under `params` (same password, same keys), in place.
fn rewrap(pv: &Pvault, name: &str, params: KdfParams) -> Result<()> {
    let path = pv.details(Some(name))?.dir.join("key.json");
    let file = KeyFile::decode(&std::fs::read(&path)?)?;
    let keys = file.unlock(PASSWORD, None)?;
    let (file, _) = file.change_password(&keys, PASSWORD, params)?;
    std::fs::write(&path, file.encode())?;
    Ok(())
}
