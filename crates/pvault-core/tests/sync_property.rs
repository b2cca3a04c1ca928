//! Sync as a property: three devices, random offline edits, deletions and sync orders, under every
//! strategy. All devices converge to the same state, and no edit disappears without a trace.
//!
//! One server runs on loopback for the whole test; three homes play three devices, and each
//! strategy gets its own profile shared by the three. A case takes fresh record ids, runs a random
//! sequence of edits, deletions and syncs (some syncs with an edit landing between their push and
//! their pull, written through a second handle on the profile, as the CLI does while the agent
//! syncs), then syncs every device, round after round, until a whole round moves nothing. Then it
//! checks:
//!
//! - **convergence**: every device holds the same records (absent or deleted on all, or the same
//!   data and classification on all);
//! - **no edit lost without a trace**: each edit writes a unique marker, and a version's `seen` list
//!   holds the markers of every version it descends from (the `merge` strategy unites such lists).
//!   Every marker must be found in the final record, in a version set aside in some device's sync
//!   history, in this device's side of an open conflict (`manual`), or in a version that some device
//!   deleted knowingly;
//! - **conflicts kept for the user** (`manual`): each one a sync reports is listed as open on the
//!   device that found it, and no other strategy leaves any;
//! - **a lying server is caught**: in some cases the server (through its database, as an attacker
//!   would) replays an older sealed version of a record as a new change; every device's next sync
//!   must stop with a sync-integrity error, and once the lie is taken back the case goes on and
//!   must still converge with no edit lost.
//!
//! `PVAULT_SYNC_CASES` sets the number of cases, shared by the strategies (default 1000, a long run
//! sets more); `PVAULT_SYNC_SEED` the seed (random by default, printed); `PVAULT_SYNC_CASE` runs the
//! one case of that seed that failed. A replay makes the same operations, but record keys (random
//! per profile) and clock ties differ from run to run: a failure that depends on them may take a
//! few replays, and the failure message lists what happened.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::time::Instant;

use pvault_core::sync::{self, HistoryEntry, Keep, Phase, Policy, Strategy, SyncReport};
use pvault_core::{
    Classification, Credentials, Error, NewProfile, NewRecord, Pvault, SecretKey, SecurityLevel,
    Vault,
};
use pvault_server::ServerConfig;
use pvault_server::testing::Tamper;
use serde_json::{Value, json};

const DEFAULT_CASES: u64 = 1000;
const COLLECTION: &str = "notes";
/// Records per case.
const RECORDS: usize = 3;
const DEVICES: [&str; 3] = ["A", "B", "C"];
const PASSWORD: &str = "property test password";
/// Rounds of syncing every device before a case must have settled.
const MAX_ROUNDS: usize = 8;

/// A failed check, with what the reader needs to see.
type Check<T> = Result<T, String>;

fn lib<T>(result: pvault_core::Result<T>, what: impl Display) -> Check<T> {
    result.map_err(|e| format!("{what}: {e}"))
}

/// splitmix64: small, deterministic, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A permutation of `0..n`.
    fn order(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, self.below(i + 1));
        }
        v
    }
}

/// The generator of one case: the same seed and case number always give the same operations.
fn case_rng(seed: u64, case: u64) -> Rng {
    let mut rng = Rng(seed ^ case.wrapping_mul(0xd1b5_4a32_d192_ed03));
    rng.next();
    rng
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

/// A temporary directory, in memory when the system has `/dev/shm`: the property is about sync, not
/// durability, and every write of every store is fsynced (several times each sync), which on a
/// slow disk takes most of the test's time.
fn tempdir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("pvault-sync-property")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

/// A device: a home of its own.
struct Device {
    pv: Pvault,
    id: String,
    _dir: tempfile::TempDir,
}

fn device() -> Device {
    let dir = tempdir();
    let pv = Pvault::open(dir.path()).unwrap();
    let id = pv.home().device_id().unwrap();
    Device { pv, id, _dir: dir }
}

/// One profile, synced by the three devices under one strategy.
struct Profile {
    policy: Policy,
    vaults: Vec<Vault>,
    /// A second handle on each device's profile, writing while the first one syncs (as the CLI
    /// does while the agent syncs).
    others: Vec<Vault>,
}

impl Profile {
    fn strategy(&self) -> Strategy {
        self.policy.default
    }
}

/// Creates the profile on device A, registers it, and joins B and C.
fn profile(devices: &[Device], url: &str, strategy: Strategy, rank: &[usize]) -> Profile {
    let name = format!("prop-{}", strategy.as_str());
    let created = devices[0]
        .pv
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
    let first = devices[0]
        .pv
        .unlock(Some(&name), &Credentials::password(PASSWORD))
        .unwrap();
    sync::setup(&first, url, &name, DEVICES[0]).unwrap();
    let mut vaults = vec![first];
    for (d, label) in devices.iter().zip(DEVICES).skip(1) {
        let joined = sync::join(
            &d.pv,
            url,
            &name,
            PASSWORD.as_bytes(),
            &secret_key,
            label,
            &name,
        )
        .unwrap();
        vaults.push(joined);
    }
    let policy = Policy {
        default: strategy,
        device_rank: match strategy {
            Strategy::ProfilePriority => rank.iter().map(|&d| devices[d].id.clone()).collect(),
            _ => Vec::new(),
        },
        ..Default::default()
    };
    for v in &mut vaults {
        sync::sync(v, &policy, &mut |_, _, _| {}).unwrap();
    }
    let others = devices
        .iter()
        .map(|d| {
            d.pv.unlock(Some(&name), &Credentials::password(PASSWORD))
                .unwrap()
        })
        .collect();
    Profile {
        policy,
        vaults,
        others,
    }
}

/// What a case did, summed per strategy at the end.
#[derive(Default)]
struct Stats {
    cases: u64,
    edits: u64,
    /// Edits made while the device was syncing.
    edits_mid_sync: u64,
    deletions: u64,
    syncs: u64,
    conflicts: u64,
    kept_for_user: u64,
    set_aside: u64,
    /// Markers found nowhere but in a version set aside, an open conflict or a deletion.
    traced_only: u64,
    /// Older versions the server replayed (each caught by every device).
    lies: u64,
}

/// The record as a device has it: data and classification, `None` when deleted or absent.
fn state(vault: &Vault, id: &str) -> Check<Option<(Value, Classification)>> {
    match vault.get(COLLECTION, id) {
        Ok(r) => Ok(Some((r.data, r.classification))),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(format!("get {id}: {e}")),
    }
}

/// The markers a version carries (none for a deletion).
fn seen_of(data: &Value) -> BTreeSet<String> {
    data.get("seen")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn describe(report: &SyncReport) -> String {
    format!(
        "pushed {}, pulled {}, conflicts {} ({} kept for user), pending {}",
        report.pushed, report.pulled, report.conflicts, report.kept_for_user, report.pending
    )
}

/// The sync history of a device after entry `after`, newest first.
fn history_since(vault: &Vault, after: i64) -> Check<Vec<HistoryEntry>> {
    let mut limit = 64;
    loop {
        let entries = lib(sync::history(vault, limit), "sync history")?;
        if entries.len() < limit || entries.last().is_some_and(|e| e.id <= after) {
            return Ok(entries.into_iter().filter(|e| e.id > after).collect());
        }
        limit *= 4;
    }
}

/// One edit to make: `{"title": marker, "seen": markers}`, where `seen` adds the marker to those
/// of the record as the device has it.
struct Edit {
    device: usize,
    id: String,
    marker: String,
    classification: Option<Classification>,
}

impl Edit {
    /// Writes the edit; returns a line for the log.
    fn apply(&self, vault: &mut Vault) -> Check<String> {
        let id = &self.id;
        let mut seen = state(vault, id)?
            .map(|(data, _)| seen_of(&data))
            .unwrap_or_default();
        seen.insert(self.marker.clone());
        let written = lib(
            vault.put(NewRecord {
                collection: COLLECTION.into(),
                id: Some(id.clone()),
                classification: self.classification,
                data: json!({"title": self.marker, "seen": seen}),
            }),
            format!("edit of {id} on {}", DEVICES[self.device]),
        )?;
        Ok(format!(
            "{} edits {id}: {}, seen {seen:?}, {} (revision {})",
            DEVICES[self.device], self.marker, written.classification, written.revision
        ))
    }
}

struct Case<'a> {
    number: u64,
    profile: &'a mut Profile,
    rng: Rng,
    ids: Vec<String>,
    /// Every marker written, in order.
    markers: Vec<String>,
    /// Markers of the versions deleted (the deleting device saw them and dropped them on purpose).
    deleted: BTreeSet<String>,
    /// Conflicts each device's syncs reported as kept for the user.
    kept_for_user: [u64; 3],
    /// The newest history entry of each device before the case.
    history_from: [i64; 3],
    /// Records each device changed since its last sync.
    changed: [BTreeSet<usize>; 3],
    /// Records another device changed and synced since each device's last sync: an edit of one
    /// of them between the push and the pull of a sync meets a change to pull.
    stale: [BTreeSet<usize>; 3],
    log: Vec<String>,
    stats: Stats,
    /// The server's database, to lie through.
    tamper: &'a Tamper,
    /// A sealed version of a record the server held earlier (and whether it is a tombstone), to
    /// replay.
    saved: Option<(usize, bool, Vec<u8>)>,
}

impl Case<'_> {
    fn vault(&self, d: usize) -> &Vault {
        &self.profile.vaults[d]
    }

    fn sync(&mut self, d: usize) -> Check<SyncReport> {
        let profile = &mut *self.profile;
        let report = lib(
            sync::sync(&mut profile.vaults[d], &profile.policy, &mut |_, _, _| {}),
            format!("sync of device {}", DEVICES[d]),
        )?;
        self.log
            .push(format!("{} syncs: {}", DEVICES[d], describe(&report)));
        self.count(d, &report);
        Ok(report)
    }

    fn count(&mut self, d: usize, report: &SyncReport) {
        let changed = std::mem::take(&mut self.changed[d]);
        for (e, stale) in self.stale.iter_mut().enumerate() {
            if e != d {
                stale.extend(&changed);
            }
        }
        self.stale[d].clear();
        self.kept_for_user[d] += report.kept_for_user;
        self.stats.syncs += 1;
        self.stats.conflicts += report.conflicts;
        self.stats.kept_for_user += report.kept_for_user;
    }

    /// What the next edit writes: a new marker, and sometimes a classification.
    fn next_edit(&mut self, d: usize, k: usize) -> Edit {
        let classification = (self.rng.below(4) == 0).then(|| {
            [
                Classification::Public,
                Classification::Internal,
                Classification::Confidential,
            ][self.rng.below(3)]
        });
        Edit {
            device: d,
            id: self.ids[k].clone(),
            marker: format!("c{}-m{}", self.number, self.markers.len()),
            classification,
        }
    }

    fn edit(&mut self, d: usize, k: usize) -> Check<()> {
        let edit = self.next_edit(d, k);
        let line = edit.apply(&mut self.profile.vaults[d])?;
        self.log.push(line);
        self.changed[d].insert(k);
        self.markers.push(edit.marker);
        self.stats.edits += 1;
        Ok(())
    }

    /// Syncs a device while its other handle edits a record, once the sync reaches `phase`.
    fn sync_with_edit(&mut self, d: usize, k: usize, phase: Phase) -> Check<()> {
        let edit = self.next_edit(d, k);
        let mut done: Option<Check<String>> = None;
        let Profile {
            policy,
            vaults,
            others,
        } = &mut *self.profile;
        let other = &mut others[d];
        let result = lib(
            sync::sync(&mut vaults[d], policy, &mut |p, _, _| {
                if p == phase && done.is_none() {
                    done = Some(edit.apply(other));
                }
            }),
            format!("sync of device {}", DEVICES[d]),
        );
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                if let Some(Ok(line)) = done {
                    self.log.push(format!("during a failed sync, {line}"));
                }
                return Err(e);
            }
        };
        let phase = match phase {
            Phase::Push => "push",
            Phase::Pull => "pull",
        };
        match done {
            None => self.log.push(format!(
                "{} syncs, editing {} at its first {phase} (there was none): {}",
                DEVICES[d],
                edit.id,
                describe(&report)
            )),
            Some(line) => {
                self.log.push(format!(
                    "{} syncs, editing at its first {phase}: {}\n    during it, {}",
                    DEVICES[d],
                    describe(&report),
                    line?
                ));
                self.markers.push(edit.marker);
                self.stats.edits += 1;
                self.stats.edits_mid_sync += 1;
                self.count(d, &report);
                // Perhaps pushed by this sync, perhaps not.
                self.changed[d].insert(k);
                return Ok(());
            }
        }
        self.count(d, &report);
        Ok(())
    }

    /// Deletes the record if the device has it, else edits it.
    fn delete(&mut self, d: usize, k: usize) -> Check<()> {
        let id = self.ids[k].clone();
        let Some((data, _)) = state(self.vault(d), &id)? else {
            return self.edit(d, k);
        };
        let seen = seen_of(&data);
        let written = lib(
            self.profile.vaults[d].remove(COLLECTION, &id),
            format!("deletion of {id} on {}", DEVICES[d]),
        )?;
        self.log.push(format!(
            "{} deletes {id} (seen {seen:?}) (revision {})",
            DEVICES[d], written.revision
        ));
        self.deleted.extend(seen);
        self.changed[d].insert(k);
        self.stats.deletions += 1;
        Ok(())
    }

    /// The server lies: it replays the version of a record saved at an earlier lie (or, the first
    /// time, saves one). Every device must refuse it; then the lie is taken back.
    fn lie(&mut self, k: usize) -> Check<()> {
        let mut account = [0u8; 16];
        hex::decode_to_slice(&self.vault(0).summary().id, &mut account).unwrap();
        let rid = pvault_core::internals::row_key(self.vault(0), COLLECTION, &self.ids[k]);
        let Some((k, tombstone, old)) = self.saved.take() else {
            if let Some((_, tombstone, blob)) = self.tamper.current(account, rid) {
                self.saved = Some((k, tombstone, blob));
            }
            return Ok(());
        };
        let rid = pvault_core::internals::row_key(self.vault(0), COLLECTION, &self.ids[k]);
        let Some(current) = self.tamper.current(account, rid).filter(|c| c.2 != old) else {
            // Nothing newer to roll back from.
            self.saved = Some((k, tombstone, old));
            return Ok(());
        };
        let head = self.tamper.head(account);
        self.tamper.append(account, rid, tombstone, &old);
        self.log.push(format!(
            "the server replays an older version of {}",
            self.ids[k]
        ));
        let profile = &mut *self.profile;
        for (vault, name) in profile.vaults.iter_mut().zip(DEVICES) {
            match sync::sync(vault, &profile.policy, &mut |_, _, _| {}) {
                Err(Error::SyncIntegrity(_)) => {}
                other => {
                    return Err(format!(
                        "device {name} did not catch the replayed version of {}: {other:?}",
                        self.ids[k]
                    ));
                }
            }
        }
        self.tamper.truncate(account, head);
        self.tamper
            .put_current(account, rid, current.0, current.1, &current.2);
        self.log.push("the server takes the lie back".into());
        self.stats.lies += 1;
        Ok(())
    }

    /// Random operations, 4 to 14 of them.
    fn operate(&mut self) -> Check<()> {
        let n = 4 + self.rng.below(11);
        for _ in 0..n {
            let d = self.rng.below(DEVICES.len());
            let k = self.rng.below(RECORDS);
            match self.rng.below(12) {
                0..=4 => self.edit(d, k)?,
                5 | 6 => self.delete(d, k)?,
                7 | 8 => {
                    // Preferably a record with a change to pull.
                    let stale: Vec<usize> = self.stale[d].iter().copied().collect();
                    let k = match stale.len() {
                        0 => k,
                        n => stale[self.rng.below(n)],
                    };
                    self.sync_with_edit(d, k, Phase::Push)?
                }
                9 => self.sync_with_edit(d, k, Phase::Pull)?,
                10 if self.rng.below(2) == 0 => self.lie(k)?,
                _ => {
                    self.sync(d)?;
                }
            }
        }
        Ok(())
    }

    /// Syncs every device, in a random order each round, until a whole round moves nothing.
    fn converge(&mut self) -> Check<()> {
        for round in 1..=MAX_ROUNDS {
            self.log.push(format!("-- round {round}"));
            let mut quiet = true;
            for d in self.rng.order(DEVICES.len()) {
                let r = self.sync(d)?;
                quiet &= r.pushed == 0 && r.pulled == 0 && r.conflicts == 0 && r.pending == 0;
            }
            if quiet {
                return Ok(());
            }
        }
        Err(format!(
            "still syncing after {MAX_ROUNDS} rounds of syncing every device"
        ))
    }

    fn check_converged(&self) -> Check<()> {
        let mut problems = Vec::new();
        for id in &self.ids {
            let states = (0..DEVICES.len())
                .map(|d| state(self.vault(d), id))
                .collect::<Check<Vec<_>>>()?;
            if states.iter().any(|s| s != &states[0]) {
                let shown: Vec<String> = states
                    .iter()
                    .zip(DEVICES)
                    .map(|(s, name)| match s {
                        None => format!("  {name}: absent or deleted"),
                        Some((data, class)) => format!("  {name}: {data} ({class})"),
                    })
                    .collect();
                problems.push(format!(
                    "{id} differs between devices:\n{}",
                    shown.join("\n")
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    fn is_ours(&self, collection: &str, id: &str) -> bool {
        collection == COLLECTION && self.ids.iter().any(|i| i == id)
    }

    /// Every marker is in a final record, a version set aside, an open conflict or a deletion; and
    /// the conflicts kept for the user are listed where they were found.
    fn check_traces(&mut self) -> Check<()> {
        let mut live = BTreeSet::new();
        for id in &self.ids {
            if let Some((data, _)) = state(self.vault(0), id)? {
                live.extend(seen_of(&data));
            }
        }
        let mut traced = self.deleted.clone();
        let mut set_aside = 0;
        let mut problems = Vec::new();
        for (d, vault) in self.profile.vaults.iter().enumerate() {
            for entry in history_since(vault, self.history_from[d])? {
                if !entry.restorable {
                    continue;
                }
                let aside = lib(
                    sync::set_aside(vault, entry.id),
                    format!("set-aside version of history entry #{}", entry.id),
                )?;
                if self.is_ours(&aside.collection, &aside.record_id) {
                    traced.extend(seen_of(&aside.version.data));
                    set_aside += 1;
                }
            }
            let open: Vec<_> = lib(sync::conflicts(vault), "open conflicts")?
                .into_iter()
                .filter(|c| self.is_ours(&c.collection, &c.record_id))
                .collect();
            if open.len() as u64 != self.kept_for_user[d] {
                problems.push(format!(
                    "device {}: syncs reported {} conflicts kept for the user, {} are listed",
                    DEVICES[d],
                    self.kept_for_user[d],
                    open.len()
                ));
            }
            for c in &open {
                traced.extend(seen_of(&c.local.data));
            }
        }
        self.stats.set_aside += set_aside;
        let lost: Vec<&String> = self
            .markers
            .iter()
            .filter(|m| !live.contains(*m) && !traced.contains(*m))
            .collect();
        if !lost.is_empty() {
            problems.push(format!(
                "edits lost without a trace: {lost:?} (in the records: {live:?}; set aside, in open \
                 conflicts or deleted: {traced:?})"
            ));
        }
        self.stats.traced_only += self
            .markers
            .iter()
            .filter(|m| !live.contains(*m) && traced.contains(*m))
            .count() as u64;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Settles the case's open conflicts (keeping the record as it is), so that later cases list
    /// only their own.
    fn settle_conflicts(&self) -> Check<()> {
        for vault in &self.profile.vaults {
            for c in lib(sync::conflicts(vault), "open conflicts")? {
                if self.is_ours(&c.collection, &c.record_id) {
                    lib(
                        sync::resolve_conflict(vault, c.id, Keep::Remote),
                        format!("resolution of conflict #{}", c.id),
                    )?;
                }
            }
        }
        Ok(())
    }

    fn run(&mut self) -> Check<()> {
        self.operate()?;
        // A version saved by a lie is replayed now, after one more edit of its record.
        if let Some((k, _, _)) = self.saved {
            let d = self.rng.below(DEVICES.len());
            self.edit(d, k)?;
            self.sync(d)?;
            self.lie(k)?;
        }
        self.converge()?;
        self.check_converged()?;
        self.check_traces()?;
        self.settle_conflicts()
    }
}

fn run_case(profile: &mut Profile, tamper: &Tamper, seed: u64, number: u64) -> Stats {
    let strategy = profile.strategy();
    let mut history_from = [0; 3];
    for (d, from) in history_from.iter_mut().enumerate() {
        *from = sync::history(&profile.vaults[d], 1)
            .unwrap()
            .first()
            .map_or(0, |e| e.id);
    }
    let mut case = Case {
        number,
        profile,
        rng: case_rng(seed, number),
        ids: (0..RECORDS).map(|k| format!("c{number}-r{k}")).collect(),
        markers: Vec::new(),
        deleted: BTreeSet::new(),
        kept_for_user: [0; 3],
        history_from,
        changed: Default::default(),
        stale: Default::default(),
        log: Vec::new(),
        stats: Stats::default(),
        tamper,
        saved: None,
    };
    if let Err(problem) = case.run() {
        panic!(
            "sync property failed: seed {seed:#x}, case {number}, strategy {strategy}\n\
             {problem}\n\
             operations:\n  {}\n\
             replay: PVAULT_SYNC_SEED={seed:#x} PVAULT_SYNC_CASE={number} \
             cargo test -p pvault-core --test sync_property -- --nocapture",
            case.log.join("\n  ")
        );
    }
    case.stats.cases = 1;
    case.stats
}

#[test]
fn devices_converge_and_no_edit_is_lost() {
    let started = Instant::now();
    let seed = env_u64("PVAULT_SYNC_SEED")
        .unwrap_or_else(|| u64::from_le_bytes(pvault_core::internals::random_bytes8()));
    let total = env_u64("PVAULT_SYNC_CASES").unwrap_or(DEFAULT_CASES);
    let only = env_u64("PVAULT_SYNC_CASE");
    println!("sync property: seed {seed:#x} (PVAULT_SYNC_SEED), {total} cases");

    let server_dir = tempdir();
    let server = pvault_server::spawn(ServerConfig::sqlite(server_dir.path())).unwrap();
    let tamper = Tamper::sqlite(server_dir.path());
    let devices: Vec<Device> = (0..DEVICES.len()).map(|_| device()).collect();
    let rank = Rng(seed).order(DEVICES.len());
    let mut profiles: Vec<Profile> = Strategy::ALL
        .into_iter()
        .map(|s| profile(&devices, &server.url(), s, &rank))
        .collect();
    println!("setup: {:.1?}", started.elapsed());

    let mut stats: Vec<Stats> = Strategy::ALL.iter().map(|_| Stats::default()).collect();
    let cases = match only {
        Some(case) => case..case + 1,
        None => 0..total,
    };
    for number in cases {
        let s = (number % Strategy::ALL.len() as u64) as usize;
        let done = run_case(&mut profiles[s], &tamper, seed, number);
        let sum = &mut stats[s];
        sum.cases += done.cases;
        sum.edits += done.edits;
        sum.edits_mid_sync += done.edits_mid_sync;
        sum.deletions += done.deletions;
        sum.syncs += done.syncs;
        sum.conflicts += done.conflicts;
        sum.kept_for_user += done.kept_for_user;
        sum.set_aside += done.set_aside;
        sum.traced_only += done.traced_only;
        sum.lies += done.lies;
    }
    for (strategy, s) in Strategy::ALL.iter().zip(&stats) {
        println!(
            "{:>16}: {} cases, {} edits ({} during a sync), {} deletions, {} syncs, {} conflicts ({} kept for the \
             user), {} versions set aside, {} edits found only in a trace, {} lies caught",
            strategy.as_str(),
            s.cases,
            s.edits,
            s.edits_mid_sync,
            s.deletions,
            s.syncs,
            s.conflicts,
            s.kept_for_user,
            s.set_aside,
            s.traced_only,
            s.lies
        );
    }
    println!("total: {:.1?}", started.elapsed());
    // Every strategy met conflicts: the property was tested, not just run.
    if only.is_none() && total >= 50 * Strategy::ALL.len() as u64 {
        for (strategy, s) in Strategy::ALL.iter().zip(&stats) {
            assert!(s.conflicts > 0, "no conflict arose under {strategy}");
            assert!(s.lies > 0, "the server never lied under {strategy}");
        }
    }
    drop(profiles);
    server.shutdown();
}
