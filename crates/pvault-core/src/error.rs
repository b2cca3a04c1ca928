//! The one error type of pvault-core.
//!
//! Every message names the problem; none contains a secret (passwords, keys and record contents
//! never reach an error) and none names a command or a flag: this library is called by the CLI,
//! the agent and the dashboard, and each of them says what to do next in its own words (the CLI
//! adds its hints in `pvault-cli/src/hints.rs`). Callers tell errors apart with [`Error::kind`],
//! the predicates built on it (`is_locked()`, `is_wrong_password()`…) and [`Error::code`], a
//! stable name for each variant that also crosses the agent's socket.

use std::path::PathBuf;

use pvault_crypto::{Classification, CryptoError};

use pvault_model::models::SchemaError;

/// Everything that can go wrong in pvault-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No profile by that name.
    #[error("no profile named '{0}'")]
    UnknownProfile(String),
    /// A retention policy that cannot be applied (empty, or a bad count or duration).
    #[error("retention policy: {0}")]
    InvalidPolicy(String),
    /// A file of a backup repository that is missing, does not decrypt, or does not check out.
    #[error("backup repository damaged: {}: {problem}", path.display())]
    BackupDamaged {
        /// The file (or the repository).
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// An export file that does not open, or whose contents do not check out.
    #[error("{}: {source}", path.display())]
    Export {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: pvault_export::Error,
    },
    /// A file to migrate from that does not read, or an item of it that does not fit its
    /// collection (nothing is imported).
    #[error("{}: {source}", path.display())]
    Migration {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: pvault_migrate::Error,
    },
    /// A migration that cannot start, resume or roll back as asked (already done, another one
    /// unfinished, records changed since).
    #[error("{}{problem}", if id.is_empty() { String::new() } else { format!("migration {id}: ") })]
    MigrationState {
        /// The migration's id ("" when there is none).
        id: String,
        /// What stands in the way.
        problem: String,
    },
    /// Profile names are unique per home.
    #[error("a profile named '{0}' already exists")]
    ProfileExists(String),
    /// A profile name that is not allowed.
    #[error(
        "invalid profile name '{0}': use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    )]
    InvalidProfileName(String),
    /// No `--profile` and no current profile.
    #[error("no profile selected")]
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
    #[error("profile '{0}' needs its Secret Key")]
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
    /// A collection name that is not allowed.
    #[error("{0}")]
    InvalidCollection(SchemaError),
    /// A query on a field that has no blind index, or a value that field cannot hold.
    #[error("invalid query: {0}")]
    InvalidQuery(SchemaError),
    /// A listing cursor that is not one a listing gave.
    #[error("invalid listing cursor '{0}': expected one given as the next page of a listing")]
    InvalidCursor(String),
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
    /// A key file that is damaged: it does not decode, its checksum does not match, or its keys open
    /// only in part. Never a wrong password, and never counted as a failed unlock.
    #[error(
        "the key file of profile '{profile}' ({}) is damaged: {reason}. This is not a wrong password, and no failed unlock was counted. Restore the file from a backup or from another device of this profile, or join the profile again through sync",
        path.display()
    )]
    KeyFileDamaged {
        /// Profile name.
        profile: String,
        /// The key file.
        path: PathBuf,
        /// Which check failed (never a secret).
        reason: String,
    },
    /// Profile files that do not belong together.
    #[error("profile store {0} is damaged or belongs to another profile")]
    StoreMismatch(PathBuf),
    /// `profile delete` without the exact name.
    #[error("not deleted: the confirmation must repeat the profile name exactly ('{0}')")]
    ConfirmationMismatch(String),
    /// An epoch has sealed as many envelopes as its AES-GCM nonce budget allows.
    #[error("key epoch {0} has reached its encryption limit")]
    KeyExhausted(u32),
    /// Rotation found envelopes still under an old epoch (the key_id column disagreed with them).
    #[error(
        "key rotation stopped before destroying the old key: {0} envelope(s) are still sealed under it (the store's key_id column is damaged)"
    )]
    RotationIncomplete(usize),
    /// `history` of a collection that keeps only the latest version.
    #[error(
        "{0} keeps only the latest version of a record; version history is kept for breakthroughs"
    )]
    NoHistory(String),
    /// The profile is not unlocked (in the agent).
    #[error("profile '{0}' is locked")]
    Locked(String),
    /// A re-authentication that could not be checked.
    #[error("re-authentication failed: {0}")]
    ReauthFailed(String),
    /// Another process rotated the profile's keys after this one unlocked it.
    #[error(
        "the profile's keys were rotated by another process since it was unlocked; run the command again"
    )]
    KeysChanged,
    /// No home directory given, and the platform has none (neither `XDG_DATA_HOME` nor `HOME`).
    #[error("~: neither XDG_DATA_HOME nor HOME is set")]
    NoDefaultHome,
    /// No account by that username on the server.
    #[error("no account named '{username}' on {server}")]
    UnknownAccount {
        /// The username asked for.
        username: String,
        /// Server URL.
        server: String,
    },
    /// Not a device id.
    #[error("'{0}' is not a device id (32 hex digits)")]
    InvalidDeviceId(String),
    /// A safety code asked for more changes than this device has pulled.
    #[error(
        "this device has pulled {pulled} change(s) of the log, fewer than the {asked} asked for"
    )]
    NotPulledThatFar {
        /// Changes pulled.
        pulled: u64,
        /// Changes asked for.
        asked: u64,
    },
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
    #[error("profile '{0}' is not set up for sync")]
    SyncNotSetUp(String),
    /// Sync is already configured.
    #[error("profile '{profile}' already syncs with {server}")]
    SyncAlreadySetUp {
        /// Profile.
        profile: String,
        /// Server URL.
        server: String,
    },
    /// A server URL that is not one.
    #[error("'{url}' is {reason}")]
    InvalidServerUrl {
        /// What was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached.
    #[error("sync server {url} is unreachable: {reason}. Nothing was lost")]
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
        "the profile's password was changed on another device, and the keys added since are wrapped under the new password. This device's records are intact and its changes were pushed; to keep syncing, join again with the new password under another name"
    )]
    PasswordChangedElsewhere,
    /// This device was removed from the account.
    #[error(
        "this device was removed from the profile's account on {0}: it can no longer sync there. Its records are intact"
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
    #[error("no open conflict #{0}")]
    UnknownConflict(i64),
    /// No history entry with a recoverable version by that id.
    #[error("sync history entry #{0} has no version to restore")]
    NothingToRestore(i64),
    /// An audit event kind that does not exist.
    #[error("unknown audit event kind '{name}' (one of: {known})")]
    UnknownEventKind {
        /// What was given.
        name: String,
        /// The kinds there are, comma-separated.
        known: String,
    },
    /// The audit log could not be written, so the action it would record was not done.
    #[error("the audit log cannot be written ({0}); nothing was changed")]
    AuditUnavailable(String),
    /// SQLite.
    #[error("local store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Cryptography (mostly malformed key files).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// What kind of failure an error is: what a caller (CLI, agent, dashboard) reacts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request itself is wrong (a name, an id, a record, a setting): fix it and try again.
    BadInput,
    /// No such profile, record, account, conflict or history entry.
    NotFound,
    /// Wrong password or Secret Key, or a re-authentication that failed.
    WrongCredentials,
    /// Too many failed attempts: wait.
    LockedOut,
    /// The profile is not unlocked (in the agent).
    Locked,
    /// A SECRET or TOP_SECRET record needs the password again.
    ReauthRequired,
    /// Data that does not check out: tampered, corrupted, misplaced, or a server that lies.
    Damaged,
    /// Written by a newer pvault.
    NewerFormat,
    /// An epoch's encryption budget is spent: rotate the keys.
    NeedsRotation,
    /// Something changed meanwhile (another process rotated the keys): run it again.
    Retry,
    /// The sync server could not be reached.
    Unavailable,
    /// The sync server refused.
    Refused,
    /// A file or the local database failed.
    Io,
}

impl Error {
    /// A stable snake_case name of this error (the variant), for programs and the agent's socket.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownProfile(_) => "unknown_profile",
            Error::Export { source, .. } => export_code(source),
            Error::Migration { source, .. } => migration_code(source),
            Error::MigrationState { .. } => "migration_state",
            Error::BackupDamaged { .. } => "backup_damaged",
            Error::InvalidPolicy(_) => "invalid_policy",
            Error::ProfileExists(_) => "profile_exists",
            Error::InvalidProfileName(_) => "invalid_profile_name",
            Error::NoCurrentProfile => "no_current_profile",
            Error::WrongPassword { .. } => "wrong_password",
            Error::WrongPasswordOrSecretKey { .. } => "wrong_password_or_secret_key",
            Error::SecretKeyRequired(_) => "secret_key_required",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::LockedOut { .. } => "locked_out",
            Error::Schema(_) => "schema",
            Error::InvalidCollection(_) => "invalid_collection",
            Error::InvalidQuery(_) => "invalid_query",
            Error::InvalidCursor(_) => "invalid_cursor",
            Error::Json(_) => "json",
            Error::TooLarge { .. } => "too_large",
            Error::InvalidRecordId(_) => "invalid_record_id",
            Error::NotFound { .. } => "not_found",
            Error::ReauthRequired { .. } => "reauth_required",
            Error::ClassificationTooLow { .. } => "classification_too_low",
            Error::Tampered { .. } => "tampered",
            Error::NewerFormat { .. } => "newer_format",
            Error::KeyFileDamaged { .. } => "key_file_damaged",
            Error::StoreMismatch(_) => "store_mismatch",
            Error::ConfirmationMismatch(_) => "confirmation_mismatch",
            Error::KeyExhausted(_) => "key_exhausted",
            Error::RotationIncomplete(_) => "rotation_incomplete",
            Error::NoHistory(_) => "no_history",
            Error::Locked(_) => "locked",
            Error::ReauthFailed(_) => "reauth_failed",
            Error::KeysChanged => "keys_changed",
            Error::NoDefaultHome => "no_default_home",
            Error::UnknownAccount { .. } => "unknown_account",
            Error::InvalidDeviceId(_) => "invalid_device_id",
            Error::NotPulledThatFar { .. } => "not_pulled_that_far",
            Error::Home { .. } => "home",
            Error::Io { .. } => "io",
            Error::SyncNotSetUp(_) => "sync_not_set_up",
            Error::SyncAlreadySetUp { .. } => "sync_already_set_up",
            Error::InvalidServerUrl { .. } => "invalid_server_url",
            Error::ServerUnreachable { .. } => "server_unreachable",
            Error::Server { .. } => "server",
            Error::UnknownEpoch(_) => "unknown_epoch",
            Error::PasswordChangedElsewhere => "password_changed_elsewhere",
            Error::DeviceRemoved(_) => "device_removed",
            Error::Protocol(_) => "protocol",
            Error::SyncIntegrity(_) => "sync_integrity",
            Error::SyncTampered(_) => "sync_tampered",
            Error::UnknownConflict(_) => "unknown_conflict",
            Error::NothingToRestore(_) => "nothing_to_restore",
            Error::UnknownEventKind { .. } => "unknown_event_kind",
            Error::AuditUnavailable(_) => "audit_unavailable",
            Error::Sqlite(_) => "sqlite",
            Error::Crypto(_) => "crypto",
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnknownProfile(_) => ErrorKind::NotFound,
            Error::Export { source, .. } => export_kind(source),
            Error::Migration { source, .. } => match source {
                pvault_migrate::Error::Key(_) => ErrorKind::WrongCredentials,
                _ => ErrorKind::BadInput,
            },
            Error::MigrationState { .. } => ErrorKind::BadInput,
            Error::BackupDamaged { .. } => ErrorKind::Damaged,
            Error::InvalidPolicy(_) => ErrorKind::BadInput,
            Error::ProfileExists(_) => ErrorKind::BadInput,
            Error::InvalidProfileName(_) => ErrorKind::BadInput,
            Error::NoCurrentProfile => ErrorKind::BadInput,
            Error::WrongPassword { .. } => ErrorKind::WrongCredentials,
            Error::WrongPasswordOrSecretKey { .. } => ErrorKind::WrongCredentials,
            Error::SecretKeyRequired(_) => ErrorKind::WrongCredentials,
            Error::TooManyAttempts { .. } => ErrorKind::LockedOut,
            Error::LockedOut { .. } => ErrorKind::LockedOut,
            Error::Schema(_) => ErrorKind::BadInput,
            Error::InvalidCollection(_) => ErrorKind::BadInput,
            Error::InvalidQuery(_) => ErrorKind::BadInput,
            Error::InvalidCursor(_) => ErrorKind::BadInput,
            Error::Json(_) => ErrorKind::BadInput,
            Error::TooLarge { .. } => ErrorKind::BadInput,
            Error::InvalidRecordId(_) => ErrorKind::BadInput,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::ReauthRequired { .. } => ErrorKind::ReauthRequired,
            Error::ClassificationTooLow { .. } => ErrorKind::BadInput,
            Error::Tampered { .. } => ErrorKind::Damaged,
            Error::NewerFormat { .. } => ErrorKind::NewerFormat,
            Error::KeyFileDamaged { .. } => ErrorKind::Damaged,
            Error::StoreMismatch(_) => ErrorKind::Damaged,
            Error::ConfirmationMismatch(_) => ErrorKind::BadInput,
            Error::KeyExhausted(_) => ErrorKind::NeedsRotation,
            Error::RotationIncomplete(_) => ErrorKind::Damaged,
            Error::NoHistory(_) => ErrorKind::BadInput,
            Error::Locked(_) => ErrorKind::Locked,
            Error::ReauthFailed(_) => ErrorKind::WrongCredentials,
            Error::KeysChanged => ErrorKind::Retry,
            Error::NoDefaultHome => ErrorKind::BadInput,
            Error::UnknownAccount { .. } => ErrorKind::NotFound,
            Error::InvalidDeviceId(_) => ErrorKind::BadInput,
            Error::NotPulledThatFar { .. } => ErrorKind::BadInput,
            Error::Home { .. } => ErrorKind::Io,
            Error::Io { .. } => ErrorKind::Io,
            Error::SyncNotSetUp(_) => ErrorKind::BadInput,
            Error::SyncAlreadySetUp { .. } => ErrorKind::BadInput,
            Error::InvalidServerUrl { .. } => ErrorKind::BadInput,
            Error::ServerUnreachable { .. } => ErrorKind::Unavailable,
            Error::Server { .. } => ErrorKind::Refused,
            Error::UnknownEpoch(_) => ErrorKind::Damaged,
            Error::PasswordChangedElsewhere => ErrorKind::WrongCredentials,
            Error::DeviceRemoved(_) => ErrorKind::Refused,
            Error::Protocol(_) => ErrorKind::Damaged,
            Error::SyncIntegrity(_) => ErrorKind::Damaged,
            Error::SyncTampered(_) => ErrorKind::Damaged,
            Error::UnknownConflict(_) => ErrorKind::NotFound,
            Error::NothingToRestore(_) => ErrorKind::NotFound,
            Error::UnknownEventKind { .. } => ErrorKind::BadInput,
            Error::AuditUnavailable(_) => ErrorKind::Io,
            Error::Sqlite(_) => ErrorKind::Io,
            Error::Crypto(_) => ErrorKind::Damaged,
        }
    }

    /// The profile the error is about, when it names one.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Error::UnknownProfile(p)
            | Error::SecretKeyRequired(p)
            | Error::Locked(p)
            | Error::SyncNotSetUp(p)
            | Error::WrongPassword { profile: p, .. }
            | Error::WrongPasswordOrSecretKey { profile: p, .. }
            | Error::TooManyAttempts { profile: p, .. }
            | Error::LockedOut { profile: p, .. }
            | Error::KeyFileDamaged { profile: p, .. }
            | Error::SyncAlreadySetUp { profile: p, .. } => Some(p),
            _ => None,
        }
    }

    /// The profile is not unlocked.
    pub fn is_locked(&self) -> bool {
        self.kind() == ErrorKind::Locked
    }

    /// A wrong password (or password and Secret Key).
    pub fn is_wrong_password(&self) -> bool {
        matches!(
            self,
            Error::WrongPassword { .. } | Error::WrongPasswordOrSecretKey { .. }
        )
    }

    /// Too many failed attempts.
    pub fn is_locked_out(&self) -> bool {
        self.kind() == ErrorKind::LockedOut
    }

    /// The record needs a fresh re-authentication.
    pub fn is_reauth_required(&self) -> bool {
        self.kind() == ErrorKind::ReauthRequired
    }

    /// Something asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// Damaged data (never a wrong password).
    pub fn is_damaged(&self) -> bool {
        self.kind() == ErrorKind::Damaged
    }

    /// The request was wrong; nothing changed.
    pub fn is_bad_input(&self) -> bool {
        self.kind() == ErrorKind::BadInput
    }

    /// The sync server could not be reached.
    pub fn is_unreachable(&self) -> bool {
        self.kind() == ErrorKind::Unavailable
    }
}

fn export_code(e: &pvault_export::Error) -> &'static str {
    use pvault_export::Error as E;
    match e {
        E::Io(_) => "io",
        E::NotAge => "export_not_age",
        E::Header(_) => "export_header",
        E::HeaderMac => "export_header_mac",
        E::NoMatch(_) => "export_no_match",
        E::Payload(_) => "export_damaged",
        E::Armor(_) => "export_armor",
        E::IdentityFile { .. } => "identity_file",
        E::Recipient(_) => "age_recipient",
        E::Format(_) => "export_format",
        E::NewerFormat { .. } => "newer_format",
        E::Tampered(_) => "export_tampered",
    }
}

fn migration_code(e: &pvault_migrate::Error) -> &'static str {
    use pvault_migrate::Error as E;
    match e {
        E::NotFormat { .. } => "migrate_not_format",
        E::Encrypted { .. } => "migrate_encrypted",
        E::Version { .. } => "migrate_version",
        E::Malformed { .. } => "migrate_malformed",
        E::Key(_) => "migrate_key",
    }
}

fn export_kind(e: &pvault_export::Error) -> ErrorKind {
    use pvault_export::Error as E;
    match e {
        E::Io(_) => ErrorKind::Io,
        E::NoMatch(_) => ErrorKind::WrongCredentials,
        E::HeaderMac | E::Payload(_) | E::Tampered(_) => ErrorKind::Damaged,
        E::NewerFormat { .. } => ErrorKind::NewerFormat,
        _ => ErrorKind::BadInput,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_no_command_or_flag() {
        let samples = [
            Error::UnknownProfile("a".into()),
            Error::NoCurrentProfile,
            Error::SecretKeyRequired("a".into()),
            Error::ConfirmationMismatch("a".into()),
            Error::KeyExhausted(1),
            Error::RotationIncomplete(2),
            Error::Locked("a".into()),
            Error::SyncNotSetUp("a".into()),
            Error::SyncAlreadySetUp {
                profile: "a".into(),
                server: "http://s".into(),
            },
            Error::ServerUnreachable {
                url: "http://s".into(),
                reason: "refused".into(),
            },
            Error::PasswordChangedElsewhere,
            Error::DeviceRemoved("http://s".into()),
            Error::UnknownConflict(3),
            Error::NothingToRestore(4),
            Error::NoDefaultHome,
            Error::UnknownAccount {
                username: "a".into(),
                server: "http://s".into(),
            },
            Error::InvalidDeviceId("x".into()),
            Error::NotPulledThatFar {
                pulled: 3,
                asked: 9,
            },
            Error::KeyFileDamaged {
                profile: "a".into(),
                path: "/h/key.json".into(),
                reason: "the checksum does not match the file's contents".into(),
            },
        ];
        for e in samples {
            let text = e.to_string();
            assert!(
                !text.contains("pvault ") && !text.contains("--"),
                "{}: {text}",
                e.code()
            );
        }
    }

    #[test]
    fn kinds_and_predicates() {
        let locked = Error::Locked("alice".into());
        assert!(locked.is_locked() && !locked.is_damaged());
        assert_eq!(locked.profile(), Some("alice"));
        assert_eq!(locked.code(), "locked");
        let wrong = Error::WrongPasswordOrSecretKey {
            profile: "alice".into(),
            attempts_left: Some(2),
        };
        assert!(wrong.is_wrong_password());
        assert_eq!(wrong.kind(), ErrorKind::WrongCredentials);
        let tampered = Error::Tampered {
            collection: "c".into(),
            id: "i".into(),
        };
        assert!(tampered.is_damaged() && !tampered.is_wrong_password());
        let key_file = Error::KeyFileDamaged {
            profile: "alice".into(),
            path: "/h/key.json".into(),
            reason: "r".into(),
        };
        assert!(key_file.is_damaged() && !key_file.is_wrong_password());
        assert_eq!(key_file.code(), "key_file_damaged");
        assert_eq!(key_file.profile(), Some("alice"));
        assert!(
            Error::NotFound {
                collection: "c".into(),
                id: "i".into()
            }
            .is_not_found()
        );
    }
}
