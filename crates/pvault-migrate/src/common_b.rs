//! Small helpers shared by the 1PUX and KDBX readers: labels for [`crate::Item::source`] and
//! timestamps.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The most characters of a title a label keeps.
const MAX_LABEL_CHARS: usize = 40;

/// `title` fit for a label: control characters replaced by `?`, cut to 40 characters (an ellipsis
/// marks the cut).
pub(crate) fn label(title: &str) -> String {
    let mut out: String = title
        .chars()
        .take(MAX_LABEL_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if title.chars().nth(MAX_LABEL_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// `text` as given, but `None` when empty: empty optional strings become absent fields.
pub(crate) fn non_empty(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Unix seconds as RFC 3339 in UTC (`None` for 0, a source's "unset", and for values out of
/// range).
pub(crate) fn rfc3339_from_unix(seconds: i64) -> Option<String> {
    if seconds == 0 {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// Unix seconds as a calendar date (`YYYY-MM-DD`, UTC); `None` for 0 (unset).
pub(crate) fn date_from_unix(seconds: i64) -> Option<String> {
    if seconds == 0 {
        return None;
    }
    let at = OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_cut_and_cleaned() {
        assert_eq!(label("GitHub"), "GitHub");
        assert_eq!(label("a\nb\tc\u{7}"), "a?b?c?");
        let long = "x".repeat(45);
        assert_eq!(label(&long), format!("{}…", "x".repeat(40)));
        assert_eq!(label(&"é".repeat(40)), "é".repeat(40));
    }

    #[test]
    fn empty_strings_are_absent() {
        assert_eq!(non_empty(Some("")), None);
        assert_eq!(non_empty(None), None);
        assert_eq!(non_empty(Some(" a ")), Some(" a ".to_string()));
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            rfc3339_from_unix(1_700_000_000).as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(rfc3339_from_unix(0), None);
        assert_eq!(rfc3339_from_unix(i64::MAX), None);
        assert_eq!(date_from_unix(1_700_000_000).as_deref(), Some("2023-11-14"));
        assert_eq!(date_from_unix(0), None);
    }
}
