//! Row tags: a keyed tag over the columns of a record row that are stored in the clear and change
//! what a user sees (classification, key id, revision, device, version, deleted) and over which
//! envelopes the row holds, so an edit of any of them on disk is found by verify.
//!
//! ```text
//! tag = HMAC-SHA256(row-tag key, "pvault/row/v1", collection, rid, classification, key id,
//!                   revision, device, version, deleted, id(id box), id(body))[..16]
//! id(envelope) = its header with nonces || its last 16 bytes (the outer AEAD tag)
//! ```
//!
//! The envelopes themselves are authenticated by their AEAD; the tag only has to say *which* ones
//! belong here, and a valid envelope is named by its nonces and tag (a second valid envelope with the
//! same ones is an AEAD forgery), so a row is tagged in about 100 bytes of HMAC whatever its size.
//! The sync columns (`dirty`, `sync_seq`) are not covered: they say what to push next, and the
//! server's hash chain checks what was pushed.

use super::*;
use crate::audit::{Event, EventKind};
use crate::error::Result;
use crate::store::{self, Row, WriteTx};

/// Envelope bytes that name it: the fixed header and nonces (at most 42 bytes), and the last tag.
fn envelope_id(e: &[u8]) -> [&[u8]; 2] {
    [&e[..e.len().min(42)], &e[e.len().saturating_sub(16)..]]
}

impl Vault {
    /// The tag of a row.
    pub(crate) fn row_tag(&self, row: &Row) -> [u8; 16] {
        let [id_head, id_tail] = envelope_id(&row.id_box);
        let [body_head, body_tail] = envelope_id(row.body.as_deref().unwrap_or_default());
        self.tag_key.token(&[
            b"pvault/row/v1",
            row.collection.as_bytes(),
            &row.rid,
            &[row.classification],
            &row.key_id.to_be_bytes(),
            &row.revision.to_be_bytes(),
            row.device.as_bytes(),
            &row.version.to_be_bytes(),
            &[u8::from(row.deleted)],
            id_head,
            id_tail,
            body_head,
            body_tail,
        ])
    }

    /// Writes a row (insert or update) with its tag, marked for sync.
    pub(crate) fn put_row(&self, conn: &rusqlite::Connection, row: &Row) -> Result<()> {
        store::put_row(conn, row, &self.row_tag(row))
    }

    /// After the migration that introduced row tags: tags the rows written before it, once, and
    /// records it in the audit log. Later, a row without a tag is a problem `verify` names.
    pub(crate) fn tag_migrated_rows(&self) -> Result<()> {
        if store::meta_u64(&self.conn, store::ROWS_UNTAGGED)? == 0 {
            return Ok(());
        }
        let tx = WriteTx::begin(&self.conn)?;
        let mut tagged = 0u64;
        loop {
            let rows = store::untagged_rows(&tx, 1024)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                store::set_row_tag(&tx, &row.collection, &row.rid, &self.row_tag(&row))?;
                tagged += 1;
            }
        }
        store::delete_meta(&tx, store::ROWS_UNTAGGED)?;
        self.record(
            &tx,
            Event::new(EventKind::Migrated)
                .with("what", "row tags added to the rows of an older store")
                .with("rows", tagged),
        )?;
        tx.commit()
    }
}
