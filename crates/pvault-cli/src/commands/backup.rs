//! `pvault backup [init | list | verify | restore]`: the work is `pvault_core::backup`'s.

use anyhow::{Context, Result, bail};
use pvault_core::Credentials;
use pvault_core::backup::{
    BackupOptions, Count, ForgetOptions, Policy, Repo, RestoreOptions, VerifyOptions, prune,
};

use crate::cli::{BackupArgs, BackupCommand, ForgetArgs};
use crate::context::Ctx;
use crate::output::backup::{
    BackedUp, Forgot, Initialized, Pruned, Restored, RestoredRecord, Snapshots, Verified,
};
use crate::output::{self, show};
use crate::{Damaged, secrets};

pub fn run(ctx: &Ctx, args: BackupArgs) -> Result<()> {
    let g = &ctx.g;
    if let Some(BackupCommand::Init { dir }) = &args.command {
        let repo = Repo::init(dir)?;
        return show(
            g,
            &Initialized {
                path: dir.clone(),
                id: repo.id().to_string(),
            },
        );
    }
    let Some(dir) = &args.repo else {
        bail!(
            "which repository? give --repo DIR (or set PVAULT_BACKUP_REPO); make one with `pvault backup init DIR`"
        );
    };
    let repo = Repo::open(dir)?;
    match args.command {
        Some(BackupCommand::Init { .. }) => unreachable!("handled above"),
        Some(BackupCommand::List) => show(g, &Snapshots(repo.snapshots(None)?)),
        Some(BackupCommand::Forget(f)) => {
            let report = ForgetOptions {
                policy: policy(&f)?,
                profile: None,
                dry_run: f.dry_run,
            }
            .run(&repo)?;
            let pruned = if f.prune {
                Some(prune(&repo, false)?)
            } else {
                None
            };
            show(g, &Forgot(report, pruned))
        }
        Some(BackupCommand::Prune { dry_run }) => show(g, &Pruned(prune(&repo, dry_run)?)),
        Some(BackupCommand::Verify {
            snapshot,
            read_data,
        }) => {
            let snapshot = snapshot.unwrap_or_else(|| "latest".into());
            let s = repo.snapshot(None, &snapshot)?;
            let creds = credentials(ctx, &s.name)?;
            let report = VerifyOptions {
                snapshot: s.id.clone(),
                profile: Some(s.profile.clone()),
                read_data,
            }
            .run(&repo, &creds)?;
            let problems = report.problems.len();
            show(g, &Verified(report))?;
            if problems > 0 {
                return Err(Damaged(format!(
                    "the restored snapshot has {problems} damaged record(s)"
                ))
                .into());
            }
            Ok(())
        }
        Some(BackupCommand::Restore {
            snapshot,
            record: Some(record),
            ..
        }) => {
            let (collection, id) = record
                .split_once('/')
                .with_context(|| format!("--record {record:?}: write it as COLLECTION/ID"))?;
            let pv = ctx.pv()?;
            let mut vault = crate::commands::unlock(pv, g)?;
            let profile = vault.summary().id.clone();
            let s = repo.snapshot(Some(&profile), snapshot.as_deref().unwrap_or("latest"))?;
            let creds = credentials(ctx, &s.name)?;
            let (s, r) = pvault_core::backup::record_from_snapshot(
                &repo,
                &s.id,
                Some(&profile),
                &creds,
                collection,
                id,
            )?;
            let written = vault.put(pvault_core::NewRecord {
                collection: r.collection.clone(),
                id: Some(r.id.clone()),
                classification: Some(r.classification),
                data: r.data,
            })?;
            show(
                g,
                &RestoredRecord {
                    snapshot: s.id,
                    collection: r.collection,
                    id: r.id,
                    from_version: r.version,
                    version: written.version,
                },
            )
        }
        Some(BackupCommand::Restore {
            snapshot, as_name, ..
        }) => {
            let snapshot = snapshot.unwrap_or_else(|| "latest".into());
            let s = repo.snapshot(None, &snapshot)?;
            let creds = credentials(ctx, &s.name)?;
            let report = RestoreOptions {
                snapshot: s.id.clone(),
                profile: Some(s.profile.clone()),
                name: as_name,
            }
            .run(ctx.pv()?, &repo, &creds)?;
            show(g, &Restored(report))
        }
        None => {
            let pv = ctx.pv()?;
            let names: Vec<String> = if args.all {
                pv.list()?.into_iter().map(|p| p.name).collect()
            } else {
                vec![pv.resolve(g.profile.as_deref())?.name]
            };
            let mut done = Vec::new();
            for name in names {
                let mut g = g.clone();
                g.profile = Some(name.clone());
                let vault = crate::commands::unlock(pv, &g)
                    .with_context(|| format!("backing up profile '{name}'"))?;
                let bar = output::progress(g.json, "reading buckets");
                let report = BackupOptions { full: args.full }.run(
                    &vault,
                    &repo,
                    &mut output::callback(&bar),
                )?;
                bar.finish_and_clear();
                done.push(report);
            }
            show(g, &BackedUp(done))
        }
    }
}

/// The policy of `backup forget`, parsed (counts and durations with restic's syntax).
fn policy(f: &ForgetArgs) -> Result<Policy> {
    let count = |flag: &str, v: &Option<String>| -> Result<Option<Count>> {
        v.as_deref()
            .map(|v| Count::parse(v).with_context(|| format!("--{flag}")))
            .transpose()
    };
    let duration = |flag: &str, v: &Option<String>| -> Result<Option<_>> {
        v.as_deref()
            .map(|v| Policy::parse_duration(v).with_context(|| format!("--{flag}")))
            .transpose()
    };
    let p = Policy {
        last: count("keep-last", &f.keep_last)?,
        hourly: count("keep-hourly", &f.keep_hourly)?,
        daily: count("keep-daily", &f.keep_daily)?,
        weekly: count("keep-weekly", &f.keep_weekly)?,
        monthly: count("keep-monthly", &f.keep_monthly)?,
        yearly: count("keep-yearly", &f.keep_yearly)?,
        within: duration("keep-within", &f.keep_within)?,
        within_hourly: duration("keep-within-hourly", &f.keep_within_hourly)?,
        within_daily: duration("keep-within-daily", &f.keep_within_daily)?,
        within_weekly: duration("keep-within-weekly", &f.keep_within_weekly)?,
        within_monthly: duration("keep-within-monthly", &f.keep_within_monthly)?,
        within_yearly: duration("keep-within-yearly", &f.keep_within_yearly)?,
    };
    if p.is_empty() {
        bail!(
            "say what to keep: --keep-last N, --keep-daily N, --keep-within 30d, ... (nothing is removed without a policy)"
        );
    }
    Ok(p)
}

/// The password (and Secret Key, if given or needed) of the profile a snapshot is of.
fn credentials(ctx: &Ctx, name: &str) -> Result<Credentials> {
    let mut creds = secrets::credentials(&ctx.g, name)?;
    if creds.secret_key.is_none() {
        creds.secret_key = secrets::secret_key(&ctx.g)?;
    }
    Ok(creds)
}
