//! Benchmark 2: bulk AEAD throughput on 64 KiB messages. pvault's envelope (seal and open) against
//! raw aws-lc-rs and chacha20poly1305 on a buffer in place, and against `openssl speed`.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use aws_lc_rs::aead::{
    AES_256_GCM, Aad as LcAad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey,
};
use chacha20poly1305::{AeadInPlace, KeyInit, XChaCha20Poly1305, XNonce};
use pvault_crypto::{Aad, Classification, Key32, Kind, ProfileId, RootKey, envelope};
use zeroize::{Zeroize, Zeroizing};

use crate::report::{Goal, Row, Section, ratio};
use crate::timing::{Stats, throughput, time};

const MSG: usize = 64 * 1024;
/// Rounds; in each, every in-process contender runs once for `budget / RUNS`.
const RUNS: usize = 3;
/// Associated data of the raw contenders: as long as pvault's for the same record.
const AD_LEN: usize = 71;

/// A contender: a name and one operation on a 64 KiB message.
type Op<'a> = (&'static str, Box<dyn FnMut() + 'a>);

pub fn run(quick: bool) -> Section {
    let budget = Duration::from_millis(if quick { 600 } else { 1500 });
    let openssl_secs = if quick { 1 } else { 2 };

    let profile = ProfileId([0x42; 16]);
    let root = RootKey::from_key(1, Key32::from_bytes([7; 32]));
    let ck = &root.collection_keys(&profile, "bench");
    let aad = |c| Aad {
        profile: &profile,
        kind: Kind::Record,
        collection: "bench",
        record_id: "0123456789abcdefghjkmnpqrs",
        classification: c,
    };
    let (internal, confidential) = (
        &aad(Classification::Internal),
        &aad(Classification::Confidential),
    );
    let msg = &vec![0x5a_u8; MSG];
    let ad = &[0u8; AD_LEN];
    let aes = &LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).expect("AES key"));
    let chacha = &LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[9; 32]).expect("key"));
    let xchacha = &XChaCha20Poly1305::new(&[9u8; 32].into());
    let sealed = &envelope::seal(ck, internal, msg).expect("seal");
    let sealed_cascade = &envelope::seal(ck, confidential, msg).expect("seal");
    let (ct, tag) = {
        let mut ct = msg.clone();
        let tag = aes
            .seal_in_place_separate_tag(nonce12(0), LcAad::from(ad), &mut ct)
            .expect("seal");
        (ct, tag)
    };
    let (ct, tag) = (&ct, &tag);

    let mut xbuf = vec![0x5a_u8; MSG];
    let mut xn = 0u64;
    let mut ops: Vec<Op> = vec![
        (
            "pvault seal INTERNAL",
            Box::new(|| {
                black_box(envelope::seal(ck, internal, black_box(msg)).expect("seal"));
            }),
        ),
        seal_in_place("aws-lc-rs AES-256-GCM seal", aes),
        (
            "pvault seal CONFIDENTIAL",
            Box::new(|| {
                black_box(envelope::seal(ck, confidential, black_box(msg)).expect("seal"));
            }),
        ),
        (
            "chacha20poly1305 XChaCha20-Poly1305 seal",
            Box::new(move || {
                xn += 1;
                let mut n = [0u8; 24];
                n[..8].copy_from_slice(&xn.to_be_bytes());
                let t = xchacha
                    .encrypt_in_place_detached(XNonce::from_slice(&n), ad, &mut xbuf)
                    .expect("seal");
                black_box(&t);
            }),
        ),
        seal_in_place("aws-lc-rs ChaCha20-Poly1305 seal", chacha),
        (
            "pvault open INTERNAL",
            Box::new(|| {
                black_box(envelope::open(ck, internal, black_box(sealed)).expect("open"));
            }),
        ),
        ("aws-lc-rs AES-256-GCM open", {
            let mut out = vec![0u8; MSG];
            Box::new(move || {
                aes.open_separate_gather(nonce12(0), LcAad::from(ad), ct, tag.as_ref(), &mut out)
                    .expect("open");
                black_box(&out);
            })
        }),
        (
            "pvault open CONFIDENTIAL",
            Box::new(|| {
                black_box(
                    envelope::open(ck, confidential, black_box(sealed_cascade)).expect("open"),
                );
            }),
        ),
        // Breakdown: what pvault does besides the cipher. The envelope is a new buffer holding a copy
        // of the plaintext (seal and open); an opened plaintext is zeroized when dropped.
        (
            "breakdown: allocate + copy",
            Box::new(|| {
                let mut v = Vec::with_capacity(MSG + 34);
                v.extend_from_slice(black_box(msg));
                black_box(v);
            }),
        ),
        (
            "breakdown: allocate + copy + Zeroizing<Vec> drop",
            Box::new(|| {
                let mut v = Zeroizing::new(Vec::with_capacity(MSG + 34));
                v.extend_from_slice(black_box(msg));
                black_box(v);
            }),
        ),
        (
            "breakdown: allocate + copy + slice zeroize",
            Box::new(|| {
                let mut v = Vec::with_capacity(MSG + 34);
                v.extend_from_slice(black_box(msg));
                black_box(&mut v).as_mut_slice().zeroize();
            }),
        ),
        (
            "breakdown: aws-lc-rs seal out of place into a new buffer",
            {
                let (mut n, mut t) = (0u64, [0u8; 16]);
                Box::new(move || {
                    n += 1;
                    let mut v = vec![0u8; MSG];
                    aes.seal_out_of_place_scatter(
                        nonce12(n),
                        LcAad::from(ad),
                        black_box(msg),
                        &mut v,
                        &[],
                        &mut t,
                    )
                    .expect("seal");
                    black_box(v);
                })
            },
        ),
    ];
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    for round in 1..=RUNS {
        for ((name, op), r) in ops.iter_mut().zip(&mut runs) {
            eprintln!("aead: round {round}/{RUNS}: {name}");
            r.push(throughput(budget / RUNS as u32, MSG, op) * 1e-6);
        }
    }
    drop(ops);
    let mut stats = runs.into_iter().map(Stats::of);
    let mut next = || stats.next().expect("one result per contender");
    let (pv_seal, lc_seal, pv_cascade, rc_xchacha, lc_chacha) =
        (next(), next(), next(), next(), next());
    let (pv_open, lc_open, pv_open_cascade) = (next(), next(), next());
    let (copy, zeroize_vec, zeroize_slice, out_of_place) = (next(), next(), next(), next());

    let ossl_seal = openssl_speed("aes-256-gcm", false, openssl_secs);
    let ossl_chacha = openssl_speed("chacha20-poly1305", false, openssl_secs);
    let ossl_open = openssl_speed("aes-256-gcm", true, openssl_secs);
    let rng_ns = nonce_cost();

    let best = |a: f64, b: &Result<f64, String>| Some(b.as_ref().map_or(a, |b| a.max(*b)));
    let fastest_seal = best(lc_seal.median, &ossl_seal);
    let fastest_open = best(lc_open.median, &ossl_open);
    let fastest_chacha = best(rc_xchacha.median.max(lc_chacha.median), &ossl_chacha);
    let vs_best = "ratio = pvault / the faster baseline";
    let rows = vec![
        Row::new(
            "seal AES-256-GCM: pvault envelope (INTERNAL)",
            Some(pv_seal),
            "MB/s",
        )
        .ratio(ratio(Some(pv_seal.median), fastest_seal))
        .note(vs_best),
        Row::new(
            "seal AES-256-GCM: aws-lc-rs in place",
            Some(lc_seal),
            "MB/s",
        )
        .ratio(ratio(Some(lc_seal.median), fastest_seal)),
        openssl_row(
            "seal AES-256-GCM: openssl speed -evp",
            &ossl_seal,
            fastest_seal,
        ),
        Row::new(
            "seal cascade: pvault envelope (CONFIDENTIAL)",
            Some(pv_cascade),
            "MB/s",
        )
        .ratio(ratio(Some(pv_cascade.median), fastest_chacha))
        .note(format!(
            "ratio vs the fastest ChaCha; ideal cascade of the fastest parts: {:.0} MB/s",
            fastest_chacha
                .zip(fastest_seal)
                .map_or(f64::NAN, |(c, a)| 1.0 / (1.0 / c + 1.0 / a))
        )),
        Row::new(
            "seal XChaCha20-Poly1305: chacha20poly1305 crate",
            Some(rc_xchacha),
            "MB/s",
        )
        .ratio(ratio(Some(rc_xchacha.median), fastest_chacha))
        .note("what pvault's inner layer uses"),
        Row::new(
            "seal ChaCha20-Poly1305: aws-lc-rs in place",
            Some(lc_chacha),
            "MB/s",
        )
        .ratio(ratio(Some(lc_chacha.median), fastest_chacha))
        .note("XChaCha20 = HChaCha20 subkey + this"),
        openssl_row(
            "seal ChaCha20-Poly1305: openssl speed -evp",
            &ossl_chacha,
            fastest_chacha,
        ),
        Row::new(
            "open AES-256-GCM: pvault envelope (INTERNAL)",
            Some(pv_open),
            "MB/s",
        )
        .ratio(ratio(Some(pv_open.median), fastest_open))
        .note(vs_best),
        Row::new(
            "open AES-256-GCM: aws-lc-rs to a buffer",
            Some(lc_open),
            "MB/s",
        )
        .ratio(ratio(Some(lc_open.median), fastest_open)),
        openssl_row(
            "open AES-256-GCM: openssl speed -decrypt",
            &ossl_open,
            fastest_open,
        ),
        Row::new(
            "open cascade: pvault envelope (CONFIDENTIAL)",
            Some(pv_open_cascade),
            "MB/s",
        )
        .note("for information"),
        Row::new("breakdown: allocate + copy 64 KiB", Some(copy), "MB/s")
            .note("what seal and open add to the cipher: a new buffer, one copy"),
        Row::new(
            "breakdown: + zeroize on drop (Zeroizing<Vec>)",
            Some(zeroize_vec),
            "MB/s",
        )
        .note("what open adds: its plaintext is wiped byte by byte"),
        Row::new(
            "breakdown: + zeroize as a slice",
            Some(zeroize_slice),
            "MB/s",
        )
        .note("the same wipe through zeroize's slice path (fill + barrier)"),
        Row::new(
            "breakdown: aws-lc-rs seal into a new buffer",
            Some(out_of_place),
            "MB/s",
        )
        .ratio(ratio(Some(out_of_place.median), fastest_seal))
        .note("an allocating seal without the copy: seal_out_of_place_scatter into vec![0; n]"),
        Row::new(
            "breakdown: the two random nonces of one seal",
            Some(rng_ns),
            "ns",
        )
        .note("12 + 24 bytes, two calls to aws-lc's generator (both even for one layer)"),
    ];
    let share = ratio(Some(pv_seal.median), fastest_seal);
    let goals = vec![Goal {
        goal: "pvault INTERNAL seal ≥ 80% of the fastest AES-256-GCM on the machine".into(),
        measured: share.map_or("—".into(), |s| format!("{:.0}%", s * 100.0)),
        met: share.map(|s| s >= 0.8),
    }];
    Section {
        title: "2. Bulk AEAD throughput, 64 KiB messages (MB/s = 10^6 bytes/s of plaintext)".into(),
        setup: vec![
            format!(
                "in-process contenders: {RUNS} rounds, each contender {} ms per round after a warm-up, \
                 median; one thread",
                budget.as_millis() / RUNS as u128
            ),
            format!(
                "pvault: envelope::seal/open with keys from RootKey::collection_keys (allocates the \
                 envelope, random nonces); raw: in place, counter nonces, {AD_LEN}-byte AD like \
                 pvault's; openssl speed: one {openssl_secs} s run"
            ),
        ],
        rows,
        goals,
    }
}

/// A raw contender: seals a buffer in place with counter nonces, nothing but the cipher.
fn seal_in_place<'a>(name: &'static str, key: &'a LessSafeKey) -> Op<'a> {
    let (mut buf, mut n) = (vec![0x5a_u8; MSG], 0u64);
    let op = move || {
        n += 1;
        let t = key
            .seal_in_place_separate_tag(nonce12(n), LcAad::from(&[0u8; AD_LEN]), &mut buf)
            .expect("seal");
        black_box(&t);
    };
    (name, Box::new(op))
}

fn nonce12(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// Nanoseconds for the two nonces `envelope::seal` draws (median of rounds of 100,000).
fn nonce_cost() -> Stats {
    eprintln!("aead: breakdown: random nonces");
    let n = 100_000;
    Stats::of(
        (0..RUNS)
            .map(|_| {
                let (_, secs) = time(|| {
                    for _ in 0..n {
                        black_box(pvault_crypto::random::bytes::<12>());
                        black_box(pvault_crypto::random::bytes::<24>());
                    }
                });
                secs * 1e9 / n as f64
            })
            .collect(),
    )
}

fn openssl_row(name: &str, r: &Result<f64, String>, fastest: Option<f64>) -> Row {
    match r {
        Ok(v) => Row::new(name, Some(Stats::of(vec![*v])), "MB/s").ratio(ratio(Some(*v), fastest)),
        Err(e) => Row::new(name, None, "MB/s").note(e.clone()),
    }
}

/// Runs `openssl speed -evp CIPHER -bytes 65536 -seconds N` and returns MB/s. Its last line ends with
/// the rate in thousands of bytes per second, e.g. `AES-256-GCM    5664276.48k`.
fn openssl_speed(cipher: &str, decrypt: bool, secs: u32) -> Result<f64, String> {
    eprintln!(
        "aead: openssl speed {cipher}{}",
        if decrypt { " -decrypt" } else { "" }
    );
    let mut cmd = Command::new("openssl");
    cmd.arg("speed");
    if decrypt {
        cmd.arg("-decrypt");
    }
    cmd.args([
        "-evp",
        cipher,
        "-bytes",
        &MSG.to_string(),
        "-seconds",
        &secs.to_string(),
    ]);
    let out = cmd.output().map_err(|e| format!("openssl not run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.split_whitespace()
        .last()
        .and_then(|v| v.strip_suffix('k'))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|k| k * 1000.0 / 1e6)
        .ok_or_else(|| {
            format!(
                "unexpected openssl output: {last:?} (status {})",
                out.status
            )
        })
}

/// `openssl version`, for the machine description.
pub fn openssl_version() -> String {
    Command::new("openssl")
        .arg("version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "not found".into())
}
