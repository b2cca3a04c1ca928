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
    /// Run a short demonstration in a temporary home and say what it did.
    Quickstart(QuickstartArgs),
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Create a profile; prints its id and its Secret Key (shown once: write it down).
    Create(CreateArgs),
    /// List profiles.
    List,
    /// Make a profile the current one.
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
}

#[derive(Args, Debug)]
pub struct QuickstartArgs {
    /// Keep the temporary home afterwards (its path is printed).
    #[arg(long)]
    pub keep: bool,
}
