//! pvault-migrate owns reading other programs' data into pvault records, and nothing else (no
//! vault, no store, no keys): [`read`] turns one file of a [`Format`] into [`Item`]s, each a
//! collection name, an optional record id and the record's JSON fields, plus what it [`Skipped`]
//! and why. `pvault-core`'s `migrate` room validates the items against the collections' schemas,
//! takes a backup, and writes them; this crate only says what the file holds.
//!
//! The formats, one file each:
//!
//! - [`Format::Legacy`] (`legacy.rs`): the unencrypted "enhanced database" dump, JSON Lines, defined
//!   in `docs/migration.md`; its rows map onto the six built-in collections.
//! - [`Format::Bitwarden`] (`bitwarden.rs`): Bitwarden's unencrypted JSON export.
//! - [`Format::OnePux`] (`onepux.rs`): 1Password's 1PUX archive (a zip holding `export.data`).
//! - [`Format::Kdbx`] (`kdbx.rs`): a KeePass KDBX 4 (or 3.1) database, opened with its password
//!   and/or key file.
//! - [`Format::Csv`] (`csv.rs`): CSV with a header row (password-manager CSVs, or any table into a
//!   collection named by the caller).
//!
//! Password-manager items become records of the free-form collections `logins`, `notes`, `cards`,
//! `identities` and `ssh_keys`, in one shape whatever the source ([`Login`], [`Note`], [`Card`];
//! identities and SSH keys as documented in `docs/migration.md`); 1Password's API credentials go
//! to the built-in `api_keys`.
//!
//! Errors name the item (its position and title) and the problem, never a field's value: the
//! files read here hold passwords in the clear.
#![forbid(unsafe_code)]

mod bitwarden;
mod common;
mod csv;
mod error;
mod kdbx;
mod kdbx_cost;
mod legacy;
mod onepux;
mod shape;

use std::fmt;

use serde_json::Value;
use zeroize::Zeroizing;

pub use error::{Error, Result};
pub use legacy::generate as generate_legacy_dump;
pub use shape::{CARDS, Card, Field, IDENTITIES, LOGINS, Login, NOTES, Note, SSH_KEYS};

/// The formats [`read`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// The legacy "enhanced database" dump (JSON Lines).
    Legacy,
    /// Bitwarden's unencrypted JSON export.
    Bitwarden,
    /// 1Password's 1PUX export.
    OnePux,
    /// KeePass KDBX 4 (or 3.1).
    Kdbx,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// Every format, in the order the docs list them.
    pub const ALL: [Format; 5] = [
        Format::Legacy,
        Format::Bitwarden,
        Format::OnePux,
        Format::Kdbx,
        Format::Csv,
    ];

    /// The name the CLI takes (`--from NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Legacy => "legacy",
            Format::Bitwarden => "bitwarden",
            Format::OnePux => "1pux",
            Format::Kdbx => "kdbx",
            Format::Csv => "csv",
        }
    }

    /// The format named `name` (as [`Format::name`] gives it).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a format may need besides the file.
#[derive(Default)]
pub struct Options {
    /// The KeePass database's password.
    pub password: Option<Zeroizing<String>>,
    /// The KeePass database's key file (its contents).
    pub key_file: Option<Zeroizing<Vec<u8>>>,
    /// CSV: the collection every row goes to; `None` takes password-manager CSVs (a header with a
    /// password column) as `logins` and refuses any other table.
    pub collection: Option<String>,
}

/// One record to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Where it came from, for the report and errors: a position and, where the source has one, its
    /// title ("item 3 'GitHub'", "line 12 (transactions)"). Never a secret value.
    pub source: String,
    /// The collection it goes to.
    pub collection: String,
    /// Its record id, when the source's key is meaningful in pvault (a setting's key); else `None`
    /// and the importer picks one.
    pub id: Option<String>,
    /// Its fields.
    pub data: Value,
}

/// Something in the file that is deliberately not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Where it is (as [`Item::source`]).
    pub source: String,
    /// Why it is not imported ("in the trash", "file attachments are not migrated").
    pub reason: String,
}

/// What a file holds.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The records, in file order.
    pub items: Vec<Item>,
    /// What is left out, and why.
    pub skipped: Vec<Skipped>,
}

/// Reads `bytes`, a file of `format`. Fails on the first malformed item, naming it: a file is
/// imported whole or not at all.
pub fn read(format: Format, bytes: &[u8], options: &Options) -> Result<Parsed> {
    match format {
        Format::Legacy => legacy::read(bytes),
        Format::Bitwarden => bitwarden::read(bytes),
        Format::OnePux => onepux::read(bytes),
        Format::Kdbx => kdbx::read(bytes, options),
        Format::Csv => csv::read(bytes, options),
    }
}
