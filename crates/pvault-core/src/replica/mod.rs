//! The replica: the one door through which a profile's rows leave it and come back. Sync uses it
//! today; backup and export will go through it too.
//!
//! - [`item`]: the sealed sync item, a row in transit whose envelopes are the row's own, with what
//!   the server must not see sealed beside them;
//! - [`audit`]: audit log entries and checkpoints in transit;
//! - [`apply`]: storing versions from elsewhere as they are, decrypting versions for conflict
//!   resolution, and writing a resolution's outcome.

mod apply;
mod audit;
mod item;

pub(crate) use audit::{AuditItem, is_audit_item};

pub(crate) use item::{Link, OpenedItem, item_is_tombstone};
