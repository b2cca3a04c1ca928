//! How a device settles conflicts: a strategy for the profile, others per collection, and the
//! device ranking of `profile-priority`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::resolve::Strategy;

/// How this device settles conflicts: a strategy for the profile, others per collection, and the
/// device ranking of `profile-priority`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Policy {
    /// Strategy of collections without their own.
    pub default: Strategy,
    /// Strategies per collection.
    pub per_collection: BTreeMap<String, Strategy>,
    /// Device ids (as in records' `device`) in priority order for `profile-priority`.
    pub device_rank: Vec<String>,
}

impl Policy {
    /// The strategy of a collection.
    pub fn for_collection(&self, collection: &str) -> Strategy {
        self.per_collection
            .get(collection)
            .copied()
            .unwrap_or(self.default)
    }
}
