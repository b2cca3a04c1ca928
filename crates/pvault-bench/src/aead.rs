//! Benchmark 2: bulk AEAD throughput on 64 KiB messages. pvault's envelope (seal and open) against
//! raw aws-lc-rs and chacha20poly1305 on a buffer in place, and against `openssl speed`.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use aws_lc_rs::aead::{
    AES_256_GCM, Aad as LcAad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey,
};
use chacha20poly1305::{AeadInPlace, KeyInit, XChaCha20Poly1305, XNonce};
use pvault_crypto::{
    Aad, Classification, CollectionKeys, Key32, Kind, ProfileId, RootKey, envelope,
};
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
    let m = measure(&Inputs::new(), budget, openssl_secs);
    let share = ratio(Some(m.pv_seal.median), m.fastest().seal);
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
        rows: [seal_rows(&m), open_rows(&m), breakdown_rows(&m)]
            .into_iter()
            .flatten()
            .collect(),
        goals,
    }
}

/// What the contenders work on: pvault's collection keys and profile, the raw ciphers' keys, the
/// message, and the message sealed by pvault (both levels) and by aws-lc-rs, to be opened.
struct Inputs {
    profile: ProfileId,
    ck: CollectionKeys,
    msg: Vec<u8>,
    aes: LessSafeKey,
    chacha: LessSafeKey,
    xchacha: XChaCha20Poly1305,
    sealed: Vec<u8>,
    sealed_cascade: Vec<u8>,
    /// The message sealed in place by aws-lc-rs AES-256-GCM (nonce 0), and its tag.
    ct: Vec<u8>,
    tag: Tag,
}

/// Where pvault's benchmark record belongs, at level `classification`.
fn aad_of(profile: &ProfileId, classification: Classification) -> Aad<'_> {
    Aad {
        profile,
        kind: Kind::Record,
        collection: "bench",
        record_id: "0123456789abcdefghjkmnpqrs",
        classification,
    }
}

impl Inputs {
    fn new() -> Inputs {
        let profile = ProfileId([0x42; 16]);
        let root = RootKey::from_key(1, Key32::from_bytes([7; 32]));
        let ck = root.collection_keys(&profile, "bench");
        let msg = vec![0x5a_u8; MSG];
        let aes = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).expect("AES key"));
        let chacha = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[9; 32]).expect("key"));
        let seal_at = |c| envelope::seal(&ck, &aad_of(&profile, c), &msg).expect("seal");
        let (sealed, sealed_cascade) = (
            seal_at(Classification::Internal),
            seal_at(Classification::Confidential),
        );
        let mut ct = msg.clone();
        let tag = aes
            .seal_in_place_separate_tag(nonce12(0), LcAad::from(&[0u8; AD_LEN]), &mut ct)
            .expect("seal");
        Inputs {
            profile,
            ck,
            msg,
            aes,
            chacha,
            xchacha: XChaCha20Poly1305::new(&[9u8; 32].into()),
            sealed,
            sealed_cascade,
            ct,
            tag,
        }
    }

    fn aad(&self, classification: Classification) -> Aad<'_> {
        aad_of(&self.profile, classification)
    }
}

/// The figures: MB/s of each in-process contender, openssl's (or why it has none), and the
/// nanoseconds of a seal's random nonces.
struct Measured {
    pv_seal: Stats,
    lc_seal: Stats,
    pv_cascade: Stats,
    rc_xchacha: Stats,
    lc_chacha: Stats,
    pv_open: Stats,
    lc_open: Stats,
    pv_open_cascade: Stats,
    copy: Stats,
    zeroize_vec: Stats,
    zeroize_slice: Stats,
    out_of_place: Stats,
    ossl_seal: Result<f64, String>,
    ossl_chacha: Result<f64, String>,
    ossl_open: Result<f64, String>,
    rng_ns: Stats,
}

/// The fastest baseline of each operation (MB/s), when there is one.
struct Fastest {
    seal: Option<f64>,
    open: Option<f64>,
    chacha: Option<f64>,
}

impl Measured {
    fn fastest(&self) -> Fastest {
        let best = |a: f64, b: &Result<f64, String>| Some(b.as_ref().map_or(a, |b| a.max(*b)));
        Fastest {
            seal: best(self.lc_seal.median, &self.ossl_seal),
            open: best(self.lc_open.median, &self.ossl_open),
            chacha: best(
                self.rc_xchacha.median.max(self.lc_chacha.median),
                &self.ossl_chacha,
            ),
        }
    }
}

/// The in-process contenders in the order they run (and `measure` reads their figures).
fn contenders(i: &Inputs) -> Vec<Op<'_>> {
    let (internal, confidential) = (
        i.aad(Classification::Internal),
        i.aad(Classification::Confidential),
    );
    vec![
        pvault(
            "pvault seal INTERNAL",
            &i.ck,
            internal,
            &i.msg,
            envelope::seal,
        ),
        seal_in_place("aws-lc-rs AES-256-GCM seal", &i.aes),
        pvault(
            "pvault seal CONFIDENTIAL",
            &i.ck,
            confidential,
            &i.msg,
            envelope::seal,
        ),
        xchacha_seal(&i.xchacha),
        seal_in_place("aws-lc-rs ChaCha20-Poly1305 seal", &i.chacha),
        pvault(
            "pvault open INTERNAL",
            &i.ck,
            internal,
            &i.sealed,
            envelope::open,
        ),
        aes_open(i),
        pvault(
            "pvault open CONFIDENTIAL",
            &i.ck,
            confidential,
            &i.sealed_cascade,
            envelope::open,
        ),
        // Breakdown: what pvault does besides the cipher. The envelope is a new buffer holding a copy
        // of the plaintext (seal and open); an opened plaintext is zeroized when dropped.
        copy_only(&i.msg),
        copy_zeroizing(&i.msg),
        copy_zeroize_slice(&i.msg),
        seal_out_of_place(&i.aes, &i.msg),
    ]
}

/// Runs the contenders in rounds, then openssl speed and the nonces' cost.
fn measure(inputs: &Inputs, budget: Duration, openssl_secs: u32) -> Measured {
    let mut ops = contenders(inputs);
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
    Measured {
        pv_seal,
        lc_seal,
        pv_cascade,
        rc_xchacha,
        lc_chacha,
        pv_open,
        lc_open,
        pv_open_cascade,
        copy,
        zeroize_vec,
        zeroize_slice,
        out_of_place,
        ossl_seal,
        ossl_chacha,
        ossl_open,
        rng_ns: nonce_cost(),
    }
}

/// A row in MB/s with its ratio to `fastest`.
fn vs_fastest(name: &str, s: Stats, fastest: Option<f64>) -> Row {
    Row::new(name, Some(s), "MB/s").ratio(ratio(Some(s.median), fastest))
}

const VS_BEST: &str = "ratio = pvault / the faster baseline";

fn seal_rows(m: &Measured) -> Vec<Row> {
    let f = m.fastest();
    let ideal_cascade = (f.chacha)
        .zip(f.seal)
        .map_or(f64::NAN, |(c, a)| 1.0 / (1.0 / c + 1.0 / a));
    vec![
        vs_fastest(
            "seal AES-256-GCM: pvault envelope (INTERNAL)",
            m.pv_seal,
            f.seal,
        )
        .note(VS_BEST),
        vs_fastest("seal AES-256-GCM: aws-lc-rs in place", m.lc_seal, f.seal),
        openssl_row(
            "seal AES-256-GCM: openssl speed -evp",
            &m.ossl_seal,
            f.seal,
        ),
        vs_fastest(
            "seal cascade: pvault envelope (CONFIDENTIAL)",
            m.pv_cascade,
            f.chacha,
        )
        .note(format!(
            "ratio vs the fastest ChaCha; ideal cascade of the fastest parts: {ideal_cascade:.0} MB/s"
        )),
        vs_fastest(
            "seal XChaCha20-Poly1305: chacha20poly1305 crate",
            m.rc_xchacha,
            f.chacha,
        )
        .note("what pvault's inner layer uses"),
        vs_fastest(
            "seal ChaCha20-Poly1305: aws-lc-rs in place",
            m.lc_chacha,
            f.chacha,
        )
        .note("XChaCha20 = HChaCha20 subkey + this"),
        openssl_row(
            "seal ChaCha20-Poly1305: openssl speed -evp",
            &m.ossl_chacha,
            f.chacha,
        ),
    ]
}

fn open_rows(m: &Measured) -> Vec<Row> {
    let f = m.fastest();
    vec![
        vs_fastest(
            "open AES-256-GCM: pvault envelope (INTERNAL)",
            m.pv_open,
            f.open,
        )
        .note(VS_BEST),
        vs_fastest("open AES-256-GCM: aws-lc-rs to a buffer", m.lc_open, f.open),
        openssl_row(
            "open AES-256-GCM: openssl speed -decrypt",
            &m.ossl_open,
            f.open,
        ),
        Row::new(
            "open cascade: pvault envelope (CONFIDENTIAL)",
            Some(m.pv_open_cascade),
            "MB/s",
        )
        .note("for information"),
    ]
}

fn breakdown_rows(m: &Measured) -> Vec<Row> {
    vec![
        Row::new("breakdown: allocate + copy 64 KiB", Some(m.copy), "MB/s")
            .note("what seal and open add to the cipher: a new buffer, one copy"),
        Row::new(
            "breakdown: + zeroize on drop (Zeroizing<Vec>)",
            Some(m.zeroize_vec),
            "MB/s",
        )
        .note("what open adds: its plaintext is wiped byte by byte"),
        Row::new(
            "breakdown: + zeroize as a slice",
            Some(m.zeroize_slice),
            "MB/s",
        )
        .note("the same wipe through zeroize's slice path (fill + barrier)"),
        vs_fastest(
            "breakdown: aws-lc-rs seal into a new buffer",
            m.out_of_place,
            m.fastest().seal,
        )
        .note("an allocating seal without the copy: seal_out_of_place_scatter into vec![0; n]"),
        Row::new(
            "breakdown: the two random nonces of one seal",
            Some(m.rng_ns),
            "ns",
        )
        .note("12 + 24 bytes, two calls to aws-lc's generator (both even for one layer)"),
    ]
}

/// pvault's `envelope::seal` or `envelope::open` (`f`) of `input`: a new buffer each call.
fn pvault<'a, T>(
    name: &'static str,
    ck: &'a CollectionKeys,
    aad: Aad<'a>,
    input: &'a [u8],
    f: impl Fn(&CollectionKeys, &Aad<'_>, &[u8]) -> pvault_crypto::Result<T> + 'a,
) -> Op<'a> {
    let op = move || {
        black_box(f(ck, &aad, black_box(input)).expect(name));
    };
    (name, Box::new(op))
}

/// The chacha20poly1305 crate's XChaCha20-Poly1305 on a buffer in place, counter nonces.
fn xchacha_seal(key: &XChaCha20Poly1305) -> Op<'_> {
    let (mut buf, mut n) = (vec![0x5a_u8; MSG], 0u64);
    let op = move || {
        n += 1;
        let mut nonce = [0u8; 24];
        nonce[..8].copy_from_slice(&n.to_be_bytes());
        let t = key
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), &[0u8; AD_LEN], &mut buf)
            .expect("seal");
        black_box(&t);
    };
    ("chacha20poly1305 XChaCha20-Poly1305 seal", Box::new(op))
}

/// aws-lc-rs AES-256-GCM opening the message it sealed, into one output buffer.
fn aes_open(i: &Inputs) -> Op<'_> {
    let (aes, ct, tag) = (&i.aes, &i.ct, &i.tag);
    let mut out = vec![0u8; MSG];
    let op = move || {
        let ad = LcAad::from(&[0u8; AD_LEN]);
        aes.open_separate_gather(nonce12(0), ad, ct, tag.as_ref(), &mut out)
            .expect("open");
        black_box(&out);
    };
    ("aws-lc-rs AES-256-GCM open", Box::new(op))
}

/// A new envelope-sized buffer holding a copy of the message.
fn copy_only(msg: &[u8]) -> Op<'_> {
    let op = || {
        let mut v = Vec::with_capacity(MSG + 34);
        v.extend_from_slice(black_box(msg));
        black_box(v);
    };
    ("breakdown: allocate + copy", Box::new(op))
}

/// The same, dropped as a `Zeroizing<Vec>` (as an opened plaintext is).
fn copy_zeroizing(msg: &[u8]) -> Op<'_> {
    let op = || {
        let mut v = Zeroizing::new(Vec::with_capacity(MSG + 34));
        v.extend_from_slice(black_box(msg));
        black_box(v);
    };
    (
        "breakdown: allocate + copy + Zeroizing<Vec> drop",
        Box::new(op),
    )
}

/// The same, wiped through zeroize's slice path.
fn copy_zeroize_slice(msg: &[u8]) -> Op<'_> {
    let op = || {
        let mut v = Vec::with_capacity(MSG + 34);
        v.extend_from_slice(black_box(msg));
        black_box(&mut v).as_mut_slice().zeroize();
    };
    ("breakdown: allocate + copy + slice zeroize", Box::new(op))
}

/// aws-lc-rs AES-256-GCM sealing out of place into a new zeroed buffer, counter nonces.
fn seal_out_of_place<'a>(aes: &'a LessSafeKey, msg: &'a [u8]) -> Op<'a> {
    let (mut n, mut t) = (0u64, [0u8; 16]);
    let op = move || {
        n += 1;
        let mut v = vec![0u8; MSG];
        let ad = LcAad::from(&[0u8; AD_LEN]);
        aes.seal_out_of_place_scatter(nonce12(n), ad, black_box(msg), &mut v, &[], &mut t)
            .expect("seal");
        black_box(v);
    };
    (
        "breakdown: aws-lc-rs seal out of place into a new buffer",
        Box::new(op),
    )
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
