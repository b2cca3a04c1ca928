//! Real-time propagation: a write on one device until another device's watch has it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use pvault_core::sync::{self, Policy, WatchEvent};
use pvault_core::{Credentials, Pvault, Vault};
use serde_json::Value;

use crate::insert::PASSWORD;
use crate::plain::{self};
use crate::report::{Goal, Row, Section};
use crate::timing::Stats;

use super::*;

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

pub(super) fn realtime(cfg: &Config) -> Result<Section> {
    let none = &mut |_: &Server, _: &str| Ok(());
    let (pair, _) = build_pair(
        Server::sqlite(&cfg.dir)?,
        &cfg.dir,
        cfg.realtime_records,
        "bench-realtime",
        none,
    )?;
    let Pair { a, b, server } = pair;
    let (explicit, watched, b_vault) = measure(cfg, a.vault, &a.pv, b.vault)?;
    let total = cfg.realtime + cfg.realtime_watched;
    let (id, data) = realtime_change(total - 1, cfg.realtime_records);
    ensure!(
        b_vault.get(plain::COLLECTION, &id)?.data == data,
        "the watching device does not hold the last change"
    );
    drop((b_vault, b.pv, b._home, a.pv, a._home, server));
    let t = Times::of(&explicit, &watched);
    Ok(Section {
        title: format!(
            "6. Real-time propagation between two devices, {} + {} samples",
            cfg.realtime, cfg.realtime_watched
        ),
        setup: setup(cfg),
        rows: rows(&t),
        goals: goals(&t),
    })
}

/// B watches while A writes and syncs; then A watches too and its writes come from a second
/// connection. Returns both series of samples and B's vault.
fn measure(
    cfg: &Config,
    a_vault: Vault,
    a_pv: &Pvault,
    b_vault: Vault,
) -> Result<(Vec<Sample>, Vec<Sample>, Vault)> {
    let (stop_a, stop_b) = (AtomicBool::new(false), AtomicBool::new(false));
    let (tx_a, rx_a) = mpsc::channel::<Seen>();
    let (tx_b, rx_b) = mpsc::channel::<Seen>();
    std::thread::scope(|scope| {
        let b_watch = spawn_watch(scope, b_vault, &stop_b, tx_b);
        let mut a_vault = Some(a_vault);
        let mut a_watch = None;
        // Whatever fails, both watches are stopped before the scope waits for them.
        let run = (|| -> Result<(Vec<Sample>, Vec<Sample>)> {
            started(&rx_b, "B")?;
            let vault = a_vault.as_mut().expect("A's vault");
            let (explicit, head) = explicit_samples(cfg, vault, &rx_b)?;
            // A watches too, and its writes come from another connection to its store (as from
            // another program): A's watch pushes them when it notices them.
            eprintln!(
                "sync: real-time: A watches too ({} samples)",
                cfg.realtime_watched
            );
            let mut writer = a_pv.unlock(Some("bench"), &Credentials::password(PASSWORD))?;
            a_watch = Some(spawn_watch(
                scope,
                a_vault.take().expect("A's vault"),
                &stop_a,
                tx_a,
            ));
            started(&rx_a, "A")?;
            let watched = watched_samples(cfg, &mut writer, &rx_a, &rx_b, head)?;
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
    })
}

/// Samples with an explicit sync on A after each write; returns them and the last head B saw.
fn explicit_samples(
    cfg: &Config,
    vault: &mut Vault,
    rx_b: &mpsc::Receiver<Seen>,
) -> Result<(Vec<Sample>, u64)> {
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
        let (seen, h) = seen_by_b(rx_b, head.max(report.head_seq - 1))?;
        head = h;
        let since = |t: Instant| t.duration_since(t0).as_secs_f64();
        explicit.push(Sample {
            put: since(t1),
            synced: Some(since(t2)),
            seen: since(seen),
        });
    }
    Ok((explicit, head))
}

/// Samples with A's watch pushing the writes of `writer`, starting past B's `head`.
fn watched_samples(
    cfg: &Config,
    writer: &mut Vault,
    rx_a: &mpsc::Receiver<Seen>,
    rx_b: &mpsc::Receiver<Seen>,
    mut head: u64,
) -> Result<Vec<Sample>> {
    let mut watched = Vec::with_capacity(cfg.realtime_watched);
    for i in cfg.realtime..cfg.realtime + cfg.realtime_watched {
        let (id, data) = realtime_change(i, cfg.realtime_records);
        // A's watch may have pushed more than the last write (its audit entries, a checkpoint):
        // B's reports of those, already queued, say nothing of the write to come.
        while let Ok(event) = rx_b.try_recv() {
            if let Seen::Synced { head: h, .. } = event {
                head = head.max(h);
            }
        }
        let t0 = Instant::now();
        writer.put(record(id, data))?;
        let t1 = Instant::now();
        let (seen, h) = seen_by_b(rx_b, head)?;
        head = h;
        let since = |t: Instant| t.duration_since(t0).as_secs_f64();
        watched.push(Sample {
            put: since(t1),
            synced: None,
            seen: since(seen),
        });
        // The next write comes when A's watch is idle again, at a varying point of its
        // 20 ms poll for local changes: a write that lands while A is still syncing is pushed by the same
        // sync, which is not what a user's next edit sees.
        a_idle(rx_a, h)?;
        std::thread::sleep(Duration::from_millis((i as u64 * 37) % 100 * 3));
    }
    Ok(watched)
}

/// Waits until A's watch reports a sync that reached `head`.
fn a_idle(rx_a: &mpsc::Receiver<Seen>, head: u64) -> Result<()> {
    loop {
        match rx_a
            .recv_timeout(WAIT)
            .context("A's watch did not finish its sync")?
        {
            Seen::Synced { head: a, .. } if a >= head => return Ok(()),
            Seen::Trouble(e) => eprintln!("sync: real-time: A's watch reports: {e}"),
            _ => {}
        }
    }
}

/// The samples' intervals, in milliseconds.
struct Times {
    put: Vec<f64>,
    sync_a: Vec<f64>,
    after_sync: Vec<f64>,
    end_to_end: Vec<f64>,
    by_watch: Vec<f64>,
}

impl Times {
    fn of(explicit: &[Sample], watched: &[Sample]) -> Times {
        let ms = |xs: &[Sample], f: fn(&Sample) -> f64| -> Vec<f64> {
            xs.iter().map(|s| 1e3 * f(s)).collect()
        };
        Times {
            put: ms(explicit, |s| s.put),
            sync_a: ms(explicit, |s| s.synced.unwrap_or(f64::NAN) - s.put),
            after_sync: ms(explicit, |s| s.seen - s.synced.unwrap_or(f64::NAN)),
            end_to_end: ms(explicit, |s| s.seen),
            by_watch: ms(watched, |s| s.seen),
        }
    }
}

fn rows(t: &Times) -> Vec<Row> {
    let row = |name: &str, xs: &[f64]| {
        Row::new(name, Some(Stats::of(xs.to_vec())), "ms").note(format!(
            "p50 {:.1}, p90 {:.1}, p99 {:.1} ms",
            quantile(xs, 0.5),
            quantile(xs, 0.9),
            quantile(xs, 0.99)
        ))
    };
    let mut rows = vec![
        row("A: put (the write, durable)", &t.put),
        row("A: sync (its push, then its own pull)", &t.sync_a),
        row("B has it, from A's sync returning", &t.after_sync),
        row("B has it, from before A's write", &t.end_to_end),
    ];
    if !t.by_watch.is_empty() {
        rows.push(row(
            "B has it, from before A's write; A watching",
            &t.by_watch,
        ));
    }
    rows
}

fn goals(t: &Times) -> Vec<Goal> {
    let p99 = quantile(&t.end_to_end, 0.99);
    let mut goals = vec![Goal {
        goal: "real-time propagation p99 < 100 ms (from before A's write to B holding it)".into(),
        measured: format!(
            "p99 {p99:.1} ms, p50 {:.1} ms ({} samples; from A's sync returning: p99 {:.1} ms)",
            quantile(&t.end_to_end, 0.5),
            t.end_to_end.len(),
            quantile(&t.after_sync, 0.99)
        ),
        met: Some(p99 < 100.0),
    }];
    if !t.by_watch.is_empty() {
        let p99 = quantile(&t.by_watch, 0.99);
        goals.push(Goal {
            goal: "the same when A's own watch pushes its writes (for information)".into(),
            measured: format!(
                "p99 {p99:.1} ms, p50 {:.1} ms ({} samples)",
                quantile(&t.by_watch, 0.5),
                t.by_watch.len()
            ),
            met: Some(p99 < 100.0),
        });
    }
    goals
}

fn setup(cfg: &Config) -> Vec<String> {
    vec![
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
             A's store and A's watch pushes them (it looks for local changes every 20 ms, \
             between reads of its WebSocket); each write 0-297 ms after A's watch finished \
             its last sync",
            cfg.realtime_watched
        ),
    ]
}
