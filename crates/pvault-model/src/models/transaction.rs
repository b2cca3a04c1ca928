//! `transactions`: a transfer of an amount of an asset from one party to another.

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{self, FieldResult, Model};
use super::{SchemaError, Validated};

/// The collection's name.
pub(super) const NAME: &str = "transactions";
/// Fields with a blind index.
pub(super) const INDEXED: &[&str] = &["asset", "status", "from", "to", "tx_hash"];

const STATUSES: &[&str] = &["pending", "confirmed", "failed", "cancelled"];
const MAX_ASSET_CHARS: usize = 16;
const MAX_PARTY_BYTES: usize = 256;
const MAX_TX_HASH_BYTES: usize = 256;

/// A transaction, schema version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionV1 {
    /// The amount: a JSON number or string on input, a canonical decimal string once validated.
    pub amount: Value,
    /// Asset code, 1–16 characters of `[A-Za-z0-9.-]`, stored upper-case ("BTC").
    pub asset: String,
    /// Sender (account, address or name), at most 256 bytes.
    pub from: String,
    /// Recipient, at most 256 bytes.
    pub to: String,
    /// When it happened, RFC 3339, stored in UTC.
    pub time: String,
    /// One of pending, confirmed, failed, cancelled.
    pub status: String,
    /// Fee paid, a decimal like `amount` that is not negative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<Value>,
    /// Free-text note, at most 4 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// On-chain transaction hash or other reference, at most 256 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// Tags, see the shared tag rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

impl Model for TransactionV1 {
    const NAME: &'static str = NAME;
    const MIN: Classification = Classification::Public;
    const DEFAULT: Classification = Classification::Internal;

    /// Checks every field and returns the record in its stored form.
    fn normalized(self) -> FieldResult<Self> {
        Ok(Self {
            amount: Value::String(fields::decimal("amount", &self.amount)?),
            asset: asset("asset", &self.asset)?,
            from: party("from", &self.from)?,
            to: party("to", &self.to)?,
            time: fields::timestamp("time", &self.time)?,
            status: status("status", &self.status)?,
            fee: self.fee.as_ref().map(fee).transpose()?.map(Value::String),
            memo: fields::optional(self.memo, |m| {
                fields::text("memo", m, fields::MAX_NOTE_BYTES)
            })?,
            tx_hash: fields::optional(self.tx_hash, |h| tx_hash("tx_hash", h))?,
            tags: fields::tags("tags", self.tags)?,
        })
    }

    /// The blind-index entries of a normalized record.
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut index = vec![
            ("asset", self.asset.clone()),
            ("status", self.status.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
        ];
        index.extend(self.tx_hash.iter().map(|h| ("tx_hash", h.clone())));
        index
    }
}

/// Validates a transaction record.
pub(super) fn validate(data: Value) -> Result<Validated, SchemaError> {
    fields::validate_model::<TransactionV1>(&data)
}

/// Normalizes a query value for an indexed field; `None` if the field has no index.
pub(super) fn query_value(field: &str, value: &str) -> Option<FieldResult<String>> {
    Some(match field {
        "asset" => asset(field, value),
        "status" => status(field, value),
        "from" | "to" => party(field, value),
        "tx_hash" => tx_hash(field, value),
        _ => return None,
    })
}

fn asset(field: &str, value: &str) -> FieldResult<String> {
    let code = value.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    if code.is_empty() || code.len() > MAX_ASSET_CHARS || !code.chars().all(allowed) {
        return Err(fields::problem(
            field,
            format!(
                "must be an asset code of 1 to {MAX_ASSET_CHARS} letters, digits, '.' or '-', got {}",
                fields::shown(value)
            ),
        ));
    }
    Ok(code.to_ascii_uppercase())
}

fn party(field: &str, value: &str) -> FieldResult<String> {
    fields::label(field, value, MAX_PARTY_BYTES)
}

fn status(field: &str, value: &str) -> FieldResult<String> {
    fields::one_of(field, value, STATUSES)
}

fn tx_hash(field: &str, value: &str) -> FieldResult<String> {
    fields::label(field, value, MAX_TX_HASH_BYTES)
}

fn fee(value: &Value) -> FieldResult<String> {
    let fee = fields::decimal("fee", value)?;
    if fee.starts_with('-') {
        return Err(fields::problem(
            "fee",
            format!("must not be negative, got {}", fields::shown(&fee)),
        ));
    }
    Ok(fee)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "amount": "0012.50",
            "asset": "btc",
            "from": " alice ",
            "to": "bob",
            "time": "2024-05-01T14:30:00+02:00",
            "status": "Confirmed",
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut data = valid();
        data[field] = value;
        data
    }

    fn without(field: &str) -> Value {
        let mut data = valid();
        data.as_object_mut().unwrap().remove(field);
        data
    }

    fn err(data: Value) -> String {
        validate(data).unwrap_err().to_string()
    }

    #[test]
    fn accepts_and_normalizes_a_minimal_record() {
        let v = validate(valid()).unwrap();
        assert_eq!(
            v.data,
            json!({
                "amount": "12.5",
                "asset": "BTC",
                "from": "alice",
                "to": "bob",
                "time": "2024-05-01T12:30:00Z",
                "status": "confirmed",
            })
        );
        assert_eq!(
            v.index,
            [
                ("asset", "BTC"),
                ("status", "confirmed"),
                ("from", "alice"),
                ("to", "bob")
            ]
            .map(|(f, v)| (f, v.to_string()))
        );
        assert_eq!(v.min_classification, Classification::Public);
        assert_eq!(v.default_classification, Classification::Internal);
    }

    #[test]
    fn accepts_all_optional_fields() {
        let mut data = valid();
        data["amount"] = json!(-3);
        data["fee"] = json!(0.0005);
        data["memo"] = json!("rebalance");
        data["tx_hash"] = json!(" 0xabc ");
        data["tags"] = json!(["Desk-A", "desk-a"]);
        let v = validate(data).unwrap();
        assert_eq!(v.data["amount"], "-3");
        assert_eq!(v.data["fee"], "0.0005");
        assert_eq!(v.data["memo"], "rebalance");
        assert_eq!(v.data["tags"], json!(["desk-a"]));
        assert_eq!(v.index.last(), Some(&("tx_hash", "0xabc".to_string())));
    }

    #[test]
    fn null_and_blank_optional_fields_are_dropped() {
        let mut data = valid();
        data["fee"] = Value::Null;
        data["memo"] = json!("  ");
        data["tags"] = json!([]);
        let v = validate(data).unwrap();
        assert_eq!(v.data.as_object().unwrap().len(), 6);
        assert_eq!(v.index.len(), 4);
    }

    #[test]
    fn rejects_a_bad_amount() {
        assert_eq!(
            err(with("amount", json!("abc"))),
            "transactions: field 'amount': must be a decimal number like \"12.50\", got \"abc\""
        );
        assert_eq!(
            err(with("amount", json!("1e5"))),
            "transactions: field 'amount': must be a decimal number like \"12.50\", got \"1e5\""
        );
        assert_eq!(
            err(with("amount", json!(null))),
            "transactions: field 'amount': must be a decimal number like \"12.50\", got null"
        );
    }

    #[test]
    fn rejects_a_bad_asset() {
        for bad in ["", "B TC", "BTC/USD", "ABCDEFGHIJKLMNOPQ"] {
            assert_eq!(
                err(with("asset", json!(bad))),
                format!(
                    "transactions: field 'asset': must be an asset code of 1 to 16 letters, digits, '.' or '-', got {bad:?}"
                )
            );
        }
    }

    #[test]
    fn rejects_bad_parties() {
        assert_eq!(
            err(with("from", json!(" "))),
            "transactions: field 'from': must not be empty"
        );
        assert_eq!(
            err(with("to", json!("x".repeat(257)))),
            "transactions: field 'to': must be at most 256 bytes, got 257 bytes"
        );
        assert_eq!(
            err(with("to", json!(42))),
            "transactions: field 'to': invalid type: integer `42`, expected a string"
        );
    }

    #[test]
    fn rejects_a_bad_time_and_status() {
        assert_eq!(
            err(with("time", json!("May 1st"))),
            "transactions: field 'time': must be an RFC 3339 timestamp like \"2024-05-01T12:00:00Z\", got \"May 1st\""
        );
        assert_eq!(
            err(with("status", json!("done"))),
            "transactions: field 'status': must be one of pending|confirmed|failed|cancelled, got \"done\""
        );
    }

    #[test]
    fn rejects_a_negative_or_malformed_fee() {
        assert_eq!(
            err(with("fee", json!("-0.1"))),
            "transactions: field 'fee': must not be negative, got \"-0.1\""
        );
        assert_eq!(
            err(with("fee", json!([]))),
            "transactions: field 'fee': must be a decimal number like \"12.50\", got array"
        );
        assert!(validate(with("fee", json!("-0"))).is_ok());
    }

    #[test]
    fn rejects_overlong_memo_and_tx_hash() {
        assert_eq!(
            err(with("memo", json!("m".repeat(4097)))),
            "transactions: field 'memo': must be at most 4 KiB, got 4097 bytes"
        );
        assert_eq!(
            err(with("tx_hash", json!("h".repeat(257)))),
            "transactions: field 'tx_hash': must be at most 256 bytes, got 257 bytes"
        );
    }

    #[test]
    fn rejects_bad_tags() {
        assert_eq!(
            err(with("tags", json!(["ok", ""]))),
            "transactions: field 'tags[1]': must not be empty"
        );
        assert_eq!(
            err(with("tags", json!("solo"))),
            "transactions: field 'tags': invalid type: string \"solo\", expected a sequence"
        );
    }

    #[test]
    fn rejects_missing_and_unknown_fields() {
        for field in ["amount", "asset", "from", "to", "time", "status"] {
            assert_eq!(
                err(without(field)),
                format!("transactions: missing field '{field}'")
            );
        }
        let e = err(with("price", json!(1)));
        assert!(
            e.starts_with("transactions: unknown field 'price', expected one of 'amount'"),
            "{e}"
        );
    }

    #[test]
    fn rejects_what_is_not_an_object() {
        assert_eq!(
            err(json!([1, 2])),
            "transactions: expected a JSON object, got array"
        );
        assert_eq!(
            err(json!(null)),
            "transactions: expected a JSON object, got null"
        );
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value("asset", " eth ").unwrap().unwrap(), "ETH");
        assert_eq!(query_value("from", " alice ").unwrap().unwrap(), "alice");
        assert_eq!(query_value("tx_hash", "0xabc").unwrap().unwrap(), "0xabc");
        assert_eq!(
            query_value("status", "lost").unwrap().unwrap_err(),
            "field 'status': must be one of pending|confirmed|failed|cancelled, got \"lost\""
        );
        assert!(query_value("memo", "x").is_none());
    }
}
