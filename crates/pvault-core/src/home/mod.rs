//! The home directory and its registry of profiles.
//!
//! ```text
//! HOME/
//!   registry.json            profiles (id, name, display name, level, created), current profile,
//!                            this device's id: no secrets
//!   .lock                    serializes changes to the registry
//!   profiles/<profile id>/
//!     key.json               the key file (every secret in it wrapped)
//!     store.db (+ -wal)      the encrypted SQLite store
//!     attempts.json          failed-unlock counters
//!     key.lock               serializes rewrites of key.json between processes
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use pvault_model::{Policy, SecurityLevel, Strategy};

/// File names inside a profile directory (see the layout above).
pub(crate) const KEY_FILE: &str = "key.json";
pub(crate) const STORE_FILE: &str = "store.db";
/// Marks a profile directory whose creation (an import) has not finished: removed unless registered.
pub(crate) const UNFINISHED_FILE: &str = "unfinished";
pub(crate) const ATTEMPTS_FILE: &str = "attempts.json";
pub(crate) const KEY_LOCK_FILE: &str = "key.lock";

/// Takes the lock that serializes rewrites of the key file in the profile directory `dir` between
/// processes, until the returned file is dropped. Held only while a key file is written, never
/// across another lock.
pub(crate) fn lock_key_file(dir: &Path) -> Result<File> {
    let path = dir.join(KEY_LOCK_FILE);
    let f = fsutil::open_lock_file(&path)?;
    f.lock().at(&path)?;
    Ok(f)
}

/// Registry format version this code reads and writes.
const REGISTRY_VERSION: i64 = 1;

/// What the registry says about one profile. Nothing in it is secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSummary {
    /// Random profile id (32 hex digits).
    pub id: String,
    /// Unique name (the seed's username), used on the command line.
    pub name: String,
    /// Free-form display name.
    pub display_name: String,
    /// Security level.
    pub security: SecurityLevel,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Per-profile overrides of the security level's defaults.
    #[serde(default)]
    pub settings: ProfileSettings,
}

/// Per-profile settings that override the security level's defaults. Not secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSettings {
    /// Idle time before the agent locks the profile, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_lock_secs: Option<u64>,
    /// How long a re-authentication shows SECRET and TOP_SECRET records, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_window_secs: Option<u64>,
    /// How long audit entries are kept before retention summarises them, in seconds (`None`: all
    /// are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_retention_secs: Option<u64>,
    /// How often the agent checks the unlocked profile for anomalies, in seconds (`None`: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_secs: Option<u64>,
    /// How sync settles conflicts in collections without their own strategy (default: timestamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_strategy: Option<Strategy>,
    /// Conflict strategies of single collections.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub collection_strategies: std::collections::BTreeMap<String, Strategy>,
    /// Device ids in priority order, for the `profile-priority` strategy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_rank: Vec<String>,
    /// The repository (a directory) the agent backs this profile up to on schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_repo: Option<String>,
    /// How often the agent backs it up, in seconds (`None`: no scheduled backups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_every_secs: Option<u64>,
    /// The retention policy applied after each scheduled backup (`daily=7,weekly=4,...`, see
    /// `backup::parse_keep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_keep: Option<String>,
}

impl ProfileSummary {
    /// How sync settles conflicts for this profile on this device.
    pub fn sync_policy(&self) -> Policy {
        Policy {
            default: self.settings.conflict_strategy.unwrap_or_default(),
            per_collection: self.settings.collection_strategies.clone(),
            device_rank: self.settings.device_rank.clone(),
        }
    }

    /// Idle time before the profile locks itself in the agent.
    pub fn auto_lock(&self) -> std::time::Duration {
        self.settings
            .auto_lock_secs
            .map(std::time::Duration::from_secs)
            .unwrap_or_else(|| self.security.auto_lock())
    }

    /// How long a re-authentication lasts.
    pub fn reauth_window(&self) -> std::time::Duration {
        self.settings
            .reauth_window_secs
            .map(std::time::Duration::from_secs)
            .unwrap_or(pvault_model::DEFAULT_REAUTH_WINDOW)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Registry {
    version: i64,
    device_id: String,
    current: Option<String>,
    profiles: Vec<ProfileSummary>,
}

/// A pvault home directory.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The platform default: `$XDG_DATA_HOME/pvault`, else `~/.local/share/pvault`.
    pub fn default_path() -> Result<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(x).join("pvault"));
        }
        match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => Ok(PathBuf::from(h).join(".local/share/pvault")),
            None => Err(Error::NoDefaultHome),
        }
    }

    /// Opens (creating if needed) a home directory.
    pub fn open(root: &Path) -> Result<Self> {
        fsutil::create_private_dir(&root.join("profiles"))?;
        let home = Home {
            root: root.to_path_buf(),
        };
        if !home.registry_path().exists() {
            let _lock = home.lock()?;
            if !home.registry_path().exists() {
                let reg = Registry {
                    version: REGISTRY_VERSION,
                    device_id: hex::encode(pvault_crypto::random::bytes::<8>()),
                    current: None,
                    profiles: Vec::new(),
                };
                home.save(&reg)?;
            }
        }
        home.load()?;
        Ok(home)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn registry_path(&self) -> PathBuf {
        self.root.join("registry.json")
    }

    /// Directory of one profile.
    pub fn profile_dir(&self, id: &str) -> PathBuf {
        self.root.join("profiles").join(id)
    }

    /// Takes the home's lock until the returned file is dropped.
    pub(crate) fn lock(&self) -> Result<File> {
        let path = self.root.join(".lock");
        let f = fsutil::open_lock_file(&path)?;
        f.lock().at(&path)?;
        Ok(f)
    }

    fn load(&self) -> Result<Registry> {
        let path = self.registry_path();
        let bytes = std::fs::read(&path).at(&path)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::Home {
            path: path.clone(),
            message: format!("registry is not valid JSON: {e}"),
        })?;
        let version = value.get("version").and_then(|v| v.as_i64()).unwrap_or(0);
        if version > REGISTRY_VERSION {
            return Err(Error::NewerFormat {
                what: path.display().to_string(),
                found: version,
                supported: REGISTRY_VERSION,
            });
        }
        serde_json::from_value(value).map_err(|e| Error::Home {
            path,
            message: format!("registry is damaged: {e}"),
        })
    }

    fn save(&self, reg: &Registry) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(reg).expect("registry serializes");
        bytes.push(b'\n');
        fsutil::write_atomic(&self.registry_path(), &bytes)
    }

    /// Applies a change to the registry under the home's lock.
    fn update<T>(&self, f: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        let mut reg = self.load()?;
        let out = f(&mut reg)?;
        self.save(&reg)?;
        Ok(out)
    }

    /// This device's id (random, per home).
    pub fn device_id(&self) -> Result<String> {
        Ok(self.load()?.device_id)
    }

    /// Every profile, in creation order.
    pub fn profiles(&self) -> Result<Vec<ProfileSummary>> {
        Ok(self.load()?.profiles)
    }

    /// One profile by name.
    pub fn profile(&self, name: &str) -> Result<ProfileSummary> {
        self.load()?
            .profiles
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::UnknownProfile(name.to_string()))
    }

    /// The current profile's name, if one is set.
    pub fn current(&self) -> Result<Option<String>> {
        Ok(self.load()?.current)
    }

    /// Makes `name` the current profile.
    pub fn set_current(&self, name: &str) -> Result<()> {
        self.update(|reg| {
            if !reg.profiles.iter().any(|p| p.name == name) {
                return Err(Error::UnknownProfile(name.to_string()));
            }
            reg.current = Some(name.to_string());
            Ok(())
        })
    }

    /// Adds a profile; it becomes current when there was none.
    pub(crate) fn add(&self, summary: ProfileSummary) -> Result<()> {
        self.update(|reg| {
            if reg.profiles.iter().any(|p| p.name == summary.name) {
                return Err(Error::ProfileExists(summary.name.clone()));
            }
            if reg.current.is_none() {
                reg.current = Some(summary.name.clone());
            }
            reg.profiles.push(summary);
            Ok(())
        })
    }

    /// Fails if the name is taken (checked again, under the lock, by [`Home::add`]).
    pub(crate) fn ensure_free(&self, name: &str) -> Result<()> {
        if self.load()?.profiles.iter().any(|p| p.name == name) {
            return Err(Error::ProfileExists(name.to_string()));
        }
        Ok(())
    }

    /// Changes a profile's settings.
    pub fn update_settings(
        &self,
        name: &str,
        f: impl FnOnce(&mut ProfileSettings),
    ) -> Result<ProfileSummary> {
        self.update(|reg| {
            let p = reg
                .profiles
                .iter_mut()
                .find(|p| p.name == name)
                .ok_or_else(|| Error::UnknownProfile(name.to_string()))?;
            f(&mut p.settings);
            Ok(p.clone())
        })
    }

    /// Removes a profile from the registry.
    pub(crate) fn remove(&self, name: &str) -> Result<()> {
        self.update(|reg| {
            reg.profiles.retain(|p| p.name != name);
            if reg.current.as_deref() == Some(name) {
                reg.current = None;
            }
            Ok(())
        })
    }
}

/// Checks a profile name.
pub fn validate_profile_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidProfileName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str) -> ProfileSummary {
        ProfileSummary {
            id: "00".repeat(16),
            name: name.into(),
            display_name: name.into(),
            security: SecurityLevel::Standard,
            created: "2026-01-01T00:00:00Z".into(),
            settings: ProfileSettings::default(),
        }
    }

    #[test]
    fn registry_add_current_remove() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::open(dir.path()).unwrap();
        assert!(home.profiles().unwrap().is_empty());
        home.add(summary("alice")).unwrap();
        home.add(summary("bob")).unwrap();
        assert!(matches!(
            home.add(summary("bob")),
            Err(Error::ProfileExists(_))
        ));
        assert_eq!(home.current().unwrap().as_deref(), Some("alice"));
        home.set_current("bob").unwrap();
        assert!(matches!(
            home.set_current("carol"),
            Err(Error::UnknownProfile(_))
        ));
        home.remove("bob").unwrap();
        assert_eq!(home.current().unwrap(), None);
        let again = Home::open(dir.path()).unwrap();
        assert_eq!(again.profiles().unwrap().len(), 1);
        assert_eq!(again.device_id().unwrap(), home.device_id().unwrap());
    }

    #[test]
    fn names_are_checked_and_newer_registry_refused() {
        assert!(validate_profile_name("alice.work-1").is_ok());
        for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(validate_profile_name(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        Home::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("registry.json"), br#"{"version": 9}"#).unwrap();
        let err = Home::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NewerFormat { found: 9, .. }), "{err}");
    }
}
