//! `pvault sync ...`, `pvault conflicts ...`, `pvault server`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use pvault_core::ops::{Op, Operations};
use pvault_core::sync::{self, Keep, Strategy, SyncReport, WatchEvent};
use pvault_core::{ProfileSummary, Pvault, Vault};
use serde_json::json;

use crate::backend::Backend;
use crate::cli::{ConflictsCommand, Global, KeepArg, ServerArgs, SyncArgs, SyncCommand};
use crate::commands::{open_home, unlock};
use crate::{output, secrets};

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "device".into())
}

pub fn run(g: &Global, args: SyncArgs) -> Result<()> {
    let pv = open_home(g)?;
    let in_agent = || {
        let profile = pv.resolve(g.profile.as_deref()).ok()?.name;
        crate::backend::agent_for(&pv, &profile).map(|c| (c, profile))
    };
    match args.command {
        None if args.watch => match in_agent() {
            Some((mut client, profile)) => {
                let watching = client.watch(&profile, !args.stop)?;
                if g.json {
                    output::json(&json!({ "watching": watching }));
                } else if args.stop {
                    println!("profile '{profile}': background sync stopped");
                } else {
                    println!(
                        "profile '{profile}' syncs in the background in the agent until it locks; `pvault profile status` shows its news, `pvault sync --watch --stop` stops it"
                    );
                }
                Ok(())
            }
            None if args.stop => {
                bail!("the agent does not hold this profile unlocked: no background sync to stop")
            }
            None => watch(g, &pv),
        },
        None => {
            let mut backend = Backend::open(&pv, g)?;
            let profile = backend.profile();
            let bar = output::progress(g.json, "syncing");
            let report = backend.run(&pv, g, Op::Sync, &mut output::staged(&bar));
            bar.finish_and_clear();
            print_report(g, &profile, &report?.into_synced()?);
            Ok(())
        }
        Some(SyncCommand::Setup {
            server,
            username,
            device_name,
        }) => {
            let mut vault = unlock(&pv, g)?;
            let username = username.unwrap_or_else(|| vault.summary().name.clone());
            let cfg = sync::setup(
                &vault,
                &server,
                &username,
                &device_name.unwrap_or_else(host_name),
            )?;
            let report = sync_with_progress(g, &mut vault)?;
            if g.json {
                output::json(&json!({ "config": cfg, "sync": report }));
            } else {
                println!(
                    "profile '{}' syncs with {} as '{}' (device '{}'); pushed {} record(s).\nOn another device: pvault sync join --server {} --username {}",
                    vault.summary().name,
                    cfg.server,
                    cfg.username,
                    cfg.device_name,
                    report.pushed,
                    cfg.server,
                    cfg.username
                );
            }
            Ok(())
        }
        Some(SyncCommand::Join {
            server,
            username,
            local_name,
            device_name,
        }) => {
            let local = local_name.unwrap_or_else(|| username.clone());
            let password = secrets::password(g, &username)?;
            let secret_key = match secrets::secret_key(g)? {
                Some(k) => k,
                None => secrets::prompt_secret_key(&username)?,
            };
            let mut vault = sync::join(
                &pv,
                &server,
                &username,
                &password,
                &secret_key,
                &device_name.unwrap_or_else(host_name),
                &local,
            )?;
            let report = sync_with_progress(g, &mut vault)?;
            if g.json {
                output::json(&json!({ "profile": local, "sync": report }));
            } else {
                println!(
                    "joined '{username}' on {server} as profile '{local}'; pulled {} record(s)",
                    report.pulled
                );
            }
            Ok(())
        }
        Some(SyncCommand::Status) => {
            let vault = unlock(&pv, g)?;
            let st = sync::status(&vault, true)?;
            if g.json {
                output::json(&st);
                return Ok(());
            }
            let Some(cfg) = &st.config else {
                println!(
                    "profile '{}' does not sync: run `pvault sync setup --server URL`",
                    vault.summary().name
                );
                return Ok(());
            };
            println!(
                "profile '{}' syncs with {} as '{}' (this device: {} {})",
                vault.summary().name,
                cfg.server,
                cfg.username,
                cfg.device_name,
                cfg.device_id
            );
            println!(
                "at #{}; {} local change(s) waiting; {} conflict(s) for you; last sync {}",
                st.pulled_seq,
                st.pending,
                st.open_conflicts,
                if st.last_sync == 0 {
                    "never".into()
                } else {
                    output::time_ms(st.last_sync as i64)
                }
            );
            match (&st.server, &st.server_error) {
                (Some(info), _) => {
                    println!(
                        "server: at #{}, {} record(s), limit {}",
                        info.head_seq, info.records, info.quota.max_records
                    );
                    for d in &info.devices {
                        println!(
                            "  device {} {}{}",
                            d.device_id,
                            d.name,
                            if d.revoked { " (removed)" } else { "" }
                        );
                    }
                }
                (None, Some(e)) => println!("server: {e}"),
                _ => {}
            }
            Ok(())
        }
        Some(SyncCommand::History { limit }) => {
            let vault = unlock(&pv, g)?;
            let entries = sync::history(&vault, limit)?;
            if g.json {
                output::json(&entries);
            } else if entries.is_empty() {
                println!("no sync history yet");
            } else {
                for e in &entries {
                    println!(
                        "#{:<5} {} {:<9} {}{}",
                        e.id,
                        output::time_ms(e.at),
                        e.event,
                        e.detail,
                        if e.restorable {
                            format!(" [restore: pvault sync restore {}]", e.id)
                        } else {
                            String::new()
                        }
                    );
                }
            }
            Ok(())
        }
        Some(SyncCommand::RemoveDevice { device }) => {
            let vault = unlock(&pv, g)?;
            let info = sync::remove_device(&vault, &device)?;
            if g.json {
                output::json(&info);
            } else {
                println!(
                    "device {device} removed from '{}': the server refuses it from now on",
                    info.username
                );
            }
            Ok(())
        }
        Some(SyncCommand::Leave) => {
            let vault = unlock(&pv, g)?;
            let cfg = sync::leave(&vault)?;
            if g.json {
                output::json(&json!({ "left": cfg }));
            } else {
                match cfg {
                    Some(c) => println!(
                        "profile '{}' no longer syncs with {}; its records stay here",
                        vault.summary().name,
                        c.server
                    ),
                    None => println!("profile '{}' did not sync", vault.summary().name),
                }
            }
            Ok(())
        }
        Some(SyncCommand::Restore { entry }) => {
            let vault = unlock(&pv, g)?;
            let (collection, id) = sync::restore(&vault, entry)?;
            if g.json {
                output::json(&json!({ "restored": { "collection": collection, "id": id } }));
            } else {
                println!(
                    "{collection}/{id}: restored from history entry #{entry} (pushed at the next sync)"
                );
            }
            Ok(())
        }
    }
}

fn sync_with_progress(g: &Global, vault: &mut Vault) -> Result<SyncReport> {
    let bar = output::progress(g.json, "syncing");
    let report = vault.run(Op::Sync, &mut output::staged(&bar));
    bar.finish_and_clear();
    Ok(report?.into_synced()?)
}

fn print_report(g: &Global, profile: &str, r: &SyncReport) {
    if g.json {
        output::json(r);
        return;
    }
    println!(
        "profile '{profile}': pushed {}, pulled {}, conflicts {}{}; at #{}",
        r.pushed,
        r.pulled,
        r.conflicts,
        if r.kept_for_user > 0 {
            format!(
                " ({} waiting for you: `pvault conflicts list`)",
                r.kept_for_user
            )
        } else {
            String::new()
        },
        r.head_seq
    );
    if r.pending > 0 {
        println!(
            "{} change(s) still waiting: other devices keep changing the same records; run `pvault sync` again",
            r.pending
        );
    }
}

fn watch(g: &Global, pv: &Pvault) -> Result<()> {
    let mut vault = unlock(pv, g)?;
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
                    print_report(g, &name, &r);
                }
            }
            WatchEvent::Trouble(e) => {
                if g.json {
                    output::json(&json!({ "event": "trouble", "error": crate::hints::render(&e) }));
                } else {
                    eprintln!("warning: {}", crate::hints::render(&e));
                }
            }
        },
    )?;
    Ok(())
}

pub fn conflicts(g: &Global, cmd: ConflictsCommand) -> Result<()> {
    let pv = open_home(g)?;
    let vault = unlock(&pv, g)?;
    match cmd {
        ConflictsCommand::List => {
            let list = sync::conflicts(&vault)?;
            if g.json {
                output::json(&list);
            } else if list.is_empty() {
                println!("no conflicts waiting");
            } else {
                for c in &list {
                    println!(
                        "#{} {}/{} ({}; found {})",
                        c.id,
                        c.collection,
                        c.record_id,
                        c.strategy,
                        output::time_ms(c.at)
                    );
                    let show = |label: &str, s: &sync::ConflictSide| {
                        let what = if s.deleted {
                            "deleted".to_string()
                        } else if s.hidden {
                            format!(
                                "{} data hidden (re-authenticate to see it)",
                                s.classification
                            )
                        } else {
                            s.data.to_string()
                        };
                        println!(
                            "  {label:<8} device {} {}: {what}",
                            s.device, s.classification
                        );
                    };
                    show("local", &c.local);
                    if let Some(cur) = &c.current {
                        show("current", cur);
                    }
                }
            }
        }
        ConflictsCommand::Resolve { id, keep } => {
            let keep = match keep {
                KeepArg::Local => Keep::Local,
                KeepArg::Remote => Keep::Remote,
                KeepArg::Both => Keep::Both,
            };
            let r = sync::resolve_conflict(&vault, id, keep)?;
            let said = match (r.kept, &r.copy_id) {
                (Keep::Local, _) => format!(
                    "{}/{}: this device's version is the record again (pushed at the next sync)",
                    r.collection, r.id
                ),
                (Keep::Both, Some(copy)) => format!(
                    "{}/{} kept as it is; this device's version is now {}/{copy}",
                    r.collection, r.id, r.collection
                ),
                _ => format!(
                    "{}/{}: kept as it is; this device's version stays restorable in `pvault sync history`",
                    r.collection, r.id
                ),
            };
            if g.json {
                output::json(&json!({ "resolved": id, "result": said }));
            } else {
                println!("{said}");
            }
        }
    }
    Ok(())
}

/// `pvault profile set conflict-strategy|device-rank`.
pub fn set_policy(
    pv: &Pvault,
    name: &str,
    setting: &str,
    value: &str,
    collection: Option<String>,
) -> Result<ProfileSummary> {
    if setting == "device-rank" {
        if collection.is_some() {
            bail!("--collection applies to conflict-strategy only");
        }
        let rank: Vec<String> = if value == "default" {
            Vec::new()
        } else {
            value.split(',').map(|s| s.trim().to_string()).collect()
        };
        if rank
            .iter()
            .any(|d| d.is_empty() || !d.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            bail!(
                "device-rank: expected device ids (hex, as shown in records and `pvault sync status`) separated by commas"
            );
        }
        return Ok(pv.update_settings(name, |s| s.device_rank = rank)?);
    }
    let strategy = if value == "default" {
        None
    } else {
        Some(Strategy::parse(value).with_context(|| {
            format!(
                "unknown conflict strategy '{value}': expected one of {}",
                Strategy::ALL.map(Strategy::as_str).join(", ")
            )
        })?)
    };
    if let Some(c) = &collection {
        pvault_core::models::CollectionName::parse(c)?;
    }
    Ok(pv.update_settings(name, |s| match (collection, strategy) {
        (None, st) => s.conflict_strategy = st,
        (Some(c), Some(st)) => {
            s.collection_strategies.insert(c, st);
        }
        (Some(c), None) => {
            s.collection_strategies.remove(&c);
        }
    })?)
}

pub fn server(g: &Global, args: ServerArgs) -> Result<()> {
    let mut config = match &args.database_url {
        Some(url) => pvault_server::ServerConfig::postgres(url.clone()),
        None => {
            let dir = match args.data {
                Some(d) => d,
                None => open_home(g)?.home().root().join("server"),
            };
            pvault_server::ServerConfig::sqlite(dir)
        }
    };
    config.listen = args.listen;
    let json = g.json;
    pvault_server::run(config, move |addr| {
        if json {
            output::json(&json!({ "listening": format!("http://{addr}") }));
        } else {
            eprintln!("pvault server listening on http://{addr} (Ctrl-C to stop)");
        }
    })?;
    Ok(())
}
