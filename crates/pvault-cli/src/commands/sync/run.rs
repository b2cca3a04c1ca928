//! `sync` and `sync --watch [--stop]`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use pvault_core::ops::Op;
use pvault_core::sync::{self, WatchEvent};
use serde_json::json;

use crate::backend::{self, Backend};
use crate::commands::unlock;
use crate::context::Ctx;
use crate::output::sync::{Synced, Watching, report_text};
use crate::{hints, output};

/// One sync, in the agent when it holds the profile unlocked, else here.
pub fn sync(ctx: &Ctx) -> Result<Synced> {
    let (pv, g) = (ctx.pv()?, &ctx.g);
    let mut backend = Backend::open(pv, g)?;
    let profile = backend.profile();
    let bar = output::progress(g.json, "syncing");
    let report = backend.run(pv, g, Op::Sync, &mut output::staged(&bar));
    bar.finish_and_clear();
    Ok(Synced {
        profile,
        report: report?.into_synced()?,
    })
}

/// When the agent holds the profile unlocked, switches its background sync on (or off, with
/// `stop`) and says so. Else syncs here in the foreground until Ctrl-C, printing each event as it
/// comes (a stream, not one result), and returns `None`.
pub fn watch(ctx: &Ctx, stop: bool) -> Result<Option<Watching>> {
    let pv = ctx.pv()?;
    let in_agent = pv
        .resolve(ctx.g.profile.as_deref())
        .ok()
        .and_then(|p| backend::agent_for(pv, &p.name).map(|c| (c, p.name)));
    match in_agent {
        Some((mut client, profile)) => {
            let watching = client.watch(&profile, !stop)?;
            Ok(Some(Watching {
                profile,
                stop,
                watching,
            }))
        }
        None if stop => {
            bail!("the agent does not hold this profile unlocked: no background sync to stop")
        }
        None => watch_here(ctx).map(|()| None),
    }
}

/// Syncs whenever the server announces a change, until SIGINT or SIGTERM; prints as it goes.
fn watch_here(ctx: &Ctx) -> Result<()> {
    let g = &ctx.g;
    let mut vault = unlock(ctx.pv()?, g)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let name = vault.summary().name.clone();
    if !g.json {
        eprintln!("watching profile '{name}' (Ctrl-C to stop)");
    }
    let policy = vault.summary().sync_policy();
    sync::watch(
        &mut vault,
        &policy,
        &|| stop.load(Ordering::Relaxed),
        &mut |event| match event {
            WatchEvent::Connected { seq } => {
                if g.json {
                    output::json(&json!({ "event": "connected", "seq": seq }));
                } else {
                    eprintln!("connected; server at #{seq}");
                }
            }
            WatchEvent::Synced(r) => {
                if g.json {
                    output::json(&json!({ "event": "synced", "report": r }));
                } else if r.pushed + r.pulled + r.conflicts > 0 {
                    println!("{}", report_text(&name, &r));
                }
            }
            WatchEvent::Trouble(e) => {
                if g.json {
                    output::json(&json!({ "event": "trouble", "error": hints::render(&e) }));
                } else {
                    eprintln!("warning: {}", hints::render(&e));
                }
            }
        },
    )?;
    Ok(())
}
