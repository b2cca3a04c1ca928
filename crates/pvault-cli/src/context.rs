//! The options every command shares, resolved once: the global flags and the home they name.

use std::cell::OnceCell;

use anyhow::Result;
use pvault_core::Pvault;

use crate::cli::Global;

/// What a command runs with.
pub struct Ctx {
    /// The global flags (home, profile, --json, password sources).
    pub g: Global,
    home: OnceCell<Pvault>,
}

impl Ctx {
    /// The context of these flags; the home is opened when a command first asks for it.
    pub fn new(g: Global) -> Self {
        Ctx {
            g,
            home: OnceCell::new(),
        }
    }

    /// The home given by --home / PVAULT_HOME, or the platform default, opened once.
    pub fn pv(&self) -> Result<&Pvault> {
        if let Some(pv) = self.home.get() {
            return Ok(pv);
        }
        let root = match &self.g.home {
            Some(h) => h.clone(),
            None => pvault_core::Home::default_path()?,
        };
        let pv = Pvault::open(&root)?;
        Ok(self.home.get_or_init(|| pv))
    }
}
