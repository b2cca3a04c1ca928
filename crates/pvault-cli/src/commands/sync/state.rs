//! `sync status | history | restore`: what sync knows and did.

use anyhow::Result;
use pvault_core::sync;

use crate::commands::unlock;
use crate::context::Ctx;
use crate::output::sync::{History, Restored, SafetyCode, Status, Verified};

pub fn status(ctx: &Ctx) -> Result<Status> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    let status = sync::status(&vault, true)?;
    Ok(Status {
        profile: vault.summary().name.clone(),
        status,
    })
}

/// Checks the server's log against the other devices' checkpoints.
pub fn verify(ctx: &Ctx) -> Result<Verified> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    let policy = vault.summary().sync_policy();
    Ok(Verified {
        profile: vault.summary().name.clone(),
        report: sync::verify(&vault, &policy)?,
    })
}

/// This device's safety code.
pub fn safety_code(ctx: &Ctx, size: Option<u64>) -> Result<SafetyCode> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    Ok(SafetyCode {
        profile: vault.summary().name.clone(),
        code: sync::safety_code(&vault, size)?,
    })
}

pub fn history(ctx: &Ctx, limit: usize) -> Result<History> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    Ok(History(sync::history(&vault, limit)?))
}

/// Brings back a version a conflict resolution set aside.
pub fn restore(ctx: &Ctx, entry: i64) -> Result<Restored> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    let (collection, id) = sync::restore(&vault, entry)?;
    Ok(Restored {
        entry,
        collection,
        id,
    })
}
