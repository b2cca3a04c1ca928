//! The one error type of this crate.

/// What can go wrong reading or writing an export.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the file itself.
    #[error("{0}")]
    Io(std::io::Error),
    /// The input is not an age file (nor an armored one).
    #[error("this is not an age file")]
    NotAge,
    /// The age header does not parse, or asks for something this reader refuses (for example a
    /// passphrase work factor above the limit).
    #[error("the age header is invalid: {0}")]
    Header(String),
    /// The header's MAC does not verify: the header was changed, or the key is not the one it was
    /// made for (age cannot tell those apart once a stanza opened).
    #[error("the age header's MAC does not verify: the file was changed or damaged")]
    HeaderMac,
    /// None of the identities or the passphrase open the file.
    #[error("{0}")]
    NoMatch(&'static str),
    /// The payload fails authentication or ends early: damaged, cut or changed.
    #[error("the encrypted contents are damaged or cut short ({0})")]
    Payload(String),
    /// The ASCII armor is malformed.
    #[error("the ASCII armor is malformed: {0}")]
    Armor(String),
    /// An identity file line is not an age identity (the line is named, never shown).
    #[error("line {line} of the identity file is not an age identity")]
    IdentityFile { line: usize },
    /// A recipient string is not an age recipient.
    #[error("{0:?} is not an age recipient (age1…)")]
    Recipient(String),
    /// The decrypted contents are not a pvault export, or break its rules.
    #[error("not a valid pvault export: {0}")]
    Format(String),
    /// The export is of a newer format than this pvault reads.
    #[error("this export is format {found}; this pvault reads up to format {supported}")]
    NewerFormat { found: u64, supported: u64 },
    /// The contents do not match the manifest's hash, or the signature does not verify.
    #[error("the export was changed after it was made: {0}")]
    Tampered(String),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
