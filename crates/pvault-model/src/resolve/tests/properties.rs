//! Properties over random cases: symmetry and no silent loss.

use serde_json::{Map, json};

use super::*;

// --- Properties ---------------------------------------------------------------------------

/// xorshift64*: a small deterministic generator, so the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &[
    "memo",
    "title",
    "count",
    "hits_count",
    "tags",
    "history",
    "deploy_log",
    "nested",
    "status",
    "revoked",
    "scopes",
    "expires_at",
];
const INNER_KEYS: &[&str] = &["a", "b", "count", "log", "revoked"];

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 => json!(format!("SECRET-{}", rng.below(4))),
        1 => json!(rng.below(6) as i64 - 2),
        2 => json!(rng.below(2) == 0),
        3 => Value::Null,
        _ => json!(["revoked", "active", "cancelled"][rng.below(3) as usize]),
    }
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 1 { 3 } else { 5 }) {
        0 | 1 => scalar(rng),
        2 => Value::Array((0..rng.below(4)).map(|_| scalar(rng)).collect()),
        3 => Value::Array(
            (0..rng.below(3))
                .map(|_| json!({"e": scalar(rng)}))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                m.insert(rng.pick(INNER_KEYS).to_string(), value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

fn object(rng: &mut Rng) -> Map<String, Value> {
    let mut m = Map::new();
    for _ in 0..rng.below(6) {
        m.insert(rng.pick(KEYS).to_string(), value(rng, 0));
    }
    m
}

/// A plausible edit of `v`: small changes to arrays, counters and nested objects.
fn mutate(rng: &mut Rng, v: &Value, depth: u32) -> Value {
    match v {
        Value::Array(items) if rng.below(3) > 0 => {
            let mut items = items.clone();
            if !items.is_empty() && rng.below(2) == 0 {
                items.remove(rng.below(items.len() as u64) as usize);
            }
            if rng.below(2) == 0 {
                items.push(scalar(rng));
            }
            Value::Array(items)
        }
        Value::Number(n) if rng.below(2) == 0 => json!(n.as_i64().unwrap_or(0) + 1),
        Value::Object(m) if rng.below(3) > 0 => Value::Object(mutate_map(rng, m, depth + 1)),
        _ => value(rng, depth),
    }
}

fn mutate_map(rng: &mut Rng, m: &Map<String, Value>, depth: u32) -> Map<String, Value> {
    let keys = if depth == 0 { KEYS } else { INNER_KEYS };
    let mut out = Map::new();
    for (k, value) in m {
        match rng.below(10) {
            0..=4 => {
                out.insert(k.clone(), value.clone());
            }
            5 => {}
            _ => {
                out.insert(k.clone(), mutate(rng, value, depth));
            }
        }
    }
    if rng.below(3) == 0 {
        out.insert(rng.pick(keys).to_string(), value(rng, depth));
    }
    out
}

fn gen_class(rng: &mut Rng) -> Classification {
    *rng.pick(&Classification::ALL[..3])
}

/// (base, local, remote), with ties on revision and device now and then.
fn case(rng: &mut Rng) -> (Option<Version>, Version, Version) {
    let base_fields = object(rng);
    let base = match rng.below(10) {
        0 | 1 => None,
        2 => Some(Version {
            data: None,
            classification: gen_class(rng),
            revision: 1,
            device: "aa".into(),
        }),
        _ => Some(Version {
            data: Some(Value::Object(base_fields.clone())),
            classification: gen_class(rng),
            revision: 1,
            device: "aa".into(),
        }),
    };
    let side = |rng: &mut Rng| {
        let data = match rng.below(12) {
            0 => None,
            1 => Some(value(rng, 0)),
            2 => Some(Value::Object(base_fields.clone())),
            _ => Some(Value::Object(mutate_map(rng, &base_fields, 0))),
        };
        Version {
            data,
            classification: if rng.below(2) == 0 {
                base.as_ref()
                    .map_or(Classification::Internal, |b| b.classification)
            } else {
                gen_class(rng)
            },
            revision: 2 + rng.below(3),
            device: rng.pick(&["aa", "bb"]).to_string(),
        }
    };
    let local = side(rng);
    let remote = side(rng);
    (base, local, remote)
}

/// The content kept, ignoring the classification of a deletion.
fn kept(
    r: &Resolution,
    local: &Version,
    remote: &Version,
) -> (Option<Value>, Option<Classification>) {
    let (data, classification) = content(r, local, remote);
    let classification = data.as_ref().map(|_| classification);
    (data, classification)
}

fn check_symmetry(strategy: Strategy, collection: &str, seed: u64, cases: usize) {
    let mut rng = Rng(seed);
    let ctx = ctx(collection);
    let mut merged = 0;
    for i in 0..cases {
        let (base, a, b) = case(&mut rng);
        let ab = resolve(strategy, &ctx, base.as_ref(), &a, &b);
        let ba = resolve(strategy, &ctx, base.as_ref(), &b, &a);
        assert_eq!(
            kept(&ab, &a, &b),
            kept(&ba, &b, &a),
            "case {i}: {strategy} depends on argument order\nbase {base:?}\na {a:?}\nb {b:?}"
        );
        assert_eq!(ab.dropped.len(), ba.dropped.len(), "case {i}");
        for line in ab.dropped.iter().chain(&ba.dropped) {
            assert!(!line.contains("SECRET-"), "case {i}: value in {line:?}");
        }
        merged += usize::from(matches!(ab.decision, Decision::Merged { .. }));
    }
    if strategy != Strategy::Timestamp {
        assert!(
            merged > cases / 20,
            "{strategy}: only {merged} merges in {cases} cases"
        );
    }
}

#[test]
fn timestamp_winner_does_not_depend_on_argument_order() {
    check_symmetry(Strategy::Timestamp, "research", 0x9E37_79B9_7F4A_7C15, 2000);
    let mut rng = Rng(42);
    for _ in 0..1000 {
        let (base, a, b) = case(&mut rng);
        if a.same_content(&b) {
            continue;
        }
        let r = run(Strategy::Timestamp, base.as_ref(), &a, &b);
        let (winner, loser) = match r.decision {
            Decision::KeepLocal => (&a, &b),
            Decision::KeepRemote => (&b, &a),
            other => panic!("timestamp decided {other:?}"),
        };
        assert!(
            (winner.revision, &winner.device) >= (loser.revision, &loser.device),
            "{winner:?} beat {loser:?}"
        );
    }
}

#[test]
fn merge_does_not_depend_on_argument_order() {
    check_symmetry(Strategy::Merge, "research", 0xDEAD_BEEF_CAFE_F00D, 3000);
}

#[test]
fn security_first_does_not_depend_on_argument_order() {
    check_symmetry(Strategy::SecurityFirst, "api_keys", 7, 1500);
    check_symmetry(Strategy::SecurityFirst, "transactions", 8, 500);
}

/// Every edit is either in the result, combined by a rule that keeps both, or reported.
#[test]
fn merge_reports_every_edit_it_drops() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let empty = Map::new();
    let mut checked = 0;
    for i in 0..2000 {
        let (base, a, b) = case(&mut rng);
        let r = run(Strategy::Merge, base.as_ref(), &a, &b);
        let (result, _) = content(&r, &a, &b);
        let (Some(Value::Object(la)), Some(Value::Object(lb)), Some(Value::Object(res))) =
            (&a.data, &b.data, &result)
        else {
            continue;
        };
        let base_fields = base_fields(base.as_ref()).unwrap_or(&empty);
        // A side that changed nothing gets the other side's version.
        if a.data.as_ref() == base.as_ref().and_then(|v| v.data.as_ref()) {
            assert_eq!(result, b.data, "case {i}");
        }
        for (mine, theirs) in [(la, lb), (lb, la)] {
            for (k, value) in mine.iter().map(|(k, v)| (k, Some(v))).chain(
                base_fields
                    .iter()
                    .filter(|(k, _)| !mine.contains_key(*k))
                    .map(|(k, _)| (k, None)),
            ) {
                let before = base_fields.get(k);
                if value == before || value == res.get(k) {
                    continue;
                }
                checked += 1;
                let other = theirs.get(k);
                let combined = other != before
                    && matches!(
                        (value, other),
                        (Some(Value::Object(_)), Some(Value::Object(_)))
                            | (Some(Value::Array(_)), Some(Value::Array(_)))
                            | (Some(Value::Number(_)), Some(Value::Number(_)))
                    );
                assert!(
                    combined || mentions(&r, &format!("'{k}'")) || mentions(&r, &format!("'{k}.")),
                    "case {i}: edit of '{k}' lost silently: {:?}\nbase {base:?}\na {a:?}\nb {b:?}",
                    r.dropped
                );
            }
        }
    }
    assert!(checked > 200, "only {checked} lost edits checked");
}
