//! `pvault audit verify`: checks every device's chain and every checkpoint, and names each problem
//! with its position: modified, moved (reordered), removed, truncated, a forged MAC or checkpoint.
//! Nothing is fixed.

use std::collections::BTreeMap;

use pvault_crypto::{AuditKeys, ProfileId, PublicIdentity};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{Sealed, checkpoint_text, entry_hash, hash32};
use crate::error::Result;
use crate::store::{self, AuditRowRef};

/// What is wrong at a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The entry's bytes are not the ones its chain hash was made over.
    Modified,
    /// The entry belongs at another position (entries swapped, moved or renumbered).
    Reordered,
    /// Positions are missing from the middle of a chain.
    Removed,
    /// A genuine entry that chains from another entry than the one held before it: the log forked
    /// (an entry before it was rewritten, here or on the device that wrote it).
    Forked,
    /// The chain ends before a signed checkpoint says it does.
    Truncated,
    /// A chain hash is not vouched for by the audit key (the chain was rewritten).
    ForgedMac,
    /// A checkpoint's signature is not the profile's, or it disagrees with the chain.
    ForgedCheckpoint,
}

/// One problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditProblem {
    /// The device whose chain it is in.
    pub device: String,
    /// The first position concerned.
    pub seq: u64,
    /// What is wrong.
    pub kind: ProblemKind,
    /// In words.
    pub detail: String,
}

/// The result of [`verify`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// Chains (devices) checked.
    pub devices: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Every problem, by device then position.
    pub problems: Vec<AuditProblem>,
}

impl AuditReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The state of one device's chain while it is walked.
#[derive(Default)]
struct Chain {
    next: u64,
    previous: [u8; 32],
    hashes: BTreeMap<u64, [u8; 32]>,
}

/// Checks every chain and checkpoint. Reads entries one at a time; only an entry that fails is
/// opened, to say whether it was moved or changed.
pub(crate) fn verify(
    conn: &Connection,
    keys: &AuditKeys,
    profile: &ProfileId,
    public: &PublicIdentity,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<AuditReport> {
    let total = store::audit_count(conn)?;
    let mut report = AuditReport::default();
    let mut chains: BTreeMap<String, Chain> = BTreeMap::new();
    // A chain shortened by retention goes on from its signed summary.
    for sm in store::summaries(conn)? {
        if !super::retention::summary_genuine(profile, public, &sm) {
            report.problems.push(AuditProblem {
                device: sm.device.clone(),
                seq: sm.upto,
                kind: ProblemKind::ForgedCheckpoint,
                detail: format!(
                    "the summary of entries 1..={} is not signed by this profile",
                    sm.upto
                ),
            });
        }
        let hash = hash32(&sm.hash);
        chains.insert(
            sm.device.clone(),
            Chain {
                next: sm.upto + 1,
                previous: hash,
                hashes: BTreeMap::from([(sm.upto, hash)]),
            },
        );
    }
    // Checkpoints are few; the hashes they name are remembered while walking.
    let checkpoints = store::checkpoints(conn)?;
    let wanted: BTreeMap<(&str, u64), ()> = checkpoints
        .iter()
        .map(|c| ((c.device.as_str(), c.size), ()))
        .collect();
    // Rows are lent by the store, not copied: a walk over a large log allocates only for a new
    // device's chain and for a problem.
    store::each_audit_ref(conn, |row| {
        report.entries += 1;
        if !chains.contains_key(row.device) {
            let first = Chain {
                next: 1,
                ..Chain::default()
            };
            chains.insert(row.device.to_string(), first);
        }
        let chain = chains.get_mut(row.device).expect("inserted above");
        check_entry(keys, &row, chain, &mut report.problems);
        if wanted.contains_key(&(row.device, row.seq)) {
            chain.hashes.insert(row.seq, hash32(row.hash));
        }
        if report.entries % 4096 == 0 {
            progress(report.entries, total);
        }
        Ok(())
    })?;
    report.devices = chains.len() as u64;
    for c in &checkpoints {
        report.checkpoints += 1;
        let hash = hash32(&c.hash);
        let text = checkpoint_text(profile, &c.device, c.size, &hash, c.at);
        let problem = |kind, detail: String| AuditProblem {
            device: c.device.clone(),
            seq: c.size,
            kind,
            detail,
        };
        if public.verify(text.as_bytes(), &c.signature).is_err() {
            report.problems.push(problem(
                super::verify::ProblemKind::ForgedCheckpoint,
                format!(
                    "checkpoint at entry {} is not signed by this profile",
                    c.size
                ),
            ));
            continue;
        }
        let end = chains.get(&c.device).map(|ch| ch.next - 1).unwrap_or(0);
        if end < c.size {
            report.problems.push(problem(
                ProblemKind::Truncated,
                format!(
                    "a signed checkpoint covers {} entries but the log ends at {end}: entries {}..={} were removed",
                    c.size,
                    end + 1,
                    c.size
                ),
            ));
        } else if chains
            .get(&c.device)
            .and_then(|ch| ch.hashes.get(&c.size))
            .is_some_and(|h| *h != hash)
        {
            report.problems.push(problem(
                ProblemKind::ForgedCheckpoint,
                format!(
                    "entry {} is not the one the signed checkpoint names (the chain was rewritten)",
                    c.size
                ),
            ));
        }
    }
    report
        .problems
        .sort_by(|a, b| (&a.device, a.seq).cmp(&(&b.device, b.seq)));
    progress(total, total);
    Ok(report)
}

/// Checks one entry against the chain walked so far.
fn check_entry(
    keys: &AuditKeys,
    row: &AuditRowRef<'_>,
    chain: &mut Chain,
    problems: &mut Vec<AuditProblem>,
) {
    let mut problem = |seq, kind, detail: String| {
        problems.push(AuditProblem {
            device: row.device.to_string(),
            seq,
            kind,
            detail,
        })
    };
    if row.seq > chain.next {
        let detail = if row.seq == chain.next + 1 {
            format!("entry {} is missing", chain.next)
        } else {
            format!("entries {}..={} are missing", chain.next, row.seq - 1)
        };
        problem(chain.next, ProblemKind::Removed, detail);
    }
    let stored = hash32(row.hash);
    let computed = entry_hash(&chain.previous, row.device, row.seq, row.entry);
    let mac_ok = keys.check_mac(&stored, row.mac);
    if computed != stored || row.seq > chain.next || !mac_ok {
        // This entry changed, or the chain before it did (an entry removed, moved or renumbered):
        // what it holds says which.
        match keys
            .open(row.device, row.entry)
            .ok()
            .and_then(|p| serde_json::from_slice::<Sealed>(&p).ok())
        {
            Some(s) if s.device != row.device || s.seq != row.seq => problem(
                row.seq,
                ProblemKind::Reordered,
                format!(
                    "entry {} holds entry {} of device {}",
                    row.seq, s.seq, s.device
                ),
            ),
            None => problem(
                row.seq,
                ProblemKind::Modified,
                format!("entry {} was modified (it does not open)", row.seq),
            ),
            Some(_) if computed != stored && row.seq == chain.next && mac_ok => problem(
                row.seq,
                ProblemKind::Forked,
                format!(
                    "entry {} is genuine but chains from another entry {} than the one held here: the log forked",
                    row.seq,
                    row.seq - 1
                ),
            ),
            Some(_) if computed != stored && row.seq == chain.next => problem(
                row.seq,
                ProblemKind::Modified,
                format!("entry {} does not chain from the one before it", row.seq),
            ),
            Some(_) => {}
        }
    }
    if !mac_ok {
        problem(
            row.seq,
            ProblemKind::ForgedMac,
            format!(
                "entry {}'s MAC does not match (the chain was rewritten)",
                row.seq
            ),
        );
    }
    chain.next = row.seq + 1;
    chain.previous = stored;
}
