//! The client side of the agent protocol: one typed method per request.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::proto::{
    AgentError, Answer, Frame, Request, Response, SecretString, decode_frame, read_frame_bytes,
    write_frame,
};
use crate::ops::{Op, Reply};
use crate::session::SessionStatus;

/// A connection to a running agent.
pub struct AgentClient {
    stream: UnixStream,
}

fn unavailable(e: impl std::fmt::Display) -> AgentError {
    AgentError::new("unavailable", format!("the agent stopped answering: {e}"))
}

fn unexpected(answer: Answer) -> AgentError {
    AgentError::new(
        "failed",
        format!("unexpected answer from the agent: {answer:?}"),
    )
}

impl AgentClient {
    /// Connects to the agent of `home`, if one is running. A socket nobody listens on (a dead agent's)
    /// counts as no agent.
    pub fn connect(home: &Path) -> Option<AgentClient> {
        let path = super::socket_path(home).ok()?;
        let stream = UnixStream::connect(path).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(300)))
            .ok()?;
        Some(AgentClient { stream })
    }

    /// Sends a request and waits for its answer.
    pub fn call(&mut self, req: Request) -> Result<Answer, AgentError> {
        write_frame(&mut self.stream, &Frame::new(req)).map_err(unavailable)?;
        let body = read_frame_bytes(&mut self.stream)
            .map_err(unavailable)?
            .ok_or_else(|| unavailable("connection closed"))?;
        match decode_frame::<Response>(&body)? {
            Response::Ok(answer) => Ok(answer),
            Response::Err(e) => Err(e),
        }
    }

    /// The agent's protocol version and process id.
    pub fn hello(&mut self) -> Result<(u32, u32), AgentError> {
        match self.call(Request::Hello)? {
            Answer::Hello { protocol, pid } => Ok((protocol, pid)),
            other => Err(unexpected(other)),
        }
    }

    /// Hands a profile's unlocked keys (transfer bytes, hex) to the agent.
    pub fn unlock(&mut self, profile: &str, keys: SecretString) -> Result<(), AgentError> {
        match self.call(Request::Unlock {
            profile: profile.into(),
            keys,
        })? {
            Answer::Unlocked { .. } => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Locks one profile, or every one; returns those it locked.
    pub fn lock(&mut self, profile: Option<&str>) -> Result<Vec<String>, AgentError> {
        match self.call(Request::Lock {
            profile: profile.map(str::to_string),
        })? {
            Answer::Locked { profiles } => Ok(profiles),
            other => Err(unexpected(other)),
        }
    }

    /// The unlocked profiles.
    pub fn status(&mut self) -> Result<Vec<SessionStatus>, AgentError> {
        match self.call(Request::Status)? {
            Answer::Status { sessions } => Ok(sessions),
            other => Err(unexpected(other)),
        }
    }

    /// Starts a re-authentication: the challenge to answer.
    pub fn challenge(&mut self, profile: &str) -> Result<[u8; 32], AgentError> {
        match self.call(Request::Challenge {
            profile: profile.into(),
        })? {
            Answer::Challenge { challenge } => {
                let mut c = [0u8; 32];
                hex::decode_to_slice(&challenge, &mut c).map_err(|_| {
                    AgentError::new("failed", "unexpected challenge from the agent".into())
                })?;
                Ok(c)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Completes a re-authentication with the proof answering the last challenge.
    pub fn reauthenticate(&mut self, profile: &str, proof: &[u8]) -> Result<(), AgentError> {
        match self.call(Request::Reauth {
            profile: profile.into(),
            proof: hex::encode(proof),
        })? {
            Answer::Reauthenticated { .. } => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Runs an operation on a profile the agent holds unlocked.
    pub fn run(&mut self, profile: &str, op: Op) -> Result<Reply, AgentError> {
        match self.call(Request::Run {
            profile: profile.into(),
            op,
        })? {
            Answer::Done { reply } => Ok(*reply),
            other => Err(unexpected(other)),
        }
    }

    /// Starts or stops the background sync of a profile; whether it now runs.
    pub fn watch(&mut self, profile: &str, on: bool) -> Result<bool, AgentError> {
        match self.call(Request::Watch {
            profile: profile.into(),
            on,
        })? {
            Answer::Watching { on } => Ok(on),
            other => Err(unexpected(other)),
        }
    }

    /// Locks everything and ends the agent.
    pub fn stop(&mut self) -> Result<(), AgentError> {
        match self.call(Request::Stop)? {
            Answer::Stopping => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}
