use thiserror::Error;

/// Everything that can be wrong with a message on the wire.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProtoError {
    #[error("message truncated: {0} is cut short")]
    Truncated(&'static str),
    #[error("not a pvault sync message (bad magic)")]
    BadMagic,
    #[error("unsupported protocol version {0} (this build speaks 1)")]
    Version(u8),
    #[error("wrong message type {found} (expected {expected})")]
    WrongType { expected: u8, found: u8 },
    #[error("{0} too large")]
    TooLarge(&'static str),
    #[error("malformed number in {0}")]
    BadVarint(&'static str),
    #[error("{0} bytes after the end of the message")]
    TrailingBytes(usize),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("{0} is not 32 hex digits")]
    BadId(&'static str),
    #[error("signature does not verify")]
    BadSignature,
}

pub type Result<T> = std::result::Result<T, ProtoError>;
