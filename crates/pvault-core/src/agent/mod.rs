//! The per-user agent: holds unlocked profiles (a [`Sessions`](crate::Sessions)) and serves them to
//! the CLI over a Unix socket, like ssh-agent or rbw-agent.
//!
//! - One agent per user and home. Its socket is `$XDG_RUNTIME_DIR/pvault/agent-<home hash>.sock`
//!   (or `/tmp/pvault-<uid>/...`), in a directory of mode 0700 owned by the user; the socket is 0600 and
//!   every connection's peer uid is checked.
//! - The client runs the KDF and hands the unlocked keys over (as `ssh-add` does), so the agent never
//!   needs Argon2's memory and can lock all of its own; re-authentication is a challenge–response on the
//!   KEK, so no password crosses the socket.
//! - The agent is non-dumpable, tries to lock its memory, locks profiles after their idle time, on
//!   SIGTERM/SIGINT/SIGHUP and after a system suspend, and writes nothing but what the vault writes.

mod client;
mod proto;
mod server;

pub use client::AgentClient;
pub use proto::{
    AgentError, Answer, Frame, PROTOCOL_VERSION, Request, Response, SecretString, decode_frame,
    read_frame, read_frame_bytes, write_frame,
};
pub use server::{ServeOptions, serve};

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The directory holding agent sockets, created 0700 if missing and checked to be private.
pub fn runtime_dir() -> Result<PathBuf> {
    let uid = rustix::process::getuid();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("pvault"),
        None => std::env::temp_dir().join(format!("pvault-{}", uid.as_raw())),
    };
    crate::fsutil::create_private_dir(&dir)?;
    let meta = rustix::fs::stat(&dir).map_err(|e| Error::Home {
        path: dir.clone(),
        message: e.to_string(),
    })?;
    if meta.st_uid != uid.as_raw() || meta.st_mode & 0o077 != 0 {
        return Err(Error::Home {
            path: dir,
            message: "agent directory is not private (must be owned by you, mode 0700)".into(),
        });
    }
    Ok(dir)
}

/// The agent socket of a home.
pub fn socket_path(home: &Path) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
    let hash = pvault_crypto::sha256(canonical.as_os_str().as_encoded_bytes());
    Ok(runtime_dir()?.join(format!("agent-{}.sock", hex::encode(&hash[..8]))))
}
