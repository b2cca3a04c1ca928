//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use pvault_core::{Classification, SecurityLevel};

/// pvault: end-to-end encrypted profiles for transactions, research, API keys and more.
///
/// Every profile is its own encrypted space with its own keys. Passwords come from a no-echo
/// prompt, --password-file PATH, or PVAULT_PASSWORD.
#[derive(Parser, Debug)]
#[command(
    name = "pvault",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Home directory (default: $XDG_DATA_HOME/pvault or ~/.local/share/pvault).
    #[arg(long, global = true, env = "PVAULT_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Profile to use (default: the current profile, see `pvault profile use`).
    #[arg(
        long,
        short = 'p',
        global = true,
        env = "PVAULT_PROFILE",
        value_name = "NAME"
    )]
    pub profile: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the password from the first line of this file.
    #[arg(long, global = true, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// Read the Secret Key from this file (profiles that do not keep it on the device).
    #[arg(long, global = true, value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    /// Read the re-authentication password (for SECRET and TOP_SECRET records) from this file.
    #[arg(long, global = true, value_name = "PATH")]
    pub reauth_password_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, list, select and manage profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Store a record (insert or update).
    Put(PutArgs),
    /// Show one record.
    Get(RecordRef),
    /// List a collection, optionally filtered by an indexed field.
    List(ListArgs),
    /// Show every signed version of a breakthrough.
    History(RecordRef),
    /// Delete a record (a tombstone is kept for sync).
    Rm(RecordRef),
    /// Check every envelope, id, index entry and signature of the profile; names each bad record.
    Verify,
    /// The profile's audit log: every security event, from every device (see `pvault audit verify`).
    Audit(AuditArgs),
    /// Encrypted, incremental backups of profiles into a repository directory.
    ///
    /// `pvault backup` takes a snapshot of the profile (`--all`: of every profile); the
    /// subcommands make, list, check and restore them (docs/backup.md).
    Backup(Box<BackupArgs>),
    /// Bring in data from another program: the legacy enhanced-database dump, Bitwarden JSON,
    /// 1Password 1PUX, KeePass KDBX or CSV.
    ///
    /// The whole file is checked first (one bad item and nothing is imported), the profile is
    /// backed up, then the items are written in batches; an interrupted migration is finished by
    /// running the same command again, or undone by `pvault migrate rollback` (docs/migration.md).
    Migrate(Box<MigrateArgs>),
    /// The compliance report: what is stored per collection and classification, under which keys,
    /// ciphers and KDF, the devices, the audit log's state and the last repair.
    Report,
    /// Verify, then restore every damaged record from the sync server's copy (says what first).
    Repair(RepairArgs),
    /// Anomalies: failed-unlock bursts, mass deletes, forks, attacks seen by sync, clock skew,
    /// silent devices, a tampered audit log.
    Anomalies,
    /// Run a short demonstration in a temporary home and say what it did.
    Quickstart(QuickstartArgs),
    /// Run the agent in the foreground (it is started on demand by `pvault profile unlock`).
    Agent(AgentArgs),
    /// Sync the profile through a pvault server: push local changes, then pull the others'.
    Sync(SyncArgs),
    /// Conflicts that sync kept for you to settle (strategy `manual`).
    #[command(subcommand)]
    Conflicts(ConflictsCommand),
    /// Run a sync server; it stores sealed records it cannot read.
    Server(ServerArgs),
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SyncArgs {
    #[command(subcommand)]
    pub command: Option<SyncCommand>,
    /// Keep syncing whenever the server announces a change or a record changes here: in the
    /// background in the agent when it holds the profile unlocked, else in the foreground.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: stop the agent's background sync of the profile.
    #[arg(long, requires = "watch")]
    pub stop: bool,
}

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Register the profile and this device on a server and upload the wrapped key bundle.
    Setup {
        /// Server URL, e.g. http://127.0.0.1:8787.
        #[arg(long, value_name = "URL")]
        server: String,
        /// Account name on the server (default: the profile name).
        #[arg(long)]
        username: Option<String>,
        /// This device's name in the account's device list (default: the host name).
        #[arg(long, value_name = "NAME")]
        device_name: Option<String>,
    },
    /// Add this device to a profile registered on a server, with its password and Secret Key
    /// (prompts, or --password-file / PVAULT_PASSWORD and --secret-key-file / PVAULT_SECRET_KEY).
    Join {
        /// Server URL.
        #[arg(long, value_name = "URL")]
        server: String,
        /// The account name given at setup.
        #[arg(long)]
        username: String,
        /// Name of the profile on this device (default: the username).
        #[arg(long = "as", value_name = "PROFILE")]
        local_name: Option<String>,
        /// This device's name in the account's device list (default: the host name).
        #[arg(long, value_name = "NAME")]
        device_name: Option<String>,
    },
    /// Where the profile syncs, what is waiting, and what the server says.
    Status,
    /// Check the server's log against what the other devices signed: a fork (two devices shown
    /// different logs), changes withheld from this device, substituted device keys. Pulls, pushes
    /// nothing. Exits 3 when it finds a problem.
    Verify,
    /// A short code of this device's view of the log. Two devices that show the same code for the
    /// same size were shown the same log; compare it out of band (in person, on a call).
    SafetyCode {
        /// The code for the first N changes (to compare with a device that has pulled fewer).
        #[arg(long, value_name = "N")]
        size: Option<u64>,
    },
    /// What sync did, newest first. Versions a conflict set aside can be restored.
    History {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Remove a device from the account (a lost phone): the server refuses it from then on.
    RemoveDevice {
        /// Device id, as listed by `pvault sync status`.
        device: String,
    },
    /// Stop syncing the profile on this device (records stay; the server is forgotten).
    Leave,
    /// Bring back a version that a conflict resolution set aside (an entry of `pvault sync history`).
    Restore {
        /// History entry id.
        entry: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConflictsCommand {
    /// Conflicts waiting for you, with both versions.
    List,
    /// Settle one conflict.
    Resolve {
        /// Conflict id (from `pvault conflicts list`).
        id: i64,
        /// local: this device's version wins; remote: the record stays as it is; both: the record
        /// stays and this device's version becomes a new record ID.conflict-N.
        #[arg(long, value_enum)]
        keep: KeepArg,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KeepArg {
    Local,
    Remote,
    Both,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Data directory of the embedded SQLite backend (default: HOME/server).
    #[arg(long, value_name = "DIR", conflicts_with = "database_url")]
    pub data: Option<PathBuf>,
    /// Use PostgreSQL instead, e.g. postgres://user@127.0.0.1/pvault.
    // Its value may hold a password: the help never shows it.
    #[arg(
        long,
        env = "PVAULT_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Stop the running agent (locks every profile first).
    #[arg(long)]
    pub stop: bool,
    /// Exit after this long with no profile unlocked (e.g. 10m; default: never).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub exit_when_idle: Option<std::time::Duration>,
}

/// Parses `90`, `90s`, `15m`, `1h`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let err = || format!("invalid duration '{s}': use e.g. 90s, 15m, 1h or 1h30m");
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| err())?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            'y' => 365 * 86400,
            _ => return Err(err()),
        };
    }
    if !num.is_empty() {
        total += num.parse::<u64>().map_err(|_| err())?;
    }
    if s.trim().is_empty() {
        return Err(err());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Create a profile; prints its id and its Secret Key (shown once: write it down).
    Create(CreateArgs),
    /// List profiles.
    List,
    /// Unlock a profile in the agent (started if needed): later commands need no password.
    Unlock {
        /// Profile name (default: current).
        name: Option<String>,
    },
    /// Lock a profile in the agent (its keys and cache are zeroized), or every profile.
    Lock {
        /// Profile name (default: current).
        name: Option<String>,
        /// Lock every profile.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// Which profiles are unlocked in the agent, and when they lock.
    Status,
    /// Change a profile setting: auto-lock DURATION, reauth-window DURATION, monitor DURATION|off,
    /// audit-retention DURATION|off, conflict-strategy STRATEGY [--collection C],
    /// device-rank DEVICE,DEVICE,..., backup-schedule hourly|daily|weekly|DURATION|off [--repo DIR],
    /// backup-keep daily=7,weekly=4,...|off
    Set {
        /// auto-lock, reauth-window, monitor (how often the agent checks for anomalies),
        /// audit-retention (older audit entries are summarised), conflict-strategy, device-rank,
        /// backup-schedule (the agent backs the unlocked profile up to --repo) or backup-keep
        /// (the retention applied after each scheduled backup).
        setting: String,
        /// A duration like 90s, 15m, 1h, 2y; a strategy (timestamp, profile-priority, merge, manual,
        /// security-first); device ids in priority order, comma-separated; "default" restores the
        /// default ("off" for monitor).
        value: String,
        /// For conflict-strategy: set it for this collection only.
        #[arg(long)]
        collection: Option<String>,
        /// For backup-schedule: the repository (made by `pvault backup init`).
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
    },
    /// Make a profile the current one (when it is unlocked in the agent: no password, no KDF).
    Use {
        /// Profile name.
        name: String,
    },
    /// Show a profile's details (no password needed).
    Show {
        /// Profile name (default: current).
        name: Option<String>,
    },
    /// Change the password: rewraps the keys, re-encrypts nothing.
    Passwd {
        /// Read the new password from this file (else PVAULT_NEW_PASSWORD, else a prompt typed twice).
        #[arg(long, value_name = "PATH")]
        new_password_file: Option<PathBuf>,
    },
    /// Start a new key epoch, reseal every record under it (resumable), destroy the old epoch.
    RotateKeys,
    /// Export a profile to an age file that `age -d` opens anywhere.
    ///
    /// Every record (SECRET ones too, so the password is asked again), breakthrough versions,
    /// settings and the audit log, as JSON Lines under a signed manifest (docs/export.md).
    Export(ExportArgs),
    /// Import an export as a new profile (new keys, new Secret Key), all or nothing.
    ///
    /// The whole file is checked before anything is written, and the profile appears only once
    /// all of it is in.
    Import(ImportArgs),
    /// Delete a profile for good: its keys are destroyed first, then its files.
    Delete {
        /// Profile name.
        name: String,
        /// Must repeat the profile name exactly.
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Profile name (default: current).
    pub name: Option<String>,
    /// The file to write (created, never overwritten).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Encrypt to this age recipient (age1…, e.g. from `age-keygen`); may be repeated.
    #[arg(
        long,
        short = 'r',
        value_name = "RECIPIENT",
        conflicts_with = "passphrase"
    )]
    pub recipient: Vec<String>,
    /// Encrypt to a passphrase (scrypt, work factor 18; from --passphrase-file, else
    /// PVAULT_EXPORT_PASSPHRASE, else a prompt typed twice).
    #[arg(long)]
    pub passphrase: bool,
    /// Read the passphrase from this file (implies --passphrase).
    #[arg(long, value_name = "PATH", conflicts_with = "recipient")]
    pub passphrase_file: Option<PathBuf>,
    /// ASCII-armor the file (PEM-like text).
    #[arg(long, short = 'a')]
    pub armor: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The export (binary or armored age file).
    pub file: PathBuf,
    /// Name of the new profile (default: the exported profile's name).
    #[arg(long = "as", value_name = "NAME")]
    pub as_name: Option<String>,
    /// An age identity file (from `age-keygen`) for a file encrypted to a recipient; without it
    /// the file's passphrase is asked for.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Read the file's passphrase from this file (else PVAULT_EXPORT_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "PATH", conflicts_with = "identity")]
    pub passphrase_file: Option<PathBuf>,
    /// Refuse the file unless its manifest is signed by this profile identity (hex, from
    /// `pvault profile show` on the exporting device).
    #[arg(long, value_name = "HEX")]
    pub signed_by: Option<String>,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Unique profile name (letters, digits, '.', '_', '-').
    pub name: String,
    /// Display name.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Security level: KDF cost, Secret Key handling, default classification, lockout.
    #[arg(long, default_value = "standard")]
    pub security: SecurityLevel,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    /// Collection: transactions, breakthroughs, api_keys, settings, blocks, research, or your own.
    pub collection: String,
    /// Record id (default: a new random id).
    #[arg(long)]
    pub id: Option<String>,
    /// PUBLIC, INTERNAL, CONFIDENTIAL, SECRET or TOP_SECRET.
    #[arg(long, short = 'c')]
    pub classification: Option<Classification>,
    /// The record as JSON, or @FILE to read it from a file; stdin when absent.
    #[arg(long, short = 'd', value_name = "JSON|@FILE")]
    pub data: Option<String>,
    /// Read JSON lines `{"id"?, "classification"?, "data"}`, one record each; each line is committed
    /// and acknowledged (its id printed) before the next is read.
    #[arg(long, conflicts_with_all = ["id", "classification"])]
    pub lines: bool,
}

#[derive(Args, Debug)]
pub struct RecordRef {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Collection.
    pub collection: String,
    /// Equality filter on an indexed field, FIELD=VALUE.
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub filter: Option<String>,
    /// Ask for the password again and show SECRET and TOP_SECRET records too.
    #[arg(long)]
    pub reveal: bool,
    /// Show at most N records; the cursor of the rest is printed (`next` with --json).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Go on after the cursor a limited listing printed.
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
}

#[derive(Args, Debug)]
pub struct QuickstartArgs {
    /// Keep the temporary home afterwards (its path is printed).
    #[arg(long)]
    pub keep: bool,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The repository: a directory made by `pvault backup init` (else PVAULT_BACKUP_REPO).
    #[arg(
        long,
        short = 'r',
        value_name = "DIR",
        env = "PVAULT_BACKUP_REPO",
        global = true
    )]
    pub repo: Option<PathBuf>,
    /// Back up every profile of this home (each unlocked with its password).
    #[arg(long)]
    pub all: bool,
    /// Read every record again instead of only what changed since the last snapshot (what the
    /// repository already holds is still not written twice).
    #[arg(long)]
    pub full: bool,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub command: Option<MigrateCommand>,
    /// The file's format: legacy, bitwarden, 1pux, kdbx or csv.
    #[arg(long, value_name = "FORMAT")]
    pub from: Option<String>,
    /// The file to migrate.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Say what would be imported and skipped, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The backup repository for the snapshot taken first (else PVAULT_BACKUP_REPO, else the
    /// profile's scheduled-backup repository, else `backups` in the pvault home, made if needed).
    #[arg(long, short = 'r', value_name = "DIR", env = "PVAULT_BACKUP_REPO")]
    pub repo: Option<PathBuf>,
    /// CSV: the collection every row goes to (default: a password-manager CSV into `logins`).
    #[arg(long, value_name = "NAME")]
    pub collection: Option<String>,
    /// KeePass: read the database's password from the first line of this file (else
    /// PVAULT_KDBX_PASSWORD, else a prompt).
    #[arg(long, value_name = "PATH")]
    pub kdbx_password_file: Option<PathBuf>,
    /// KeePass: the database's key file.
    #[arg(long, value_name = "PATH")]
    pub kdbx_key_file: Option<PathBuf>,
    /// KeePass: the database has no password, only a key file (do not ask for one).
    #[arg(long, requires = "kdbx_key_file")]
    pub kdbx_no_password: bool,
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// The profile's migrations and where each is (running, finished, rolled back).
    List,
    /// Remove every record a migration wrote (the newest one not rolled back, or ID), in one
    /// transaction; the backup taken before it stays in its repository.
    Rollback {
        /// The migration's id (or a unique start of it).
        id: Option<String>,
        /// Also remove records that were changed after the migration wrote them.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Make DIR a backup repository (a new or empty directory, on any mounted disk).
    Init {
        /// The directory.
        dir: PathBuf,
    },
    /// The snapshots in the repository, oldest first (no password needed).
    List,
    /// Check a snapshot: every file it needs read and authenticated, then it is restored into a
    /// scratch home and verified there (exit code 3 on damage).
    Verify {
        /// Snapshot id (or a unique start of it; default: the latest).
        snapshot: Option<String>,
        /// Also read and authenticate every blob of the profile's other snapshots.
        #[arg(long)]
        read_data: bool,
    },
    /// Remove snapshots by a retention policy (restic's `forget` rules, per profile, in UTC);
    /// their blobs go with `backup prune`.
    Forget(Box<ForgetArgs>),
    /// Remove the blobs and key files no snapshot needs (what `forget` and cut-short backups
    /// leave).
    Prune {
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Restore a snapshot as a profile of this home, with its password (and Secret Key) only.
    Restore {
        /// Snapshot id (or a unique start of it; default: the latest).
        snapshot: Option<String>,
        /// Name of the restored profile (default: its name in the snapshot).
        #[arg(long = "as", value_name = "NAME")]
        as_name: Option<String>,
        /// Restore only this record, into the living profile, as a new version of it.
        #[arg(long, value_name = "COLLECTION/ID", conflicts_with = "as_name")]
        record: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct ForgetArgs {
    /// Keep the newest N snapshots (`unlimited` or -1: all).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_last: Option<String>,
    /// Keep the newest snapshot of each of the newest N hours that have one.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_hourly: Option<String>,
    /// … of each of the newest N days.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_daily: Option<String>,
    /// … of each of the newest N ISO weeks.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_weekly: Option<String>,
    /// … of each of the newest N months.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_monthly: Option<String>,
    /// … of each of the newest N years.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_yearly: Option<String>,
    /// Keep every snapshot within this of the newest one (1y5m7d2h: years, months, days, hours).
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<String>,
    /// Keep the newest snapshot of each day within this of the newest one (and -hourly, -weekly,
    /// -monthly, -yearly below).
    #[arg(long, value_name = "DURATION")]
    pub keep_within_daily: Option<String>,
    #[arg(long, value_name = "DURATION", hide = true)]
    pub keep_within_hourly: Option<String>,
    #[arg(long, value_name = "DURATION", hide = true)]
    pub keep_within_weekly: Option<String>,
    #[arg(long, value_name = "DURATION", hide = true)]
    pub keep_within_monthly: Option<String>,
    #[arg(long, value_name = "DURATION", hide = true)]
    pub keep_within_yearly: Option<String>,
    /// Only print the plan: what is kept (and why) and what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Prune afterwards.
    #[arg(long, conflicts_with = "dry_run")]
    pub prune: bool,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only entries since this time: a date (2026-11-30), an RFC 3339 time, or an age (90m, 12h, 7d).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only entries of this kind (unlocked, unlock_failed, record_deleted, synced, ...).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Only entries written by this device (its id, or the start of it).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check every entry, MAC and signed checkpoint; names each entry that was modified, moved,
    /// removed or cut off, and each forged checkpoint (exit code 3 when there is one).
    Verify,
    /// Write the whole log as a signed document that can be checked without the password
    /// (entries stay sealed).
    Export {
        /// Write to this file (created, not overwritten) instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check an export made by `pvault audit export`; needs no profile and no password.
    CheckExport {
        /// The export.
        file: PathBuf,
        /// The profile's public identity key (hex, from `pvault profile show`) the export must be
        /// signed by; without it, only the export's own consistency is checked.
        #[arg(long, value_name = "HEX")]
        identity: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// Only say what would be repaired, and from where.
    #[arg(long)]
    pub dry_run: bool,
}
