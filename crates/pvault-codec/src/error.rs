//! The one error type of the codec.

/// What can be wrong with bytes being read. Each variant names what was being read (the `what` the
/// caller passed), so an error says where the input went wrong.
///
/// Crates that decode through the codec convert this into their own error type (keeping their own
/// messages); see `pvault_proto::ProtoError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ended before `what` was complete.
    #[error("{0} is cut short")]
    Truncated(&'static str),
    /// A varint that is not the canonical LEB128 encoding of a `u64` (overlong or overflowing).
    #[error("malformed number in {0}")]
    BadVarint(&'static str),
    /// A length or count above the limit the caller set.
    #[error("{0} too large")]
    TooLarge(&'static str),
    /// Bytes left over after the last field (the count of them).
    #[error("{0} bytes after the end")]
    TrailingBytes(usize),
}

/// Shorthand for results of the codec.
pub type Result<T, E = CodecError> = std::result::Result<T, E>;
