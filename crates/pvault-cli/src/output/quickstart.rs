//! What `pvault quickstart` answers.

use serde_json::json;

use super::Show;

/// `quickstart`: every step went well.
pub struct Done {
    pub profile: String,
    /// What each step said.
    pub steps: Vec<String>,
}

impl Show for Done {
    fn json(&self) -> String {
        json!({ "ok": true, "profile": self.profile, "steps": self.steps }).to_string()
    }

    /// Nothing more: the steps were printed as they happened.
    fn text(&self) -> String {
        String::new()
    }
}
