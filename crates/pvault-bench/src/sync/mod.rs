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

mod incremental;
mod initial;
mod realtime;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, ensure};
use pvault_core::sync::{self, Policy, SyncReport};
use pvault_core::{NewRecord, Pvault, SecretKey, Vault};
use pvault_server::{ServerConfig, ServerHandle};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::insert::{PASSWORD, standard_profile};
use crate::pgdb::PgDatabase;
use crate::plain::{self, Timing};
use crate::report::Section;

/// Records per `put_many` when filling a profile.
pub(super) const FILL_BATCH: usize = 10_000;
/// Changes per pull page, as the sync client asks for them (`engine::PULL_LIMIT`).
pub(super) const PULL_LIMIT: usize = 2000;
/// Items per push request, as the sync client sends them (`engine::PUSH_ITEMS`).
pub(super) const PUSH_ITEMS: usize = 2000;
/// The servers' per-account record quota (the default, a million, is just the large profile).
pub(super) const MAX_RECORDS: u64 = 4_000_000;
/// Runs of each raw baseline, per server backend.
pub(super) const RAW_RUNS: usize = 10;
/// Runs of the server-alone pull, per server backend.
pub(super) const SERVER_RUNS: usize = 3;

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
        sections.push(initial::initial(cfg)?);
    }
    if cfg.parts.incremental {
        sections.push(incremental::incremental(cfg)?);
    }
    if cfg.parts.realtime {
        sections.push(realtime::realtime(cfg)?);
    }
    Ok(sections)
}

// ----- fixtures -----

/// A server on loopback; its storage goes after it stops.
pub(super) struct Server {
    pub(super) handle: ServerHandle,
    pub(super) _data: Option<tempfile::TempDir>,
    pub(super) _pg: Option<PgDatabase>,
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

pub(super) fn with_quota(mut config: ServerConfig) -> ServerConfig {
    config.quota.max_records = MAX_RECORDS;
    config
}

/// A device: a home of its own with the profile `bench`, unlocked.
pub(crate) struct Device {
    pub(crate) vault: Vault,
    pub(crate) pv: Pvault,
    pub(crate) _home: tempfile::TempDir,
}

pub(super) fn new_home(dir: &Path) -> Result<(tempfile::TempDir, Pvault)> {
    let home = tempfile::Builder::new()
        .prefix("pvault-sync-")
        .tempdir_in(dir)?;
    let pv = Pvault::open(home.path())?;
    Ok((home, pv))
}

/// A new device with records `0..n` of the insert workload; returns it, its Secret Key and the
/// seconds the filling took.
pub(crate) fn filled_device(dir: &Path, n: usize) -> Result<(Device, Zeroizing<String>, f64)> {
    let (home, pv) = new_home(dir)?;
    let (created, mut vault) = standard_profile(&pv, "bench")?;
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

pub(crate) fn record(id: String, data: Value) -> NewRecord {
    NewRecord {
        collection: plain::COLLECTION.into(),
        id: Some(id),
        classification: None,
        data,
    }
}

/// A second device joining `username`'s profile; returns it and the seconds `join` took.
pub(super) fn joined_device(
    dir: &Path,
    url: &str,
    username: &str,
    secret_key: &str,
) -> Result<(Device, f64)> {
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
pub(super) fn timed_sync(d: &mut Device) -> Result<(SyncReport, Timing)> {
    let (report, timing) =
        plain::timed(|| sync::sync(&mut d.vault, &Policy::default(), &mut |_, _, _| {}));
    Ok((report?, timing))
}

pub(super) fn expect_counts(d: &Device, n: usize, who: &str) -> Result<()> {
    let counts = d.vault.counts()?;
    ensure!(
        counts == [(plain::COLLECTION.to_string(), n as u64)],
        "{who} holds {counts:?}, expected {n} records"
    );
    Ok(())
}

/// Two devices of one profile of `n` records, both synced.
pub(super) struct Pair {
    pub(super) a: Device,
    pub(super) b: Device,
    pub(super) server: Server,
}

/// How a pair was built.
pub(super) struct Build {
    pub(super) fill: f64,
    pub(super) push: Timing,
    pub(super) join: f64,
    pub(super) pull: Timing,
}

/// Device A filled with `n` records, set up on `server` and synced (its first push); then device B
/// joined and synced (its first pull). `between` runs after the push, before B joins.
pub(super) fn build_pair(
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
pub(crate) fn changed_data(i: usize) -> Value {
    plain::workload(1 << 40 | i as u64, 1).remove(0).data
}

/// The `q` quantile of `xs` (nearest rank).
pub(crate) fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub(super) fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
