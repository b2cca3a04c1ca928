//! Benchmarks 4 to 6: sync between two devices through a pvault server on loopback, in this process.
//!
//! 4. Initial sync: a device that holds N records pushes them (its first `sync` after `setup`), and a
//!    new device pulls them (its first `sync` after `join`), against a SQLite server and a PostgreSQL
//!    server; compared with a raw loopback HTTP transfer of the same bytes in the same pages.
//! 5. Incremental sync of one changed record in a small and in a large profile (push on one device,
//!    pull on the other), many times, with medians and 90th percentiles.
//! 6. Real-time propagation: one device runs `sync::watch`; the other writes a record and syncs; the
//!    time until the watching device has it, over hundreds of samples.
//!
//! Every device is a home of its own with a `standard` profile, as on two machines.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use pvault_core::sync::{self, Policy, SyncReport, WatchEvent};
use pvault_core::{Credentials, NewProfile, NewRecord, Pvault, SecretKey, SecurityLevel, Vault};
use pvault_server::{ServerConfig, ServerHandle};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::insert::PASSWORD;
use crate::loopback::{self, RawDevice, RawServer};
use crate::pgdb::PgDatabase;
use crate::plain::{self, Timing};
use crate::report::{Goal, Row, Section, ratio};
use crate::timing::Stats;

/// Records per `put_many` when filling a profile.
const FILL_BATCH: usize = 10_000;
/// Changes per pull page, as the sync client asks for them (`engine::PULL_LIMIT`).
const PULL_LIMIT: usize = 2000;
/// Items per push request, as the sync client sends them (`engine::PUSH_ITEMS`).
const PUSH_ITEMS: usize = 2000;
/// The servers' per-account record quota (the default, a million, is just the large profile).
const MAX_RECORDS: u64 = 4_000_000;
/// Runs of each raw baseline, per server backend.
const RAW_RUNS: usize = 10;
/// Runs of the server-alone pull, per server backend.
const SERVER_RUNS: usize = 3;

/// Which sync benchmarks to run.
#[derive(Clone, Copy, Default)]
pub struct Parts {
    pub initial: bool,
    pub incremental: bool,
    pub realtime: bool,
}

impl Parts {
    pub fn any(self) -> bool {
        self.initial || self.incremental || self.realtime
    }
}

pub struct Config {
    pub parts: Parts,
    /// Records of the initial sync.
    pub initial: usize,
    /// The small and the large profile of the incremental sync.
    pub small: usize,
    pub large: usize,
    /// One-record changes synced at each size.
    pub changes: usize,
    /// Syncs with nothing to do, at each size.
    pub idle_syncs: usize,
    /// Real-time samples with an explicit sync on A, then with A watching, and the records of that
    /// profile.
    pub realtime: usize,
    pub realtime_watched: usize,
    pub realtime_records: usize,
    /// Where homes and server data go.
    pub dir: PathBuf,
    /// The PostgreSQL admin URL (a fresh database is made there).
    pub postgres: String,
}

pub fn run(cfg: &Config) -> Result<Vec<Section>> {
    let mut sections = Vec::new();
    if cfg.parts.initial {
        sections.push(initial(cfg)?);
    }
    if cfg.parts.incremental {
        sections.push(incremental(cfg)?);
    }
    if cfg.parts.realtime {
        sections.push(realtime(cfg)?);
    }
    Ok(sections)
}

// ----- fixtures -----

/// A server on loopback; its storage goes after it stops.
struct Server {
    handle: ServerHandle,
    _data: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

impl Server {
    fn sqlite(dir: &Path) -> Result<Server> {
        let data = tempfile::Builder::new()
            .prefix("pvault-server-")
            .tempdir_in(dir)?;
        let handle = pvault_server::spawn(with_quota(ServerConfig::sqlite(data.path())))?;
        Ok(Server {
            handle,
            _data: Some(data),
            _pg: None,
        })
    }

    fn postgres(db: PgDatabase) -> Result<Server> {
        let handle = pvault_server::spawn(with_quota(ServerConfig::postgres(db.url.clone())))?;
        Ok(Server {
            handle,
            _data: None,
            _pg: Some(db),
        })
    }

    fn url(&self) -> String {
        self.handle.url()
    }
}

fn with_quota(mut config: ServerConfig) -> ServerConfig {
    config.quota.max_records = MAX_RECORDS;
    config
}

/// A device: a home of its own with the profile `bench`, unlocked.
struct Device {
    vault: Vault,
    pv: Pvault,
    _home: tempfile::TempDir,
}

fn new_home(dir: &Path) -> Result<(tempfile::TempDir, Pvault)> {
    let home = tempfile::Builder::new()
        .prefix("pvault-sync-")
        .tempdir_in(dir)?;
    let pv = Pvault::open(home.path())?;
    Ok((home, pv))
}

/// A new device with records `0..n` of the insert workload; returns it, its Secret Key and the
/// seconds the filling took.
fn filled_device(dir: &Path, n: usize) -> Result<(Device, Zeroizing<String>, f64)> {
    let (home, pv) = new_home(dir)?;
    let created = pv.create(
        NewProfile {
            name: "bench".into(),
            display_name: None,
            security: SecurityLevel::Standard,
        },
        PASSWORD,
    )?;
    let mut vault = pv.unlock(Some("bench"), &Credentials::password(PASSWORD))?;
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let k = FILL_BATCH.min(n - done);
        let batch = plain::workload(done as u64, k)
            .into_iter()
            .map(|r| record(r.id, r.data))
            .collect();
        vault.put_many(batch, &mut |_, _| {})?;
        done += k;
        if n >= 10 * FILL_BATCH && done % (10 * FILL_BATCH) == 0 {
            eprintln!(
                "sync: filling: {done}/{n} records ({:.0} s)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let device = Device {
        vault,
        pv,
        _home: home,
    };
    Ok((device, created.secret_key, secs))
}

fn record(id: String, data: Value) -> NewRecord {
    NewRecord {
        collection: plain::COLLECTION.into(),
        id: Some(id),
        classification: None,
        data,
    }
}

/// A second device joining `username`'s profile; returns it and the seconds `join` took.
fn joined_device(dir: &Path, url: &str, username: &str, secret_key: &str) -> Result<(Device, f64)> {
    let (home, pv) = new_home(dir)?;
    let secret_key = SecretKey::parse(secret_key)?;
    let start = Instant::now();
    let vault = sync::join(
        &pv,
        url,
        username,
        PASSWORD,
        &secret_key,
        "device-b",
        "bench",
    )?;
    let secs = start.elapsed().as_secs_f64();
    let device = Device {
        vault,
        pv,
        _home: home,
    };
    Ok((device, secs))
}

/// One `sync` of a device, timed (CPU is the whole process's: the server runs in it too).
fn timed_sync(d: &mut Device) -> Result<(SyncReport, Timing)> {
    let (report, timing) =
        plain::timed(|| sync::sync(&mut d.vault, &Policy::default(), &mut |_, _, _| {}));
    Ok((report?, timing))
}

fn expect_counts(d: &Device, n: usize, who: &str) -> Result<()> {
    let counts = d.vault.counts()?;
    ensure!(
        counts == [(plain::COLLECTION.to_string(), n as u64)],
        "{who} holds {counts:?}, expected {n} records"
    );
    Ok(())
}

/// Two devices of one profile of `n` records, both synced.
struct Pair {
    a: Device,
    b: Device,
    server: Server,
}

/// How a pair was built.
struct Build {
    fill: f64,
    push: Timing,
    join: f64,
    pull: Timing,
}

/// Device A filled with `n` records, set up on `server` and synced (its first push); then device B
/// joined and synced (its first pull). `between` runs after the push, before B joins.
fn build_pair(
    server: Server,
    dir: &Path,
    n: usize,
    username: &str,
    between: &mut dyn FnMut(&Server, &str) -> Result<()>,
) -> Result<(Pair, Build)> {
    let say = |what: &str| eprintln!("sync: {username} ({n} records): {what}");
    say("filling device A");
    let (mut a, secret_key, fill) = filled_device(dir, n)?;
    sync::setup(&a.vault, &server.url(), username, "device-a")?;
    say("device A's first sync (push)");
    let (report, push) = timed_sync(&mut a)?;
    ensure!(
        report.pushed == n as u64 && report.pending == 0,
        "device A's first sync: {report:?}, expected {n} pushed"
    );
    between(&server, &secret_key)?;
    say("device B joins and syncs (pull)");
    let (mut b, join) = joined_device(dir, &server.url(), username, &secret_key)?;
    let (report, pull) = timed_sync(&mut b)?;
    ensure!(
        report.pulled == n as u64,
        "device B's first sync: {report:?}, expected {n} pulled"
    );
    expect_counts(&b, n, "device B")?;
    say(&format!(
        "push {:.1} s, join {:.2} s, pull {:.1} s",
        push.wall, join, pull.wall
    ));
    let build = Build {
        fill,
        push,
        join,
        pull,
    };
    Ok((Pair { a, b, server }, build))
}

/// Fresh 512-character text (not in the workload) for the `i`-th change.
fn changed_data(i: usize) -> Value {
    plain::workload(1 << 40 | i as u64, 1).remove(0).data
}

/// The `q` quantile of `xs` (nearest rank).
fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

// ----- 4. initial sync -----

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

fn initial(cfg: &Config) -> Result<Section> {
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

// ----- 5. incremental sync -----

/// The times of one profile size (seconds).
#[derive(Default)]
struct Incremental {
    push: Vec<f64>,
    pull: Vec<f64>,
    idle: Vec<f64>,
}

/// Changes record `i` on A, syncs A (push), syncs B (pull), and checks that B has the change.
fn one_change(pair: &mut Pair, i: usize, out: &mut Incremental) -> Result<()> {
    let id = plain::workload(i as u64, 1).remove(0).id;
    let data = changed_data(i);
    pair.a.vault.put(record(id.clone(), data.clone()))?;
    let (report, t) = timed_sync(&mut pair.a)?;
    ensure!(
        report.pushed == 1,
        "device A's sync: {report:?}, expected 1 pushed"
    );
    out.push.push(t.wall);
    let (report, t) = timed_sync(&mut pair.b)?;
    ensure!(
        report.pulled == 1,
        "device B's sync: {report:?}, expected 1 pulled"
    );
    out.pull.push(t.wall);
    let got = pair.b.vault.get(plain::COLLECTION, &id)?;
    ensure!(got.data == data, "device B does not hold the change");
    Ok(())
}

fn incremental(cfg: &Config) -> Result<Section> {
    ensure!(
        cfg.changes <= cfg.small,
        "more changes than records in the small profile"
    );
    let none = &mut |_: &Server, _: &str| Ok(());
    let (mut small, small_build) = build_pair(
        Server::sqlite(&cfg.dir)?,
        &cfg.dir,
        cfg.small,
        "bench-small",
        none,
    )?;
    let (mut large, large_build) = build_pair(
        Server::sqlite(&cfg.dir)?,
        &cfg.dir,
        cfg.large,
        "bench-large",
        none,
    )?;
    let (mut s, mut l) = (Incremental::default(), Incremental::default());
    // The sizes take turns, so a change in background load hits both alike.
    for i in 0..cfg.changes {
        if i % 10 == 0 {
            eprintln!("sync: incremental: change {}/{}", i + 1, cfg.changes);
        }
        if i % 2 == 0 {
            one_change(&mut small, i, &mut s)?;
            one_change(&mut large, i, &mut l)?;
        } else {
            one_change(&mut large, i, &mut l)?;
            one_change(&mut small, i, &mut s)?;
        }
    }
    for _ in 0..cfg.idle_syncs {
        for (pair, out) in [(&mut small, &mut s), (&mut large, &mut l)] {
            let (report, t) = timed_sync(&mut pair.b)?;
            ensure!(
                report.pulled + report.pushed == 0,
                "an idle sync did something: {report:?}"
            );
            out.idle.push(t.wall);
        }
    }
    drop((small, large));

    let ms = |xs: &[f64]| Stats::of(xs.to_vec()).scaled(1e3);
    let p90 = |xs: &[f64]| 1e3 * quantile(xs, 0.9);
    let mut rows = Vec::new();
    for (n, r, base) in [(cfg.small, &s, None), (cfg.large, &l, Some(&s))] {
        let vs = |f: fn(&Incremental) -> &Vec<f64>| {
            base.map_or(Some(1.0), |b| {
                ratio(Some(ms(f(r)).median), Some(ms(f(b)).median))
            })
        };
        rows.push(
            Row::new(
                format!("A: sync pushing 1 change, {n} records"),
                Some(ms(&r.push)),
                "ms",
            )
            .ratio(vs(|x| &x.push))
            .note(format!("p90 {:.1} ms", p90(&r.push))),
        );
        rows.push(
            Row::new(
                format!("B: sync pulling it, {n} records"),
                Some(ms(&r.pull)),
                "ms",
            )
            .ratio(vs(|x| &x.pull))
            .note(format!("p90 {:.1} ms", p90(&r.pull))),
        );
        rows.push(
            Row::new(
                format!("B: sync, nothing to do, {n} records"),
                Some(ms(&r.idle)),
                "ms",
            )
            .ratio(vs(|x| &x.idle))
            .note(format!("p90 {:.1} ms", p90(&r.idle))),
        );
    }
    let goal = |what: &str, f: fn(&Incremental) -> &Vec<f64>| {
        let (a, b) = (ms(f(&s)), ms(f(&l)));
        let r = b.median / a.median;
        Goal {
            goal: format!(
                "{what} of one change at {} records ≤ 1.5 × at {} records",
                cfg.large, cfg.small
            ),
            measured: format!(
                "{r:.2}× (medians {:.1} vs {:.1} ms; p90 {:.1} vs {:.1} ms)",
                b.median,
                a.median,
                p90(f(&l)),
                p90(f(&s))
            ),
            met: Some(r <= 1.5),
        }
    };
    let goals = vec![
        goal("push (A's sync)", |x| &x.push),
        goal("pull (B's sync)", |x| &x.pull),
    ];
    let built = |n: usize, b: &Build| {
        format!(
            "{n} records: filled in {:.1} s; first push {:.1} s ({:.0} records/s); join {:.2} s; \
             first pull {:.1} s ({:.0} records/s)",
            b.fill,
            b.push.wall,
            n as f64 / b.push.wall,
            b.join,
            b.pull.wall,
            n as f64 / b.pull.wall
        )
    };
    Ok(Section {
        title: format!(
            "5. Incremental sync of one changed record, profiles of {} and {} records",
            cfg.small, cfg.large
        ),
        setup: vec![
            format!(
                "per size: a pair of devices on its own SQLite server; {} rounds, sizes taking \
                 turns: A puts one changed record (512-char text), then A's sync (push) and B's \
                 sync (pull) are timed; then {} syncs of B with nothing to do; ratio = this size / \
                 the small one",
                cfg.changes, cfg.idle_syncs
            ),
            format!("built: {}", built(cfg.small, &small_build)),
            format!("built: {}", built(cfg.large, &large_build)),
        ],
        rows,
        goals,
    })
}

// ----- 6. real-time propagation -----

/// What a watching device reports to the bench.
enum Seen {
    Synced { at: Instant, head: u64 },
    Connected,
    Trouble(String),
}

/// The times of one sample, from before A's write (seconds). `synced` is when A's explicit sync
/// returned (none when A's own watch pushed).
struct Sample {
    put: f64,
    synced: Option<f64>,
    seen: f64,
}

type Watcher<'scope> = std::thread::ScopedJoinHandle<'scope, (pvault_core::Result<()>, Vault)>;

/// Runs `sync::watch` on `vault` in a thread until `stop`, sending its events to `tx`; the thread
/// gives the vault back.
fn spawn_watch<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    mut vault: Vault,
    stop: &'scope AtomicBool,
    tx: mpsc::Sender<Seen>,
) -> Watcher<'scope> {
    scope.spawn(move || {
        let result = sync::watch(
            &mut vault,
            &Policy::default(),
            &|| stop.load(Ordering::Relaxed),
            &mut |event| {
                let seen = match event {
                    WatchEvent::Synced(r) => Seen::Synced {
                        at: Instant::now(),
                        head: r.head_seq,
                    },
                    WatchEvent::Connected { .. } => Seen::Connected,
                    WatchEvent::Trouble(e) => Seen::Trouble(e.to_string()),
                };
                let _ = tx.send(seen);
            },
        );
        (result, vault)
    })
}

const WAIT: Duration = Duration::from_secs(10);

/// Waits until a watch has connected and caught up.
fn started(rx: &mpsc::Receiver<Seen>, who: &str) -> Result<()> {
    let (mut connected, mut synced) = (false, false);
    while !(connected && synced) {
        match rx
            .recv_timeout(WAIT)
            .with_context(|| format!("{who}'s watch did not start"))?
        {
            Seen::Connected => connected = true,
            Seen::Synced { .. } => synced = true,
            Seen::Trouble(e) => bail!("{who}'s watch failed: {e}"),
        }
    }
    Ok(())
}

/// Waits for B's watch to report a sync that reached past `head`; returns when and where.
fn seen_by_b(rx: &mpsc::Receiver<Seen>, head: u64) -> Result<(Instant, u64)> {
    loop {
        match rx
            .recv_timeout(WAIT)
            .context("the watching device did not get the change within 10 s")?
        {
            Seen::Synced { at, head: h } if h > head => return Ok((at, h)),
            Seen::Trouble(e) => eprintln!("sync: real-time: B's watch reports: {e}"),
            _ => {}
        }
    }
}

/// The id and new data of the `i`-th real-time change.
fn realtime_change(i: usize, records: usize) -> (String, Value) {
    let id = plain::workload((i % records) as u64, 1).remove(0).id;
    (id, changed_data(i))
}

fn realtime(cfg: &Config) -> Result<Section> {
    let none = &mut |_: &Server, _: &str| Ok(());
    let (pair, _) = build_pair(
        Server::sqlite(&cfg.dir)?,
        &cfg.dir,
        cfg.realtime_records,
        "bench-realtime",
        none,
    )?;
    let Pair { a, b, server } = pair;
    let (stop_a, stop_b) = (AtomicBool::new(false), AtomicBool::new(false));
    let (tx_a, rx_a) = mpsc::channel::<Seen>();
    let (tx_b, rx_b) = mpsc::channel::<Seen>();
    let total = cfg.realtime + cfg.realtime_watched;
    let (explicit, watched, b_vault) = std::thread::scope(|scope| {
        let b_watch = spawn_watch(scope, b.vault, &stop_b, tx_b);
        let mut a_vault = Some(a.vault);
        let mut a_watch = None;
        // Whatever fails, both watches are stopped before the scope waits for them.
        let run = (|| -> Result<(Vec<Sample>, Vec<Sample>)> {
            started(&rx_b, "B")?;
            let vault = a_vault.as_mut().expect("A's vault");
            let mut explicit = Vec::with_capacity(cfg.realtime);
            let mut head = 0;
            for i in 0..cfg.realtime {
                if i % 50 == 0 {
                    eprintln!("sync: real-time: sample {}/{}", i + 1, cfg.realtime);
                }
                let (id, data) = realtime_change(i, cfg.realtime_records);
                let t0 = Instant::now();
                vault.put(record(id, data))?;
                let t1 = Instant::now();
                let report = sync::sync(vault, &Policy::default(), &mut |_, _, _| {})?;
                let t2 = Instant::now();
                ensure!(report.pushed == 1, "device A's sync: {report:?}");
                let (seen, h) = seen_by_b(&rx_b, head.max(report.head_seq - 1))?;
                head = h;
                let since = |t: Instant| t.duration_since(t0).as_secs_f64();
                explicit.push(Sample {
                    put: since(t1),
                    synced: Some(since(t2)),
                    seen: since(seen),
                });
            }
            // A watches too, and its writes come from another connection to its store (as from
            // another program): A's watch pushes them when it notices them.
            eprintln!(
                "sync: real-time: A watches too ({} samples)",
                cfg.realtime_watched
            );
            let mut writer =
                a.pv.unlock(Some("bench"), &Credentials::password(PASSWORD))?;
            a_watch = Some(spawn_watch(
                scope,
                a_vault.take().expect("A's vault"),
                &stop_a,
                tx_a,
            ));
            started(&rx_a, "A")?;
            let mut watched = Vec::with_capacity(cfg.realtime_watched);
            for i in cfg.realtime..total {
                let (id, data) = realtime_change(i, cfg.realtime_records);
                let t0 = Instant::now();
                writer.put(record(id, data))?;
                let t1 = Instant::now();
                let (seen, h) = seen_by_b(&rx_b, head)?;
                head = h;
                let since = |t: Instant| t.duration_since(t0).as_secs_f64();
                watched.push(Sample {
                    put: since(t1),
                    synced: None,
                    seen: since(seen),
                });
                // The next write comes when A's watch is idle again, at a varying point of its
                // 250 ms wait: a write that lands while A is still syncing is pushed by the same
                // sync, which is not what a user's next edit sees.
                loop {
                    match rx_a
                        .recv_timeout(WAIT)
                        .context("A's watch did not finish its sync")?
                    {
                        Seen::Synced { head: a, .. } if a >= h => break,
                        Seen::Trouble(e) => eprintln!("sync: real-time: A's watch reports: {e}"),
                        _ => {}
                    }
                }
                std::thread::sleep(Duration::from_millis((i as u64 * 37) % 100 * 3));
            }
            Ok((explicit, watched))
        })();
        stop_a.store(true, Ordering::Relaxed);
        stop_b.store(true, Ordering::Relaxed);
        let (b_result, b_vault) = b_watch.join().expect("B's watch thread panicked");
        if let Some(w) = a_watch {
            w.join().expect("A's watch thread panicked").0?;
        }
        b_result?;
        let (explicit, watched) = run?;
        anyhow::Ok((explicit, watched, b_vault))
    })?;
    let (id, data) = realtime_change(total - 1, cfg.realtime_records);
    ensure!(
        b_vault.get(plain::COLLECTION, &id)?.data == data,
        "the watching device does not hold the last change"
    );
    drop((b_vault, b.pv, b._home, a.pv, a._home, server));

    let ms = |xs: &[Sample], f: fn(&Sample) -> f64| -> Vec<f64> {
        xs.iter().map(|s| 1e3 * f(s)).collect()
    };
    let put = ms(&explicit, |s| s.put);
    let sync_a = ms(&explicit, |s| s.synced.unwrap_or(f64::NAN) - s.put);
    let after_sync = ms(&explicit, |s| s.seen - s.synced.unwrap_or(f64::NAN));
    let end_to_end = ms(&explicit, |s| s.seen);
    let by_watch = ms(&watched, |s| s.seen);
    let row = |name: &str, xs: &[f64]| {
        Row::new(name, Some(Stats::of(xs.to_vec())), "ms").note(format!(
            "p50 {:.1}, p90 {:.1}, p99 {:.1} ms",
            quantile(xs, 0.5),
            quantile(xs, 0.9),
            quantile(xs, 0.99)
        ))
    };
    let mut rows = vec![
        row("A: put (the write, durable)", &put),
        row("A: sync (its push, then its own pull)", &sync_a),
        row("B has it, from A's sync returning", &after_sync),
        row("B has it, from before A's write", &end_to_end),
    ];
    if !by_watch.is_empty() {
        rows.push(row(
            "B has it, from before A's write; A watching",
            &by_watch,
        ));
    }
    let p99 = quantile(&end_to_end, 0.99);
    let mut goals = vec![Goal {
        goal: "real-time propagation p99 < 100 ms (from before A's write to B holding it)".into(),
        measured: format!(
            "p99 {p99:.1} ms, p50 {:.1} ms ({} samples; from A's sync returning: p99 {:.1} ms)",
            quantile(&end_to_end, 0.5),
            end_to_end.len(),
            quantile(&after_sync, 0.99)
        ),
        met: Some(p99 < 100.0),
    }];
    if !by_watch.is_empty() {
        let p99 = quantile(&by_watch, 0.99);
        goals.push(Goal {
            goal: "the same when A's own watch pushes its writes (for information)".into(),
            measured: format!(
                "p99 {p99:.1} ms, p50 {:.1} ms ({} samples)",
                quantile(&by_watch, 0.5),
                by_watch.len()
            ),
            met: Some(p99 < 100.0),
        });
    }
    Ok(Section {
        title: format!(
            "6. Real-time propagation between two devices, {} + {} samples",
            cfg.realtime, cfg.realtime_watched
        ),
        setup: vec![
            format!(
                "a pair of devices with {} records on a SQLite server; B runs sync::watch in a \
                 thread (WebSocket announcements); per sample A puts one changed record and runs \
                 sync, then the bench waits for B",
                cfg.realtime_records
            ),
            "B has it = the instant B's watch reports WatchEvent::Synced past the head before \
             the change: B's sync has committed the record to B's store (checked with Vault::get \
             at the end); times are per sample, one change in flight at a time"
                .into(),
            format!(
                "then {} samples with A watching too: the writes come through a second Vault on \
                 A's store and A's watch pushes them (it looks for local changes when its \
                 WebSocket has been quiet for 250 ms); each write 0-297 ms after A's watch \
                 finished its last sync",
                cfg.realtime_watched
            ),
        ],
        rows,
        goals,
    })
}
