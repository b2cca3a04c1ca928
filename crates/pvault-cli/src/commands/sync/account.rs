//! `sync setup | join | remove-device | leave`: the profile's account on a server.

use anyhow::Result;
use pvault_core::Vault;
use pvault_core::ops::{Op, Operations};
use pvault_core::sync::{self, SyncReport};

use crate::commands::unlock;
use crate::context::Ctx;
use crate::output::sync::{DeviceRemoved, Joined, Left, SetUp};
use crate::output::{self, to_json};
use crate::secrets;

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "device".into())
}

/// The first sync after setup or join, here (the profile is unlocked locally).
fn sync_with_progress(ctx: &Ctx, vault: &mut Vault) -> Result<SyncReport> {
    let bar = output::progress(ctx.g.json, "syncing");
    let report = vault.run(Op::Sync, &mut output::staged(&bar));
    bar.finish_and_clear();
    Ok(report?.into_synced()?)
}

/// Registers the profile and this device, then pushes its records.
pub fn setup(
    ctx: &Ctx,
    server: &str,
    username: Option<String>,
    device_name: Option<String>,
) -> Result<SetUp> {
    let mut vault = unlock(ctx.pv()?, &ctx.g)?;
    let username = username.unwrap_or_else(|| vault.summary().name.clone());
    let config = sync::setup(
        &vault,
        server,
        &username,
        &device_name.unwrap_or_else(host_name),
    )?;
    let report = sync_with_progress(ctx, &mut vault)?;
    Ok(SetUp {
        profile: vault.summary().name.clone(),
        config,
        report,
    })
}

/// Adds this device to an account, as a new local profile, then pulls its records.
pub fn join(
    ctx: &Ctx,
    server: String,
    username: String,
    local_name: Option<String>,
    device_name: Option<String>,
) -> Result<Joined> {
    let (pv, g) = (ctx.pv()?, &ctx.g);
    let local = local_name.unwrap_or_else(|| username.clone());
    let password = secrets::password(g, &username)?;
    let secret_key = match secrets::secret_key(g)? {
        Some(k) => k,
        None => secrets::prompt_secret_key(&username)?,
    };
    let mut vault = sync::join(
        pv,
        &server,
        &username,
        &password,
        &secret_key,
        &device_name.unwrap_or_else(host_name),
        &local,
    )?;
    let report = sync_with_progress(ctx, &mut vault)?;
    Ok(Joined {
        server,
        username,
        profile: local,
        report,
    })
}

pub fn remove_device(ctx: &Ctx, device: String) -> Result<DeviceRemoved> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    let info = sync::remove_device(&vault, &device)?;
    Ok(DeviceRemoved {
        device,
        username: info.username.clone(),
        account_json: to_json(&info),
    })
}

pub fn leave(ctx: &Ctx) -> Result<Left> {
    let vault = unlock(ctx.pv()?, &ctx.g)?;
    let config = sync::leave(&vault)?;
    Ok(Left {
        profile: vault.summary().name.clone(),
        config,
    })
}
