//! Keys and associated data: the per-epoch collection and blind-index keys (cached), the hidden
//! row key of a record, and the AAD that binds every envelope to its place.

use std::sync::Arc;

use pvault_crypto::{Aad, Classification, CollectionKeys, Key32, KeyFile, Kind, UnlockedKeys};

use super::*;
use crate::error::Result;
use crate::fsutil;

impl Vault {
    pub(crate) fn keys_for(&self, key_id: u32, collection: &str) -> Result<Arc<CollectionKeys>> {
        let mut cache = self.collection_keys.lock().expect("key cache lock");
        if let Some(k) = cache.get(&(key_id, collection.to_string())) {
            return Ok(k.clone());
        }
        let k = Arc::new(
            self.keys
                .root(key_id)?
                .collection_keys(&self.profile, collection),
        );
        cache.insert((key_id, collection.to_string()), k.clone());
        Ok(k)
    }

    pub(crate) fn rid(&self, collection: &str, id: &str) -> [u8; 16] {
        self.naming.token(&[collection.as_bytes(), id.as_bytes()])
    }

    pub(crate) fn record_aad<'a>(
        &'a self,
        collection: &'a str,
        id: &'a str,
        c: Classification,
    ) -> Aad<'a> {
        Aad {
            profile: &self.profile,
            kind: Kind::Record,
            collection,
            record_id: id,
            classification: c,
        }
    }

    pub(crate) fn id_aad<'a>(&'a self, collection: &'a str, rid_hex: &'a str) -> Aad<'a> {
        // The id box is always single-layer INTERNAL, so a record stays nameable even if its
        // classification column is tampered with.
        Aad {
            profile: &self.profile,
            kind: Kind::RecordId,
            collection,
            record_id: rid_hex,
            classification: Classification::Internal,
        }
    }

    pub(crate) fn version_record_id(id: &str, version: u64) -> String {
        format!("{id}#v{version}")
    }

    pub(crate) fn index_tokens(
        &self,
        key_id: u32,
        collection: &str,
        entries: &[(&'static str, String)],
    ) -> Result<Vec<(&'static str, [u8; 16])>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let ik = {
            let mut cache = self.index_keys.lock().expect("index key cache lock");
            match cache.get(&key_id) {
                Some(k) => k.clone(),
                None => {
                    let k = Arc::new(self.keys.root(key_id)?.index_key(&self.profile));
                    cache.insert(key_id, k.clone());
                    k
                }
            }
        };
        Ok(entries
            .iter()
            .map(|(f, v)| {
                (
                    *f,
                    ik.token(&[collection.as_bytes(), f.as_bytes(), v.as_bytes()]),
                )
            })
            .collect())
    }

    pub(crate) fn store_key_file(&mut self, file: KeyFile, keys: UnlockedKeys) -> Result<()> {
        self.write_key_file(&file)?;
        self.use_key_file(file, keys);
        Ok(())
    }

    /// Writes a key file in place of this profile's (atomically), serialized with the checksum
    /// upgrade after an unlock (`profile/`), which must not write an older file over this one.
    pub(crate) fn write_key_file(&self, file: &KeyFile) -> Result<()> {
        let _lock = crate::home::lock_key_file(&self.dir)?;
        fsutil::write_atomic(&self.dir.join(crate::home::KEY_FILE), &file.encode())
    }

    /// Takes up a key file already written and its keys.
    pub(crate) fn use_key_file(&mut self, file: KeyFile, keys: UnlockedKeys) {
        self.key_file = file;
        self.keys = keys;
        self.naming = self.keys.naming_key();
        let live = self.keys.key_ids();
        self.collection_keys
            .lock()
            .expect("key cache lock")
            .retain(|(id, _), _| live.contains(id));
        self.index_keys
            .lock()
            .expect("index key cache lock")
            .retain(|id, _| live.contains(id));
    }

    /// The unlocked keys in transfer form, to open a second handle on the profile (a background
    /// sync thread).
    pub(crate) fn transfer_keys(&self) -> pvault_crypto::SecretVec {
        self.keys.to_transfer_bytes()
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The seed of the account key on the sync server (derived from the KEK).
    pub(crate) fn account_signing_seed(&self) -> Key32 {
        self.keys.account_signing_seed()
    }

    /// The profile's identity keys (signing: audit checkpoints, key bundles, device certificates).
    pub(crate) fn identity(&self) -> &pvault_crypto::Identity {
        self.keys.identity()
    }

    pub(crate) fn key_file_for_server(&self) -> pvault_crypto::KeyFile {
        let mut f = self.key_file.clone();
        // The stored Secret Key is wrapped under the password key alone: it must never leave.
        f.secret_key = None;
        f
    }
}
