//! KeePass databases (KDBX 4 and 3.1), opened with the `keepass` crate and a password and/or key
//! file.
//!
//! Every entry becomes a [`Login`] of `logins`: `Title`, `UserName`, `Password`, `URL` (then the
//! additional URLs KeePassXC and Keepass2Android keep in `KP2A_URL…` strings), `Notes`, the TOTP
//! (`otp`, or the older `TOTP Seed`), the other strings as fields (protected ones hidden), tags,
//! times, the expiry as a field `expires`, and the passwords of the entry's history (newest
//! first). The folder is the group path below the root group ("Work/Servers"). Entries of the
//! recycle bin are skipped, as are attachments (the entry itself is imported).

use keepass::db::{EntryRef, GroupId, GroupRef};
use keepass::error::{
    BlockStreamError, DatabaseFormatError, DatabaseKeyError, DatabaseOpenError,
    DatabaseVersionParseError, Kdbx4OpenError,
};
use keepass::{Database, DatabaseKey};
use serde_json::json;

use crate::common::{malformed, non_empty, seconds_utc, shown_title};
use crate::shape::{Field, LOGINS, Login, to_value};
use crate::{Error, Item, Options, Parsed, Result, Skipped};

const EXPECTED: &str = "a KeePass KDBX database";
const WRONG_KEY: &str = "wrong password or key file";

/// The strings an entry's own fields hold, not carried as custom fields.
const STANDARD: &[&str] = &["Title", "UserName", "Password", "URL", "Notes", "otp"];

pub(crate) fn read(bytes: &[u8], options: &Options) -> Result<Parsed> {
    let db = open(bytes, options)?;
    let mut parsed = Parsed::default();
    let recycle_bin = db.recycle_bin().map(|g| g.id());
    let root = db.root();
    let root_name = shown_title(&root.name);
    walk(&root, &root_name, None, recycle_bin, &mut parsed);
    Ok(parsed)
}

fn not_format(problem: &str) -> Error {
    Error::NotFormat {
        expected: EXPECTED,
        problem: problem.into(),
    }
}

fn damaged(problem: &str) -> Error {
    malformed("the database", problem)
}

/// Opens the database; the errors never quote the crate's messages (an XML error can hold a
/// piece of the decrypted document).
fn open(bytes: &[u8], options: &Options) -> Result<Database> {
    let mut key = DatabaseKey::new();
    if let Some(password) = &options.password {
        key = key.with_password(password);
    }
    if let Some(key_file) = &options.key_file {
        key = key
            .with_keyfile(&mut key_file.as_slice())
            .map_err(|_| Error::Key("the key file could not be read".into()))?;
    }
    if options.password.is_none() && options.key_file.is_none() {
        return Err(Error::Key("it needs a password or a key file".into()));
    }
    crate::kdbx_cost::check(bytes)?;
    // The major version, bytes 10 and 11 of the header (3 for KDBX 3.1).
    let kdbx3 = bytes.get(10..12) == Some(&[3, 0][..]);
    Database::parse(bytes, key).map_err(|e| match e {
        DatabaseOpenError::Key(DatabaseKeyError::IncorrectKey) => Error::Key(WRONG_KEY.into()),
        DatabaseOpenError::Key(DatabaseKeyError::EmptyKey) => {
            Error::Key("it needs a password or a key file".into())
        }
        DatabaseOpenError::Key(_) => Error::Key("the key file could not be read".into()),
        // KDBX 3.1 has no check of the key before decrypting: a wrong key mostly shows as bad
        // padding, which a damaged file gives too.
        DatabaseOpenError::Cryptography(_) if kdbx3 => {
            Error::Key(format!("{WRONG_KEY} (or the database is damaged)"))
        }
        DatabaseOpenError::Cryptography(_) => damaged("it is damaged (it does not decrypt)"),
        DatabaseOpenError::UnexpectedEof | DatabaseOpenError::Io(_) => damaged("it is truncated"),
        DatabaseOpenError::UnsupportedVersion => Error::Version {
            what: "KeePass database",
            version: "2 (pre-release)".into(),
            supported: "KDBX 3.1 and 4",
        },
        DatabaseOpenError::VersionParse(e) => version_problem(e),
        DatabaseOpenError::Format(DatabaseFormatError::Kdbx4(e)) => kdbx4_problem(&e),
        DatabaseOpenError::Format(_) => damaged("it is damaged or truncated"),
        _ => damaged("it is damaged or truncated"),
    })
}

fn version_problem(e: DatabaseVersionParseError) -> Error {
    match e {
        DatabaseVersionParseError::InvalidKDBXVersion {
            file_major_version,
            file_minor_version,
            ..
        } => Error::Version {
            what: "KeePass database",
            version: format!("{file_major_version}.{file_minor_version}"),
            supported: "KDBX 3.1 and 4",
        },
        DatabaseVersionParseError::UnexpectedEof => not_format("it is too short"),
        _ => not_format("it does not start with the KeePass signature"),
    }
}

fn kdbx4_problem(e: &Kdbx4OpenError) -> Error {
    match e {
        Kdbx4OpenError::OuterHeader(_) | Kdbx4OpenError::HeaderHashMismatch => {
            damaged("its header is damaged")
        }
        Kdbx4OpenError::BlockStream(BlockStreamError::Eof) => damaged("it is truncated"),
        Kdbx4OpenError::BlockStream(_) => damaged("it is damaged (a block fails its check)"),
        Kdbx4OpenError::InnerHeader(_) => damaged("its inner header is damaged"),
        Kdbx4OpenError::Xml(_) => damaged("its content is not valid KeePass XML"),
        _ => damaged("it is damaged"),
    }
}

/// Reads `group`'s entries, then its subgroups'. `path` is the group's path from the root
/// (for sources), `folder` the same without the root group (`None` for the root).
fn walk(
    group: &GroupRef<'_>,
    path: &str,
    folder: Option<&str>,
    recycle_bin: Option<GroupId>,
    parsed: &mut Parsed,
) {
    let in_bin = recycle_bin == Some(group.id());
    for entry in group.entries() {
        let title = entry.get_title().unwrap_or("");
        let source = format!("entry '{path}/{}'", shown_title(title));
        if in_bin {
            parsed.skipped.push(Skipped {
                source,
                reason: "in the recycle bin".into(),
            });
            continue;
        }
        let attachments = entry.attachments().count();
        if attachments > 0 {
            parsed.skipped.push(Skipped {
                source: source.clone(),
                reason: format!("{attachments} attachment(s) not migrated"),
            });
        }
        parsed.items.push(Item {
            collection: LOGINS.into(),
            id: None,
            data: to_value(&login(&entry, folder)),
            source,
        });
    }
    for child in group.groups() {
        let name = shown_title(&child.name);
        let child_path = format!("{path}/{name}");
        let child_folder = match folder {
            None => child.name.clone(),
            Some(folder) => format!("{folder}/{}", child.name),
        };
        // Everything below the recycle bin is in it.
        let bin = if in_bin {
            Some(child.id())
        } else {
            recycle_bin
        };
        walk(&child, &child_path, Some(&child_folder), bin, parsed);
    }
}

/// Unix seconds as RFC 3339 (the crate's times are naive UTC).
fn time(seconds: Option<i64>) -> Option<String> {
    seconds.and_then(seconds_utc)
}

/// Whether the custom string `name` holds an additional URL (`KP2A_URL`, `KP2A_URL_1`, …).
fn is_extra_url(name: &str) -> bool {
    name.strip_prefix("KP2A_URL").is_some_and(|rest| {
        rest.is_empty()
            || rest
                .strip_prefix('_')
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn login(entry: &EntryRef<'_>, folder: Option<&str>) -> Login {
    let get = |name: &str| entry.get(name).and_then(non_empty);
    let password = get("Password");
    let mut totp = get("otp");
    let mut names: Vec<&String> = entry
        .fields
        .keys()
        .filter(|k| !STANDARD.contains(&k.as_str()))
        .collect();
    names.sort();
    let mut urls: Vec<String> = get("URL").into_iter().collect();
    let mut fields = Vec::new();
    for name in names {
        let protected = entry.fields[name].is_protected();
        // `get`, not `to_string`: a protected value displays as "[redacted]".
        let value: &String = entry.fields[name].get();
        if value.is_empty() {
            continue;
        }
        if is_extra_url(name) {
            if !urls.contains(value) {
                urls.push(value.clone());
            }
        } else if name == "TOTP Seed" && totp.is_none() {
            totp = Some(value.clone());
        } else {
            fields.push(Field {
                name: name.clone(),
                value: value.clone(),
                hidden: protected,
            });
        }
    }
    if entry.times.expires == Some(true)
        && let Some(at) = time(Some(entry.times.expiry.and_utc().timestamp()))
    {
        fields.push(Field {
            name: "expires".into(),
            value: at,
            hidden: false,
        });
    }
    Login {
        title: entry.get_title().unwrap_or("").to_owned(),
        username: get("UserName"),
        password_history: history(entry, password.as_deref()),
        password,
        urls,
        totp,
        notes: get("Notes"),
        folder: folder.map(str::to_owned),
        tags: entry
            .tags
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect(),
        fields,
        favorite: false,
        created: time(entry.times.creation.map(|t| t.and_utc().timestamp())),
        updated: time(
            entry
                .times
                .last_modification
                .map(|t| t.and_utc().timestamp()),
        ),
        source: json!({"format": "kdbx", "id": entry.id().to_string()}),
    }
}

/// The earlier passwords, newest first, each once, without the current one.
fn history(entry: &EntryRef<'_>, current: Option<&str>) -> Vec<String> {
    let Some(history) = &entry.history else {
        return Vec::new();
    };
    let mut versions: Vec<_> = history.get_entries().iter().collect();
    // Stable: versions without times keep the file's order.
    versions.sort_by_key(|v| std::cmp::Reverse(v.times.last_modification));
    let mut out: Vec<String> = Vec::new();
    for version in versions {
        if let Some(password) = version.get_password().and_then(non_empty)
            && Some(password.as_str()) != current
            && !out.contains(&password)
        {
            out.push(password);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use keepass::config::KdfConfig;
    use keepass::db::{Times, Value};
    use serde_json::Value as Json;
    use zeroize::Zeroizing;

    use super::*;

    const PASSWORD: &str = "correct horse";
    const SECRET: &str = "entry-secret-DO-NOT-LEAK";

    /// A database with a cheap key derivation (the default Argon2 takes 1 GiB).
    fn new_db() -> Database {
        let mut db = Database::new();
        db.config.kdf_config = KdfConfig::Aes { rounds: 10 };
        db.root_mut().name = "Root".into();
        db
    }

    fn save(db: &Database, key: DatabaseKey) -> Vec<u8> {
        let mut out = Vec::new();
        db.save(&mut out, key).unwrap();
        out
    }

    fn with_password(password: &str) -> Options {
        Options {
            password: Some(Zeroizing::new(password.into())),
            ..Options::default()
        }
    }

    /// Root: "Top" (everything); Work/Servers: "db1" (attachment, TOTP Seed); Recycle Bin: "old"
    /// and Recycle Bin/Sub: "older".
    fn sample() -> Database {
        let mut db = new_db();
        {
            let mut root = db.root_mut();
            let mut top = root.add_entry();
            top.set_unprotected("Title", "Top");
            top.set_unprotected("UserName", "alice");
            top.set_unprotected("URL", "https://example.com");
            top.set_unprotected("KP2A_URL", "https://login.example.com");
            top.set_unprotected("KP2A_URL_1", "https://example.com");
            top.set_unprotected("Notes", "");
            top.set_unprotected("otp", "otpauth://totp/x?secret=ABC");
            top.set_protected("PIN", "1234");
            top.set_unprotected("Account", "42");
            top.set_unprotected("Empty", "");
            top.tags = vec!["work".into(), String::new()];
            top.set_protected("Password", "old2");
            let old2 = top.clone();
            top.set_protected("Password", "old1");
            let mut old1 = top.clone();
            old1.times.last_modification = Some(Times::epoch());
            let history = top.history.as_mut().unwrap();
            history.add_entry(old2);
            history.add_entry(old1);
            top.set_protected("Password", SECRET);
            top.times.expires = Some(true);
        }
        {
            let mut root = db.root_mut();
            let mut work = root.add_group();
            work.name = "Work".into();
            let mut servers = work.add_group();
            servers.name = "Servers".into();
            let mut db1 = servers.add_entry();
            db1.set_unprotected("Title", "db1");
            db1.set_protected("TOTP Seed", "JBSWY3DP");
            db1.add_attachment("notes.txt", Value::unprotected(b"attached".to_vec()));
        }
        let bin = {
            let mut root = db.root_mut();
            let mut bin = root.add_group();
            bin.name = "Recycle Bin".into();
            bin.add_entry().set_unprotected("Title", "old");
            let mut sub = bin.add_group();
            sub.name = "Sub".into();
            sub.add_entry().set_unprotected("Title", "older");
            bin.as_ref().id()
        };
        db.meta.recyclebin_uuid = Some(bin.uuid());
        db
    }

    fn error(bytes: &[u8], options: &Options) -> Error {
        read(bytes, options).unwrap_err()
    }

    #[test]
    fn reads_entries_groups_and_the_recycle_bin() {
        let bytes = save(&sample(), DatabaseKey::new().with_password(PASSWORD));
        let parsed = read(&bytes, &with_password(PASSWORD)).unwrap();
        let sources: Vec<_> = parsed.items.iter().map(|i| i.source.as_str()).collect();
        assert_eq!(
            sources,
            ["entry 'Root/Top'", "entry 'Root/Work/Servers/db1'"]
        );
        let top = &parsed.items[0];
        assert_eq!(top.collection, "logins");
        assert_eq!(top.id, None);
        let mut data = top.data.clone();
        let map = data.as_object_mut().unwrap();
        let id = map["source"]["id"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a uuid: {id}");
        for stamp in ["created", "updated"] {
            let at = map.remove(stamp).unwrap();
            assert!(at.as_str().unwrap().ends_with('Z'), "{at}");
        }
        let fields = map.remove("fields").unwrap();
        assert_eq!(
            Json::Object(map.clone()),
            json!({
                "title": "Top", "username": "alice", "password": SECRET,
                "urls": ["https://example.com", "https://login.example.com"],
                "totp": "otpauth://totp/x?secret=ABC",
                "tags": ["work"],
                "password_history": ["old2", "old1"],
                "source": {"format": "kdbx", "id": id}
            })
        );
        let fields = fields.as_array().unwrap();
        assert_eq!(fields[0], json!({"name": "Account", "value": "42"}));
        assert_eq!(
            fields[1],
            json!({"name": "PIN", "value": "1234", "hidden": true})
        );
        assert_eq!(fields[2]["name"], "expires");
        assert_eq!(fields.len(), 3);

        let db1 = &parsed.items[1].data;
        assert_eq!(db1["folder"], "Work/Servers");
        assert_eq!(db1["totp"], "JBSWY3DP");
        assert!(db1.get("fields").is_none() && db1.get("password").is_none());

        assert_eq!(
            crate::common::skipped(&parsed),
            [
                (
                    "entry 'Root/Work/Servers/db1'",
                    "1 attachment(s) not migrated"
                ),
                ("entry 'Root/Recycle Bin/old'", "in the recycle bin"),
                ("entry 'Root/Recycle Bin/Sub/older'", "in the recycle bin"),
            ]
        );
    }

    #[test]
    fn opens_with_a_key_file_and_a_password() {
        let key_file = b"not a real key file, any bytes do".to_vec();
        let key = DatabaseKey::new()
            .with_password(PASSWORD)
            .with_keyfile(&mut key_file.as_slice())
            .unwrap();
        let bytes = save(&sample(), key);
        let both = Options {
            password: Some(Zeroizing::new(PASSWORD.into())),
            key_file: Some(Zeroizing::new(key_file.clone())),
            ..Options::default()
        };
        assert_eq!(read(&bytes, &both).unwrap().items.len(), 2);
        let e = error(&bytes, &with_password(PASSWORD));
        assert_eq!(
            e.to_string(),
            "the KeePass database did not open: wrong password or key file"
        );
        let only_file = Options {
            key_file: Some(Zeroizing::new(key_file)),
            ..Options::default()
        };
        assert!(matches!(error(&bytes, &only_file), Error::Key(m) if m == WRONG_KEY));

        let key_file_only = b"<only a key file>".to_vec();
        let key = DatabaseKey::new()
            .with_keyfile(&mut key_file_only.as_slice())
            .unwrap();
        let bytes = save(&new_db(), key);
        let options = Options {
            key_file: Some(Zeroizing::new(key_file_only)),
            ..Options::default()
        };
        assert!(read(&bytes, &options).unwrap().items.is_empty());
    }

    #[test]
    fn a_wrong_or_missing_key_is_a_key_error() {
        let bytes = save(&sample(), DatabaseKey::new().with_password(PASSWORD));
        let e = error(&bytes, &with_password("wrong"));
        assert!(matches!(&e, Error::Key(m) if m == WRONG_KEY), "{e}");
        let e = error(&bytes, &Options::default());
        assert_eq!(
            e.to_string(),
            "the KeePass database did not open: it needs a password or a key file"
        );
    }

    #[test]
    fn damaged_files_are_told_from_wrong_keys() {
        let bytes = save(&sample(), DatabaseKey::new().with_password(PASSWORD));
        let options = with_password(PASSWORD);
        let truncated = &bytes[..bytes.len() - 40];
        let e = error(truncated, &options);
        assert!(matches!(&e, Error::Malformed { .. }), "{e}");
        assert!(!e.to_string().contains(SECRET));
        // The header (and so the key check) is intact: a wrong key is still told apart.
        assert!(matches!(
            error(truncated, &with_password("nope")),
            Error::Key(_)
        ));
        let e = error(&bytes[..100], &options);
        assert!(matches!(&e, Error::Malformed { .. }), "{e}");
        let mut flipped = bytes.clone();
        let last = flipped.len() - 10;
        flipped[last] ^= 0xff;
        let e = error(&flipped, &options);
        assert!(matches!(&e, Error::Malformed { .. }), "{e}");
        let mut header = bytes.clone();
        header[20] ^= 0xff;
        let e = error(&header, &options);
        assert!(matches!(&e, Error::Malformed { .. }), "{e}");
    }

    #[test]
    fn other_files_are_not_kdbx() {
        let options = with_password(PASSWORD);
        let random: Vec<u8> = (0..2000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(matches!(
            error(&random, &options),
            Error::NotFormat { expected: EXPECTED, problem } if problem.contains("signature")
        ));
        assert!(matches!(
            error(b"", &options),
            Error::NotFormat { problem, .. } if problem == "it is too short"
        ));
        let mut future = save(&new_db(), DatabaseKey::new().with_password(PASSWORD));
        future[10] = 9;
        assert_eq!(
            error(&future, &options).to_string(),
            "KeePass database version 9.1 is not supported (supported: KDBX 3.1 and 4)"
        );
    }

    #[test]
    fn extra_urls() {
        assert!(is_extra_url("KP2A_URL"));
        assert!(is_extra_url("KP2A_URL_12"));
        assert!(!is_extra_url("KP2A_URL_x"));
        assert!(!is_extra_url("URL"));
    }
}
