//! `profile passwd | rotate-keys`.

use std::path::PathBuf;

use anyhow::Result;

use super::lock_in_agent;
use crate::commands::unlock;
use crate::context::Ctx;
use crate::output::profile::{PasswordChanged, Rotated};
use crate::{output, secrets};

pub fn passwd(ctx: &Ctx, new_password_file: Option<PathBuf>) -> Result<PasswordChanged> {
    let pv = ctx.pv()?;
    let mut vault = unlock(pv, &ctx.g)?;
    let name = vault.summary().name.clone();
    let new = secrets::new_password(
        new_password_file.as_deref(),
        "PVAULT_NEW_PASSWORD",
        &format!("profile '{name}'"),
    )?;
    vault.change_password(&new)?;
    lock_in_agent(pv, &name);
    Ok(PasswordChanged(name))
}

pub fn rotate(ctx: &Ctx) -> Result<Rotated> {
    let pv = ctx.pv()?;
    let mut vault = unlock(pv, &ctx.g)?;
    let bar = output::progress(ctx.g.json, "resealing");
    let report = vault.rotate_keys(&mut output::callback(&bar))?;
    lock_in_agent(pv, &vault.summary().name);
    bar.finish_and_clear();
    Ok(Rotated(report))
}
