//! `sync status | history | restore`: what sync knows and did.

use anyhow::Result;
use pvault_core::sync;

use crate::commands::unlock;
use crate::context::Ctx;
use crate::output::sync::{History, Restored, Status};

pub fn status(ctx: &Ctx) -> Result<Status> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    let status = sync::status(&vault, true)?;
    Ok(Status {
        profile: vault.summary().name.clone(),
        status,
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
