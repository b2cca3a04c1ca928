//! Benchmark 13: `pvault list` of a large profile (1,000,000 transactions with a 400-character
//! memo; `--quick`: 100,000), the way a user runs it, with the password and through the agent:
//! the time to the first record on stdout, to the end, and the peak memory of the CLI and of the
//! agent; the same for `list --where asset=…` (1% of the records match) and `pvault get`.
//!
//! The CLI runs under GNU time (`%M`: its peak RSS); the agent's peak is its `VmHWM` after the
//! listing. The first record's time counts from spawning the CLI; with the password it includes
//! the KDF, so the row "after the unlock" subtracts the median of a `pvault get` with the password
//! (KDF, open and one record) measured in the same run.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use pvault_core::Pvault;
use pvault_core::agent::AgentClient;

use crate::agent_get::{AgentGuard, Cli, find_cli};
use crate::backup_gib::GNU_TIME;
use crate::insert::standard_profile;
use crate::plain;
use crate::report::{Goal, Row, Section};
use crate::timing::Stats;

pub struct Config {
    pub records: usize,
    pub dir: PathBuf,
}

const COLLECTION: &str = "transactions";
/// Assets cycle through this many codes: `--where asset=A7` matches 1% of the records.
const ASSETS: usize = 100;

/// Transaction `i` of the workload: its id, and its data with a memo of the insert workload's
/// characters.
fn transaction(i: usize, memo: &str) -> pvault_core::NewRecord {
    pvault_core::NewRecord {
        collection: COLLECTION.into(),
        id: Some(format!("tx-{i:07}")),
        classification: None,
        data: serde_json::json!({
            "amount": format!("{}.{:02}", i % 1000, i % 100),
            "asset": format!("A{}", i % ASSETS),
            "from": "alice",
            "to": "bob",
            "time": "2026-12-01T12:00:00Z",
            "status": "confirmed",
            "memo": memo,
        }),
    }
}

/// What one `pvault list` printed and cost.
struct Listed {
    first_ms: f64,
    total_s: f64,
    records: usize,
    peak_kib: u64,
}

pub fn run(cfg: &Config) -> Result<Section> {
    ensure!(
        std::path::Path::new(GNU_TIME).exists(),
        "benchmark 13 measures peak memory with GNU time: apt-get install time"
    );
    let tmp = tempfile::Builder::new()
        .prefix("pvault-list-scale-")
        .tempdir_in(&cfg.dir)?;
    let home = tmp.path().join("home");
    let fill = Instant::now();
    {
        let pv = Pvault::open(&home)?;
        let (_, mut vault) = standard_profile(&pv, "bench")?;
        let memo: String = plain::workload(0, 1)[0].data["text"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(400)
            .collect();
        let mut done = 0;
        while done < cfg.records {
            let n = (cfg.records - done).min(1_000);
            vault.put_many(
                (done..done + n).map(|i| transaction(i, &memo)).collect(),
                &mut |_, _| {},
            )?;
            done += n;
            if done % 100_000 == 0 {
                eprintln!("list-scale: {done} records written");
            }
        }
    }
    eprintln!(
        "list-scale: {} records in {:.0} s",
        cfg.records,
        fill.elapsed().as_secs_f64()
    );
    let cli = Cli {
        bin: find_cli()?,
        home: home.clone(),
    };
    let matching = cfg.records / ASSETS;
    let some_id = format!("tx-{:07}", cfg.records / 2);
    let gets = |cli: &Cli| -> Result<Stats> {
        let mut xs = Vec::new();
        for _ in 0..5 {
            xs.push(cli.run(&["get", COLLECTION, &some_id])?.1 * 1000.0);
        }
        Ok(Stats::of(xs))
    };
    let get_password = gets(&cli)?;
    let get_ms = get_password.median;
    eprintln!("list-scale: list with the password");
    let password = list(&cli, &[], cfg.records)?;
    let where_password = list(&cli, &["--where", "asset=a7"], matching)?;

    let _agent = AgentGuard(&cli);
    cli.run(&["profile", "unlock", "bench"])?;
    let pid = AgentClient::connect(&home)
        .context("the agent is not running")?
        .hello()?
        .1;
    eprintln!("list-scale: list through the agent");
    let agent = list(&cli, &[], cfg.records)?;
    let where_agent = list(&cli, &["--where", "asset=a7"], matching)?;
    let get_agent = gets(&cli)?;
    let agent_peak = vm_hwm_kib(pid)?;

    let mib = |kib: u64| kib as f64 / 1024.0;
    let row = |name: &str, l: &Listed| {
        Row::new(name, Some(Stats::of(vec![l.total_s])), "s").note(format!(
            "{} records, {:.0} records/s; first record after {:.0} ms; CLI peak RSS {:.1} MiB",
            l.records,
            l.records as f64 / l.total_s,
            l.first_ms,
            mib(l.peak_kib)
        ))
    };
    let after_unlock = (password.first_ms - get_ms).max(0.0);
    let peaks = [
        password.peak_kib,
        agent.peak_kib,
        where_password.peak_kib,
        where_agent.peak_kib,
        agent_peak,
    ];
    let worst = peaks.iter().copied().max().unwrap_or(0);
    Ok(Section {
        title: format!(
            "13. pvault list of {} records, with the password and through the agent",
            cfg.records
        ),
        setup: vec![
            format!(
                "one standard profile of {} transactions with a 400-character memo ({} assets, \
                 so --where matches {}), home under {}; the release CLI with --json, its stdout \
                 read as it comes; one run each",
                cfg.records,
                ASSETS,
                matching,
                cfg.dir.display()
            ),
            "peak memory: GNU time's maximum RSS for the CLI, VmHWM for the agent".into(),
        ],
        rows: vec![
            row("pvault list (password)", &password),
            row("pvault list (agent)", &agent).note(format!(
                "{} records, first record after {:.0} ms; CLI peak RSS {:.1} MiB, agent peak \
                 RSS {:.1} MiB",
                agent.records,
                agent.first_ms,
                mib(agent.peak_kib),
                mib(agent_peak)
            )),
            row("pvault list --where asset=A7 (password)", &where_password),
            row("pvault list --where asset=A7 (agent)", &where_agent),
            Row::new("pvault get (password)", Some(get_password), "ms").note(
                "KDF, open, one record; its median is subtracted from the password path's \
                 first record",
            ),
            Row::new("pvault get (agent)", Some(get_agent), "ms")
                .note("one record of the profile through the agent, median of 5"),
        ],
        goals: vec![
            Goal {
                goal: "list works at this size, with the password and through the agent".into(),
                measured: format!("{} and {} records listed", password.records, agent.records),
                met: Some(
                    password.records == cfg.records
                        && agent.records == cfg.records
                        && where_password.records == matching
                        && where_agent.records == matching,
                ),
            },
            Goal {
                goal: "first record < 100 ms (password path: after the unlock)".into(),
                measured: format!(
                    "agent {:.0} ms; password {:.0} ms after a {:.0} ms unlock ({:.0} ms in all)",
                    agent.first_ms, after_unlock, get_ms, password.first_ms
                ),
                met: Some(agent.first_ms < 100.0 && after_unlock < 100.0),
            },
            Goal {
                goal: "peak RSS < 100 MiB in every process".into(),
                measured: format!(
                    "CLI {:.1} / {:.1} MiB, agent {:.1} MiB",
                    mib(password.peak_kib),
                    mib(agent.peak_kib),
                    mib(agent_peak)
                ),
                met: Some(worst < 100 * 1024),
            },
        ],
    })
}

/// Runs `pvault --json list transactions ARGS` under GNU time, reading its stdout as it comes.
fn list(cli: &Cli, args: &[&str], expected: usize) -> Result<Listed> {
    let mut cmd = Command::new(GNU_TIME);
    cmd.args(["-f", "peak-kib %M"])
        .arg(&cli.bin)
        .args(["--json", "list", COLLECTION])
        .args(args);
    cli.envs(&mut cmd);
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running pvault list under GNU time")?;
    let mut stdout = child.stdout.take().context("stdout")?;
    const PATTERN: &[u8] = b"{\"collection\":";
    let (mut buf, mut carry) = (vec![0u8; 1 << 16], Vec::new());
    let (mut records, mut first_ms) = (0usize, None);
    loop {
        let n = stdout.read(&mut buf)?;
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..n]);
        let found = carry
            .windows(PATTERN.len())
            .filter(|w| *w == PATTERN)
            .count();
        if found > 0 && first_ms.is_none() {
            first_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
        }
        records += found;
        let keep = carry.len().min(PATTERN.len() - 1);
        carry.drain(..carry.len() - keep);
    }
    let total_s = start.elapsed().as_secs_f64();
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "pvault list failed: {stderr}");
    let peak_kib = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("peak-kib "))
        .and_then(|v| v.trim().parse().ok())
        .context("no peak RSS from GNU time")?;
    ensure!(
        records == expected,
        "pvault list printed {records} records, expected {expected}"
    );
    Ok(Listed {
        first_ms: first_ms.unwrap_or(f64::NAN),
        total_s,
        records,
        peak_kib,
    })
}

/// The peak resident set of a process (`VmHWM` in /proc/PID/status), in KiB.
fn vm_hwm_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in the agent's status")
}
