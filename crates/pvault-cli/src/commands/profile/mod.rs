//! `pvault profile ...`: one function per subcommand, each returning what it did
//! (`output/profile.rs` says how that reads).

mod keys;
mod lifecycle;
mod portable;
mod session;
mod settings;

use anyhow::Result;

use crate::cli::ProfileCommand;
use crate::context::Ctx;
use crate::output::show;

pub fn run(ctx: &Ctx, cmd: ProfileCommand) -> Result<()> {
    let g = &ctx.g;
    match cmd {
        ProfileCommand::Create(args) => show(g, &lifecycle::create(ctx, args)?),
        ProfileCommand::List => show(g, &lifecycle::list(ctx)?),
        ProfileCommand::Use { name } => show(g, &lifecycle::use_profile(ctx, name)?),
        ProfileCommand::Show { name } => {
            // A damaged key file is shown (with the failed-attempt count), then exit code 3.
            let details = lifecycle::details(ctx, name)?;
            show(g, &details)?;
            match details.0.key_file_error() {
                Some(e) => Err(crate::Damaged(crate::hints::render(&e)).into()),
                None => Ok(()),
            }
        }
        ProfileCommand::Delete { name, confirm } => {
            show(g, &lifecycle::delete(ctx, name, confirm)?)
        }
        ProfileCommand::Unlock { name } => show(g, &session::unlock(ctx, name)?),
        ProfileCommand::Lock { name, all } => show(g, &session::lock(ctx, name, all)?),
        ProfileCommand::Status => show(g, &session::status(ctx)?),
        ProfileCommand::Set {
            setting,
            value,
            collection,
            repo,
        } => show(
            g,
            settings::set(ctx, &setting, &value, collection, repo)?.as_ref(),
        ),
        ProfileCommand::Passwd { new_password_file } => {
            show(g, &keys::passwd(ctx, new_password_file)?)
        }
        ProfileCommand::RotateKeys => show(g, &keys::rotate(ctx)?),
        ProfileCommand::Export(args) => show(g, &portable::export(ctx, args)?),
        ProfileCommand::Import(args) => show(g, &portable::import(ctx, args)?),
    }
}

/// After the keys or settings changed on disk, a session in the agent holds stale ones: lock it.
fn lock_in_agent(pv: &pvault_core::Pvault, name: &str) {
    if let Some(mut c) = pvault_core::agent::AgentClient::connect(pv.home().root()) {
        let _ = c.lock(Some(name));
    }
}
