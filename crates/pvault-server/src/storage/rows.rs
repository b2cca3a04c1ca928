//! How stored values come back: the integer conversions (SQL has no unsigned types), fixed-size
//! columns, and the rows that more than one query reads, on either backend.

use pvault_proto::Rid;
use pvault_proto::batch::RemoteRecord;
use pvault_proto::chain::ChainHead;
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::Current;
use crate::error::Error;

/// Turns stored integers (SQL has no unsigned types) back into what the protocol uses.
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A protocol number as a SQL integer (numbers beyond `i64::MAX` cannot be stored anyway).
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Stored rows that contradict each other or the schema: a damaged database, answered as a 500.
pub(crate) fn corrupt(what: impl Into<String>) -> Error {
    Error::Database(sqlx::Error::Decode(what.into().into()))
}

/// A fixed-size column read back (the schema checks every length, so a mismatch is corruption).
pub(crate) fn fixed<const N: usize>(v: Vec<u8>) -> Result<[u8; N], Error> {
    <[u8; N]>::try_from(v.as_slice())
        .map_err(|_| corrupt(format!("stored value has {} bytes, expected {N}", v.len())))
}

/// The columns of a row of either backend, in the types the schema stores.
pub(crate) trait Columns {
    /// An integer column, as the protocol's unsigned number.
    fn u64_at(&self, i: usize) -> Result<u64, Error>;
    /// A boolean column.
    fn bool_at(&self, i: usize) -> Result<bool, Error>;
    /// A bytes column.
    fn bytes_at(&self, i: usize) -> Result<Vec<u8>, Error>;

    /// A bytes column of a fixed size.
    fn fixed_at<const N: usize>(&self, i: usize) -> Result<[u8; N], Error> {
        fixed(self.bytes_at(i)?)
    }
}

impl<R: Row> Columns for R
where
    usize: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn u64_at(&self, i: usize) -> Result<u64, Error> {
        Ok(to_u64(self.try_get(i)?))
    }

    fn bool_at(&self, i: usize) -> Result<bool, Error> {
        Ok(self.try_get(i)?)
    }

    fn bytes_at(&self, i: usize) -> Result<Vec<u8>, Error> {
        Ok(self.try_get(i)?)
    }
}

/// `seq, hash`: a head of the change log.
pub(crate) fn chain_head(r: &impl Columns) -> Result<ChainHead, Error> {
    Ok(ChainHead {
        seq: r.u64_at(0)?,
        hash: r.fixed_at(1)?,
    })
}

/// `rid, seq, tombstone`: a record's version, as deciding a push needs it.
pub(crate) fn current(r: &impl Columns) -> Result<(Rid, Current), Error> {
    Ok((
        r.fixed_at(0)?,
        Current {
            seq: r.u64_at(1)?,
            tombstone: r.bool_at(2)?,
        },
    ))
}

/// `rid, seq, tombstone, blob`: a record's version, as a conflict answers it.
pub(crate) fn remote_record(r: &impl Columns) -> Result<RemoteRecord, Error> {
    Ok(RemoteRecord {
        rid: r.fixed_at(0)?,
        seq: r.u64_at(1)?,
        tombstone: r.bool_at(2)?,
        blob: r.bytes_at(3)?,
    })
}
