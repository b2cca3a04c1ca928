//! Initial sync: a device with many records pushes them all, a new device pulls them, against raw loopback HTTP of the same pages.

use anyhow::{Result, ensure};

use crate::insert::PASSWORD;
use crate::loopback::{self, RawDevice, RawServer};
use crate::pgdb::PgDatabase;
use crate::plain::{self, Timing};
use crate::report::{Goal, Row, Section};
use crate::timing::Stats;

use super::*;

/// The figures of one server backend.
struct Initial {
    build: Build,
    /// Request time of the server-alone pulls.
    server: Vec<f64>,
    /// Request time of the server-alone push.
    server_push: f64,
    raw_down: Vec<f64>,
    raw_up: Vec<f64>,
    bytes: u64,
    pages: usize,
}

fn initial_on(server: Server, cfg: &Config) -> Result<Initial> {
    let n = cfg.initial;
    let mut captured = (Vec::new(), Vec::new());
    let (pair, build) = build_pair(
        server,
        &cfg.dir,
        n,
        "bench-initial",
        &mut |server, secret_key| {
            eprintln!("sync: the server's pull alone ({SERVER_RUNS} runs, raw signed client)");
            let raw = RawDevice::join(&server.url(), "bench-initial", PASSWORD, secret_key)?;
            for _ in 0..SERVER_RUNS {
                let (pages, secs) = raw.pull_all(PULL_LIMIT)?;
                captured.0 = pages;
                captured.1.push(secs);
            }
            Ok(())
        },
    )?;
    let (pages, server) = captured;
    eprintln!("sync: the server's push alone (raw signed client, an account of its own)");
    let raw = RawDevice::register(&pair.server.url(), "bench-raw-push")?;
    let server_push = raw.push_all(&loopback::items_of(&pages)?, PUSH_ITEMS)?;
    drop(pair);
    let bytes: u64 = pages.iter().map(|p| p.len() as u64).sum();
    eprintln!(
        "sync: raw loopback HTTP baseline: {} pages, {:.1} MB, {RAW_RUNS} runs",
        pages.len(),
        mb(bytes)
    );
    let raw = RawServer::start(pages.clone())?;
    let (mut raw_down, mut raw_up) = (Vec::new(), Vec::new());
    for _ in 0..RAW_RUNS {
        let (secs, got) = loopback::download(&raw.url(), pages.len())?;
        ensure!(
            got == bytes,
            "the baseline received {got} bytes, expected {bytes}"
        );
        raw_down.push(secs);
        raw_up.push(loopback::upload(&raw.url(), &pages)?);
    }
    Ok(Initial {
        build,
        server,
        server_push,
        raw_down,
        raw_up,
        bytes,
        pages: pages.len(),
    })
}

/// Both backends' figures, and PostgreSQL's version (or why its figures were skipped).
struct Backends {
    sqlite: Initial,
    pg: Option<Initial>,
    pg_version: String,
}

fn both_backends(cfg: &Config) -> Result<Backends> {
    eprintln!("sync: initial sync, SQLite server");
    let sqlite = initial_on(Server::sqlite(&cfg.dir)?, cfg)?;
    eprintln!("sync: initial sync, PostgreSQL server");
    let (pg, pg_version) = match PgDatabase::create(&cfg.postgres) {
        Ok(db) => {
            let version = db.version.clone();
            (Some(initial_on(Server::postgres(db)?, cfg)?), version)
        }
        Err(e) => {
            let why = format!("PostgreSQL not reachable at {}: {e:#}", cfg.postgres);
            eprintln!("sync: the PostgreSQL figure was SKIPPED: {why}");
            (None, why)
        }
    };
    Ok(Backends {
        sqlite,
        pg,
        pg_version,
    })
}

impl Backends {
    /// Each backend by name, with why it has no figures.
    fn named(&self) -> [(&'static str, Option<&Initial>, &str); 2] {
        [
            ("SQLite", Some(&self.sqlite), ""),
            ("PostgreSQL", self.pg.as_ref(), &self.pg_version),
        ]
    }
}

/// The raw loopback baselines over both backends' runs, and what every rate is of.
struct Baseline {
    down: Stats,
    up: Stats,
    /// The pull pages' bytes.
    bytes: u64,
    /// The records synced.
    n: usize,
}

impl Baseline {
    fn of(b: &Backends, n: usize) -> Baseline {
        let runs: Vec<&Initial> = [Some(&b.sqlite), b.pg.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        let raw = |f: fn(&Initial) -> &Vec<f64>| {
            Stats::of(runs.iter().flat_map(|r| f(r).iter().copied()).collect())
        };
        Baseline {
            down: raw(|r| &r.raw_down),
            up: raw(|r| &r.raw_up),
            bytes: b.sqlite.bytes,
            n,
        }
    }

    /// MB/s of the pages' bytes in `secs`.
    fn rate(&self, secs: f64) -> f64 {
        mb(self.bytes) / secs
    }

    /// A raw transfer's row: its rates (slowest, median and fastest), the baseline of its ratios.
    fn raw_row(&self, name: &str, s: Stats, note: String) -> Row {
        let rates = vec![self.rate(s.max), self.rate(s.median), self.rate(s.min)];
        Row::new(name, Some(Stats::of(rates)), "MB/s")
            .ratio(Some(1.0))
            .note(note)
    }

    fn timing_note(&self, t: &Timing) -> String {
        format!(
            "{:.2} s, {:.0} records/s, CPU {:.2} s (this process: client and pvault server)",
            t.wall,
            self.n as f64 / t.wall,
            t.cpu
        )
    }
}

/// A row of one figure in MB/s, with its ratio to the raw baseline's `raw` MB/s.
fn rate_row(name: String, rate: f64, raw: f64) -> Row {
    Row::new(name, Some(Stats::of(vec![rate])), "MB/s").ratio(Some(rate / raw))
}

pub(super) fn initial(cfg: &Config) -> Result<Section> {
    let n = cfg.initial;
    let b = both_backends(cfg)?;
    let base = Baseline::of(&b, n);
    let mut rows = vec![base.raw_row(
        "raw loopback HTTP download (axum + ureq)",
        base.down,
        format!(
            "the pull pages' {:.1} MB in their {} pages, one GET each; {:.3} s, median of {}",
            mb(base.bytes),
            b.sqlite.pages,
            base.down.median,
            base.down.runs
        ),
    )];
    let mut goals = Vec::new();
    for (name, r, why) in b.named() {
        let (pull, goal) = pull_rows(&base, name, r, why);
        rows.extend(pull);
        goals.push(goal);
    }
    rows.push(base.raw_row(
        "raw loopback HTTP upload (axum + ureq)",
        base.up,
        format!(
            "the same pages as POST bodies; {:.3} s, median of {}",
            base.up.median, base.up.runs
        ),
    ));
    for (name, r, _) in b.named() {
        if let Some(r) = r {
            rows.extend(push_rows(&base, name, r));
        }
    }
    Ok(Section {
        title: format!(
            "4. Initial sync: {n} records × {} B from one device to a new one, SQLite and PostgreSQL servers",
            plain::DATA_BYTES
        ),
        setup: setup(cfg, &b, base.bytes),
        rows,
        goals,
    })
}

/// B's first sync from the `name` server, and its server's pull alone; the goal they judge.
fn pull_rows(base: &Baseline, name: &str, r: Option<&Initial>, why: &str) -> (Vec<Row>, Goal) {
    let goal = format!("initial pull from the {name} server ≥ 50% of raw loopback HTTP");
    let Some(r) = r else {
        let row = Row::new(format!("pvault pull, {name} server"), None, "MB/s").note(why);
        let goal = Goal {
            goal,
            measured: "skipped".into(),
            met: None,
        };
        return (vec![row], goal);
    };
    let raw_down_rate = base.rate(base.down.median);
    let pull = base.rate(r.build.pull.wall);
    let server = Stats::of(r.server.clone());
    let rows = vec![
        rate_row(
            format!("pvault pull, {name} server (B's first sync)"),
            pull,
            raw_down_rate,
        )
        .note(format!(
            "{}; join before it {:.2} s",
            base.timing_note(&r.build.pull),
            r.build.join
        )),
        rate_row(
            format!("breakdown: {name} server's pull alone"),
            base.rate(server.median),
            raw_down_rate,
        )
        .note(format!(
            "the same pages pulled with signed requests by a raw client that only reads them; \
             {:.2} s in requests, median of {}",
            server.median, server.runs
        )),
    ];
    let goal = Goal {
        goal,
        measured: format!(
            "{:.1}% ({pull:.1} vs {raw_down_rate:.0} MB/s; {:.2} s vs {:.3} s)",
            100.0 * pull / raw_down_rate,
            r.build.pull.wall,
            base.down.median
        ),
        met: Some(pull >= 0.5 * raw_down_rate),
    };
    (rows, goal)
}

/// A's first sync to the `name` server, and its server's push alone.
fn push_rows(base: &Baseline, name: &str, r: &Initial) -> Vec<Row> {
    let raw_up_rate = base.rate(base.up.median);
    let push = base.rate(r.build.push.wall);
    let alone = base.rate(r.server_push);
    vec![
        rate_row(
            format!("pvault push, {name} server (A's first sync)"),
            push,
            raw_up_rate,
        )
        .note(format!(
            "{}; filling A before it (put_many) {:.1} s",
            base.timing_note(&r.build.push),
            r.build.fill
        )),
        rate_row(
            format!("breakdown: {name} server's push alone"),
            alone,
            raw_up_rate,
        )
        .note(format!(
            "the same sealed items pushed, {PUSH_ITEMS} per request, to an account of \
             its own by a raw signed client; {:.2} s in requests",
            r.server_push
        )),
    ]
}

fn setup(cfg: &Config, b: &Backends, bytes: u64) -> Vec<String> {
    let pg_line = match &b.pg {
        Some(_) => format!(
            "PostgreSQL {} at {} (a fresh database)",
            b.pg_version, cfg.postgres
        ),
        None => format!("PostgreSQL figures SKIPPED: {}", b.pg_version),
    };
    vec![
        "device A (a home of its own, standard profile) holds the insert workload's records; \
         push = A's first sync after setup; pull = B's first sync after join (B empty); one \
         run each; the pvault server runs in this process on 127.0.0.1 (CPU counts it, not \
         PostgreSQL's own processes)"
            .into(),
        format!(
            "baseline: the exact pull pages (captured by the raw client) served by a minimal \
             axum server on 127.0.0.1, fetched with ureq one page at a time; MB/s = the pages' \
             {:.1} MB / time; ratio = this / raw",
            mb(bytes)
        ),
        pg_line,
    ]
}
