//! Benchmark 12: `pvault get` through the agent against the password path, and the switch between
//! two unlocked profiles, the way a user runs them: the release CLI as a new process per command.
//!
//! - Password path: no agent; every `pvault get` runs the KDF (Argon2id, standard level) and opens
//!   the store.
//! - Agent path: both profiles unlocked in the agent (`pvault profile unlock`); `pvault get` sends
//!   one request over the agent's socket.
//! - Switch: a `pvault --profile OTHER get` after a get in the other profile, alternating: the
//!   agent holds both unlocked and switches context per request. For information, the same
//!   after `pvault profile use OTHER`, which makes the switch the home's default: a durable
//!   write of the registry (two fsyncs: the new file and its directory).
//!
//! For information, the same two paths inside one process (no process start): the library's
//! `Pvault::unlock` + `Vault::get`, and `AgentClient::run` of a get.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use pvault_core::agent::AgentClient;
use pvault_core::ops::Op;
use pvault_core::{NewRecord, Pvault};

use crate::insert::{PASSWORD, standard_profile};
use crate::report::{Goal, Row, Section, ratio};
use crate::timing::Stats;

pub struct Config {
    /// Runs of each CLI measurement.
    pub runs: usize,
    /// Agent requests in the in-process measurement.
    pub calls: usize,
    pub dir: PathBuf,
}

const PROFILES: [&str; 2] = ["alice", "bob"];
const COLLECTION: &str = "bench";
const ID: &str = "the-record";

/// The `pvault` binary beside this one (same target dir), or `$PVAULT_BENCH_CLI`.
pub fn find_cli() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("PVAULT_BENCH_CLI") {
        return Ok(PathBuf::from(p));
    }
    let p = std::env::current_exe()?.with_file_name("pvault");
    ensure!(
        p.exists(),
        "no pvault CLI at {} (build it: cargo build --release -p pvault-cli; or set PVAULT_BENCH_CLI)",
        p.display()
    );
    Ok(p)
}

/// The release CLI with the benchmark's home and password.
pub(crate) struct Cli {
    pub bin: PathBuf,
    pub home: PathBuf,
}

impl Cli {
    /// The home and the password, in a command's environment.
    pub fn envs(&self, cmd: &mut Command) {
        cmd.env("PVAULT_HOME", &self.home)
            .env(
                "PVAULT_PASSWORD",
                OsString::from(String::from_utf8_lossy(PASSWORD).into_owned()),
            )
            .env_remove("PVAULT_PROFILE");
    }

    /// Runs the CLI; returns its stdout and the seconds it took.
    pub fn run(&self, args: &[&str]) -> Result<(String, f64)> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args);
        self.envs(&mut cmd);
        let start = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("running {}", self.bin.display()))?;
        let secs = start.elapsed().as_secs_f64();
        ensure!(
            out.status.success(),
            "pvault {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok((String::from_utf8(out.stdout)?, secs))
    }

    /// `pvault [-p profile] get`, checked to print the profile's record.
    fn get(&self, profile: Option<&str>, expect: &str) -> Result<f64> {
        let mut args = vec![];
        if let Some(p) = profile {
            args.extend(["--profile", p]);
        }
        args.extend(["get", COLLECTION, ID, "--json"]);
        let (out, secs) = self.run(&args)?;
        ensure!(
            out.contains(expect),
            "pvault get printed something else: {out}"
        );
        Ok(secs)
    }
}

/// Stops the agent when dropped, even if the benchmark failed half-way.
pub(crate) struct AgentGuard<'a>(pub &'a Cli);

impl Drop for AgentGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["agent", "--stop"]);
    }
}

fn ms(xs: Vec<f64>) -> Stats {
    Stats::of(xs).scaled(1000.0)
}

pub fn run(cfg: &Config) -> Result<Section> {
    let tmp = tempfile::Builder::new()
        .prefix("pvault-agent-get-")
        .tempdir_in(&cfg.dir)?;
    let home = tmp.path().join("home");
    {
        let pv = Pvault::open(&home)?;
        for name in PROFILES {
            let (_, mut vault) = standard_profile(&pv, name)?;
            vault.put(NewRecord {
                collection: COLLECTION.into(),
                id: Some(ID.into()),
                classification: None,
                data: serde_json::json!({ "text": format!("the record of {name}") }),
            })?;
        }
    }
    let cli = Cli {
        bin: find_cli()?,
        home: home.clone(),
    };
    cli.run(&["profile", "use", PROFILES[0]])?;
    let expect = |p: &str| format!("the record of {p}");

    eprintln!("agent-get: password path, {} runs", cfg.runs);
    let mut password = Vec::new();
    for _ in 0..cfg.runs {
        password.push(cli.get(Some(PROFILES[0]), &expect(PROFILES[0]))?);
    }
    let library_password = library_password(&home, cfg.runs)?;

    let _agent = AgentGuard(&cli);
    for p in PROFILES {
        cli.run(&["profile", "unlock", p])?;
    }
    eprintln!("agent-get: agent path, {} runs", cfg.runs);
    for _ in 0..3 {
        cli.get(Some(PROFILES[0]), &expect(PROFILES[0]))?;
    }
    let mut agent = Vec::new();
    for _ in 0..cfg.runs {
        agent.push(cli.get(Some(PROFILES[0]), &expect(PROFILES[0]))?);
    }
    eprintln!("agent-get: switch, {} runs", cfg.runs);
    let mut switches = Vec::new();
    for i in 0..cfg.runs {
        let to = PROFILES[(i + 1) % 2];
        switches.push(cli.get(Some(to), &expect(to))?);
    }
    let (mut uses, mut firsts) = (Vec::new(), Vec::new());
    for i in 0..cfg.runs {
        let to = PROFILES[(i + 1) % 2];
        uses.push(cli.run(&["profile", "use", to])?.1);
        firsts.push(cli.get(None, &expect(to))?);
    }
    let library_agent = library_agent(&home, cfg.calls)?;

    let (pw, ag, sw) = (ms(password), ms(agent), ms(switches));
    let speedup = pw.median / ag.median;
    let rows = vec![
        Row::new("password path: pvault get (KDF + open)", Some(pw), "ms")
            .ratio(ratio(Some(pw.median), Some(ag.median)))
            .note("a new process per get, no agent; ratio = this / agent path"),
        Row::new("agent path: pvault get", Some(ag), "ms")
            .ratio(Some(1.0))
            .note("a new process per get; both profiles unlocked in the agent"),
        Row::new("switch: pvault --profile OTHER get", Some(sw), "ms")
            .note("alternating between two profiles unlocked in the agent, each get a switch"),
        Row::new("pvault profile use OTHER", Some(ms(uses)), "ms").note(format!(
            "for information: makes the other profile the home's default (a durable registry \
             write: two fsyncs); the first get after it {:.2} ms (median)",
            ms(firsts).median
        )),
        Row::new(
            "in-process: Pvault::unlock + Vault::get",
            Some(library_password),
            "ms",
        )
        .note("for information: the password path without a process start"),
        Row::new(
            "in-process: AgentClient::run(get)",
            Some(library_agent),
            "ms",
        )
        .note(format!(
            "for information: one request on an open agent connection, median of {}",
            cfg.calls
        )),
    ];
    let goals = vec![
        Goal {
            goal: "agent path ≥ 20× faster than the password path for `pvault get`".into(),
            measured: format!("{speedup:.1}× ({:.2} ms vs {:.2} ms)", ag.median, pw.median),
            met: Some(speedup >= 20.0),
        },
        Goal {
            goal: "switch between unlocked profiles < 10 ms".into(),
            measured: format!(
                "{:.2} ms (a get in the other profile through the agent, median)",
                sw.median
            ),
            met: Some(sw.median < 10.0),
        },
    ];
    Ok(Section {
        title: "12. pvault get through the agent, and the switch between unlocked profiles".into(),
        setup: vec![
            format!(
                "two standard profiles with one record each, home under {}; the release CLI, a \
                 new process per command; median of {} runs",
                cfg.dir.display(),
                cfg.runs
            ),
            "timed: from spawning the process to its exit, the JSON read and checked".into(),
        ],
        rows,
        goals,
    })
}

/// `Pvault::unlock` + `Vault::get` in this process: milliseconds.
fn library_password(home: &Path, runs: usize) -> Result<Stats> {
    let pv = Pvault::open(home)?;
    let mut xs = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let vault = pv.unlock(
            Some(PROFILES[0]),
            &pvault_core::Credentials::password(PASSWORD),
        )?;
        let rec = vault.get(COLLECTION, ID)?;
        xs.push(start.elapsed().as_secs_f64());
        ensure!(rec.data["text"] == "the record of alice", "wrong record");
    }
    Ok(ms(xs))
}

/// `AgentClient::run` of a get on one open connection: milliseconds.
fn library_agent(home: &Path, calls: usize) -> Result<Stats> {
    let mut client = AgentClient::connect(home).context("the agent is not running")?;
    let op = || Op::Get {
        collection: COLLECTION.into(),
        id: ID.into(),
    };
    for _ in 0..10 {
        client.run(PROFILES[0], op())?;
    }
    let mut xs = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        client.run(PROFILES[0], op())?;
        xs.push(start.elapsed().as_secs_f64());
    }
    Ok(ms(xs))
}
