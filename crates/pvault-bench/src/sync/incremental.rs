//! Incremental sync: one change at 10,000 and at 1,000,000 records.

use anyhow::{Result, ensure};

use crate::plain::{self};
use crate::report::{Goal, Row, Section, ratio};
use crate::timing::Stats;

use super::*;

/// The times of one profile size (seconds).
#[derive(Default)]
struct Incremental {
    push: Vec<f64>,
    pull: Vec<f64>,
    idle: Vec<f64>,
    /// Time each of those syncs spent checking the other device's checkpoint, and publishing its
    /// own, as the sync report gives them; the check's part on the server (reading the
    /// checkpoints and building their proofs for the last pull page), from its metrics.
    checks: Vec<f64>,
    server_checks: Vec<f64>,
    publish: Vec<f64>,
}

/// A pair and a third device, C, which syncs between A and B (so that B, when it checks A's
/// checkpoint, needs the server's consistency proof: C's sync has moved the log past it).
struct Trio {
    pair: Pair,
    c: Device,
}

/// Changes record `i` on A, syncs A (push), then C (not timed), then B (pull), and checks that B
/// has the change.
fn one_change(trio: &mut Trio, i: usize, out: &mut Incremental) -> Result<()> {
    let Trio { pair, c } = trio;
    let id = plain::workload(i as u64, 1).remove(0).id;
    let data = changed_data(i);
    pair.a.vault.put(record(id.clone(), data.clone()))?;
    let url = pair.server.url();
    let before = server_check_us(&url)?;
    let (report, t) = timed_sync(&mut pair.a)?;
    ensure!(
        report.pushed == 1,
        "device A's sync: {report:?}, expected 1 pushed"
    );
    out.push.push(t.wall);
    out.note_checks(&report, server_check_us(&url)? - before);
    timed_sync(c)?;
    let before = server_check_us(&url)?;
    let (report, t) = timed_sync(&mut pair.b)?;
    ensure!(
        report.pulled == 1,
        "device B's sync: {report:?}, expected 1 pulled"
    );
    out.pull.push(t.wall);
    out.note_checks(&report, server_check_us(&url)? - before);
    let got = pair.b.vault.get(plain::COLLECTION, &id)?;
    ensure!(got.data == data, "device B does not hold the change");
    Ok(())
}

impl Incremental {
    /// A sync's checkpoint work: the client's check (and the server's part of it), its publication.
    fn note_checks(&mut self, report: &pvault_core::sync::SyncReport, server_us: u64) {
        self.checks
            .push((report.peer_check_us + server_us) as f64 / 1e6);
        self.server_checks.push(server_us as f64 / 1e6);
        self.publish.push(report.checkpoint_publish_us as f64 / 1e6);
    }
}

/// The microseconds the server spent answering checkpoint lists so far (from `/metrics`).
fn server_check_us(url: &str) -> Result<u64> {
    const NAME: &str = "pvault_checkpoint_answer_microseconds_total ";
    let text = ureq::get(&format!("{url}/metrics"))
        .call()?
        .body_mut()
        .read_to_string()?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(NAME))
        .ok_or_else(|| anyhow::anyhow!("the server's metrics lack {NAME}"))?;
    Ok(line.trim().parse()?)
}

pub(super) fn incremental(cfg: &Config) -> Result<Section> {
    ensure!(
        cfg.changes <= cfg.small,
        "more changes than records in the small profile"
    );
    let trio = |n, username: &str| -> Result<(Trio, Build)> {
        let mut c = None;
        let mut join_c = |server: &Server, secret_key: &str| {
            eprintln!("sync: {username}: device C joins and syncs");
            let (mut d, _) = joined_device(&cfg.dir, &server.url(), username, secret_key)?;
            timed_sync(&mut d)?;
            c = Some(d);
            Ok(())
        };
        let (pair, build) = build_pair(
            Server::sqlite(&cfg.dir)?,
            &cfg.dir,
            n,
            username,
            &mut join_c,
        )?;
        let c = c.expect("device C joined");
        Ok((Trio { pair, c }, build))
    };
    let (mut small, small_build) = trio(cfg.small, "bench-small")?;
    let (mut large, large_build) = trio(cfg.large, "bench-large")?;
    let (s, l) = measure(cfg, &mut small, &mut large)?;
    drop((small, large));
    Ok(Section {
        title: format!(
            "5. Incremental sync of one changed record, profiles of {} and {} records",
            cfg.small, cfg.large
        ),
        setup: vec![
            format!(
                "per size: devices A and B (and C) on their own SQLite server; {} rounds, sizes \
                 taking turns: A puts one changed record (512-char text), then A's sync (push) is \
                 timed, C syncs (not timed: its sync moves the log past A's checkpoint, so B needs \
                 a consistency proof to check it), and B's sync (pull) is timed; then {} syncs of \
                 B with nothing to do; ratio = this size / the small one",
                cfg.changes, cfg.idle_syncs
            ),
            format!("built: {}", built(cfg.small, &small_build)),
            format!("built: {}", built(cfg.large, &large_build)),
        ],
        rows: rows(cfg, &s, &l),
        goals: goals(cfg, &s, &l),
    })
}

/// The changes at both sizes, taking turns, then the idle syncs.
fn measure(cfg: &Config, small: &mut Trio, large: &mut Trio) -> Result<(Incremental, Incremental)> {
    let (mut s, mut l) = (Incremental::default(), Incremental::default());
    // The sizes take turns, so a change in background load hits both alike.
    for i in 0..cfg.changes {
        if i % 10 == 0 {
            eprintln!("sync: incremental: change {}/{}", i + 1, cfg.changes);
        }
        if i % 2 == 0 {
            one_change(small, i, &mut s)?;
            one_change(large, i, &mut l)?;
        } else {
            one_change(large, i, &mut l)?;
            one_change(small, i, &mut s)?;
        }
    }
    for _ in 0..cfg.idle_syncs {
        for (trio, out) in [(&mut *small, &mut s), (&mut *large, &mut l)] {
            let (report, t) = timed_sync(&mut trio.pair.b)?;
            ensure!(
                report.pulled + report.pushed == 0,
                "an idle sync did something: {report:?}"
            );
            out.idle.push(t.wall);
        }
    }
    Ok((s, l))
}

fn ms(xs: &[f64]) -> Stats {
    Stats::of(xs.to_vec()).scaled(1e3)
}

fn p90(xs: &[f64]) -> f64 {
    1e3 * quantile(xs, 0.9)
}

/// Push, pull and idle sync at each size; the large one's ratios are against the small one.
fn rows(cfg: &Config, s: &Incremental, l: &Incremental) -> Vec<Row> {
    let mut rows = Vec::new();
    for (n, r, base) in [(cfg.small, s, None), (cfg.large, l, Some(s))] {
        let row = |name: String, f: fn(&Incremental) -> &Vec<f64>| {
            let vs = base.map_or(Some(1.0), |b| {
                ratio(Some(ms(f(r)).median), Some(ms(f(b)).median))
            });
            Row::new(name, Some(ms(f(r))), "ms")
                .ratio(vs)
                .note(format!("p90 {:.1} ms", p90(f(r))))
        };
        rows.push(row(format!("A: sync pushing 1 change, {n} records"), |x| {
            &x.push
        }));
        rows.push(row(format!("B: sync pulling it, {n} records"), |x| &x.pull));
        rows.push(row(format!("B: sync, nothing to do, {n} records"), |x| {
            &x.idle
        }));
        rows.push(row(
            format!("… of which checking the other device's checkpoint, {n} records"),
            |x| &x.checks,
        ));
        rows.push(row(
            format!("… … of that, on the server (checkpoints and proofs), {n} records"),
            |x| &x.server_checks,
        ));
        rows.push(row(
            format!("… of which publishing this device's, {n} records"),
            |x| &x.publish,
        ));
    }
    rows
}

fn goals(cfg: &Config, s: &Incremental, l: &Incremental) -> Vec<Goal> {
    let goal = |what: &str, f: fn(&Incremental) -> &Vec<f64>| {
        let (a, b) = (ms(f(s)), ms(f(l)));
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
                p90(f(l)),
                p90(f(s))
            ),
            met: Some(r <= 1.5),
        }
    };
    let c = ms(&l.checks);
    vec![
        goal("push (A's sync)", |x| &x.push),
        goal("pull (B's sync)", |x| &x.pull),
        Goal {
            goal: format!(
                "checkpoint verification per sync < 2 ms at {} log entries",
                cfg.large
            ),
            measured: format!(
                "{:.2} ms median, p90 {:.2} ms (in each push and pull sync: the other devices' \
                 checkpoints, carried by the last pull page with the server's consistency proof \
                 when a size differs, checked against this device's tree; the server's part \
                 included, {:.2} ms median; {:.2} ms at {} records)",
                c.median,
                p90(&l.checks),
                ms(&l.server_checks).median,
                ms(&s.checks).median,
                cfg.small
            ),
            met: Some(c.median < 2.0),
        },
    ]
}

/// How a pair was built, for the setup lines.
fn built(n: usize, b: &Build) -> String {
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
}
