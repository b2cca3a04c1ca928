//! The sync operations on an unlocked profile: one sync (push then pull, resumable), the state,
//! and the history.

use std::ops::Not;

use super::engine::{Engine, Phase};
use super::state::{SyncReport, SyncStatus, config};
use super::{account, bundle};
use crate::audit::{Event, EventKind};
use crate::error::{Error, Result};
use crate::store::{self, sync_log::HistoryEntry};
use crate::vault::Vault;
use pvault_model::Policy;

/// Pulls the others' changes, pushes local ones, pulls again. Resumable: run it again after any
/// failure. A server caught lying (see `engine.rs`) stops it with [`Error::SyncIntegrity`], raises
/// the `sync_integrity` anomaly (an audit entry) and keeps every local version.
///
/// When the server holds records sealed under a key epoch this device lacks (another device
/// rotated the keys), the new epochs are taken from the server's key bundle and the sync runs again.
pub fn sync(
    vault: &mut Vault,
    policy: &Policy,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<SyncReport> {
    let mut adopted = false;
    loop {
        let checked = bundle::adopt_newer_bundle(vault);
        let outcome = checked.and_then(|()| {
            let mut engine = Engine::open(vault, policy)?;
            engine.run(progress).map(|()| engine.report.clone())
        });
        match outcome {
            Ok(report) => {
                // Only a sync that moved records is an event: one that moved only audit entries
                // would otherwise make the devices' background syncs answer each other forever.
                if report.pushed + report.pulled + report.conflicts > 0 {
                    vault.record_now(
                        Event::new(EventKind::Synced)
                            .with("pushed", report.pushed)
                            .with("pulled", report.pulled)
                            .with("conflicts", report.conflicts)
                            .with("kept_for_user", report.kept_for_user)
                            .with("head_seq", report.head_seq),
                    )?;
                }
                return Ok(report);
            }
            Err(Error::UnknownEpoch(id)) if !adopted => {
                adopted = true;
                if !bundle::adopt_bundle(vault)?.contains(&id)
                    && vault.key_ids().contains(&id).not()
                {
                    return Err(Error::UnknownEpoch(id));
                }
            }
            Err(e) => {
                if matches!(e, Error::SyncIntegrity(_) | Error::SyncTampered(_)) {
                    vault.raise_now(
                        crate::integrity::Anomaly::new(
                            "sync_integrity",
                            vault.log().device,
                            store::now_ms(),
                        )
                        .with("error", e.code())
                        .with("detail", e.to_string()),
                    );
                }
                return Err(e);
            }
        }
    }
}

/// Local sync state, and the server's view when `ask_server`.
pub fn status(vault: &Vault, ask_server: bool) -> Result<SyncStatus> {
    let conn = vault.conn();
    let config = config(vault)?;
    let (server, server_error) = match (&config, ask_server) {
        (Some(_), true) => match account::account_info(vault) {
            Ok(info) => (Some(info), None),
            Err(e) => (None, Some(e.to_string())),
        },
        _ => (None, None),
    };
    Ok(SyncStatus {
        config,
        pulled_seq: store::meta_u64(conn, store::SYNC_PULLED_SEQ)?,
        pending: store::dirty_count(conn)?,
        open_conflicts: store::open_conflict_count(conn)?,
        last_sync: store::meta_u64(conn, store::SYNC_LAST_SYNC)?,
        server,
        server_error,
    })
}

/// The newest `limit` entries of the sync history, newest first.
pub fn history(vault: &Vault, limit: usize) -> Result<Vec<HistoryEntry>> {
    store::history(vault.conn(), limit)
}
