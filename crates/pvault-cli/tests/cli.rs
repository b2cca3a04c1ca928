//! End-to-end tests of the `pvault` binary, run as a user would: every test has its own temporary
//! home, passwords come from the environment or files, and stdin is never a terminal.
//!
//! One test binary (to keep link time down); the modules are in `tests/cli/`.

#[path = "cli/agent.rs"]
mod agent;
#[path = "cli/audit.rs"]
mod audit;
#[path = "cli/backup.rs"]
mod backup;
#[path = "cli/bad_input.rs"]
mod bad_input;
#[path = "cli/cli_support.rs"]
mod cli_support;
#[path = "cli/compat.rs"]
mod compat;
#[path = "cli/crash.rs"]
mod crash;
#[path = "cli/export.rs"]
mod export;
#[path = "cli/listing.rs"]
mod listing;
#[path = "cli/migrate.rs"]
mod migrate;
#[path = "cli/profiles.rs"]
mod profiles;
#[path = "cli/records.rs"]
mod records;
#[path = "cli/sync.rs"]
mod sync;
#[path = "cli/tls.rs"]
mod tls;
