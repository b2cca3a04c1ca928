//! `profile export | import`: the work is `pvault_core::export`'s; this reads the secrets and
//! shows progress.

use anyhow::{Context, Result, bail};
use pvault_core::Credentials;
use pvault_core::export::{
    ExportOptions, Identities, ImportOptions, Key, Protection, SecretString,
};
use zeroize::Zeroizing;

use crate::cli::{ExportArgs, ImportArgs};
use crate::context::Ctx;
use crate::output::profile::{Exported, Imported};
use crate::{output, secrets};

const PASSPHRASE_VAR: &str = "PVAULT_EXPORT_PASSPHRASE";

pub fn export(ctx: &Ctx, args: ExportArgs) -> Result<Exported> {
    let protection = if !args.recipient.is_empty() {
        Protection::Recipients(args.recipient.clone())
    } else if args.passphrase || args.passphrase_file.is_some() {
        let p = secrets::passphrase(args.passphrase_file.as_deref(), PASSPHRASE_VAR, true)?;
        Protection::Passphrase(SecretString::from(p.to_string()))
    } else {
        bail!("say how to protect the export: --recipient age1… (repeatable) or --passphrase");
    };
    if args.out.exists() {
        bail!("{} exists; give a new file name", args.out.display());
    }
    let pv = ctx.pv()?;
    let mut g = ctx.g.clone();
    if args.name.is_some() {
        g.profile = args.name.clone();
    }
    let mut vault = crate::commands::unlock(pv, &g)?;
    let name = vault.summary().name.clone();
    // Everything, SECRET and TOP_SECRET records included, leaves the vault: the password again.
    let again: Credentials = secrets::reauth_credentials(&g, &name, "exporting")?;
    pv.reauthenticate(&mut vault, &again)?;
    let bar = output::progress(g.json, "exporting collections");
    let report = ExportOptions {
        protection,
        armor: args.armor,
    }
    .run(&vault, &args.out, &mut output::callback(&bar))?;
    bar.finish_and_clear();
    Ok(Exported { name, report })
}

pub fn import(ctx: &Ctx, args: ImportArgs) -> Result<Imported> {
    // A file that is missing or not an age file is named before any secret is asked for.
    let mut start = [0u8; 64];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        f.read(&mut start)
            .with_context(|| format!("cannot read {}", args.file.display()))?
    };
    if !pvault_core::export::looks_like_age(&start[..n]) {
        bail!(
            "{} is not an age file: give a file made by `pvault profile export` (or by age around one)",
            args.file.display()
        );
    }
    let key = match &args.identity {
        Some(path) => {
            let text =
                Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the identity file {}", path.display())
                })?);
            Key::Identities(
                Identities::parse(&text).with_context(|| format!("{}", path.display()))?,
            )
        }
        None => {
            let p = secrets::passphrase(args.passphrase_file.as_deref(), PASSPHRASE_VAR, false)?;
            Key::Passphrase(SecretString::from(p.to_string()))
        }
    };
    let pv = ctx.pv()?;
    if let Some(name) = &args.as_name {
        pvault_core::validate_profile_name(name)?;
    }
    let label = args
        .as_name
        .clone()
        .unwrap_or_else(|| "the imported profile".into());
    let password = secrets::new_password(
        ctx.g.password_file.as_deref(),
        "PVAULT_PASSWORD",
        &format!("'{label}'"),
    )?;
    let bar = output::progress(ctx.g.json, "importing");
    let report = ImportOptions {
        file: args.file.clone(),
        key,
        name: args.as_name.clone(),
        signed_by: args.signed_by.clone(),
    }
    .run(pv, &password, &mut |stage, done, total| {
        bar.set_message(stage);
        bar.set_length(total.max(done));
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    Ok(Imported(report))
}
