//! `pvault profile ...`

use anyhow::{Result, bail};
use pvault_core::NewProfile;
use serde_json::json;

use crate::cli::{CreateArgs, Global, ProfileCommand};
use crate::commands::{open_home, unlock};
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
            bar.finish_and_clear();
            if g.json {
                output::json(&report);
            } else {
                println!(
                    "{}rotated to key epoch {}: {} records and {} versions resealed; destroyed epoch(s) {:?}",
                    if report.resumed { "resumed and " } else { "" },
                    report.key_id,
                    report.records,
                    report.versions,
                    report.destroyed
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
