//! `profile set SETTING VALUE`.

use anyhow::{Result, bail};

use crate::context::Ctx;
use crate::output::Show;
use crate::output::profile::{PolicySet, TimingSet};
use pvault_core::agent::AgentClient;

pub fn set(
    ctx: &Ctx,
    setting: &str,
    value: &str,
    collection: Option<String>,
) -> Result<Box<dyn Show>> {
    let pv = ctx.pv()?;
    if setting == "conflict-strategy" || setting == "device-rank" {
        let name = pv.resolve(ctx.g.profile.as_deref())?.name;
        let summary = crate::commands::sync::set_policy(pv, &name, setting, value, collection)?;
        return Ok(Box::new(PolicySet(summary)));
    }
    if !matches!(
        setting,
        "auto-lock" | "reauth-window" | "monitor" | "audit-retention"
    ) {
        bail!(
            "unknown setting '{setting}': expected auto-lock, reauth-window, monitor, audit-retention, conflict-strategy or device-rank"
        );
    }
    if collection.is_some() {
        bail!("--collection applies to conflict-strategy only");
    }
    let name = pv.resolve(ctx.g.profile.as_deref())?.name;
    let off = matches!(setting, "monitor" | "audit-retention") && value == "off";
    let secs = if value == "default" || off {
        None
    } else {
        let d = crate::cli::parse_duration(value).map_err(anyhow::Error::msg)?;
        if d.is_zero() {
            bail!("{setting} must be longer than 0 s");
        }
        Some(d.as_secs())
    };
    let summary = match setting {
        "auto-lock" => pv.update_settings(&name, |s| s.auto_lock_secs = secs)?,
        "monitor" => pv.update_settings(&name, |s| s.monitor_secs = secs)?,
        "audit-retention" => {
            if secs.is_some_and(|s| s < 86_400) {
                bail!("audit-retention must be at least 1d (or off)");
            }
            pv.update_settings(&name, |s| s.audit_retention_secs = secs)?
        }
        _ => pv.update_settings(&name, |s| s.reauth_window_secs = secs)?,
    };
    // A session in the agent keeps the old values: lock it so the next unlock uses the new ones.
    if let Some(mut c) = AgentClient::connect(pv.home().root()) {
        c.lock(Some(&name))?;
    }
    Ok(Box::new(TimingSet(summary)))
}
