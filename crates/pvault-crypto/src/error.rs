//! The one error type of this crate.
//!
//! Decryption failures are deliberately vague (as in age): whether the key, the nonce, the associated
//! data or a ciphertext byte was wrong is not told, so an attacker learns nothing from the message.

/// Everything that can go wrong in pvault-crypto.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// Authentication failed: wrong key, tampered bytes, or bytes moved from another place.
    #[error("decryption failed: wrong key, or the data was tampered with or moved")]
    DecryptionFailed,
    /// The envelope is too short or its fields do not fit together.
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(&'static str),
    /// The envelope was written by a newer pvault.
    #[error(
        "envelope format version {0} is newer than this pvault understands (1); upgrade pvault"
    )]
    UnsupportedEnvelopeVersion(u8),
    /// The algorithm byte is not one we know.
    #[error("unknown envelope algorithm {0}")]
    UnknownAlgorithm(u8),
    /// An envelope's algorithm is weaker than its classification requires.
    #[error("envelope uses one encryption layer but its classification requires two")]
    AlgorithmTooWeak,
    /// The key id names no epoch of the keyring.
    #[error(
        "no key with id {0} in the keyring (destroyed by a rotation, or the data is from elsewhere)"
    )]
    UnknownKeyId(u32),
    /// A Secret Key that does not parse.
    #[error("invalid Secret Key: {0}")]
    InvalidSecretKey(&'static str),
    /// Argon2 parameters outside the accepted range.
    #[error("invalid key-derivation parameters: {0}")]
    InvalidKdfParams(String),
    /// A key file that does not decode.
    #[error("invalid key file: {0}")]
    InvalidKeyFile(String),
    /// A key file that decodes but does not check out: its checksum does not match its contents,
    /// its KDF parameters are outside the accepted range, or the KEK opens some of its wrapped keys
    /// but not others. Never a wrong password, and it names only which check failed.
    #[error("the key file is damaged: {0}")]
    KeyFileDamaged(String),
    /// A key file written by a newer pvault.
    #[error(
        "key file format version {0} is newer than this pvault understands (1); upgrade pvault"
    )]
    UnsupportedKeyFileVersion(u64),
    /// The password (or, where it is typed, the Secret Key) does not open the key file.
    #[error("wrong password")]
    WrongPassword,
    /// The password is right but the Secret Key given does not open the key file.
    #[error("wrong password or Secret Key")]
    WrongPasswordOrSecretKey,
    /// The profile requires its Secret Key to be typed, and none was given.
    #[error("this profile's Secret Key is not stored on this device; it must be given")]
    SecretKeyRequired,
    /// An input is longer than the format allows.
    #[error("{0} is too long")]
    TooLong(&'static str),
    /// A signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
}

/// Shorthand used throughout the crate.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;
