//! Verification: every envelope, id, blind-index entry and breakthrough chain link, collecting
//! every problem instead of stopping at the first.

use std::collections::HashMap;

use pvault_crypto::envelope;
use serde::{Deserialize, Serialize};

use super::*;
use crate::error::Result;
use crate::store::{self, Row};
use pvault_model::models::{self, CollectionName};

/// The result of [`Vault::verify`].
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct VerifyReport {
    /// Record rows checked (tombstones included).
    pub records: u64,
    /// Breakthrough versions checked.
    pub versions: u64,
    /// Audit log entries checked.
    #[serde(default)]
    pub audit_entries: u64,
    /// Every problem found.
    pub problems: Vec<Unreadable>,
}

impl Vault {
    /// Opens every envelope of the profile, checks ids, blind-index entries, and the hash chain and
    /// signatures of every breakthrough version. Collects every problem instead of stopping.
    pub fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let rows = store::rows_of(&self.conn, None, true)?;
        let versions = store::all_versions(&self.conn)?;
        let total = (rows.len() + versions.len()) as u64;
        let mut ids: HashMap<(String, [u8; 16]), String> = HashMap::new();
        let tags = store::row_tags(&self.conn)?;
        for row in &rows {
            report.records += 1;
            let tag = tags
                .get(&(row.collection.clone(), row.rid))
                .cloned()
                .flatten();
            if let Err(p) = self.verify_row(row, tag.as_deref(), &mut ids) {
                report.problems.push(p);
            }
            if report.records % 1024 == 0 {
                progress(report.records, total);
            }
        }
        let mut previous: HashMap<(String, [u8; 16]), String> = HashMap::new();
        for v in &versions {
            report.versions += 1;
            let id = ids.get(&(v.collection.clone(), v.rid)).cloned();
            let problem = match &id {
                None => Some((
                    "#".to_string() + &hex::encode(v.rid),
                    "version of a record whose id does not open".to_string(),
                )),
                Some(id) => match self.open_version(v, id) {
                    Err(_) => Some((
                        id.clone(),
                        format!("version {} does not decrypt", v.version),
                    )),
                    Ok(p) => {
                        let prev = previous
                            .get(&(v.collection.clone(), v.rid))
                            .map(|s| s.as_str());
                        let checked = self.check_attestation(id, &p, prev);
                        if let Some(a) = &p.attestation {
                            previous.insert((v.collection.clone(), v.rid), a.chain_hash.clone());
                        }
                        checked
                            .err()
                            .map(|e| (id.clone(), format!("version {}: {e}", v.version)))
                    }
                },
            };
            if let Some((id, problem)) = problem {
                report.problems.push(Unreadable {
                    collection: v.collection.clone(),
                    id,
                    problem,
                });
            }
        }
        report.problems.extend(self.verify_meta(&rows)?);
        // The audit log is part of the profile: its problems are named here too.
        let audit = self.verify_audit(&mut |_, _| {})?;
        report.audit_entries = audit.entries;
        report
            .problems
            .extend(audit.problems.into_iter().map(|p| Unreadable {
                collection: "(audit)".to_string(),
                id: format!("{}/{}", p.device, p.seq),
                problem: format!(
                "{}: {}",
                serde_json::to_value(p.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                p.detail
            ),
            }));
        self.raise_violations(&report.problems);
        self.note(
            crate::audit::Event::new(crate::audit::EventKind::Verified)
                .with("records", report.records)
                .with("versions", report.versions)
                .with("problems", report.problems.len() as u64),
        );
        progress(total, total);
        Ok(report)
    }

    /// Moves a counter verify found behind (`meta/hlc`, `seals/N`) up to what it counts; the key
    /// fence is reset to the current epoch.
    pub(crate) fn recount(&self, conn: &rusqlite::Connection, counter: &str) -> Result<()> {
        let rows = store::rows_of(conn, None, true)?;
        if counter == "meta/hlc" {
            let newest = rows.iter().map(|r| r.revision).max().unwrap_or(0);
            store::set_meta_u64(conn, store::HLC, newest)?;
        } else if counter == "meta/key_id" {
            store::set_meta_u64(conn, store::KEY_ID, u64::from(self.key_id()))?;
        } else if let Some(k) = counter
            .strip_prefix("seals/")
            .and_then(|k| k.parse::<u32>().ok())
        {
            let n = rows
                .iter()
                .filter(|r| r.device == self.device)
                .flat_map(|r| [Some(&r.id_box), r.body.as_ref()])
                .flatten()
                .filter(|e| envelope::key_id(e).ok() == Some(k))
                .count() as u64;
            let counted = store::meta_u64(conn, counter)?;
            store::set_meta_u64(conn, counter, counted.max(n))?;
        }
        Ok(())
    }

    /// How many record rows do not carry the tag of what they hold: edited outside pvault. Cheap
    /// (a keyed hash per row, nothing decrypted), for the anomaly check.
    pub(crate) fn rows_edited_outside(&self) -> Result<u64> {
        let tags = store::row_tags(&self.conn)?;
        let rows = store::rows_of(&self.conn, None, true)?;
        Ok(rows
            .iter()
            .filter(|r| {
                tags.get(&(r.collection.clone(), r.rid))
                    .and_then(|t| t.as_deref())
                    != Some(&self.row_tag(r)[..])
            })
            .count() as u64)
    }

    /// The store's own values checked against what they count: the clock must not be behind any
    /// revision, an epoch's seal count must not be below the envelopes sealed under it (a lowered
    /// count would let the epoch seal past its nonce budget), and the key fence must name a live
    /// epoch.
    fn verify_meta(&self, rows: &[Row]) -> Result<Vec<Unreadable>> {
        let mut problems = Vec::new();
        let problem = |what: &str, p: String| Unreadable {
            collection: "(store)".to_string(),
            id: what.to_string(),
            problem: p,
        };
        let hlc = store::meta_u64(&self.conn, store::HLC)?;
        let newest = rows.iter().map(|r| r.revision).max().unwrap_or(0);
        if hlc < newest {
            problems.push(problem(
                "meta/hlc",
                "the clock is behind the newest revision (edited on disk)".to_string(),
            ));
        }
        // Only what this device sealed counts against its budget (a pulled row was sealed by the
        // device that wrote it), so this is a lower bound.
        let mut sealed: HashMap<u32, u64> = HashMap::new();
        let envelopes = rows
            .iter()
            .filter(|r| r.device == self.device)
            .flat_map(|r| [Some(&r.id_box), r.body.as_ref()])
            .flatten();
        for e in envelopes {
            if let Ok(k) = envelope::key_id(e) {
                *sealed.entry(k).or_default() += 1;
            }
        }
        for (key_id, n) in sealed {
            let counted = store::meta_u64(&self.conn, &store::seals(key_id))?;
            if counted < n {
                problems.push(problem(
                    &store::seals(key_id),
                    format!(
                        "epoch {key_id} has sealed at least {n} envelopes but counts {counted} (edited on disk)"
                    ),
                ));
            }
        }
        let fence = store::meta_u64(&self.conn, store::KEY_ID)?;
        if fence > u64::from(self.key_id()) {
            problems.push(problem(
                "meta/key_id",
                format!(
                    "the key fence names epoch {fence}, newer than any this profile has (edited on disk)"
                ),
            ));
        }
        Ok(problems)
    }

    pub(crate) fn verify_row(
        &self,
        row: &Row,
        tag: Option<&[u8]>,
        ids: &mut HashMap<(String, [u8; 16]), String>,
    ) -> std::result::Result<(), Unreadable> {
        let problem = |id: &str, p: &str| Unreadable {
            collection: row.collection.clone(),
            id: id.to_string(),
            problem: p.to_string(),
        };
        let rid_ref = format!("#{}", hex::encode(row.rid));
        let id = self.open_id(row).map_err(|_| {
            problem(
                &rid_ref,
                "record id does not decrypt (tampered, corrupted or moved)",
            )
        })?;
        ids.insert((row.collection.clone(), row.rid), id.clone());
        let sealed_under = [Some(&row.id_box), row.body.as_ref()]
            .into_iter()
            .flatten()
            .map(|e| envelope::key_id(e).ok());
        if sealed_under.into_iter().any(|k| k != Some(row.key_id)) {
            return Err(problem(
                &id,
                "key id column does not match the record's envelopes",
            ));
        }
        // After the more specific checks, so that their message is the one given.
        let tagged = || match tag {
            None => Err(problem(
                &id,
                "row has no tag: its classification, revision, version, device or deletion flag cannot be vouched for (edited on disk)",
            )),
            Some(t) if t != self.row_tag(row) => Err(problem(
                &id,
                "row was edited on disk: its classification, revision, version, device, deletion flag or envelopes are not the ones pvault wrote",
            )),
            Some(_) => Ok(()),
        };
        if row.deleted {
            return tagged();
        }
        let payload = self
            .open_body(row, &id)
            .map_err(|_| problem(&id, "body does not decrypt (tampered, corrupted or moved)"))?;
        let name = CollectionName::parse(&row.collection)
            .map_err(|_| problem(&id, "unknown collection"))?;
        let valid = models::validate(&name, &id, payload.data)
            .map_err(|e| problem(&id, &format!("fails its schema: {e}")))?;
        let key_id =
            envelope::key_id(row.body.as_deref().unwrap_or_default()).unwrap_or(row.key_id);
        let mut expected: Vec<(String, [u8; 16])> = self
            .index_tokens(key_id, &row.collection, &valid.index)
            .map_err(|_| problem(&id, "sealed under an unknown key"))?
            .into_iter()
            .map(|(f, t)| (f.to_string(), t))
            .collect();
        expected.sort();
        expected.dedup();
        let stored = store::index_of(&self.conn, &row.collection, &row.rid)
            .map_err(|e| problem(&id, &e.to_string()))?;
        if stored != expected {
            return Err(problem(&id, "blind index entries do not match the record"));
        }
        tagged()
    }
}
