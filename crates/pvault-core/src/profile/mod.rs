//! Profile lifecycle (the seed's ProfileManager): create, list, select, unlock, change password,
//! delete by crypto-shredding.

mod attempts;

use std::path::{Path, PathBuf};

use pvault_crypto::{CryptoError, KeyFile, ProfileId, SecretKey, UnlockedKeys};
use zeroize::Zeroizing;

use crate::audit::{self, Event, EventKind, Log};
use crate::error::{Error, IoContext, Result};
use crate::home::{ATTEMPTS_FILE, KEY_FILE, STORE_FILE, UNFINISHED_FILE, lock_key_file};
use crate::home::{Home, ProfileSummary, validate_profile_name};
use crate::vault::Vault;
use crate::{fsutil, store};
use attempts::AttemptGuard;
use pvault_model::security::SecurityLevel;

/// What unlocks a profile.
pub struct Credentials {
    /// The password.
    pub password: Zeroizing<Vec<u8>>,
    /// The Secret Key, required when the profile does not keep it on this device.
    pub secret_key: Option<SecretKey>,
}

impl Credentials {
    /// A password, with the Secret Key taken from the device.
    pub fn password(password: impl Into<Vec<u8>>) -> Self {
        Credentials {
            password: Zeroizing::new(password.into()),
            secret_key: None,
        }
    }
}

/// New random keys for `profile`, wrapped under `password` and a new Secret Key at `level`'s cost.
fn new_keys(
    profile: ProfileId,
    level: SecurityLevel,
    password: &[u8],
) -> Result<(KeyFile, UnlockedKeys)> {
    Ok(KeyFile::create(
        profile,
        password,
        level.kdf_params(),
        level.stores_secret_key(),
    )?)
}

/// Ends the making of a directory marked unfinished: on failure it is removed; once registered
/// the mark goes (it would only say "unfinished" of a directory that is not).
fn settle_unfinished(dir: &Path, made: Result<()>) -> Result<()> {
    match made {
        Err(e) => {
            let _ = std::fs::remove_dir_all(dir);
            Err(e)
        }
        Ok(()) => {
            let _ = std::fs::remove_file(dir.join(UNFINISHED_FILE));
            Ok(())
        }
    }
}

/// Options of a new profile.
#[derive(Clone, Debug)]
pub struct NewProfile {
    /// Unique name.
    pub name: String,
    /// Display name (defaults to the name).
    pub display_name: Option<String>,
    /// Security level.
    pub security: SecurityLevel,
}

/// A profile just made, with its Secret Key to show once.
pub struct CreatedProfile {
    /// The registry entry.
    pub summary: ProfileSummary,
    /// The Secret Key, as the user should write it down.
    pub secret_key: Zeroizing<String>,
}

/// A pvault home and its profiles.
pub struct Pvault {
    home: Home,
}

impl Pvault {
    /// Opens the home at `root` (creating it if needed).
    pub fn open(root: &Path) -> Result<Self> {
        Ok(Pvault {
            home: Home::open(root)?,
        })
    }

    /// The home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    fn dir(&self, summary: &ProfileSummary) -> PathBuf {
        self.home.profile_dir(&summary.id)
    }

    /// Every profile.
    pub fn list(&self) -> Result<Vec<ProfileSummary>> {
        self.home.profiles()
    }

    /// The named profile, or the current one.
    pub fn resolve(&self, name: Option<&str>) -> Result<ProfileSummary> {
        match name {
            Some(n) => self.home.profile(n),
            None => match self.home.current()? {
                Some(n) => self.home.profile(&n),
                None => Err(Error::NoCurrentProfile),
            },
        }
    }

    /// Makes a profile current.
    pub fn use_profile(&self, name: &str) -> Result<()> {
        self.home.set_current(name)
    }

    /// Name of the current profile.
    pub fn current(&self) -> Result<Option<String>> {
        self.home.current()
    }

    /// Creates a profile: new random keys, wrapped under password + a new Secret Key, and an empty
    /// store. Runs the level's KDF once.
    pub fn create(&self, options: NewProfile, password: &[u8]) -> Result<CreatedProfile> {
        let (profile, summary) = self.new_profile(&options)?;
        let level = options.security;
        let created = Event::new(EventKind::ProfileCreated).with("security", level.to_string());
        let (_, keys) = self.install(&summary, created, || new_keys(profile, level, password))?;
        Ok(CreatedProfile {
            summary,
            secret_key: keys.secret_key().to_display_string(),
        })
    }

    /// A new profile's id and registry entry, its name checked and free.
    fn new_profile(&self, options: &NewProfile) -> Result<(ProfileId, ProfileSummary)> {
        validate_profile_name(&options.name)?;
        self.home.ensure_free(&options.name)?;
        let profile = ProfileId::random();
        let display = options.display_name.as_deref().unwrap_or(&options.name);
        let summary = new_summary(&profile, &options.name, display, options.security);
        Ok((profile, summary))
    }

    /// Writes a new profile's directory (made private first): the key file `keys` makes, an empty
    /// store, then its registry entry. On any failure the directory is removed and nothing is
    /// registered.
    /// `first` is the first entry of its audit log, written with the store.
    fn install(
        &self,
        summary: &ProfileSummary,
        first: Event,
        keys: impl FnOnce() -> Result<(KeyFile, UnlockedKeys)>,
    ) -> Result<(KeyFile, UnlockedKeys)> {
        let made = self.prepare(summary, first, false, keys);
        let registered = made.and_then(|made| self.home.add(summary.clone()).map(|()| made));
        if registered.is_err() {
            let _ = std::fs::remove_dir_all(self.dir(summary));
        }
        registered
    }

    /// The directory of a new profile, not yet registered: key file, store, first audit entry.
    /// With `unfinished`, an [`UNFINISHED_FILE`] marks it first, so that a crash before it is
    /// registered leaves a directory that [`Pvault::remove_unfinished`] recognises.
    fn prepare(
        &self,
        summary: &ProfileSummary,
        first: Event,
        unfinished: bool,
        keys: impl FnOnce() -> Result<(KeyFile, UnlockedKeys)>,
    ) -> Result<(KeyFile, UnlockedKeys)> {
        let dir = self.dir(summary);
        let made = (|| {
            fsutil::create_private_dir(&dir)?;
            if unfinished {
                fsutil::write_atomic(&dir.join(UNFINISHED_FILE), b"")?;
            }
            let (file, keys) = keys()?;
            fsutil::write_atomic(&dir.join(KEY_FILE), &file.encode())?;
            let conn = store::open(&dir.join(STORE_FILE), keys.profile_id(), true)?;
            let audit = keys.audit_keys();
            let device = self.home.device_id()?;
            let log = Log {
                keys: &audit,
                identity: keys.identity(),
                profile: keys.profile_id(),
                device: &device,
            };
            let tx = store::WriteTx::begin(&conn)?;
            log.append(&tx, first)?;
            tx.commit()?;
            drop(conn);
            fsutil::sync_dir(&dir)?;
            Ok((file, keys))
        })();
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        made
    }

    /// Creates a profile like [`Pvault::create`] and hands it, unlocked, to `fill` before it is
    /// registered: until `fill` succeeds the profile is in no list, and if it fails its directory
    /// is removed. A crash meanwhile leaves a marked directory that the next
    /// [`Pvault::remove_unfinished`] removes. (Import writes a whole profile this way, all or
    /// nothing.)
    pub(crate) fn create_filled(
        &self,
        options: NewProfile,
        password: &[u8],
        first: Event,
        settings: crate::home::ProfileSettings,
        fill: impl FnOnce(&mut Vault) -> Result<()>,
    ) -> Result<CreatedProfile> {
        let (profile, mut summary) = self.new_profile(&options)?;
        summary.settings = settings;
        let level = options.security;
        let (file, keys) =
            self.prepare(&summary, first, true, || new_keys(profile, level, password))?;
        let dir = self.dir(&summary);
        let secret_key = keys.secret_key().to_display_string();
        let filled = (|| {
            let mut vault = self.open_vault(summary.clone(), file, keys, None)?;
            fill(&mut vault)?;
            drop(vault);
            fsutil::sync_dir(&dir)?;
            self.home.add(summary.clone())
        })();
        settle_unfinished(&dir, filled)?;
        Ok(CreatedProfile {
            summary,
            secret_key,
        })
    }

    /// Makes a profile from a backup: the key file as it was (`key_bytes`, decoded as `file`,
    /// unlocked as `keys`), a new store that `fill` writes, then a `restored` audit entry and the
    /// registry entry. Marked unfinished until registered, like [`Pvault::create_filled`].
    pub(crate) fn restore_profile(
        &self,
        summary: ProfileSummary,
        key_bytes: &[u8],
        file: KeyFile,
        keys: UnlockedKeys,
        store_version: i64,
        fill: impl FnOnce(&rusqlite::Connection) -> Result<()>,
    ) -> Result<ProfileSummary> {
        validate_profile_name(&summary.name)?;
        self.home.ensure_free(&summary.name)?;
        if self.home.profiles()?.iter().any(|p| p.id == summary.id) {
            return Err(Error::Home {
                path: self.home.root().to_path_buf(),
                message: format!(
                    "profile {} is already here; restore it into another home, or delete it first",
                    summary.id
                ),
            });
        }
        self.remove_unfinished()?;
        let dir = self.dir(&summary);
        let made = (|| {
            fsutil::create_private_dir(&dir)?;
            fsutil::write_atomic(&dir.join(UNFINISHED_FILE), b"")?;
            fsutil::write_atomic(&dir.join(KEY_FILE), key_bytes)?;
            let conn = store::create_at(&dir.join(STORE_FILE), keys.profile_id(), store_version)?;
            fill(&conn)?;
            drop(conn);
            // Opening it brings a store of an older version up to date.
            let vault = self.open_vault(summary.clone(), file, keys, None)?;
            vault.record_export(Event::new(EventKind::Restored).with("what", "profile"))?;
            drop(vault);
            fsutil::sync_dir(&dir)?;
            self.home.add(summary.clone())
        })();
        settle_unfinished(&dir, made)?;
        Ok(summary)
    }

    /// Removes the directories of profiles whose creation by [`Pvault::create_filled`] never
    /// finished (marked, and in no registry entry); returns how many.
    pub(crate) fn remove_unfinished(&self) -> Result<usize> {
        let registered: std::collections::HashSet<String> =
            self.home.profiles()?.into_iter().map(|p| p.id).collect();
        let root = self.home.root().join("profiles");
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if !registered.contains(&name) && path.join(UNFINISHED_FILE).exists() {
                std::fs::remove_dir_all(&path).at(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Makes a profile here from keys that exist elsewhere (a device joining through sync): writes the
    /// key file and an empty store, registers it, and returns it unlocked.
    pub(crate) fn adopt(
        &self,
        name: &str,
        security: SecurityLevel,
        file: KeyFile,
        keys: UnlockedKeys,
    ) -> Result<Vault> {
        validate_profile_name(name)?;
        self.home.ensure_free(name)?;
        let profile = *keys.profile_id();
        if self
            .home
            .profiles()?
            .iter()
            .any(|p| p.id == profile.to_hex())
        {
            return Err(Error::Home {
                path: self.home.root().to_path_buf(),
                message: "this profile is already here (as another name); it cannot be joined twice in one home".to_string(),
            });
        }
        let summary = new_summary(&profile, name, name, security);
        let joined = Event::new(EventKind::ProfileCreated)
            .with("security", security.to_string())
            .with("via", "join");
        let (file, keys) = self.install(&summary, joined, || Ok((file, keys)))?;
        self.open_vault(summary, file, keys, None)
    }

    /// Reads and decodes the key file of a profile. A file that does not decode, or whose checksum
    /// does not match, is [`Error::KeyFileDamaged`] (before any password is asked for or counted).
    fn key_file(&self, summary: &ProfileSummary) -> Result<KeyFile> {
        let path = self.dir(summary).join(KEY_FILE);
        let bytes = std::fs::read(&path).at(&path)?;
        let file = KeyFile::decode(&bytes).map_err(|e| match e {
            CryptoError::UnsupportedKeyFileVersion(v) => Error::NewerFormat {
                what: path.display().to_string(),
                found: v as i64,
                supported: pvault_crypto::KEY_FILE_VERSION as i64,
            },
            other => self.key_file_damaged(summary, other),
        })?;
        // A key file copied in from another profile would otherwise read as a wrong password.
        if file.profile_id != summary.id {
            return Err(Error::StoreMismatch(path));
        }
        Ok(file)
    }

    /// The error for a damaged key file of `summary`, from what pvault-crypto found.
    fn key_file_damaged(&self, summary: &ProfileSummary, e: CryptoError) -> Error {
        let reason = match e {
            CryptoError::KeyFileDamaged(r) | CryptoError::InvalidKeyFile(r) => r,
            other => other.to_string(),
        };
        Error::KeyFileDamaged {
            profile: summary.name.clone(),
            path: self.dir(summary).join(KEY_FILE),
            reason,
        }
    }

    /// Checks credentials against the key file, counting failures on disk and sealing each one into
    /// the profile's audit inbox (`failed` is the kind it is recorded as). Only a wrong password or
    /// Secret Key is counted: a damaged key file is [`Error::KeyFileDamaged`] and counts nothing.
    fn authenticate(
        &self,
        summary: &ProfileSummary,
        file: &KeyFile,
        creds: &Credentials,
        failed: EventKind,
    ) -> Result<UnlockedKeys> {
        let result = self.check_credentials(summary, file, creds);
        match &result {
            Err(e) if e.is_wrong_password() => {
                self.record_locked_event(summary, file, Event::new(failed).with("error", e.code()));
            }
            Err(e @ Error::KeyFileDamaged { .. }) => self.record_locked_event(
                summary,
                file,
                Event::new(EventKind::Anomaly)
                    .with("what", "key_file_damaged")
                    .with("error", e.code()),
            ),
            _ => {}
        }
        result
    }

    /// Seals an event into a locked profile's audit inbox. Best effort: the attempt counter on disk
    /// is what enforces the lockout; a store that cannot be written loses only this entry.
    fn record_locked_event(&self, summary: &ProfileSummary, file: &KeyFile, event: Event) {
        let write = || -> Result<()> {
            let profile = ProfileId::parse(&summary.id)?;
            let conn = store::open(&self.dir(summary).join(STORE_FILE), &profile, false)?;
            audit::add_locked_event(&conn, &file.public_identity()?, &event)
        };
        let _ = write();
    }

    fn check_credentials(
        &self,
        summary: &ProfileSummary,
        file: &KeyFile,
        creds: &Credentials,
    ) -> Result<UnlockedKeys> {
        let guard = AttemptGuard::new(
            &self.dir(summary).join(ATTEMPTS_FILE),
            summary.security.attempt_policy(),
            &summary.name,
        );
        guard.check()?;
        match file.unlock(&creds.password, creds.secret_key.as_ref()) {
            Ok(keys) => {
                if keys.profile_id().to_hex() != summary.id {
                    return Err(Error::StoreMismatch(self.dir(summary)));
                }
                guard.record_success()?;
                Ok(keys)
            }
            Err(CryptoError::WrongPassword) => Err(Error::WrongPassword {
                profile: summary.name.clone(),
                attempts_left: Some(guard.record_failure()?),
            }),
            Err(CryptoError::WrongPasswordOrSecretKey) => Err(Error::WrongPasswordOrSecretKey {
                profile: summary.name.clone(),
                attempts_left: Some(guard.record_failure()?),
            }),
            Err(CryptoError::SecretKeyRequired) => {
                Err(Error::SecretKeyRequired(summary.name.clone()))
            }
            Err(
                e @ (CryptoError::KeyFileDamaged(_)
                | CryptoError::InvalidKeyFile(_)
                | CryptoError::InvalidKdfParams(_)),
            ) => Err(self.key_file_damaged(summary, e)),
            Err(e) => Err(e.into()),
        }
    }

    /// After a successful unlock with `creds`: gives a key file written before checksums (`file`, as
    /// read from disk) its checksum. Best effort: when it cannot be done (a read-only directory, a
    /// full disk, another process rewrote the file meanwhile) nothing changes, the unlock goes on,
    /// and the next one tries again. Nothing is reported: there is nothing the user must do.
    fn add_checksum(&self, summary: &ProfileSummary, file: &KeyFile, creds: &Credentials) {
        // A typed Secret Key is used in place of a stored one, so this unlock did not check the
        // stored wrap: the checksum must not vouch for what was not checked.
        if file.has_checksum() || (creds.secret_key.is_some() && file.stores_secret_key()) {
            return;
        }
        let _ = self.try_add_checksum(summary, file);
    }

    /// Rewrites the key file with a checksum, if it is still `file` without one. Returns whether it
    /// wrote.
    fn try_add_checksum(&self, summary: &ProfileSummary, file: &KeyFile) -> Result<bool> {
        let dir = self.dir(summary);
        let path = dir.join(KEY_FILE);
        // Under the lock every key-file write takes, from disk again: a password change or rotation
        // written since `file` was read must not be replaced by the older contents.
        let _lock = lock_key_file(&dir)?;
        let on_disk = KeyFile::decode(&std::fs::read(&path).at(&path)?)?;
        if on_disk.has_checksum() || on_disk != *file {
            return Ok(false);
        }
        // Nothing may be lost: what is written must read back as the same key file.
        let bytes = file.encode();
        let back = KeyFile::decode(&bytes)?;
        if !back.has_checksum() || back != *file {
            return Ok(false);
        }
        fsutil::write_atomic(&path, &bytes)?;
        Ok(true)
    }

    /// Opens the store of an unlocked profile.
    /// `via` names how it was unlocked, for the audit log (`None`: no unlock entry).
    fn open_vault(
        &self,
        summary: ProfileSummary,
        file: KeyFile,
        keys: UnlockedKeys,
        via: Option<&str>,
    ) -> Result<Vault> {
        let dir = self.dir(&summary);
        let conn = store::open(&dir.join(STORE_FILE), keys.profile_id(), false)?;
        let vault = Vault::new(summary, dir, file, keys, conn, self.home.device_id()?);
        if let Some(via) = via {
            // A store that cannot take the entry still opens for reading; writes are refused
            // until the entry is written.
            vault.note(Event::new(EventKind::Unlocked).with("via", via));
        }
        // Best effort, like the entry above: tried again at every unlock until it is done.
        let _ = vault.tag_migrated_rows();
        let _ = vault.apply_audit_retention(false);
        Ok(vault)
    }

    /// Unlocks a profile (the named one, or the current one). Runs the KDF once; the cost does not
    /// depend on how many records the profile holds.
    pub fn unlock(&self, name: Option<&str>, creds: &Credentials) -> Result<Vault> {
        let summary = self.resolve(name)?;
        let file = self.key_file(&summary)?;
        let keys = self.authenticate(&summary, &file, creds, EventKind::UnlockFailed)?;
        self.add_checksum(&summary, &file, creds);
        self.open_vault(summary, file, keys, Some("password"))
    }

    /// Opens a profile with keys unlocked elsewhere (by the CLI, which ran the KDF) and handed over as
    /// [`pvault_crypto::UnlockedKeys::to_transfer_bytes`]. They are checked against the key file.
    pub fn open_with_keys(&self, name: &str, transfer: &[u8]) -> Result<Vault> {
        let summary = self.home.profile(name)?;
        let file = self.key_file(&summary)?;
        let keys = UnlockedKeys::from_transfer_bytes(transfer, &file)?;
        self.open_vault(summary, file, keys, Some("agent"))
    }

    /// Unlocks a profile and returns its keys in transfer form, for the agent (runs the KDF here).
    pub fn unlock_for_transfer(
        &self,
        name: Option<&str>,
        creds: &Credentials,
    ) -> Result<(ProfileSummary, pvault_crypto::SecretVec)> {
        let summary = self.resolve(name)?;
        let file = self.key_file(&summary)?;
        let keys = self.authenticate(&summary, &file, creds, EventKind::UnlockFailed)?;
        self.add_checksum(&summary, &file, creds);
        Ok((summary, keys.to_transfer_bytes()))
    }

    /// Proves knowledge of the password for a re-authentication through the agent: checks the
    /// credentials (counting failures) and answers the agent's challenge.
    pub fn reauth_proof(
        &self,
        name: &str,
        creds: &Credentials,
        challenge: &[u8; 32],
    ) -> Result<[u8; 32]> {
        let summary = self.home.profile(name)?;
        let file = self.key_file(&summary)?;
        let keys = self.authenticate(&summary, &file, creds, EventKind::ReauthFailed)?;
        self.add_checksum(&summary, &file, creds);
        Ok(keys.reauth_proof(challenge))
    }

    /// Counts a failed unlock or re-authentication of a profile.
    pub(crate) fn record_failed_attempt(&self, summary: &ProfileSummary) -> Result<u32> {
        AttemptGuard::new(
            &self.dir(summary).join(ATTEMPTS_FILE),
            summary.security.attempt_policy(),
            &summary.name,
        )
        .record_failure()
    }

    /// Changes a profile's settings (auto-lock, re-authentication window).
    pub fn update_settings(
        &self,
        name: &str,
        f: impl FnOnce(&mut crate::home::ProfileSettings),
    ) -> Result<ProfileSummary> {
        self.home.update_settings(name, f)
    }

    /// Asks for the password again (for SECRET and TOP_SECRET records): a failure counts as a failed
    /// unlock attempt; a success opens the re-authentication window of `vault`.
    pub fn reauthenticate(&self, vault: &mut Vault, creds: &Credentials) -> Result<()> {
        let summary = vault.summary().clone();
        let keys = self.authenticate(&summary, vault.key_file(), creds, EventKind::ReauthFailed)?;
        if keys.profile_id() != vault.profile_id() {
            return Err(Error::StoreMismatch(vault.dir().to_path_buf()));
        }
        vault.record_now(Event::new(EventKind::Reauthenticated))?;
        vault.mark_reauthenticated();
        Ok(())
    }

    /// Deletes a profile by crypto-shredding: the key file is overwritten and removed first (after
    /// which nothing of the profile can be decrypted), then the store and the registry entry.
    /// `confirmation` must repeat the name exactly; otherwise nothing happens.
    pub fn delete(&self, name: &str, confirmation: &str) -> Result<ProfileSummary> {
        let summary = self.home.profile(name)?;
        if confirmation != name {
            return Err(Error::ConfirmationMismatch(name.to_string()));
        }
        let dir = self.dir(&summary);
        {
            // So that another process adding the checksum, which read the file before the shred,
            // cannot write it back after (best effort: a directory already gone has no lock).
            let _lock = lock_key_file(&dir).ok();
            fsutil::shred(&dir.join(KEY_FILE))?;
            fsutil::sync_dir(&dir)?;
        }
        std::fs::remove_dir_all(&dir)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .at(&dir)?;
        self.home.remove(name)?;
        Ok(summary)
    }
}

/// What `profile show` tells without a password.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProfileDetails {
    /// Registry entry.
    pub summary: ProfileSummary,
    /// Profile directory.
    pub dir: PathBuf,
    /// What the key file tells; `None` when it is damaged.
    #[serde(flatten)]
    pub keys: Option<KeyDetails>,
    /// Why the key file is damaged, when it is (then `keys` is `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file_damaged: Option<String>,
    /// Consecutive failed unlock attempts.
    pub failed_attempts: u32,
}

/// What a profile's key file tells without a password.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyDetails {
    /// Argon2id cost.
    pub kdf: pvault_crypto::KdfParams,
    /// Live key epochs.
    pub key_ids: Vec<u32>,
    /// Epoch new data is written under.
    pub current_key_id: u32,
    /// Whether the Secret Key is kept (wrapped) on this device.
    pub secret_key_on_device: bool,
    /// Ed25519 public identity (hex).
    pub identity: String,
}

impl ProfileDetails {
    /// The key file's damage as the error an unlock would give, when it is damaged.
    pub fn key_file_error(&self) -> Option<Error> {
        self.key_file_damaged
            .as_ref()
            .map(|reason| Error::KeyFileDamaged {
                profile: self.summary.name.clone(),
                path: self.dir.join(KEY_FILE),
                reason: reason.clone(),
            })
    }
}

impl Pvault {
    /// Describes a profile from its public files; needs no password. A damaged key file is
    /// described as such (and the failed-attempt counters are still shown).
    pub fn details(&self, name: Option<&str>) -> Result<ProfileDetails> {
        let summary = self.resolve(name)?;
        let (keys, key_file_damaged) = match self.key_file(&summary) {
            Ok(file) => (
                Some(KeyDetails {
                    kdf: file.kdf_params(),
                    key_ids: file.epochs.iter().map(|e| e.key_id).collect(),
                    current_key_id: file.current_key_id,
                    secret_key_on_device: file.stores_secret_key(),
                    identity: hex::encode(file.public_identity()?.ed25519),
                }),
                None,
            ),
            Err(Error::KeyFileDamaged { reason, .. }) => (None, Some(reason)),
            Err(e) => return Err(e),
        };
        let dir = self.dir(&summary);
        let attempts = AttemptGuard::new(
            &dir.join(ATTEMPTS_FILE),
            summary.security.attempt_policy(),
            &summary.name,
        )
        .load()?;
        Ok(ProfileDetails {
            keys,
            key_file_damaged,
            failed_attempts: attempts.failures,
            summary,
            dir,
        })
    }
}

/// The registry entry of a profile made now.
fn new_summary(
    profile: &ProfileId,
    name: &str,
    display_name: &str,
    security: SecurityLevel,
) -> ProfileSummary {
    ProfileSummary {
        id: profile.to_hex(),
        name: name.to_string(),
        display_name: display_name.to_string(),
        security,
        created: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formatting the current time"),
        settings: Default::default(),
    }
}
