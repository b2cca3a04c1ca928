//! Field rules shared by the collection models: text and length caps, decimals, RFC 3339
//! timestamps, hex digests, string lists and tags, and turning a JSON object into a model struct.
//!
//! Every rule takes the field's name and returns either the normalized value or a problem message
//! that starts with `field '<name>': `. The collection adds its own name when it turns the message
//! into a [`SchemaError`].

use std::fmt::Display;

use pvault_crypto::Classification;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::{SchemaError, Validated};

/// The result of one field rule: the normalized value, or a message naming the field.
pub(super) type FieldResult<T> = Result<T, String>;

/// At most this many digits after the decimal point (18, as in ETH's wei).
const MAX_FRACTION_DIGITS: usize = 18;
/// At most this many digits before the decimal point.
const MAX_INTEGER_DIGITS: usize = 40;
/// At most this many tags on one record.
pub(super) const MAX_TAGS: usize = 100;
/// At most this many bytes in one tag.
pub(super) const MAX_TAG_BYTES: usize = 64;
/// The cap for free text such as memos and notes.
pub(super) const MAX_NOTE_BYTES: usize = 4096;
/// The cap for long documents (breakthrough content, research bodies).
pub(super) const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Values echoed in messages are cut after this many characters.
const MAX_SHOWN_CHARS: usize = 64;

/// Formats a problem with one field: `field 'amount': must be ...`.
pub(super) fn problem(field: &str, message: impl Display) -> String {
    format!("field '{field}': {message}")
}

/// Quotes a user-supplied value for a message, cut short so a huge value cannot flood it.
pub(super) fn shown(value: &str) -> String {
    match value.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// The JSON type of a value, for messages ("expected a JSON object, got array").
pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `data` is a JSON object.
pub(super) fn expect_object<'a>(
    collection: &str,
    data: &'a Value,
) -> Result<&'a Map<String, Value>, SchemaError> {
    data.as_object().ok_or_else(|| {
        SchemaError::new(
            collection,
            format!("expected a JSON object, got {}", json_type(data)),
        )
    })
}

/// Reads a record into its model struct (which denies unknown fields).
///
/// serde reports unknown and missing fields by name; for a value of the wrong type it does not,
/// so the offending field is found by reading each field on its own. The value of a field listed
/// in `secret_fields` never appears in the message.
pub(super) fn parse_record<T: DeserializeOwned>(
    collection: &str,
    data: &Value,
    secret_fields: &[&str],
) -> Result<T, SchemaError> {
    let object = expect_object(collection, data)?;
    T::deserialize(data).map_err(|err| {
        SchemaError::new(
            collection,
            explain::<T>(object, &err.to_string(), secret_fields),
        )
    })
}

/// Turns a serde message into one that names the field (and hides secret values).
fn explain<T: DeserializeOwned>(
    object: &Map<String, Value>,
    message: &str,
    secret_fields: &[&str],
) -> String {
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        // These carry field names only, never values.
        return message.replace('`', "'");
    }
    for (field, value) in object {
        let alone = Value::Object(Map::from_iter([(field.clone(), value.clone())]));
        let Err(err) = T::deserialize(&alone) else {
            continue;
        };
        let err = err.to_string();
        if err.starts_with("missing field") {
            continue; // this field alone is fine; the rest of the record is just absent
        }
        return if secret_fields.contains(&field.as_str()) {
            problem(field, "invalid")
        } else {
            problem(field, err)
        };
    }
    if secret_fields.is_empty() {
        message.to_owned()
    } else {
        "invalid record".to_owned()
    }
}

/// A built-in schema: how a record of one collection is parsed, normalized and indexed.
pub(super) trait Model: Serialize + DeserializeOwned {
    /// The collection's name.
    const NAME: &'static str;
    /// The lowest classification a record may have.
    const MIN: Classification;
    /// The classification of a record written without one.
    const DEFAULT: Classification;
    /// Fields whose values must never appear in an error.
    const SECRET_FIELDS: &'static [&'static str] = &[];

    /// The record with every field checked and in its canonical form.
    fn normalized(self) -> FieldResult<Self>;

    /// The blind-index entries of a normalized record.
    fn index(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// A classification the record chooses for itself, replacing both `MIN` and `DEFAULT`.
    fn chosen_classification(&self) -> Option<Classification> {
        None
    }
}

/// Parses, normalizes and indexes a record of a built-in collection.
pub(super) fn validate_model<M: Model>(data: &Value) -> Result<Validated, SchemaError> {
    let record: M = parse_record(M::NAME, data, M::SECRET_FIELDS)?;
    let record = record
        .normalized()
        .map_err(|p| SchemaError::new(M::NAME, p))?;
    let chosen = record.chosen_classification();
    validated(
        M::NAME,
        &record,
        record.index(),
        chosen.unwrap_or(M::MIN),
        chosen.unwrap_or(M::DEFAULT),
    )
}

/// Builds the result of a successful validation.
pub(super) fn validated<T: Serialize>(
    collection: &str,
    record: &T,
    index: Vec<(&'static str, String)>,
    min_classification: Classification,
    default_classification: Classification,
) -> Result<Validated, SchemaError> {
    let data = serde_json::to_value(record)
        .map_err(|_| SchemaError::new(collection, "the record could not be stored as JSON"))?;
    Ok(Validated {
        data,
        index,
        min_classification,
        default_classification,
    })
}

/// Fails when `value` is longer than `max` bytes, naming the cap.
pub(super) fn check_len(field: &str, value: &str, max: usize) -> FieldResult<()> {
    if value.len() > max {
        return Err(problem(
            field,
            format!("must be at most {}, got {} bytes", size(max), value.len()),
        ));
    }
    Ok(())
}

/// A byte count for messages: "256 bytes", "64 KiB", "1 MiB".
fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    match bytes {
        b if b >= KIB * KIB && b % (KIB * KIB) == 0 => format!("{} MiB", b / (KIB * KIB)),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// A short value (name, title, id, address): trimmed, not empty, at most `max` bytes.
pub(super) fn label(field: &str, value: &str, max: usize) -> FieldResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(problem(field, "must not be empty"));
    }
    check_len(field, trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// Free text (content, body, notes): kept exactly as written, but not blank and at most `max`
/// bytes.
pub(super) fn text(field: &str, value: &str, max: usize) -> FieldResult<String> {
    if value.trim().is_empty() {
        return Err(problem(field, "must not be empty"));
    }
    check_len(field, value, max)?;
    Ok(value.to_owned())
}

/// An optional string field: absent, null or blank all mean "not set"; otherwise `rule` applies.
pub(super) fn optional<T>(
    value: Option<String>,
    rule: impl FnOnce(&str) -> FieldResult<T>,
) -> FieldResult<Option<T>> {
    match value {
        Some(v) if !v.trim().is_empty() => rule(&v).map(Some),
        _ => Ok(None),
    }
}

/// One of a fixed set of lower-case words; matched case-insensitively, stored lower-case.
pub(super) fn one_of(field: &str, value: &str, allowed: &[&str]) -> FieldResult<String> {
    let word = value.trim().to_ascii_lowercase();
    if allowed.contains(&word.as_str()) {
        Ok(word)
    } else {
        Err(problem(
            field,
            format!("must be one of {}, got {}", allowed.join("|"), shown(value)),
        ))
    }
}

/// A hex digest of `min..=max` digits, with an optional `0x` prefix; stored lower-case without
/// the prefix.
pub(super) fn hex_digest(field: &str, value: &str, min: usize, max: usize) -> FieldResult<String> {
    let trimmed = value.trim();
    let digits = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    if !(min..=max).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(problem(
            field,
            format!("must be {min} to {max} hex digits, got {}", shown(value)),
        ));
    }
    Ok(digits.to_ascii_lowercase())
}

/// A decimal given as a JSON number or string; see [`decimal_str`].
pub(super) fn decimal(field: &str, value: &Value) -> FieldResult<String> {
    match value {
        Value::String(s) => decimal_str(field, s),
        Value::Number(n) => decimal_str(field, &number_text(n)),
        other => Err(not_a_decimal(field, json_type(other))),
    }
}

/// A JSON number as decimal text. serde_json keeps integers exactly and other numbers as `f64`,
/// whose `Display` is the shortest exact round trip and never uses an exponent.
fn number_text(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => f.to_string(),
        _ => n.to_string(),
    }
}

/// A decimal string: an optional sign, digits, and optionally '.' followed by digits. Exponents,
/// a bare '.' ("12." or ".5"), NaN and infinities are refused; surrounding whitespace is ignored.
///
/// Normalized to its canonical form: no '+', no leading zeros (except a lone "0"), no trailing
/// fractional zeros (and no '.' if nothing is left after it), and "-0" is "0". At most 18
/// fractional digits may remain, and at most 40 integer digits.
pub(super) fn decimal_str(field: &str, value: &str) -> FieldResult<String> {
    let trimmed = value.trim();
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) {
        return Err(not_a_decimal(field, &shown(value)));
    }
    let int = match int.trim_start_matches('0') {
        "" => "0",
        digits => digits,
    };
    let frac = frac.trim_end_matches('0');
    if int.len() > MAX_INTEGER_DIGITS {
        return Err(problem(
            field,
            format!("must have at most {MAX_INTEGER_DIGITS} digits before the decimal point"),
        ));
    }
    if frac.len() > MAX_FRACTION_DIGITS {
        return Err(problem(
            field,
            format!(
                "must have at most {MAX_FRACTION_DIGITS} digits after the decimal point, got {}",
                shown(value)
            ),
        ));
    }
    let sign = if negative && (int != "0" || !frac.is_empty()) {
        "-"
    } else {
        ""
    };
    let point = if frac.is_empty() { "" } else { "." };
    Ok(format!("{sign}{int}{point}{frac}"))
}

fn not_a_decimal(field: &str, got: &str) -> String {
    problem(
        field,
        format!("must be a decimal number like \"12.50\", got {got}"),
    )
}

/// An RFC 3339 timestamp, normalized to UTC: `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub(super) fn timestamp(field: &str, value: &str) -> FieldResult<String> {
    let parsed = parse_timestamp(value).ok_or_else(|| {
        problem(
            field,
            format!(
                "must be an RFC 3339 timestamp like \"2024-05-01T12:00:00Z\", got {}",
                shown(value)
            ),
        )
    })?;
    parsed
        .checked_to_offset(UtcOffset::UTC)
        .and_then(|utc| utc.format(&Rfc3339).ok())
        .ok_or_else(|| {
            problem(
                field,
                format!(
                    "must fall in the years 0000 to 9999 in UTC, got {}",
                    shown(value)
                ),
            )
        })
}

/// Parses an RFC 3339 timestamp (surrounding whitespace allowed).
pub(super) fn parse_timestamp(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).ok()
}

/// A list of strings: at most `max_items`, each normalized by `item` (whose messages name the
/// element, e.g. `field 'tags[2]'`). An empty list counts as absent.
pub(super) fn list(
    field: &str,
    items: Option<Vec<String>>,
    max_items: usize,
    item: impl Fn(&str, &str) -> FieldResult<String>,
) -> FieldResult<Option<Vec<String>>> {
    let items = items.unwrap_or_default();
    if items.len() > max_items {
        return Err(problem(
            field,
            format!("must have at most {max_items} items, got {}", items.len()),
        ));
    }
    let normalized = items
        .iter()
        .enumerate()
        .map(|(i, value)| item(&format!("{field}[{i}]"), value))
        .collect::<FieldResult<Vec<_>>>()?;
    Ok((!normalized.is_empty()).then_some(normalized))
}

/// Like [`list`], but a set: repeated elements are dropped (the first one stays in place).
pub(super) fn set(
    field: &str,
    items: Option<Vec<String>>,
    max_items: usize,
    item: impl Fn(&str, &str) -> FieldResult<String>,
) -> FieldResult<Option<Vec<String>>> {
    Ok(list(field, items, max_items, item)?.map(|items| {
        let mut unique: Vec<String> = Vec::with_capacity(items.len());
        for value in items {
            if !unique.contains(&value) {
                unique.push(value);
            }
        }
        unique
    }))
}

/// One tag: trimmed, lower-case, not empty, at most 64 bytes.
pub(super) fn tag(field: &str, value: &str) -> FieldResult<String> {
    let tag = label(field, value, usize::MAX)?.to_lowercase();
    check_len(field, &tag, MAX_TAG_BYTES)?;
    Ok(tag)
}

/// A tag set: at most 100 tags, see [`tag`].
pub(super) fn tags(field: &str, items: Option<Vec<String>>) -> FieldResult<Option<Vec<String>>> {
    set(field, items, MAX_TAGS, tag)
}

/// One blind-index entry per element of an optional list.
pub(super) fn index_each(
    field: &'static str,
    items: Option<&Vec<String>>,
) -> impl Iterator<Item = (&'static str, String)> {
    items
        .into_iter()
        .flatten()
        .map(move |value| (field, value.clone()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[test]
    fn decimals_are_canonical() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("-0.000", "0"),
            ("+12.50", "12.5"),
            ("007", "7"),
            ("00.10", "0.1"),
            (" 3.14 ", "3.14"),
            ("-1.000000000000000001", "-1.000000000000000001"),
            ("1.5000000000000000000000", "1.5"),
        ];
        for (input, expected) in cases {
            assert_eq!(decimal_str("amount", input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn decimals_reject_what_is_not_plain_decimal() {
        for bad in [
            "", " ", "abc", "1e5", "1E-2", "NaN", "inf", "-", "+", ".5", "12.", "1.2.3", "1,5",
            "--1", "0x10", "١",
        ] {
            assert_eq!(
                decimal_str("amount", bad).unwrap_err(),
                format!("field 'amount': must be a decimal number like \"12.50\", got {bad:?}"),
            );
        }
    }

    #[test]
    fn decimals_have_digit_caps() {
        assert_eq!(
            decimal_str("fee", "0.0000000000000000001").unwrap_err(),
            "field 'fee': must have at most 18 digits after the decimal point, got \"0.0000000000000000001\""
        );
        assert!(decimal_str("fee", &"9".repeat(40)).is_ok());
        assert_eq!(
            decimal_str("fee", &"9".repeat(41)).unwrap_err(),
            "field 'fee': must have at most 40 digits before the decimal point"
        );
    }

    #[test]
    fn decimals_from_json_numbers() {
        assert_eq!(decimal("amount", &json!(12.5)).unwrap(), "12.5");
        assert_eq!(decimal("amount", &json!(-3)).unwrap(), "-3");
        assert_eq!(
            decimal("amount", &json!(u64::MAX)).unwrap(),
            "18446744073709551615"
        );
        assert_eq!(decimal("amount", &json!(1e-7)).unwrap(), "0.0000001");
        assert_eq!(
            decimal("amount", &json!(1e20)).unwrap(),
            "100000000000000000000"
        );
        assert_eq!(decimal("amount", &json!(-0.0)).unwrap(), "0");
        assert_eq!(
            decimal("amount", &json!(true)).unwrap_err(),
            "field 'amount': must be a decimal number like \"12.50\", got boolean"
        );
        assert!(decimal("amount", &json!(1e300)).is_err());
    }

    #[test]
    fn timestamps_are_normalized_to_utc() {
        assert_eq!(
            timestamp("t", "2024-05-01T14:30:00+02:00").unwrap(),
            "2024-05-01T12:30:00Z"
        );
        assert_eq!(
            timestamp("t", "2024-05-01T12:30:00.250Z").unwrap(),
            "2024-05-01T12:30:00.25Z"
        );
        assert_eq!(
            timestamp("t", " 2024-05-01t12:30:00z ").unwrap(),
            "2024-05-01T12:30:00Z"
        );
        assert_eq!(
            timestamp("t", "yesterday").unwrap_err(),
            "field 't': must be an RFC 3339 timestamp like \"2024-05-01T12:00:00Z\", got \"yesterday\""
        );
        assert!(timestamp("t", "2024-05-01").is_err());
        assert!(timestamp("t", "2024-05-01 12:30:00").is_err());
        assert_eq!(
            timestamp("t", "0000-01-01T00:00:00+01:00").unwrap_err(),
            "field 't': must fall in the years 0000 to 9999 in UTC, got \"0000-01-01T00:00:00+01:00\""
        );
    }

    #[test]
    fn labels_and_text() {
        assert_eq!(label("name", "  Alice ", 256).unwrap(), "Alice");
        assert_eq!(
            label("name", " \t", 256).unwrap_err(),
            "field 'name': must not be empty"
        );
        assert_eq!(
            label("name", &"a".repeat(257), 256).unwrap_err(),
            "field 'name': must be at most 256 bytes, got 257 bytes"
        );
        assert_eq!(text("body", " keep\n", 10).unwrap(), " keep\n");
        assert_eq!(
            text("body", "\n", 10).unwrap_err(),
            "field 'body': must not be empty"
        );
        assert_eq!(
            text(
                "body",
                &"a".repeat(MAX_DOCUMENT_BYTES + 1),
                MAX_DOCUMENT_BYTES
            )
            .unwrap_err(),
            "field 'body': must be at most 1 MiB, got 1048577 bytes"
        );
        assert_eq!(
            text("memo", &"a".repeat(MAX_NOTE_BYTES + 1), MAX_NOTE_BYTES).unwrap_err(),
            "field 'memo': must be at most 4 KiB, got 4097 bytes"
        );
    }

    #[test]
    fn optional_fields_treat_blank_as_absent() {
        let rule = |v: &str| label("memo", v, 8);
        assert_eq!(optional(None, rule).unwrap(), None);
        assert_eq!(optional(Some("  ".into()), rule).unwrap(), None);
        assert_eq!(
            optional(Some(" hi ".into()), rule).unwrap(),
            Some("hi".into())
        );
        assert!(optional(Some("much too long".into()), rule).is_err());
    }

    #[test]
    fn one_of_and_hex() {
        assert_eq!(
            one_of("status", " Draft", &["draft", "active"]).unwrap(),
            "draft"
        );
        assert_eq!(
            one_of("status", "done", &["draft", "active"]).unwrap_err(),
            "field 'status': must be one of draft|active, got \"done\""
        );
        assert_eq!(
            hex_digest("hash", "0xABCDEF0123456789", 16, 128).unwrap(),
            "abcdef0123456789"
        );
        assert_eq!(
            hex_digest("hash", "abc", 16, 128).unwrap_err(),
            "field 'hash': must be 16 to 128 hex digits, got \"abc\""
        );
        assert!(hex_digest("hash", "zzzzzzzzzzzzzzzz", 16, 128).is_err());
        assert!(hex_digest("hash", &"a".repeat(129), 16, 128).is_err());
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated() {
        let tags_in = Some(vec![" ML ".into(), "ml".into(), "Alpha".into()]);
        assert_eq!(
            tags("tags", tags_in).unwrap(),
            Some(vec!["ml".into(), "alpha".into()])
        );
        assert_eq!(tags("tags", Some(vec![])).unwrap(), None);
        assert_eq!(
            tags("tags", Some(vec!["ok".into(), " ".into()])).unwrap_err(),
            "field 'tags[1]': must not be empty"
        );
        assert_eq!(
            tags("tags", Some(vec!["x".repeat(65)])).unwrap_err(),
            "field 'tags[0]': must be at most 64 bytes, got 65 bytes"
        );
        let many = (0..101).map(|i| i.to_string()).collect();
        assert_eq!(
            tags("tags", Some(many)).unwrap_err(),
            "field 'tags': must have at most 100 items, got 101"
        );
    }

    #[test]
    fn lists_keep_order_and_repeats() {
        let items = Some(vec!["b".into(), " a ".into(), "b".into()]);
        let out = list("refs", items, 3, |f, v| label(f, v, 10)).unwrap();
        assert_eq!(out, Some(vec!["b".into(), "a".into(), "b".into()]));
    }

    #[test]
    fn shown_values_are_cut_short() {
        assert_eq!(shown("a\"b"), "\"a\\\"b\"");
        let long = shown(&"é".repeat(100));
        assert_eq!(long, format!("\"{}\"…", "é".repeat(64)));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        name: String,
        count: u64,
        key: Option<String>,
    }

    fn probe_err(data: Value) -> String {
        parse_record::<Probe>("probes", &data, &["key"])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn record_errors_name_the_field() {
        assert_eq!(
            probe_err(json!([1])),
            "probes: expected a JSON object, got array"
        );
        assert_eq!(
            probe_err(json!("x")),
            "probes: expected a JSON object, got string"
        );
        assert_eq!(
            probe_err(json!({"count": 1})),
            "probes: missing field 'name'"
        );
        assert_eq!(
            probe_err(json!({"name": "a", "count": 1, "xyz": 1})),
            "probes: unknown field 'xyz', expected one of 'name', 'count', 'key'"
        );
        assert_eq!(
            probe_err(json!({"name": "a", "count": "many"})),
            "probes: field 'count': invalid type: string \"many\", expected u64"
        );
        assert_eq!(
            probe_err(json!({"name": 5, "count": 1})),
            "probes: field 'name': invalid type: integer `5`, expected a string"
        );
    }

    #[test]
    fn record_errors_hide_secret_values() {
        let err = probe_err(json!({"name": "a", "count": 1, "key": 123456789}));
        assert_eq!(err, "probes: field 'key': invalid");
        assert!(!err.contains("123456789"));
    }
}
