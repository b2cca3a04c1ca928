//! 1Password's 1PUX export: a zip archive holding `export.attributes` (the format version, 3) and
//! `export.data` (JSON: accounts, their vaults, the vaults' items), plus `files/` (attachments,
//! which are not migrated).
//!
//! Each item goes by its `categoryUuid`:
//!
//! - `001` Login and `005` Password → `logins` ([`Login`]);
//! - `003` Secure Note → `notes` ([`Note`]);
//! - `002` Credit Card → `cards` ([`Card`]);
//! - `004` Identity → `identities`: a free-form object of the item's section fields, keyed by the
//!   snake_case of their titles (or ids), with `title`, `notes`, `folder`, `tags`, `source`;
//! - `112` API Credential → the built-in `api_keys` (`provider`, `name`, `secret`, `expires_at`,
//!   `notes`, nothing else: that collection's schema refuses other fields);
//! - `114` SSH Key → `ssh_keys` (`title`, `private_key`, `public_key`, `fingerprint`, `key_type`,
//!   `notes`, `folder`, `tags`, `source`);
//! - `006` Document → skipped (documents are files);
//! - the other categories 1Password has (`100` software license to `113` medical record, bar `112`)
//!   → `notes`, their section fields carried as the note's fields, the first one a field named
//!   `category` holding the category's name ("Bank Account");
//! - any other category: the item is malformed.
//!
//! Archived items are imported with the tag `archived`; items in the trash are skipped. The
//! vault's name is the folder.

use std::io::{Cursor, Read};

use serde_json::{Map, Value, json};
use zip::ZipArchive;
use zip::result::ZipError;

use crate::common::{self, malformed, non_empty, seconds_date, seconds_utc, shown_title};
use crate::shape::{
    CARDS, Card, Field, IDENTITIES, LOGINS, Login, NOTES, Note, SSH_KEYS, to_value,
};
use crate::{Error, Item, Parsed, Result, Skipped};

const EXPECTED: &str = "a 1Password 1PUX export";
const WHAT: &str = "1PUX export";
/// The largest archive member read (a guard against a zip bomb).
const MAX_MEMBER_BYTES: u64 = 512 * 1024 * 1024;
/// The built-in collection of API keys.
const API_KEYS: &str = "api_keys";

pub(crate) fn read(bytes: &[u8]) -> Result<Parsed> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|_| Error::NotFormat {
        expected: EXPECTED,
        problem: "it is not a zip archive".into(),
    })?;
    if let Some(attributes) = member(&mut archive, "export.attributes")? {
        let attributes: Value = serde_json::from_slice(&attributes)
            .map_err(|e| malformed("export.attributes", format!("it is not valid JSON ({e})")))?;
        match attributes.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(3) => {}
            Some(Value::Number(n)) => {
                return Err(Error::Version {
                    what: WHAT,
                    version: n.to_string(),
                    supported: "3",
                });
            }
            _ => {
                return Err(malformed(
                    "export.attributes",
                    "it has no numeric 'version'",
                ));
            }
        }
    }
    let data = member(&mut archive, "export.data")?.ok_or_else(|| Error::NotFormat {
        expected: EXPECTED,
        problem: "the archive has no export.data".into(),
    })?;
    let data: Value = serde_json::from_slice(&data)
        .map_err(|e| malformed("export.data", format!("it is not valid JSON ({e})")))?;
    let mut parsed = Parsed::default();
    let accounts = data
        .get("accounts")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("export.data", "it has no 'accounts' list"))?;
    let mut position = 0usize;
    for (a, account) in accounts.iter().enumerate() {
        let vaults = account
            .get("vaults")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(&format!("account {}", a + 1), no("vaults", "list")))?;
        for (v, vault) in vaults.iter().enumerate() {
            let at = || format!("account {} vault {}", a + 1, v + 1);
            let name = match vault.get("attrs").and_then(|attrs| attrs.get("name")) {
                None | Some(Value::Null) => "",
                Some(Value::String(name)) => name.as_str(),
                Some(_) => return Err(malformed(&at(), "field 'attrs.name' is not text")),
            };
            let items = match vault.get("items") {
                None | Some(Value::Null) => &Vec::new(),
                Some(Value::Array(items)) => items,
                Some(_) => return Err(malformed(&at(), "field 'items' is not a list")),
            };
            for item in items {
                position += 1;
                read_item(item, position, name, &mut parsed)?;
            }
        }
    }
    Ok(parsed)
}

/// The member `name` of the archive, `None` when it has none.
fn member(archive: &mut ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<Vec<u8>>> {
    let file = match archive.by_name(name) {
        Ok(file) => file,
        Err(ZipError::FileNotFound) => return Ok(None),
        Err(
            ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) | ZipError::InvalidPassword,
        ) => {
            return Err(Error::Encrypted { what: WHAT });
        }
        Err(_) => {
            return Err(malformed(name, "it could not be read from the archive"));
        }
    };
    if file.encrypted() {
        return Err(Error::Encrypted { what: WHAT });
    }
    let mut out = Vec::new();
    file.take(MAX_MEMBER_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|_| malformed(name, "it could not be decompressed"))?;
    if out.len() as u64 > MAX_MEMBER_BYTES {
        return Err(malformed(name, "it is larger than 512 MiB"));
    }
    Ok(Some(out))
}

fn no(field: &str, kind: &str) -> String {
    format!("it has no '{field}' {kind}")
}

/// 1Password's categories that have no shape of their own and go to `notes`.
const NOTE_CATEGORIES: &[(&str, &str)] = &[
    ("100", "Software License"),
    ("101", "Bank Account"),
    ("102", "Database"),
    ("103", "Driver License"),
    ("104", "Outdoor License"),
    ("105", "Membership"),
    ("106", "Passport"),
    ("107", "Reward Program"),
    ("108", "Social Security Number"),
    ("109", "Wireless Router"),
    ("110", "Server"),
    ("111", "Email Account"),
    ("113", "Medical Record"),
];

/// One section field, its value as text.
struct SectionField {
    id: String,
    title: String,
    /// The value's type ("string", "concealed", "totp", …).
    kind: String,
    text: String,
    /// For an `sshKey` value: its metadata object.
    ssh: Option<Map<String, Value>>,
}

impl SectionField {
    /// Its label: the title, else the id.
    fn name(&self) -> &str {
        if self.title.is_empty() {
            &self.id
        } else {
            &self.title
        }
    }

    fn hidden(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "concealed" | "totp" | "creditCardNumber"
        )
    }

    fn field(&self) -> Field {
        Field {
            name: self.name().to_owned(),
            value: self.text.clone(),
            hidden: self.hidden(),
        }
    }
}

/// An item being read: what every category uses.
struct Ctx<'a> {
    at: String,
    item: &'a Map<String, Value>,
    details: Option<&'a Map<String, Value>>,
    overview: Option<&'a Map<String, Value>>,
    title: String,
    vault: &'a str,
    fields: Vec<SectionField>,
}

impl<'a> Ctx<'a> {
    fn malformed(&self, problem: impl Into<String>) -> Error {
        malformed(&self.at, problem)
    }

    /// `map[key]` as text: absent, `null` and blank text are `None`; anything else not text is
    /// malformed.
    fn text(
        &self,
        map: Option<&Map<String, Value>>,
        path: &str,
        key: &str,
    ) -> Result<Option<String>> {
        match map.and_then(|m| m.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(non_empty(s)),
            Some(_) => Err(self.malformed(format!("field '{path}{key}' is not text"))),
        }
    }

    fn time(&self, key: &str) -> Result<Option<String>> {
        match self.item.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_i64().and_then(seconds_utc)),
            Some(_) => Err(self.malformed(format!("field '{key}' is not a number"))),
        }
    }

    fn notes(&self) -> Result<Option<String>> {
        self.text(self.details, "details.", "notesPlain")
    }

    fn folder(&self) -> Option<String> {
        non_empty(self.vault)
    }

    fn favorite(&self) -> bool {
        self.item
            .get("favIndex")
            .and_then(Value::as_i64)
            .is_some_and(|i| i > 0)
    }

    fn tags(&self) -> Result<Vec<String>> {
        let mut tags = Vec::new();
        match self.overview.and_then(|o| o.get("tags")) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, tag) in list.iter().enumerate() {
                    match tag {
                        Value::String(t) if t.is_empty() => {}
                        Value::String(t) => tags.push(t.clone()),
                        _ => {
                            return Err(
                                self.malformed(format!("field 'overview.tags[{i}]' is not text"))
                            );
                        }
                    }
                }
            }
            Some(_) => return Err(self.malformed("field 'overview.tags' is not a list")),
        }
        if self.item.get("state").and_then(Value::as_str) == Some("archived")
            && !tags.iter().any(|t| t == "archived")
        {
            tags.push("archived".into());
        }
        Ok(tags)
    }

    /// `overview.url` then `overview.urls[].url`, without repeats.
    fn urls(&self) -> Result<Vec<String>> {
        let mut urls = Vec::new();
        if let Some(url) = self.text(self.overview, "overview.", "url")? {
            urls.push(url);
        }
        match self.overview.and_then(|o| o.get("urls")) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, entry) in list.iter().enumerate() {
                    let url = entry.as_object().ok_or_else(|| {
                        self.malformed(format!("field 'overview.urls[{i}]' is not an object"))
                    })?;
                    if let Some(url) =
                        self.text(Some(url), &format!("overview.urls[{i}]."), "url")?
                        && !urls.contains(&url)
                    {
                        urls.push(url);
                    }
                }
            }
            Some(_) => return Err(self.malformed("field 'overview.urls' is not a list")),
        }
        Ok(urls)
    }

    fn password_history(&self, current: Option<&str>) -> Result<Vec<String>> {
        let mut history: Vec<(i64, String)> = Vec::new();
        match self.details.and_then(|d| d.get("passwordHistory")) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, entry) in list.iter().enumerate() {
                    let path = format!("details.passwordHistory[{i}].");
                    let entry = entry.as_object().ok_or_else(|| {
                        self.malformed(format!(
                            "field 'details.passwordHistory[{i}]' is not an object"
                        ))
                    })?;
                    if let Some(value) = self.text(Some(entry), &path, "value")? {
                        let time = entry.get("time").and_then(Value::as_i64).unwrap_or(0);
                        history.push((time, value));
                    }
                }
            }
            Some(_) => return Err(self.malformed("field 'details.passwordHistory' is not a list")),
        }
        history.sort_by_key(|h| std::cmp::Reverse(h.0));
        let mut out: Vec<String> = Vec::new();
        for (_, value) in history {
            if Some(value.as_str()) != current && !out.contains(&value) {
                out.push(value);
            }
        }
        Ok(out)
    }

    fn source(&self) -> Value {
        let id = self.item.get("uuid").and_then(Value::as_str).unwrap_or("");
        json!({"format": "1pux", "id": id, "vault": self.vault})
    }

    fn item(&self, collection: &str, data: Value) -> Item {
        Item {
            source: self.at.clone(),
            collection: collection.to_owned(),
            id: None,
            data,
        }
    }

    /// Removes and returns the first section field `pick` accepts.
    fn take(&mut self, pick: impl Fn(&SectionField) -> bool) -> Option<SectionField> {
        let i = self.fields.iter().position(pick)?;
        Some(self.fields.remove(i))
    }

    fn take_id(&mut self, id: &str) -> Option<String> {
        self.take(|f| f.id == id).map(|f| f.text)
    }
}

fn read_item(item: &Value, position: usize, vault: &str, parsed: &mut Parsed) -> Result<()> {
    let item = item
        .as_object()
        .ok_or_else(|| malformed(&format!("item {position}"), "it is not an object"))?;
    let overview = item.get("overview").and_then(Value::as_object);
    let title = overview
        .and_then(|o| o.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let at = common::at(format!("item {position}"), &title);
    let object = |key: &str| -> Result<Option<&Map<String, Value>>> {
        match item.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(malformed(&at, format!("field '{key}' is not an object"))),
        }
    };
    let details = object("details")?;
    let overview = object("overview")?;
    let mut ctx = Ctx {
        at: at.clone(),
        item,
        details,
        overview,
        title,
        vault,
        fields: Vec::new(),
    };
    let trashed = item.get("trashed").and_then(Value::as_bool) == Some(true);
    match item.get("state") {
        None | Some(Value::Null) => {}
        Some(Value::String(state)) => match state.as_str() {
            "active" | "archived" => {}
            "deleted" | "trashed" => return skip(parsed, at, "in the trash"),
            _ => return Err(ctx.malformed("field 'state' is not 'active' or 'archived'")),
        },
        Some(_) => return Err(ctx.malformed("field 'state' is not text")),
    }
    if trashed {
        return skip(parsed, at, "in the trash");
    }
    let category = match item.get("categoryUuid") {
        Some(Value::String(c)) => c.clone(),
        Some(_) => return Err(ctx.malformed("field 'categoryUuid' is not text")),
        None => return Err(ctx.malformed(no("categoryUuid", "field"))),
    };
    if category == "006" {
        return skip(
            parsed,
            at,
            "file attachments and documents are not migrated",
        );
    }
    let attachments = read_sections(&mut ctx, parsed)?;
    if attachments > 0 {
        parsed.skipped.push(Skipped {
            source: at.clone(),
            reason: format!("{attachments} file attachment(s) not migrated"),
        });
    }
    let item = match category.as_str() {
        "001" | "005" => login(&mut ctx, category == "005")?,
        "003" => note(&mut ctx, None)?,
        "002" => card(&mut ctx)?,
        "004" => identity(&mut ctx)?,
        "112" => api_key(&mut ctx, parsed)?,
        "114" => ssh_key(&mut ctx)?,
        other => match NOTE_CATEGORIES.iter().find(|(id, _)| *id == other) {
            Some((_, name)) => note(&mut ctx, Some(name))?,
            None if other.len() <= 8 && other.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                return Err(ctx.malformed(format!("category '{other}' is not one 1Password has")));
            }
            None => return Err(ctx.malformed("its category is not one 1Password has")),
        },
    };
    parsed.items.push(item);
    Ok(())
}

fn skip(parsed: &mut Parsed, source: String, reason: &str) -> Result<()> {
    parsed.skipped.push(Skipped {
        source,
        reason: reason.into(),
    });
    Ok(())
}

/// Reads `details.sections[].fields[]` into `ctx.fields`; returns how many file attachments the
/// item has (not migrated).
fn read_sections(ctx: &mut Ctx<'_>, parsed: &mut Parsed) -> Result<usize> {
    let mut attachments = 0;
    let sections = match ctx.details.and_then(|d| d.get("sections")) {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Array(sections)) => sections,
        Some(_) => return Err(ctx.malformed("field 'details.sections' is not a list")),
    };
    for (s, section) in sections.iter().enumerate() {
        let path = format!("details.sections[{s}]");
        let section = section
            .as_object()
            .ok_or_else(|| ctx.malformed(format!("field '{path}' is not an object")))?;
        let fields = match section.get("fields") {
            None | Some(Value::Null) => continue,
            Some(Value::Array(fields)) => fields,
            Some(_) => return Err(ctx.malformed(format!("field '{path}.fields' is not a list"))),
        };
        for (f, field) in fields.iter().enumerate() {
            let path = format!("{path}.fields[{f}]");
            let field = field
                .as_object()
                .ok_or_else(|| ctx.malformed(format!("field '{path}' is not an object")))?;
            let id = ctx
                .text(Some(field), &format!("{path}."), "id")?
                .unwrap_or_default();
            let title = ctx
                .text(Some(field), &format!("{path}."), "title")?
                .unwrap_or_default();
            let value = match field.get("value") {
                None | Some(Value::Null) => continue,
                Some(Value::Object(value)) => value,
                Some(_) => {
                    return Err(ctx.malformed(format!("field '{path}.value' is not an object")));
                }
            };
            let Some((kind, value)) = value.iter().next() else {
                continue;
            };
            let mut ssh = None;
            let text = match (kind.as_str(), value) {
                (_, Value::Null) => None,
                (_, Value::String(s)) => non_empty(s),
                (_, Value::Bool(b)) => Some(b.to_string()),
                ("date", Value::Number(n)) => n.as_i64().and_then(seconds_date),
                ("monthYear", Value::Number(n)) => n.as_i64().map(month_year),
                (_, Value::Number(n)) => Some(n.to_string()),
                ("file", _) => {
                    attachments += 1;
                    None
                }
                ("email", Value::Object(email)) => ctx.text(
                    Some(email),
                    &format!("{path}.value.email."),
                    "email_address",
                )?,
                ("address", Value::Object(address)) => address_text(address),
                ("sshKey", Value::Object(key)) => {
                    ssh = key.get("metadata").and_then(Value::as_object).cloned();
                    ctx.text(Some(key), &format!("{path}.value.sshKey."), "privateKey")?
                }
                (other, _) => {
                    parsed.skipped.push(Skipped {
                        source: ctx.at.clone(),
                        reason: format!(
                            "field '{}': a value of type '{}' is not migrated",
                            shown_title(if title.is_empty() { &id } else { &title }),
                            shown_title(other)
                        ),
                    });
                    None
                }
            };
            let Some(text) = text else { continue };
            ctx.fields.push(SectionField {
                id,
                title,
                kind: kind.clone(),
                text,
                ssh,
            });
        }
    }
    Ok(attachments)
}

/// `YYYYMM` as `MM/YYYY` (another number as it is).
fn month_year(n: i64) -> String {
    let (year, month) = (n / 100, n % 100);
    if (1..=12).contains(&month) && year > 0 {
        format!("{month:02}/{year}")
    } else {
        n.to_string()
    }
}

/// An address object as one line: "street, city, state zip, country".
fn address_text(address: &Map<String, Value>) -> Option<String> {
    let part = |key: &str| {
        address
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
    };
    let region = [part("state"), part("zip")]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let line = [part("street"), part("city"), &region, part("country")]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    non_empty(&line)
}

fn login(ctx: &mut Ctx<'_>, password_item: bool) -> Result<Item> {
    let mut username = None;
    let mut password = None;
    let mut fields = Vec::new();
    match ctx.details.and_then(|d| d.get("loginFields")) {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, field) in list.iter().enumerate() {
                let path = format!("details.loginFields[{i}]");
                let field = field
                    .as_object()
                    .ok_or_else(|| ctx.malformed(format!("field '{path}' is not an object")))?;
                let path = format!("{path}.");
                let Some(value) = ctx.text(Some(field), &path, "value")? else {
                    continue;
                };
                let designation = ctx.text(Some(field), &path, "designation")?;
                let kind = ctx
                    .text(Some(field), &path, "fieldType")?
                    .unwrap_or_default();
                match designation.as_deref() {
                    Some("username") if username.is_none() => username = Some(value),
                    Some("password") if password.is_none() => password = Some(value),
                    // Checkboxes, radio buttons and buttons of the saved web form.
                    _ if matches!(kind.as_str(), "C" | "R" | "B") => {}
                    _ => {
                        let name = ctx.text(Some(field), &path, "name")?;
                        let name = name.or(ctx.text(Some(field), &path, "id")?);
                        fields.push(Field {
                            name: name.unwrap_or_else(|| "field".into()),
                            value,
                            hidden: kind == "P",
                        });
                    }
                }
            }
        }
        Some(_) => return Err(ctx.malformed("field 'details.loginFields' is not a list")),
    }
    if password.is_none() {
        password = ctx.text(ctx.details, "details.", "password")?;
    }
    if password.is_none() && password_item {
        password = ctx.take(|f| f.kind == "concealed").map(|f| f.text);
    }
    let totp = ctx.take(|f| f.kind == "totp").map(|f| f.text);
    fields.extend(ctx.fields.iter().map(SectionField::field));
    let login = Login {
        title: ctx.title.clone(),
        password_history: ctx.password_history(password.as_deref())?,
        username,
        password,
        urls: ctx.urls()?,
        totp,
        notes: ctx.notes()?,
        folder: ctx.folder(),
        tags: ctx.tags()?,
        fields,
        favorite: ctx.favorite(),
        created: ctx.time("createdAt")?,
        updated: ctx.time("updatedAt")?,
        source: ctx.source(),
    };
    Ok(ctx.item(LOGINS, to_value(&login)))
}

fn note(ctx: &mut Ctx<'_>, category: Option<&str>) -> Result<Item> {
    let mut fields = Vec::new();
    if let Some(category) = category {
        fields.push(Field {
            name: "category".into(),
            value: category.into(),
            hidden: false,
        });
    }
    fields.extend(ctx.fields.iter().map(SectionField::field));
    let note = Note {
        title: ctx.title.clone(),
        text: ctx.notes()?.unwrap_or_default(),
        folder: ctx.folder(),
        tags: ctx.tags()?,
        fields,
        favorite: ctx.favorite(),
        created: ctx.time("createdAt")?,
        updated: ctx.time("updatedAt")?,
        source: ctx.source(),
    };
    Ok(ctx.item(NOTES, to_value(&note)))
}

fn card(ctx: &mut Ctx<'_>) -> Result<Item> {
    let card = Card {
        title: ctx.title.clone(),
        cardholder: ctx.take_id("cardholder"),
        brand: ctx.take_id("type"),
        number: ctx.take_id("ccnum"),
        expiry: ctx.take_id("expiry"),
        code: ctx.take_id("cvv"),
        notes: ctx.notes()?,
        folder: ctx.folder(),
        fields: ctx.fields.iter().map(SectionField::field).collect(),
        favorite: ctx.favorite(),
        source: ctx.source(),
    };
    Ok(ctx.item(CARDS, to_value(&card)))
}

/// `text` in snake_case ("First name" → "first_name"); `field` when nothing is left.
fn snake_case(text: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    if out.is_empty() { "field".into() } else { out }
}

/// Puts `value` under `key`, or `key_2`, `key_3`, … when taken.
fn insert_unique(map: &mut Map<String, Value>, key: String, value: Value) {
    if !map.contains_key(&key) {
        map.insert(key, value);
        return;
    }
    let key = (2..)
        .map(|n| format!("{key}_{n}"))
        .find(|k| !map.contains_key(k))
        .expect("an unbounded range has a free key");
    map.insert(key, value);
}

fn identity(ctx: &mut Ctx<'_>) -> Result<Item> {
    let mut data = Map::new();
    data.insert("title".into(), Value::String(ctx.title.clone()));
    for field in &ctx.fields {
        insert_unique(
            &mut data,
            snake_case(field.name()),
            Value::String(field.text.clone()),
        );
    }
    let mut common = vec![("notes", ctx.notes()?.map(Value::String))];
    common.push(("folder", ctx.folder().map(Value::String)));
    let tags = ctx.tags()?;
    common.push(("tags", (!tags.is_empty()).then(|| json!(tags))));
    common.push(("favorite", ctx.favorite().then_some(Value::Bool(true))));
    common.push(("created", ctx.time("createdAt")?.map(Value::String)));
    common.push(("updated", ctx.time("updatedAt")?.map(Value::String)));
    common.push(("source", Some(ctx.source())));
    for (key, value) in common {
        if let Some(value) = value {
            insert_unique(&mut data, key.into(), value);
        }
    }
    Ok(ctx.item(IDENTITIES, Value::Object(data)))
}

fn api_key(ctx: &mut Ctx<'_>, parsed: &mut Parsed) -> Result<Item> {
    let secret = ctx
        .take_id("credential")
        .ok_or_else(|| ctx.malformed("it has no 'credential' field"))?;
    let hostname = ctx.take_id("hostname");
    let provider = hostname
        .as_deref()
        .unwrap_or(&ctx.title)
        .trim()
        .to_lowercase();
    if provider.is_empty() {
        return Err(ctx.malformed("it has neither a title nor a 'hostname' field"));
    }
    let expires_at = match ctx.take(|f| f.id == "expires") {
        None => None,
        Some(_) => match date_field(ctx, "expires") {
            Some(at) => Some(at),
            None => return Err(ctx.malformed("field 'expires' is not a date")),
        },
    };
    let mut notes: Vec<String> = ctx.notes()?.into_iter().collect();
    for field in &ctx.fields {
        if field.hidden() {
            parsed.skipped.push(Skipped {
                source: ctx.at.clone(),
                reason: format!(
                    "concealed field '{}' not migrated (api_keys hold one secret)",
                    shown_title(field.name())
                ),
            });
        } else {
            notes.push(format!("{}: {}", field.name(), field.text));
        }
    }
    let mut data = Map::new();
    data.insert("provider".into(), Value::String(provider));
    let name = if ctx.title.trim().is_empty() {
        hostname.unwrap_or_default()
    } else {
        ctx.title.clone()
    };
    data.insert("name".into(), Value::String(name));
    data.insert("secret".into(), Value::String(secret));
    if let Some(at) = expires_at {
        data.insert("expires_at".into(), Value::String(at));
    }
    if !notes.is_empty() {
        data.insert("notes".into(), Value::String(notes.join("\n")));
    }
    Ok(ctx.item(API_KEYS, Value::Object(data)))
}

/// The raw `date` value (unix seconds) of the section field `id`, as RFC 3339.
fn date_field(ctx: &Ctx<'_>, id: &str) -> Option<String> {
    let sections = ctx.details?.get("sections")?.as_array()?;
    sections
        .iter()
        .filter_map(|s| s.get("fields")?.as_array())
        .flatten()
        .find(|f| f.get("id").and_then(Value::as_str) == Some(id))
        .and_then(|f| f.get("value")?.get("date")?.as_i64())
        .and_then(seconds_utc)
}

fn ssh_key(ctx: &mut Ctx<'_>) -> Result<Item> {
    let key = ctx.take(|f| f.kind == "sshKey" || f.id == "private_key");
    let Some(key) = key else {
        return Err(ctx.malformed("it has no private key"));
    };
    let meta = |name: &str| {
        key.ssh
            .as_ref()
            .and_then(|m| m.get(name))
            .and_then(Value::as_str)
            .and_then(non_empty)
    };
    let public_key = meta("publicKey").or_else(|| ctx.take_id("public_key"));
    let fingerprint = meta("fingerprint").or_else(|| ctx.take_id("fingerprint"));
    let key_type = meta("keyType").or_else(|| ctx.take_id("key_type"));
    let mut data = Map::new();
    data.insert("title".into(), Value::String(ctx.title.clone()));
    data.insert("private_key".into(), Value::String(key.text));
    let optional = [
        ("public_key", public_key),
        ("fingerprint", fingerprint),
        ("key_type", key_type),
        ("notes", ctx.notes()?),
        ("folder", ctx.folder()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            data.insert(name.into(), Value::String(value));
        }
    }
    let tags = ctx.tags()?;
    if !tags.is_empty() {
        data.insert("tags".into(), json!(tags));
    }
    data.insert("source".into(), ctx.source());
    Ok(ctx.item(SSH_KEYS, Value::Object(data)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::ZipWriter;
    use zip::write::SimpleFileOptions;

    use super::*;

    const SECRET: &str = "hunter2-DO-NOT-LEAK";

    fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in members {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn export(items: Value) -> Vec<u8> {
        let attributes = json!({"version": 3, "description": "1Password Unencrypted Export", "createdAt": 1_700_000_000});
        let data = json!({"accounts": [{"attrs": {"name": "Me"}, "vaults": [
            {"attrs": {"uuid": "v1", "name": "Personal"}, "items": items}
        ]}]});
        archive(&[
            ("export.attributes", attributes.to_string().as_bytes()),
            ("export.data", data.to_string().as_bytes()),
        ])
    }

    fn parse(items: Value) -> Result<Parsed> {
        read(&export(items))
    }

    fn item(category: &str, title: &str, details: Value) -> Value {
        json!({"uuid": format!("u-{title}"), "favIndex": 0, "createdAt": 1_700_000_000, "updatedAt": 1_700_000_100,
            "state": "active", "categoryUuid": category, "details": details,
            "overview": {"title": title}})
    }

    fn field(id: &str, title: &str, value: Value) -> Value {
        json!({"id": id, "title": title, "value": value})
    }

    fn sections(fields: Vec<Value>) -> Value {
        json!([{"title": "", "name": "s", "fields": fields}])
    }

    fn error(items: Value) -> String {
        let e = parse(items).unwrap_err().to_string();
        assert!(!e.contains(SECRET), "a value leaked: {e}");
        e
    }

    #[test]
    fn reads_a_login_in_full() {
        let mut login = item(
            "001",
            "GitHub",
            json!({
                "loginFields": [
                    {"value": "octo", "id": "u", "name": "login", "fieldType": "T", "designation": "username"},
                    {"value": SECRET, "id": "p", "name": "password", "fieldType": "P", "designation": "password"},
                    {"value": "✓", "id": "r", "name": "remember", "fieldType": "C"},
                    {"value": "eu", "id": "x", "name": "region", "fieldType": "T"}
                ],
                "notesPlain": "work account",
                "sections": sections(vec![
                    field("t", "one-time password", json!({"totp": "otpauth://totp/x?secret=ABC"})),
                    field("k", "recovery", json!({"concealed": "r-e-c"})),
                    field("e", "email", json!({"email": {"email_address": "o@example.com", "provider": null}})),
                    field("d", "since", json!({"date": 1_700_000_000})),
                    field("n", "", json!({"string": ""})),
                ]),
                "passwordHistory": [{"value": "old1", "time": 100}, {"value": "old2", "time": 200}, {"value": SECRET, "time": 300}]
            }),
        );
        login["favIndex"] = json!(1);
        login["overview"] = json!({"title": "GitHub", "url": "https://github.com",
            "urls": [{"label": "", "url": "https://github.com"}, {"label": "gist", "url": "https://gist.github.com"}],
            "tags": ["dev", ""]});
        let parsed = parse(json!([login])).unwrap();
        assert!(parsed.skipped.is_empty());
        let [item] = parsed.items.as_slice() else {
            panic!("one item")
        };
        assert_eq!(item.source, "item 1 'GitHub'");
        assert_eq!(item.collection, "logins");
        assert_eq!(item.id, None);
        assert_eq!(
            item.data,
            json!({
                "title": "GitHub", "username": "octo", "password": SECRET,
                "urls": ["https://github.com", "https://gist.github.com"],
                "totp": "otpauth://totp/x?secret=ABC", "notes": "work account", "folder": "Personal",
                "tags": ["dev"],
                "fields": [
                    {"name": "region", "value": "eu"},
                    {"name": "recovery", "value": "r-e-c", "hidden": true},
                    {"name": "email", "value": "o@example.com"},
                    {"name": "since", "value": "2023-11-14"}
                ],
                "password_history": ["old2", "old1"], "favorite": true,
                "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:15:00Z",
                "source": {"format": "1pux", "id": "u-GitHub", "vault": "Personal"}
            })
        );
    }

    #[test]
    fn maps_each_category() {
        let items = json!([
            item("005", "Wifi", json!({"password": "pw", "sections": []})),
            item("003", "Diary", json!({"notesPlain": "dear diary"})),
            item(
                "002",
                "Visa",
                json!({"sections": sections(vec![
                    field("cardholder", "cardholder name", json!({"string": "A B"})),
                    field("type", "type", json!({"creditCardType": "visa"})),
                    field("ccnum", "number", json!({"creditCardNumber": "4111111111111111"})),
                    field("cvv", "verification number", json!({"concealed": "123"})),
                    field("expiry", "expiry date", json!({"monthYear": 202712})),
                    field("pin", "PIN", json!({"concealed": "0000"})),
                ])})
            ),
            item(
                "004",
                "Me",
                json!({"notesPlain": "n", "sections": sections(vec![
                    field("firstname", "First name", json!({"string": "Ada"})),
                    field("address", "Address", json!({"address": {"street": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701", "country": "us"}})),
                    field("title", "Title", json!({"string": "Dr"})),
                    field("birthdate", "", json!({"date": 0})),
                ])})
            ),
            item(
                "112",
                "Stripe",
                json!({"notesPlain": "live", "sections": sections(vec![
                    field("username", "username", json!({"string": "acct"})),
                    field("credential", "credential", json!({"concealed": SECRET})),
                    field("hostname", "hostname", json!({"string": "API.Stripe.com"})),
                    field("expires", "expires", json!({"date": 1_800_000_000})),
                    field("other", "other secret", json!({"concealed": "x"})),
                ])})
            ),
            item(
                "114",
                "Server key",
                json!({"sections": sections(vec![
                    field("private_key", "private key", json!({"sshKey": {"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----", "metadata": {"publicKey": "ssh-ed25519 AAAA", "fingerprint": "SHA256:abc", "keyType": "ed25519"}}})),
                ])})
            ),
            item(
                "006",
                "Scan",
                json!({"documentAttributes": {"fileName": "scan.pdf"}})
            ),
            item(
                "101",
                "Bank",
                json!({"sections": sections(vec![field("iban", "IBAN", json!({"string": "DE00"}))])})
            ),
        ]);
        let parsed = parse(items).unwrap();
        let data: Vec<(&str, &Value)> = parsed
            .items
            .iter()
            .map(|i| (i.collection.as_str(), &i.data))
            .collect();
        assert_eq!(data.len(), 7);
        assert_eq!(data[0].0, "logins");
        assert_eq!(data[0].1["password"], "pw");
        assert_eq!(data[1].0, "notes");
        assert_eq!(data[1].1["text"], "dear diary");
        assert_eq!(data[2].0, "cards");
        assert_eq!(
            data[2].1,
            &json!({"title": "Visa", "cardholder": "A B", "brand": "visa", "number": "4111111111111111",
                "expiry": "12/2027", "code": "123", "folder": "Personal",
                "fields": [{"name": "PIN", "value": "0000", "hidden": true}],
                "source": {"format": "1pux", "id": "u-Visa", "vault": "Personal"}})
        );
        assert_eq!(data[3].0, "identities");
        assert_eq!(data[3].1["first_name"], "Ada");
        assert_eq!(data[3].1["address"], "1 Main St, Springfield, IL 62701, us");
        assert_eq!(data[3].1["title"], "Me");
        assert_eq!(data[3].1["title_2"], "Dr");
        assert!(data[3].1.get("birthdate").is_none());
        assert_eq!(data[3].1["notes"], "n");
        assert_eq!(data[4].0, "api_keys");
        assert_eq!(
            data[4].1,
            &json!({"provider": "api.stripe.com", "name": "Stripe", "secret": SECRET,
                "expires_at": "2027-01-15T08:00:00Z", "notes": "live\nusername: acct"})
        );
        assert_eq!(data[5].0, "ssh_keys");
        assert_eq!(
            data[5].1,
            &json!({"title": "Server key", "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----",
                "public_key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:abc", "key_type": "ed25519",
                "folder": "Personal", "source": {"format": "1pux", "id": "u-Server key", "vault": "Personal"}})
        );
        assert_eq!(data[6].0, "notes");
        assert_eq!(
            data[6].1["fields"],
            json!([{"name": "category", "value": "Bank Account"}, {"name": "IBAN", "value": "DE00"}])
        );
        assert_eq!(
            parsed.skipped,
            vec![
                Skipped {
                    source: "item 5 'Stripe'".into(),
                    reason:
                        "concealed field 'other secret' not migrated (api_keys hold one secret)"
                            .into()
                },
                Skipped {
                    source: "item 7 'Scan'".into(),
                    reason: "file attachments and documents are not migrated".into()
                },
            ]
        );
    }

    #[test]
    fn archived_items_are_tagged_and_trashed_ones_skipped() {
        let mut archived = item("003", "Old", json!({}));
        archived["state"] = json!("archived");
        let mut deleted = item("003", "Gone", json!({}));
        deleted["state"] = json!("deleted");
        let mut trashed = item("003", "Bin", json!({}));
        trashed["trashed"] = json!(true);
        let parsed = parse(json!([archived, deleted, trashed])).unwrap();
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(parsed.items[0].data["tags"], json!(["archived"]));
        assert_eq!(parsed.items[0].data["text"], "");
        assert_eq!(
            common::skipped(&parsed),
            [
                ("item 2 'Gone'", "in the trash"),
                ("item 3 'Bin'", "in the trash")
            ]
        );
    }

    #[test]
    fn attachments_are_skipped_but_the_item_kept() {
        let login = item(
            "001",
            "With file",
            json!({"sections": sections(vec![field("f", "scan", json!({"file": {"fileName": "a.pdf", "documentId": "d"}}))])}),
        );
        let parsed = parse(json!([login])).unwrap();
        assert_eq!(parsed.items.len(), 1);
        assert!(parsed.items[0].data.get("fields").is_none());
        assert_eq!(
            parsed.skipped[0].reason,
            "1 file attachment(s) not migrated"
        );
    }

    #[test]
    fn malformed_items_are_named_without_their_values() {
        assert_eq!(
            error(json!([item("999", "Odd", json!({}))])),
            "item 1 'Odd': category '999' is not one 1Password has"
        );
        assert_eq!(
            error(json!([item("112", "Key", json!({"sections": []}))])),
            "item 1 'Key': it has no 'credential' field"
        );
        let bad = item(
            "001",
            "Bad\u{1}title",
            json!({"loginFields": [{"value": 4242424242u64, "designation": "password"}]}),
        );
        let e = error(json!([bad]));
        assert_eq!(
            e,
            "item 1 'Bad?title': field 'details.loginFields[0].value' is not text"
        );
        assert!(!e.contains("4242424242"));
        let mut no_category = item("001", "x", json!({}));
        no_category.as_object_mut().unwrap().remove("categoryUuid");
        assert_eq!(
            error(json!([no_category])),
            "item 1 'x': it has no 'categoryUuid' field"
        );
        let long = "L".repeat(50);
        let e = error(json!([item("999", &long, json!({}))]));
        assert!(
            e.starts_with(&format!("item 1 '{}…'", "L".repeat(40))),
            "{e}"
        );
    }

    #[test]
    fn refuses_other_files() {
        assert!(matches!(
            read(b"{\"items\": []}"),
            Err(Error::NotFormat { problem, .. }) if problem == "it is not a zip archive"
        ));
        let no_data = archive(&[("export.attributes", br#"{"version":3}"#)]);
        assert!(matches!(
            read(&no_data),
            Err(Error::NotFormat { problem, .. }) if problem == "the archive has no export.data"
        ));
        let old = archive(&[
            ("export.attributes", br#"{"version":2}"#),
            ("export.data", br#"{"accounts":[]}"#),
        ]);
        assert_eq!(
            read(&old).unwrap_err().to_string(),
            "1PUX export version 2 is not supported (supported: 3)"
        );
        let broken = archive(&[("export.data", b"{\"accounts\": [")]);
        assert!(
            read(&broken)
                .unwrap_err()
                .to_string()
                .starts_with("export.data: it is not valid JSON")
        );
        let empty = archive(&[("export.data", br#"{"accounts":[]}"#)]);
        assert!(read(&empty).unwrap().items.is_empty());
    }

    #[test]
    fn helpers() {
        assert_eq!(month_year(202712), "12/2027");
        assert_eq!(month_year(202713), "202713");
        assert_eq!(snake_case("First name"), "first_name");
        assert_eq!(snake_case("  E-mail (work) "), "e_mail_work");
        assert_eq!(snake_case("--"), "field");
    }
}
