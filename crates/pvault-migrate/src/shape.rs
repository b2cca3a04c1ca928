//! The one shape of password-manager items, whatever program they come from. Absent fields are left
//! out of the record (never `null`), so two sources that know the same things give the same JSON.

use serde::Serialize;
use serde_json::Value;

/// A custom field of an item.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Field {
    /// Its label.
    pub name: String,
    /// Its value, as text.
    pub value: String,
    /// Whether the source hides it (a "hidden" or "concealed" field, a protected KeePass string).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// A website or app login: the `logins` collection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Login {
    /// The item's title.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Websites, in the source's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// The TOTP secret or `otpauth://` URI, as the source gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The folder or group path, `/`-separated ("Work/Servers").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Earlier passwords, newest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub password_history: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub favorite: bool,
    /// When the source says the item was created / last changed (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Where it came from: `{"format": "bitwarden", "id": "…"}`.
    pub source: Value,
}

/// A secure note: the `notes` collection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Note {
    pub title: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub favorite: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub source: Value,
}

/// A payment card: the `cards` collection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Card {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardholder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// `MM/YYYY` when the source has both parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub favorite: bool,
    pub source: Value,
}

/// The collections password-manager items go to.
pub const LOGINS: &str = "logins";
/// Secure notes.
pub const NOTES: &str = "notes";
/// Payment cards.
pub const CARDS: &str = "cards";
/// Identities (name, address, documents), free-form.
pub const IDENTITIES: &str = "identities";
/// SSH keys (`private_key`, `public_key`, `fingerprint`, `title`, …).
pub const SSH_KEYS: &str = "ssh_keys";

/// `value` as a record's JSON (the shapes serialize infallibly).
pub(crate) fn to_value(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("the item shapes serialize to JSON")
}
