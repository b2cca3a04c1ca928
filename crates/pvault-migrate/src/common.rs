//! Small helpers all the readers share: how an item is named in reports and errors, empty strings
//! as absent fields, record ids, and timestamps.

use std::fmt::Display;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::Error;

/// How many characters of a title an item's source shows.
const MAX_TITLE_CHARS: usize = 40;
/// The longest record id pvault takes.
const MAX_RECORD_ID_BYTES: usize = 128;

/// A title as shown in a source or error: trimmed, at most 40 characters (then "…"), control
/// characters replaced by '?'.
pub(crate) fn shown_title(title: &str) -> String {
    let title = title.trim();
    let mut shown: String = title
        .chars()
        .take(MAX_TITLE_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if title.chars().nth(MAX_TITLE_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

/// An item's source: its position, then its title in quotes when it has one ("item 3 'GitHub'").
pub(crate) fn at(position: impl Display, title: &str) -> String {
    match shown_title(title) {
        t if t.is_empty() => position.to_string(),
        t => format!("{position} '{t}'"),
    }
}

/// A malformed-item error.
pub(crate) fn malformed(at: &str, problem: impl Into<String>) -> Error {
    Error::Malformed {
        at: at.to_owned(),
        problem: problem.into(),
    }
}

/// A JSON value's type, for messages (never the value itself).
pub(crate) fn json_type(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `value` as an optional field: `None` when it is empty, else kept exactly as it is (a password of
/// spaces is a password).
pub(crate) fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// Whether `id` is a valid pvault record id (mirrors `pvault_core::vault::validate_record_id`):
/// 1 to 128 bytes of ASCII letters, digits and `._-:@+`, starting with a letter or digit.
pub(crate) fn is_record_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RECORD_ID_BYTES
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@' | '+'))
}

/// An RFC 3339 timestamp (surrounding whitespace allowed) in UTC; `None` if it does not parse or
/// falls outside the years 0000 to 9999.
pub(crate) fn rfc3339_utc(value: &str) -> Option<String> {
    format_utc(parse_rfc3339(value)?)
}

/// An RFC 3339 timestamp (surrounding whitespace allowed).
pub(crate) fn parse_rfc3339(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).ok()
}

/// Milliseconds since the Unix epoch as an RFC 3339 timestamp in UTC; `None` out of range.
pub(crate) fn millis_utc(millis: i64) -> Option<String> {
    format_utc(from_unix_nanos(i128::from(millis) * 1_000_000)?)
}

/// Unix seconds as an RFC 3339 timestamp in UTC; `None` for 0 (a source's "unset") and out of
/// range.
pub(crate) fn seconds_utc(seconds: i64) -> Option<String> {
    format_utc(from_unix_seconds(seconds)?)
}

/// Unix seconds as a calendar date (`YYYY-MM-DD`, UTC); `None` for 0 (unset) and out of range.
pub(crate) fn seconds_date(seconds: i64) -> Option<String> {
    let at = from_unix_seconds(seconds)?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    ))
}

/// Unix seconds as a time, 0 being "unset".
fn from_unix_seconds(seconds: i64) -> Option<OffsetDateTime> {
    if seconds == 0 {
        return None;
    }
    from_unix_nanos(i128::from(seconds) * 1_000_000_000)
}

fn from_unix_nanos(nanos: i128) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

fn format_utc(at: OffsetDateTime) -> Option<String> {
    at.checked_to_offset(UtcOffset::UTC)?.format(&Rfc3339).ok()
}

/// The skipped entries of `parsed` as (source, reason) pairs, for the readers' tests.
#[cfg(test)]
pub(crate) fn skipped(parsed: &crate::Parsed) -> Vec<(&str, &str)> {
    parsed
        .skipped
        .iter()
        .map(|s| (s.source.as_str(), s.reason.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_truncated_and_cleaned() {
        assert_eq!(shown_title("  GitHub "), "GitHub");
        assert_eq!(shown_title("a\tb\nc\u{7f}"), "a?b?c?");
        let long = "x".repeat(41);
        assert_eq!(shown_title(&long), format!("{}…", "x".repeat(40)));
        assert_eq!(shown_title(&"é".repeat(40)), "é".repeat(40));
        assert_eq!(at("item 3", "GitHub"), "item 3 'GitHub'");
        assert_eq!(at("line 2", "  "), "line 2");
    }

    #[test]
    fn empty_strings_are_absent_and_others_kept_exactly() {
        assert_eq!(non_empty(""), None);
        assert_eq!(
            non_empty(" \t"),
            Some(" \t".to_owned()),
            "a password of spaces"
        );
        assert_eq!(non_empty(" pw "), Some(" pw ".to_owned()));
    }

    #[test]
    fn record_ids_follow_the_core_rule() {
        for ok in ["a", "tx-1", "9f1c.2_3:x@y+z", &"a".repeat(128)] {
            assert!(is_record_id(ok), "{ok}");
        }
        for bad in ["", "-a", "a b", "a/b", "é", &"a".repeat(129)] {
            assert!(!is_record_id(bad), "{bad}");
        }
    }

    #[test]
    fn timestamps_become_utc() {
        assert_eq!(
            rfc3339_utc(" 2024-05-01T14:30:00.250+02:00 ").as_deref(),
            Some("2024-05-01T12:30:00.25Z")
        );
        assert_eq!(rfc3339_utc("2024-05-01"), None);
        assert_eq!(
            millis_utc(1_714_566_600_000).as_deref(),
            Some("2024-05-01T12:30:00Z")
        );
        assert_eq!(millis_utc(1_500).as_deref(), Some("1970-01-01T00:00:01.5Z"));
        assert_eq!(millis_utc(i64::MAX), None);
        assert_eq!(
            seconds_utc(1_700_000_000).as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(seconds_utc(0), None);
        assert_eq!(seconds_utc(i64::MAX), None);
        assert_eq!(seconds_date(1_700_000_000).as_deref(), Some("2023-11-14"));
        assert_eq!(seconds_date(0), None);
        assert_eq!(seconds_date(i64::MAX), None);
    }
}
