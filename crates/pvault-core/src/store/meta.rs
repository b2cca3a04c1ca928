//! The `meta` table: small named values of the store, and the names this crate uses.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// The hybrid logical clock's last revision.
pub(crate) const HLC: &str = "hlc";
/// The epoch writers must hold (a fence raised by rotation and by adopting epochs).
pub(crate) const KEY_ID: &str = "key_id";
/// The epoch an unfinished rotation is moving to (0: none).
pub(crate) const ROTATING: &str = "rotating";

/// The count of envelopes sealed under an epoch.
pub(crate) fn seals(key_id: u32) -> String {
    format!("seals/{key_id}")
}

/// `meta` key of the sync configuration (JSON).
pub(crate) const SYNC_CONFIG: &str = "sync/config";
/// `meta` key of the sealed device signing key.
pub(crate) const SYNC_DEVICE_KEY: &str = "sync/device_key";
/// `meta` key of the last pulled sequence number.
pub(crate) const SYNC_PULLED_SEQ: &str = "sync/pulled_seq";
/// `meta` key of the chain hash at the last pulled sequence number.
pub(crate) const SYNC_PULLED_HASH: &str = "sync/pulled_hash";
/// `meta` key of the SHA-256 of the key bundle last uploaded.
pub(crate) const SYNC_BUNDLE_HASH: &str = "sync/bundle_hash";
/// `meta` key of the highest key-bundle sequence number this device has seen (uploaded, adopted or
/// joined with): an older bundle from the server is a rollback.
pub(crate) const SYNC_BUNDLE_SEQ: &str = "sync/bundle_seq";
/// `meta` key of this device's Merkle frontier over the log it pulled (`pvault_proto::merkle`).
pub(crate) const SYNC_TREE: &str = "sync/tree";
/// `meta` key of the body of the checkpoint this device last published.
pub(crate) const SYNC_CHECKPOINT: &str = "sync/checkpoint";
/// `meta` key set once this device's certificate is on the server.
pub(crate) const SYNC_CERTIFIED: &str = "sync/certified";
/// `meta` key of the time of the last completed sync (Unix ms).
pub(crate) const SYNC_LAST_SYNC: &str = "sync/last_sync";
/// Size of this device's audit checkpoint last published, and the server sequence it got.
pub(crate) const SYNC_AUDIT_CHECKPOINT: &str = "sync/audit_checkpoint";
pub(crate) const SYNC_AUDIT_CHECKPOINT_SEQ: &str = "sync/audit_checkpoint_seq";

/// Set by the migration that introduced row tags when the store had rows: they are tagged at the
/// next unlock.
pub(crate) const ROWS_UNTAGGED: &str = "rows/untagged";

/// Removes a `meta` value.
pub(crate) fn delete_meta(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    pvault_model::hlc::wall_ms() as i64
}

/// Reads an integer from `meta`.
pub fn meta_u64(conn: &Connection, key: &str) -> Result<u64> {
    let v: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    Ok(v.unwrap_or(0) as u64)
}

/// Writes an integer to `meta`.
pub fn set_meta_u64(conn: &Connection, key: &str, value: u64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    )?
    .execute(params![key, value as i64])?;
    Ok(())
}

/// A `meta` value as bytes.
pub(crate) fn meta_bytes(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Sets a `meta` value.
pub(crate) fn set_meta_bytes(conn: &Connection, key: &str, value: &[u8]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// The integer `meta` values whose keys start with `prefix`, as `(key, value)`.
pub(crate) fn meta_with_prefix(conn: &Connection, prefix: &str) -> Result<Vec<(String, u64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM meta WHERE substr(key, 1, ?2) = ?1")?;
    let rows = stmt
        .query_map(params![prefix, prefix.len() as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Deletes the `meta` values whose keys start with `prefix`.
pub(crate) fn delete_meta_prefix(conn: &Connection, prefix: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM meta WHERE substr(key, 1, ?2) = ?1",
        params![prefix, prefix.len() as i64],
    )?;
    Ok(())
}
