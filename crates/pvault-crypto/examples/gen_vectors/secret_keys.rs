//! `secret_keys.json`: display strings of fixed bytes, and the inputs `SecretKey::parse` accepts
//! and refuses.

use pvault_crypto::SecretKey;
use serde_json::{Value, json};

use crate::common::seq;

pub fn secret_keys() -> Value {
    let good = seq::<16>(0x50);
    let shown = displayed(&good);
    let mut parse = accepted(&shown, &good);
    parse.extend(refused(&shown));
    json!({
        "description": "Secret Keys (docs/format.md, 'Secret Key'). display: SecretKey::from_bytes then \
            to_display_string; parse: SecretKey::parse.",
        "display": display(),
        "parse": parse,
    })
}

/// The display string of a Secret Key of `bytes`.
fn displayed(bytes: &[u8; 16]) -> String {
    let sk = SecretKey::from_bytes(bytes).unwrap();
    sk.to_display_string().to_string()
}

fn display() -> Vec<Value> {
    let samples: [[u8; 16]; 4] = [[0; 16], [0xff; 16], seq(0x00), seq(0x50)];
    let mut display: Vec<Value> = (samples.into_iter())
        .map(|bytes| {
            json!({
                "description": "display form of fixed bytes",
                "bytes": hex::encode(bytes),
                "display": displayed(&bytes),
                "expect": "ok",
            })
        })
        .collect();
    display.push(json!({
        "description": "a Secret Key is exactly 16 bytes",
        "bytes": hex::encode([1u8; 15]),
        "expect": "InvalidSecretKey",
    }));
    display
}

/// Ways of writing the Secret Key `shown` (of `good`) that parse to it.
fn accepted(shown: &str, good: &[u8; 16]) -> Vec<Value> {
    let bytes = hex::encode(good);
    let ok = |description: &str, input: String, bytes: &str| json!({"description": description, "input": input, "expect": "ok", "bytes": bytes});
    // Crockford misreadings in the data part: O for 0, I and L for 1.
    let zeros = displayed(&[0; 16]);
    let aliased: String = (zeros.char_indices())
        .map(|(i, c)| {
            if (4..11).contains(&i) && c == '0' {
                'o'
            } else {
                c
            }
        })
        .collect();
    vec![
        ok("as displayed", shown.to_string(), &bytes),
        ok("lower case", shown.to_lowercase(), &bytes),
        ok("spaces instead of dashes", shown.replace('-', " "), &bytes),
        ok("no separators", shown.replace('-', ""), &bytes),
        ok("surrounding whitespace", format!("  {shown}\n"), &bytes),
        ok(
            "O read as 0 in the data characters",
            aliased,
            &hex::encode([0u8; 16]),
        ),
    ]
}

/// `s` with the character at `at` replaced by what `to` makes of it.
fn with_char(s: &str, at: usize, to: impl Fn(char) -> char) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    chars[at] = to(chars[at]);
    chars.into_iter().collect()
}

/// Near misses of the Secret Key `shown` that parse must refuse.
fn refused(shown: &str) -> Vec<Value> {
    let typo = with_char(shown, 5, |c| if c == 'A' { 'B' } else { 'A' });
    let last = shown.chars().count() - 1;
    let bad_check = with_char(shown, last, |c| if c == 'Z' { 'Y' } else { 'Z' });
    let bad_char = with_char(shown, 5, |_| 'U');
    // 26 data characters carry 130 bits: the last 2 must be zero. The 26th data character of all
    // ones is "W" = 11100; "Z" = 11111.
    let padding = with_char(&displayed(&[0xff; 16]), 4 + 3 * 8 + 4, |_| 'Z');
    [
        ("a data character changed (checksum mismatch)", typo),
        ("a check character changed", bad_check),
        ("U is not in the alphabet", bad_char),
        ("non-zero padding bits", padding),
        ("wrong prefix", shown.replacen("PV1", "PV2", 1)),
        ("missing prefix", shown[4..].to_string()),
        ("one character short", shown[..shown.len() - 1].to_string()),
        ("one character long", format!("{shown}0")),
        ("empty", String::new()),
    ]
    .into_iter()
    .map(|(desc, input)| json!({"description": desc, "input": input, "expect": "InvalidSecretKey"}))
    .collect()
}
