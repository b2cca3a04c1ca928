//! Typed, versioned and validated record models.
//!
//! Every record lives in a collection. Six collections are built in and have a schema (one file
//! each, see below); any other valid name is a free-form *user* collection whose records are plain
//! JSON objects. [`validate`] checks a record against its schema and returns it normalized (so the
//! same value is always stored the same way), together with its blind-index entries and the
//! classification bounds of its collection. [`canonical_query_value`] normalizes a query value the
//! same way, so an equality query finds the records it should.
//!
//! All schemas are at [`SCHEMA_VERSION`] 1. The rules shared by several fields (decimals, RFC 3339
//! timestamps, tag lists, length caps) are in `fields.rs`.

mod api_key;
mod block;
mod breakthrough;
mod fields;
mod research;
mod setting;
mod transaction;
mod user;

use std::fmt;

use pvault_crypto::Classification;

pub use api_key::{ApiKeyV1, api_key_rotation_due};
pub use block::BlockV1;
pub use breakthrough::{BreakthroughV1, breakthrough_hash_input};
pub use research::ResearchV1;
pub use setting::SettingV1;
pub use transaction::TransactionV1;

/// The version of the built-in schemas defined in this module.
pub const SCHEMA_VERSION: u32 = 1;

/// The names of the built-in collections.
pub const BUILTIN_COLLECTIONS: [&str; 6] = [
    transaction::NAME,
    breakthrough::NAME,
    api_key::NAME,
    setting::NAME,
    block::NAME,
    research::NAME,
];

/// The longest name a user collection may have.
const MAX_USER_COLLECTION_NAME: usize = 64;

/// Which schema a collection follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CollectionKind {
    /// `transactions`: transfers of an asset between two parties.
    Transactions,
    /// `breakthroughs`: signed, immutable research results.
    Breakthroughs,
    /// `api_keys`: credentials for outside services, with a rotation schedule.
    ApiKeys,
    /// `settings`: one JSON value per key (the record id).
    Settings,
    /// `blocks`: blockchain blocks.
    Blocks,
    /// `research`: working notes, optionally tied to a breakthrough.
    Research,
    /// Any other collection: free-form JSON objects.
    User,
}

/// A validated collection name. Built-ins by their names in [`BUILTIN_COLLECTIONS`]; user
/// collections must match `^[a-z][a-z0-9_-]{0,63}$` and must not start with "pvault" or "_"
/// (reserved).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CollectionName(String);

impl CollectionName {
    /// Checks `s` and returns it as a collection name.
    pub fn parse(s: &str) -> Result<Self, SchemaError> {
        if BUILTIN_COLLECTIONS.contains(&s) {
            return Ok(Self(s.to_owned()));
        }
        let invalid = |problem: &str| Err(SchemaError::new(fields::shown(s), problem));
        let mut chars = s.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !starts_with_letter || !rest_ok || s.len() > MAX_USER_COLLECTION_NAME {
            return invalid(
                "invalid collection name: use a lower-case letter followed by lower-case letters, \
                 digits, '_' or '-' (at most 64 characters)",
            );
        }
        if s.starts_with("pvault") {
            return invalid("invalid collection name: names starting with \"pvault\" are reserved");
        }
        Ok(Self(s.to_owned()))
    }

    /// The schema this collection follows.
    pub fn kind(&self) -> CollectionKind {
        match self.0.as_str() {
            transaction::NAME => CollectionKind::Transactions,
            breakthrough::NAME => CollectionKind::Breakthroughs,
            api_key::NAME => CollectionKind::ApiKeys,
            setting::NAME => CollectionKind::Settings,
            block::NAME => CollectionKind::Blocks,
            research::NAME => CollectionKind::Research,
            _ => CollectionKind::User,
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CollectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a write must carry after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The record's data, normalized (e.g. amounts as canonical decimal strings, asset codes
    /// upper-case, timestamps re-formatted as RFC 3339 UTC), as it will be stored.
    pub data: serde_json::Value,
    /// Blind-index entries: (declared field name, canonical value). One entry per declared field
    /// present. Array fields (e.g. tags, scopes) give one entry per element.
    pub index: Vec<(&'static str, String)>,
    /// The lowest classification allowed for this record (writes below it are refused by the
    /// caller).
    pub min_classification: Classification,
    /// The classification used when the caller gives none and the profile default is lower.
    pub default_classification: Classification,
}

/// A record (or collection name, or query) that fails its schema. Displays as
/// `transactions: field 'amount': must be a decimal number like "12.50", got "abc"`.
/// Messages never include the value of a secret field (`api_keys.secret`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{collection}: {problem}")]
pub struct SchemaError {
    /// The collection the record was written to (or the rejected collection name).
    pub collection: String,
    /// What is wrong, usually starting with "field '<name>': ".
    pub problem: String,
}

impl SchemaError {
    /// An error about a record of (or a name for) `collection`.
    pub(crate) fn new(collection: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            collection: collection.into(),
            problem: problem.into(),
        }
    }
}

/// Validates `data` (must be a JSON object) for the collection and returns it normalized.
///
/// Unknown fields are errors naming the field, and so are missing required fields. `record_id` is
/// the id the record is stored under; only settings use it (it is the setting's key).
pub fn validate(
    collection: &CollectionName,
    record_id: &str,
    data: serde_json::Value,
) -> Result<Validated, SchemaError> {
    match collection.kind() {
        CollectionKind::Transactions => transaction::validate(data),
        CollectionKind::Breakthroughs => breakthrough::validate(data),
        CollectionKind::ApiKeys => api_key::validate(data),
        CollectionKind::Settings => setting::validate(record_id, data),
        CollectionKind::Blocks => block::validate(data),
        CollectionKind::Research => research::validate(data),
        CollectionKind::User => user::validate(collection.as_str(), data),
    }
}

/// Fields that have a blind index (equality queries). Empty for settings and user collections.
pub fn indexed_fields(kind: CollectionKind) -> &'static [&'static str] {
    match kind {
        CollectionKind::Transactions => transaction::INDEXED,
        CollectionKind::Breakthroughs => breakthrough::INDEXED,
        CollectionKind::ApiKeys => api_key::INDEXED,
        CollectionKind::Blocks => block::INDEXED,
        CollectionKind::Research => research::INDEXED,
        CollectionKind::Settings | CollectionKind::User => &[],
    }
}

/// Normalizes a query value the same way [`validate`] normalizes stored values for that field, so
/// `--where asset=btc` finds records stored with "BTC". Errors name the field; a field without an
/// index errors with the list of indexed ones.
pub fn canonical_query_value(
    collection: &CollectionName,
    field: &str,
    value: &str,
) -> Result<String, SchemaError> {
    let kind = collection.kind();
    let normalized = match kind {
        CollectionKind::Transactions => transaction::query_value(field, value),
        CollectionKind::Breakthroughs => breakthrough::query_value(field, value),
        CollectionKind::ApiKeys => api_key::query_value(field, value),
        CollectionKind::Blocks => block::query_value(field, value),
        CollectionKind::Research => research::query_value(field, value),
        CollectionKind::Settings | CollectionKind::User => None,
    };
    let problem = match normalized {
        Some(Ok(canonical)) => return Ok(canonical),
        Some(Err(problem)) => problem,
        None => not_indexed(field, indexed_fields(kind)),
    };
    Err(SchemaError::new(collection.as_str(), problem))
}

/// The message for a query on a field without a blind index.
fn not_indexed(field: &str, indexed: &[&str]) -> String {
    if indexed.is_empty() {
        format!("field '{field}' is not indexed; this collection has no indexed fields")
    } else {
        format!(
            "field '{field}' is not indexed; indexed fields: {}",
            indexed.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn name(s: &str) -> CollectionName {
        CollectionName::parse(s).unwrap()
    }

    #[test]
    fn builtin_names_have_their_kind() {
        let kinds = [
            CollectionKind::Transactions,
            CollectionKind::Breakthroughs,
            CollectionKind::ApiKeys,
            CollectionKind::Settings,
            CollectionKind::Blocks,
            CollectionKind::Research,
        ];
        for (n, kind) in BUILTIN_COLLECTIONS.iter().zip(kinds) {
            let parsed = name(n);
            assert_eq!(parsed.kind(), kind);
            assert_eq!(parsed.as_str(), *n);
            assert_eq!(parsed.to_string(), *n);
        }
    }

    #[test]
    fn user_names_follow_the_pattern() {
        for ok in ["notes", "a", "trading-desk_2", &"x".repeat(64)] {
            assert_eq!(name(ok).kind(), CollectionKind::User, "{ok}");
        }
        for bad in [
            "",
            "Notes",
            "1notes",
            "-x",
            "_private",
            "has space",
            "émigré",
            &"x".repeat(65),
        ] {
            let err = CollectionName::parse(bad).unwrap_err();
            assert!(
                err.problem
                    .starts_with("invalid collection name: use a lower-case"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn pvault_prefix_is_reserved() {
        let err = CollectionName::parse("pvault_meta").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"pvault_meta\": invalid collection name: names starting with \"pvault\" are reserved"
        );
    }

    #[test]
    fn validate_dispatches_on_the_collection() {
        let v = validate(&name("notes"), "id1", json!({"anything": [1, 2]})).unwrap();
        assert_eq!(v.data, json!({"anything": [1, 2]}));
        let err = validate(&name("transactions"), "id1", json!({})).unwrap_err();
        assert_eq!(err.collection, "transactions");
        let err = validate(&name("settings"), "bad id", json!({"value": 1})).unwrap_err();
        assert!(err.problem.starts_with("record id \"bad id\""), "{err}");
    }

    #[test]
    fn validating_stored_data_again_changes_nothing() {
        let records = [
            (
                "transactions",
                json!({"amount": 1.50, "asset": "eth", "from": " a ", "to": "b",
                "time": "2024-05-01T14:30:00.100+02:00", "status": "PENDING", "fee": "0.010",
                "memo": "m", "tx_hash": "0xAB", "tags": ["X", "x", "y"]}),
            ),
            (
                "breakthroughs",
                json!({"title": " t ", "content": "c\n", "researcher": "r",
                "attribution": "a", "classification": "secret", "tags": ["T"], "references": ["r1"]}),
            ),
            (
                "api_keys",
                json!({"provider": "OKX", "name": "n", "secret": " s ", "scopes": ["a", "a"],
                "expires_at": "2030-01-01T00:00:00+01:00", "rotate_every_days": 30,
                "last_rotated_at": "2024-01-01T00:00:00Z", "notes": "n"}),
            ),
            (
                "settings",
                json!({"value": {"nested": [1.5, null]}, "description": "d"}),
            ),
            (
                "blocks",
                json!({"height": 1, "hash": "0xABCDEF0123456789", "previous_hash": "ABCDEF0123456789",
                "timestamp": "2024-01-01T00:00:00-03:00", "transactions": [" t "], "nonce": 7,
                "difficulty": 1.25, "miner": "m", "solved_by": "s"}),
            ),
            (
                "research",
                json!({"title": "t", "body": "b", "tags": ["A"], "links": ["l"],
                "breakthrough_id": "bt", "status": "Draft"}),
            ),
            ("notes", json!({"free": {"form": true}})),
        ];
        for (collection, data) in records {
            let collection = name(collection);
            let first = validate(&collection, "key1", data).unwrap();
            let again = validate(&collection, "key1", first.data.clone()).unwrap();
            assert_eq!(first, again, "{collection}");
        }
    }

    #[test]
    fn indexed_fields_per_kind() {
        assert_eq!(
            indexed_fields(CollectionKind::Transactions),
            ["asset", "status", "from", "to", "tx_hash"]
        );
        assert_eq!(
            indexed_fields(CollectionKind::Blocks),
            ["hash", "height", "miner"]
        );
        assert!(indexed_fields(CollectionKind::Settings).is_empty());
        assert!(indexed_fields(CollectionKind::User).is_empty());
    }

    #[test]
    fn every_indexed_field_has_a_query_normalizer() {
        for n in BUILTIN_COLLECTIONS {
            let collection = name(n);
            for field in indexed_fields(collection.kind()) {
                let err = canonical_query_value(&collection, field, "x").err();
                let problem = err.map(|e| e.problem).unwrap_or_default();
                assert!(
                    !problem.contains("is not indexed"),
                    "{n}.{field}: {problem}"
                );
            }
        }
    }

    #[test]
    fn query_values_are_normalized_like_stored_values() {
        let tx = name("transactions");
        assert_eq!(canonical_query_value(&tx, "asset", "btc").unwrap(), "BTC");
        assert_eq!(
            canonical_query_value(&tx, "status", " Pending ").unwrap(),
            "pending"
        );
        let err = canonical_query_value(&tx, "asset", "b t c").unwrap_err();
        assert!(
            err.to_string().starts_with("transactions: field 'asset': "),
            "{err}"
        );
    }

    #[test]
    fn query_on_a_field_without_index_lists_the_indexed_fields() {
        let err = canonical_query_value(&name("transactions"), "memo", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "transactions: field 'memo' is not indexed; indexed fields: asset, status, from, to, tx_hash"
        );
        let err = canonical_query_value(&name("notes"), "memo", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "notes: field 'memo' is not indexed; this collection has no indexed fields"
        );
    }
}
