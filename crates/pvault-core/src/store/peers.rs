//! What this device knows of the profile's other devices through the sync server: their certified
//! keys (`sync_devices`) and their newest checkpoints found consistent (`sync_checkpoints`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// A device whose key was seen certified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerDevice {
    pub device: String,
    pub key: [u8; 32],
    pub certificate: String,
}

/// A checkpoint of another device, found consistent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerCheckpoint {
    pub device: String,
    pub size: u64,
    pub root: [u8; 32],
    pub note: String,
    pub at: i64,
}

/// What a check of the other devices found worth remembering (newly certified keys, checkpoints
/// found consistent), stored in the transaction that ends the sync.
#[derive(Default)]
pub(crate) struct PeersSeen {
    pub devices: Vec<PeerDevice>,
    pub checkpoints: Vec<PeerCheckpoint>,
}

impl PeersSeen {
    pub(crate) fn store(&self, conn: &Connection) -> Result<()> {
        for d in &self.devices {
            put_peer_device(conn, d)?;
        }
        for c in &self.checkpoints {
            put_peer_checkpoint(conn, c)?;
        }
        Ok(())
    }
}

fn key32(bytes: Vec<u8>) -> [u8; 32] {
    <[u8; 32]>::try_from(bytes.as_slice()).unwrap_or([0; 32])
}

/// The certified key of `device`, if one was seen.
pub(crate) fn peer_device(conn: &Connection, device: &str) -> Result<Option<PeerDevice>> {
    Ok(conn
        .prepare_cached("SELECT device, key, certificate FROM sync_devices WHERE device = ?1")?
        .query_row([device], |r| {
            Ok(PeerDevice {
                device: r.get(0)?,
                key: key32(r.get(1)?),
                certificate: r.get(2)?,
            })
        })
        .optional()?)
}

/// Remembers a certified key.
pub(crate) fn put_peer_device(conn: &Connection, peer: &PeerDevice) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sync_devices (device, key, certificate) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![peer.device, &peer.key[..], peer.certificate])?;
    Ok(())
}

/// The newest consistent checkpoint of every other device.
pub(crate) fn peer_checkpoints(conn: &Connection) -> Result<Vec<PeerCheckpoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, size, root, note, at FROM sync_checkpoints ORDER BY device",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PeerCheckpoint {
            device: r.get(0)?,
            size: r.get::<_, i64>(1)? as u64,
            root: key32(r.get(2)?),
            note: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records a consistent checkpoint of another device.
pub(crate) fn put_peer_checkpoint(conn: &Connection, c: &PeerCheckpoint) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sync_checkpoints (device, size, root, note, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![c.device, c.size as i64, &c.root[..], c.note, c.at])?;
    Ok(())
}

/// Forgets every peer (the profile stops syncing with that server).
pub(crate) fn forget_peers(conn: &Connection) -> Result<()> {
    conn.execute_batch("DELETE FROM sync_devices; DELETE FROM sync_checkpoints;")?;
    Ok(())
}
