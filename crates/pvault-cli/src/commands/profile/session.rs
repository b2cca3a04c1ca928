//! `profile unlock | lock | status`: the agent's sessions.

use anyhow::Result;
use pvault_core::agent::{AgentClient, SecretString};

use crate::commands::agent;
use crate::context::Ctx;
use crate::output::profile::{Locked, Status, Unlocked};
use crate::secrets;

/// Runs the KDF here and hands the unlocked keys to the agent (started if needed).
pub fn unlock(ctx: &Ctx, name: Option<String>) -> Result<Unlocked> {
    let pv = ctx.pv()?;
    let name = pv
        .resolve(name.as_deref().or(ctx.g.profile.as_deref()))?
        .name;
    let mut g = ctx.g.clone();
    g.profile = Some(name.clone());
    let mut creds = secrets::credentials(&g, &name)?;
    let (summary, keys) = match pv.unlock_for_transfer(Some(&name), &creds) {
        Err(pvault_core::Error::SecretKeyRequired(n)) if creds.secret_key.is_none() => {
            creds.secret_key = Some(secrets::prompt_secret_key(&n)?);
            pv.unlock_for_transfer(Some(&name), &creds)?
        }
        other => other?,
    };
    let mut agent = agent::ensure(pv)?;
    agent.unlock(
        &name,
        SecretString(zeroize::Zeroizing::new(hex::encode(&keys[..]))),
    )?;
    Ok(Unlocked {
        name,
        auto_lock_secs: summary.auto_lock().as_secs(),
    })
}

pub fn lock(ctx: &Ctx, name: Option<String>, all: bool) -> Result<Locked> {
    let pv = ctx.pv()?;
    let target = if all {
        None
    } else {
        Some(
            pv.resolve(name.as_deref().or(ctx.g.profile.as_deref()))?
                .name,
        )
    };
    let locked = match AgentClient::connect(pv.home().root()) {
        None => Vec::new(),
        Some(mut c) => c.lock(target.as_deref())?,
    };
    Ok(Locked { target, locked })
}

pub fn status(ctx: &Ctx) -> Result<Status> {
    let pv = ctx.pv()?;
    let sessions = match AgentClient::connect(pv.home().root()) {
        None => Vec::new(),
        Some(mut c) => c.status()?,
    };
    Ok(Status {
        current: pv.current()?,
        sessions,
    })
}
