//! `pvault migrate [list | rollback]`: the work is `pvault_core::migrate`'s.

use anyhow::{Context, Result, bail};
use pvault_core::Pvault;
use pvault_core::backup::Repo;
use pvault_core::migrate::{Format, MigrateOptions, ReadOptions, RollbackOptions, migrations};
use zeroize::Zeroizing;

use crate::cli::{Global, MigrateArgs, MigrateCommand};
use crate::context::Ctx;
use crate::output::migrate::{Migrated, Migrations, RolledBack};
use crate::output::{self, show};
use crate::secrets;

pub fn run(ctx: &Ctx, args: MigrateArgs) -> Result<()> {
    let g = &ctx.g;
    let pv = ctx.pv()?;
    match args.command {
        Some(MigrateCommand::List) => {
            let vault = crate::commands::unlock(pv, g)?;
            show(g, &Migrations(migrations(&vault)?))
        }
        Some(MigrateCommand::Rollback { id, force }) => {
            let mut vault = crate::commands::unlock(pv, g)?;
            let report = RollbackOptions { id, force }.run(&mut vault)?;
            show(g, &RolledBack(report))
        }
        None => migrate(pv, g, args),
    }
}

fn migrate(pv: &Pvault, g: &Global, args: MigrateArgs) -> Result<()> {
    let (Some(from), Some(file)) = (args.from.as_deref(), args.file) else {
        bail!("say what to migrate: pvault migrate --from FORMAT FILE");
    };
    let format = Format::from_name(from).with_context(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!(
            "--from {:?}: not a format pvault migrates from (use one of: {})",
            from,
            names.join(", ")
        )
    })?;
    if !file.is_file() {
        bail!("{}: no such file", file.display());
    }
    let mut read = ReadOptions {
        collection: args.collection,
        ..ReadOptions::default()
    };
    if format == Format::Kdbx {
        if let Some(path) = &args.kdbx_key_file {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the key file {}", path.display()))?;
            read.key_file = Some(Zeroizing::new(bytes));
        }
        if !args.kdbx_no_password {
            read.password = Some(secrets::kdbx_password(args.kdbx_password_file.as_deref())?);
        }
    }
    let summary = pv.resolve(g.profile.as_deref())?;
    let mut vault = crate::commands::unlock(pv, g)?;
    let chosen = args.repo.or(summary.settings.backup_repo.map(Into::into));
    let bar = output::progress(g.json, "checking");
    let report = MigrateOptions {
        format,
        file,
        read,
        dry_run: args.dry_run,
        batch: 0,
    }
    .run(
        &mut vault,
        &mut || repository(pv, chosen.as_deref()),
        &mut |stage, done, total| {
            bar.set_message(stage);
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    show(g, &Migrated(report))
}

/// The repository for the backup taken first: the one given or scheduled, else `backups` in the
/// home (made the first time).
fn repository(pv: &Pvault, chosen: Option<&std::path::Path>) -> pvault_core::Result<Repo> {
    if let Some(dir) = chosen {
        return Repo::open(dir);
    }
    let dir = pv.home().root().join("backups");
    if dir.join("config.json").exists() {
        Repo::open(&dir)
    } else {
        Repo::init(&dir)
    }
}
