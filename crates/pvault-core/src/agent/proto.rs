//! The agent's wire protocol: length-prefixed JSON frames (u32 big-endian length, then JSON), one
//! request and one response at a time. Frames are read into memory that is zeroized afterwards, since
//! an unlock request carries keys.

use std::io::{Read, Write};

use pvault_crypto::Classification;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ops::{Op, Reply};
use crate::session::SessionStatus;

/// Largest frame accepted (records are at most 1 MiB; listings can be larger).
pub const MAX_FRAME: usize = 64 << 20;

/// Protocol version, carried by every frame. Version 2: typed answers, records as [`Op`]s.
pub const PROTOCOL_VERSION: u32 = 2;

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

/// A request to the agent: managing the sessions it holds, or running an [`Op`] on one of them.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "req", rename_all = "snake_case", deny_unknown_fields)]
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
    /// Run an operation on an unlocked profile.
    Run { profile: String, op: Op },
    /// Start or stop syncing a profile in the background.
    Watch { profile: String, on: bool },
    /// Lock everything and exit.
    Stop,
}

/// The agent's answer to a successful request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    /// To `Hello`.
    Hello { protocol: u32, pid: u32 },
    /// To `Unlock`.
    Unlocked { profile: String },
    /// To `Lock`: the profiles it locked.
    Locked { profiles: Vec<String> },
    /// To `Status`.
    Status { sessions: Vec<SessionStatus> },
    /// To `Challenge` (hex).
    Challenge { challenge: String },
    /// To `Reauth`.
    Reauthenticated { profile: String },
    /// To `Run`.
    Done { reply: Box<Reply> },
    /// To `Watch`: whether it now syncs in the background.
    Watching { on: bool },
    /// To `Stop`.
    Stopping,
}

/// An error from the agent, with the kinds a client reacts to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgentError {
    /// `locked`, `reauth_required`, `unavailable`, `version` or `failed`.
    pub kind: String,
    /// A sentence for the user.
    pub message: String,
    /// The engine's [`crate::Error::code`], when the error came from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The profile it is about, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// For `reauth_required`: the record's classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
}

impl AgentError {
    /// An error of the agent protocol itself (not of the engine).
    pub fn new(kind: &str, message: String) -> Self {
        AgentError {
            kind: kind.into(),
            message,
            code: None,
            profile: None,
            classification: None,
        }
    }

    /// An engine error, carried across the socket with its code and profile.
    pub fn from_engine(e: &crate::Error) -> Self {
        let kind = match e.kind() {
            crate::ErrorKind::Locked => "locked",
            crate::ErrorKind::ReauthRequired => "reauth_required",
            _ => "failed",
        };
        AgentError {
            kind: kind.into(),
            message: e.to_string(),
            code: Some(e.code().into()),
            profile: e.profile().map(str::to_string),
            classification: match e {
                crate::Error::ReauthRequired { classification, .. } => Some(*classification),
                _ => None,
            },
        }
    }
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AgentError {}

/// One message on the socket, either way: the protocol version and the message. A peer that sees
/// another version refuses the message and says so.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame<T> {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub v: u32,
    /// The message.
    pub msg: T,
}

impl<T> Frame<T> {
    /// A message of this version.
    pub fn new(msg: T) -> Self {
        Frame {
            v: PROTOCOL_VERSION,
            msg,
        }
    }
}

/// The agent's response: an answer or an error.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// The request succeeded.
    Ok(Answer),
    /// The request failed.
    Err(AgentError),
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
    match read_frame_bytes(r)? {
        None => Ok(None),
        Some(body) => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
    }
}

/// Reads one frame's bytes (zeroized when dropped); `Ok(None)` at a clean end of stream.
pub fn read_frame_bytes(r: &mut impl Read) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
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
    Ok(Some(body))
}

/// Decodes a frame of this protocol version; for a frame of another version, an error that says
/// which (so an agent and a client from different pvault versions explain themselves).
pub fn decode_frame<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AgentError> {
    #[derive(Deserialize)]
    struct Version {
        v: Option<u32>,
    }
    let e = match serde_json::from_slice::<Frame<T>>(body) {
        Ok(frame) if frame.v == PROTOCOL_VERSION => return Ok(frame.msg),
        Ok(frame) => return Err(version_mismatch(Some(frame.v))),
        Err(e) => e,
    };
    // Only a frame that does not decode is read again, for the version it names.
    let v = serde_json::from_slice::<Version>(body)
        .ok()
        .and_then(|v| v.v);
    match v {
        Some(v) if v != PROTOCOL_VERSION => Err(version_mismatch(Some(v))),
        None => Err(version_mismatch(None)),
        Some(_) => Err(AgentError::new("failed", format!("bad message: {e}"))),
    }
}

fn version_mismatch(v: Option<u32>) -> AgentError {
    let theirs = v.map_or("an older protocol".to_string(), |v| format!("protocol {v}"));
    AgentError::new(
        "version",
        format!(
            "the agent and this command are from different versions of pvault (protocol \
             {PROTOCOL_VERSION} here, {theirs} there): stop the agent and try again"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_limits_hold() {
        let mut buf = Vec::new();
        let get = Op::Get {
            collection: "c".into(),
            id: "i".into(),
        };
        write_frame(
            &mut buf,
            &Frame::new(Request::Run {
                profile: "a".into(),
                op: get,
            }),
        )
        .unwrap();
        let back: Frame<Request> = read_frame(&mut buf.as_slice()).unwrap().unwrap();
        assert_eq!(back.v, PROTOCOL_VERSION);
        assert!(matches!(back.msg, Request::Run { op: Op::Get { ref id, .. }, .. } if id == "i"));
        let empty: Option<Frame<Request>> = read_frame(&mut [].as_slice()).unwrap();
        assert!(empty.is_none());
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        assert!(read_frame::<Frame<Request>>(&mut huge.as_slice()).is_err());
        let mut bad = Vec::new();
        let unknown =
            serde_json::json!({"v": 2, "msg": {"req": "lock", "profile": null, "nope": 1}});
        write_frame(&mut bad, &unknown).unwrap();
        assert!(read_frame::<Frame<Request>>(&mut bad.as_slice()).is_err());
        let err = decode_frame::<Request>(&serde_json::to_vec(&unknown).unwrap()).unwrap_err();
        assert_eq!(err.kind, "failed", "{err:?}");
        let old = decode_frame::<Request>(br#"{"op":"status"}"#).unwrap_err();
        assert_eq!(old.kind, "version");
        let newer = decode_frame::<Request>(br#"{"v":3,"msg":{"req":"status"}}"#).unwrap_err();
        assert!(newer.message.contains("protocol 3 there"), "{newer:?}");
    }
}
