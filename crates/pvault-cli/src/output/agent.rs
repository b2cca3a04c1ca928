//! What `pvault agent --stop` answers, as text and as JSON.

use serde_json::json;

use super::Show;

/// `agent --stop`: whether an agent was running (and is now stopped).
pub struct Stopped(pub bool);

impl Show for Stopped {
    fn json(&self) -> String {
        json!({ "stopped": self.0 }).to_string()
    }

    fn text(&self) -> String {
        if self.0 {
            "agent stopped; every profile is locked".into()
        } else {
            "no agent is running".into()
        }
    }
}
