//! `blocks`: blockchain blocks (own chains, testnets, or blocks of interest on public chains).

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{self, FieldResult, Model};
use super::{SchemaError, Validated};

/// The collection's name.
pub(super) const NAME: &str = "blocks";
/// Fields with a blind index.
pub(super) const INDEXED: &[&str] = &["hash", "height", "miner"];

const MIN_HASH_DIGITS: usize = 16;
const MAX_HASH_DIGITS: usize = 128;
const MAX_TRANSACTIONS: usize = 100_000;
const MAX_TRANSACTION_ID_BYTES: usize = 256;
const MAX_MINER_BYTES: usize = 256;

/// A block, schema version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockV1 {
    /// Height in the chain; the genesis block is 0.
    pub height: u64,
    /// Block hash, 16 to 128 hex digits (an `0x` prefix is accepted), stored lower-case.
    pub hash: String,
    /// Hash of the parent block, same rules; required unless `height` is 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// Block time, RFC 3339, stored in UTC.
    pub timestamp: String,
    /// Transaction ids in the block, at most 100000 of at most 256 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<Vec<String>>,
    /// Proof-of-work nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    /// Difficulty, a number ≥ 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    /// Who mined it (address or pool), at most 256 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miner: Option<String>,
    /// Who solved it (worker, person), at most 256 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solved_by: Option<String>,
}

impl Model for BlockV1 {
    const NAME: &'static str = NAME;
    const MIN: Classification = Classification::Public;
    const DEFAULT: Classification = Classification::Internal;

    /// Checks every field and returns the record in its stored form.
    fn normalized(self) -> FieldResult<Self> {
        let previous_hash = fields::optional(self.previous_hash, |h| hash("previous_hash", h))?;
        if previous_hash.is_none() && self.height != 0 {
            return Err("field 'previous_hash' is required unless height is 0".to_owned());
        }
        let transaction_id = |f: &str, v: &str| fields::label(f, v, MAX_TRANSACTION_ID_BYTES);
        Ok(Self {
            height: self.height,
            hash: hash("hash", &self.hash)?,
            previous_hash,
            timestamp: fields::timestamp("timestamp", &self.timestamp)?,
            transactions: fields::list(
                "transactions",
                self.transactions,
                MAX_TRANSACTIONS,
                transaction_id,
            )?,
            nonce: self.nonce,
            difficulty: self.difficulty.map(difficulty).transpose()?,
            miner: fields::optional(self.miner, |m| miner("miner", m))?,
            solved_by: fields::optional(self.solved_by, |s| {
                fields::label("solved_by", s, MAX_MINER_BYTES)
            })?,
        })
    }

    /// The blind-index entries of a normalized record.
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut index = vec![
            ("hash", self.hash.clone()),
            ("height", self.height.to_string()),
        ];
        index.extend(self.miner.iter().map(|m| ("miner", m.clone())));
        index
    }
}

/// Validates a block record.
pub(super) fn validate(data: Value) -> Result<Validated, SchemaError> {
    fields::validate_model::<BlockV1>(&data)
}

/// Normalizes a query value for an indexed field; `None` if the field has no index.
pub(super) fn query_value(field: &str, value: &str) -> Option<FieldResult<String>> {
    Some(match field {
        "hash" => hash(field, value),
        "height" => height(field, value),
        "miner" => miner(field, value),
        _ => return None,
    })
}

fn hash(field: &str, value: &str) -> FieldResult<String> {
    fields::hex_digest(field, value, MIN_HASH_DIGITS, MAX_HASH_DIGITS)
}

fn miner(field: &str, value: &str) -> FieldResult<String> {
    fields::label(field, value, MAX_MINER_BYTES)
}

/// A height given as text (queries): a decimal `u64`, stored without leading zeros.
fn height(field: &str, value: &str) -> FieldResult<String> {
    value
        .trim()
        .parse::<u64>()
        .map(|h| h.to_string())
        .map_err(|_| {
            fields::problem(
                field,
                format!("must be a whole number ≥ 0, got {}", fields::shown(value)),
            )
        })
}

fn difficulty(value: f64) -> FieldResult<f64> {
    if value.is_finite() && value >= 0.0 {
        return Ok(value);
    }
    Err(fields::problem(
        "difficulty",
        format!("must be a number ≥ 0, got {value}"),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HASH: &str = "00000000000000000007ABCDEF0123456789abcdef0123456789abcdef012345";

    fn valid() -> Value {
        json!({
            "height": 840000,
            "hash": HASH,
            "previous_hash": "0x0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5",
            "timestamp": "2024-04-20T00:09:27Z",
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
    fn accepts_and_normalizes_a_block() {
        let v = validate(valid()).unwrap();
        let hash = HASH.to_ascii_lowercase();
        assert_eq!(v.data["hash"], hash);
        assert_eq!(
            v.data["previous_hash"],
            "0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5"
        );
        assert_eq!(
            v.index,
            vec![("hash", hash), ("height", "840000".to_string())]
        );
        assert_eq!(v.min_classification, Classification::Public);
        assert_eq!(v.default_classification, Classification::Internal);
    }

    #[test]
    fn accepts_all_fields() {
        let mut data = valid();
        data["transactions"] = json!(["tx1", " tx2 "]);
        data["nonce"] = json!(u64::MAX);
        data["difficulty"] = json!(86388558925171u64);
        data["miner"] = json!("ViaBTC");
        data["solved_by"] = json!("rig-7");
        let v = validate(data).unwrap();
        assert_eq!(v.data["transactions"], json!(["tx1", "tx2"]));
        assert_eq!(v.data["nonce"], json!(u64::MAX));
        assert_eq!(v.index.last(), Some(&("miner", "ViaBTC".to_string())));
    }

    #[test]
    fn genesis_needs_no_previous_hash() {
        let mut data = with("height", json!(0));
        data.as_object_mut().unwrap().remove("previous_hash");
        assert!(validate(data).is_ok());
        let mut data = valid();
        data.as_object_mut().unwrap().remove("previous_hash");
        assert_eq!(
            err(data),
            "blocks: field 'previous_hash' is required unless height is 0"
        );
    }

    #[test]
    fn rejects_bad_hashes() {
        assert_eq!(
            err(with("hash", json!("xyz"))),
            "blocks: field 'hash': must be 16 to 128 hex digits, got \"xyz\""
        );
        assert_eq!(
            err(with("previous_hash", json!("g".repeat(70)))),
            format!(
                "blocks: field 'previous_hash': must be 16 to 128 hex digits, got \"{}\"…",
                "g".repeat(64)
            )
        );
        assert!(
            err(with("hash", json!("a".repeat(129))))
                .starts_with("blocks: field 'hash': must be 16 to 128")
        );
    }

    #[test]
    fn rejects_bad_numbers() {
        assert_eq!(
            err(with("height", json!(-1))),
            "blocks: field 'height': invalid value: integer `-1`, expected u64"
        );
        assert_eq!(
            err(with("height", json!("12"))),
            "blocks: field 'height': invalid type: string \"12\", expected u64"
        );
        assert_eq!(
            err(with("nonce", json!(1.5))),
            "blocks: field 'nonce': invalid type: floating point `1.5`, expected u64"
        );
        assert_eq!(
            err(with("difficulty", json!(-2.5))),
            "blocks: field 'difficulty': must be a number ≥ 0, got -2.5"
        );
    }

    #[test]
    fn rejects_bad_text_fields() {
        assert!(
            err(with("timestamp", json!("1713571767")))
                .starts_with("blocks: field 'timestamp': must be an RFC 3339")
        );
        assert_eq!(
            err(with("transactions", json!(["ok", ""]))),
            "blocks: field 'transactions[1]': must not be empty"
        );
        assert_eq!(
            err(with("miner", json!("m".repeat(257)))),
            "blocks: field 'miner': must be at most 256 bytes, got 257 bytes"
        );
        assert_eq!(
            err(with("solved_by", json!("s".repeat(257)))),
            "blocks: field 'solved_by': must be at most 256 bytes, got 257 bytes"
        );
        let too_many = vec!["t"; 100_001];
        assert_eq!(
            err(with("transactions", json!(too_many))),
            "blocks: field 'transactions': must have at most 100000 items, got 100001"
        );
    }

    #[test]
    fn rejects_missing_and_unknown_fields() {
        let mut data = valid();
        data.as_object_mut().unwrap().remove("timestamp");
        assert_eq!(err(data), "blocks: missing field 'timestamp'");
        assert!(err(with("size", json!(1))).starts_with("blocks: unknown field 'size'"));
        assert_eq!(
            err(json!(true)),
            "blocks: expected a JSON object, got boolean"
        );
    }

    #[test]
    fn query_values() {
        assert_eq!(
            query_value("height", " 0840000 ").unwrap().unwrap(),
            "840000"
        );
        assert_eq!(
            query_value("height", "-1").unwrap().unwrap_err(),
            "field 'height': must be a whole number ≥ 0, got \"-1\""
        );
        assert_eq!(
            query_value("hash", HASH).unwrap().unwrap(),
            HASH.to_ascii_lowercase()
        );
        assert_eq!(query_value("miner", " ViaBTC ").unwrap().unwrap(), "ViaBTC");
        assert!(query_value("nonce", "1").is_none());
    }
}
