//! CSV with a header row.
//!
//! With [`Options::collection`] set, every row becomes a record of that collection: the header's
//! columns are the fields, empty cells are left out, and an `id` column (any case) is the record
//! id. Without it, the header must be one of the password-manager CSVs below, whose rows become
//! `logins` (and, for Bitwarden, `notes`):
//!
//! - Bitwarden: `folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,
//!   login_password,login_totp` (organization exports: `collections` instead of `folder`);
//! - Chrome, Edge and other Chromium browsers: `name,url,username,password[,note]`;
//! - Firefox: `url,username,password,httpRealm,formActionOrigin,guid,timeCreated,timeLastUsed,
//!   timePasswordChanged`;
//! - KeePassXC: `Group,Title,Username,Password,URL,Notes,TOTP,Icon,Last Modified,Created`;
//! - 1Password: `Title,Url,Username,Password,…` (`OTPAuth`, `Favorite`, `Archived`, `Tags`,
//!   `Notes`).
//!
//! Headers match in any case, with surrounding spaces and a UTF-8 byte order mark ignored. Columns
//! a variant does not know become custom fields, so nothing is dropped silently.

use csv::{ErrorKind, ReaderBuilder, StringRecord};
use serde_json::{Map, Value, json};

use crate::common::{self, malformed};
use crate::shape::{self, Field, LOGINS, Login, NOTES, Note};
use crate::{Error, Item, Options, Parsed, Result};

/// How many header columns an error lists.
const MAX_COLUMNS_SHOWN: usize = 20;

/// The password-manager CSVs told apart by their headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Bitwarden,
    Chrome,
    Firefox,
    KeePassXc,
    OnePassword,
}

impl Variant {
    /// The name in `Login.source.variant`.
    fn name(self) -> &'static str {
        match self {
            Variant::Bitwarden => "bitwarden",
            Variant::Chrome => "chrome",
            Variant::Firefox => "firefox",
            Variant::KeePassXc => "keepassxc",
            Variant::OnePassword => "1password",
        }
    }

    /// The variant whose columns the header has (checked most specific first).
    fn detect(columns: &Columns) -> Option<Variant> {
        let has = |names: &[&str]| names.iter().all(|n| columns.index(n).is_some());
        [
            (
                Variant::Bitwarden,
                &[
                    "type",
                    "name",
                    "login_uri",
                    "login_username",
                    "login_password",
                ][..],
            ),
            (
                Variant::KeePassXc,
                &["group", "title", "username", "password", "url"],
            ),
            (
                Variant::Firefox,
                &["url", "username", "password", "httprealm", "guid"],
            ),
            (Variant::Chrome, &["name", "url", "username", "password"]),
            (
                Variant::OnePassword,
                &["title", "url", "username", "password"],
            ),
        ]
        .into_iter()
        .find(|(_, names)| has(names))
        .map(|(variant, _)| variant)
    }
}

pub(crate) fn read(bytes: &[u8], options: &Options) -> Result<Parsed> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            return Err(Error::NotFormat {
                expected: "a CSV file with a header row",
                problem: "the file is empty".into(),
            });
        }
        Some(header) => header.map_err(csv_error)?,
    };
    let columns = Columns::new(&header)?;
    let target = match &options.collection {
        Some(collection) => Target::Collection(collection),
        None => Target::Logins(Variant::detect(&columns).ok_or_else(|| Error::NotFormat {
            expected: "a password-manager CSV",
            problem: format!(
                "its header ({}) is not one of Bitwarden, Chrome/Edge, Firefox, KeePassXC or \
                 1Password's; give the collection the rows go to",
                columns.shown()
            ),
        })?),
    };
    let mut parsed = Parsed::default();
    for record in records {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let mut row = Row {
            columns: &columns,
            record: &record,
            taken: vec![false; columns.names.len()],
        };
        let item = match target {
            Target::Collection(collection) => table_row(line, collection, &mut row),
            Target::Logins(variant) => login_row(line, variant, &mut row)?,
        };
        parsed.items.push(item);
    }
    Ok(parsed)
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Collection(&'a str),
    Logins(Variant),
}

/// A CSV error as this crate's (never showing a cell).
fn csv_error(error: csv::Error) -> Error {
    let line = |pos: Option<&csv::Position>| pos.map_or(0, |p| p.line());
    match error.kind() {
        ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => malformed(
            &format!("line {}", line(pos.as_ref())),
            format!("{len} columns, the header has {expected_len}"),
        ),
        ErrorKind::Utf8 { pos, err } => malformed(
            &format!("line {}", line(pos.as_ref())),
            format!("column {} is not UTF-8 text", err.field() + 1),
        ),
        _ => malformed("the CSV file", "it could not be read as CSV"),
    }
}

/// The header row.
struct Columns {
    /// As written (trimmed).
    names: Vec<String>,
    /// Lower-case, for matching.
    lower: Vec<String>,
}

impl Columns {
    fn new(header: &StringRecord) -> Result<Self> {
        let names: Vec<String> = header.iter().map(|n| n.trim().to_owned()).collect();
        let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
        for (i, name) in lower.iter().enumerate() {
            if name.is_empty() {
                return Err(malformed(
                    "line 1",
                    format!("column {} of the header has no name", i + 1),
                ));
            }
            if lower[..i].contains(name) {
                return Err(malformed(
                    "line 1",
                    format!(
                        "column '{}' appears twice in the header",
                        common::shown_title(&names[i])
                    ),
                ));
            }
        }
        Ok(Columns { names, lower })
    }

    fn index(&self, lower_name: &str) -> Option<usize> {
        self.lower.iter().position(|n| n == lower_name)
    }

    /// The header's column names, for an error (names are not secret).
    fn shown(&self) -> String {
        let mut shown: Vec<String> = self
            .names
            .iter()
            .take(MAX_COLUMNS_SHOWN)
            .map(|n| common::shown_title(n))
            .collect();
        if self.names.len() > MAX_COLUMNS_SHOWN {
            shown.push("…".into());
        }
        shown.join(", ")
    }
}

/// One data row; what a variant reads is `taken`, the rest becomes custom fields.
struct Row<'a> {
    columns: &'a Columns,
    record: &'a StringRecord,
    taken: Vec<bool>,
}

impl Row<'_> {
    /// The cell of the column named `lower_name`, taken; `None` when absent or empty.
    fn take(&mut self, lower_name: &str) -> Option<String> {
        let i = self.columns.index(lower_name)?;
        self.taken[i] = true;
        common::non_empty(self.record.get(i)?)
    }

    /// Drops a column the variant does not import.
    fn ignore(&mut self, lower_name: &str) {
        self.take(lower_name);
    }

    /// A cell that says yes ("1", "true", "yes", any case).
    fn take_flag(&mut self, lower_name: &str) -> bool {
        self.take(lower_name)
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    }

    /// The columns not taken, as custom fields (empty cells left out).
    fn rest(&self) -> Vec<Field> {
        self.columns
            .names
            .iter()
            .zip(self.record.iter())
            .zip(&self.taken)
            .filter(|(_, taken)| !**taken)
            .filter_map(|((name, cell), _)| {
                common::non_empty(cell).map(|value| Field {
                    name: name.clone(),
                    value,
                    hidden: false,
                })
            })
            .collect()
    }
}

/// A row of a table read into `collection`.
fn table_row(line: u64, collection: &str, row: &mut Row) -> Item {
    let id = row.take("id");
    let mut data = Map::new();
    for ((name, cell), taken) in row
        .columns
        .names
        .iter()
        .zip(row.record.iter())
        .zip(&row.taken)
    {
        if let (false, Some(value)) = (*taken, common::non_empty(cell)) {
            data.insert(name.clone(), Value::String(value));
        }
    }
    Item {
        source: format!("line {line}"),
        collection: collection.to_owned(),
        id,
        data: Value::Object(data),
    }
}

/// A row of a password-manager CSV.
fn login_row(line: u64, variant: Variant, row: &mut Row) -> Result<Item> {
    let mut login = Login {
        source: json!({"format": "csv", "variant": variant.name()}),
        ..Login::default()
    };
    let position = format!("line {line}");
    match variant {
        Variant::Bitwarden => return bitwarden_row(&position, row, login),
        Variant::Chrome => {
            login.title = row.take("name").unwrap_or_default();
            login.urls.extend(row.take("url"));
            login.username = row.take("username");
            login.password = row.take("password");
            login.notes = row.take("note").or_else(|| row.take("notes"));
        }
        Variant::Firefox => {
            login.urls.extend(row.take("url"));
            login.username = row.take("username");
            login.password = row.take("password");
            row.ignore("formactionorigin");
            row.ignore("timelastused");
            if let Some(guid) = row.take("guid") {
                login.source["id"] = json!(guid);
            }
            let at = common::at(&position, login.urls.first().map_or("", |u| host(u)));
            login.created = millis(&at, row, "timecreated", "timeCreated")?;
            login.updated = millis(&at, row, "timepasswordchanged", "timePasswordChanged")?;
        }
        Variant::KeePassXc => {
            login.folder = row.take("group").and_then(|g| keepass_folder(&g));
            login.title = row.take("title").unwrap_or_default();
            login.username = row.take("username");
            login.password = row.take("password");
            login.urls.extend(row.take("url"));
            login.notes = row.take("notes");
            login.totp = row.take("totp");
            row.ignore("icon");
            let at = common::at(&position, &login.title);
            login.updated = rfc3339(&at, row, "last modified", "Last Modified")?;
            login.created = rfc3339(&at, row, "created", "Created")?;
        }
        Variant::OnePassword => {
            login.title = row.take("title").unwrap_or_default();
            login.urls.extend(row.take("url"));
            login.username = row.take("username");
            login.password = row.take("password");
            login.notes = row.take("notes");
            login.totp = row.take("otpauth");
            login.favorite = row.take_flag("favorite");
            if let Some(tags) = row.take("tags") {
                login.tags = split_list(&tags, &[',', ';']);
            }
            if row.take_flag("archived") {
                login.tags.push("archived".into());
            }
        }
    }
    if login.title.trim().is_empty() {
        login.title = login
            .urls
            .first()
            .map(|u| host(u).to_owned())
            .unwrap_or_default();
    }
    login.fields = row.rest();
    Ok(Item {
        source: common::at(&position, &login.title),
        collection: LOGINS.to_owned(),
        id: None,
        data: shape::to_value(&login),
    })
}

/// A row of Bitwarden's CSV: a login or a secure note.
fn bitwarden_row(position: &str, row: &mut Row, mut login: Login) -> Result<Item> {
    let title = row.take("name").unwrap_or_default();
    let at = common::at(position, &title);
    let kind = row.take("type").map(|t| t.trim().to_ascii_lowercase());
    let folder = row.take("folder");
    let favorite = row.take_flag("favorite");
    let notes = row.take("notes");
    row.ignore("reprompt");
    let tags = row
        .take("collections")
        .map(|c| split_list(&c, &[',']))
        .unwrap_or_default();
    let mut fields: Vec<Field> = row
        .take("fields")
        .map(|f| bitwarden_fields(&f))
        .unwrap_or_default();
    let (collection, data) = match kind.as_deref() {
        Some("login") => {
            login.urls = row
                .take("login_uri")
                .map(|u| split_list(&u, &[',']))
                .unwrap_or_default();
            login.username = row.take("login_username");
            login.password = row.take("login_password");
            login.totp = row.take("login_totp");
            fields.extend(row.rest());
            let login = Login {
                title,
                notes,
                folder,
                tags,
                fields,
                favorite,
                ..login
            };
            (LOGINS, shape::to_value(&login))
        }
        Some("note") => {
            fields.extend(row.rest());
            let note = Note {
                title,
                text: notes.unwrap_or_default(),
                folder,
                tags,
                fields,
                favorite,
                source: login.source,
                ..Note::default()
            };
            (NOTES, shape::to_value(&note))
        }
        Some(_) => {
            return Err(malformed(&at, "column 'type' must be login or note"));
        }
        None => return Err(malformed(&at, "column 'type' is empty")),
    };
    Ok(Item {
        source: at,
        collection: collection.to_owned(),
        id: None,
        data,
    })
}

/// Bitwarden CSV's `fields` cell: one "name: value" line per field.
fn bitwarden_fields(cell: &str) -> Vec<Field> {
    cell.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap_or((line, ""));
            Field {
                name: name.trim().to_owned(),
                value: value.to_owned(),
                hidden: false,
            }
        })
        .collect()
}

/// A list cell split on `separators`, trimmed, empty entries left out.
fn split_list(cell: &str, separators: &[char]) -> Vec<String> {
    cell.split(separators)
        .filter_map(|part| common::non_empty(part.trim()))
        .collect()
}

/// A KeePassXC group path without its root group ("Root/Work/Servers" → "Work/Servers").
fn keepass_folder(group: &str) -> Option<String> {
    let (_, rest) = group.trim().split_once('/')?;
    common::non_empty(rest.trim_matches('/'))
}

/// A URL's host ("https://user@example.com:8443/x" → "example.com"); the text itself if it has
/// no scheme.
fn host(url: &str) -> &str {
    let rest = url.trim();
    let rest = rest.split_once("://").map_or(rest, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// A cell of milliseconds since 1970, as RFC 3339 UTC.
fn millis(at: &str, row: &mut Row, lower_name: &str, name: &str) -> Result<Option<String>> {
    let Some(cell) = row.take(lower_name) else {
        return Ok(None);
    };
    let time = cell.trim().parse::<i64>().ok().and_then(common::millis_utc);
    time.map(Some).ok_or_else(|| {
        malformed(
            at,
            format!("column '{name}' must be milliseconds since 1970"),
        )
    })
}

/// A cell holding an RFC 3339 time, in UTC.
fn rfc3339(at: &str, row: &mut Row, lower_name: &str, name: &str) -> Result<Option<String>> {
    let Some(cell) = row.take(lower_name) else {
        return Ok(None);
    };
    common::rfc3339_utc(&cell)
        .map(Some)
        .ok_or_else(|| malformed(at, format!("column '{name}' must be an RFC 3339 timestamp")))
}
