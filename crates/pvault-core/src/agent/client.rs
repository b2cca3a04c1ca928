//! The client side of the agent protocol.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::proto::{AgentError, Request, Response, read_frame, write_frame};

/// A connection to a running agent.
pub struct AgentClient {
    stream: UnixStream,
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
    pub fn call(&mut self, req: &Request) -> Result<Value, AgentError> {
        let unavailable = |e: std::io::Error| AgentError {
            kind: "unavailable".into(),
            message: format!("the agent stopped answering: {e}"),
            classification: None,
        };
        write_frame(&mut self.stream, req).map_err(unavailable)?;
        let resp: Response = read_frame(&mut self.stream)
            .map_err(unavailable)?
            .ok_or_else(|| unavailable(std::io::Error::other("connection closed")))?;
        match resp.error {
            Some(e) => Err(e),
            None => Ok(resp.result),
        }
    }
}
