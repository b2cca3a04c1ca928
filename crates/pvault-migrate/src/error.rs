//! The one error type of this crate.

/// What went wrong reading a file. Messages name positions and field names, never values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not of the format asked for.
    #[error("this is not {expected}: {problem}")]
    NotFormat {
        /// The format asked for ("a Bitwarden JSON export").
        expected: &'static str,
        /// What was found instead.
        problem: String,
    },
    /// The file is of the format, but encrypted with the program's own keys.
    #[error("this {what} is encrypted; export it again unencrypted")]
    Encrypted {
        /// Which kind of file ("Bitwarden export").
        what: &'static str,
    },
    /// A format version this crate does not know.
    #[error("{what} version {version} is not supported (supported: {supported})")]
    Version {
        /// The file kind.
        what: &'static str,
        /// The version found.
        version: String,
        /// Those understood.
        supported: &'static str,
    },
    /// One item is malformed: nothing of the file is imported.
    #[error("{at}: {problem}")]
    Malformed {
        /// Where ("line 12", "item 3 'GitHub'").
        at: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The KeePass database did not open with the key given (or needs one that was not given).
    #[error("the KeePass database did not open: {0}")]
    Key(String),
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
