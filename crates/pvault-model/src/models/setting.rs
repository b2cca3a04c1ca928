//! `settings`: one JSON value per key. The key is the record id, so a profile has at most one
//! record per setting.

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{self, FieldResult, Model};
use super::{SchemaError, Validated};

/// The collection's name.
pub(super) const NAME: &str = "settings";

const MAX_KEY_CHARS: usize = 128;
const MAX_DESCRIPTION_BYTES: usize = 1024;
/// The cap on a value, measured as compact JSON.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A setting, schema version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingV1 {
    /// Any JSON value (null included), at most 64 KiB as compact JSON.
    pub value: Value,
    /// What the setting is for, at most 1 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Model for SettingV1 {
    const NAME: &'static str = NAME;
    const MIN: Classification = Classification::Public;
    const DEFAULT: Classification = Classification::Internal;

    /// Checks every field and returns the record in its stored form.
    fn normalized(self) -> FieldResult<Self> {
        let value_len = serde_json::to_string(&self.value).map_or(usize::MAX, |json| json.len());
        if value_len > MAX_VALUE_BYTES {
            return Err(fields::problem("value", "must be at most 64 KiB as JSON"));
        }
        Ok(Self {
            value: self.value,
            description: fields::optional(self.description, |d| {
                fields::text("description", d, MAX_DESCRIPTION_BYTES)
            })?,
        })
    }
}

/// Validates a setting stored under the key `record_id`.
pub(super) fn validate(record_id: &str, data: Value) -> Result<Validated, SchemaError> {
    check_key(record_id).map_err(|p| SchemaError::new(NAME, p))?;
    fields::validate_model::<SettingV1>(&data)
}

/// A setting key matches `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
fn check_key(key: &str) -> FieldResult<()> {
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if first_ok && rest_ok && key.len() <= MAX_KEY_CHARS {
        return Ok(());
    }
    Err(format!(
        "record id {} is not a valid setting key: use a letter or digit followed by letters, \
         digits, '.', '_' or '-' (at most {MAX_KEY_CHARS} characters)",
        fields::shown(key)
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn err(id: &str, data: Value) -> String {
        validate(id, data).unwrap_err().to_string()
    }

    #[test]
    fn accepts_any_value() {
        for value in [
            json!(null),
            json!(3),
            json!("dark"),
            json!([1, "a"]),
            json!({"a": {"b": 1}}),
        ] {
            let v = validate("ui.theme", json!({"value": value})).unwrap();
            assert_eq!(v.data, json!({"value": value}));
            assert!(v.index.is_empty());
            assert_eq!(v.min_classification, Classification::Public);
            assert_eq!(v.default_classification, Classification::Internal);
        }
        let v = validate("A-1_b.c", json!({"value": 1, "description": "the answer"})).unwrap();
        assert_eq!(v.data["description"], "the answer");
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(validate(&"k".repeat(128), json!({"value": 1})).is_ok());
        for bad in [
            "",
            ".hidden",
            "-x",
            "has space",
            "a/b",
            "ключ",
            &"k".repeat(129),
        ] {
            assert_eq!(
                err(bad, json!({"value": 1})),
                format!(
                    "settings: record id {} is not a valid setting key: use a letter or digit followed by \
                     letters, digits, '.', '_' or '-' (at most 128 characters)",
                    fields::shown(bad)
                )
            );
        }
    }

    #[test]
    fn rejects_bad_fields() {
        assert_eq!(err("k", json!({})), "settings: missing field 'value'");
        assert_eq!(
            err("k", json!({"description": "d"})),
            "settings: missing field 'value'"
        );
        assert_eq!(
            err("k", json!({"value": 1, "key": "k"})),
            "settings: unknown field 'key', expected 'value' or 'description'"
        );
        assert_eq!(
            err("k", json!({"value": 1, "description": "d".repeat(1025)})),
            "settings: field 'description': must be at most 1 KiB, got 1025 bytes"
        );
        assert_eq!(
            err("k", json!({"value": "v".repeat(64 * 1024)})),
            "settings: field 'value': must be at most 64 KiB as JSON"
        );
        assert_eq!(
            err("k", json!(42)),
            "settings: expected a JSON object, got number"
        );
    }
}
