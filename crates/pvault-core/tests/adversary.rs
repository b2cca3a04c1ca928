//! A sync server that lies: one test per attack, each against both backends.
//!
//! The server is real (`pvault_server::spawn`, on SQLite or on the local PostgreSQL); the lies are
//! told through its database, the way an attacker who controls it would (`pvault_server::testing::
//! Tamper`: every lie keeps the server's own chain hashes, head and Merkle nodes consistent, so only
//! the client's end-to-end checks can catch it). A fork is two real servers on copies of one
//! database, with a relay deciding which device talks to which.
//!
//! Each test checks what the issue asks: the attack is detected or refused on every device
//! concerned, with a message naming it; nothing of the lie is stored; every acknowledged edit is
//! still on the device that had it; and the sync resumes against an honest server.

use pvault_core::sync::{self, Policy, SyncReport};
use pvault_core::{
    Credentials, Error, NewProfile, NewRecord, Pvault, SecretKey, SecurityLevel, Vault,
};
use pvault_server::testing::{PgDatabase, Relay, Tamper};
use pvault_server::{ServerConfig, ServerHandle};
use serde_json::{Value, json};

const PASSWORD: &str = "adversary test password";
const NOTES: &str = "notes";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Writes each test once; runs it on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Kind::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Kind::Postgres) })*
        }
    };
}

/// A database of its own and what opens it.
struct Backend {
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
    config: ServerConfig,
    tamper: Tamper,
}

fn backend(kind: Kind) -> Option<Backend> {
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let config = ServerConfig::sqlite(dir.path());
            // The server creates and migrates the database: open it for tampering afterwards.
            let tamper = Tamper::sqlite(dir.path());
            Some(Backend {
                _dir: Some(dir),
                _pg: None,
                config,
                tamper,
            })
        }
        Kind::Postgres => {
            let pg = PgDatabase::create("pvault_adversary")?;
            let config = ServerConfig::postgres(pg.url.clone());
            let tamper = Tamper::postgres(&pg.url);
            Some(Backend {
                _dir: None,
                _pg: Some(pg),
                config,
                tamper,
            })
        }
    }
}

struct Device {
    _pv: Pvault,
    vault: Vault,
    /// Where the device's connections go (the server, or another one in a fork).
    relay: Relay,
    _dir: tempfile::TempDir,
}

/// One profile synced by several devices through one server, and a hand on its database.
struct Lab {
    backend: Backend,
    server: ServerHandle,
    name: String,
    secret_key: SecretKey,
    account: [u8; 16],
    devices: Vec<Device>,
    policy: Policy,
}

impl Lab {
    /// A profile on device 0, set up for sync, and `n - 1` more devices joined; all synced.
    fn new(kind: Kind, n: usize) -> Option<Lab> {
        let backend = backend(kind)?;
        let server = pvault_server::spawn(backend.config.clone()).unwrap();
        let relay = Relay::start(server.addr()).unwrap();
        let name = "alice".to_string();
        let dir = tempfile::tempdir().unwrap();
        let pv = Pvault::open(dir.path()).unwrap();
        let created = pv
            .create(
                NewProfile {
                    name: name.clone(),
                    display_name: None,
                    security: SecurityLevel::Standard,
                },
                PASSWORD.as_bytes(),
            )
            .unwrap();
        let secret_key = SecretKey::parse(&created.secret_key).unwrap();
        let vault = pv
            .unlock(Some(&name), &Credentials::password(PASSWORD))
            .unwrap();
        sync::setup(&vault, &relay.url(), &name, "device-0").unwrap();
        let account = account_of(&vault);
        let mut lab = Lab {
            backend,
            server,
            name,
            secret_key,
            account,
            devices: vec![Device {
                _pv: pv,
                vault,
                relay,
                _dir: dir,
            }],
            policy: Policy::default(),
        };
        for i in 1..n {
            let d = lab.join(&format!("device-{i}")).unwrap();
            lab.devices.push(d);
        }
        for i in 0..n {
            lab.sync(i).unwrap();
        }
        Some(lab)
    }

    fn tamper(&self) -> &Tamper {
        &self.backend.tamper
    }

    /// A new device joining the profile (not yet synced), through a relay of its own.
    fn join(&self, device: &str) -> pvault_core::Result<Device> {
        let dir = tempfile::tempdir().unwrap();
        let pv = Pvault::open(dir.path()).unwrap();
        let relay = Relay::start(self.server.addr()).unwrap();
        let vault = sync::join(
            &pv,
            &relay.url(),
            &self.name,
            PASSWORD.as_bytes(),
            &self.secret_key,
            device,
            &self.name,
        )?;
        Ok(Device {
            _pv: pv,
            vault,
            relay,
            _dir: dir,
        })
    }

    fn sync(&mut self, i: usize) -> pvault_core::Result<SyncReport> {
        let policy = self.policy.clone();
        sync::sync(&mut self.devices[i].vault, &policy, &mut |_, _, _| {})
    }

    fn put(&mut self, i: usize, id: &str, text: &str) {
        self.devices[i]
            .vault
            .put(NewRecord {
                collection: NOTES.into(),
                id: Some(id.into()),
                classification: None,
                data: json!({"title": id, "body": text}),
            })
            .unwrap();
    }

    /// The body of a note as device `i` has it (`None`: absent or deleted).
    fn body(&self, i: usize, id: &str) -> Option<String> {
        match self.devices[i].vault.get(NOTES, id) {
            Ok(r) => r
                .data
                .get("body")
                .and_then(Value::as_str)
                .map(str::to_string),
            Err(Error::NotFound { .. }) => None,
            Err(e) => panic!("get {id}: {e}"),
        }
    }

    fn rid(&self, id: &str) -> [u8; 16] {
        pvault_core::internals::row_key(&self.devices[0].vault, NOTES, id)
    }

    /// The sealed item the server holds as a record's current version.
    fn current_blob(&self, id: &str) -> Vec<u8> {
        self.tamper()
            .current(self.account, self.rid(id))
            .expect("the server has the record")
            .2
    }
}

/// The account id of a profile (its profile id).
fn account_of(vault: &Vault) -> [u8; 16] {
    let mut id = [0u8; 16];
    hex::decode_to_slice(&vault.summary().id, &mut id).unwrap();
    id
}

/// `result` is a sync stopped for the named reason.
fn stopped<T>(result: pvault_core::Result<T>, reason: &str) -> String {
    match result {
        Err(e @ (Error::SyncIntegrity(_) | Error::SyncTampered(_))) => {
            let message = e.to_string();
            assert!(
                message.contains(reason),
                "expected a sync stopped because of '{reason}', got: {message}"
            );
            message
        }
        Err(e) => panic!("expected a sync stopped because of '{reason}', got: {e:?}"),
        Ok(_) => panic!("expected a sync stopped because of '{reason}', but it went through"),
    }
}

/// The device raised the `sync_integrity` anomaly (which is also an audit entry).
fn raised(vault: &Vault) {
    let anomalies = vault.anomalies().unwrap();
    assert!(
        anomalies.iter().any(|a| a.what == "sync_integrity"),
        "no sync_integrity anomaly in {anomalies:?}"
    );
}

fn replay_of_an_older_version(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "plan", "version one");
    lab.sync(0).unwrap();
    let old = lab.current_blob("plan");
    lab.put(0, "plan", "version two");
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    assert_eq!(lab.body(1, "plan").as_deref(), Some("version two"));

    // The server appends the old sealed version as a new change, chain and tree extended.
    let before = lab.tamper().head(lab.account);
    lab.tamper()
        .append(lab.account, lab.rid("plan"), false, &old);
    assert_eq!(lab.tamper().head(lab.account), before + 1);

    for i in [1, 0] {
        stopped(lab.sync(i), "replayed");
        assert_eq!(lab.body(i, "plan").as_deref(), Some("version two"));
        raised(&lab.devices[i].vault);
    }
    // A device that joins now reads the whole log: the replayed version does not follow the
    // version before it.
    let mut newcomer = lab.join("newcomer").unwrap();
    stopped(
        sync::sync(&mut newcomer.vault, &Policy::default(), &mut |_, _, _| {}),
        "replayed",
    );
}

fn replay_in_a_push_answer(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "plan", "version one");
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    let old = lab.current_blob("plan");
    lab.put(0, "plan", "version two");
    lab.sync(0).unwrap();
    // Device 1 edits offline; meanwhile the server puts version one back as the current version
    // (a newer change carrying the old item), so the answer to device 1's push is the old item.
    lab.put(1, "plan", "device one's edit");
    lab.tamper()
        .append(lab.account, lab.rid("plan"), false, &old);
    stopped(lab.sync(1), "replayed");
    assert_eq!(lab.body(1, "plan").as_deref(), Some("device one's edit"));
}

fn withheld_blob(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 1) else {
        return;
    };
    lab.put(0, "plan", "the only copy elsewhere");
    lab.sync(0).unwrap();
    lab.tamper().drop_blob(lab.account, lab.rid("plan"));
    let mut newcomer = lab.join("newcomer").unwrap();
    stopped(
        sync::sync(&mut newcomer.vault, &Policy::default(), &mut |_, _, _| {}),
        "withholds the current version of 1 record",
    );
    raised(&newcomer.vault);
    // The writer still has it.
    assert_eq!(
        lab.body(0, "plan").as_deref(),
        Some("the only copy elsewhere")
    );
}

fn whole_log_rollback(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "a", "first");
    lab.sync(0).unwrap();
    let keep = lab.tamper().head(lab.account);
    lab.put(0, "b", "second");
    lab.sync(0).unwrap();
    lab.tamper().truncate(lab.account, keep);
    // A waiting edit must not be pushed into the rolled-back log.
    lab.put(0, "c", "waiting");
    stopped(lab.sync(0), "shorter than what this device already saw");
    assert_eq!(lab.tamper().head(lab.account), keep, "nothing was pushed");
    assert_eq!(lab.body(0, "b").as_deref(), Some("second"));
    assert_eq!(lab.body(0, "c").as_deref(), Some("waiting"));
    raised(&lab.devices[0].vault);
}

fn tail_truncation(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "a", "first");
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    let head = lab.tamper().head(lab.account);
    lab.tamper().truncate(lab.account, head - 1);
    for i in [0, 1] {
        stopped(lab.sync(i), "shorter than what this device already saw");
        assert_eq!(lab.body(i, "a").as_deref(), Some("first"));
    }
}

fn one_record_rollback(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "plan", "version one");
    lab.sync(0).unwrap();
    let old = lab.current_blob("plan");
    lab.put(0, "plan", "version two");
    lab.sync(0).unwrap();
    // The current blob swapped for the old one in place: its hash no longer matches the log.
    lab.tamper()
        .set_current_blob(lab.account, lab.rid("plan"), &old);
    let mut newcomer = lab.join("newcomer").unwrap();
    let result = sync::sync(&mut newcomer.vault, &Policy::default(), &mut |_, _, _| {});
    assert!(
        matches!(result, Err(Error::Protocol(ref m)) if m.contains("hash")),
        "{result:?}"
    );
    assert!(newcomer.vault.get(NOTES, "plan").is_err());
}

fn withheld_change_is_noticed_by_its_writer(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 1) else {
        return;
    };
    lab.put(0, "a", "first");
    lab.sync(0).unwrap();
    let before = lab.tamper().head(lab.account);
    lab.put(0, "b", "kept back");
    lab.put(0, "c", "after it");
    // The server takes the push, then drops one of its changes and renumbers the rest (the chain
    // and tree recomputed): the writer's next pull shows a log without it.
    lab.sync(0).unwrap();
    let dropped = lab
        .tamper()
        .changes(lab.account)
        .into_iter()
        .find(|c| c.0 > before && c.1 == lab.rid("b"))
        .expect("the change of b")
        .0;
    lab.tamper().withhold(lab.account, dropped);
    lab.put(0, "d", "next");
    let message = stopped(lab.sync(0), "");
    assert!(
        message.contains("shorter") || message.contains("acknowledged"),
        "{message}"
    );
    assert_eq!(lab.body(0, "b").as_deref(), Some("kept back"));
}

fn ciphertext_swaps(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "one", "first record");
    lab.put(0, "two", "second record");
    lab.devices[0]
        .vault
        .put(NewRecord {
            collection: "research".into(),
            id: Some("one".into()),
            classification: None,
            data: json!({"title": "research one", "body": "in another collection"}),
        })
        .unwrap();
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    let one = lab.current_blob("one");
    let two = lab.current_blob("two");
    let research = pvault_core::internals::row_key(&lab.devices[0].vault, "research", "one");
    // Record: the item of "two" filed under "one".
    lab.tamper()
        .append(lab.account, lab.rid("one"), false, &two);
    stopped(lab.sync(1), "");
    assert_eq!(lab.body(1, "one").as_deref(), Some("first record"));
    lab.tamper()
        .truncate(lab.account, lab.tamper().head(lab.account) - 1);

    // Collection: the notes item "one" filed under the research record of the same id.
    lab.tamper().append(lab.account, research, false, &one);
    stopped(lab.sync(1), "");
    lab.tamper()
        .truncate(lab.account, lab.tamper().head(lab.account) - 1);

    // Field: the body of "two" inside the item of "one" (same description and id box).
    let swapped = swap_body(&one, &two);
    lab.tamper()
        .append(lab.account, lab.rid("one"), false, &swapped);
    stopped(lab.sync(1), "");
    lab.tamper()
        .truncate(lab.account, lab.tamper().head(lab.account) - 1);

    // Profile: an item of another profile on the same server.
    let other = Lab::new(kind, 1);
    if let Some(mut other) = other {
        other.put(0, "one", "another profile's note");
        other.sync(0).unwrap();
        let foreign = other.current_blob("one");
        lab.tamper()
            .append(lab.account, lab.rid("one"), false, &foreign);
        stopped(lab.sync(1), "");
        lab.tamper()
            .truncate(lab.account, lab.tamper().head(lab.account) - 1);
    }
    // Nothing of any of them was stored; with the lies gone the device syncs again.
    assert_eq!(lab.body(1, "one").as_deref(), Some("first record"));
    assert_eq!(lab.body(1, "two").as_deref(), Some("second record"));
    lab.put(1, "two", "after the lies");
    lab.sync(1).unwrap();
    lab.sync(0).unwrap();
    assert_eq!(lab.body(0, "two").as_deref(), Some("after the lies"));
}

/// The item `a` with the body of item `b` (`"PVI1" | len | description | len | id box | len | body`).
fn swap_body(a: &[u8], b: &[u8]) -> Vec<u8> {
    let parts = |item: &[u8]| -> Vec<Vec<u8>> {
        let mut at = 4;
        (0..3)
            .map(|_| {
                let n = u32::from_be_bytes(item[at..at + 4].try_into().unwrap()) as usize;
                at += 4;
                let part = item[at..at + n].to_vec();
                at += n;
                part
            })
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    let mut out = b"PVI1".to_vec();
    for part in [&pa[0], &pa[1], &pb[2]] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Replaces `from` by `to` in a bundle's JSON text (the server editing what it keeps).
fn edit_bundle(lab: &Lab, edit: impl Fn(&mut Value)) {
    let (version, kdf, bundle) = lab.tamper().bundle(lab.account);
    let mut doc: Value = serde_json::from_str(&bundle).unwrap();
    edit(&mut doc);
    lab.tamper()
        .set_bundle(lab.account, version, &kdf, &doc.to_string());
}

fn security_level_downgrade_and_upgrade(kind: Kind) {
    let Some(lab) = Lab::new(kind, 1) else {
        return;
    };
    let (version, kdf, bundle) = lab.tamper().bundle(lab.account);
    for level in ["military", "high"] {
        edit_bundle(&lab, |doc| doc["security"] = json!(level));
        let joined = lab.join("newcomer");
        stopped(joined, "not signed by this profile");
        lab.tamper().set_bundle(lab.account, version, &kdf, &bundle);
    }
    // Honest again: the join works.
    lab.join("newcomer-2").unwrap();
}

fn military_profile_cannot_be_downgraded(kind: Kind) {
    let Some(backend) = backend(kind) else {
        return;
    };
    let server = pvault_server::spawn(backend.config.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pv = Pvault::open(dir.path()).unwrap();
    let created = pv
        .create(
            NewProfile {
                name: "vault".into(),
                display_name: None,
                security: SecurityLevel::Military,
            },
            PASSWORD.as_bytes(),
        )
        .unwrap();
    let secret_key = SecretKey::parse(&created.secret_key).unwrap();
    let vault = pv
        .unlock(
            Some("vault"),
            &Credentials {
                secret_key: Some(SecretKey::parse(&created.secret_key).unwrap()),
                ..Credentials::password(PASSWORD)
            },
        )
        .unwrap();
    sync::setup(&vault, &server.url(), "vault", "first").unwrap();
    let account = account_of(&vault);
    let (version, kdf, bundle) = backend.tamper.bundle(account);
    let mut doc: Value = serde_json::from_str(&bundle).unwrap();
    doc["security"] = json!("standard");
    backend
        .tamper
        .set_bundle(account, version, &kdf, &doc.to_string());
    let dir2 = tempfile::tempdir().unwrap();
    let pv2 = Pvault::open(dir2.path()).unwrap();
    let joined = sync::join(
        &pv2,
        &server.url(),
        "vault",
        PASSWORD.as_bytes(),
        &secret_key,
        "second",
        "vault",
    );
    stopped(joined, "not signed by this profile");
    // Nothing was made on the joining device: no profile, so no Secret Key on its disk.
    assert!(pv2.home().profiles().unwrap().is_empty());
}

fn kdf_downgrade(kind: Kind) {
    let Some(lab) = Lab::new(kind, 1) else {
        return;
    };
    let (version, kdf, bundle) = lab.tamper().bundle(lab.account);
    let mut weak: Value = serde_json::from_str(&kdf).unwrap();
    weak["m_kib"] = json!(8 * 1024);
    weak["t"] = json!(1);
    lab.tamper()
        .set_bundle(lab.account, version, &weak.to_string(), &bundle);
    let message = stopped(lab.join("newcomer"), "KDF downgrade");
    assert!(message.contains("8 MiB"), "{message}");
    // Other parameters above the floor give another KEK: the server's own check of the account
    // key refuses the join, which the device cannot tell from a wrong password. (A server that
    // let it through would be caught by the signed bundle's KDF description.) Nothing is created.
    let mut other: Value = serde_json::from_str(&kdf).unwrap();
    other["t"] = json!(4);
    lab.tamper()
        .set_bundle(lab.account, version, &other.to_string(), &bundle);
    match lab.join("newcomer") {
        Err(Error::WrongPasswordOrSecretKey { .. }) => {}
        Err(e) => panic!("expected the join refused, got {e:?}"),
        Ok(_) => panic!("the join went through with altered KDF parameters"),
    }
}

fn bundle_rollback(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    let old = lab.tamper().bundle(lab.account);
    lab.devices[0].vault.rotate_keys(&mut |_, _| {}).unwrap();
    lab.sync(0).unwrap();
    let new = lab.tamper().bundle(lab.account);
    assert!(new.0 > old.0, "the rotation uploaded a new bundle");
    // The server hands out the bundle from before the rotation.
    lab.tamper().set_bundle(lab.account, new.0, &old.1, &old.2);
    // Device 0 (which uploaded the newer one) refuses it at its next rotation.
    lab.devices[0].vault.rotate_keys(&mut |_, _| {}).unwrap();
    stopped(lab.sync(0), "older than one this device has seen");
    // Device 1 cannot get the new epoch from it (and says so), and stores nothing sealed under it.
    assert!(lab.sync(1).is_err());
}

impl Lab {
    /// This device's id, as the server knows it.
    fn device_id(&self, i: usize) -> [u8; 16] {
        let cfg = sync::config(&self.devices[i].vault).unwrap().unwrap();
        let mut id = [0u8; 16];
        hex::decode_to_slice(&cfg.device_id, &mut id).unwrap();
        id
    }

    /// The checkpoint note device `i` published, as `tamper` holds it.
    fn checkpoint_of(&self, tamper: &Tamper, i: usize) -> String {
        let id = self.device_id(i);
        tamper
            .checkpoints(self.account)
            .into_iter()
            .find(|(d, _)| *d == id)
            .expect("the device published a checkpoint")
            .1
    }

    /// Forks the server: a second server on a copy of the database, and device `i` moved to it.
    fn fork(&mut self, kind: Kind, i: usize) -> Fork {
        let backend = backend(kind).expect("the first backend was there");
        let server = pvault_server::spawn(backend.config.clone()).unwrap();
        self.tamper().copy_to(&backend.tamper);
        self.devices[i].relay.set_target(server.addr());
        Fork {
            backend,
            _server: server,
        }
    }
}

/// The second server of a fork.
struct Fork {
    backend: Backend,
    _server: ServerHandle,
}

fn fork_between_two_devices(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "shared", "before the fork");
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    lab.sync(0).unwrap();
    let at_fork = sync::safety_code(&lab.devices[0].vault, None).unwrap();
    let fork = lab.fork(kind, 1);
    lab.put(0, "a", "written in world one");
    lab.sync(0).unwrap();
    lab.put(1, "b", "written in world two");
    lab.sync(1).unwrap();
    // As long as the server keeps each side's checkpoints to that side, neither can tell (the
    // limit of fork consistency)...
    lab.sync(0).unwrap();
    // ...but the safety codes differ at any size past the fork, and agree before it.
    let a = sync::safety_code(&lab.devices[0].vault, None).unwrap();
    let b = sync::safety_code(
        &lab.devices[1].vault,
        Some(
            a.size
                .min(sync::safety_code(&lab.devices[1].vault, None).unwrap().size),
        ),
    )
    .unwrap();
    let a_same = sync::safety_code(&lab.devices[0].vault, Some(b.size)).unwrap();
    assert_ne!(a_same.code, b.code, "a fork shows in the safety codes");
    for i in [0, 1] {
        let before = sync::safety_code(&lab.devices[i].vault, Some(at_fork.size)).unwrap();
        assert_eq!(before.code, at_fork.code);
    }
    // The server lets one device's checkpoint through to the other side: the fork is found there,
    // at its next sync, before it pushes anything.
    let note_a = lab.checkpoint_of(lab.tamper(), 0);
    fork.backend
        .tamper
        .set_checkpoint(lab.account, lab.device_id(0), &note_a);
    let head_two = fork.backend.tamper.head(lab.account);
    lab.put(1, "c", "waiting on device two");
    stopped(lab.sync(1), "a fork");
    assert_eq!(
        fork.backend.tamper.head(lab.account),
        head_two,
        "nothing pushed"
    );
    raised(&lab.devices[1].vault);
    let report = sync::verify(&lab.devices[1].vault, &Policy::default()).unwrap();
    assert!(
        report
            .peers
            .iter()
            .any(|p| matches!(p.state, sync::PeerState::Forked | sync::PeerState::Withheld)),
        "{report:?}"
    );
    assert!(!report.problems.is_empty());
    // And on the first side, when device two's checkpoint gets there.
    let note_b = lab.checkpoint_of(&fork.backend.tamper, 1);
    lab.tamper()
        .set_checkpoint(lab.account, lab.device_id(1), &note_b);
    stopped(lab.sync(0), "a fork");
    // Every version is still where it was written.
    assert_eq!(lab.body(0, "a").as_deref(), Some("written in world one"));
    assert_eq!(lab.body(1, "b").as_deref(), Some("written in world two"));
    assert_eq!(lab.body(1, "c").as_deref(), Some("waiting on device two"));
}

fn change_withheld_from_another_device(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.put(0, "doomed", "to be deleted");
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    // Device 1 is shown the log without device 0's next changes (an edit and a deletion, a
    // dropped tombstone); device 0's checkpoint is shown to it.
    let fork = lab.fork(kind, 1);
    lab.put(0, "new", "kept from device one");
    lab.devices[0].vault.remove(NOTES, "doomed").unwrap();
    lab.sync(0).unwrap();
    let note = lab.checkpoint_of(lab.tamper(), 0);
    fork.backend
        .tamper
        .set_checkpoint(lab.account, lab.device_id(0), &note);
    stopped(lab.sync(1), "withholds changes from this device");
    assert_eq!(lab.body(1, "doomed").as_deref(), Some("to be deleted"));
}

fn public_key_substitution_and_invented_device(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    // Both devices see each other's certified keys and checkpoints.
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    lab.put(1, "x", "from device one");
    lab.sync(1).unwrap();
    lab.sync(0).unwrap();
    // The server swaps device 1's key for its own and signs a checkpoint for it.
    let forged = pvault_proto::auth::SigningKey::from_bytes(&[7; 32]);
    let id1 = lab.device_id(1);
    lab.tamper()
        .set_device_key(lab.account, id1, forged.verifying_key().to_bytes());
    let cp = pvault_proto::checkpoint::Checkpoint {
        origin: format!("pvault/v1/profile/{}", hex::encode(lab.account)),
        size: 1,
        root: [0; 32],
        extensions: vec![],
    };
    let note = cp
        .sign(&format!("pvault-device-{}", hex::encode(id1)), &forged)
        .unwrap();
    lab.tamper().set_checkpoint(lab.account, id1, &note);
    stopped(lab.sync(0), "substituted");
    let report = sync::verify(&lab.devices[0].vault, &Policy::default()).unwrap();
    assert!(
        report
            .peers
            .iter()
            .any(|p| p.state == sync::PeerState::Substituted),
        "{report:?}"
    );

    // A device no device added (no certificate): listed as not certified, its checkpoint unused.
    let Some(mut lab) = Lab::new(kind, 1) else {
        return;
    };
    let phantom = [9u8; 16];
    lab.tamper().add_device(
        lab.account,
        phantom,
        forged.verifying_key().to_bytes(),
        "phantom",
    );
    let note = cp
        .sign(&format!("pvault-device-{}", hex::encode(phantom)), &forged)
        .unwrap();
    lab.tamper().set_checkpoint(lab.account, phantom, &note);
    lab.sync(0).unwrap();
    let report = sync::verify(&lab.devices[0].vault, &Policy::default()).unwrap();
    let p = report
        .peers
        .iter()
        .find(|p| p.name == "phantom")
        .expect("the phantom is listed");
    assert_eq!(p.state, sync::PeerState::Uncertified);
    assert!(report.problems.iter().any(|p| p.contains("not certified")));
}

fn replayed_old_checkpoint_hides_nothing(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 2) else {
        return;
    };
    lab.sync(0).unwrap();
    let old = lab.checkpoint_of(lab.tamper(), 0);
    lab.put(0, "a", "one");
    lab.sync(0).unwrap();
    lab.sync(1).unwrap();
    lab.tamper()
        .set_checkpoint(lab.account, lab.device_id(0), &old);
    lab.sync(1).unwrap();
    let report = sync::verify(&lab.devices[1].vault, &Policy::default()).unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    let size = (0..2)
        .map(|i| sync::safety_code(&lab.devices[i].vault, None).unwrap().size)
        .min()
        .unwrap();
    let codes: Vec<String> = (0..2)
        .map(|i| {
            sync::safety_code(&lab.devices[i].vault, Some(size))
                .unwrap()
                .code
        })
        .collect();
    assert_eq!(
        codes[0], codes[1],
        "an honest server: the same code on both devices"
    );
    assert!(matches!(
        sync::safety_code(&lab.devices[0].vault, Some(size + 1000)),
        Err(Error::NotPulledThatFar { .. })
    ));
}

/// Requests to a route so far, from the server's metrics.
fn requests_to(server: &ServerHandle, route: &str) -> u64 {
    let text = ureq::get(&format!("{}/metrics", server.url()))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let prefix = format!("pvault_http_requests_total{{route=\"{route}\",status=\"2xx\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// The other devices' checkpoints (and their proofs) come with the sync's last pull page: a sync
/// checks its peers without a request of its own, and still checks them (a withheld change is
/// caught as before).
fn peer_check_rides_on_the_pull(kind: Kind) {
    let Some(mut lab) = Lab::new(kind, 3) else {
        return;
    };
    let route = "/v1/profiles/{account}/checkpoints";
    let before = requests_to(&lab.server, route);
    for round in 0..3 {
        lab.put(0, "n", &format!("round {round}"));
        for i in 0..3 {
            let r = lab.sync(i).unwrap();
            assert!(r.peer_check_us > 0, "device {i} checked its peers: {r:?}");
        }
    }
    assert_eq!(lab.body(2, "n").as_deref(), Some("round 2"));
    assert_eq!(
        requests_to(&lab.server, route),
        before,
        "no sync asked for the checkpoints separately"
    );
    // Device 1's newest change is withheld from the others: device 2 sees device 1's checkpoint,
    // carried by its pull, name a longer log than it is shown.
    lab.put(1, "m", "from device 1");
    lab.sync(1).unwrap();
    let seq = lab.tamper().head(lab.account);
    lab.tamper().withhold(lab.account, seq);
    stopped(lab.sync(2), "the server lets this device pull only");
    raised(&lab.devices[2].vault);
}

on_both_backends!(
    peer_check_rides_on_the_pull,
    fork_between_two_devices,
    change_withheld_from_another_device,
    public_key_substitution_and_invented_device,
    replayed_old_checkpoint_hides_nothing,
    replay_of_an_older_version,
    replay_in_a_push_answer,
    withheld_blob,
    whole_log_rollback,
    tail_truncation,
    one_record_rollback,
    withheld_change_is_noticed_by_its_writer,
    ciphertext_swaps,
    security_level_downgrade_and_upgrade,
    military_profile_cannot_be_downgraded,
    kdf_downgrade,
    bundle_rollback,
);
