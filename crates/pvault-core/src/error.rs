//! The one error type of pvault-core.
//!
//! Every message names the problem and, where there is one, the next step for the user. No message
//! contains a secret: passwords, keys and record contents never reach an error.

use std::path::PathBuf;

use pvault_crypto::{Classification, CryptoError};

use pvault_model::models::SchemaError;

/// Everything that can go wrong in pvault-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No profile by that name.
    #[error("no profile named '{0}' (see `pvault profile list`)")]
    UnknownProfile(String),
    /// Profile names are unique per home.
    #[error("a profile named '{0}' already exists")]
    ProfileExists(String),
    /// A profile name that is not allowed.
    #[error(
        "invalid profile name '{0}': use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    )]
    InvalidProfileName(String),
    /// No `--profile` and no current profile.
    #[error("no profile selected: pass --profile NAME or run `pvault profile use NAME`")]
    NoCurrentProfile,
    /// The password did not open the profile.
    #[error("wrong password for profile '{profile}'{}", attempts_note(*.attempts_left))]
    WrongPassword {
        /// Profile name.
        profile: String,
        /// Attempts left before a lockout, if any are counted.
        attempts_left: Option<u32>,
    },
    /// Password and typed Secret Key together did not open the profile.
    #[error("wrong password or Secret Key for profile '{profile}'{}", attempts_note(*.attempts_left))]
    WrongPasswordOrSecretKey {
        /// Profile name.
        profile: String,
        /// Attempts left before a lockout, if any are counted.
        attempts_left: Option<u32>,
    },
    /// The profile keeps no Secret Key on this device.
    #[error(
        "profile '{0}' needs its Secret Key: set PVAULT_SECRET_KEY, pass --secret-key-file, or type it at the prompt"
    )]
    SecretKeyRequired(String),
    /// Too many failed attempts: wait before the next one.
    #[error("profile '{profile}': too many failed unlock attempts; try again in {wait_secs} s")]
    TooManyAttempts {
        /// Profile name.
        profile: String,
        /// Seconds until the next attempt is allowed.
        wait_secs: u64,
    },
    /// Locked out.
    #[error(
        "profile '{profile}' is locked out after {failures} failed unlock attempts; try again in {wait_secs} s"
    )]
    LockedOut {
        /// Profile name.
        profile: String,
        /// Failures counted.
        failures: u32,
        /// Seconds until the lockout ends.
        wait_secs: u64,
    },
    /// A record that fails its collection's schema.
    #[error("invalid record: {0}")]
    Schema(#[from] SchemaError),
    /// Data that is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A record over the size limit.
    #[error("record is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Size of the record's encoded data.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A record id that is not allowed.
    #[error(
        "invalid record id '{0}': use 1 to 128 letters, digits and . _ - : @ +, starting with a letter or digit"
    )]
    InvalidRecordId(String),
    /// No such record.
    #[error("no record '{id}' in {collection}")]
    NotFound {
        /// Collection.
        collection: String,
        /// Record id.
        id: String,
    },
    /// A SECRET or TOP_SECRET record needs the password again.
    #[error("{collection}/{id} is {classification}: enter the password again to show it")]
    ReauthRequired {
        /// Collection.
        collection: String,
        /// Record id.
        id: String,
        /// Its classification.
        classification: Classification,
    },
    /// A write below the collection's minimum classification.
    #[error("{collection} records must be at least {min}; {given} was asked for")]
    ClassificationTooLow {
        /// Collection.
        collection: String,
        /// Minimum.
        min: Classification,
        /// What was asked.
        given: Classification,
    },
    /// A record whose envelope does not open.
    #[error(
        "record {collection}/{id} does not decrypt: it was tampered with, corrupted or moved from elsewhere"
    )]
    Tampered {
        /// Collection.
        collection: String,
        /// Record id (or its hidden reference, when the id itself does not open).
        id: String,
    },
    /// Profile data written by a newer pvault.
    #[error(
        "{what} was written by a newer pvault (format {found}; this pvault reads up to {supported}); upgrade pvault"
    )]
    NewerFormat {
        /// Which file.
        what: String,
        /// Version found.
        found: i64,
        /// Version supported.
        supported: i64,
    },
    /// Profile files that do not belong together.
    #[error("profile store {0} is damaged or belongs to another profile")]
    StoreMismatch(PathBuf),
    /// `profile delete` without the exact name.
    #[error("not deleted: --confirm must repeat the profile name exactly ('{0}')")]
    ConfirmationMismatch(String),
    /// An epoch has sealed as many envelopes as its AES-GCM nonce budget allows.
    #[error("key epoch {0} has reached its encryption limit: run `pvault profile rotate-keys`")]
    KeyExhausted(u32),
    /// Rotation found envelopes still under an old epoch (the key_id column disagreed with them).
    #[error(
        "key rotation stopped before destroying the old key: {0} envelope(s) are still sealed under it (the store's key_id column is damaged); run `pvault verify`"
    )]
    RotationIncomplete(usize),
    /// `history` of a collection that keeps only the latest version.
    #[error(
        "{0} keeps only the latest version of a record; version history is kept for breakthroughs"
    )]
    NoHistory(String),
    /// The profile is not unlocked (in the agent).
    #[error(
        "profile '{0}' is locked: run `pvault profile unlock {0}`, or give the password (prompt, --password-file, PVAULT_PASSWORD)"
    )]
    Locked(String),
    /// A re-authentication that could not be checked.
    #[error("re-authentication failed: {0}")]
    ReauthFailed(String),
    /// Another process rotated the profile's keys after this one unlocked it.
    #[error(
        "the profile's keys were rotated by another process since it was unlocked; run the command again"
    )]
    KeysChanged,
    /// The home directory is not usable.
    #[error("{path}: {message}")]
    Home {
        /// Path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An I/O error on a file of the home.
    #[error("{}: {source}", path.display())]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Sync is not configured for the profile.
    #[error(
        "profile '{0}' is not set up for sync: run `pvault sync setup --server URL` (or `pvault sync join` on a new device)"
    )]
    SyncNotSetUp(String),
    /// Sync is already configured.
    #[error("profile '{profile}' already syncs with {server}; run `pvault sync status`")]
    SyncAlreadySetUp {
        /// Profile.
        profile: String,
        /// Server URL.
        server: String,
    },
    /// The server could not be reached.
    #[error(
        "sync server {url} is unreachable: {reason}. Nothing was lost; run `pvault sync` again later"
    )]
    ServerUnreachable {
        /// Server URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server refused a request.
    #[error("sync server refused the request: {message} ({code}, HTTP {status})")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// A record sealed under a key epoch this device does not have (a rotation on another device).
    #[error(
        "a record from the sync server is sealed under key epoch {0}, which this device does not have, and the server's key bundle does not have it either"
    )]
    UnknownEpoch(u32),
    /// The key bundle on the server is wrapped under another password.
    #[error(
        "the profile's password was changed on another device, and the keys added since are wrapped under the new password. This device's records are intact and its changes were pushed; to keep syncing, join again with the new password under another name (`pvault sync join --server URL --username NAME --as NEW-NAME`)"
    )]
    PasswordChangedElsewhere,
    /// This device was removed from the account.
    #[error(
        "this device was removed from the profile's account on {0}: it can no longer sync there. Its records are intact; `pvault sync leave` stops syncing here, then `pvault sync setup` can register the profile on another account or server"
    )]
    DeviceRemoved(String),
    /// The server answered something that is not the protocol.
    #[error("malformed answer from the sync server: {0}")]
    Protocol(String),
    /// The server's log does not extend what this device saw before (rollback, fork, tampering).
    #[error(
        "sync stopped: {0}. Nothing from this answer was applied; the server may have been rolled back or tampered with"
    )]
    SyncIntegrity(String),
    /// A record from the server that does not open with this profile's keys.
    #[error("a record from the sync server does not decrypt with this profile's keys: {0}")]
    SyncTampered(String),
    /// No open conflict by that id.
    #[error("no open conflict #{0} (see `pvault conflicts list`)")]
    UnknownConflict(i64),
    /// No history entry with a recoverable version by that id.
    #[error("sync history entry #{0} has no version to restore (see `pvault sync history`)")]
    NothingToRestore(i64),
    /// SQLite.
    #[error("local store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Cryptography (mostly malformed key files).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

fn attempts_note(left: Option<u32>) -> String {
    match left {
        Some(0) => "; the profile is now locked out".into(),
        Some(1) => "; 1 attempt left before a lockout".into(),
        Some(n) => format!("; {n} attempts left before a lockout"),
        None => String::new(),
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
