//! The agent's wire protocol: length-prefixed JSON frames (u32 big-endian length, then JSON), one
//! request and one response at a time. Frames are read into memory that is zeroized afterwards, since
//! an unlock request carries keys.

use std::io::{Read, Write};

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

/// Largest frame accepted (records are at most 1 MiB; listings can be larger).
pub const MAX_FRAME: usize = 64 << 20;

/// Protocol version, checked by `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// A string holding secret material (hex of transferred keys): zeroized on drop, never printed.
pub struct SecretString(pub Zeroizing<String>);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(..)")
    }
}

impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| SecretString(Zeroizing::new(s)))
    }
}

/// A request to the agent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Version check.
    Hello,
    /// Hold a profile unlocked with these keys (transfer bytes, hex).
    Unlock { profile: String, keys: SecretString },
    /// Lock one profile, or all of them.
    Lock { profile: Option<String> },
    /// Which profiles are unlocked.
    Status,
    /// Start a re-authentication.
    Challenge { profile: String },
    /// Finish a re-authentication with a proof (hex).
    Reauth { profile: String, proof: String },
    /// Write a record.
    Put {
        profile: String,
        collection: String,
        id: Option<String>,
        classification: Option<Classification>,
        data: Value,
    },
    /// Read a record.
    Get {
        profile: String,
        collection: String,
        id: String,
    },
    /// List a collection.
    List {
        profile: String,
        collection: String,
        filter: Option<(String, String)>,
    },
    /// Versions of a breakthrough.
    History {
        profile: String,
        collection: String,
        id: String,
    },
    /// Delete a record.
    Remove {
        profile: String,
        collection: String,
        id: String,
    },
    /// Verify a profile.
    Verify { profile: String },
    /// Sync a profile now.
    Sync { profile: String },
    /// Start or stop syncing a profile in the background.
    Watch { profile: String, on: bool },
    /// Lock everything and exit.
    Stop,
}

/// An error from the agent, with the kinds a client reacts to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentError {
    /// `locked`, `reauth_required`, `unavailable` or `failed`.
    pub kind: String,
    /// A sentence for the user.
    pub message: String,
    /// For `reauth_required`: the record's classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AgentError {}

/// A response: a result or an error.
#[derive(Debug, Serialize, Deserialize)]
pub struct Response {
    /// The result on success.
    #[serde(default)]
    pub result: Value,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AgentError>,
}

/// Writes one frame.
pub fn write_frame<T: Serialize>(w: &mut impl Write, value: &T) -> std::io::Result<()> {
    let body = Zeroizing::new(serde_json::to_vec(value).map_err(std::io::Error::other)?);
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("frame too large"))?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&body)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> std::io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame larger than the limit",
        ));
    }
    let mut body = Zeroizing::new(vec![0u8; len]);
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_limits_hold() {
        let mut buf = Vec::new();
        write_frame(
            &mut buf,
            &Request::Get {
                profile: "a".into(),
                collection: "c".into(),
                id: "i".into(),
            },
        )
        .unwrap();
        let back: Request = read_frame(&mut buf.as_slice()).unwrap().unwrap();
        assert!(matches!(back, Request::Get { ref id, .. } if id == "i"));
        let empty: Option<Request> = read_frame(&mut [].as_slice()).unwrap();
        assert!(empty.is_none());
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        assert!(read_frame::<Request>(&mut huge.as_slice()).is_err());
        let mut bad = Vec::new();
        write_frame(&mut bad, &serde_json::json!({"op": "get", "nope": 1})).unwrap();
        assert!(read_frame::<Request>(&mut bad.as_slice()).is_err());
    }
}
