//! `pvault audit [--since] [--kind] [--device]` and `pvault audit verify`.

use anyhow::{Context, Result, bail};
use pvault_core::audit::{AuditFilter, EventKind};
use pvault_core::ops::Op;

use crate::Damaged;
use crate::backend::Backend;
use crate::cli::{AuditArgs, AuditCommand, RepairArgs};
use crate::context::Ctx;
use crate::output::audit::{Anomalies, AuditList, AuditVerified, ExportChecked, Repaired, Report};
use crate::output::{self, show};

pub fn run(ctx: &Ctx, args: AuditArgs) -> Result<()> {
    match args.command {
        Some(AuditCommand::Verify) => {
            let verified = verify(ctx)?;
            show(&ctx.g, &verified)?;
            if !verified.report.ok() {
                return Err(Damaged(format!(
                    "the audit log has {} problem(s); the first is entry {} of device {}",
                    verified.report.problems.len(),
                    verified.report.problems[0].seq,
                    verified.report.problems[0].device
                ))
                .into());
            }
            Ok(())
        }
        Some(AuditCommand::Export { output }) => export(ctx, output.as_deref()),
        Some(AuditCommand::CheckExport { file, identity }) => {
            check_export(ctx, &file, identity.as_deref())
        }
        None => show(&ctx.g, &list(ctx, &args)?),
    }
}

/// `pvault audit export [-o FILE]`.
fn export(ctx: &Ctx, output: Option<&std::path::Path>) -> Result<()> {
    // A file that exists is refused before anything is unlocked.
    if let Some(path) = output
        && path.exists()
    {
        bail!("{} exists; give a new file name", path.display());
    }
    let pv = ctx.pv()?;
    let mut backend = Backend::open(pv, &ctx.g)?;
    let doc = backend
        .run(pv, &ctx.g, Op::AuditExport, &mut |_, _, _| {})?
        .into_audit_export()?;
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    match output {
        None => print!("{text}"),
        Some(path) => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            let entries: usize = doc.chains.iter().map(|c| c.entries.len()).sum();
            if ctx.g.json {
                println!(
                    "{}",
                    serde_json::json!({"file": path, "entries": entries, "identity": doc.identity})
                );
            } else {
                println!(
                    "wrote {} audit entries from {} device(s) to {}, signed by identity {}",
                    entries,
                    doc.chains.len(),
                    path.display(),
                    doc.identity
                );
            }
        }
    }
    Ok(())
}

/// `pvault audit check-export FILE [--identity HEX]`.
fn check_export(ctx: &Ctx, file: &std::path::Path, identity: Option<&str>) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let doc: pvault_core::audit::AuditExport = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a pvault audit export", file.display()))?;
    let check = pvault_core::audit::check_export(&doc, identity);
    let problems = check.problems.len();
    show(
        &ctx.g,
        &ExportChecked {
            check,
            signed_by_given: identity.is_some(),
            identity: doc.identity,
        },
    )?;
    if problems > 0 {
        return Err(Damaged(format!("the export has {problems} problem(s)")).into());
    }
    Ok(())
}

fn list(ctx: &Ctx, args: &AuditArgs) -> Result<AuditList> {
    let filter = AuditFilter {
        since: args.since.as_deref().map(parse_since).transpose()?,
        kind: args.kind.as_deref().map(EventKind::parse).transpose()?,
        device: None,
    };
    let pv = ctx.pv()?;
    let mut backend = Backend::open(pv, &ctx.g)?;
    let mut listing = backend
        .run(pv, &ctx.g, Op::Audit { filter }, &mut |_, _, _| {})?
        .into_audit()?;
    if let Some(d) = &args.device {
        listing.entries.retain(|e| e.device.starts_with(d.as_str()));
    }
    Ok(AuditList(listing))
}

/// `pvault repair [--dry-run]`: prints the plan or what was done; exit code 3 while something
/// stays damaged.
pub fn repair(ctx: &Ctx, args: RepairArgs) -> Result<()> {
    let pv = ctx.pv()?;
    let mut backend = Backend::open(pv, &ctx.g)?;
    let bar = output::progress(ctx.g.json, "verifying");
    let report = backend
        .run(
            pv,
            &ctx.g,
            Op::Repair {
                dry_run: args.dry_run,
            },
            &mut output::staged(&bar),
        )?
        .into_repaired()?;
    bar.finish_and_clear();
    let left = report.unrepaired.len();
    show(&ctx.g, &Repaired(report))?;
    if left > 0 {
        return Err(Damaged(format!("{left} problem(s) could not be repaired")).into());
    }
    Ok(())
}

/// `pvault report`.
pub fn report(ctx: &Ctx) -> Result<Report> {
    let pv = ctx.pv()?;
    let mut backend = Backend::open(pv, &ctx.g)?;
    let report = backend
        .run(pv, &ctx.g, Op::Report, &mut |_, _, _| {})?
        .into_report()?;
    Ok(Report(report))
}

/// `pvault anomalies`.
pub fn anomalies(ctx: &Ctx) -> Result<Anomalies> {
    let pv = ctx.pv()?;
    let mut backend = Backend::open(pv, &ctx.g)?;
    let found = backend
        .run(pv, &ctx.g, Op::Anomalies, &mut |_, _, _| {})?
        .into_anomalies()?;
    Ok(Anomalies(found))
}

fn verify(ctx: &Ctx) -> Result<AuditVerified> {
    let pv = ctx.pv()?;
    let mut backend = Backend::open(pv, &ctx.g)?;
    let profile = backend.profile();
    let bar = output::progress(ctx.g.json, "verifying the audit log");
    let report = backend
        .run(pv, &ctx.g, Op::AuditVerify, &mut output::staged(&bar))?
        .into_audit_verified()?;
    bar.finish_and_clear();
    Ok(AuditVerified { profile, report })
}

/// `--since`: a date, an RFC 3339 time, or an age back from now (`90m`, `12h`, `7d`).
fn parse_since(text: &str) -> Result<i64> {
    use time::format_description::well_known::Rfc3339;
    let now = time::OffsetDateTime::now_utc();
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    if let Some(d) = parse_date(text) {
        return Ok(d.midnight().assume_utc().unix_timestamp() * 1000);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u32>() {
        Ok(n) if seconds > 0 => Ok((now.unix_timestamp() - i64::from(n) * seconds) * 1000),
        _ => bail!(
            "--since {:?}: give a date (2026-11-30), an RFC 3339 time (2026-11-30T08:00:00Z) or an age (90m, 12h, 7d)",
            text.chars().take(40).collect::<String>()
        ),
    }
}

/// `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_times_and_ages() {
        assert_eq!(parse_since("2026-11-30").unwrap(), 1_795_996_800_000);
        assert_eq!(
            parse_since("2026-11-30T00:00:01Z").unwrap(),
            1_795_996_801_000
        );
        let day_ago = parse_since("1d").unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        assert!((now - 86_400_000 - day_ago).abs() < 5_000);
        for bad in ["", "d", "yesterday", "7w", "-1d", "2026-13-01"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
