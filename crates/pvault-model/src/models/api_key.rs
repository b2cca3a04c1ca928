//! `api_keys`: credentials for outside services (exchanges, data vendors), with an optional
//! expiry and rotation schedule. The secret is never shown in errors or `Debug` output.

use std::fmt;

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::fields::{self, FieldResult, Model};
use super::{SchemaError, Validated};

/// The collection's name.
pub(super) const NAME: &str = "api_keys";
/// Fields with a blind index.
pub(super) const INDEXED: &[&str] = &["provider", "name", "scopes"];

/// Fields whose value must never appear in a message.
const SECRET_FIELDS: &[&str] = &["secret"];
const MAX_PROVIDER_BYTES: usize = 128;
const MAX_NAME_BYTES: usize = 256;
const MAX_SECRET_BYTES: usize = 16 * 1024;
const MAX_SCOPES: usize = 100;
const MAX_SCOPE_BYTES: usize = 256;
const MAX_ROTATE_EVERY_DAYS: u64 = 3650;

/// An API key, schema version 1.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyV1 {
    /// The service, stored lower-case ("binance"), at most 128 bytes.
    pub provider: String,
    /// A label for this key ("prod trading"), at most 256 bytes.
    pub name: String,
    /// The secret itself, 1 to 16384 bytes, kept exactly as given.
    pub secret: String,
    /// Permissions granted to the key (a set; case is kept), at most 100 of 256 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// When the key stops working, RFC 3339, stored in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Rotation period in days, 1 to 3650.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate_every_days: Option<u64>,
    /// When the key was last rotated, RFC 3339, stored in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<String>,
    /// Free-text notes, at most 4 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl fmt::Debug for ApiKeyV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyV1")
            .field("provider", &self.provider)
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("rotate_every_days", &self.rotate_every_days)
            .field("last_rotated_at", &self.last_rotated_at)
            .field("notes", &self.notes)
            .finish()
    }
}

impl Model for ApiKeyV1 {
    const NAME: &'static str = NAME;
    const MIN: Classification = Classification::Confidential;
    const DEFAULT: Classification = Classification::Confidential;
    const SECRET_FIELDS: &'static [&'static str] = SECRET_FIELDS;

    /// Checks every field and returns the record in its stored form.
    fn normalized(self) -> FieldResult<Self> {
        Ok(Self {
            provider: provider("provider", &self.provider)?,
            name: name("name", &self.name)?,
            secret: secret(self.secret)?,
            scopes: fields::set("scopes", self.scopes, MAX_SCOPES, scope)?,
            expires_at: fields::optional(self.expires_at, |t| fields::timestamp("expires_at", t))?,
            rotate_every_days: self.rotate_every_days.map(rotate_every_days).transpose()?,
            last_rotated_at: fields::optional(self.last_rotated_at, |t| {
                fields::timestamp("last_rotated_at", t)
            })?,
            notes: fields::optional(self.notes, |n| {
                fields::text("notes", n, fields::MAX_NOTE_BYTES)
            })?,
        })
    }

    /// The blind-index entries of a normalized record.
    fn index(&self) -> Vec<(&'static str, String)> {
        let mut index = vec![
            ("provider", self.provider.clone()),
            ("name", self.name.clone()),
        ];
        index.extend(fields::index_each("scopes", self.scopes.as_ref()));
        index
    }
}

/// Validates an API key record.
pub(super) fn validate(data: Value) -> Result<Validated, SchemaError> {
    fields::validate_model::<ApiKeyV1>(&data)
}

/// Normalizes a query value for an indexed field; `None` if the field has no index.
pub(super) fn query_value(field: &str, value: &str) -> Option<FieldResult<String>> {
    Some(match field {
        "provider" => provider(field, value),
        "name" => name(field, value),
        "scopes" => scope(field, value),
        _ => return None,
    })
}

/// Whether a validated key is due for rotation at `now`.
///
/// `None` when the key has no schedule (neither `rotate_every_days` nor `expires_at`). Otherwise
/// due when it has expired (`expires_at <= now`), or when `last_rotated_at + rotate_every_days <=
/// now`; a key with a rotation period that was never rotated is due. Fields that do not parse are
/// treated as absent.
pub fn api_key_rotation_due(data: &Value, now: OffsetDateTime) -> Option<bool> {
    let timestamp = |field: &str| data.get(field)?.as_str().and_then(fields::parse_timestamp);
    let expires_at = timestamp("expires_at");
    let every_days = data
        .get("rotate_every_days")
        .and_then(Value::as_u64)
        .filter(|days| (1..=MAX_ROTATE_EVERY_DAYS).contains(days))
        .and_then(|days| i64::try_from(days).ok());
    if expires_at.is_none() && every_days.is_none() {
        return None;
    }
    let expired = expires_at.is_some_and(|at| at <= now);
    let rotation_due = every_days.is_some_and(|days| match timestamp("last_rotated_at") {
        None => true,
        Some(last) => last
            .checked_add(Duration::days(days))
            .is_some_and(|next| next <= now),
    });
    Some(expired || rotation_due)
}

fn provider(field: &str, value: &str) -> FieldResult<String> {
    Ok(fields::label(field, value, MAX_PROVIDER_BYTES)?.to_lowercase())
}

fn name(field: &str, value: &str) -> FieldResult<String> {
    fields::label(field, value, MAX_NAME_BYTES)
}

fn scope(field: &str, value: &str) -> FieldResult<String> {
    fields::label(field, value, MAX_SCOPE_BYTES)
}

/// The secret is kept byte for byte; the message never says anything about its value.
fn secret(value: String) -> FieldResult<String> {
    if value.trim().is_empty() || value.len() > MAX_SECRET_BYTES {
        return Err(fields::problem(
            "secret",
            format!("invalid: must be 1 to {MAX_SECRET_BYTES} bytes and not blank"),
        ));
    }
    Ok(value)
}

fn rotate_every_days(days: u64) -> FieldResult<u64> {
    if !(1..=MAX_ROTATE_EVERY_DAYS).contains(&days) {
        return Err(fields::problem(
            "rotate_every_days",
            format!("must be between 1 and {MAX_ROTATE_EVERY_DAYS}, got {days}"),
        ));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SECRET: &str = "sk_live_DO_NOT_LEAK_42";

    fn valid() -> Value {
        json!({"provider": " Binance ", "name": "prod trading", "secret": SECRET})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut data = valid();
        data[field] = value;
        data
    }

    fn err(data: Value) -> String {
        let e = validate(data).unwrap_err().to_string();
        assert!(
            !e.contains(SECRET) && !e.contains("DO_NOT_LEAK"),
            "secret leaked: {e}"
        );
        e
    }

    #[test]
    fn accepts_a_minimal_key() {
        let v = validate(valid()).unwrap();
        assert_eq!(
            v.data,
            json!({"provider": "binance", "name": "prod trading", "secret": SECRET})
        );
        assert_eq!(
            v.index,
            vec![
                ("provider", "binance".to_string()),
                ("name", "prod trading".to_string())
            ]
        );
        assert_eq!(v.min_classification, Classification::Confidential);
        assert_eq!(v.default_classification, Classification::Confidential);
    }

    #[test]
    fn accepts_all_fields() {
        let mut data = valid();
        data["secret"] = json!("  spaces kept  ");
        data["scopes"] = json!(["read", "Trade", "read"]);
        data["expires_at"] = json!("2025-01-01T00:00:00-05:00");
        data["rotate_every_days"] = json!(90);
        data["last_rotated_at"] = json!("2024-10-01T00:00:00Z");
        data["notes"] = json!("IP-restricted");
        let v = validate(data).unwrap();
        assert_eq!(v.data["secret"], "  spaces kept  ");
        assert_eq!(v.data["scopes"], json!(["read", "Trade"]));
        assert_eq!(v.data["expires_at"], "2025-01-01T05:00:00Z");
        assert_eq!(v.data["rotate_every_days"], 90);
        let scopes: Vec<_> = v.index.iter().filter(|(f, _)| *f == "scopes").collect();
        assert_eq!(scopes.len(), 2);
    }

    #[test]
    fn rejects_a_bad_secret_without_echoing_it() {
        assert_eq!(
            err(with("secret", json!("   "))),
            "api_keys: field 'secret': invalid: must be 1 to 16384 bytes and not blank"
        );
        let long = format!("{SECRET}{}", "x".repeat(16384));
        assert_eq!(
            err(with("secret", json!(long))),
            "api_keys: field 'secret': invalid: must be 1 to 16384 bytes and not blank"
        );
        assert_eq!(
            err(with("secret", json!(4242424242u64))),
            "api_keys: field 'secret': invalid"
        );
        assert!(!err(with("secret", json!(4242424242u64))).contains("4242424242"));
        let mut data = valid();
        data.as_object_mut().unwrap().remove("secret");
        assert_eq!(err(data), "api_keys: missing field 'secret'");
    }

    #[test]
    fn other_errors_do_not_echo_the_secret() {
        let e = err(with("extra", json!(1)));
        assert!(e.starts_with("api_keys: unknown field 'extra'"), "{e}");
        assert!(err(with("provider", json!(""))).contains("field 'provider'"));
        let debug = format!("{:?}", serde_json::from_value::<ApiKeyV1>(valid()).unwrap());
        assert!(
            !debug.contains(SECRET) && debug.contains("<redacted>"),
            "{debug}"
        );
    }

    #[test]
    fn rejects_bad_labels() {
        assert_eq!(
            err(with("provider", json!("p".repeat(129)))),
            "api_keys: field 'provider': must be at most 128 bytes, got 129 bytes"
        );
        assert_eq!(
            err(with("name", json!(""))),
            "api_keys: field 'name': must not be empty"
        );
        assert_eq!(
            err(with("scopes", json!(["ok", "s".repeat(257)]))),
            "api_keys: field 'scopes[1]': must be at most 256 bytes, got 257 bytes"
        );
        assert_eq!(
            err(with("notes", json!("n".repeat(4097)))),
            "api_keys: field 'notes': must be at most 4 KiB, got 4097 bytes"
        );
    }

    #[test]
    fn rejects_bad_schedule_fields() {
        assert_eq!(
            err(with("rotate_every_days", json!(0))),
            "api_keys: field 'rotate_every_days': must be between 1 and 3650, got 0"
        );
        assert_eq!(
            err(with("rotate_every_days", json!(3651))),
            "api_keys: field 'rotate_every_days': must be between 1 and 3650, got 3651"
        );
        assert_eq!(
            err(with("rotate_every_days", json!(-1))),
            "api_keys: field 'rotate_every_days': invalid value: integer `-1`, expected u64"
        );
        assert!(
            err(with("expires_at", json!("soon")))
                .starts_with("api_keys: field 'expires_at': must be an RFC 3339")
        );
        assert!(
            err(with("last_rotated_at", json!("2024-13-01T00:00:00Z")))
                .starts_with("api_keys: field 'last_rotated_at': must be an RFC 3339")
        );
    }

    #[test]
    fn query_values() {
        assert_eq!(
            query_value("provider", "KRAKEN").unwrap().unwrap(),
            "kraken"
        );
        assert_eq!(query_value("scopes", " Trade ").unwrap().unwrap(), "Trade");
        assert!(query_value("secret", SECRET).is_none());
    }

    #[test]
    fn rotation_schedule() {
        let now = fields::parse_timestamp("2025-01-01T00:00:00Z").unwrap();
        assert_eq!(api_key_rotation_due(&valid(), now), None);
        let every = |days: u64, last: Option<&str>| {
            let mut data = with("rotate_every_days", json!(days));
            if let Some(last) = last {
                data["last_rotated_at"] = json!(last);
            }
            api_key_rotation_due(&data, now)
        };
        assert_eq!(every(30, None), Some(true));
        assert_eq!(every(30, Some("2024-12-15T00:00:00Z")), Some(false));
        assert_eq!(every(30, Some("2024-12-02T00:00:00Z")), Some(true)); // exactly 30 days
        assert_eq!(every(30, Some("9999-12-31T00:00:00Z")), Some(false)); // no overflow panic
        let expiring = |at: &str| api_key_rotation_due(&with("expires_at", json!(at)), now);
        assert_eq!(expiring("2025-06-01T00:00:00Z"), Some(false));
        assert_eq!(expiring("2025-01-01T00:00:00Z"), Some(true));
        assert_eq!(
            api_key_rotation_due(&with("rotate_every_days", json!(u64::MAX)), now),
            None
        );
        assert_eq!(api_key_rotation_due(&json!("not an object"), now), None);
    }
}
