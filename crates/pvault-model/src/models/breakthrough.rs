//! `breakthroughs`: research results that are recorded once, hashed and signed.
//!
//! The user writes the fields of [`BreakthroughV1`]; pvault adds the system fields (content hash,
//! version chain, signature, time), which is why a user may not supply them.

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{self, FieldResult, Model};
use super::{SchemaError, Validated};

/// The collection's name.
pub(super) const NAME: &str = "breakthroughs";
/// Fields with a blind index.
pub(super) const INDEXED: &[&str] = &["researcher", "tags"];

/// Fields written by pvault itself, never by the user.
const SYSTEM_FIELDS: [&str; 6] = [
    "content_hash",
    "version",
    "previous_hash",
    "signature",
    "signed_by",
    "recorded_at",
];
/// The user fields that make up the content hash, in hashing order.
const HASHED_FIELDS: [&str; 7] = [
    "title",
    "content",
    "researcher",
    "attribution",
    "classification",
    "tags",
    "references",
];

const MIN_CLASSIFICATION: Classification = Classification::Internal;
const DEFAULT_CLASSIFICATION: Classification = Classification::Confidential;
const MAX_TITLE_BYTES: usize = 512;
const MAX_RESEARCHER_BYTES: usize = 256;
const MAX_ATTRIBUTION_BYTES: usize = 1024;
const MAX_REFERENCES: usize = 1000;
const MAX_REFERENCE_BYTES: usize = 2048;
/// Length prefix that marks an absent field in [`breakthrough_hash_input`].
const ABSENT: [u8; 4] = u32::MAX.to_be_bytes();

/// A breakthrough, schema version 1 (user fields only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakthroughV1 {
    /// Short title, at most 512 bytes.
    pub title: String,
    /// The result itself, at most 1 MiB.
    pub content: String,
    /// Who made it, at most 256 bytes.
    pub researcher: String,
    /// Co-authors, institution, funding, at most 1 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    /// A classification name (any case); when set it is also the record's minimum and default
    /// classification, and must be INTERNAL or higher. Stored as the canonical name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// Tags, see the shared tag rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Citations, links or record ids: at most 1000 of at most 2 KiB each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<String>>,
}

impl Model for BreakthroughV1 {
    const NAME: &'static str = NAME;
    const MIN: Classification = MIN_CLASSIFICATION;
    const DEFAULT: Classification = DEFAULT_CLASSIFICATION;

    /// Checks every field and returns the record in its stored form.
    fn normalized(self) -> FieldResult<Self> {
        let reference = |f: &str, v: &str| fields::label(f, v, MAX_REFERENCE_BYTES);
        Ok(Self {
            title: fields::label("title", &self.title, MAX_TITLE_BYTES)?,
            content: fields::text("content", &self.content, fields::MAX_DOCUMENT_BYTES)?,
            researcher: researcher("researcher", &self.researcher)?,
            attribution: fields::optional(self.attribution, |a| {
                fields::text("attribution", a, MAX_ATTRIBUTION_BYTES)
            })?,
            classification: fields::optional(self.classification, classification)?
                .map(|c| c.name().to_owned()),
            tags: fields::tags("tags", self.tags)?,
            references: fields::list("references", self.references, MAX_REFERENCES, reference)?,
        })
    }

    /// The blind-index entries of a normalized record.
    fn chosen_classification(&self) -> Option<Classification> {
        // `normalized` stored a valid name, so this only reads it back.
        self.classification.as_deref().and_then(|c| c.parse().ok())
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let mut index = vec![("researcher", self.researcher.clone())];
        index.extend(fields::index_each("tags", self.tags.as_ref()));
        index
    }
}

/// Validates a breakthrough record.
pub(super) fn validate(data: Value) -> Result<Validated, SchemaError> {
    let object = fields::expect_object(NAME, &data)?;
    if let Some(field) = SYSTEM_FIELDS.into_iter().find(|f| object.contains_key(*f)) {
        let problem = format!("field '{field}' is set by pvault and cannot be written");
        return Err(SchemaError::new(NAME, problem));
    }
    fields::validate_model::<BreakthroughV1>(&data)
}

/// Normalizes a query value for an indexed field; `None` if the field has no index.
pub(super) fn query_value(field: &str, value: &str) -> Option<FieldResult<String>> {
    Some(match field {
        "researcher" => researcher(field, value),
        "tags" => fields::tag(field, value),
        _ => return None,
    })
}

fn researcher(field: &str, value: &str) -> FieldResult<String> {
    fields::label(field, value, MAX_RESEARCHER_BYTES)
}

fn classification(value: &str) -> FieldResult<Classification> {
    let level: Classification = value
        .parse()
        .map_err(|e| fields::problem("classification", e))?;
    if level < MIN_CLASSIFICATION {
        return Err(fields::problem(
            "classification",
            format!("must be {MIN_CLASSIFICATION} or higher for breakthroughs, got {level}"),
        ));
    }
    Ok(level)
}

/// The canonical bytes of a breakthrough's user fields, to be hashed (SHA-256) into its immutable
/// content hash.
///
/// Fields are taken in a fixed order: title, content, researcher, attribution, classification,
/// tags, references. A string field is its UTF-8 length as a big-endian `u32`, then its bytes. A
/// list field is its element count as a big-endian `u32`, then each element encoded like a string
/// field. An absent (or null) field is the marker `0xFFFFFFFF` alone. Meant for data returned by
/// validation; any other JSON value is encoded as its JSON text, so no input panics.
pub fn breakthrough_hash_input(data: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    for field in HASHED_FIELDS {
        match data.get(field) {
            None | Some(Value::Null) => out.extend_from_slice(&ABSENT),
            Some(Value::Array(items)) => {
                put_len(&mut out, items.len());
                items.iter().for_each(|item| put_scalar(&mut out, item));
            }
            Some(value) => put_scalar(&mut out, value),
        }
    }
    out
}

/// Appends a length-prefixed string (or, for anything else, its JSON text).
fn put_scalar(out: &mut Vec<u8>, value: &Value) {
    let json_text;
    let bytes = match value {
        Value::String(s) => s.as_bytes(),
        other => {
            json_text = other.to_string();
            json_text.as_bytes()
        }
    };
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Appends a big-endian `u32` length. Validated data is far below the limit (1 MiB per field); a
/// larger length saturates just below the absent marker rather than wrapping or panicking.
fn put_len(out: &mut Vec<u8>, len: usize) {
    let len = u32::try_from(len).unwrap_or(u32::MAX).min(u32::MAX - 1);
    out.extend_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "title": " Momentum decay in perp funding ",
            "content": "We found that...\n",
            "researcher": "Dr. Ada",
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut data = valid();
        data[field] = value;
        data
    }

    fn err(data: Value) -> String {
        validate(data).unwrap_err().to_string()
    }

    #[test]
    fn accepts_a_minimal_record() {
        let v = validate(valid()).unwrap();
        assert_eq!(
            v.data,
            json!({
                "title": "Momentum decay in perp funding",
                "content": "We found that...\n",
                "researcher": "Dr. Ada",
            })
        );
        assert_eq!(v.index, vec![("researcher", "Dr. Ada".to_string())]);
        assert_eq!(v.min_classification, Classification::Internal);
        assert_eq!(v.default_classification, Classification::Confidential);
    }

    #[test]
    fn accepts_all_fields_and_takes_the_classification() {
        let mut data = valid();
        data["attribution"] = json!("with B. Lee, Example Lab");
        data["classification"] = json!("top-secret");
        data["tags"] = json!(["Funding", "perps"]);
        data["references"] = json!(["doi:10/xyz", "research/42"]);
        let v = validate(data).unwrap();
        assert_eq!(v.data["classification"], "TOP_SECRET");
        assert_eq!(v.data["tags"], json!(["funding", "perps"]));
        assert_eq!(v.min_classification, Classification::TopSecret);
        assert_eq!(v.default_classification, Classification::TopSecret);
        let tags: Vec<_> = v.index.iter().filter(|(f, _)| *f == "tags").collect();
        assert_eq!(tags.len(), 2);
    }

    #[test]
    fn rejects_system_fields() {
        for field in SYSTEM_FIELDS {
            assert_eq!(
                err(with(field, json!("x"))),
                format!("breakthroughs: field '{field}' is set by pvault and cannot be written")
            );
        }
    }

    #[test]
    fn rejects_bad_classifications() {
        assert_eq!(
            err(with("classification", json!("public"))),
            "breakthroughs: field 'classification': must be INTERNAL or higher for breakthroughs, got PUBLIC"
        );
        assert_eq!(
            err(with("classification", json!("ultra"))),
            "breakthroughs: field 'classification': unknown classification 'ultra': expected one of PUBLIC, INTERNAL, CONFIDENTIAL, SECRET, TOP_SECRET"
        );
    }

    #[test]
    fn rejects_bad_text_fields() {
        assert_eq!(
            err(with("title", json!("t".repeat(513)))),
            "breakthroughs: field 'title': must be at most 512 bytes, got 513 bytes"
        );
        assert_eq!(
            err(with("content", json!("  "))),
            "breakthroughs: field 'content': must not be empty"
        );
        assert_eq!(
            err(with("content", json!("c".repeat(1024 * 1024 + 1)))),
            "breakthroughs: field 'content': must be at most 1 MiB, got 1048577 bytes"
        );
        assert_eq!(
            err(with("researcher", json!("r".repeat(257)))),
            "breakthroughs: field 'researcher': must be at most 256 bytes, got 257 bytes"
        );
        assert_eq!(
            err(with("attribution", json!("a".repeat(1025)))),
            "breakthroughs: field 'attribution': must be at most 1 KiB, got 1025 bytes"
        );
    }

    #[test]
    fn rejects_bad_lists() {
        assert_eq!(
            err(with("references", json!(["ok", "r".repeat(2049)]))),
            "breakthroughs: field 'references[1]': must be at most 2 KiB, got 2049 bytes"
        );
        let too_many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
        assert_eq!(
            err(with("references", json!(too_many))),
            "breakthroughs: field 'references': must have at most 1000 items, got 1001"
        );
        assert_eq!(
            err(with("tags", json!([1]))),
            "breakthroughs: field 'tags': invalid type: integer `1`, expected a string"
        );
    }

    #[test]
    fn rejects_missing_unknown_and_non_objects() {
        let mut data = valid();
        data.as_object_mut().unwrap().remove("researcher");
        assert_eq!(err(data), "breakthroughs: missing field 'researcher'");
        let e = err(with("summary", json!("x")));
        assert!(
            e.starts_with("breakthroughs: unknown field 'summary', expected one of"),
            "{e}"
        );
        assert_eq!(
            err(json!("text")),
            "breakthroughs: expected a JSON object, got string"
        );
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value("tags", " ML ").unwrap().unwrap(), "ml");
        assert_eq!(
            query_value("researcher", " Dr. Ada ").unwrap().unwrap(),
            "Dr. Ada"
        );
        assert!(query_value("title", "x").is_none());
    }

    #[test]
    fn hash_input_is_length_prefixed_in_fixed_order() {
        let data = json!({"content": "hi", "title": "T", "researcher": "R", "tags": ["a", "bc"]});
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 1, b'T']);
        expected.extend_from_slice(&[0, 0, 0, 2, b'h', b'i']);
        expected.extend_from_slice(&[0, 0, 0, 1, b'R']);
        expected.extend_from_slice(&ABSENT); // attribution
        expected.extend_from_slice(&ABSENT); // classification
        expected.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c']);
        expected.extend_from_slice(&ABSENT); // references
        assert_eq!(breakthrough_hash_input(&data), expected);
    }

    #[test]
    fn hash_input_separates_fields_and_ignores_system_fields() {
        let a = breakthrough_hash_input(&json!({"title": "ab", "content": "c"}));
        let b = breakthrough_hash_input(&json!({"title": "a", "content": "bc"}));
        assert_ne!(a, b);
        let empty_list = breakthrough_hash_input(&json!({"tags": []}));
        assert_ne!(empty_list, breakthrough_hash_input(&json!({})));
        let signed = json!({"title": "ab", "content": "c", "signature": "00", "version": 2});
        assert_eq!(breakthrough_hash_input(&signed), a);
        // Not an object, or odd types: no panic, still deterministic.
        assert_eq!(breakthrough_hash_input(&json!(5)), ABSENT.repeat(7));
        assert_ne!(
            breakthrough_hash_input(&json!({"title": 5})),
            ABSENT.repeat(7)
        );
    }
}
