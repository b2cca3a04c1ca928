//! Security classification of a record (the seed's `SecurityClassification`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How sensitive a record is. The level is bound into the envelope's associated data, so changing it
/// on disk makes the record fail to open; it also picks the number of encryption layers and whether
/// reading needs a fresh re-authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Classification {
    /// Nothing secret about it, but it still lives in the encrypted store.
    Public = 0,
    /// The default for ordinary records.
    Internal = 1,
    /// Two layers of encryption (cascade).
    Confidential = 2,
    /// Two layers, and the password is asked again before the record is shown.
    Secret = 3,
    /// Two layers, and the password is asked again before the record is shown.
    TopSecret = 4,
}

impl Classification {
    /// Every level, lowest first.
    pub const ALL: [Classification; 5] = [
        Classification::Public,
        Classification::Internal,
        Classification::Confidential,
        Classification::Secret,
        Classification::TopSecret,
    ];

    /// The byte used in envelopes and on disk.
    pub fn as_byte(self) -> u8 {
        self as u8
    }

    /// Reads the on-disk byte back.
    pub fn from_byte(b: u8) -> Option<Self> {
        Self::ALL.get(usize::from(b)).copied()
    }

    /// CONFIDENTIAL and above are sealed twice, with independent keys and different ciphers.
    pub fn needs_cascade(self) -> bool {
        self >= Classification::Confidential
    }

    /// SECRET and above are only shown after the password is given again.
    pub fn needs_reauth(self) -> bool {
        self >= Classification::Secret
    }

    /// The canonical name, as accepted on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Classification::Public => "PUBLIC",
            Classification::Internal => "INTERNAL",
            Classification::Confidential => "CONFIDENTIAL",
            Classification::Secret => "SECRET",
            Classification::TopSecret => "TOP_SECRET",
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a classification name that is not one of the five levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownClassification(pub String);

impl fmt::Display for UnknownClassification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown classification '{}': expected one of PUBLIC, INTERNAL, CONFIDENTIAL, SECRET, TOP_SECRET",
            self.0
        )
    }
}

impl std::error::Error for UnknownClassification {}

impl FromStr for Classification {
    type Err = UnknownClassification;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        Self::ALL
            .into_iter()
            .find(|c| c.name() == norm)
            .ok_or_else(|| UnknownClassification(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!(
            "top-secret".parse::<Classification>().unwrap(),
            Classification::TopSecret
        );
        assert_eq!(
            "Confidential".parse::<Classification>().unwrap(),
            Classification::Confidential
        );
        let err = "secretish".parse::<Classification>().unwrap_err();
        assert!(err.to_string().contains("secretish"));
    }

    #[test]
    fn byte_round_trip_and_policy() {
        for c in Classification::ALL {
            assert_eq!(Classification::from_byte(c.as_byte()), Some(c));
        }
        assert_eq!(Classification::from_byte(5), None);
        assert!(!Classification::Internal.needs_cascade());
        assert!(Classification::Confidential.needs_cascade());
        assert!(!Classification::Confidential.needs_reauth());
        assert!(Classification::Secret.needs_reauth());
    }
}
