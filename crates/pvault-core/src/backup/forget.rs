//! `ForgetOptions::run` (remove snapshots by a retention policy, restic's rules, per profile) and
//! [`prune`] (remove the blobs and key files no snapshot needs). Neither needs a password: the
//! snapshot files name their times and every blob they need.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Repo;
use super::pack::{PackEntry, Packer};
use crate::error::{Error, IoContext, Result};
use pvault_backup::retention::{Decision, Policy, SnapshotTime};

/// What to forget.
pub struct ForgetOptions {
    pub policy: Policy,
    /// Only this profile's snapshots (its id); else every profile's, each by the policy.
    pub profile: Option<String>,
    /// Only say what would be removed.
    pub dry_run: bool,
}

/// The plan (and what was done), per profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForgetReport {
    pub dry_run: bool,
    /// Profile id → its profile name and the plan for each of its snapshots, newest first.
    pub profiles: BTreeMap<String, (String, Vec<Decision>)>,
    pub removed: u64,
}

impl ForgetOptions {
    /// Applies the policy to each profile's snapshots and removes (unless a dry run) those it does
    /// not keep. Blobs stay until [`prune`].
    pub fn run(&self, repo: &Repo) -> Result<ForgetReport> {
        let mut by_profile: BTreeMap<String, Vec<super::Snapshot>> = BTreeMap::new();
        for s in repo.snapshots(self.profile.as_deref())? {
            by_profile.entry(s.profile.clone()).or_default().push(s);
        }
        let mut profiles = BTreeMap::new();
        let mut removed = 0;
        for (profile, snapshots) in by_profile {
            let times: Vec<SnapshotTime> = snapshots
                .iter()
                .map(|s| {
                    // Within a second: milliseconds, then the chain (a child is newer).
                    SnapshotTime::new(s.id.clone(), s.unix_ms.div_euclid(1000))
                        .with_order(s.unix_ms.rem_euclid(1000) * 1_000_000 + s.seq as i64)
                })
                .collect();
            let plan = self
                .policy
                .apply(&times)
                .map_err(|e| Error::InvalidPolicy(e.to_string()))?;
            if !self.dry_run {
                for d in plan.iter().filter(|d| !d.is_kept()) {
                    let path = repo.snapshot_path(&profile, &d.id);
                    std::fs::remove_file(&path).at(&path)?;
                    removed += 1;
                }
            }
            let name = snapshots.last().map(|s| s.name.clone()).unwrap_or_default();
            profiles.insert(profile, (name, plan));
        }
        Ok(ForgetReport {
            dry_run: self.dry_run,
            profiles,
            removed,
        })
    }
}

/// Parses a retention policy written as `last=3,daily=7,weekly=4,within=30d` (the keys are
/// `forget`'s options without `--keep-`: last, hourly, daily, weekly, monthly, yearly take a
/// count or `unlimited`; within and within-hourly … within-yearly take a duration).
pub fn parse_keep(spec: &str) -> Result<Policy> {
    use pvault_backup::retention::Count;
    let bad = |m: String| Error::InvalidPolicy(m);
    let mut p = Policy::default();
    for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?}: write it as key=value, e.g. daily=7")))?;
        let count = || {
            Count::parse(v)
                .map(Some)
                .map_err(|e| bad(format!("{k}: {e}")))
        };
        let duration = || {
            Policy::parse_duration(v)
                .map(Some)
                .map_err(|e| bad(format!("{k}: {e}")))
        };
        match k.trim() {
            "last" => p.last = count()?,
            "hourly" => p.hourly = count()?,
            "daily" => p.daily = count()?,
            "weekly" => p.weekly = count()?,
            "monthly" => p.monthly = count()?,
            "yearly" => p.yearly = count()?,
            "within" => p.within = duration()?,
            "within-hourly" => p.within_hourly = duration()?,
            "within-daily" => p.within_daily = duration()?,
            "within-weekly" => p.within_weekly = duration()?,
            "within-monthly" => p.within_monthly = duration()?,
            "within-yearly" => p.within_yearly = duration()?,
            other => {
                return Err(bad(format!(
                    "unknown key {other:?}: expected last, hourly, daily, weekly, monthly, yearly, within or within-daily (…)"
                )));
            }
        }
    }
    if p.is_empty() {
        return Err(bad(
            "the policy keeps nothing: give at least one rule".into()
        ));
    }
    Ok(p)
}

/// What [`prune`] removed (or, with `dry_run`, would).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PruneReport {
    pub dry_run: bool,
    /// Blobs no snapshot needs (in packs, loose, or left by a backup cut short), removed.
    pub blobs_removed: u64,
    /// Bytes freed: removed packs, the unused part of repacked ones, loose blobs, leftovers.
    pub bytes_removed: u64,
    pub key_files_removed: u64,
    pub blobs_kept: u64,
    /// Packs removed whole (none of their blobs needed, or no index names them).
    pub packs_removed: u64,
    /// Packs partly needed: their needed blobs copied into new packs, then removed.
    pub packs_repacked: u64,
    /// New packs the repacked blobs went into.
    pub packs_written: u64,
}

/// Removes every blob and key file that no snapshot names (a backup cut short leaves such
/// blobs; forget leaves those of the snapshots it removed). A pack none of whose blobs is needed
/// is removed; a pack partly needed is repacked: its needed blobs (sealed, as they are) are copied
/// into new packs, then a new index naming every pack that stays is written, then the old index
/// files are removed, then the old packs. Cut short at any point, the repository stays whole: the
/// old index names old packs until it is removed, and packs no index names are removed by the next
/// prune. No password is needed, and no other backup, forget or prune may run meanwhile.
pub fn prune(repo: &Repo, dry_run: bool) -> Result<PruneReport> {
    repo.forget_index();
    let snapshots = repo.snapshots(None)?;
    let used: BTreeSet<&str> = snapshots
        .iter()
        .flat_map(|s| s.refs.iter().map(String::as_str))
        .collect();
    let keys: BTreeSet<(String, String)> = snapshots
        .iter()
        .map(|s| (s.profile.clone(), format!("{}.json", s.key_file)))
        .collect();
    let mut report = PruneReport {
        dry_run,
        blobs_removed: 0,
        bytes_removed: 0,
        key_files_removed: 0,
        blobs_kept: 0,
        packs_removed: 0,
        packs_repacked: 0,
        packs_written: 0,
    };
    let index = repo.index()?;
    // A blob lives where the index finds it (a copy in another pack is garbage).
    let live = |pack: &str, (id, _, _): &(String, u64, u64)| {
        used.contains(id.as_str()) && index.blobs.get(id).is_some_and(|l| l.pack == pack)
    };
    let mut keep = Vec::new();
    let mut repack = Vec::new();
    let mut remove = Vec::new();
    for (pack, blobs) in &index.packs {
        let n = blobs.iter().filter(|b| live(pack, b)).count();
        if n == blobs.len() {
            keep.push(pack.clone());
            report.blobs_kept += n as u64;
        } else if n == 0 {
            remove.push(pack.clone());
            report.blobs_removed += blobs.len() as u64;
            report.packs_removed += 1;
            report.bytes_removed += file_len(&repo.pack_path(pack));
        } else {
            repack.push(pack.clone());
            report.blobs_kept += n as u64;
            report.blobs_removed += (blobs.len() - n) as u64;
            report.packs_repacked += 1;
            report.bytes_removed += blobs
                .iter()
                .filter(|b| !live(pack, b))
                .map(|(_, _, len)| len)
                .sum::<u64>();
        }
    }
    // Files in data/ no index names: loose blobs (version 1), packs a backup cut short left
    // unindexed, temporary files.
    let mut stray = Vec::new();
    let data = repo.root().join("data");
    for entry in std::fs::read_dir(&data).at(&data)?.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            stray.push(path);
            report.blobs_removed += 1;
            report.bytes_removed += file_len(&entry.path());
            continue;
        }
        for f in std::fs::read_dir(&path).at(&path)?.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if index.packs.contains_key(&name) {
                continue;
            }
            if used.contains(name.as_str()) && !index.blobs.contains_key(&name) {
                report.blobs_kept += 1;
                continue;
            }
            report.blobs_removed += 1;
            report.bytes_removed += f.metadata().map(|m| m.len()).unwrap_or(0);
            if name.len() == 64 {
                report.packs_removed += 1;
            }
            stray.push(f.path());
        }
    }
    if !dry_run {
        let changed = !repack.is_empty() || !remove.is_empty();
        if changed {
            // 1. The needed blobs of partly used packs, into new packs (durable).
            let mut packer = Packer::new(repo, false)?;
            for pack in &repack {
                let (bytes, header) = repo.read_pack(pack)?;
                for b in header.iter().filter(|b| live(pack, b)) {
                    let (id, offset, len) = b;
                    packer.add(id, &bytes[*offset as usize..(offset + len) as usize])?;
                }
            }
            let (mut written, _) = packer.finish_packs()?;
            report.packs_written = written.len() as u64;
            // 2. One index naming every pack that stays (its needed blobs only).
            for pack in &keep {
                written.push(PackEntry {
                    id: pack.clone(),
                    blobs: index.packs[pack].clone(),
                });
            }
            let (new_index, _) = repo.write_index(written)?;
            // 3. The old index files, then 4. the old packs.
            for f in index.files.iter().filter(|f| **f != new_index) {
                repo.remove_index_file(f)?;
            }
            repo.sync_index_dir()?;
            let mut dirs = BTreeSet::new();
            for pack in repack.iter().chain(&remove) {
                let path = repo.pack_path(pack);
                remove_if_there(&path)?;
                dirs.extend(path.parent().map(|p| p.to_path_buf()));
            }
            for dir in dirs {
                crate::fsutil::sync_dir(&dir)?;
            }
            repo.forget_index();
        }
        for path in &stray {
            remove_if_there(path)?;
        }
    }
    let key_dir = repo.root().join("keys");
    for dir in std::fs::read_dir(&key_dir).at(&key_dir)?.flatten() {
        let profile = dir.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(dir.path()).at(&dir.path())?.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if !keys.contains(&(profile.clone(), name)) {
                report.key_files_removed += 1;
                if !dry_run {
                    std::fs::remove_file(f.path()).at(&f.path())?;
                }
            }
        }
    }
    Ok(report)
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn remove_if_there(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(path),
        _ => Ok(()),
    }
}
