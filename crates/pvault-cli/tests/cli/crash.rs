//! Crash test: `put --lines` killed with SIGKILL at random moments (during the KDF and unlock, and
//! while committing) must never lose a record whose id it printed, and must leave a store that
//! verifies. `PVAULT_CRASH_ITERATIONS` raises the number of kills (default 100).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cli_support::{Home, wait_with_timeout};

const DEFAULT_ITERATIONS: u64 = 100;

/// xorshift64: small, seedable, good enough for delays.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn pad_for(n: u64) -> String {
    format!("{n:010}-").repeat(18)
}

fn line_for(n: u64) -> String {
    format!(
        "{{\"id\":\"r{n}\",\"data\":{{\"n\":{n},\"pad\":\"{}\"}}}}\n",
        pad_for(n)
    )
}

#[test]
fn sigkill_never_loses_an_acknowledged_record() {
    let iterations = std::env::var("PVAULT_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
        .max(1);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        ^ u64::from(std::process::id()).rotate_left(32);
    let seed = seed | 1;
    println!("crash test: {iterations} iterations, xorshift seed {seed}");
    let mut rng = XorShift(seed);

    let home = Home::new();
    home.create("alice", "standard");
    let next_n = Arc::new(AtomicU64::new(0));
    let mut acked: Vec<u64> = Vec::new();
    let (mut killed_before_ack, mut killed_after_ack, mut kills) = (0u64, 0u64, 0u64);
    let start = Instant::now();

    for i in 0..iterations {
        // One kill in four comes early, while the process starts, runs the KDF and opens the store;
        // one in four anywhere within 300 ms of the start; the others 0-300 ms after the first
        // acknowledgement, while records are being committed.
        let (delay, after_first_ack) = match i % 4 {
            0 => (rng.below(40), false),
            1 => (rng.below(301), false),
            _ => (rng.below(301), true),
        };
        let mut cmd = home.cmd(&["put", "crash", "--lines"]).command();
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start pvault");
        let mut stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");

        let counter = next_n.clone();
        let writer = thread::spawn(move || {
            loop {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if stdin.write_all(line_for(n).as_bytes()).is_err() {
                    return; // killed: EPIPE
                }
            }
        });
        let (tx, acks) = mpsc::channel::<u64>();
        let reader = thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    // A line cut short by the kill is not an acknowledgement.
                    Ok(n) if n > 0 && line.ends_with('\n') => {
                        let n: u64 = line
                            .trim()
                            .strip_prefix('r')
                            .and_then(|s| s.parse().ok())
                            .unwrap_or_else(|| panic!("unexpected acknowledgement {line:?}"));
                        let _ = tx.send(n);
                    }
                    _ => return,
                }
            }
        });
        let errors = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });

        let mut ids = Vec::new();
        if after_first_ack {
            match acks.recv_timeout(Duration::from_secs(60)) {
                Ok(n) => ids.push(n),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("iteration {i}: no acknowledgement within 60 s");
                }
            }
        }
        thread::sleep(Duration::from_millis(delay));
        child.kill().expect("SIGKILL");
        let status = wait_with_timeout(&mut child, Duration::from_secs(60), "put --lines");
        reader.join().expect("reader");
        ids.extend(acks.try_iter());
        writer.join().expect("writer");
        let stderr = errors.join().expect("stderr");
        assert_eq!(
            status.signal(),
            Some(9),
            "iteration {i} (seed {seed}): pvault exited by itself ({status}): {stderr}"
        );
        kills += 1;
        if ids.is_empty() {
            killed_before_ack += 1;
        } else {
            killed_after_ack += 1;
        }
        acked.extend(ids);
    }
    let elapsed = start.elapsed();
    println!(
        "crash test: {kills} SIGKILLs in {elapsed:?}; {killed_before_ack} before the first \
         acknowledgement (starting, KDF, unlock), {killed_after_ack} while writing; {} records acknowledged",
        acked.len()
    );
    assert_eq!(kills, iterations);
    assert!(
        killed_before_ack > 0,
        "no kill landed during start-up and unlock (seed {seed})"
    );
    assert!(
        killed_after_ack > 0,
        "no kill landed after a record was acknowledged (seed {seed})"
    );

    // The store verifies, and every acknowledged record reads back intact.
    home.cmd(&["verify"]).ok();
    let listed = home.cmd(&["list", "crash"]).ok_json();
    assert_eq!(listed["unreadable"].as_array().map(Vec::len), Some(0));
    let mut stored: BTreeMap<u64, String> = BTreeMap::new();
    for r in listed["records"].as_array().expect("records") {
        let id = r["id"].as_str().expect("id");
        let n = r["data"]["n"].as_u64().expect("n");
        assert_eq!(
            id,
            format!("r{n}"),
            "record {id} holds another record's data"
        );
        let pad = r["data"]["pad"].as_str().expect("pad").to_string();
        assert_eq!(pad, pad_for(n), "record {id} is damaged");
        assert_eq!(r["version"], 1, "record {id} written twice");
        stored.insert(n, pad);
    }
    let missing: Vec<&u64> = acked.iter().filter(|n| !stored.contains_key(n)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but lost (seed {seed}): {missing:?}"
    );
    // Spot checks with `get`.
    if !acked.is_empty() {
        for _ in 0..3 {
            let n = acked[rng.below(acked.len() as u64) as usize];
            let id = format!("r{n}");
            let got = home.cmd(&["get", "crash", &id]).ok_json();
            assert_eq!(got["data"]["n"], n);
            assert_eq!(got["data"]["pad"], pad_for(n).as_str());
        }
    }
}
