//! `pvault quickstart`: the main job end to end, in a temporary home, saying what it did. Each
//! step is a function that says what it did in the [`Log`].

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail, ensure};
use pvault_core::sync::{self, Policy};
use pvault_core::{
    Classification, CreatedProfile, Credentials, Error, NewProfile, NewRecord, Pvault,
    SecurityLevel, Vault, Written,
};
use serde_json::{Value, json};

use crate::cli::QuickstartArgs;
use crate::context::Ctx;
use crate::output::quickstart::Done;

/// What quickstart says, a line a step. The lines are printed as they are said (not at the end),
/// so that a step that fails shows how far it got; with `--json` they are kept for [`Done`].
struct Log {
    json: bool,
    lines: Vec<String>,
}

impl Log {
    fn say(&mut self, line: String) {
        if !self.json {
            println!("{line}");
        }
        self.lines.push(line);
    }
}

/// The demonstration's profile.
struct Demo {
    pv: Pvault,
    name: String,
    password: String,
    created: CreatedProfile,
}

impl Demo {
    fn creds(&self) -> Credentials {
        Credentials::password(self.password.as_bytes())
    }
}

/// A record stored by step 3, and the data it was stored with.
type Stored = Vec<(Written, Value)>;

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

pub fn run(ctx: &Ctx, args: QuickstartArgs) -> Result<Done> {
    let g = &ctx.g;
    let temp = tempfile::Builder::new()
        .prefix("pvault-quickstart-")
        .tempdir()?;
    // Not `ctx.pv()`: without --home, the demonstration's home is the temporary directory.
    let root = match &g.home {
        Some(h) => h.clone(),
        None => temp.path().to_path_buf(),
    };
    let mut log = Log {
        json: g.json,
        lines: Vec::new(),
    };
    let pv = Pvault::open(&root)?;
    log.say(format!("1. home: {}", root.display()));
    let demo = create_profile(pv, &mut log)?;
    let stored = store_samples(&demo, &mut log)?;
    let mut vault = unlock_again(&demo, &mut log)?;
    read_back(&demo, &mut vault, &stored, &mut log)?;
    query_and_verify(&vault, &mut log)?;
    refuse_wrong_password(&demo, &mut log)?;
    sync_two_devices(&demo, &mut vault, temp.path(), stored.len(), &mut log)?;

    if args.keep {
        let kept = temp.keep();
        log.say(format!(
            "kept the home at {} (profile '{}', password {})",
            kept.display(),
            demo.name,
            demo.password
        ));
    } else if g.home.is_none() {
        log.say("the temporary home was removed".into());
    }
    Ok(Done {
        profile: demo.name,
        steps: log.lines,
    })
}

/// Step 2.
fn create_profile(pv: Pvault, log: &mut Log) -> Result<Demo> {
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
    log.say(format!(
        "2. created profile '{name}' (standard: Argon2id 64 MiB, t=3, p=4) in {} ms; id {}; a Secret Key was made and shown once",
        t.elapsed().as_millis(),
        created.summary.id
    ));
    Ok(Demo {
        pv,
        name,
        password,
        created,
    })
}

/// Steps 3 and 4: a record in each collection, then the profile locked.
fn store_samples(demo: &Demo, log: &mut Log) -> Result<Stored> {
    let mut vault = demo.pv.unlock(Some(&demo.name), &demo.creds())?;
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
    log.say(format!(
        "3. stored {} records, one in each collection:",
        stored.len()
    ));
    for (w, _) in &stored {
        log.say(format!(
            "     {}/{}  {}",
            w.collection, w.id, w.classification
        ));
    }
    drop(vault);
    log.say("4. locked the profile: its keys were zeroized and dropped from memory".into());
    Ok(stored)
}

/// Step 5.
fn unlock_again(demo: &Demo, log: &mut Log) -> Result<Vault> {
    let t = Instant::now();
    let vault = demo.pv.unlock(Some(&demo.name), &demo.creds())?;
    log.say(format!(
        "5. unlocked again with the password in {} ms",
        t.elapsed().as_millis()
    ));
    Ok(vault)
}

/// Step 6: every record read back; the SECRET one only after the password is given again.
fn read_back(demo: &Demo, vault: &mut Vault, stored: &Stored, log: &mut Log) -> Result<()> {
    let mut hidden = 0;
    for (w, _) in stored {
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
    demo.pv.reauthenticate(vault, &demo.creds())?;
    let mut matched = 0;
    for (w, original) in stored {
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
    log.say(format!(
        "6. read back all {matched} records and compared them field by field; the SECRET API key was shown only after the password was given again"
    ));
    Ok(())
}

/// Steps 7 and 8: a query through the blind index, then `verify`.
fn query_and_verify(vault: &Vault, log: &mut Log) -> Result<()> {
    let found = vault.list("transactions", Some(("asset", "BTC")))?;
    ensure!(
        found.records.len() == 1,
        "blind-index query found {} records",
        found.records.len()
    );
    log.say("7. found the transaction with `--where asset=BTC` through the blind index (no scan, no decryption of others)".into());

    let report = vault.verify(&mut |_, _| {})?;
    if !report.problems.is_empty() {
        bail!("verify found {} problems", report.problems.len());
    }
    log.say(format!(
        "8. verify: {} records and {} breakthrough versions checked, no problems",
        report.records, report.versions
    ));
    Ok(())
}

/// Step 9.
fn refuse_wrong_password(demo: &Demo, log: &mut Log) -> Result<()> {
    let bad = demo
        .pv
        .unlock(Some(&demo.name), &Credentials::password("not the password"));
    ensure!(
        matches!(bad, Err(Error::WrongPassword { .. })),
        "a wrong password was not refused"
    );
    log.say("9. a wrong password was refused (and counted on disk)".into());
    Ok(())
}

/// Steps 10 to 12. A second device joins through an embedded server on loopback, which stores
/// only what it cannot read.
fn sync_two_devices(
    demo: &Demo,
    vault: &mut Vault,
    temp: &Path,
    records: usize,
    log: &mut Log,
) -> Result<()> {
    let server_dir = temp.join("server");
    let server = pvault_server::spawn(pvault_server::ServerConfig::sqlite(&server_dir))?;
    let cfg = sync::setup(vault, &server.url(), &demo.name, "quickstart-laptop")?;
    let policy = vault.summary().sync_policy();
    let pushed = sync::sync(vault, &policy, &mut |_, _, _| {})?;
    log.say(format!(
        "10. started a sync server on {} (SQLite) and registered the profile as '{}': pushed {} sealed records",
        cfg.server, cfg.username, pushed.pushed
    ));
    let second = Pvault::open(&temp.join("second-device"))?;
    let mut other = join_second_device(demo, &second, &server.url(), &policy, records, log)?;
    edit_on_second_device(vault, &mut other, &policy, &server_dir, log)?;
    drop(other);
    server.shutdown();
    Ok(())
}

/// Step 11.
fn join_second_device(
    demo: &Demo,
    second: &Pvault,
    url: &str,
    policy: &Policy,
    records: usize,
    log: &mut Log,
) -> Result<Vault> {
    let sk = pvault_core::SecretKey::parse(&demo.created.secret_key)?;
    let t = Instant::now();
    let mut other = sync::join(
        second,
        url,
        &demo.name,
        demo.password.as_bytes(),
        &sk,
        "quickstart-phone",
        &demo.name,
    )?;
    let pulled = sync::sync(&mut other, policy, &mut |_, _, _| {})?;
    ensure!(
        pulled.pulled == records as u64,
        "the second device pulled {} of {} records",
        pulled.pulled,
        records
    );
    log.say(format!(
        "11. a second device joined with the password and the Secret Key and pulled all {} records in {} ms",
        pulled.pulled,
        t.elapsed().as_millis()
    ));
    Ok(other)
}

/// Step 12: a note written on the second device reaches the first, and the server's files hold no
/// plaintext of it.
fn edit_on_second_device(
    vault: &mut Vault,
    other: &mut Vault,
    policy: &Policy,
    server_dir: &Path,
    log: &mut Log,
) -> Result<()> {
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
    sync::sync(other, policy, &mut |_, _, _| {})?;
    sync::sync(vault, policy, &mut |_, _, _| {})?;
    let back = vault.get("research", "quickstart-note")?;
    ensure!(
        back.data["body"] == marker.as_str(),
        "the edit did not arrive"
    );
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(server_dir)? {
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
    log.say(format!(
        "12. a note written on the second device reached the first through the server; the server's {} bytes on disk hold no plaintext of it",
        on_disk.len()
    ));
    Ok(())
}
