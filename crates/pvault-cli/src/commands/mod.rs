//! One module per group of subcommands. Each parses nothing and decides nothing: it calls the
//! library and returns what came back, for `output` to print.

pub mod agent;
pub mod audit;
pub mod backup;
pub mod migrate;
pub mod profile;
pub mod quickstart;
pub mod records;
pub mod sync;

use anyhow::Result;
use pvault_core::{Error, Pvault, Vault};

use crate::cli::Global;
use crate::secrets;

/// Unlocks the selected profile, taking the password (and Secret Key when needed) from the
/// usual sources; asks for the Secret Key at the terminal when the profile requires it.
pub fn unlock(pv: &Pvault, g: &Global) -> Result<Vault> {
    let summary = pv.resolve(g.profile.as_deref())?;
    let mut creds = secrets::credentials(g, &summary.name)?;
    match pv.unlock(Some(&summary.name), &creds) {
        Err(Error::SecretKeyRequired(name)) if creds.secret_key.is_none() => {
            creds.secret_key = Some(secrets::prompt_secret_key(&name)?);
            Ok(pv.unlock(Some(&summary.name), &creds)?)
        }
        other => Ok(other?),
    }
}
