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
        Some(header) => header.map_err(|e| csv_error(bytes, e))?,
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
        let record = record.map_err(|e| csv_error(bytes, e))?;
        let line = line_of(bytes, record.position());
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
fn csv_error(bytes: &[u8], error: csv::Error) -> Error {
    let line = |pos: Option<&csv::Position>| line_of(bytes, pos);
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

/// The line a record starts on, counted from its byte offset (the reader's own line count is off
/// after blank lines and CRLF line ends).
fn line_of(bytes: &[u8], position: Option<&csv::Position>) -> u64 {
    let Some(position) = position else {
        return 0;
    };
    let mut start = usize::try_from(position.byte()).map_or(bytes.len(), |b| b.min(bytes.len()));
    // A record's offset may fall on the line ends before it.
    while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
        start += 1;
    }
    1 + bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64
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

#[cfg(test)]
mod tests {
    use super::*;

    fn logins(text: &[u8]) -> Result<Parsed> {
        read(text, &Options::default())
    }

    fn into(collection: &str, text: &str) -> Result<Parsed> {
        let options = Options {
            collection: Some(collection.into()),
            ..Options::default()
        };
        read(text.as_bytes(), &options)
    }

    #[test]
    fn reads_chrome_with_a_bom_and_crlf() {
        let parsed = logins(include_bytes!("../tests/fixtures/chrome.csv")).unwrap();
        assert_eq!(parsed.items.len(), 2);
        let item = &parsed.items[0];
        assert_eq!(item.source, "line 2 'GitHub'");
        assert_eq!(item.collection, "logins");
        assert_eq!(
            item.data,
            json!({"title": "GitHub", "username": "octo", "password": "hunter,2",
                   "urls": ["https://github.com/login"], "notes": "work account",
                   "source": {"format": "csv", "variant": "chrome"}})
        );
        // No name: the URL's host is the title.
        assert_eq!(parsed.items[1].data["title"], "example.com");
        assert_eq!(parsed.items[1].source, "line 3 'example.com'");
        assert!(parsed.items[1].data.get("notes").is_none());
    }

    #[test]
    fn reads_bitwarden_logins_and_notes() {
        let parsed = logins(include_bytes!("../tests/fixtures/bitwarden.csv")).unwrap();
        assert_eq!(
            parsed.items[0].data,
            json!({"title": "GitHub", "username": "octo", "password": "hunter2",
                   "urls": ["https://github.com", "https://gist.github.com"],
                   "totp": "JBSWY3DPEHPK3PXP", "notes": "2FA on", "folder": "Work",
                   "fields": [{"name": "pin", "value": "1234"}, {"name": "team", "value": "infra"}],
                   "favorite": true, "source": {"format": "csv", "variant": "bitwarden"}})
        );
        assert_eq!(parsed.items[1].collection, "notes");
        assert_eq!(parsed.items[1].source, "line 4 'Wi-Fi'");
        assert_eq!(
            parsed.items[1].data,
            json!({"title": "Wi-Fi", "text": "door code\nin the safe",
                   "source": {"format": "csv", "variant": "bitwarden"}})
        );
        let bad = "type,name,login_uri,login_username,login_password\ncard,Visa,,,\n";
        assert_eq!(
            logins(bad.as_bytes()).unwrap_err().to_string(),
            "line 2 'Visa': column 'type' must be login or note"
        );
    }

    #[test]
    fn reads_firefox() {
        let parsed = logins(include_bytes!("../tests/fixtures/firefox.csv")).unwrap();
        assert_eq!(
            parsed.items[0].data,
            json!({"title": "accounts.example.org", "username": "ada", "password": "pw1",
                   "urls": ["https://accounts.example.org"],
                   "created": "2024-05-01T12:30:00Z", "updated": "2024-05-01T12:33:20Z",
                   "source": {"format": "csv", "variant": "firefox", "id": "{0b6f-11}"}})
        );
        let bad = "url,username,password,httpRealm,guid,timeCreated\nhttps://a.b,u,p,,g,soon\n";
        assert_eq!(
            logins(bad.as_bytes()).unwrap_err().to_string(),
            "line 2 'a.b': column 'timeCreated' must be milliseconds since 1970"
        );
    }

    #[test]
    fn reads_keepassxc() {
        let parsed = logins(include_bytes!("../tests/fixtures/keepassxc.csv")).unwrap();
        assert_eq!(
            parsed.items[0].data,
            json!({"title": "db01", "username": "root", "password": "s3cret",
                   "urls": ["ssh://db01"], "notes": "rack 4", "folder": "Work/Servers",
                   "created": "2023-01-02T03:04:05Z", "updated": "2024-05-01T12:30:00Z",
                   "source": {"format": "csv", "variant": "keepassxc"}})
        );
        assert!(
            parsed.items[1].data.get("folder").is_none(),
            "the root group is no folder"
        );
        assert_eq!(parsed.items[1].data["totp"], "otpauth://totp/x?secret=ABC");
    }

    #[test]
    fn reads_1password_with_extra_columns_as_fields() {
        let parsed = logins(include_bytes!("../tests/fixtures/onepassword.csv")).unwrap();
        assert_eq!(
            parsed.items[0].data,
            json!({"title": "Bank", "username": "ada", "password": "pw",
                   "urls": ["https://bank.example"], "notes": "call first",
                   "tags": ["finance", "personal"], "favorite": true,
                   "fields": [{"name": "Security question", "value": "first pet"}],
                   "source": {"format": "csv", "variant": "1password"}})
        );
    }

    #[test]
    fn header_matching_ignores_case_and_spaces() {
        let parsed = logins(b" NAME , Url,USERNAME,Password\nx,https://x.org,u,p\n").unwrap();
        assert_eq!(parsed.items[0].data["source"]["variant"], "chrome");
        assert_eq!(parsed.items[0].data["password"], "p");
    }

    #[test]
    fn any_table_goes_to_the_named_collection() {
        let parsed = into(
            "contacts",
            "ID,name,phone\nc-1,Ada,\n,Lin,555\n\n\"c-3\",\"Multi\nline\",1\n",
        )
        .unwrap();
        assert_eq!(parsed.items.len(), 3);
        assert_eq!(parsed.items[0].id.as_deref(), Some("c-1"));
        assert_eq!(parsed.items[0].data, json!({"name": "Ada"}));
        assert_eq!(parsed.items[0].collection, "contacts");
        assert_eq!(parsed.items[1].id, None);
        assert_eq!(parsed.items[1].data, json!({"name": "Lin", "phone": "555"}));
        assert_eq!(parsed.items[2].source, "line 5");
        // A password-manager CSV is taken as a table too when a collection is named.
        let parsed = into("raw", "name,url,username,password\nx,y,z,w\n").unwrap();
        assert_eq!(
            parsed.items[0].data,
            json!({"name": "x", "url": "y", "username": "z", "password": "w"})
        );
    }

    #[test]
    fn other_tables_need_a_collection() {
        let e = logins(b"date,amount,payee\n2024-01-01,5,shop\n").unwrap_err();
        assert!(matches!(
            e,
            Error::NotFormat {
                expected: "a password-manager CSV",
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "this is not a password-manager CSV: its header (date, amount, payee) is not one of \
             Bitwarden, Chrome/Edge, Firefox, KeePassXC or 1Password's; give the collection the \
             rows go to"
        );
        assert!(matches!(logins(b""), Err(Error::NotFormat { .. })));
    }

    #[test]
    fn ragged_rows_and_bad_headers_are_malformed() {
        let e = into("t", "a,b,c,d\n1,2,3,4\n1,2,3,4,hunter2\n").unwrap_err();
        assert_eq!(e.to_string(), "line 3: 5 columns, the header has 4");
        assert!(!e.to_string().contains("hunter2"));
        assert_eq!(
            into("t", "a,,c\n").unwrap_err().to_string(),
            "line 1: column 2 of the header has no name"
        );
        assert_eq!(
            into("t", "a,A\n").unwrap_err().to_string(),
            "line 1: column 'A' appears twice in the header"
        );
        assert_eq!(
            read(
                b"a,b\n1,\xff\n",
                &Options {
                    collection: Some("t".into()),
                    ..Options::default()
                }
            )
            .unwrap_err()
            .to_string(),
            "line 2: column 2 is not UTF-8 text"
        );
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(host("https://user:pw@example.com:8443/x?y"), "example.com");
        assert_eq!(host("example.org/path"), "example.org");
        assert_eq!(host("ssh://db01"), "db01");
    }
}
