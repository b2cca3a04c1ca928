//! User collections: free-form JSON objects, stored as given, without index.

use pvault_crypto::Classification;
use serde_json::Value;

use super::fields;
use super::{SchemaError, Validated};

/// Validates a record of the user collection `collection`: any JSON object.
pub(super) fn validate(collection: &str, data: Value) -> Result<Validated, SchemaError> {
    fields::expect_object(collection, &data)?;
    Ok(Validated {
        data,
        index: Vec::new(),
        min_classification: Classification::Public,
        default_classification: Classification::Internal,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_any_object() {
        let data = json!({"a": 1, "nested": {"list": [true, null]}, "": "empty key"});
        let v = validate("notes", data.clone()).unwrap();
        assert_eq!(v.data, data);
        assert!(v.index.is_empty());
        assert_eq!(v.min_classification, Classification::Public);
        assert_eq!(v.default_classification, Classification::Internal);
        assert!(validate("notes", json!({})).is_ok());
    }

    #[test]
    fn rejects_anything_else() {
        for (data, kind) in [
            (json!([]), "array"),
            (json!("s"), "string"),
            (json!(null), "null"),
            (json!(7), "number"),
        ] {
            assert_eq!(
                validate("notes", data).unwrap_err().to_string(),
                format!("notes: expected a JSON object, got {kind}")
            );
        }
    }
}
