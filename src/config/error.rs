//! The loader's error type: one line, always naming the file, with the
//! 1-based line and column whenever they are known.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a desired-state file was refused.
///
/// Display is a single line: `<file>:<line>:<column>: <what is wrong>,
/// expected <what>` (`<file>: …` when the position is unknown). Messages
/// never contain the value of an environment variable, only its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the file ({reason}), expected a readable file", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is larger than the loader accepts.
    #[error("{}: the file is {size} bytes, expected at most {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The largest accepted size in bytes.
        limit: u64,
    },
    /// The file is not valid UTF-8.
    #[error(
        "{}:{line}:{column}: the file is not UTF-8 (invalid byte 0x{byte:02x} at byte offset {offset}), expected UTF-8 text",
        path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// The first invalid byte.
        byte: u8,
        /// 1-based line of that byte.
        line: usize,
        /// 1-based column (in characters) of that byte.
        column: usize,
    },
    /// The text is not well-formed YAML, is empty, holds more than one
    /// document, or exceeds a nesting or alias limit.
    #[error("{}: {message}", Here(path, *location))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line and column, when known.
        location: Option<(usize, usize)>,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Well-formed YAML that does not describe a valid configuration:
    /// unknown or missing keys, wrong types, malformed ids, conflicts.
    #[error("{}: {message}", Here(path, *location))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line and column, when known.
        location: Option<(usize, usize)>,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A `${NAME}` reference to a variable that is not set, or a malformed
    /// `${` reference.
    #[error("{}: {message}", Here(path, *location))]
    Env {
        /// The file.
        path: PathBuf,
        /// 1-based line and column of the reference, when known.
        location: Option<(usize, usize)>,
        /// The variable's name (`None` for a malformed reference).
        name: Option<String>,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl ConfigError {
    /// 1-based line and column of the problem, when known.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            ConfigError::Read { .. } | ConfigError::TooLarge { .. } => None,
            ConfigError::NotUtf8 { line, column, .. } => Some((*line, *column)),
            ConfigError::Syntax { location, .. }
            | ConfigError::Invalid { location, .. }
            | ConfigError::Env { location, .. } => *location,
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. }
            | ConfigError::TooLarge { path, .. }
            | ConfigError::NotUtf8 { path, .. }
            | ConfigError::Syntax { path, .. }
            | ConfigError::Invalid { path, .. }
            | ConfigError::Env { path, .. } => path,
        }
    }
}

/// `file:line:column` or `file`.
struct Here<'a>(&'a Path, Option<(usize, usize)>);

impl fmt::Display for Here<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some((line, column)) => write!(f, "{}:{line}:{column}", self.0.display()),
            None => write!(f, "{}", self.0.display()),
        }
    }
}
