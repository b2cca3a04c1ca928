use pvault_codec::CodecError;
use thiserror::Error;

use crate::checkpoint::CheckpointError;
use crate::merkle::MerkleError;

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
    /// A Merkle proof or a stored frontier refused (`merkle`), with its own message.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    /// A checkpoint or its signed note refused (`checkpoint`), with its own message.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

pub type Result<T> = std::result::Result<T, ProtoError>;

/// A decoding error of the codec becomes the variant of the same name, with its message ("message
/// truncated: blob is cut short"). They are kept as variants of their own (rather than one wrapped
/// `Codec` variant) because callers match on them: the server answers `TooLarge("blob")` with
/// `record_too_large`.
impl From<CodecError> for ProtoError {
    fn from(e: CodecError) -> ProtoError {
        match e {
            CodecError::Truncated(what) => ProtoError::Truncated(what),
            CodecError::BadVarint(what) => ProtoError::BadVarint(what),
            CodecError::TooLarge(what) => ProtoError::TooLarge(what),
            CodecError::TrailingBytes(n) => ProtoError::TrailingBytes(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_errors_keep_the_protocol_messages() {
        for (codec, text) in [
            (
                CodecError::Truncated("blob"),
                "message truncated: blob is cut short",
            ),
            (
                CodecError::BadVarint("sequence"),
                "malformed number in sequence",
            ),
            (CodecError::TooLarge("blob"), "blob too large"),
            (
                CodecError::TrailingBytes(3),
                "3 bytes after the end of the message",
            ),
        ] {
            assert_eq!(ProtoError::from(codec).to_string(), text);
        }
    }

    #[test]
    fn merkle_and_checkpoint_errors_keep_their_messages() {
        let merkle = MerkleError::Shrank { old: 5, new: 3 };
        assert_eq!(
            ProtoError::from(merkle).to_string(),
            "the log shrank from 5 to 3 entries"
        );
        assert_eq!(
            ProtoError::from(CheckpointError::NotSigned).to_string(),
            "no signature by the expected key"
        );
    }
}
