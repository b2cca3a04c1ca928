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

pub(super) fn initial(cfg: &Config) -> Result<Section> {
    let n = cfg.initial;
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

    let runs: Vec<&Initial> = [Some(&sqlite), pg.as_ref()].into_iter().flatten().collect();
    let raw = |f: fn(&Initial) -> &Vec<f64>| {
        Stats::of(runs.iter().flat_map(|r| f(r).iter().copied()).collect())
    };
    let (down, up) = (raw(|r| &r.raw_down), raw(|r| &r.raw_up));
    let bytes = sqlite.bytes;
    let rate = |secs: f64| mb(bytes) / secs;
    let one = |x: f64| Some(Stats::of(vec![x]));
    let raw_down_rate = rate(down.median);
    let raw_up_rate = rate(up.median);
    let timing_note = |t: &Timing| {
        format!(
            "{:.2} s, {:.0} records/s, CPU {:.2} s (this process: client and pvault server)",
            t.wall,
            n as f64 / t.wall,
            t.cpu
        )
    };

    let mut rows = vec![
        Row::new(
            "raw loopback HTTP download (axum + ureq)",
            Some(Stats::of(vec![
                rate(down.max),
                rate(down.median),
                rate(down.min),
            ])),
            "MB/s",
        )
        .ratio(Some(1.0))
        .note(format!(
            "the pull pages' {:.1} MB in their {} pages, one GET each; {:.3} s, median of {}",
            mb(bytes),
            sqlite.pages,
            down.median,
            down.runs
        )),
    ];
    let mut goals = Vec::new();
    let mut pull_rows = |name: &str, r: Option<&Initial>, why: &str| {
        let Some(r) = r else {
            rows.push(Row::new(format!("pvault pull, {name} server"), None, "MB/s").note(why));
            goals.push(Goal {
                goal: format!("initial pull from the {name} server ≥ 50% of raw loopback HTTP"),
                measured: "skipped".into(),
                met: None,
            });
            return;
        };
        let pull = rate(r.build.pull.wall);
        let server = Stats::of(r.server.clone());
        rows.push(
            Row::new(
                format!("pvault pull, {name} server (B's first sync)"),
                one(pull),
                "MB/s",
            )
            .ratio(Some(pull / raw_down_rate))
            .note(format!(
                "{}; join before it {:.2} s",
                timing_note(&r.build.pull),
                r.build.join
            )),
        );
        rows.push(
            Row::new(
                format!("breakdown: {name} server's pull alone"),
                one(rate(server.median)),
                "MB/s",
            )
            .ratio(Some(rate(server.median) / raw_down_rate))
            .note(format!(
                "the same pages pulled with signed requests by a raw client that only reads them; \
                 {:.2} s in requests, median of {}",
                server.median, server.runs
            )),
        );
        goals.push(Goal {
            goal: format!("initial pull from the {name} server ≥ 50% of raw loopback HTTP"),
            measured: format!(
                "{:.1}% ({pull:.1} vs {raw_down_rate:.0} MB/s; {:.2} s vs {:.3} s)",
                100.0 * pull / raw_down_rate,
                r.build.pull.wall,
                down.median
            ),
            met: Some(pull >= 0.5 * raw_down_rate),
        });
    };
    pull_rows("SQLite", Some(&sqlite), "");
    pull_rows("PostgreSQL", pg.as_ref(), &pg_version);
    rows.push(
        Row::new(
            "raw loopback HTTP upload (axum + ureq)",
            Some(Stats::of(vec![rate(up.max), rate(up.median), rate(up.min)])),
            "MB/s",
        )
        .ratio(Some(1.0))
        .note(format!(
            "the same pages as POST bodies; {:.3} s, median of {}",
            up.median, up.runs
        )),
    );
    for (name, r) in [("SQLite", Some(&sqlite)), ("PostgreSQL", pg.as_ref())] {
        let Some(r) = r else { continue };
        let push = rate(r.build.push.wall);
        rows.push(
            Row::new(
                format!("pvault push, {name} server (A's first sync)"),
                one(push),
                "MB/s",
            )
            .ratio(Some(push / raw_up_rate))
            .note(format!(
                "{}; filling A before it (put_many) {:.1} s",
                timing_note(&r.build.push),
                r.build.fill
            )),
        );
        let alone = rate(r.server_push);
        rows.push(
            Row::new(
                format!("breakdown: {name} server's push alone"),
                one(alone),
                "MB/s",
            )
            .ratio(Some(alone / raw_up_rate))
            .note(format!(
                "the same sealed items pushed, {PUSH_ITEMS} per request, to an account of \
                     its own by a raw signed client; {:.2} s in requests",
                r.server_push
            )),
        );
    }
    let pg_line = match &pg {
        Some(_) => format!(
            "PostgreSQL {pg_version} at {} (a fresh database)",
            cfg.postgres
        ),
        None => format!("PostgreSQL figures SKIPPED: {pg_version}"),
    };
    Ok(Section {
        title: format!(
            "4. Initial sync: {n} records × {} B from one device to a new one, SQLite and PostgreSQL servers",
            plain::DATA_BYTES
        ),
        setup: vec![
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
        ],
        rows,
        goals,
    })
}
