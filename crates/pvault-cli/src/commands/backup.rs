//! `pvault backup [init | list | verify | restore]`: the work is `pvault_core::backup`'s.

use anyhow::{Context, Result, bail};
use pvault_core::Credentials;
use pvault_core::backup::{BackupOptions, Repo, RestoreOptions, VerifyOptions};

use crate::cli::{BackupArgs, BackupCommand};
use crate::context::Ctx;
use crate::output::backup::{BackedUp, Initialized, Restored, Snapshots, Verified};
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
        Some(BackupCommand::Restore { snapshot, as_name }) => {
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

/// The password (and Secret Key, if given or needed) of the profile a snapshot is of.
fn credentials(ctx: &Ctx, name: &str) -> Result<Credentials> {
    let mut creds = secrets::credentials(&ctx.g, name)?;
    if creds.secret_key.is_none() {
        creds.secret_key = secrets::secret_key(&ctx.g)?;
    }
    Ok(creds)
}
