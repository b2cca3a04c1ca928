//! `research`: working notes, optionally tied to the breakthrough they led to.

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{self, FieldResult, Model};
use super::{SchemaError, Validated};

/// The collection's name.
pub(super) const NAME: &str = "research";
/// Fields with a blind index.
pub(super) const INDEXED: &[&str] = &["tags", "status", "breakthrough_id"];

const STATUSES: &[&str] = &["draft", "active", "archived"];
const MAX_TITLE_BYTES: usize = 512;
const MAX_LINKS: usize = 1000;
const MAX_LINK_BYTES: usize = 2048;
const MAX_BREAKTHROUGH_ID_BYTES: usize = 128;

/// A research note, schema version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResearchV1 {
    /// Short title, at most 512 bytes.
    pub title: String,
    /// The note, at most 1 MiB.
    pub body: String,
    /// Tags, see the shared tag rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// URLs or references, at most 1000 of at most 2 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    /// Id of the breakthrough record this work led to, at most 128 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakthrough_id: Option<String>,
    /// One of draft, active, archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl Model for ResearchV1 {
    const NAME: &'static str = NAME;
    const MIN: Classification = Classification::Public;
    const DEFAULT: Classification = Classification::Internal;

    /// Checks every field and returns the record in its stored form.
    fn normalized(self) -> FieldResult<Self> {
        let link = |f: &str, v: &str| fields::label(f, v, MAX_LINK_BYTES);
        Ok(Self {
            title: fields::label("title", &self.title, MAX_TITLE_BYTES)?,
            body: fields::text("body", &self.body, fields::MAX_DOCUMENT_BYTES)?,
            tags: fields::tags("tags", self.tags)?,
            links: fields::list("links", self.links, MAX_LINKS, link)?,
            breakthrough_id: fields::optional(self.breakthrough_id, |id| {
                breakthrough_id("breakthrough_id", id)
            })?,
            status: fields::optional(self.status, |s| status("status", s))?,
        })
    }

    /// The blind-index entries of a normalized record.
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut index: Vec<_> = fields::index_each("tags", self.tags.as_ref()).collect();
        index.extend(self.status.iter().map(|s| ("status", s.clone())));
        index.extend(
            self.breakthrough_id
                .iter()
                .map(|id| ("breakthrough_id", id.clone())),
        );
        index
    }
}

/// Validates a research record.
pub(super) fn validate(data: Value) -> Result<Validated, SchemaError> {
    fields::validate_model::<ResearchV1>(&data)
}

/// Normalizes a query value for an indexed field; `None` if the field has no index.
pub(super) fn query_value(field: &str, value: &str) -> Option<FieldResult<String>> {
    Some(match field {
        "tags" => fields::tag(field, value),
        "status" => status(field, value),
        "breakthrough_id" => breakthrough_id(field, value),
        _ => return None,
    })
}

fn status(field: &str, value: &str) -> FieldResult<String> {
    fields::one_of(field, value, STATUSES)
}

fn breakthrough_id(field: &str, value: &str) -> FieldResult<String> {
    fields::label(field, value, MAX_BREAKTHROUGH_ID_BYTES)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({"title": "Funding-rate carry", "body": "Notes..."})
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
    fn accepts_a_minimal_note() {
        let v = validate(valid()).unwrap();
        assert_eq!(v.data, valid());
        assert!(v.index.is_empty());
        assert_eq!(v.min_classification, Classification::Public);
        assert_eq!(v.default_classification, Classification::Internal);
    }

    #[test]
    fn accepts_all_fields() {
        let mut data = valid();
        data["tags"] = json!(["Carry", "perps"]);
        data["links"] = json!(["https://example.org/a"]);
        data["breakthrough_id"] = json!(" bt-1 ");
        data["status"] = json!("ACTIVE");
        let v = validate(data).unwrap();
        assert_eq!(v.data["status"], "active");
        assert_eq!(v.data["breakthrough_id"], "bt-1");
        let expected = [
            ("tags", "carry"),
            ("tags", "perps"),
            ("status", "active"),
            ("breakthrough_id", "bt-1"),
        ];
        assert_eq!(v.index, expected.map(|(f, v)| (f, v.to_string())));
    }

    #[test]
    fn rejects_bad_fields() {
        assert_eq!(
            err(with("title", json!(""))),
            "research: field 'title': must not be empty"
        );
        assert_eq!(
            err(with("body", json!("b".repeat(1024 * 1024 + 1)))),
            "research: field 'body': must be at most 1 MiB, got 1048577 bytes"
        );
        assert_eq!(
            err(with("links", json!(["l".repeat(2049)]))),
            "research: field 'links[0]': must be at most 2 KiB, got 2049 bytes"
        );
        assert_eq!(
            err(with("breakthrough_id", json!("b".repeat(129)))),
            "research: field 'breakthrough_id': must be at most 128 bytes, got 129 bytes"
        );
        assert_eq!(
            err(with("status", json!("done"))),
            "research: field 'status': must be one of draft|active|archived, got \"done\""
        );
        assert_eq!(
            err(with("tags", json!([" "]))),
            "research: field 'tags[0]': must not be empty"
        );
    }

    #[test]
    fn rejects_missing_unknown_and_non_objects() {
        assert_eq!(err(json!({"title": "t"})), "research: missing field 'body'");
        assert!(err(with("author", json!("x"))).starts_with("research: unknown field 'author'"));
        assert_eq!(
            err(json!(1.5)),
            "research: expected a JSON object, got number"
        );
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value("status", "Draft").unwrap().unwrap(), "draft");
        assert_eq!(query_value("tags", "Carry").unwrap().unwrap(), "carry");
        assert_eq!(
            query_value("breakthrough_id", " bt-1").unwrap().unwrap(),
            "bt-1"
        );
        assert!(query_value("title", "x").is_none());
    }
}
