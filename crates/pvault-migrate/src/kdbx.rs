//! Placeholder until this format's reader lands.

use crate::{Error, Options, Parsed, Result};

pub(crate) fn read(_bytes: &[u8], _options: &Options) -> Result<Parsed> {
    Err(Error::NotFormat {
        expected: "a supported file",
        problem: "the kdbx reader is not built yet".into(),
    })
}
