//! Reads: opening a record's id box and body, one record, a breakthrough's history, a listing
//! (through the blind index when filtered).

use pvault_crypto::envelope;
use serde_json::Value;

use super::*;
use crate::error::{Error, Result};
use crate::store::{self, Row, VersionRow};
use pvault_model::models::{self, CollectionKind};

impl Vault {
    pub(crate) fn open_id(&self, row: &Row) -> Result<String> {
        let rid_hex = hex::encode(row.rid);
        // Envelopes name the epoch that sealed them; the key_id column is only an index for rotation.
        let key_id = envelope::key_id(&row.id_box).unwrap_or(row.key_id);
        let keys = self
            .keys_for(key_id, &row.collection)
            .map_err(|_| Error::Tampered {
                collection: row.collection.clone(),
                id: format!("#{rid_hex}"),
            })?;
        let raw = envelope::open(&keys, &self.id_aad(&row.collection, &rid_hex), &row.id_box)
            .map_err(|_| Error::Tampered {
                collection: row.collection.clone(),
                id: format!("#{rid_hex}"),
            })?;
        let id = String::from_utf8(raw.to_vec()).map_err(|_| Error::Tampered {
            collection: row.collection.clone(),
            id: format!("#{rid_hex}"),
        })?;
        if self.rid(&row.collection, &id) != row.rid {
            return Err(Error::Tampered {
                collection: row.collection.clone(),
                id,
            });
        }
        Ok(id)
    }

    pub(crate) fn open_body(&self, row: &Row, id: &str) -> Result<Payload> {
        let tampered = || Error::Tampered {
            collection: row.collection.clone(),
            id: id.to_string(),
        };
        let body = row.body.as_ref().ok_or_else(tampered)?;
        let c = class_of(row.classification).map_err(|_| tampered())?;
        let key_id = envelope::key_id(body).map_err(|_| tampered())?;
        let keys = self
            .keys_for(key_id, &row.collection)
            .map_err(|_| tampered())?;
        let raw = envelope::open(&keys, &self.record_aad(&row.collection, id, c), body)
            .map_err(|_| tampered())?;
        let payload: Payload = serde_json::from_slice(&raw).map_err(|_| tampered())?;
        if payload.id != id {
            return Err(tampered());
        }
        Ok(payload)
    }

    pub(crate) fn to_record(
        &self,
        row: &Row,
        id: String,
        payload: Option<Payload>,
    ) -> Result<Record> {
        let classification = class_of(row.classification)?;
        let (created, updated, data, attestation, hidden) = match payload {
            Some(p) => (p.created, p.updated, p.data, p.attestation, false),
            None => (String::new(), String::new(), Value::Null, None, true),
        };
        Ok(Record {
            collection: row.collection.clone(),
            id,
            classification,
            revision: row.revision,
            device: row.device.clone(),
            version: row.version,
            created,
            updated,
            data,
            hidden,
            attestation,
        })
    }

    /// Reads one record. SECRET and TOP_SECRET need a re-authentication within the window.
    pub fn get(&self, collection: &str, id: &str) -> Result<Record> {
        let name = collection_name(collection)?;
        let not_found = || Error::NotFound {
            collection: name.to_string(),
            id: id.to_string(),
        };
        let row = store::get_row(&self.conn, name.as_str(), &self.rid(name.as_str(), id))?
            .ok_or_else(not_found)?;
        if row.deleted {
            return Err(not_found());
        }
        let classification = class_of(row.classification).map_err(|_| Error::Tampered {
            collection: name.to_string(),
            id: id.to_string(),
        })?;
        if classification.needs_reauth() && !self.reauth_valid() {
            return Err(Error::ReauthRequired {
                collection: name.to_string(),
                id: id.to_string(),
                classification,
            });
        }
        let payload = self.open_body(&row, id)?;
        self.to_record(&row, id.to_string(), Some(payload))
    }

    /// Every version of a breakthrough, oldest first, each with its attestation checked.
    pub fn history(&self, collection: &str, id: &str) -> Result<Vec<Record>> {
        let name = collection_name(collection)?;
        let rid = self.rid(name.as_str(), id);
        let row =
            store::get_row(&self.conn, name.as_str(), &rid)?.ok_or_else(|| Error::NotFound {
                collection: name.to_string(),
                id: id.to_string(),
            })?;
        if name.kind() != CollectionKind::Breakthroughs {
            return Err(Error::NoHistory(name.to_string()));
        }
        let tampered = || Error::Tampered {
            collection: name.to_string(),
            id: id.to_string(),
        };
        let versions = store::versions_of(&self.conn, name.as_str(), &rid)?;
        // The highest level over the record and every version: an old SECRET version stays SECRET
        // even when the record was lowered since.
        let mut classification = class_of(row.classification).map_err(|_| tampered())?;
        for v in &versions {
            classification =
                classification.max(class_of(v.classification).map_err(|_| tampered())?);
        }
        if classification.needs_reauth() && !self.reauth_valid() {
            return Err(Error::ReauthRequired {
                collection: name.to_string(),
                id: id.to_string(),
                classification,
            });
        }
        let mut out = Vec::new();
        let mut previous: Option<String> = None;
        for v in versions {
            let payload = self.open_version(&v, id)?;
            self.check_attestation(id, &payload, previous.as_deref())
                .map_err(|problem| Error::Tampered {
                    collection: name.to_string(),
                    id: format!("{id} version {}: {problem}", v.version),
                })?;
            previous = payload.attestation.as_ref().map(|a| a.chain_hash.clone());
            let vrow = Row {
                collection: v.collection.clone(),
                rid,
                id_box: Vec::new(),
                classification: v.classification,
                key_id: v.key_id,
                body: None,
                revision: v.revision,
                device: row.device.clone(),
                version: v.version,
                deleted: false,
            };
            out.push(self.to_record(&vrow, id.to_string(), Some(payload))?);
        }
        Ok(out)
    }

    pub(crate) fn open_version(&self, v: &VersionRow, id: &str) -> Result<Payload> {
        let tampered = || Error::Tampered {
            collection: v.collection.clone(),
            id: format!("{id} version {}", v.version),
        };
        let c = class_of(v.classification).map_err(|_| tampered())?;
        let keys = self
            .keys_for(v.key_id, &v.collection)
            .map_err(|_| tampered())?;
        let vid = Self::version_record_id(id, v.version);
        let raw = envelope::open(&keys, &self.record_aad(&v.collection, &vid, c), &v.body)
            .map_err(|_| tampered())?;
        serde_json::from_slice(&raw).map_err(|_| tampered())
    }

    /// Every live record of a collection (or those matching an equality on an indexed field),
    /// oldest revision first: [`Vault::list_page`] without a limit.
    pub fn list(&self, collection: &str, filter: Option<(&str, &str)>) -> Result<Listing> {
        self.list_page(collection, filter, None, usize::MAX)
    }

    /// Up to `limit` live records of a collection (or those matching an equality on an indexed
    /// field) after the cursor `after`, oldest revision first. Reads and opens only those rows (a
    /// filter goes through the blind index); a record that fails to open is reported in
    /// `unreadable` and does not stop the others. `next` is the cursor of the page after, if
    /// there may be one. A record written meanwhile
    /// gets a newer revision, so it comes later in the listing (again, if it was listed already).
    pub fn list_page(
        &self,
        collection: &str,
        filter: Option<(&str, &str)>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Listing> {
        let name = collection_name(collection)?;
        let from = after.map(parse_cursor).transpose()?.unwrap_or_default();
        if limit == 0 {
            return Ok(Listing {
                next: after.map(str::to_string),
                ..Listing::default()
            });
        }
        let rows = match filter {
            None => store::rows_page(&self.conn, name.as_str(), from, limit)?,
            Some((field, value)) => {
                let canonical = models::canonical_query_value(&name, field, value)
                    .map_err(Error::InvalidQuery)?;
                let field = models::indexed_fields(name.kind())
                    .iter()
                    .find(|f| **f == field)
                    .copied()
                    .unwrap_or("");
                let mut tokens = Vec::new();
                for key_id in self.keys.key_ids() {
                    let t =
                        self.index_tokens(key_id, name.as_str(), &[(field, canonical.clone())])?;
                    tokens.push(t[0].1);
                }
                store::rows_page_matching(&self.conn, name.as_str(), field, &tokens, from, limit)?
            }
        };
        let next = (rows.len() == limit)
            .then(|| rows.last().map(|(_, pos)| cursor_of(pos)))
            .flatten();
        let rows = rows.into_iter().map(|(row, _)| row);
        let mut listing = Listing {
            next,
            ..Listing::default()
        };
        let reauth = self.reauth_valid();
        for row in rows {
            // The best name for a record that fails: its id once that opened, else its row key.
            let mut row_ref = format!("#{}", hex::encode(row.rid));
            let row_collection = row.collection.clone();
            let result = self.open_id(&row).and_then(|id| {
                row_ref = id.clone();
                let hide = class_of(row.classification)
                    .map_err(|_| Error::Tampered {
                        collection: row.collection.clone(),
                        id: id.clone(),
                    })?
                    .needs_reauth()
                    && !reauth;
                let payload = if hide {
                    None
                } else {
                    Some(self.open_body(&row, &id)?)
                };
                self.to_record(&row, id, payload)
            });
            match result {
                Ok(r) => listing.records.push(r),
                Err(Error::Tampered { collection, id }) => listing.unreadable.push(Unreadable {
                    collection,
                    id,
                    problem: "does not decrypt: tampered with, corrupted or moved from elsewhere"
                        .into(),
                }),
                Err(e) => listing.unreadable.push(Unreadable {
                    collection: row_collection,
                    id: row_ref,
                    problem: e.to_string(),
                }),
            }
        }
        Ok(listing)
    }
}

/// A listing cursor: `<revision>.<rowid>` of the last row of a page.
fn cursor_of(pos: &store::ListPos) -> String {
    format!("{}.{}", pos.revision, pos.rowid)
}

fn parse_cursor(text: &str) -> Result<store::ListPos> {
    let bad = || Error::InvalidCursor(text.to_string());
    let (revision, rowid) = text.split_once('.').ok_or_else(bad)?;
    let pos = store::ListPos {
        revision: revision.parse().map_err(|_| bad())?,
        rowid: rowid.parse().map_err(|_| bad())?,
    };
    if pos.revision > i64::MAX as u64 || pos.rowid < 0 {
        return Err(bad());
    }
    Ok(pos)
}
