//! `conflicts list | resolve`.

use anyhow::Result;
use pvault_core::sync::{self, Keep};

use crate::cli::KeepArg;
use crate::commands::unlock;
use crate::context::Ctx;
use crate::output::sync::{Conflicts, Settled};

pub fn list(ctx: &Ctx) -> Result<Conflicts> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    Ok(Conflicts(sync::conflicts(&vault)?))
}

pub fn resolve(ctx: &Ctx, id: i64, keep: KeepArg) -> Result<Settled> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    let keep = match keep {
        KeepArg::Local => Keep::Local,
        KeepArg::Remote => Keep::Remote,
        KeepArg::Both => Keep::Both,
    };
    Ok(Settled {
        id,
        resolved: sync::resolve_conflict(&vault, id, keep)?,
    })
}
