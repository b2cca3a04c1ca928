//! pvault's acceptance benchmarks, each against its baseline measured in the same run:
//! batched encrypted insert (vs plain SQLite and SQLCipher), bulk AEAD throughput (vs aws-lc-rs,
//! chacha20poly1305 and `openssl speed`), unlock time (vs the KDF alone) and sync (initial sync vs raw
//! loopback HTTP, incremental sync at two profile sizes, real-time propagation), the audit log's cost on
//! the insert (on vs off), audit verification (vs reading the rows) and record verification (vs
//! reading every record), incremental backup (at two profile sizes) and backup and restore of a
//! 1 GiB profile (vs restic and cp + age, time and peak memory), and `pvault get` through the agent
//! (vs the password path) with the switch between unlocked profiles. See docs/benchmarks.md.
//!
//! Usage: `cargo run --release -p pvault-bench -- [--quick] [--json] [--save FILE] [--only insert,aead,unlock,sync,audit-insert,audit-verify,verify-100k,backup-incremental,backup-gib,agent-get,list-1m] [--dir DIR]`

mod aead;
mod agent_get;
mod audit_insert;
mod audit_verify;
mod backup;
mod backup_gib;
mod insert;
mod list_scale;
mod loopback;
mod pgdb;
mod plain;
mod report;
mod sync;
mod timing;
mod unlock;
mod verify_records;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

const USAGE: &str = "usage: pvault-bench [--quick] [--json] [--save FILE] [--only insert,aead,unlock,sync,audit,backup,agent-get,list-1m] [--dir DIR]
  --quick   smaller workloads (20,000-record insert, 100,000-record unlock profile, shorter AEAD runs;
            sync: 20,000-record initial sync, 100,000 records instead of 1,000,000 in the large
            incremental profile, 20 changes, 200 + 50 real-time samples; audit-insert: 20,000
            records, 3 runs; audit-verify: 100,000 entries; verify-100k: 20,000 records, 3 runs;
            backup-incremental: 10,000 / 100,000 records; backup-gib: a 64 MiB profile;
            agent-get: 10 runs instead of 30; list-1m: 100,000 records)
  --json    print the results as JSON instead of a table
  --save    also write the results as JSON to FILE
  --only    run only the named benchmarks; `sync` is sync-initial, sync-incremental and sync-realtime;
            `backup` is backup-incremental and backup-gib;
            `audit` is audit-insert, audit-verify and verify-100k
  --dir     where the temp dirs go (default: the system temp dir)
  env PVAULT_BENCH_SQLCIPHER: path of the SQLCipher contender's binary
  env PVAULT_BENCH_CLI: the pvault CLI for backup-gib, agent-get and list-1m (default: `pvault` beside
      this binary)
  env PVAULT_BENCH_POSTGRES: PostgreSQL admin URL for the sync benchmark's database
      (default postgres://postgres@127.0.0.1:5432/postgres)";

struct Args {
    quick: bool,
    json: bool,
    save: Option<PathBuf>,
    only: Vec<String>,
    dir: PathBuf,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        quick: false,
        json: false,
        save: None,
        only: vec![
            "insert".into(),
            "aead".into(),
            "unlock".into(),
            "sync".into(),
            "audit".into(),
            "backup".into(),
            "agent-get".into(),
            "list-1m".into(),
        ],
        dir: std::env::temp_dir(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--json" => a.json = true,
            "--only" => match it.next() {
                Some(v) => a.only = v.split(',').map(str::to_string).collect(),
                None => bail!("--only needs a value\n{USAGE}"),
            },
            "--save" => match it.next() {
                Some(v) => a.save = Some(PathBuf::from(v)),
                None => bail!("--save needs a value\n{USAGE}"),
            },
            "--dir" => match it.next() {
                Some(v) => a.dir = PathBuf::from(v),
                None => bail!("--dir needs a value\n{USAGE}"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(a)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let wants = |b: &str| args.only.iter().any(|o| o == b);
    let machine = machine_info(&args);
    let mut sections = Vec::new();
    if wants("insert") {
        sections.push(insert::run(&insert::Config {
            records: if args.quick { 20_000 } else { 100_000 },
            batch: 1_000,
            runs: if args.quick { 3 } else { 5 },
            dir: args.dir.clone(),
            sqlcipher: insert::find_sqlcipher(),
        })?);
    }
    if wants("aead") {
        sections.push(aead::run(args.quick));
    }
    if wants("unlock") {
        let large = if args.quick { 100_000 } else { 1_000_000 };
        sections.push(unlock::run(large, 5, &args.dir)?);
    }
    let parts = sync::Parts {
        initial: wants("sync") || wants("sync-initial"),
        incremental: wants("sync") || wants("sync-incremental"),
        realtime: wants("sync") || wants("sync-realtime"),
    };
    if parts.any() {
        sections.extend(sync::run(&sync::Config {
            parts,
            initial: if args.quick { 20_000 } else { 100_000 },
            small: 10_000,
            large: if args.quick { 100_000 } else { 1_000_000 },
            changes: if args.quick { 20 } else { 50 },
            idle_syncs: 20,
            realtime: if args.quick { 200 } else { 300 },
            realtime_watched: if args.quick { 50 } else { 100 },
            realtime_records: 1_000,
            dir: args.dir.clone(),
            postgres: pgdb::admin_url(),
        })?);
    }
    if wants("audit") || wants("audit-insert") {
        sections.push(audit_insert::run(&audit_insert::Config {
            records: if args.quick { 20_000 } else { 100_000 },
            batch: 1_000,
            runs: if args.quick { 3 } else { 5 },
            dir: args.dir.clone(),
        })?);
    }
    if wants("audit") || wants("audit-verify") {
        sections.push(audit_verify::run(&audit_verify::Config {
            entries: if args.quick { 100_000 } else { 1_000_000 },
            runs: 3,
            dir: args.dir.clone(),
        })?);
    }
    if wants("audit") || wants("verify-100k") {
        sections.push(verify_records::run(&verify_records::Config {
            records: if args.quick { 20_000 } else { 100_000 },
            runs: if args.quick { 3 } else { 5 },
            dir: args.dir.clone(),
        })?);
    }
    if wants("backup") || wants("backup-incremental") {
        sections.push(backup::run(&backup::Config {
            small: if args.quick { 10_000 } else { 100_000 },
            large: if args.quick { 100_000 } else { 1_000_000 },
            changes: if args.quick { 10 } else { 20 },
            dir: args.dir.clone(),
        })?);
    }
    if wants("backup") || wants("backup-gib") {
        sections.push(backup_gib::run(&backup_gib::Config {
            target_bytes: if args.quick { 64 << 20 } else { 1 << 30 },
            body: 4096,
            dir: args.dir.clone(),
        })?);
    }
    if wants("agent-get") {
        sections.push(agent_get::run(&agent_get::Config {
            runs: if args.quick { 10 } else { 30 },
            calls: 1_000,
            dir: args.dir.clone(),
        })?);
    }
    if wants("list-1m") {
        sections.push(list_scale::run(&list_scale::Config {
            records: if args.quick { 100_000 } else { 1_000_000 },
            dir: args.dir.clone(),
        })?);
    }
    let json = serde_json::to_string_pretty(&report::to_json(&machine, &sections))?;
    if let Some(path) = &args.save {
        std::fs::write(path, format!("{json}\n"))?;
    }
    if args.json {
        println!("{json}");
    } else {
        report::print_table(&machine, &sections);
    }
    Ok(())
}

fn machine_info(args: &Args) -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".into(), |(_, m)| m.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags"))
        .map(|l| {
            l.split_whitespace()
                .filter(|f| {
                    [
                        "aes",
                        "pclmulqdq",
                        "avx2",
                        "vaes",
                        "vpclmulqdq",
                        "avx512f",
                        "sha_ni",
                    ]
                    .contains(f)
                })
                .collect()
        })
        .unwrap_or_default();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mode = if args.quick {
        "quick (--quick: smaller workloads, not the acceptance figures)"
    } else {
        "full"
    };
    vec![
        ("mode".into(), mode.into()),
        ("date".into(), date),
        ("cpu".into(), cpu),
        ("cores".into(), cores.to_string()),
        ("cpu flags".into(), flags.join(" ")),
        (
            "load at start".into(),
            read("/proc/loadavg").trim().to_string(),
        ),
        (
            "kernel".into(),
            read("/proc/sys/kernel/osrelease").trim().to_string(),
        ),
        ("rustc".into(), env!("PVAULT_BENCH_RUSTC").into()),
        ("SQLite".into(), rusqlite::version().into()),
        ("openssl".into(), aead::openssl_version()),
        (
            "temp dir".into(),
            format!("{} ({})", args.dir.display(), fs_of(&args.dir)),
        ),
    ]
}

/// The device and file system type of the mount holding `dir`, from /proc/mounts.
fn fs_of(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && dir.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} {} on {}", f[2], f[0], f[1])))
        })
        .max_by_key(|(len, _)| *len)
        .map_or("unknown file system".into(), |(_, d)| d)
}
