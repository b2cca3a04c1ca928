//! Benchmark 11: backup and restore of a 1 GiB profile (time and peak memory) against `restic
//! backup` / `restic restore` of the same store files and against `age` of them (`tar c | age -r`,
//! and `age -d | tar x`), with a plain `cp -r` as the floor, all measured in one run.
//!
//! Every contender runs as a child process under GNU time (`/usr/bin/time -f '%U %S %M'`), whose peak is
//! the child's `ru_maxrss` from `wait4` (the kernel's own peak resident set, not a sampled one); a
//! pipeline's stages each run under their own `time` and their peaks are added up (they run at
//! the same time). Wall time is measured here around the child. pvault is the real CLI binary of
//! the same target dir (`pvault backup`, `pvault backup restore --as`), given its password and
//! Secret Key through `PVAULT_PASSWORD` and `PVAULT_SECRET_KEY`, its home through `PVAULT_HOME`.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use pvault_core::backup::Repo;
use pvault_core::{Credentials, NewRecord, Pvault, SecretKey};

use crate::insert::{PASSWORD, standard_profile};
use crate::plain;
use crate::report::{Goal, Row, Section, ratio};
use crate::timing::Stats;

pub struct Config {
    /// Size of the store to build (bytes of the SQLite file).
    pub target_bytes: u64,
    /// Characters of each record's text.
    pub body: usize,
    pub dir: PathBuf,
}

/// Records per `put_many` while filling.
const FILL_BATCH: usize = 2_000;
/// Peak memory goal of a pvault backup and of a restore (issue 11).
const GOAL_MIB: f64 = 100.0;
/// GNU time, for peak memory (`%M`); Debian package `time`.
pub(crate) const GNU_TIME: &str = "/usr/bin/time";

/// A small deterministic generator (SplitMix64) for the records' ids and texts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn id(&mut self) -> String {
        const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
        (0..26)
            .map(|_| ALPHABET[(self.next() % 32) as usize] as char)
            .collect()
    }

    /// Note-like text: lower-case words of 1 to 10 letters, spaces between, `len` characters.
    fn text(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            let mut r = self.next();
            let word = 1 + (r % 10) as usize;
            r >>= 4;
            for _ in 0..word {
                s.push((b'a' + (r % 26) as u8) as char);
                r /= 26;
                if r == 0 {
                    r = self.next();
                }
            }
            s.push(' ');
        }
        s.truncate(len);
        s
    }
}

fn note_record(i: u64, body: usize) -> NewRecord {
    let mut rng = Rng(i.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let id = rng.id();
    let data = serde_json::json!({
        "title": format!("note {i}"),
        "text": rng.text(body),
    });
    crate::sync::record(id, data)
}

/// What one child process took: elapsed seconds, CPU seconds (user + system, with its waited-for
/// children) and peak resident set (KiB).
#[derive(Clone, Copy)]
struct Measured {
    wall: f64,
    cpu: f64,
    peak_kib: u64,
}

impl Measured {
    fn mib(self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

/// The CPU seconds (user + system) and peak RSS in KiB GNU time wrote to `file` with
/// `-f "%U %S %M"` (its last line; a line before it says when the command failed).
fn read_time(file: &Path) -> Result<(f64, u64)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let f: Vec<&str> = line.split_whitespace().collect();
    let parsed = match f[..] {
        [u, s, m] => u
            .parse::<f64>()
            .ok()
            .zip(s.parse::<f64>().ok())
            .zip(m.parse::<u64>().ok())
            .map(|((u, s), m)| (u + s, m)),
        _ => None,
    };
    parsed.with_context(|| format!("GNU time wrote {text:?} to {}", file.display()))
}

/// Scratch files of the measurements (logs, GNU time's outputs).
struct Logs {
    dir: PathBuf,
}

impl Logs {
    fn path(&self, name: &str, what: &str) -> PathBuf {
        self.dir.join(format!("{name}.{what}"))
    }

    fn tail(&self, name: &str) -> String {
        let err = std::fs::read_to_string(self.path(name, "stderr")).unwrap_or_default();
        let lines: Vec<&str> = err.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Runs `program args` under GNU time with `envs` added and `cwd`, stdout and stderr to files.
    fn run(
        &self,
        name: &str,
        program: &Path,
        args: &[OsString],
        envs: &[(&str, OsString)],
        cwd: Option<&Path>,
    ) -> Result<Measured> {
        let tfile = self.path(name, "time");
        let mut cmd = Command::new(GNU_TIME);
        cmd.arg("-f")
            .arg("%U %S %M")
            .arg("-o")
            .arg(&tfile)
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(self.path(name, "stdout"))?)
            .stderr(std::fs::File::create(self.path(name, "stderr"))?);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        eprintln!("backup-gib: {name}");
        let start = Instant::now();
        let status = cmd
            .status()
            .with_context(|| format!("running {}", program.display()))?;
        let wall = start.elapsed().as_secs_f64();
        if !status.success() {
            bail!("{name} failed ({status}):\n{}", self.tail(name));
        }
        let (cpu, peak_kib) = read_time(&tfile)?;
        Ok(Measured {
            wall,
            cpu,
            peak_kib,
        })
    }

    /// Runs `left | right` through `bash -c` (with pipefail), each stage under GNU time; the peak is the sum of the
    /// stages' (they run at the same time). `left` and `right` are shell words, already quoted.
    fn pipeline(&self, name: &str, left: &str, right: &str) -> Result<Measured> {
        let (t1, t2) = (self.path(name, "time1"), self.path(name, "time2"));
        let script = format!(
            "set -eo pipefail; {GNU_TIME} -f '%U %S %M' -o {} {left} | {GNU_TIME} -f '%U %S %M' -o {} {right}",
            quote(&t1),
            quote(&t2),
        );
        let mut cmd = Command::new("bash");
        cmd.args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(self.path(name, "stdout"))?)
            .stderr(std::fs::File::create(self.path(name, "stderr"))?);
        eprintln!("backup-gib: {name}");
        let start = Instant::now();
        let status = cmd.status().context("running sh")?;
        let wall = start.elapsed().as_secs_f64();
        if !status.success() {
            bail!("{name} failed ({status}):\n{}", self.tail(name));
        }
        let ((c1, m1), (c2, m2)) = (read_time(&t1)?, read_time(&t2)?);
        Ok(Measured {
            wall,
            cpu: c1 + c2,
            peak_kib: m1 + m2,
        })
    }
}

/// A path as one single-quoted shell word.
fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// `name` on the PATH.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Total bytes of the files under `dir`.
fn du(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => total += du(&e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// The first file named `name` under `dir` (depth first).
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut dirs = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            dirs.push(p);
        } else if e.file_name() == name {
            return Some(p);
        }
    }
    dirs.iter().find_map(|d| find_file(d, name))
}

/// SHA-256 of a file, read in 1 MiB pieces.
fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// The profile, built and closed: its home, directory, store file, Secret Key and record count.
struct Profile {
    home: PathBuf,
    dir: PathBuf,
    store: PathBuf,
    secret_key: zeroize::Zeroizing<String>,
    records: u64,
    fill_secs: f64,
}

fn build_profile(cfg: &Config, root: &Path) -> Result<Profile> {
    let home = root.join("home");
    let pv = Pvault::open(&home)?;
    let (created, mut vault) = standard_profile(&pv, "bench")?;
    let dir = vault.dir().to_path_buf();
    let store = dir.join("store.db");
    ensure!(store.exists(), "no store at {}", store.display());
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = dir.join("store.db-wal");
    let start = Instant::now();
    let mut done = 0u64;
    let mut said = 0u64;
    // The WAL holds up to one batch between checkpoints: the store alone is what is measured.
    while size(&store) < cfg.target_bytes {
        let batch = (done..done + FILL_BATCH as u64)
            .map(|i| note_record(i, cfg.body))
            .collect();
        vault.put_many(batch, &mut |_, _| {})?;
        done += FILL_BATCH as u64;
        let mib = size(&store) >> 20;
        if mib >= said + 128 {
            said = mib;
            eprintln!(
                "backup-gib: filling: {done} records, {mib} MiB ({:.0} s)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    let fill_secs = start.elapsed().as_secs_f64();
    let counts = vault.counts()?;
    ensure!(
        counts == [(plain::COLLECTION.to_string(), done)],
        "the profile holds {counts:?}, expected {done} records"
    );
    // Closing the last connection checkpoints the WAL into the store and removes it.
    drop(vault);
    drop(pv);
    ensure!(
        size(&wal) == 0,
        "the WAL was not checkpointed ({} bytes left)",
        size(&wal)
    );
    Ok(Profile {
        home,
        dir,
        store,
        secret_key: created.secret_key,
        records: done,
        fill_secs,
    })
}

/// The record count of profile `name` in `home`, opened in this process (after the timing).
fn restored_records(home: &Path, name: &str, secret_key: &str) -> Result<u64> {
    let pv = Pvault::open(home)?;
    let creds = Credentials {
        password: zeroize::Zeroizing::new(PASSWORD.to_vec()),
        secret_key: Some(SecretKey::parse(secret_key)?),
    };
    let vault = pv.unlock(Some(name), &creds)?;
    Ok(vault.counts()?.iter().map(|(_, n)| n).sum())
}

struct Results {
    get: Measured,
    pvault: (Measured, Measured),
    restic: Option<(Measured, Measured)>,
    age: Option<(Measured, Measured)>,
    cp: (Measured, Measured),
    pvault_repo: u64,
    restic_repo: u64,
    age_file: u64,
    restored: u64,
}

pub fn run(cfg: &Config) -> Result<Section> {
    ensure!(
        Path::new(GNU_TIME).exists(),
        "benchmark 11 measures peak memory with GNU time: apt-get install time"
    );
    let cli = crate::agent_get::find_cli()?;
    let restic = which("restic");
    let (age, age_keygen) = (which("age"), which("age-keygen"));
    let tmp = tempfile::Builder::new()
        .prefix("pvault-backup-gib-")
        .tempdir_in(&cfg.dir)?;
    // PVAULT_BENCH_KEEP=1 keeps the profile, repositories and logs (for looking into them).
    let keep = std::env::var_os("PVAULT_BENCH_KEEP").is_some_and(|v| v == "1");
    let (_removed_after, root) = if keep {
        let path = tmp.keep();
        eprintln!("backup-gib: keeping {}", path.display());
        (None, path)
    } else {
        let path = tmp.path().to_path_buf();
        (Some(tmp), path)
    };
    let root = root.as_path();
    let logs = Logs {
        dir: root.join("logs"),
    };
    std::fs::create_dir_all(&logs.dir)?;
    eprintln!(
        "backup-gib: building a profile of {} MiB",
        cfg.target_bytes >> 20
    );
    let p = build_profile(cfg, root)?;
    let store_bytes = std::fs::metadata(&p.store)?.len();
    let profile_bytes = du(&p.dir);
    eprintln!(
        "backup-gib: {} records, store {:.1} MiB, filled in {:.0} s",
        p.records,
        store_bytes as f64 / 1048576.0,
        p.fill_secs
    );

    let os = |s: &str| OsString::from(s);
    let pvault_env = |home: &Path| {
        vec![
            ("PVAULT_HOME", home.as_os_str().to_owned()),
            ("PVAULT_PROFILE", os("bench")),
            (
                "PVAULT_PASSWORD",
                OsString::from(String::from_utf8(PASSWORD.to_vec()).expect("UTF-8")),
            ),
            ("PVAULT_SECRET_KEY", os(p.secret_key.as_str())),
        ]
    };

    // The floor every pvault command that unlocks has: the KDF (Argon2id, 64 MiB at the standard
    // level) and one record read.
    let one_id = note_record(0, 1).id.context("the records have ids")?;
    let pvault_get = logs.run(
        "pvault-get",
        &cli,
        &[os("--json"), os("get"), os(plain::COLLECTION), os(&one_id)],
        &pvault_env(&p.home),
        None,
    )?;

    // Backups.
    let repo = root.join("pvault-repo");
    Repo::init(&repo)?;
    let pvault_backup = logs.run(
        "pvault-backup",
        &cli,
        &[
            os("--json"),
            os("backup"),
            os("--repo"),
            repo.clone().into(),
        ],
        &pvault_env(&p.home),
        None,
    )?;
    let restic_repo = root.join("restic-repo");
    let restic_env = |cache: &Path| {
        vec![
            ("RESTIC_PASSWORD", os("pvault-bench restic password")),
            ("RESTIC_REPOSITORY", restic_repo.clone().into_os_string()),
            ("RESTIC_CACHE_DIR", cache.as_os_str().to_owned()),
        ]
    };
    let cache = root.join("restic-cache");
    let restic_backup = match &restic {
        Some(r) => {
            logs.run("restic-init", r, &[os("init")], &restic_env(&cache), None)?;
            Some(logs.run(
                "restic-backup",
                r,
                &[os("backup"), os(".")],
                &restic_env(&cache),
                Some(&p.dir),
            )?)
        }
        None => None,
    };
    let copy = root.join("cp-copy");
    let cp_backup = logs.run(
        "cp-backup",
        Path::new("cp"),
        &[os("-r"), p.dir.clone().into(), copy.clone().into()],
        &[],
        None,
    )?;
    let age_out = root.join("profile.tar.age");
    let age_key = root.join("age-key.txt");
    let age_backup = match (&age, &age_keygen) {
        (Some(age), Some(keygen)) => {
            let out = Command::new(keygen)
                .arg("-o")
                .arg(&age_key)
                .stderr(Stdio::piped())
                .output()?;
            ensure!(out.status.success(), "age-keygen failed");
            // age-keygen says "Public key: age1..." on stderr.
            let said = String::from_utf8_lossy(&out.stderr);
            let recipient = said
                .split_whitespace()
                .find(|w| w.starts_with("age1"))
                .context("age-keygen printed no public key")?
                .to_string();
            Some(logs.pipeline(
                "age-backup",
                &format!("tar -C {} -cf - .", quote(&p.dir)),
                &format!("{} -r {recipient} -o {}", quote(age), quote(&age_out)),
            )?)
        }
        _ => None,
    };

    // The pvault backup wrote to the store (its log position, an audit entry), and closed it: what
    // the baselines copied is the store as it is now.
    let wal = p.dir.join("store.db-wal");
    ensure!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0,
        "the WAL is not empty after the backups"
    );
    let store_sha = sha256_file(&p.store)?;

    // Restores.
    let home2 = root.join("restored-home");
    std::fs::create_dir_all(&home2)?;
    let pvault_restore = logs.run(
        "pvault-restore",
        &cli,
        &[
            os("--json"),
            os("backup"),
            os("--repo"),
            repo.clone().into(),
            os("restore"),
            os("--as"),
            os("restored"),
        ],
        &pvault_env(&home2),
        None,
    )?;
    let restored = restored_records(&home2, "restored", &p.secret_key)?;
    ensure!(
        restored == p.records,
        "the restored profile holds {restored} records, expected {}",
        p.records
    );
    let same = |dir: &Path, who: &str| -> Result<()> {
        let f = find_file(dir, "store.db").with_context(|| format!("{who}: no store.db"))?;
        ensure!(
            sha256_file(&f)? == store_sha,
            "{who}: the store restored is not the one backed up"
        );
        Ok(())
    };
    let restic_restore = match &restic {
        Some(r) => {
            let target = root.join("restic-restored");
            let m = logs.run(
                "restic-restore",
                r,
                &[
                    os("restore"),
                    os("latest"),
                    os("--target"),
                    target.clone().into(),
                ],
                &restic_env(&cache),
                None,
            )?;
            same(&target, "restic restore")?;
            Some(m)
        }
        None => None,
    };
    let cp_target = root.join("cp-restored");
    let cp_restore = logs.run(
        "cp-restore",
        Path::new("cp"),
        &[os("-r"), copy.clone().into(), cp_target.clone().into()],
        &[],
        None,
    )?;
    same(&cp_target, "cp -r")?;
    let age_restore = match (&age, &age_backup) {
        (Some(age), Some(_)) => {
            let target = root.join("age-restored");
            std::fs::create_dir_all(&target)?;
            let m = logs.pipeline(
                "age-restore",
                &format!(
                    "{} -d -i {} {}",
                    quote(age),
                    quote(&age_key),
                    quote(&age_out)
                ),
                &format!("tar -C {} -xf -", quote(&target)),
            )?;
            same(&target, "age -d | tar x")?;
            Some(m)
        }
        _ => None,
    };

    let r = Results {
        get: pvault_get,
        pvault: (pvault_backup, pvault_restore),
        restic: restic_backup.zip(restic_restore),
        age: age_backup.zip(age_restore),
        cp: (cp_backup, cp_restore),
        pvault_repo: du(&repo),
        restic_repo: du(&restic_repo),
        age_file: std::fs::metadata(&age_out).map_or(0, |m| m.len()),
        restored,
    };
    Ok(section(cfg, &p, store_bytes, profile_bytes, &r))
}

fn section(
    cfg: &Config,
    p: &Profile,
    store_bytes: u64,
    profile_bytes: u64,
    r: &Results,
) -> Section {
    let mib = |b: u64| b as f64 / 1048576.0;
    let mut rows = vec![
        Row::new(
            "store on disk (store.db)",
            Some(Stats::of(vec![mib(store_bytes)])),
            "MiB",
        )
        .note(format!(
            "{} records of {} characters; profile dir {:.1} MiB; filled in {:.0} s",
            p.records,
            cfg.body,
            mib(profile_bytes),
            p.fill_secs
        )),
    ];
    rows.push(
        Row::new(
            "pvault get (unlock + 1 record): peak RSS",
            Some(Stats::of(vec![r.get.mib()])),
            "MiB",
        )
        .note(format!(
            "the floor of any command that unlocks: Argon2id (64 MiB at the standard level); {:.2} s",
            r.get.wall
        )),
    );
    let pick = |m: Option<(Measured, Measured)>, restore: bool| {
        m.map(|(b, r)| if restore { r } else { b })
    };
    for (restore, verb) in [(false, "backup"), (true, "restore")] {
        let restic = pick(r.restic, restore);
        let age = pick(r.age, restore);
        let mine = pick(Some(r.pvault), restore).expect("measured");
        let cp = pick(Some(r.cp), restore).expect("measured");
        let vs_age = |x: f64, base: Option<f64>| {
            ratio(Some(x), base).map_or("age not measured".to_string(), |q| {
                format!("{q:.2}× tar|age")
            })
        };
        let mb_s = mib(store_bytes) / mine.wall;
        let what = if restore {
            format!("{} records restored and counted", r.restored)
        } else {
            format!("repository {:.1} MiB", mib(r.pvault_repo))
        };
        rows.push(
            Row::new(
                format!("pvault {verb}: time"),
                Some(Stats::of(vec![mine.wall])),
                "s",
            )
            .ratio(ratio(Some(mine.wall), restic.map(|m| m.wall)))
            .note(format!(
                "{}; CPU {:.1} s; {mb_s:.0} MiB/s; {what}",
                vs_age(mine.wall, age.map(|m| m.wall)),
                mine.cpu
            )),
        );
        rows.push(
            Row::new(
                format!("pvault {verb}: peak RSS"),
                Some(Stats::of(vec![mine.mib()])),
                "MiB",
            )
            .ratio(ratio(Some(mine.mib()), restic.map(|m| m.mib())))
            .note(vs_age(mine.mib(), age.map(|m| m.mib()))),
        );
        let missing = |what: &str| format!("{what} not installed (apt-get install {what})");
        let restic_note = if restore {
            "restic restore latest --target DIR".to_string()
        } else {
            format!("restic backup . (repository {:.1} MiB)", mib(r.restic_repo))
        };
        rows.push(
            Row::new(
                format!("restic {verb}: time"),
                restic.map(|m| Stats::of(vec![m.wall])),
                "s",
            )
            .ratio(restic.map(|_| 1.0))
            .note(match restic {
                Some(m) => format!(
                    "{}; CPU {:.1} s; {restic_note}",
                    vs_age(m.wall, age.map(|a| a.wall)),
                    m.cpu
                ),
                None => missing("restic"),
            }),
        );
        rows.push(
            Row::new(
                format!("restic {verb}: peak RSS"),
                restic.map(|m| Stats::of(vec![m.mib()])),
                "MiB",
            )
            .ratio(restic.map(|_| 1.0))
            .note(match restic {
                Some(m) => vs_age(m.mib(), age.map(|a| a.mib())),
                None => missing("restic"),
            }),
        );
        let age_note = if restore {
            "age -d -i KEY | tar -x".to_string()
        } else {
            format!("tar -c | age -r R (file {:.1} MiB)", mib(r.age_file))
        };
        rows.push(
            Row::new(
                format!("cp+age {verb}: time"),
                age.map(|m| Stats::of(vec![m.wall])),
                "s",
            )
            .ratio(ratio(age.map(|m| m.wall), restic.map(|m| m.wall)))
            .note(match age {
                Some(m) => format!("CPU {:.1} s; {age_note}", m.cpu),
                None => missing("age"),
            }),
        );
        rows.push(
            Row::new(
                format!("cp+age {verb}: peak RSS"),
                age.map(|m| Stats::of(vec![m.mib()])),
                "MiB",
            )
            .ratio(ratio(age.map(|m| m.mib()), restic.map(|m| m.mib())))
            .note(if age.is_some() {
                "tar + age (the two stages' peaks added)".to_string()
            } else {
                missing("age")
            }),
        );
        rows.push(
            Row::new(
                format!("cp -r {verb} (plain copy): time"),
                Some(Stats::of(vec![cp.wall])),
                "s",
            )
            .ratio(ratio(Some(cp.wall), restic.map(|m| m.wall)))
            .note(format!(
                "no encryption: the floor; CPU {:.1} s; peak {:.1} MiB",
                cp.cpu,
                cp.mib()
            )),
        );
    }
    let (b, rs) = (r.pvault.0.mib(), r.pvault.1.mib());
    Section {
        title: format!(
            "11. Backup and restore of a {:.0} MiB profile vs restic and cp+age",
            mib(store_bytes)
        ),
        setup: vec![
            format!(
                "a standard profile filled with {}-character note texts in `put_many` batches of {FILL_BATCH} \
                 until store.db is {} MiB, then closed (WAL checkpointed); every contender reads the \
                 profile directory (store.db + key.json) and writes on the same disk; page cache warm",
                cfg.body,
                cfg.target_bytes >> 20
            ),
            "each contender is one child process (pipelines: each stage) under GNU time: peak RSS is \
             wait4's ru_maxrss (a pipeline's stages added up); wall time around the child; one run each"
                .into(),
            "pvault: the release CLI, `pvault backup --repo R` (full, a fresh repository) and \
             `pvault backup restore --as restored` into a fresh home (the restored profile is then \
             opened and its records counted); restic: `restic backup .` in the profile dir, \
             `restic restore latest`; cp+age: `tar -c | age -r` into one file and `age -d | tar -x`; \
             the baselines' restores are checked by the store's SHA-256"
                .into(),
            "ratio = / restic (same step); the notes give the ratio to cp+age".into(),
        ],
        rows,
        goals: vec![
            Goal {
                goal: format!("pvault backup peak memory < {GOAL_MIB:.0} MiB"),
                measured: format!("{b:.1} MiB"),
                met: Some(b < GOAL_MIB),
            },
            Goal {
                goal: format!("pvault restore peak memory < {GOAL_MIB:.0} MiB"),
                measured: format!("{rs:.1} MiB"),
                met: Some(rs < GOAL_MIB),
            },
            Goal {
                goal: "the restore holds every record".into(),
                measured: format!("{} of {}", r.restored, p.records),
                met: Some(r.restored == p.records),
            },
        ],
    }
}
