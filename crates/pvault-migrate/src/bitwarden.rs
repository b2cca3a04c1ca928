//! Bitwarden's unencrypted JSON export (personal or organization).
//!
//! Item types: 1 login → `logins`, 2 secure note → `notes`, 3 card → `cards`, 4 identity →
//! `identities`, 5 SSH key → `ssh_keys`. Items in the trash (`deletedDate` set) are skipped.
//! Folder names become `folder`; an organization export's collection names become `tags` (cards
//! have no tags, so a card's collections are not kept). Custom fields keep their type: hidden
//! fields are marked hidden, boolean fields are "true"/"false", and a linked field's value names
//! the field it links to ("linked to username").

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::common::{self, json_type, malformed};
use crate::shape::{self, CARDS, Card, Field, IDENTITIES, LOGINS, Login, NOTES, Note, SSH_KEYS};
use crate::{Error, Item, Parsed, Result, Skipped};

const EXPECTED: &str = "a Bitwarden JSON export";

/// The identity fields, Bitwarden's name and ours. Bitwarden's `title` (Mr, Ms, Dr) is
/// `honorific`, since `title` is the item's name as everywhere else.
const IDENTITY_FIELDS: [(&str, &str); 18] = [
    ("title", "honorific"),
    ("firstName", "first_name"),
    ("middleName", "middle_name"),
    ("lastName", "last_name"),
    ("address1", "address1"),
    ("address2", "address2"),
    ("address3", "address3"),
    ("city", "city"),
    ("state", "state"),
    ("postalCode", "postal_code"),
    ("country", "country"),
    ("company", "company"),
    ("email", "email"),
    ("phone", "phone"),
    ("ssn", "ssn"),
    ("username", "username"),
    ("passportNumber", "passport_number"),
    ("licenseNumber", "license_number"),
];

pub(crate) fn read(bytes: &[u8]) -> Result<Parsed> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let root: Value = serde_json::from_slice(bytes).map_err(|e| {
        not_format(format!(
            "not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(root) = root else {
        return Err(not_format("not a JSON object"));
    };
    if root.get("encrypted") == Some(&Value::Bool(true)) {
        return Err(Error::Encrypted {
            what: "Bitwarden export",
        });
    }
    let items = match root.get("items") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(not_format("'items' is not a list")),
        None => return Err(not_format("it has no 'items'")),
    };
    let export = Export {
        folders: names(&root, "folders", "folder")?,
        collections: names(&root, "collections", "collection")?,
    };
    let mut parsed = Parsed::default();
    for (index, item) in items.iter().enumerate() {
        export.item(index + 1, item, &mut parsed)?;
    }
    Ok(parsed)
}

fn not_format(problem: impl Into<String>) -> Error {
    Error::NotFormat {
        expected: EXPECTED,
        problem: problem.into(),
    }
}

/// The `id` → `name` map of the export's folders or collections.
fn names(root: &Map<String, Value>, list: &str, what: &str) -> Result<HashMap<String, String>> {
    let entries = match root.get(list) {
        None | Some(Value::Null) => return Ok(HashMap::new()),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(malformed(
                list,
                format!("must be a list, got {}", json_type(other)),
            ));
        }
    };
    let mut names = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let at = format!("{what} {}", index + 1);
        let entry = Obj::new(&at, entry)?;
        let id = entry.text("id")?.ok_or_else(|| entry.missing("id"))?;
        let name = entry.text("name")?.unwrap_or_default();
        names.insert(id, name);
    }
    Ok(names)
}

struct Export {
    folders: HashMap<String, String>,
    collections: HashMap<String, String>,
}

/// What every item type has.
struct Common {
    title: String,
    notes: Option<String>,
    folder: Option<String>,
    tags: Vec<String>,
    fields: Vec<Field>,
    favorite: bool,
    created: Option<String>,
    updated: Option<String>,
    source: Value,
}

impl Export {
    fn item(&self, position: usize, value: &Value, parsed: &mut Parsed) -> Result<()> {
        let position = format!("item {position}");
        let item = Obj::new(&position, value)?;
        let name = item.text("name")?;
        let at = common::at(&position, name.as_deref().unwrap_or(""));
        let item = Obj::new(&at, value)?;
        if item.get("deletedDate").is_some() {
            parsed.skipped.push(Skipped {
                source: at,
                reason: "in the trash".into(),
            });
            return Ok(());
        }
        let kind = item.get("type").ok_or_else(|| item.missing("type"))?;
        let kind = kind.as_u64().ok_or_else(|| {
            malformed(
                &at,
                "field 'type' must be a number from 1 (login) to 5 (SSH key)",
            )
        })?;
        let common = self.common(&item, name.unwrap_or_default())?;
        let (collection, data) = match kind {
            1 => (LOGINS, login(&item, common)?),
            2 => (NOTES, note(common)),
            3 => (CARDS, card(&item, common)?),
            4 => (IDENTITIES, identity(&item, common)?),
            5 => (SSH_KEYS, ssh_key(&item, common)?),
            _ => {
                return Err(malformed(
                    &at,
                    "unknown item type; expected 1 (login), 2 (secure note), 3 (card), \
                     4 (identity) or 5 (SSH key)",
                ));
            }
        };
        if matches!(item.get("attachments"), Some(Value::Array(a)) if !a.is_empty()) {
            parsed.skipped.push(Skipped {
                source: at.clone(),
                reason: "file attachments are not migrated".into(),
            });
        }
        parsed.items.push(Item {
            source: at,
            collection: collection.to_owned(),
            id: None,
            data,
        });
        Ok(())
    }

    fn common(&self, item: &Obj, title: String) -> Result<Common> {
        let folder = match item.text("folderId")? {
            None => None,
            Some(id) => {
                let name = self.folders.get(&id).ok_or_else(|| {
                    malformed(item.at, "field 'folderId' names no folder of the export")
                })?;
                common::non_empty(name)
            }
        };
        let mut tags = Vec::new();
        for (i, id) in item.list("collectionIds")?.iter().enumerate() {
            let field = format!("collectionIds[{i}]");
            let id = id
                .as_str()
                .ok_or_else(|| item.wrong_type(&field, "a string", id))?;
            let name = self.collections.get(id).ok_or_else(|| {
                malformed(
                    item.at,
                    format!("field '{field}' names no collection of the export"),
                )
            })?;
            if let Some(name) = common::non_empty(name)
                && !tags.contains(&name)
            {
                tags.push(name);
            }
        }
        let mut source = json!({"format": "bitwarden"});
        if let Some(id) = item.text("id")? {
            source["id"] = json!(id);
        }
        Ok(Common {
            title,
            notes: item.text("notes")?,
            folder,
            tags,
            fields: fields(item)?,
            favorite: item.flag("favorite")?,
            created: item.timestamp("creationDate")?,
            updated: item.timestamp("revisionDate")?,
            source,
        })
    }
}

fn login(item: &Obj, common: Common) -> Result<Value> {
    let login = item.child("login")?;
    let mut urls = Vec::new();
    if let Some(login) = &login {
        for (i, uri) in login.list("uris")?.iter().enumerate() {
            let uri = login.within(&format!("uris[{i}]"), uri)?;
            urls.extend(uri.text("uri")?);
        }
    }
    let text = |field: &str| match &login {
        Some(login) => login.text(field),
        None => Ok(None),
    };
    Ok(shape::to_value(&Login {
        title: common.title,
        username: text("username")?,
        password: text("password")?,
        urls,
        totp: text("totp")?,
        notes: common.notes,
        folder: common.folder,
        tags: common.tags,
        fields: common.fields,
        password_history: password_history(item)?,
        favorite: common.favorite,
        created: common.created,
        updated: common.updated,
        source: common.source,
    }))
}

fn note(common: Common) -> Value {
    shape::to_value(&Note {
        title: common.title,
        text: common.notes.unwrap_or_default(),
        folder: common.folder,
        tags: common.tags,
        fields: common.fields,
        favorite: common.favorite,
        created: common.created,
        updated: common.updated,
        source: common.source,
    })
}

fn card(item: &Obj, common: Common) -> Result<Value> {
    let card = item.child("card")?;
    let text = |field: &str| match &card {
        Some(card) => card.text(field),
        None => Ok(None),
    };
    let month = text("expMonth")?
        .map(|m| match m.trim().parse::<u8>() {
            Ok(m @ 1..=12) => Ok(format!("{m:02}")),
            _ => Err(malformed(
                item.at,
                "field 'card.expMonth' must be a month from 1 to 12",
            )),
        })
        .transpose()?;
    let year = text("expYear")?
        .map(|y| {
            let y = y.trim();
            match (y.len(), y.parse::<u16>()) {
                (4, Ok(_)) => Ok(y.to_owned()),
                (2, Ok(_)) => Ok(format!("20{y}")),
                _ => Err(malformed(
                    item.at,
                    "field 'card.expYear' must be a year of 2 or 4 digits",
                )),
            }
        })
        .transpose()?;
    let mut fields = common.fields;
    let expiry = match (month, year) {
        (Some(month), Some(year)) => Some(format!("{month}/{year}")),
        (month, year) => {
            let parts = [("expiry month", month), ("expiry year", year)];
            fields.extend(parts.into_iter().filter_map(|(name, value)| {
                value.map(|value| Field {
                    name: name.into(),
                    value,
                    hidden: false,
                })
            }));
            None
        }
    };
    Ok(shape::to_value(&Card {
        title: common.title,
        cardholder: text("cardholderName")?,
        brand: text("brand")?,
        number: text("number")?,
        expiry,
        code: text("code")?,
        notes: common.notes,
        folder: common.folder,
        fields,
        favorite: common.favorite,
        source: common.source,
    }))
}

fn identity(item: &Obj, common: Common) -> Result<Value> {
    let identity = item.child("identity")?;
    let mut data = Map::new();
    data.insert("title".into(), json!(common.title));
    if let Some(identity) = &identity {
        for (theirs, ours) in IDENTITY_FIELDS {
            if let Some(value) = identity.text(theirs)? {
                data.insert(ours.into(), json!(value));
            }
        }
    }
    finish_free_form(data, common)
}

fn ssh_key(item: &Obj, common: Common) -> Result<Value> {
    let key = item.child("sshKey")?;
    let mut data = Map::new();
    data.insert("title".into(), json!(common.title));
    if let Some(key) = &key {
        for (theirs, ours) in [
            ("privateKey", "private_key"),
            ("publicKey", "public_key"),
            ("keyFingerprint", "fingerprint"),
        ] {
            if let Some(value) = key.text(theirs)? {
                data.insert(ours.into(), json!(value));
            }
        }
    }
    finish_free_form(data, common)
}

/// The common fields of an identity or SSH key, left out when empty (as in the shapes).
fn finish_free_form(mut data: Map<String, Value>, common: Common) -> Result<Value> {
    let mut put = |field: &str, value: Option<Value>| {
        if let Some(value) = value {
            data.insert(field.into(), value);
        }
    };
    put("notes", common.notes.map(Value::String));
    put("folder", common.folder.map(Value::String));
    put(
        "tags",
        (!common.tags.is_empty()).then(|| json!(common.tags)),
    );
    put(
        "fields",
        (!common.fields.is_empty()).then(|| shape::to_value(&common.fields)),
    );
    put("favorite", common.favorite.then_some(Value::Bool(true)));
    put("created", common.created.map(Value::String));
    put("updated", common.updated.map(Value::String));
    put("source", Some(common.source));
    Ok(Value::Object(data))
}

/// The item's custom fields.
fn fields(item: &Obj) -> Result<Vec<Field>> {
    let mut out = Vec::new();
    for (i, value) in item.list("fields")?.iter().enumerate() {
        let path = format!("fields[{i}]");
        let field = item.within(&path, value)?;
        let name = field.text("name")?.unwrap_or_default();
        let kind = match field.get("type") {
            None => 0,
            Some(kind) => kind
                .as_u64()
                .ok_or_else(|| field.wrong_type("type", "a number", kind))?,
        };
        let (value, hidden) = match kind {
            0 => (field.text("value")?.unwrap_or_default(), false),
            1 => (field.text("value")?.unwrap_or_default(), true),
            2 => {
                let on = match field.get("value") {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
                    _ => false,
                };
                (on.to_string(), false)
            }
            3 => (linked(field.get("linkedId")), false),
            _ => {
                return Err(malformed(
                    item.at,
                    format!(
                        "field '{path}.type' is not a known field type (0 text, 1 hidden, \
                         2 boolean, 3 linked)"
                    ),
                ));
            }
        };
        if !name.is_empty() || !value.is_empty() {
            out.push(Field {
                name,
                value,
                hidden,
            });
        }
    }
    Ok(out)
}

/// What a linked field's `linkedId` points at, as its value.
fn linked(id: Option<&Value>) -> String {
    let Some(id) = id.and_then(Value::as_u64) else {
        return "linked".into();
    };
    let target = match id {
        100 => "username",
        101 => "password",
        300 => "cardholder",
        301 => "expiry month",
        302 => "expiry year",
        303 => "code",
        304 => "brand",
        305 => "number",
        400 => "honorific",
        401 => "middle name",
        402 => "address 1",
        403 => "address 2",
        404 => "address 3",
        405 => "city",
        406 => "state",
        407 => "postal code",
        408 => "country",
        409 => "company",
        410 => "email",
        411 => "phone",
        412 => "ssn",
        413 => "username",
        414 => "passport number",
        415 => "license number",
        416 => "first name",
        417 => "last name",
        418 => "full name",
        _ => return format!("linked to field {id}"),
    };
    format!("linked to {target}")
}

/// Earlier passwords, newest first (entries without a date last, in file order).
fn password_history(item: &Obj) -> Result<Vec<String>> {
    let mut entries = Vec::new();
    for (i, value) in item.list("passwordHistory")?.iter().enumerate() {
        let path = format!("passwordHistory[{i}]");
        let entry = item.within(&path, value)?;
        let Some(password) = entry.text("password")? else {
            continue;
        };
        let when = match entry.text("lastUsedDate")? {
            None => None,
            Some(date) => Some(common::parse_rfc3339(&date).ok_or_else(|| {
                malformed(
                    item.at,
                    format!("field '{path}.lastUsedDate' must be an RFC 3339 timestamp"),
                )
            })?),
        };
        entries.push((when, password));
    }
    entries.sort_by(|(a, _), (b, _)| match (a, b) {
        (Some(a), Some(b)) => b.cmp(a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    Ok(entries.into_iter().map(|(_, p)| p).collect())
}

/// A JSON object of the export, with where it is for errors.
struct Obj<'a> {
    at: &'a str,
    map: &'a Map<String, Value>,
    /// The path of this object in the item ("login.", "fields[2]."), for messages.
    prefix: String,
}

impl<'a> Obj<'a> {
    fn new(at: &'a str, value: &'a Value) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Obj {
                at,
                map,
                prefix: String::new(),
            }),
            other => Err(malformed(
                at,
                format!("must be a JSON object, got {}", json_type(other)),
            )),
        }
    }

    /// `value`, found at `path` of this object, as an object.
    fn within(&self, path: &str, value: &'a Value) -> Result<Obj<'a>> {
        match value {
            Value::Object(map) => Ok(Obj {
                at: self.at,
                map,
                prefix: format!("{}{path}.", self.prefix),
            }),
            other => Err(self.wrong_type(path, "an object", other)),
        }
    }

    /// The field, `null` counting as absent.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn missing(&self, field: &str) -> Error {
        malformed(self.at, format!("missing field '{}{field}'", self.prefix))
    }

    fn wrong_type(&self, field: &str, expected: &str, got: &Value) -> Error {
        malformed(
            self.at,
            format!(
                "field '{}{field}' must be {expected}, got {}",
                self.prefix,
                json_type(got)
            ),
        )
    }

    /// A text field (a number counts as its text); empty is absent.
    fn text(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(common::non_empty(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong_type(field, "a string", other)),
        }
    }

    fn flag(&self, field: &str) -> Result<bool> {
        match self.get(field) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong_type(field, "true or false", other)),
        }
    }

    fn list(&self, field: &str) -> Result<&'a [Value]> {
        match self.get(field) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.wrong_type(field, "a list", other)),
        }
    }

    /// A nested object (`login`, `card`, …), absent when missing or null.
    fn child(&self, field: &str) -> Result<Option<Obj<'a>>> {
        self.get(field).map(|v| self.within(field, v)).transpose()
    }

    fn timestamp(&self, field: &str) -> Result<Option<String>> {
        match self.text(field)? {
            None => Ok(None),
            Some(t) => common::rfc3339_utc(&t).map(Some).ok_or_else(|| {
                malformed(
                    self.at,
                    format!(
                        "field '{}{field}' must be an RFC 3339 timestamp",
                        self.prefix
                    ),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/bitwarden.json");

    fn parse(text: &str) -> Result<Parsed> {
        read(text.as_bytes())
    }

    /// An export holding one item, the given JSON.
    fn with_item(item: &str) -> Result<Parsed> {
        parse(&format!(
            r#"{{"encrypted":false,"folders":[],"items":[{item}]}}"#
        ))
    }

    fn err(item: &str) -> String {
        with_item(item).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_item_type() {
        let parsed = parse(FIXTURE).unwrap();
        let kinds: Vec<(&str, &str)> = parsed
            .items
            .iter()
            .map(|i| (i.collection.as_str(), i.source.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("logins", "item 1 'GitHub'"),
                ("notes", "item 2 'Wi-Fi'"),
                ("cards", "item 3 'Visa'"),
                ("identities", "item 4 'Me'"),
                ("ssh_keys", "item 5 'deploy key'"),
            ]
        );
        assert_eq!(
            parsed.skipped,
            [Skipped {
                source: "item 6 'Old bank'".into(),
                reason: "in the trash".into(),
            }]
        );
        assert!(parsed.items.iter().all(|i| i.id.is_none()));
    }

    #[test]
    fn maps_a_login() {
        let parsed = parse(FIXTURE).unwrap();
        assert_eq!(
            parsed.items[0].data,
            json!({
                "title": "GitHub",
                "username": "octo",
                "password": "hunter2",
                "urls": ["https://github.com/login"],
                "totp": "otpauth://totp/GitHub?secret=JBSWY3DP",
                "notes": "2FA on",
                "folder": "Work/Servers",
                "fields": [
                    {"name": "pin", "value": "1234", "hidden": true},
                    {"name": "team", "value": "infra"},
                    {"name": "admin", "value": "true"},
                    {"name": "user again", "value": "linked to username"},
                ],
                "password_history": ["old2", "old1"],
                "favorite": true,
                "created": "2022-05-01T09:30:00.123Z",
                "updated": "2024-03-01T10:00:00Z",
                "source": {"format": "bitwarden", "id": "i-login"},
            })
        );
    }

    #[test]
    fn maps_notes_cards_identities_and_ssh_keys() {
        let parsed = parse(FIXTURE).unwrap();
        assert_eq!(
            parsed.items[1].data,
            json!({"title": "Wi-Fi", "text": "door code in the safe",
                   "created": "2024-03-01T10:00:00Z", "updated": "2024-03-01T10:00:00Z",
                   "source": {"format": "bitwarden", "id": "i-note"}})
        );
        assert_eq!(
            parsed.items[2].data,
            json!({"title": "Visa", "cardholder": "Ada Okafor", "brand": "Visa",
                   "number": "4111111111111111", "expiry": "07/2027", "code": "123",
                   "source": {"format": "bitwarden", "id": "i-card"}})
        );
        assert_eq!(
            parsed.items[3].data,
            json!({"title": "Me", "honorific": "Dr", "first_name": "Ada", "last_name": "Okafor",
                   "address1": "1 Main St", "city": "Lagos", "postal_code": "100001",
                   "country": "NG", "email": "ada@example.com", "passport_number": "A123",
                   "folder": "Work/Servers", "source": {"format": "bitwarden", "id": "i-identity"}})
        );
        assert_eq!(
            parsed.items[4].data,
            json!({"title": "deploy key",
                   "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----",
                   "public_key": "ssh-ed25519 AAAA deploy", "fingerprint": "SHA256:xyz",
                   "source": {"format": "bitwarden", "id": "i-ssh"}})
        );
    }

    #[test]
    fn organization_collections_become_tags() {
        let parsed = parse(
            r#"{"encrypted":false,"collections":[{"id":"c1","name":"Ops"},{"id":"c2","name":"Shared"}],
                "items":[{"type":2,"name":"n","notes":"x","collectionIds":["c1","c2","c1"]}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.items[0].data["tags"], json!(["Ops", "Shared"]));
        let e =
            parse(r#"{"collections":[],"items":[{"type":2,"name":"n","collectionIds":["zz"]}]}"#)
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "item 1 'n': field 'collectionIds[0]' names no collection of the export"
        );
    }

    #[test]
    fn refuses_encrypted_and_foreign_files() {
        let e = parse(r#"{"encrypted":true,"passwordProtected":true,"data":"2.abc"}"#);
        assert!(matches!(
            e,
            Err(Error::Encrypted {
                what: "Bitwarden export"
            })
        ));
        assert!(matches!(parse("not json"), Err(Error::NotFormat { .. })));
        assert!(matches!(parse("[]"), Err(Error::NotFormat { .. })));
        assert!(matches!(
            parse(r#"{"folders":[]}"#),
            Err(Error::NotFormat { .. })
        ));
    }

    #[test]
    fn malformed_items_are_named_without_values() {
        assert_eq!(
            err(r#"{"type":9,"name":"GitHub"}"#),
            "item 1 'GitHub': unknown item type; expected 1 (login), 2 (secure note), 3 (card), \
             4 (identity) or 5 (SSH key)"
        );
        assert_eq!(
            err(r#"{"type":1,"name":"GitHub","folderId":"nope"}"#),
            "item 1 'GitHub': field 'folderId' names no folder of the export"
        );
        let e = err(r#"{"type":1,"name":"GitHub","login":{"password":["hunter2"]}}"#);
        assert_eq!(
            e,
            "item 1 'GitHub': field 'login.password' must be a string, got array"
        );
        assert!(!e.contains("hunter2"));
        assert_eq!(
            err(r#"{"type":1,"name":"x","fields":[{"name":"a","value":"b","type":7}]}"#),
            "item 1 'x': field 'fields[0].type' is not a known field type (0 text, 1 hidden, \
             2 boolean, 3 linked)"
        );
        assert_eq!(
            err(r#"{"type":3,"name":"c","card":{"expMonth":"13","expYear":"2027"}}"#),
            "item 1 'c': field 'card.expMonth' must be a month from 1 to 12"
        );
        assert_eq!(
            err(r#"{"type":1,"name":"x","creationDate":"yesterday"}"#),
            "item 1 'x': field 'creationDate' must be an RFC 3339 timestamp"
        );
        assert_eq!(err(r#"{"name":"x"}"#), "item 1 'x': missing field 'type'");
        assert_eq!(err("7"), "item 1: must be a JSON object, got number");
    }

    #[test]
    fn titles_in_sources_are_cleaned_and_truncated() {
        let long = format!("a\\tb{}", "x".repeat(60));
        let parsed = with_item(&format!(r#"{{"type":2,"name":"{long}"}}"#)).unwrap();
        assert_eq!(
            parsed.items[0].source,
            format!("item 1 'a?b{}…'", "x".repeat(37))
        );
        assert_eq!(parsed.items[0].data["text"], "");
    }

    #[test]
    fn cards_with_half_an_expiry_keep_it_as_a_field() {
        let parsed = with_item(r#"{"type":3,"name":"c","card":{"expYear":"27"}}"#).unwrap();
        assert_eq!(
            parsed.items[0].data["fields"],
            json!([{"name": "expiry year", "value": "2027"}])
        );
        assert!(parsed.items[0].data.get("expiry").is_none());
    }

    #[test]
    fn attachments_are_reported() {
        let parsed =
            with_item(r#"{"type":2,"name":"n","attachments":[{"fileName":"a.pdf"}]}"#).unwrap();
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(
            parsed.skipped[0].reason,
            "file attachments are not migrated"
        );
    }
}
