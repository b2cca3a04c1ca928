//! JSON bodies of the control endpoints. Paths (all under `/v1`):
//!
//! | method and path | signed by | body → answer |
//! |---|---|---|
//! | `POST /v1/accounts` | account key | [`RegisterAccount`] → [`AccountInfo`] |
//! | `GET /v1/accounts/{username}/prelogin` | nobody | → [`Prelogin`] |
//! | `POST /v1/accounts/{username}/devices` | account key | [`NewDevice`] → [`JoinResponse`] |
//! | `GET /v1/profiles/{account}` | device | → [`AccountInfo`] |
//! | `GET /v1/profiles/{account}/bundle` | device | → [`Bundle`] |
//! | `PUT /v1/profiles/{account}/bundle` | device | [`PutBundle`] → [`Bundle`] |
//! | `DELETE /v1/profiles/{account}/devices/{device}` | device | → [`AccountInfo`] |
//! | `PUT /v1/profiles/{account}/devices/{device}/certificate` | that device | [`DeviceCertificate`] → [`AccountInfo`] |
//! | `POST /v1/profiles/{account}/push` | device | [`crate::batch::PushRequest`] → [`crate::batch::PushResult`] |
//! | `GET /v1/profiles/{account}/pull?since=N&limit=M` | device | → [`crate::batch::PullPage`] |
//! | `GET /v1/profiles/{account}/proof?from=M&to=N` | device | → [`TreeProof`] |
//! | `PUT /v1/profiles/{account}/checkpoint` | device | [`PutCheckpoint`] → [`DeviceCheckpoint`] |
//! | `GET /v1/profiles/{account}/checkpoints` | device | → [`Checkpoints`] |
//! | `GET /v1/profiles/{account}/ws` | device | WebSocket of [`Announce`] |
//!
//! Errors are answered with a 4xx or 5xx status and an [`ErrorBody`].
//!
//! The server stores checkpoints and device certificates as opaque strings: it never reads them.
//! Clients sign them (`crate::checkpoint`) and check each other's; the server only keeps the latest
//! checkpoint of each device and hands them all out, so devices can compare the trees they saw.

use serde::{Deserialize, Serialize};

use crate::{ProtoError, Result};

/// Largest key bundle or KDF description the server keeps.
pub const MAX_BUNDLE_BYTES: usize = 256 << 10;

/// Largest device certificate the server keeps.
pub const MAX_CERTIFICATE_BYTES: usize = 4096;

/// A new account: one profile, its first device.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RegisterAccount {
    pub username: String,
    /// The profile id, 32 hex digits.
    pub account_id: String,
    /// The account's Ed25519 public key, base64.
    pub account_key: String,
    /// What a new device needs to derive the KEK (the KDF algorithm, parameters and salt): opaque.
    pub kdf: String,
    /// The wrapped key bundle (every secret in it sealed under the KEK): opaque.
    pub bundle: String,
    pub device: NewDevice,
}

/// A device to add.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// 32 hex digits.
    pub device_id: String,
    /// The device's Ed25519 public key, base64.
    pub device_key: String,
    /// A name for lists, e.g. the host name.
    pub name: String,
}

/// What anyone may learn of an account: enough to derive a KEK, nothing that checks a guess.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Prelogin {
    pub account_id: String,
    pub kdf: String,
}

/// Answer to a join: the key bundle to open with the password and Secret Key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JoinResponse {
    pub account: AccountInfo,
    pub bundle: Bundle,
}

/// The wrapped key bundle and its version (bumped by every replacement).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub version: u64,
    pub kdf: String,
    pub bundle: String,
}

/// Replaces the bundle (after a password change or a key rotation), if it is still at
/// `expected_version`. With a changed password the account key changes too.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PutBundle {
    pub expected_version: u64,
    pub kdf: String,
    pub bundle: String,
    pub account_key: Option<String>,
}

/// An account as its devices see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountInfo {
    pub account_id: String,
    pub username: String,
    pub head_seq: u64,
    pub bundle_version: u64,
    pub records: u64,
    pub quota: Quota,
    pub devices: Vec<DeviceInfo>,
}

/// Limits the server enforces per account.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub max_records: u64,
    pub max_blob_bytes: u64,
    pub max_batch_items: u64,
    pub max_batch_bytes: u64,
}

/// A device of an account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo {
    pub device_id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last authenticated request.
    pub last_seen: u64,
    pub revoked: bool,
    /// The device's Ed25519 public key, base64, as registered.
    pub device_key: String,
    /// The certificate the device published for itself ([`DeviceCertificate`]), if any: opaque to
    /// the server.
    #[serde(default)]
    pub certificate: Option<String>,
}

/// A device's certificate for itself: a signed note made by the client, opaque to the server, at
/// most [`MAX_CERTIFICATE_BYTES`]. Only the device itself may set it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceCertificate {
    pub certificate: String,
}

/// A consistency proof between two sizes of the account's log (RFC 9162 section 2.1.4), with the
/// roots of both trees. Hashes are lowercase hex.
///
/// Checked with [`crate::merkle::verify_consistency`]: `from = 0` has an empty proof and the
/// empty tree's root ([`crate::merkle::empty_root`]); `from = to` an empty proof and equal roots.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TreeProof {
    pub from: u64,
    pub to: u64,
    /// The root of the tree of the first `from` changes.
    pub root_from: String,
    /// The root of the tree of the first `to` changes.
    pub root_to: String,
    pub proof: Vec<String>,
}

/// Publishes the authenticated device's latest checkpoint (a signed note, at most
/// [`crate::checkpoint::MAX_NOTE_BYTES`]), replacing its previous one. Opaque to the server.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PutCheckpoint {
    pub note: String,
}

/// A device's latest checkpoint, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceCheckpoint {
    /// 32 hex digits.
    pub device_id: String,
    pub note: String,
    /// Unix seconds when the server stored it.
    pub updated_at: u64,
    /// With `GET checkpoints?to=N`: the consistency proof from the size the note names to `N`
    /// (absent when the note names no size the server can read, or one beyond `N` or its head).
    /// It saves the client a request; the client verifies it like any proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<TreeProof>,
}

/// The latest checkpoint of every device of the account that published one, revoked devices
/// included (what to make of those is the client's decision).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Checkpoints {
    pub checkpoints: Vec<DeviceCheckpoint>,
}

/// A WebSocket message from the server: the profile's log reached `seq`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Announce {
    pub seq: u64,
}

/// The body of every error answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// A stable code, e.g. `replayed_request`, `device_revoked`, `quota_exceeded`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// Checks a username: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn validate_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ProtoError::Invalid(
            "username (use 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit)",
        ))
    }
}

/// Checks a device name: 1 to 128 printable characters.
pub fn validate_device_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(ProtoError::Invalid(
            "device name (1-128 printable characters)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["alice", "a", "work.profile-2", "0_x"] {
            validate_username(ok).unwrap();
        }
        for bad in ["", "Alice", "-a", "a b", "é", &"a".repeat(65)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }
}
