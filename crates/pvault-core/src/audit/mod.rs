//! The audit log (the seed's SecurityVault tamper evidence and `auditVault`): every security event of a
//! profile, written in the same transaction as the action it records.
//!
//! Each device keeps its own hash chain of entries. An entry is the event sealed under the profile's
//! audit key (an envelope bound to profile and device, holding the device and position again so that
//! a moved entry is recognised), then
//!
//! ```text
//! hash(n) = link("pvault/audit/entry/v1", hash(n-1) or 32 zero bytes, device, n as u64 BE, entry)
//! mac(n)  = HMAC-SHA256(audit MAC key, hash(n))
//! ```
//!
//! so changing, moving or removing an entry breaks the chain, and rewriting the chain needs the audit
//! key. A [`checkpoint`] signed with the profile's identity key vouches for a chain's size and head;
//! a truncated tail is measured against the newest one, which other devices keep too. Events that
//! happen while the profile is locked (a failed unlock) are sealed to the profile's public key into an
//! inbox that anyone may add to and only the owner reads; the next unlock moves them into the chain.
//!
//! This room sits beside `store/`: it takes a connection (inside the caller's transaction) and the
//! keys, and knows nothing of vaults. `read` lists entries, `verify` checks them.

pub(crate) mod export;
pub(crate) mod read;
pub(crate) mod retention;
pub(crate) mod verify;

use std::collections::BTreeMap;

use pvault_crypto::{AuditKeys, Identity, ProfileId, PublicIdentity};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::{self, AuditRow, CheckpointRow};

pub use export::{AuditExport, ExportCheck, check_export};
pub use read::{AuditEntry, AuditFilter, AuditListing, AuditSummarised};
pub use verify::{AuditProblem, AuditReport, ProblemKind};

/// Domain of the entry chain.
const ENTRY_DOMAIN: &[u8] = b"pvault/audit/entry/v1";
/// Label under which locked-time events are sealed to the profile's public key.
pub(crate) const INBOX_LABEL: &str = "audit-inbox";

/// What happened. The names are the ones `pvault audit --kind` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum EventKind {
    /// The profile was created on this device.
    ProfileCreated,
    /// Unlocked (by the CLI, or handed to the agent).
    Unlocked,
    /// A wrong password or Secret Key was given (sealed while locked).
    UnlockFailed,
    /// Locked on request.
    Locked,
    /// Locked by the idle timer.
    AutoLocked,
    /// A re-authentication for SECRET and TOP_SECRET records succeeded.
    Reauthenticated,
    /// A re-authentication failed.
    ReauthFailed,
    /// The password changed.
    PasswordChanged,
    /// A key rotation began.
    RotationStarted,
    /// An interrupted key rotation was taken up again.
    RotationResumed,
    /// A key rotation finished (the old key destroyed).
    RotationFinished,
    /// Records were written (one entry per transaction).
    RecordsWritten,
    /// A record was deleted.
    RecordDeleted,
    /// Data left the profile in an export.
    Exported,
    /// Data came in by an import.
    Imported,
    /// A backup was made.
    Backup,
    /// A backup was restored.
    Restored,
    /// A record was shared.
    Shared,
    /// A share was revoked.
    Revoked,
    /// A sync ran (what it pushed, pulled, and the conflicts it met).
    Synced,
    /// A conflict was resolved by hand.
    ConflictResolved,
    /// A device joined the profile's sync.
    DeviceAdded,
    /// A device left the profile's sync.
    DeviceRemoved,
    /// A repair changed something.
    Repaired,
    /// An anomaly was raised.
    Anomaly,
    /// The store's format was upgraded.
    Migrated,
    /// The profile was deleted from a device.
    ProfileDeleted,
    /// A full verification ran (how many problems it found).
    Verified,
    /// Retention summarised the oldest entries of a chain.
    Summarised,
    /// A data migration's records were removed again.
    RolledBack,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 30] = [
        EventKind::ProfileCreated,
        EventKind::Unlocked,
        EventKind::UnlockFailed,
        EventKind::Locked,
        EventKind::AutoLocked,
        EventKind::Reauthenticated,
        EventKind::ReauthFailed,
        EventKind::PasswordChanged,
        EventKind::RotationStarted,
        EventKind::RotationResumed,
        EventKind::RotationFinished,
        EventKind::RecordsWritten,
        EventKind::RecordDeleted,
        EventKind::Exported,
        EventKind::Imported,
        EventKind::Backup,
        EventKind::Restored,
        EventKind::Shared,
        EventKind::Revoked,
        EventKind::Synced,
        EventKind::ConflictResolved,
        EventKind::DeviceAdded,
        EventKind::DeviceRemoved,
        EventKind::Repaired,
        EventKind::Anomaly,
        EventKind::Migrated,
        EventKind::ProfileDeleted,
        EventKind::Verified,
        EventKind::Summarised,
        EventKind::RolledBack,
    ];

    /// The kind's name (`unlock_failed`).
    pub fn as_str(self) -> &'static str {
        KIND_NAMES[self as usize]
    }

    /// Parses a kind's name.
    pub fn parse(name: &str) -> Result<EventKind> {
        EventKind::ALL
            .iter()
            .find(|k| k.as_str() == name)
            .copied()
            .ok_or_else(|| Error::UnknownEventKind {
                name: name.chars().take(40).collect(),
                known: KIND_NAMES.join(", "),
            })
    }

    /// Every kind's name.
    pub fn names() -> &'static [&'static str] {
        &KIND_NAMES
    }
}

/// The names of [`EventKind::ALL`], in the same order.
const KIND_NAMES: [&str; 30] = [
    "profile_created",
    "unlocked",
    "unlock_failed",
    "locked",
    "auto_locked",
    "reauthenticated",
    "reauth_failed",
    "password_changed",
    "rotation_started",
    "rotation_resumed",
    "rotation_finished",
    "records_written",
    "record_deleted",
    "exported",
    "imported",
    "backup",
    "restored",
    "shared",
    "revoked",
    "synced",
    "conflict_resolved",
    "device_added",
    "device_removed",
    "repaired",
    "anomaly",
    "migrated",
    "profile_deleted",
    "verified",
    "summarised",
    "rolled_back",
];

/// An event to record: its kind, when, and details (names, counts, ids; never a secret value).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// When, Unix milliseconds.
    pub at: i64,
    /// Details.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: BTreeMap<String, Value>,
}

impl Event {
    /// An event happening now.
    pub fn new(kind: EventKind) -> Self {
        Event {
            kind,
            at: store::now_ms(),
            detail: BTreeMap::new(),
        }
    }

    /// Adds a detail.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_string(), value.into());
        self
    }
}

/// What is sealed in an entry: the event and its place.
#[derive(Serialize, Deserialize)]
struct Sealed {
    device: String,
    seq: u64,
    #[serde(flatten)]
    event: Event,
}

/// The chain hash of entry `seq` of `device`.
pub(crate) fn entry_hash(previous: &[u8; 32], device: &str, seq: u64, entry: &[u8]) -> [u8; 32] {
    pvault_crypto::codec::link(
        ENTRY_DOMAIN,
        previous,
        &[device.as_bytes(), &seq.to_be_bytes(), entry],
    )
}

fn hash32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap_or([0xff; 32])
}

/// The keys and place an unlocked profile writes its log with.
pub(crate) struct Log<'a> {
    pub keys: &'a AuditKeys,
    pub identity: &'a Identity,
    pub profile: &'a ProfileId,
    pub device: &'a str,
}

impl Log<'_> {
    /// Appends `event` to this device's chain, in the caller's transaction, with a signed checkpoint
    /// of the chain's new head in place of the one before (one signature per transaction that
    /// records something, so a tail cut off later is measured against it). Returns the position.
    pub(crate) fn append(&self, conn: &Connection, event: Event) -> Result<u64> {
        let (seq, previous) = match store::audit_head(conn, self.device)? {
            Some((seq, hash)) => (seq + 1, hash32(&hash)),
            None => (1, [0; 32]),
        };
        let sealed = Sealed {
            device: self.device.to_string(),
            seq,
            event,
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&sealed).expect("event serializes"));
        let entry = self.keys.seal(self.device, &plain)?;
        let hash = entry_hash(&previous, self.device, seq, &entry);
        store::add_audit(
            conn,
            &AuditRow {
                device: self.device.to_string(),
                seq,
                entry,
                hash: hash.to_vec(),
                mac: self.keys.mac(&hash).to_vec(),
            },
        )?;
        self.sign_checkpoint(conn, seq, hash)?;
        Ok(seq)
    }

    fn sign_checkpoint(&self, conn: &Connection, size: u64, hash: [u8; 32]) -> Result<()> {
        let at = store::now_ms();
        let text = checkpoint_text(self.profile, self.device, size, &hash, at);
        store::add_checkpoint(
            conn,
            &CheckpointRow {
                device: self.device.to_string(),
                size,
                hash: hash.to_vec(),
                at,
                signature: self.identity.sign(text.as_bytes()).to_vec(),
            },
        )?;
        self.prune_checkpoints(conn, self.device, size)
    }

    /// The newest checkpoint of a device vouches for its older ones, which are dropped, but only
    /// those that are genuine and agree with the chain: one that does not is evidence, kept for
    /// verify to name.
    fn prune_checkpoints(&self, conn: &Connection, device: &str, newest: u64) -> Result<()> {
        for old in store::checkpoints_of(conn, device)? {
            if old.size >= newest {
                continue;
            }
            let old_hash = hash32(&old.hash);
            let text = checkpoint_text(self.profile, device, old.size, &old_hash, old.at);
            let genuine = self.identity.verify_own(text.as_bytes(), &old.signature);
            let agrees =
                store::audit_hash_at(conn, device, old.size)?.is_some_and(|h| h == old.hash);
            if genuine && agrees {
                store::drop_checkpoint(conn, device, old.size)?;
            }
        }
        Ok(())
    }

    /// Takes in an entry of another device from the sync server. An entry this device already
    /// holds with other content is a fork (one of the two copies was rewritten): it is not
    /// stored, and the answer says so.
    pub(crate) fn receive_entry(&self, conn: &Connection, row: &AuditRow) -> Result<Received> {
        if store::summary_of(conn, &row.device)?.is_some_and(|s| row.seq <= s.upto) {
            // Already summarised here by retention.
            return Ok(Received::Known);
        }
        match store::audit_entry(conn, &row.device, row.seq)? {
            Some(held)
                if held.entry == row.entry && held.hash == row.hash && held.mac == row.mac =>
            {
                Ok(Received::Known)
            }
            Some(_) => Ok(Received::Differs),
            None => {
                store::add_received_audit(conn, row)?;
                Ok(Received::New)
            }
        }
    }

    /// Takes in another device's checkpoint from the sync server: kept beside the ones held, the
    /// older ones it vouches for dropped.
    pub(crate) fn receive_checkpoint(&self, conn: &Connection, c: &CheckpointRow) -> Result<()> {
        if store::summary_of(conn, &c.device)?.is_some_and(|s| c.size <= s.upto) {
            return Ok(());
        }
        store::add_checkpoint(conn, c)?;
        self.prune_checkpoints(conn, &c.device, c.size)
    }
}

/// What became of an entry received from the sync server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// Stored.
    New,
    /// Already held, the same.
    Known,
    /// Already held with other content: not stored.
    Differs,
}

/// The signed text of a checkpoint, in the form of a C2SP `tlog-checkpoint` body: an origin line
/// naming the log, the size, the head hash (base64), then an extension line with the time.
pub(crate) fn checkpoint_text(
    profile: &ProfileId,
    device: &str,
    size: u64,
    hash: &[u8; 32],
    at: i64,
) -> String {
    use base64::Engine;
    format!(
        "pvault.audit/{}/{device}\n{size}\n{}\nat {at}\n",
        profile.to_hex(),
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// Seals an event that happens while the profile is locked into its inbox: sealed to the
/// profile's public key, so it needs no password to write and only the owner can read it.
pub(crate) fn add_locked_event(
    conn: &Connection,
    public: &PublicIdentity,
    event: &Event,
) -> Result<()> {
    let plain = serde_json::to_vec(event).expect("event serializes");
    store::add_inbox(conn, &public.seal_to(INBOX_LABEL, &plain)?)
}

/// Moves the inbox into this device's chain (in the caller's transaction). An inbox entry that does
/// not open is not dropped silently: it becomes an anomaly entry. Returns how many failed unlocks
/// and re-authentications it held.
pub(crate) fn drain_inbox(conn: &Connection, log: &Log<'_>) -> Result<u64> {
    let inbox = store::inbox(conn)?;
    let Some((last, _)) = inbox.last() else {
        return Ok(0);
    };
    let mut failed = 0;
    for (_, sealed) in &inbox {
        let event = log
            .identity
            .open_sealed(INBOX_LABEL, sealed)
            .ok()
            .and_then(|plain| serde_json::from_slice::<Event>(&plain).ok())
            .map(|e| e.with("while_locked", true))
            .unwrap_or_else(|| {
                Event::new(EventKind::Anomaly)
                    .with("what", "inbox_entry_unreadable")
                    .with(
                        "detail",
                        "an event sealed while the profile was locked does not open",
                    )
            });
        if matches!(
            event.kind,
            EventKind::UnlockFailed | EventKind::ReauthFailed
        ) {
            failed += 1;
        }
        log.append(conn, event)?;
    }
    store::clear_inbox(conn, *last)?;
    Ok(failed)
}
