//! The vault's side of the audit log: the keys it writes with, events written in the caller's
//! transaction, and events kept in memory when the store cannot take them (a full disk or a
//! read-only store still lets the profile be read; the next write writes them first, or is refused).

use rusqlite::Connection;

use super::*;
use crate::audit::{self, AuditFilter, AuditListing, AuditReport, Event, Log};
use crate::error::{Error, Result};
use crate::store::WriteTx;

impl Vault {
    /// The log this vault writes to: this device's chain.
    pub(crate) fn log(&self) -> Log<'_> {
        Log {
            keys: &self.audit_keys,
            identity: self.keys.identity(),
            profile: &self.profile,
            device: &self.device,
        }
    }

    /// Appends an event in the caller's transaction. If it cannot be written, the caller's
    /// transaction fails with it: the action does not happen.
    pub(crate) fn record(&self, conn: &Connection, event: Event) -> Result<()> {
        if !self.audit_on {
            return Ok(());
        }
        self.log()
            .append(conn, event)
            .map(drop)
            .map_err(audit_unavailable)
    }

    /// Writes an event that goes with no other change (an unlock, a lock), with any kept from
    /// before, in a transaction of its own. Fails if it cannot be written.
    pub(crate) fn record_now(&self, event: Event) -> Result<()> {
        self.pending().push(event);
        self.flush_audit()
    }

    /// Like [`Vault::record_now`], but when the store cannot take it the event is kept in memory and
    /// written before the next write (which is refused while it cannot be).
    pub(crate) fn note(&self, event: Event) {
        self.pending().push(event);
        let _ = self.flush_audit();
    }

    /// Writes the events kept in memory (and, on first unlock, the inbox of events sealed while the
    /// profile was locked), in one transaction.
    pub(crate) fn flush_audit(&self) -> Result<()> {
        if !self.audit_on {
            self.pending().clear();
            return Ok(());
        }
        let mut pending = self.pending();
        if pending.is_empty() && !crate::store::inbox_waiting(&self.conn).unwrap_or(true) {
            return Ok(());
        }
        let write = || -> Result<()> {
            let tx = WriteTx::begin(&self.conn)?;
            let log = self.log();
            let failed = audit::drain_inbox(&tx, &log)?;
            self.check_failed_unlocks(&tx, failed)?;
            for e in pending.iter() {
                log.append(&tx, e.clone())?;
            }
            tx.commit()
        };
        write().map_err(audit_unavailable)?;
        pending.clear();
        Ok(())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.audit_pending.lock().expect("audit queue lock")
    }

    /// Records that the profile is being locked (kind `locked` or `auto_locked`). Best effort: a
    /// lock always happens.
    pub fn record_lock(&self, kind: audit::EventKind) {
        self.note(Event::new(kind));
    }

    /// The audit log, filtered.
    pub fn audit(&self, filter: &AuditFilter) -> Result<AuditListing> {
        audit::read::list(&self.conn, &self.audit_keys, filter)
    }

    /// Checks the whole audit log (every device's chain and checkpoint).
    pub fn verify_audit(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<AuditReport> {
        let public = self.keys.identity().public();
        audit::verify::verify(
            &self.conn,
            &self.audit_keys,
            &self.profile,
            &public,
            progress,
        )
    }

    /// Applies the profile's audit retention (entries older than it are summarised), at most once
    /// a day. Returns what it summarised.
    pub fn apply_audit_retention(&self, force: bool) -> Result<Vec<(String, u64)>> {
        let Some(keep) = self.summary.settings.audit_retention_secs else {
            return Ok(Vec::new());
        };
        let now = crate::store::now_ms();
        let last = crate::store::meta_u64(&self.conn, RETENTION_RAN)? as i64;
        if !force && now - last < 24 * 3600 * 1000 {
            return Ok(Vec::new());
        }
        let cutoff = now - (keep as i64).saturating_mul(1000);
        let tx = WriteTx::begin(&self.conn)?;
        let done = self.log().apply_retention(&tx, cutoff)?;
        crate::store::set_meta_u64(&tx, RETENTION_RAN, now as u64)?;
        tx.commit()?;
        Ok(done)
    }

    /// The whole log as a signed export (an `exported` entry records it).
    pub fn export_audit(&self) -> Result<audit::AuditExport> {
        let doc = audit::export::export(&self.conn, &self.log())?;
        let entries: usize = doc.chains.iter().map(|c| c.entries.len()).sum();
        self.record_now(
            Event::new(audit::EventKind::Exported)
                .with("what", "audit log")
                .with("entries", entries as u64),
        )?;
        Ok(doc)
    }

    /// The whole log as a signed export, recording nothing (a profile export records itself).
    pub(crate) fn export_audit_quietly(&self) -> Result<audit::AuditExport> {
        audit::export::export(&self.conn, &self.log())
    }

    /// Records a backup's event in its transaction (fails closed like every write's).
    pub(crate) fn record_backup(&self, conn: &Connection, event: Event) -> Result<()> {
        self.record(conn, event)
    }

    /// Records an event that goes with no other change; fails if it cannot be written.
    pub(crate) fn record_export(&self, event: Event) -> Result<()> {
        self.record_now(event)
    }

    /// Turns the audit log off for this vault: for the benchmark that measures its cost only.
    #[doc(hidden)]
    pub fn disable_audit_for_benchmarks(&mut self) {
        self.audit_on = false;
    }

    /// Appends `n` real `records_written` events (a small detail each) to this device's chain, in
    /// transactions of 10,000, through the same [`Log::append`] as every other event (so each one
    /// is sealed, chained, MACed and followed by a signed checkpoint): for the benchmark that times
    /// `verify_audit` on a large log only.
    #[doc(hidden)]
    pub fn append_audit_entries_for_benchmarks(&self, n: u64) -> Result<()> {
        const PER_TRANSACTION: u64 = 10_000;
        self.flush_audit()?;
        let log = self.log();
        let mut done = 0;
        while done < n {
            let k = PER_TRANSACTION.min(n - done);
            let tx = WriteTx::begin(&self.conn)?;
            for _ in 0..k {
                let event = Event::new(audit::EventKind::RecordsWritten)
                    .with("records", 1u64)
                    .with("collections", serde_json::json!({ "bench": 1 }));
                log.append(&tx, event)?;
            }
            tx.commit()?;
            done += k;
        }
        Ok(())
    }
}

/// When retention last ran (Unix ms).
const RETENTION_RAN: &str = "audit/retention_ran";

/// An audit write that failed: the action it was for is refused, and says why.
fn audit_unavailable(e: Error) -> Error {
    match e {
        Error::AuditUnavailable(_) => e,
        Error::Sqlite(s) => Error::AuditUnavailable(s.to_string()),
        other => Error::AuditUnavailable(other.to_string()),
    }
}
