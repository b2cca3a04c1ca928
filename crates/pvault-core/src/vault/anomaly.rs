//! Anomalies as the vault meets them: recorded in the audit log (in the caller's transaction) and
//! raised to whoever listens ([`Vault::on_security_anomaly`]); integrity violations that verify
//! finds are raised to [`Vault::on_integrity_violation`]. [`Vault::anomalies`] lists them all.

use std::sync::mpsc::{Receiver, Sender, channel};

use rusqlite::Connection;

use super::*;
use crate::audit::{AuditFilter, Event, EventKind};
use crate::error::Result;
use crate::integrity::{self, Anomaly};
use crate::store;

/// Where raised anomalies and violations go.
#[derive(Default)]
pub(crate) struct Listeners {
    anomalies: Vec<Sender<Anomaly>>,
    violations: Vec<Sender<Unreadable>>,
}

const DELETE_WINDOW: &str = "anomaly/delete_window";
const DELETE_COUNT: &str = "anomaly/delete_count";

impl Vault {
    /// A channel that receives every anomaly this vault raises from now on.
    pub fn on_security_anomaly(&self) -> Receiver<Anomaly> {
        let (tx, rx) = channel();
        self.listeners().anomalies.push(tx);
        rx
    }

    /// A channel that receives every integrity problem this vault's checks find from now on.
    pub fn on_integrity_violation(&self) -> Receiver<Unreadable> {
        let (tx, rx) = channel();
        self.listeners().violations.push(tx);
        rx
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, Listeners> {
        self.listeners.lock().expect("listeners lock")
    }

    /// Records an anomaly in the audit log (in the caller's transaction) and raises it.
    pub(crate) fn raise(&self, conn: &Connection, anomaly: Anomaly) -> Result<()> {
        let mut event = Event::new(EventKind::Anomaly).with("what", anomaly.what.as_str());
        for (k, v) in &anomaly.detail {
            event = event.with(k, v.clone());
        }
        self.record(conn, event)?;
        self.listeners()
            .anomalies
            .retain(|l| l.send(anomaly.clone()).is_ok());
        Ok(())
    }

    /// Records and raises an anomaly in a transaction of its own. Best effort: what found it goes on
    /// to report its own error.
    pub(crate) fn raise_now(&self, anomaly: Anomaly) {
        let write = || -> Result<()> {
            let tx = store::WriteTx::begin(&self.conn)?;
            self.raise(&tx, anomaly)?;
            tx.commit()
        };
        let _ = write();
    }

    /// Raises the integrity problems a check found.
    pub(crate) fn raise_violations(&self, problems: &[Unreadable]) {
        self.listeners()
            .violations
            .retain(|l| problems.iter().all(|p| l.send(p.clone()).is_ok()));
    }

    /// After failed unlocks were moved from the inbox into the log: a burst is an anomaly.
    pub(crate) fn check_failed_unlocks(&self, conn: &Connection, failed: u64) -> Result<()> {
        if failed < integrity::FAILED_UNLOCK_BURST {
            return Ok(());
        }
        self.raise(
            conn,
            Anomaly::new("failed_unlock_burst", &self.device, store::now_ms())
                .with("failures", failed)
                .with("detail", "failed unlock attempts since the last unlock"),
        )
    }

    /// Counts a delete (in its transaction): the [`integrity::MASS_DELETE`]th within the window is
    /// an anomaly. The counters are in the store, so deletes by separate processes add up.
    pub(crate) fn count_delete(&self, conn: &Connection) -> Result<()> {
        let now = store::now_ms();
        let start = store::meta_u64(conn, DELETE_WINDOW)? as i64;
        let mut count = store::meta_u64(conn, DELETE_COUNT)?;
        if now - start > integrity::MASS_DELETE_WINDOW_MS {
            store::set_meta_u64(conn, DELETE_WINDOW, now as u64)?;
            count = 0;
        }
        count += 1;
        store::set_meta_u64(conn, DELETE_COUNT, count)?;
        if count == integrity::MASS_DELETE {
            self.raise(
                conn,
                Anomaly::new("mass_delete", &self.device, now)
                    .with("deleted", count)
                    .with("window_secs", integrity::MASS_DELETE_WINDOW_MS / 1000),
            )?;
        }
        Ok(())
    }

    /// Every anomaly: those recorded in the audit log (from every device), those reading the log
    /// finds (clock skew, silent devices), an audit log that does not verify, and record rows
    /// edited outside pvault.
    pub fn anomalies(&self) -> Result<Vec<Anomaly>> {
        let listing = self.audit(&AuditFilter::default())?;
        let now = store::now_ms();
        let mut out = integrity::detect(&listing.entries, now);
        let report = self.verify_audit(&mut |_, _| {})?;
        if !report.ok() {
            let first = &report.problems[0];
            out.push(
                Anomaly::new("audit_tampered", &first.device, now)
                    .with("problems", report.problems.len() as u64)
                    .with("first_seq", first.seq)
                    .with("detail", first.detail.as_str()),
            );
        }
        let edited = self.rows_edited_outside()?;
        if edited > 0 {
            out.push(
                Anomaly::new("store_changed_outside", &self.device, now)
                    .with("rows", edited)
                    .with(
                        "detail",
                        "record rows were edited outside pvault; run verify",
                    ),
            );
        }
        out.sort_by_key(|a| a.at);
        Ok(out)
    }
}
