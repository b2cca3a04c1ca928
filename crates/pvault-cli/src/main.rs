//! The `pvault` binary: parses arguments, calls pvault-core, prints. No logic of its own.

mod backend;
mod cli;
mod commands;
mod context;
mod hints;
mod output;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::records;
use crate::output::show;

/// The command finished, but found records it could not read (exit code 3).
#[derive(Debug)]
pub struct Damaged(pub String);

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Damaged {}

fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = context::Ctx::new(cli.global);
    let g = &ctx.g;
    match cli.command {
        Command::Profile(cmd) => commands::profile::run(&ctx, cmd),
        // `put --lines` prints each id as it is acknowledged.
        Command::Put(args) if args.lines => records::put_lines(&ctx, args),
        Command::Put(args) => show(g, &records::put(&ctx, args)?),
        Command::Get(r) => show(g, &records::get(&ctx, r)?),
        Command::List(args) => records::list(&ctx, args),
        Command::History(r) => show(g, &records::history(&ctx, r)?),
        Command::Rm(r) => show(g, &records::rm(&ctx, r)?),
        Command::Verify => records::show_checked(g, &records::verify(&ctx)?),
        Command::Audit(args) => commands::audit::run(&ctx, args),
        Command::Backup(args) => commands::backup::run(&ctx, *args),
        Command::Migrate(args) => commands::migrate::run(&ctx, *args),
        Command::Repair(args) => commands::audit::repair(&ctx, args),
        Command::Report => show(g, &commands::audit::report(&ctx)?),
        Command::Anomalies => show(g, &commands::audit::anomalies(&ctx)?),
        Command::Quickstart(args) => show(g, &commands::quickstart::run(&ctx, args)?),
        Command::Agent(args) => commands::agent::run(&ctx, args),
        Command::Sync(args) => commands::sync::run(&ctx, args),
        Command::Conflicts(cmd) => commands::sync::conflicts(&ctx, cmd),
        Command::Server(args) => commands::sync::server(&ctx, args),
    }
}

/// One cause of an error as the user sees it: the engine's and the agent's errors with the CLI's
/// next step added (see `hints.rs`).
fn shown(cause: &(dyn std::error::Error + 'static)) -> String {
    if let Some(e) = cause.downcast_ref::<pvault_core::Error>() {
        hints::render(e)
    } else if let Some(e) = cause.downcast_ref::<pvault_core::agent::AgentError>() {
        hints::render_agent(e)
    } else {
        cause.to_string()
    }
}

/// Text safe to print on a terminal: control characters from user input (an escape sequence in
/// a profile name, say) are shown escaped (`\u{1b}`), never sent as they are. Newlines stay
/// when `lines`.
pub(crate) fn terminal_safe(text: &str, lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !(lines && c == '\n') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors quote what was typed: print them made safe, plain (no colors).
        Err(e) if e.use_stderr() => {
            eprint!("{}", terminal_safe(&e.render().to_string(), true));
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
        Err(e) => e.exit(),
    };
    let json = cli.global.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes, outermost first, skipping a cause whose text its
            // parent already includes (thiserror's `#[from]` variants print their source).
            let mut message = String::new();
            for cause in e.chain().map(shown) {
                if !message.contains(&cause) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(&cause);
                }
            }
            if json {
                eprintln!("{}", serde_json::json!({ "error": message }));
            } else {
                eprintln!("error: {}", terminal_safe(&message, false));
            }
            if e.downcast_ref::<Damaged>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
