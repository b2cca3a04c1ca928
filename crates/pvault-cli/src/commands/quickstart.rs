//! `pvault quickstart`: the main job end to end, in a temporary home, saying what it did.

use std::time::Instant;

use anyhow::{Result, bail, ensure};
use pvault_core::sync;
use pvault_core::{
    Classification, Credentials, Error, NewProfile, NewRecord, Pvault, SecurityLevel,
};
use serde_json::{Value, json};

use crate::cli::{Global, QuickstartArgs};
use crate::output;

fn samples() -> Vec<(
    &'static str,
    Option<&'static str>,
    Option<Classification>,
    Value,
)> {
    vec![
        (
            "transactions",
            None,
            None,
            json!({"amount": "0.25", "asset": "btc", "from": "alice", "to": "bob",
            "time": "2026-11-23T10:00:00Z", "status": "confirmed", "memo": "quickstart"}),
        ),
        (
            "breakthroughs",
            None,
            None,
            json!({"title": "Faster nonce search", "content": "We found that ...",
            "researcher": "alice", "attribution": "alice, bob"}),
        ),
        (
            "api_keys",
            Some("exchange"),
            Some(Classification::Secret),
            json!({"provider": "exchange", "name": "trading bot",
            "secret": "sk-quickstart-not-a-real-key", "scopes": ["read", "trade"], "rotate_every_days": 90}),
        ),
        ("settings", Some("theme"), None, json!({"value": "dark"})),
        (
            "blocks",
            None,
            None,
            json!({"height": 1, "hash": "00000000a1b2c3d4e5f60718", "previous_hash": "00000000ffeeddccbbaa9988",
            "timestamp": "2026-11-23T09:59:00Z", "miner": "alice"}),
        ),
        (
            "research",
            None,
            None,
            json!({"title": "Notes on difficulty", "body": "Observations ...", "tags": ["mining"]}),
        ),
        (
            "reading-list",
            None,
            None,
            json!({"book": "Serious Cryptography", "chapter": 5}),
        ),
    ]
}

pub fn run(g: &Global, args: QuickstartArgs) -> Result<()> {
    let temp = tempfile::Builder::new()
        .prefix("pvault-quickstart-")
        .tempdir()?;
    let root = match &g.home {
        Some(h) => h.clone(),
        None => temp.path().to_path_buf(),
    };
    let mut log: Vec<String> = Vec::new();
    let mut say = |json_mode: bool, line: String| {
        if !json_mode {
            println!("{line}");
        }
        log.push(line);
    };
    let j = g.json;
    let pv = Pvault::open(&root)?;
    say(j, format!("1. home: {}", root.display()));
    let name = format!(
        "demo-{}",
        &hex::encode(pvault_core::internals::random_bytes8())[..6]
    );
    let password = hex::encode(pvault_core::internals::random_bytes8());
    let t = Instant::now();
    let created = pv.create(
        NewProfile {
            name: name.clone(),
            display_name: Some("Quickstart demo".into()),
            security: SecurityLevel::Standard,
        },
        password.as_bytes(),
    )?;
    say(
        j,
        format!(
            "2. created profile '{name}' (standard: Argon2id 64 MiB, t=3, p=4) in {} ms; id {}; a Secret Key was made and shown once",
            t.elapsed().as_millis(),
            created.summary.id
        ),
    );

    let creds = Credentials::password(password.as_bytes());
    let mut vault = pv.unlock(Some(&name), &creds)?;
    let mut stored = Vec::new();
    for (collection, id, classification, data) in samples() {
        let w = vault.put(NewRecord {
            collection: collection.into(),
            id: id.map(Into::into),
            classification,
            data: data.clone(),
        })?;
        stored.push((w, data));
    }
    say(
        j,
        format!(
            "3. stored {} records, one in each collection:",
            stored.len()
        ),
    );
    for (w, _) in &stored {
        say(
            j,
            format!("     {}/{}  {}", w.collection, w.id, w.classification),
        );
    }
    drop(vault);
    say(
        j,
        "4. locked the profile: its keys were zeroized and dropped from memory".into(),
    );

    let t = Instant::now();
    let mut vault = pv.unlock(Some(&name), &creds)?;
    say(
        j,
        format!(
            "5. unlocked again with the password in {} ms",
            t.elapsed().as_millis()
        ),
    );

    let mut hidden = 0;
    for (w, _) in &stored {
        match vault.get(&w.collection, &w.id) {
            Ok(_) => {}
            Err(Error::ReauthRequired { .. }) => hidden += 1,
            Err(e) => return Err(e.into()),
        }
    }
    ensure!(
        hidden == 1,
        "expected exactly the SECRET API key to need the password again"
    );
    pv.reauthenticate(&mut vault, &creds)?;
    let mut matched = 0;
    for (w, original) in &stored {
        let r = vault.get(&w.collection, &w.id)?;
        for (k, v) in original.as_object().expect("object") {
            let got = &r.data[k];
            // Models normalize some values (BTC upper-cased, amounts canonical); compare loosely.
            let same = got == v
                || got.as_str().map(str::to_ascii_lowercase)
                    == v.as_str().map(str::to_ascii_lowercase);
            ensure!(
                same,
                "{}/{} field {k} read back differently",
                w.collection,
                w.id
            );
        }
        matched += 1;
    }
    say(
        j,
        format!(
            "6. read back all {matched} records and compared them field by field; the SECRET API key was shown only after the password was given again"
        ),
    );

    let found = vault.list("transactions", Some(("asset", "BTC")))?;
    ensure!(
        found.records.len() == 1,
        "blind-index query found {} records",
        found.records.len()
    );
    say(j, "7. found the transaction with `--where asset=BTC` through the blind index (no scan, no decryption of others)".into());

    let report = vault.verify(&mut |_, _| {})?;
    if !report.problems.is_empty() {
        bail!("verify found {} problems", report.problems.len());
    }
    say(
        j,
        format!(
            "8. verify: {} records and {} breakthrough versions checked, no problems",
            report.records, report.versions
        ),
    );

    let bad = pv.unlock(Some(&name), &Credentials::password("not the password"));
    ensure!(
        matches!(bad, Err(Error::WrongPassword { .. })),
        "a wrong password was not refused"
    );
    say(
        j,
        "9. a wrong password was refused (and counted on disk)".into(),
    );

    // Sync: a second device joins through an embedded server on loopback, which stores only what
    // it cannot read.
    let server_dir = temp.path().join("server");
    let server = pvault_server::spawn(pvault_server::ServerConfig::sqlite(&server_dir))?;
    let cfg = sync::setup(&vault, &server.url(), &name, "quickstart-laptop")?;
    let policy = vault.summary().sync_policy();
    let pushed = sync::sync(&mut vault, &policy, &mut |_, _, _| {})?;
    say(
        j,
        format!(
            "10. started a sync server on {} (SQLite) and registered the profile as '{}': pushed {} sealed records",
            cfg.server, cfg.username, pushed.pushed
        ),
    );
    let second = Pvault::open(&temp.path().join("second-device"))?;
    let sk = pvault_core::SecretKey::parse(&created.secret_key)?;
    let t = Instant::now();
    let mut other = sync::join(
        &second,
        &server.url(),
        &name,
        password.as_bytes(),
        &sk,
        "quickstart-phone",
        &name,
    )?;
    let pulled = sync::sync(&mut other, &policy, &mut |_, _, _| {})?;
    ensure!(
        pulled.pulled == stored.len() as u64,
        "the second device pulled {} of {} records",
        pulled.pulled,
        stored.len()
    );
    say(
        j,
        format!(
            "11. a second device joined with the password and the Secret Key and pulled all {} records in {} ms",
            pulled.pulled,
            t.elapsed().as_millis()
        ),
    );
    let marker = format!(
        "edited-on-phone-{}",
        hex::encode(pvault_core::internals::random_bytes8())
    );
    other.put(NewRecord {
        collection: "research".into(),
        id: Some("quickstart-note".into()),
        classification: None,
        data: json!({"title": "synced", "body": marker}),
    })?;
    sync::sync(&mut other, &policy, &mut |_, _, _| {})?;
    sync::sync(&mut vault, &policy, &mut |_, _, _| {})?;
    let back = vault.get("research", "quickstart-note")?;
    ensure!(
        back.data["body"] == marker.as_str(),
        "the edit did not arrive"
    );
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(&server_dir)? {
        let path = entry?.path();
        if path.is_file() {
            on_disk.extend(std::fs::read(&path)?);
        }
    }
    ensure!(
        !on_disk
            .windows(marker.len())
            .any(|w| w == marker.as_bytes()),
        "the server's files contain a plaintext marker"
    );
    say(
        j,
        format!(
            "12. a note written on the second device reached the first through the server; the server's {} bytes on disk hold no plaintext of it",
            on_disk.len()
        ),
    );
    drop(other);
    server.shutdown();

    if args.keep {
        let kept = temp.keep();
        say(
            j,
            format!(
                "kept the home at {} (profile '{name}', password {password})",
                kept.display()
            ),
        );
    } else if g.home.is_none() {
        say(j, "the temporary home was removed".into());
    }
    if j {
        output::json(&json!({ "ok": true, "profile": name, "steps": log }));
    }
    Ok(())
}
