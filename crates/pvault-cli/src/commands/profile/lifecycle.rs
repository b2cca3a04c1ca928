//! `profile create | list | use | show | delete`.

use anyhow::{Result, bail};
use pvault_core::NewProfile;

use crate::cli::CreateArgs;
use crate::context::Ctx;
use crate::output::profile::{Created, Current, Deleted, Details, Profiles};
use crate::secrets;

pub fn create(ctx: &Ctx, args: CreateArgs) -> Result<Created> {
    let pv = ctx.pv()?;
    pvault_core::validate_profile_name(&args.name)?;
    let password = secrets::new_password(
        ctx.g.password_file.as_deref(),
        "PVAULT_PASSWORD",
        &format!("new profile '{}'", args.name),
    )?;
    let created = pv.create(
        NewProfile {
            name: args.name.clone(),
            display_name: args.display_name,
            security: args.security,
        },
        &password,
    )?;
    Ok(Created(created))
}

pub fn list(ctx: &Ctx) -> Result<Profiles> {
    let pv = ctx.pv()?;
    Ok(Profiles {
        current: pv.current()?,
        profiles: pv.list()?,
    })
}

pub fn use_profile(ctx: &Ctx, name: String) -> Result<Current> {
    ctx.pv()?.use_profile(&name)?;
    Ok(Current(name))
}

pub fn details(ctx: &Ctx, name: Option<String>) -> Result<Details> {
    let name = name.as_deref().or(ctx.g.profile.as_deref());
    Ok(Details(ctx.pv()?.details(name)?))
}

pub fn delete(ctx: &Ctx, name: String, confirm: Option<String>) -> Result<Deleted> {
    let pv = ctx.pv()?;
    let Some(confirm) = confirm else {
        bail!(
            "not deleted: this destroys profile '{name}' and all its data for good; add --confirm {name}"
        );
    };
    Ok(Deleted(pv.delete(&name, &confirm)?))
}
