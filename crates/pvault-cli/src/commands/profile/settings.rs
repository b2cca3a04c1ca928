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
    repo: Option<std::path::PathBuf>,
) -> Result<Box<dyn Show>> {
    let pv = ctx.pv()?;
    if setting == "backup-schedule" || setting == "backup-keep" {
        let name = pv.resolve(ctx.g.profile.as_deref())?.name;
        let summary = backup_setting(pv, &name, setting, value, repo)?;
        if let Some(mut c) = AgentClient::connect(pv.home().root()) {
            c.lock(Some(&name))?;
        }
        return Ok(Box::new(TimingSet(summary)));
    }
    if repo.is_some() {
        bail!("--repo applies to backup-schedule only");
    }
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
            "unknown setting '{setting}': expected auto-lock, reauth-window, monitor, audit-retention, conflict-strategy, device-rank, backup-schedule or backup-keep"
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

/// `backup-schedule hourly|daily|weekly|DURATION|off [--repo DIR]` and `backup-keep SPEC|off`.
fn backup_setting(
    pv: &pvault_core::Pvault,
    name: &str,
    setting: &str,
    value: &str,
    repo: Option<std::path::PathBuf>,
) -> Result<pvault_core::ProfileSummary> {
    if setting == "backup-keep" {
        if repo.is_some() {
            bail!("--repo applies to backup-schedule only");
        }
        let keep = if value == "off" {
            None
        } else {
            pvault_core::backup::parse_keep(value)?;
            Some(value.to_string())
        };
        return Ok(pv.update_settings(name, |s| s.backup_keep = keep)?);
    }
    if value == "off" {
        return Ok(pv.update_settings(name, |s| s.backup_every_secs = None)?);
    }
    let secs = match value {
        "hourly" => 3600,
        "daily" => 86_400,
        "weekly" => 7 * 86_400,
        other => {
            let d = crate::cli::parse_duration(other).map_err(anyhow::Error::msg)?;
            if d.as_secs() < 60 {
                bail!("backup-schedule must be at least 1m (or hourly, daily, weekly, off)");
            }
            d.as_secs()
        }
    };
    let current = pv.resolve(Some(name))?.settings.backup_repo;
    let repo = match (repo, current) {
        (Some(dir), _) => {
            // It must be a repository now, not at the first scheduled run.
            pvault_core::backup::Repo::open(&dir)?;
            let dir = dir.canonicalize().unwrap_or(dir);
            Some(dir.to_string_lossy().into_owned())
        }
        (None, Some(current)) => Some(current),
        (None, None) => {
            bail!("which repository? give --repo DIR (make one with `pvault backup init DIR`)")
        }
    };
    Ok(pv.update_settings(name, |s| {
        s.backup_every_secs = Some(secs);
        s.backup_repo = repo;
    })?)
}
