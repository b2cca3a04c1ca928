//! Placeholder until this format's reader lands.

use crate::{Error, Parsed, Result};

pub(crate) fn read(_bytes: &[u8]) -> Result<Parsed> {
    Err(Error::NotFormat {
        expected: "a supported file",
        problem: "the bitwarden reader is not built yet".into(),
    })
}
