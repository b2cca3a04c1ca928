//! Unlocked profiles held in memory (the seed's ProfileContext and ProfileCacheManager): the state
//! of the agent, usable in-process by anything else that wants the same behavior (dashboard, sync).
//!
//! - Each profile is unlocked with keys handed over by a client that ran the KDF, and locks itself
//!   after its idle time (the security level's, or the profile's own setting).
//! - Switching between unlocked profiles costs nothing: no KDF, no disk scan.
//! - Each profile has its own bounded cache of decrypted records, never shared, zeroized on lock. For
//!   `military` profiles the cache itself is encrypted under a key that lives only as long as the
//!   session. A cached record is used only while its revision on disk is unchanged.
//! - Re-authentication for SECRET records is a challenge–response on the KEK: no password reaches here.

use crate::audit::{Event, EventKind};
use crate::integrity::Anomaly;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pvault_crypto::{Aad, Classification, CollectionKeys, Key32, Kind, envelope};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Pvault;
use crate::error::{Error, Result};
use crate::ops::{Op, Operations, Reply};
use crate::vault::{Record, Vault};
use pvault_model::security::SecurityLevel;

/// Bytes of cached records kept per profile.
pub const CACHE_BYTES: usize = 8 << 20;
/// How long a re-authentication challenge stays valid.
const CHALLENGE_TTL: Duration = Duration::from_secs(120);

/// One unlocked profile.
struct Session {
    vault: Vault,
    last_used: Instant,
    auto_lock: Duration,
    cache: RecordCache,
    challenge: Option<([u8; 32], Instant)>,
    watch: Option<Watcher>,
    monitor: Option<Monitor>,
    backup: Option<Scheduled>,
}

/// The agent's scheduled backups of an unlocked profile (`profile set backup-schedule`).
struct Scheduled {
    every: Duration,
    repo: std::path::PathBuf,
    keep: Option<crate::backup::Policy>,
    next: Instant,
}

impl Scheduled {
    /// The schedule in a profile's settings; the first backup is due one period after the
    /// profile's newest snapshot in the repository (now, if it has none or it is older).
    fn of(vault: &Vault) -> Option<Scheduled> {
        let s = &vault.summary().settings;
        let (repo, secs) = (s.backup_repo.as_ref()?, s.backup_every_secs?);
        let every = Duration::from_secs(secs.max(1));
        let keep = s
            .backup_keep
            .as_deref()
            .and_then(|k| crate::backup::parse_keep(k).ok());
        let newest_ms = crate::backup::Repo::open(std::path::Path::new(repo))
            .and_then(|r| r.snapshots(Some(&vault.summary().id)))
            .ok()
            .and_then(|list| list.last().map(|s| s.unix_ms));
        let since = newest_ms.map_or(every, |ms| {
            Duration::from_millis((crate::store::now_ms() - ms).max(0) as u64)
        });
        Some(Scheduled {
            every,
            repo: repo.into(),
            keep,
            next: Instant::now() + every.saturating_sub(since),
        })
    }
}

/// The agent's periodic check of an unlocked profile (`profile set monitor`).
struct Monitor {
    every: Duration,
    last: Instant,
    /// Anomalies already reported, so each is reported once.
    seen: Vec<Anomaly>,
}

/// A background `sync --watch` of an unlocked profile, on its own thread with its own copy of the
/// keys. Dropped with the session (lock): the thread stops within a tick, or after the sync in
/// progress, and its keys are zeroized as it ends.
struct Watcher {
    stop: Arc<AtomicBool>,
    last: Arc<Mutex<String>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Session {
    /// Reads a record, from the cache when its revision on disk is unchanged.
    fn cached_get(&mut self, collection: &str, id: &str) -> Result<Record> {
        let revision = self.vault.revision_of(collection, id)?;
        if let Some(rec) = revision.and_then(|rev| self.cache.get(collection, id, rev)) {
            if rec.classification.needs_reauth() && !self.vault.reauth_valid() {
                return Err(Error::ReauthRequired {
                    collection: rec.collection,
                    id: rec.id,
                    classification: rec.classification,
                });
            }
            return Ok(rec);
        }
        let rec = self.vault.get(collection, id)?;
        self.cache.insert(&rec);
        Ok(rec)
    }
}

/// What `status` tells about an unlocked profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionStatus {
    /// Profile name.
    pub profile: String,
    /// Security level.
    pub security: SecurityLevel,
    /// Seconds since last use.
    pub idle_secs: u64,
    /// Idle time after which it locks.
    pub auto_lock_secs: u64,
    /// Seconds until it locks if unused.
    pub locks_in_secs: u64,
    /// Records in its cache.
    pub cached_records: usize,
    /// Whether its cache is encrypted.
    pub cache_encrypted: bool,
    /// Whether it syncs in the background (`pvault sync --watch`).
    pub watching: bool,
    /// The background sync's last news.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch_news: Option<String>,
}

/// Every unlocked profile of one home.
pub struct Sessions {
    pv: Pvault,
    open: HashMap<String, Session>,
}

impl Sessions {
    /// No profile unlocked yet.
    pub fn new(pv: Pvault) -> Self {
        Sessions {
            pv,
            open: HashMap::new(),
        }
    }

    /// The home's profiles.
    pub fn pvault(&self) -> &Pvault {
        &self.pv
    }

    /// Unlocks (or refreshes) a profile with transferred keys.
    pub fn unlock_with_keys(&mut self, name: &str, transfer: &[u8]) -> Result<()> {
        let vault = self.pv.open_with_keys(name, transfer)?;
        let summary = vault.summary().clone();
        let cache = RecordCache::new(summary.security == SecurityLevel::Military);
        let mut session = Session {
            auto_lock: summary.auto_lock(),
            vault,
            last_used: Instant::now(),
            cache,
            challenge: None,
            watch: None,
            monitor: summary.settings.monitor_secs.map(|secs| Monitor {
                every: Duration::from_secs(secs.max(1)),
                // The first check runs at the first tick.
                last: Instant::now() - Duration::from_secs(secs.max(1)),
                seen: Vec::new(),
            }),
            backup: None,
        };
        session.backup = Scheduled::of(&session.vault);
        self.open.insert(name.to_string(), session);
        Ok(())
    }

    /// Whether a profile is unlocked.
    pub fn is_unlocked(&self, name: &str) -> bool {
        self.open.contains_key(name)
    }

    /// Locks one profile: its keys and cache are zeroized. Returns whether it was unlocked.
    pub fn lock(&mut self, name: &str) -> bool {
        self.open
            .remove(name)
            .inspect(|s| s.vault.record_lock(EventKind::Locked))
            .is_some()
    }

    /// Locks every profile; returns their names.
    pub fn lock_all(&mut self) -> Vec<String> {
        let mut names: Vec<String> = self
            .open
            .drain()
            .map(|(n, s)| {
                s.vault.record_lock(EventKind::Locked);
                n
            })
            .collect();
        names.sort();
        names
    }

    /// Runs the anomaly check of every unlocked profile whose monitor is due, and returns the
    /// anomalies not reported before (by profile). A check that fails is reported as an anomaly
    /// of its own (`monitor_failed`).
    pub fn check_monitors(&mut self, now: Instant) -> Vec<(String, Anomaly)> {
        let mut out = Vec::new();
        for (name, s) in self.open.iter_mut() {
            let Some(m) = s.monitor.as_mut() else {
                continue;
            };
            if now.saturating_duration_since(m.last) < m.every {
                continue;
            }
            m.last = now;
            let found = s.vault.anomalies().unwrap_or_else(|e| {
                vec![
                    Anomaly::new("monitor_failed", "", crate::store::now_ms())
                        .with("error", e.code())
                        .with("detail", e.to_string()),
                ]
            });
            for a in found {
                if !m.seen.contains(&a) {
                    m.seen.push(a.clone());
                    out.push((name.clone(), a));
                }
            }
        }
        out
    }

    /// Takes the scheduled backups that are due (then applies the profile's retention policy and
    /// prunes), and returns each profile's outcome: the snapshot and what it added, or the error.
    pub fn run_backups(&mut self, now: Instant) -> Vec<(String, Result<String>)> {
        let mut out = Vec::new();
        for (name, s) in self.open.iter_mut() {
            let Some(b) = s.backup.as_mut() else {
                continue;
            };
            if now < b.next {
                continue;
            }
            b.next = now + b.every;
            let result = (|| {
                let repo = crate::backup::Repo::open(&b.repo)?;
                let report =
                    crate::backup::BackupOptions::default().run(&s.vault, &repo, &mut |_, _| {})?;
                let mut said = format!(
                    "snapshot {} ({} records, {} bytes added)",
                    report.snapshot.id, report.snapshot.records, report.snapshot.added_bytes
                );
                if let Some(policy) = &b.keep {
                    let forgot = crate::backup::ForgetOptions {
                        policy: policy.clone(),
                        profile: Some(s.vault.summary().id.clone()),
                        dry_run: false,
                    }
                    .run(&repo)?;
                    let pruned = crate::backup::prune(&repo, false)?;
                    said.push_str(&format!(
                        "; forgot {} snapshot(s), pruned {} blob(s)",
                        forgot.removed, pruned.blobs_removed
                    ));
                }
                Ok(said)
            })();
            out.push((name.clone(), result));
        }
        out
    }

    /// Locks the profiles idle for longer than their auto-lock time.
    pub fn expire_idle(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> = self
            .open
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_used) >= s.auto_lock)
            .map(|(n, _)| n.clone())
            .collect();
        for n in &expired {
            if let Some(s) = self.open.remove(n) {
                s.vault.record_lock(EventKind::AutoLocked);
            }
        }
        expired
    }

    /// The unlocked profiles.
    pub fn status(&self) -> Vec<SessionStatus> {
        let now = Instant::now();
        let mut out: Vec<SessionStatus> = self
            .open
            .iter()
            .map(|(name, s)| {
                let idle = now.saturating_duration_since(s.last_used);
                SessionStatus {
                    profile: name.clone(),
                    security: s.vault.summary().security,
                    idle_secs: idle.as_secs(),
                    auto_lock_secs: s.auto_lock.as_secs(),
                    locks_in_secs: s.auto_lock.saturating_sub(idle).as_secs(),
                    cached_records: s.cache.len(),
                    cache_encrypted: s.cache.sealer.is_some(),
                    watching: s.watch.is_some(),
                    watch_news: s
                        .watch
                        .as_ref()
                        .map(|w| w.last.lock().expect("watch news").clone()),
                }
            })
            .collect();
        out.sort_by(|a, b| a.profile.cmp(&b.profile));
        out
    }

    fn session(&mut self, name: &str) -> Result<&mut Session> {
        let s = self
            .open
            .get_mut(name)
            .ok_or_else(|| Error::Locked(name.to_string()))?;
        s.last_used = Instant::now();
        Ok(s)
    }

    /// Starts (or, with `on == false`, stops) syncing an unlocked profile in the background whenever
    /// the server announces a change or a record changes here. Stops by itself when the profile locks.
    pub fn watch(&mut self, name: &str, on: bool) -> Result<bool> {
        let pv_root = self.pv.home().root().to_path_buf();
        let s = self.session(name)?;
        if !on {
            return Ok(s.watch.take().is_some());
        }
        if s.watch.is_some() {
            return Ok(true);
        }
        if crate::sync::config(&s.vault)?.is_none() {
            return Err(Error::SyncNotSetUp(name.to_string()));
        }
        let transfer = s.vault.transfer_keys();
        let mut vault = Pvault::open(&pv_root)?.open_with_keys(name, &transfer)?;
        drop(transfer);
        let stop = Arc::new(AtomicBool::new(false));
        let last = Arc::new(Mutex::new("starting".to_string()));
        let (stop2, last2) = (stop.clone(), last.clone());
        std::thread::Builder::new()
            .name(format!("watch {name}"))
            .spawn(move || {
                let policy = vault.summary().sync_policy();
                let news = |text: String| *last2.lock().expect("watch news") = text;
                let end = crate::sync::watch(
                    &mut vault,
                    &policy,
                    &|| stop2.load(Ordering::Relaxed),
                    &mut |event| {
                        news(match event {
                            crate::sync::WatchEvent::Connected { seq } => {
                                format!("connected; server at #{seq}")
                            }
                            crate::sync::WatchEvent::Synced(r) => format!(
                                "synced: pushed {}, pulled {}, conflicts {}; at #{}",
                                r.pushed, r.pulled, r.conflicts, r.head_seq
                            ),
                            crate::sync::WatchEvent::Trouble(e) => format!("trouble: {e}"),
                        })
                    },
                );
                if let Err(e) = end {
                    news(format!("stopped: {e}"));
                }
            })
            .map_err(|e| Error::Io {
                path: pv_root.clone(),
                source: e,
            })?;
        s.watch = Some(Watcher { stop, last });
        Ok(true)
    }

    /// Runs an operation on an unlocked profile (and counts as use, for auto-lock). Reads come
    /// from the profile's cache while the record's revision on disk is unchanged; writes drop the
    /// record from it.
    pub fn run(&mut self, name: &str, op: Op) -> Result<Reply> {
        let s = self.session(name)?;
        if let Op::Get { collection, id } = &op {
            return s
                .cached_get(collection, id)
                .map(|r| Reply::Record(Box::new(r)));
        }
        let reply = s.vault.run(op, &mut |_, _, _| {})?;
        if let Reply::Written(w) = &reply {
            s.cache.remove(&w.collection, &w.id);
        }
        Ok(reply)
    }

    /// A fresh challenge for a re-authentication of `name`.
    pub fn challenge(&mut self, name: &str) -> Result<[u8; 32]> {
        let s = self.session(name)?;
        let c: [u8; 32] = pvault_crypto::random::bytes();
        s.challenge = Some((c, Instant::now()));
        Ok(c)
    }

    /// Completes a re-authentication: the proof must answer the last challenge with the profile's KEK.
    /// A wrong proof counts as a failed unlock attempt.
    pub fn reauthenticate(&mut self, name: &str, proof: &[u8]) -> Result<()> {
        let s = self
            .open
            .get_mut(name)
            .ok_or_else(|| Error::Locked(name.to_string()))?;
        let Some((challenge, issued)) = s.challenge.take() else {
            return Err(Error::ReauthFailed("no challenge was issued".into()));
        };
        if issued.elapsed() > CHALLENGE_TTL {
            return Err(Error::ReauthFailed(
                "the challenge expired; try again".into(),
            ));
        }
        if !s.vault.check_reauth_proof(&challenge, proof) {
            s.vault
                .note(Event::new(EventKind::ReauthFailed).with("error", "wrong_proof"));
            let summary = s.vault.summary().clone();
            let left = self.pv.record_failed_attempt(&summary)?;
            return Err(Error::WrongPassword {
                profile: summary.name,
                attempts_left: Some(left),
            });
        }
        s.last_used = Instant::now();
        s.vault.record_now(Event::new(EventKind::Reauthenticated))?;
        s.vault.mark_reauthenticated();
        Ok(())
    }
}

/// A bounded cache of decrypted records, as serialized bytes (so they can be zeroized), optionally
/// sealed under a key that exists only in this cache.
struct RecordCache {
    entries: HashMap<(String, String), CacheEntry>,
    bytes: usize,
    tick: u64,
    sealer: Option<CollectionKeys>,
    profile: pvault_crypto::ProfileId,
}

struct CacheEntry {
    revision: u64,
    last_used: u64,
    blob: Zeroizing<Vec<u8>>,
}

impl RecordCache {
    fn new(encrypted: bool) -> Self {
        RecordCache {
            entries: HashMap::new(),
            bytes: 0,
            tick: 0,
            sealer: encrypted.then(|| CollectionKeys::new(0, &Key32::random(), &Key32::random())),
            profile: pvault_crypto::ProfileId::random(),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn aad<'a>(&'a self, key: &'a str) -> Aad<'a> {
        Aad {
            profile: &self.profile,
            kind: Kind::Record,
            collection: "cache",
            record_id: key,
            classification: Classification::Internal,
        }
    }

    fn get(&mut self, collection: &str, id: &str, revision: u64) -> Option<Record> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self
            .entries
            .get_mut(&(collection.to_string(), id.to_string()))?;
        if entry.revision != revision {
            return None;
        }
        entry.last_used = tick;
        let plain = match &self.sealer {
            None => pvault_crypto::SecretVec::new(entry.blob.to_vec()),
            Some(keys) => {
                let key = format!("{collection}/{id}");
                let aad = Aad {
                    profile: &self.profile,
                    kind: Kind::Record,
                    collection: "cache",
                    record_id: &key,
                    classification: Classification::Internal,
                };
                envelope::open(keys, &aad, &entry.blob).ok()?
            }
        };
        serde_json::from_slice(&plain).ok()
    }

    fn insert(&mut self, rec: &Record) {
        let plain = Zeroizing::new(serde_json::to_vec(rec).expect("records serialize"));
        if plain.len() > CACHE_BYTES / 4 {
            return;
        }
        let key = format!("{}/{}", rec.collection, rec.id);
        let blob = match &self.sealer {
            None => plain,
            Some(keys) => match envelope::seal(keys, &self.aad(&key), &plain) {
                Ok(sealed) => Zeroizing::new(sealed),
                Err(_) => return,
            },
        };
        self.remove(&rec.collection, &rec.id);
        self.tick += 1;
        self.bytes += blob.len();
        self.entries.insert(
            (rec.collection.clone(), rec.id.clone()),
            CacheEntry {
                revision: rec.revision,
                last_used: self.tick,
                blob,
            },
        );
        while self.bytes > CACHE_BYTES {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    if let Some(e) = self.entries.remove(&k) {
                        self.bytes -= e.blob.len();
                    }
                }
                None => break,
            }
        }
    }

    fn remove(&mut self, collection: &str, id: &str) {
        if let Some(e) = self
            .entries
            .remove(&(collection.to_string(), id.to_string()))
        {
            self.bytes -= e.blob.len();
        }
    }
}
