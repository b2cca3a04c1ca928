//! `repair`: what verify finds damaged is restored from the sync server's copy, after a plan that
//! says what will be done (`dry_run` stops there). Every repair is an audit entry.
//!
//! The server's whole log is read from the start and checked to chain from the account's genesis
//! to the head this device saw (so a server cannot hand back an older version as the repair), and
//! each copy must open under this profile's keys for the record it repairs. The store's counters
//! that verify finds behind what they count are moved up to it. Nothing else is touched.

use std::collections::HashMap;

use pvault_proto::chain::ChainHead;
use serde::{Deserialize, Serialize};

use super::engine::Engine;
use crate::audit::{Event, EventKind};
use crate::error::{Error, Result};
use crate::store::{self, SyncPoint, WriteTx};
use crate::vault::{Unreadable, Vault};
use pvault_model::Policy;

/// One thing repair does (or, in a dry run, would do).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RepairAction {
    /// Collection (`(store)` for a counter).
    pub collection: String,
    /// Record id (or the counter's name).
    pub id: String,
    /// What verify found.
    pub problem: String,
    /// Where the good version comes from: `server #seq`, or `recount`.
    pub from: String,
}

/// The result of [`repair`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RepairReport {
    /// Whether this was only a plan.
    pub dry_run: bool,
    /// Repairs made (or planned).
    pub repaired: Vec<RepairAction>,
    /// Problems no repair source could fix, with the reason.
    pub unrepaired: Vec<Unreadable>,
}

/// Verifies the profile and repairs what it can; with `dry_run`, only says what it would do.
pub fn repair(vault: &Vault, dry_run: bool) -> Result<RepairReport> {
    let found = vault.verify(&mut |_, _| {})?;
    let mut report = RepairReport {
        dry_run,
        ..Default::default()
    };
    if found.problems.is_empty() {
        return Ok(report);
    }
    let (counters, records): (Vec<Unreadable>, Vec<Unreadable>) = found
        .problems
        .into_iter()
        .partition(|p| p.collection == "(store)");
    // The audit log is evidence: what is wrong with it is named, never rewritten.
    let (audit, records): (Vec<Unreadable>, Vec<Unreadable>) =
        records.into_iter().partition(|p| p.collection == "(audit)");
    report
        .unrepaired
        .extend(audit.into_iter().map(|p| Unreadable {
            problem: format!(
                "{}; the audit log is evidence and is not repaired",
                p.problem
            ),
            ..p
        }));
    for c in counters {
        report.repaired.push(RepairAction {
            from: "recount".into(),
            collection: c.collection,
            id: c.id,
            problem: c.problem,
        });
    }
    let syncs = super::config(vault)?.is_some();
    let (copies, records) = if records.is_empty() {
        (HashMap::new(), records)
    } else if !syncs {
        let unsourced: Vec<Unreadable> = records
            .into_iter()
            .map(|p| Unreadable {
                problem: format!(
                    "{}; no repair source: the profile does not sync and has no backup",
                    p.problem
                ),
                ..p
            })
            .collect();
        report.unrepaired.extend(unsourced);
        (HashMap::new(), Vec::new())
    } else {
        (server_copies(vault)?, records)
    };
    let mut fixes = Vec::new();
    for p in records.iter() {
        let rid = match p.id.strip_prefix('#') {
            Some(hex_rid) => hex::decode(hex_rid)
                .ok()
                .and_then(|b| <[u8; 16]>::try_from(b).ok()),
            None => Some(vault.rid(&p.collection, &p.id)),
        };
        let copy = rid.and_then(|r| copies.get(&r).map(|c| (r, c)));
        let Some((rid, (seq, tombstone, blob))) = copy else {
            report.unrepaired.push(Unreadable {
                problem: format!("{}; the sync server has no copy of it", p.problem),
                ..p.clone()
            });
            continue;
        };
        match vault.open_linked_item(&rid, *tombstone, blob) {
            Ok(item) if item.row.collection == p.collection => {
                let (row, id) = (item.row, item.id);
                let at = SyncPoint {
                    seq: *seq,
                    hash: Some(pvault_proto::chain::blob_hash(blob)),
                    n: item.link.n,
                };
                report.repaired.push(RepairAction {
                    collection: p.collection.clone(),
                    id: id.clone(),
                    problem: p.problem.clone(),
                    from: format!("server #{seq}"),
                });
                fixes.push((row, id, at));
            }
            _ => report.unrepaired.push(Unreadable {
                problem: format!("{}; the sync server's copy does not open either", p.problem),
                ..p.clone()
            }),
        }
    }
    if dry_run || report.repaired.is_empty() {
        return Ok(report);
    }
    let tx = WriteTx::begin(vault.conn())?;
    for (row, id, at) in &fixes {
        // A copy whose body does not open rolls the whole repair back.
        vault.store_remote(&tx, row, id, at)?;
        vault.record(
            &tx,
            Event::new(EventKind::Repaired)
                .with("collection", row.collection.as_str())
                .with("id", id.as_str())
                .with("from", format!("server #{}", at.seq)),
        )?;
    }
    for a in report.repaired.iter().filter(|a| a.from == "recount") {
        vault.recount(&tx, &a.id)?;
        vault.record(
            &tx,
            Event::new(EventKind::Repaired)
                .with("counter", a.id.as_str())
                .with("from", "recount"),
        )?;
    }
    tx.commit()?;
    Ok(report)
}

/// Copies of records on the server by row key: `(seq, tombstone, blob)`.
type Copies = HashMap<[u8; 16], (u64, bool, Vec<u8>)>;

/// The current copy of every record on the server, by row key: `(seq, tombstone, blob)`. The log is read from genesis and must reach the head this device saw.
fn server_copies(vault: &Vault) -> Result<Copies> {
    let policy = Policy::default();
    let engine = Engine::open(vault, &policy)?;
    let conn = vault.conn();
    let seen_seq = store::meta_u64(conn, store::SYNC_PULLED_SEQ)?;
    let seen_hash = store::meta_bytes(conn, store::SYNC_PULLED_HASH)?;
    let mut head = ChainHead::genesis(&engine.account);
    let mut copies = HashMap::new();
    loop {
        let page = engine.page_after(&head, false)?;
        for c in &page.changes {
            if crate::replica::is_audit_item(c.blob.as_deref().unwrap_or_default()) {
                continue;
            }
            if let Some(b) = &c.blob {
                copies.insert(c.rid, (c.seq, c.tombstone, b.clone()));
            }
            if c.seq == seen_seq {
                let at_seen = head_through(&head, &page, c.seq);
                if seen_hash.as_deref() != Some(&at_seen.hash[..]) {
                    return Err(Error::SyncIntegrity(format!(
                        "the server's log up to #{seen_seq} is not the one this device saw: its copies are not used"
                    )));
                }
            }
        }
        head = page.end;
        if !page.more {
            break;
        }
    }
    if head.seq < seen_seq {
        return Err(Error::SyncIntegrity(format!(
            "the server's log is shorter than what this device already saw (#{seen_seq})"
        )));
    }
    Ok(copies)
}

/// The chain head after change `seq` of `page`, starting from `head` (the head before the page).
fn head_through(head: &ChainHead, page: &pvault_proto::batch::PullPage, seq: u64) -> ChainHead {
    let mut h = *head;
    for c in page.changes.iter().take_while(|c| c.seq <= seq) {
        h = h.next(c.seq, &c.rid, c.tombstone, &c.blob_hash);
    }
    h
}
