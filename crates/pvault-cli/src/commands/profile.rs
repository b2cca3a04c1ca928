//! `pvault profile ...`

use anyhow::{Result, bail};
use pvault_core::NewProfile;
use pvault_core::agent::{AgentClient, SecretString};
use serde_json::json;

use crate::cli::{CreateArgs, Global, ProfileCommand};
use crate::commands::{agent, open_home, unlock};
use crate::{output, secrets};

pub fn run(g: &Global, cmd: ProfileCommand) -> Result<()> {
    let pv = open_home(g)?;
    match cmd {
        ProfileCommand::Create(args) => create(g, &pv, args),
        ProfileCommand::List => {
            let current = pv.current()?;
            let profiles = pv.list()?;
            if g.json {
                output::json(&json!({ "current": current, "profiles": profiles }));
            } else if profiles.is_empty() {
                println!("no profiles yet: create one with `pvault profile create NAME`");
            } else {
                for p in &profiles {
                    println!(
                        "{}",
                        output::profile_line(p, current.as_deref() == Some(&p.name))
                    );
                }
            }
            Ok(())
        }
        ProfileCommand::Unlock { name } => {
            let name = pv.resolve(name.as_deref().or(g.profile.as_deref()))?.name;
            let mut g2 = g.clone();
            g2.profile = Some(name.clone());
            let (summary, keys) = {
                let mut creds = secrets::credentials(&g2, &name)?;
                match pv.unlock_for_transfer(Some(&name), &creds) {
                    Err(pvault_core::Error::SecretKeyRequired(n)) if creds.secret_key.is_none() => {
                        creds.secret_key = Some(secrets::prompt_secret_key(&n)?);
                        pv.unlock_for_transfer(Some(&name), &creds)?
                    }
                    other => other?,
                }
            };
            let mut agent = agent::ensure(&pv)?;
            agent.unlock(
                &name,
                SecretString(zeroize::Zeroizing::new(hex::encode(&keys[..]))),
            )?;
            let auto_lock = summary.auto_lock().as_secs();
            if g.json {
                output::json(&json!({ "unlocked": name, "auto_lock_secs": auto_lock }));
            } else {
                println!(
                    "profile '{name}' unlocked in the agent; it locks after {} of inactivity",
                    human(auto_lock)
                );
            }
            Ok(())
        }
        ProfileCommand::Lock { name, all } => {
            let target = if all {
                None
            } else {
                Some(pv.resolve(name.as_deref().or(g.profile.as_deref()))?.name)
            };
            let locked: Vec<String> = match AgentClient::connect(pv.home().root()) {
                None => Vec::new(),
                Some(mut c) => c.lock(target.as_deref())?,
            };
            if g.json {
                output::json(&json!({ "locked": locked }));
            } else if locked.is_empty() {
                println!(
                    "nothing to lock: {} not unlocked in an agent",
                    target
                        .map(|t| format!("'{t}' is"))
                        .unwrap_or("no profile is".into())
                );
            } else {
                println!(
                    "locked {} (keys and cached records zeroized)",
                    locked.join(", ")
                );
            }
            Ok(())
        }
        ProfileCommand::Status => {
            let status = match AgentClient::connect(pv.home().root()) {
                None => Vec::new(),
                Some(mut c) => c.status()?,
            };
            let current = pv.current()?;
            if g.json {
                output::json(&json!({ "current": current, "unlocked": status }));
            } else {
                if status.is_empty() {
                    println!("every profile is locked");
                }
                for s in &status {
                    let name = s.profile.as_str();
                    println!(
                        "{} {:<20} unlocked, idle {}, locks in {}{}",
                        if current.as_deref() == Some(name) {
                            "*"
                        } else {
                            " "
                        },
                        name,
                        human(s.idle_secs),
                        human(s.locks_in_secs),
                        if s.cache_encrypted {
                            ", cache encrypted"
                        } else {
                            ""
                        },
                    );
                    if let Some(news) = &s.watch_news {
                        println!("    background sync: {news}");
                    }
                }
            }
            Ok(())
        }
        ProfileCommand::Set {
            setting,
            value,
            collection,
        } if setting == "conflict-strategy" || setting == "device-rank" => {
            let name = pv.resolve(g.profile.as_deref())?.name;
            let summary =
                crate::commands::sync::set_policy(&pv, &name, &setting, &value, collection)?;
            if g.json {
                output::json(&summary);
            } else {
                let p = summary.sync_policy();
                println!(
                    "profile '{name}': conflict strategy {}{}{}",
                    p.default.as_str(),
                    p.per_collection
                        .iter()
                        .map(|(c, s)| format!(", {c}: {}", s.as_str()))
                        .collect::<String>(),
                    if p.device_rank.is_empty() {
                        String::new()
                    } else {
                        format!("; device priority {}", p.device_rank.join(" > "))
                    }
                );
            }
            Ok(())
        }
        ProfileCommand::Set {
            setting,
            value,
            collection,
        } => {
            if collection.is_some() {
                bail!("--collection applies to conflict-strategy only");
            }
            let name = pv.resolve(g.profile.as_deref())?.name;
            let secs = if value == "default" {
                None
            } else {
                let d = crate::cli::parse_duration(&value).map_err(anyhow::Error::msg)?;
                if d.is_zero() {
                    bail!("{setting} must be longer than 0 s");
                }
                Some(d.as_secs())
            };
            let summary = match setting.as_str() {
                "auto-lock" => pv.update_settings(&name, |s| s.auto_lock_secs = secs)?,
                "reauth-window" => pv.update_settings(&name, |s| s.reauth_window_secs = secs)?,
                other => bail!(
                    "unknown setting '{other}': expected auto-lock, reauth-window, conflict-strategy or device-rank"
                ),
            };
            // A session in the agent keeps the old values: lock it so the next unlock uses the new ones.
            if let Some(mut c) = AgentClient::connect(pv.home().root()) {
                c.lock(Some(&name))?;
            }
            if g.json {
                output::json(&summary);
            } else {
                println!(
                    "profile '{name}': auto-lock {}, re-authentication window {} (applies from the next unlock)",
                    human(summary.auto_lock().as_secs()),
                    human(summary.reauth_window().as_secs())
                );
            }
            Ok(())
        }
        ProfileCommand::Use { name } => {
            pv.use_profile(&name)?;
            if g.json {
                output::json(&json!({ "current": name }));
            } else {
                println!("current profile: {name}");
            }
            Ok(())
        }
        ProfileCommand::Show { name } => {
            let d = pv.details(name.as_deref().or(g.profile.as_deref()))?;
            if g.json {
                output::json(&d);
            } else {
                let s = &d.summary;
                println!("name:            {}", s.name);
                println!("display name:    {}", s.display_name);
                println!("id:              {}", s.id);
                println!("security level:  {}", s.security);
                println!("created:         {}", s.created);
                println!(
                    "key epochs:      {:?} (current {})",
                    d.key_ids, d.current_key_id
                );
                println!(
                    "KDF:             Argon2id m={} KiB t={} p={}",
                    d.kdf.m_kib, d.kdf.t, d.kdf.p
                );
                println!(
                    "Secret Key:      {}",
                    if d.secret_key_on_device {
                        "kept on this device (wrapped)"
                    } else {
                        "typed at every unlock"
                    }
                );
                println!("identity:        ed25519 {}", d.identity);
                println!("failed unlocks:  {}", d.failed_attempts);
                println!("directory:       {}", d.dir.display());
            }
            Ok(())
        }
        ProfileCommand::Passwd { new_password_file } => {
            let mut vault = unlock(&pv, g)?;
            let name = vault.summary().name.clone();
            let new = secrets::new_password(
                new_password_file.as_deref(),
                "PVAULT_NEW_PASSWORD",
                &format!("profile '{name}'"),
            )?;
            vault.change_password(&new)?;
            lock_in_agent(&pv, &name);
            if g.json {
                output::json(&json!({ "profile": name, "password_changed": true }));
            } else {
                println!(
                    "password of profile '{name}' changed (keys rewrapped, no record re-encrypted)"
                );
            }
            Ok(())
        }
        ProfileCommand::RotateKeys => {
            let mut vault = unlock(&pv, g)?;
            let bar = output::progress(g.json, "resealing");
            let report = vault.rotate_keys(&mut output::callback(&bar))?;
            lock_in_agent(&pv, &vault.summary().name);
            bar.finish_and_clear();
            if g.json {
                output::json(&report);
            } else {
                println!(
                    "{}rotated to key epoch {}: {} records and {} versions resealed; {}",
                    if report.resumed { "resumed and " } else { "" },
                    report.key_id,
                    report.records,
                    report.versions,
                    if report.kept_for_sync.is_empty() {
                        format!("destroyed epoch(s) {:?}", report.destroyed)
                    } else {
                        format!(
                            "old epoch(s) {:?} kept for reading because the profile syncs; everything is pushed again under the new one at the next `pvault sync`",
                            report.kept_for_sync
                        )
                    }
                );
            }
            Ok(())
        }
        ProfileCommand::Delete { name, confirm } => {
            let Some(confirm) = confirm else {
                bail!(
                    "not deleted: this destroys profile '{name}' and all its data for good; add --confirm {name}"
                );
            };
            let gone = pv.delete(&name, &confirm)?;
            if g.json {
                output::json(&json!({ "deleted": gone.name, "id": gone.id }));
            } else {
                println!(
                    "profile '{}' deleted: keys destroyed, then its files",
                    gone.name
                );
            }
            Ok(())
        }
    }
}

fn create(g: &Global, pv: &pvault_core::Pvault, args: CreateArgs) -> Result<()> {
    pvault_core::validate_profile_name(&args.name)?;
    let password = match &g.password_file {
        Some(p) => secrets::new_password(
            Some(p),
            "PVAULT_PASSWORD",
            &format!("new profile '{}'", args.name),
        )?,
        None => secrets::new_password(
            None,
            "PVAULT_PASSWORD",
            &format!("new profile '{}'", args.name),
        )?,
    };
    let created = pv.create(
        NewProfile {
            name: args.name.clone(),
            display_name: args.display_name,
            security: args.security,
        },
        &password,
    )?;
    let s = &created.summary;
    if g.json {
        output::json(&json!({
            "id": s.id,
            "name": s.name,
            "security": s.security,
            "secret_key": created.secret_key.as_str(),
        }));
    } else {
        println!("created profile '{}' ({}), id {}", s.name, s.security, s.id);
        println!();
        println!("Secret Key: {}", created.secret_key.as_str());
        println!();
        println!(
            "Write the Secret Key down and keep it apart from your password. It is shown only now."
        );
        println!(
            "You need it to add this profile to another device{}.",
            if s.security.stores_secret_key() {
                ""
            } else {
                ", and on this device at every unlock"
            }
        );
    }
    Ok(())
}

/// 90 -> "1m30s".
fn human(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// After the keys changed on disk, a session in the agent holds stale ones: lock it.
fn lock_in_agent(pv: &pvault_core::Pvault, name: &str) {
    if let Some(mut c) = AgentClient::connect(pv.home().root()) {
        let _ = c.lock(Some(name));
    }
}
