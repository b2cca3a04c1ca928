//! Conflicts kept for the user, and versions set aside by a resolution, brought back on request.

use crate::audit::{Event, EventKind};
use pvault_crypto::Classification;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::{self, Row, WriteTx};
use crate::vault::Vault;

/// One side of a conflict, decrypted. SECRET and TOP_SECRET data is shown only after a
/// re-authentication.
#[derive(Clone, Debug, Serialize)]
pub struct ConflictSide {
    /// The fields (`null` when deleted or hidden).
    pub data: Value,
    /// Deleted on this side.
    pub deleted: bool,
    /// Classification.
    pub classification: Classification,
    /// Revision (hybrid logical clock).
    pub revision: u64,
    /// Device that wrote it.
    pub device: String,
    /// Data withheld until a re-authentication.
    pub hidden: bool,
}

/// A conflict kept for the user.
#[derive(Clone, Debug, Serialize)]
pub struct ConflictInfo {
    /// Conflict id.
    pub id: i64,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// When it was found, Unix milliseconds.
    pub at: i64,
    /// The strategy in force.
    pub strategy: String,
    /// This device's version, set aside.
    pub local: ConflictSide,
    /// The record as it is now (the other device's version, unless changed since).
    pub current: Option<ConflictSide>,
}

/// Which version a resolution keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// This device's version becomes the record again.
    Local,
    /// The record stays as it is; this device's version is dropped (it stays in the history).
    Remote,
    /// The record stays as it is, and this device's version becomes a new record `ID.conflict-N`.
    Both,
}

fn side(vault: &Vault, row: &Row, id: &str) -> Result<ConflictSide> {
    let v = vault.read_version(row, id)?;
    let hidden = v.classification >= Classification::Secret && !vault.reauth_valid();
    Ok(ConflictSide {
        deleted: v.data.is_none(),
        data: if hidden {
            Value::Null
        } else {
            v.data.unwrap_or(Value::Null)
        },
        classification: v.classification,
        revision: v.revision,
        device: v.device,
        hidden,
    })
}

/// Open conflicts, oldest first.
pub fn conflicts(vault: &Vault) -> Result<Vec<ConflictInfo>> {
    let conn = vault.conn();
    let mut out = Vec::new();
    for c in store::open_conflicts(conn, None)? {
        let (row, id) = vault.open_item(&c.rid, is_tombstone(&c.local_item), &c.local_item)?;
        let current = match store::get_row(conn, &c.collection, &c.rid)? {
            Some(r) => Some(side(vault, &r, &id)?),
            None => None,
        };
        out.push(ConflictInfo {
            id: c.id,
            collection: c.collection,
            local: side(vault, &row, &id)?,
            record_id: id,
            at: c.at,
            strategy: c.strategy,
            current,
        });
    }
    Ok(out)
}

fn is_tombstone(item: &[u8]) -> bool {
    crate::replica::item_is_tombstone(item)
}

/// Writes `data` (or a deletion) over the record's current state as a new local edit, to be pushed.
fn write_over(
    vault: &Vault,
    tx: &WriteTx<'_>,
    collection: &str,
    id: &str,
    data: Option<Value>,
    classification: Classification,
    after: u64,
) -> Result<()> {
    let rid = &vault.row_key(collection, id);
    let current = store::get_row(tx, collection, rid)?;
    let base = store::sync_point_of(tx, collection, rid)?.map_or_else(Default::default, |(p, _)| p);
    let after = after.max(current.as_ref().map_or(0, |r| r.revision));
    if data.is_none() && current.as_ref().is_none_or(|r| r.deleted) {
        return Ok(());
    }
    vault.write_resolved(tx, collection, id, (data, classification), &base, after)
}

/// What settling a conflict did.
#[derive(Clone, Debug, Serialize)]
pub struct Resolved {
    /// The record's collection.
    pub collection: String,
    /// The record's id.
    pub id: String,
    /// Which version stays the record.
    pub kept: Keep,
    /// With `Keep::Both`: the id this device's version now has.
    pub copy_id: Option<String>,
}

/// Settles an open conflict.
pub fn resolve_conflict(vault: &Vault, conflict: i64, keep: Keep) -> Result<Resolved> {
    let conn = vault.conn();
    let c = store::open_conflicts(conn, Some(conflict))?
        .pop()
        .ok_or(Error::UnknownConflict(conflict))?;
    let (row, id) = vault.open_item(&c.rid, is_tombstone(&c.local_item), &c.local_item)?;
    let local = vault.read_version(&row, &id)?;
    let tx = WriteTx::begin(conn)?;
    let record = Some((c.collection.as_str(), &c.rid));
    let copy_id = match keep {
        Keep::Local => {
            let lost = store::get_row(&tx, &c.collection, &c.rid)?
                .map(|r| vault.seal_item(&r))
                .transpose()?;
            write_over(
                vault,
                &tx,
                &c.collection,
                &id,
                local.data,
                local.classification,
                row.revision,
            )?;
            store::add_history(
                &tx,
                "resolved",
                record,
                &format!(
                    "conflict #{conflict}: this device's version kept; the other is set aside"
                ),
                lost.as_deref(),
            )?;
            None
        }
        Keep::Remote => {
            store::add_history(
                &tx,
                "resolved",
                record,
                &format!(
                    "conflict #{conflict}: the other device's version kept; this device's is set aside"
                ),
                Some(&c.local_item),
            )?;
            None
        }
        Keep::Both => {
            let copy_id = format!(
                "{}.conflict-{conflict}",
                id.chars().take(100).collect::<String>()
            );
            if let Some(data) = local.data {
                write_over(
                    vault,
                    &tx,
                    &c.collection,
                    &copy_id,
                    Some(data),
                    local.classification,
                    row.revision,
                )?;
            }
            store::add_history(
                &tx,
                "resolved",
                record,
                &format!("conflict #{conflict}: both kept; this device's version is now {copy_id}"),
                None,
            )?;
            Some(copy_id)
        }
    };
    store::close_conflict(&tx, conflict)?;
    let mut event = Event::new(EventKind::ConflictResolved)
        .with("conflict", conflict)
        .with("collection", c.collection.as_str())
        .with("id", id.as_str())
        .with("kept", format!("{keep:?}").to_lowercase());
    if let Some(copy) = &copy_id {
        event = event.with("copy_id", copy.as_str());
    }
    vault.record(&tx, event)?;
    tx.commit()?;
    Ok(Resolved {
        collection: c.collection,
        id,
        kept: keep,
        copy_id,
    })
}

/// Brings back a version that a resolution set aside, as a new edit of its record. Returns the
/// collection and record id.
pub fn restore(vault: &Vault, entry: i64) -> Result<(String, String)> {
    let conn = vault.conn();
    let (rid, item) = store::lost_item(conn, entry)?.ok_or(Error::NothingToRestore(entry))?;
    let (row, id) = vault.open_item(&rid, is_tombstone(&item), &item)?;
    let v = vault.read_version(&row, &id)?;
    let tx = WriteTx::begin(conn)?;
    write_over(
        vault,
        &tx,
        &row.collection,
        &id,
        v.data,
        v.classification,
        row.revision,
    )?;
    store::add_history(
        &tx,
        "restored",
        Some((row.collection.as_str(), &rid)),
        &format!("version from history entry #{entry} restored"),
        None,
    )?;
    tx.commit()?;
    Ok((row.collection, id))
}

/// A version that a resolution set aside (an entry of the sync history).
#[derive(Clone, Debug, Serialize)]
pub struct SetAside {
    /// Collection.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// The version.
    pub version: ConflictSide,
}

/// Shows the version a history entry set aside, without restoring it.
pub fn set_aside(vault: &Vault, entry: i64) -> Result<SetAside> {
    let (rid, item) =
        store::lost_item(vault.conn(), entry)?.ok_or(Error::NothingToRestore(entry))?;
    let (row, id) = vault.open_item(&rid, is_tombstone(&item), &item)?;
    Ok(SetAside {
        collection: row.collection.clone(),
        version: side(vault, &row, &id)?,
        record_id: id,
    })
}
