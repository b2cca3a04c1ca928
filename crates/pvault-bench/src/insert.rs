//! Benchmark 1: batched encrypted insert. pvault's `Vault::put_many` against plain SQLite and SQLCipher
//! writing the same records, in the same batches, with the same pragmas, each in two layouts (a
//! rowid table with a unique index, and pvault's WITHOUT ROWID layout before store version 7).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use pvault_core::{
    CreatedProfile, Credentials, NewProfile, NewRecord, Pvault, SecurityLevel, Vault,
};

use crate::plain::{self, Input, Layout, Sql, Timing};
use crate::report::{Goal, Row, Section, ratio};
use crate::timing::Stats;

/// Fixed test password of the benchmark profiles.
pub const PASSWORD: &[u8] = b"pvault-bench fixed test password";

/// Creates the standard profile `name` in `pv` with the fixed test password, and unlocks it.
pub fn standard_profile(pv: &Pvault, name: &str) -> Result<(CreatedProfile, Vault)> {
    let created = pv.create(
        NewProfile {
            name: name.into(),
            display_name: None,
            security: SecurityLevel::Standard,
        },
        PASSWORD,
    )?;
    let vault = pv.unlock(Some(name), &Credentials::password(PASSWORD))?;
    Ok((created, vault))
}

pub struct Config {
    pub records: usize,
    pub batch: usize,
    pub runs: usize,
    /// Where each contender gets a fresh temp dir.
    pub dir: PathBuf,
    /// The SQLCipher contender's binary, if built.
    pub sqlcipher: Option<PathBuf>,
}

/// The SQLCipher binary: `$PVAULT_BENCH_SQLCIPHER`, or where `cargo build --release` puts it.
pub fn find_sqlcipher() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PVAULT_BENCH_SQLCIPHER") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/sqlcipher-baseline/target/release/sqlcipher-baseline");
    p.exists().then_some(p)
}

pub const SQLCIPHER_BUILD: &str =
    "cargo build --release --manifest-path bench/sqlcipher-baseline/Cargo.toml";

pub fn run(cfg: &Config) -> Result<Section> {
    let runs = measure(cfg)?;
    Ok(Section {
        title: format!(
            "1. Batched encrypted insert: {} records × {} B, {} per transaction",
            cfg.records,
            plain::DATA_BYTES,
            cfg.batch
        ),
        setup: vec![
            format!(
                "each contender writes the same records (random 26-char ids, {{\"text\": {} chars}}) \
                 into a user collection, fresh temp dir under {} each run; median of {} runs, \
                 contenders interleaved",
                plain::DATA_BYTES,
                cfg.dir.display(),
                cfg.runs
            ),
            "timed: the writes and commits only (profile creation, unlock and SQLCipher's PBKDF2 \
             come before the clock); CPU = user + system time of the timed part"
                .into(),
        ],
        rows: rows(cfg, &runs),
        goals: goals(&runs),
    })
}

/// Every contender's timings, and what its runs reported.
#[derive(Default)]
struct Runs {
    pvault: Vec<Timing>,
    /// Plain SQLite in each layout, in [`LAYOUTS`] order.
    plain: [Vec<Timing>; 2],
    like_pvault: Vec<Timing>,
    /// SQLCipher in each layout, in [`LAYOUTS`] order.
    sqlcipher: [Vec<Timing>; 2],
    /// The average sizes of what pvault stored (its last run).
    sizes: String,
    /// The SQLCipher library (its last run), or why a run failed.
    sqlcipher_info: String,
    sqlcipher_error: Option<String>,
}

/// The layouts the baselines are measured in; the goals are judged against the faster.
const LAYOUTS: [Layout; 2] = [Layout::Rowid, Layout::WithoutRowid];

fn layout_label(layout: Layout) -> &'static str {
    match layout {
        Layout::Rowid => "rowid table + unique index",
        Layout::WithoutRowid => "WITHOUT ROWID (pvault before store v7)",
    }
}

fn measure(cfg: &Config) -> Result<Runs> {
    let work = plain::workload(0, cfg.records);
    let mut r = Runs::default();
    // Contenders take turns, so a change in background load hits all of them alike.
    for run in 1..=cfg.runs {
        let say = |who: &str| eprintln!("insert: run {run}/{}: {who}", cfg.runs);
        say("pvault");
        let (t, s) = pvault_once(&work, cfg)?;
        r.pvault.push(t);
        r.sizes = s;
        for (i, layout) in LAYOUTS.into_iter().enumerate() {
            say(&format!("plain SQLite, {}", layout.name()));
            r.plain[i].push(plain_once(&work, cfg, Sql::Upsert, layout)?);
        }
        say("plain SQLite, pvault's SQL");
        r.like_pvault
            .push(plain_once(&work, cfg, Sql::LikePvault, Layout::Rowid)?);
        if let Some(bin) = &cfg.sqlcipher {
            for (i, layout) in LAYOUTS.into_iter().enumerate() {
                say(&format!("SQLCipher, {}", layout.name()));
                match sqlcipher_once(bin, cfg, layout) {
                    Ok((t, info)) => {
                        r.sqlcipher[i].push(t);
                        r.sqlcipher_info = info;
                    }
                    Err(e) => r.sqlcipher_error = Some(format!("{e:#}")),
                }
            }
        }
    }
    Ok(r)
}

fn wall(ts: &[Timing]) -> Stats {
    Stats::of(ts.iter().map(|t| t.wall).collect())
}

fn cpu(ts: &[Timing]) -> f64 {
    Stats::of(ts.iter().map(|t| t.cpu).collect()).median
}

/// The faster layout of a contender measured in both (by median): its index in [`LAYOUTS`].
fn best(runs: &[Vec<Timing>; 2]) -> Option<usize> {
    (0..2)
        .filter(|&i| !runs[i].is_empty())
        .min_by(|&a, &b| wall(&runs[a]).median.total_cmp(&wall(&runs[b]).median))
}

fn rows(cfg: &Config, r: &Runs) -> Vec<Row> {
    let note = |ts: &[Timing]| {
        let mut written: Vec<u64> = ts.iter().map(|t| t.written).collect();
        written.sort_unstable();
        format!(
            "{:.0} records/s, CPU {:.2} s, wrote {:.0} MB",
            cfg.records as f64 / wall(ts).median,
            cpu(ts),
            written[written.len() / 2] as f64 / 1e6
        )
    };
    let pv_wall = wall(&r.pvault).median;
    let vs = |ts: &[Timing]| ratio(Some(pv_wall), Some(wall(ts).median));
    let mut out = vec![
        Row::new(
            "pvault (Vault::put_many, INTERNAL)",
            Some(wall(&r.pvault)),
            "s",
        )
        .ratio(Some(1.0))
        .note(format!("{}; {}", note(&r.pvault), r.sizes)),
    ];
    let (best_plain, best_cipher) = (best(&r.plain), best(&r.sqlcipher));
    for (i, layout) in LAYOUTS.into_iter().enumerate() {
        let judged = if best_plain == Some(i) {
            "; the best layout: goal judged against it"
        } else {
            ""
        };
        out.push(
            Row::new(
                format!("plain SQLite, {}", layout_label(layout)),
                Some(wall(&r.plain[i])),
                "s",
            )
            .ratio(vs(&r.plain[i]))
            .note(format!(
                "{}; ratio = pvault / this{judged}",
                note(&r.plain[i])
            )),
        );
    }
    for (i, layout) in LAYOUTS.into_iter().enumerate() {
        let label = format!("SQLCipher (PRAGMA key), {}", layout_label(layout));
        out.push(match (r.sqlcipher[i].is_empty(), &r.sqlcipher_error) {
            (false, _) => {
                let judged = if best_cipher == Some(i) {
                    "; its best layout: goal judged against it"
                } else {
                    ""
                };
                Row::new(label, Some(wall(&r.sqlcipher[i])), "s")
                    .ratio(vs(&r.sqlcipher[i]))
                    .note(format!(
                        "{}; {}{judged}",
                        note(&r.sqlcipher[i]),
                        r.sqlcipher_info
                    ))
            }
            (true, Some(e)) => Row::new(label, None, "s").note(format!("failed: {e}")),
            (true, None) => {
                Row::new(label, None, "s").note(format!("not built: run `{SQLCIPHER_BUILD}`"))
            }
        });
    }
    out.push(
        Row::new(
            "breakdown: plain SQLite (rowid), pvault's SQL",
            Some(wall(&r.like_pvault)),
            "s",
        )
        .ratio(vs(&r.like_pvault))
        .note(format!(
            "{}; pvault's statements (row lookup, blind-index delete, meta counters) and row \
             sizes, no crypto, no triggers or secondary indexes",
            note(&r.like_pvault)
        )),
    );
    out
}

fn goals(r: &Runs) -> Vec<Goal> {
    let pv_wall = wall(&r.pvault).median;
    let mut out = Vec::new();
    if let Some(i) = best(&r.plain) {
        let vs_plain = pv_wall / wall(&r.plain[i]).median;
        out.push(Goal {
            goal: "pvault time ≤ 1.3 × the best plain-SQLite layout".into(),
            measured: format!(
                "{vs_plain:.2}× ({}; CPU time {:.2}×)",
                LAYOUTS[i].name(),
                cpu(&r.pvault) / cpu(&r.plain[i]).max(1e-9)
            ),
            met: Some(vs_plain <= 1.3),
        });
    }
    out.push(match best(&r.sqlcipher) {
        None => Goal {
            goal: "pvault time ≤ 0.33 × SQLCipher's".into(),
            measured: "SQLCipher not measured".into(),
            met: None,
        },
        Some(i) => {
            let vs = pv_wall / wall(&r.sqlcipher[i]).median;
            Goal {
                goal: "pvault time ≤ 0.33 × SQLCipher's (its best layout)".into(),
                measured: format!("{vs:.2}× SQLCipher's time ({})", LAYOUTS[i].name()),
                met: Some(vs <= 0.33),
            }
        }
    });
    out
}

pub(crate) fn records_of(chunk: &[Input]) -> Vec<NewRecord> {
    chunk
        .iter()
        .map(|r| NewRecord {
            collection: plain::COLLECTION.into(),
            id: Some(r.id.clone()),
            classification: None,
            data: r.data.clone(),
        })
        .collect()
}

/// One pvault run: a new home and standard profile, then every batch through `put_many`. Returns the
/// time and the average sizes of what pvault stored.
fn pvault_once(work: &[Input], cfg: &Config) -> Result<(Timing, String)> {
    let tmp = tempfile::Builder::new()
        .prefix("pvault-bench-")
        .tempdir_in(&cfg.dir)?;
    let pv = Pvault::open(tmp.path())?;
    let (_, mut vault) = standard_profile(&pv, "bench")?;
    let batches: Vec<Vec<NewRecord>> = work.chunks(cfg.batch).map(records_of).collect();
    let (written, timing) = plain::timed(|| -> Result<usize> {
        let mut n = 0;
        for batch in batches {
            n += vault.put_many(batch, &mut |_, _| {})?.len();
        }
        Ok(n)
    });
    let counts = vault.counts()?;
    if written? != work.len() || counts != [(plain::COLLECTION.to_string(), work.len() as u64)] {
        bail!("pvault stored {counts:?}, expected {} records", work.len());
    }
    let store = pv.details(Some("bench"))?.dir.join("store.db");
    let sizes = rusqlite::Connection::open(&store)?.query_row(
        "SELECT avg(length(body)), avg(length(id_box)) FROM records",
        [],
        |r| Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?)),
    )?;
    let db = std::fs::metadata(&store)?.len();
    Ok((
        timing,
        format!(
            "stored body {:.0} B, id box {:.0} B; database file {:.0} MB",
            sizes.0,
            sizes.1,
            db as f64 / 1e6
        ),
    ))
}

/// One plain-SQLite run.
fn plain_once(work: &[Input], cfg: &Config, sql: Sql, layout: Layout) -> Result<Timing> {
    let tmp = tempfile::Builder::new()
        .prefix("plain-bench-")
        .tempdir_in(&cfg.dir)?;
    let mut conn = plain::open(&tmp.path().join("store.db"), None, layout)?;
    let timing = plain::insert(&mut conn, work, cfg.batch, sql)?;
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))?;
    if n as usize != work.len() {
        bail!("plain SQLite stored {n} records, expected {}", work.len());
    }
    Ok(timing)
}

/// One SQLCipher run, in its own process; returns its time and a description of the library.
fn sqlcipher_once(bin: &Path, cfg: &Config, layout: Layout) -> Result<(Timing, String)> {
    let out = Command::new(bin)
        .args(["--layout", layout.name()])
        .args(["--records", &cfg.records.to_string()])
        .args(["--batch", &cfg.batch.to_string()])
        .arg("--dir")
        .arg(&cfg.dir)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} exited with {}: {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("reading the JSON printed by {}", bin.display()))?;
    let wall = v["seconds"]
        .as_f64()
        .context("no \"seconds\" in its output")?;
    let cpu = v["cpu_seconds"].as_f64().unwrap_or(f64::NAN);
    let written = v["bytes_written"].as_u64().unwrap_or(0);
    let info = format!(
        "SQLCipher {} on {}",
        v["cipher_version"].as_str().unwrap_or("?"),
        v["cipher_provider_version"].as_str().unwrap_or("?")
    );
    Ok((Timing { wall, cpu, written }, info))
}
