//! `pvault sync ...`, `pvault conflicts ...`, `pvault server`: one function per subcommand, each
//! returning what it did (`output/sync.rs` says how that reads).

mod account;
mod conflicts;
mod policy;
mod run;
mod server;
mod state;

use anyhow::Result;

pub use policy::set_policy;

use crate::cli::{ConflictsCommand, ServerArgs, SyncArgs, SyncCommand};
use crate::context::Ctx;
use crate::output::show;

pub fn run(ctx: &Ctx, args: SyncArgs) -> Result<()> {
    let g = &ctx.g;
    match args.command {
        // `None`: it watched in the foreground, printing each event as it came.
        None if args.watch => match run::watch(ctx, args.stop)? {
            Some(watching) => show(g, &watching),
            None => Ok(()),
        },
        None => show(g, &run::sync(ctx)?),
        Some(SyncCommand::Setup {
            server,
            username,
            device_name,
        }) => show(g, &account::setup(ctx, &server, username, device_name)?),
        Some(SyncCommand::Join {
            server,
            username,
            local_name,
            device_name,
        }) => show(
            g,
            &account::join(ctx, server, username, local_name, device_name)?,
        ),
        Some(SyncCommand::Status) => show(g, &state::status(ctx)?),
        Some(SyncCommand::Verify) => {
            let verified = state::verify(ctx)?;
            show(g, &verified)?;
            match verified.report.problems.first() {
                Some(first) => Err(crate::Damaged(format!(
                    "the sync server's log fails {} check(s): {first}",
                    verified.report.problems.len()
                ))
                .into()),
                None => Ok(()),
            }
        }
        Some(SyncCommand::SafetyCode { size }) => show(g, &state::safety_code(ctx, size)?),
        Some(SyncCommand::History { limit }) => show(g, &state::history(ctx, limit)?),
        Some(SyncCommand::RemoveDevice { device }) => {
            show(g, &account::remove_device(ctx, device)?)
        }
        Some(SyncCommand::Leave) => show(g, &account::leave(ctx)?),
        Some(SyncCommand::Restore { entry }) => show(g, &state::restore(ctx, entry)?),
    }
}

pub fn conflicts(ctx: &Ctx, cmd: ConflictsCommand) -> Result<()> {
    let g = &ctx.g;
    match cmd {
        ConflictsCommand::List => show(g, &conflicts::list(ctx)?),
        ConflictsCommand::Resolve { id, keep } => show(g, &conflicts::resolve(ctx, id, keep)?),
    }
}

/// Runs in the foreground until stopped; says where it listens as soon as it does.
pub fn server(ctx: &Ctx, args: ServerArgs) -> Result<()> {
    server::serve(ctx, args)
}
