//! Errors of the state module. Every message names the file concerned.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::lock::LockInfo;

/// Anything that can go wrong reading, writing or locking a state file.
#[derive(Debug, Error)]
pub enum StateError {
    /// A file system operation failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. "read state file".
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Another run holds the lock. `info` is `None` only when the holder's
    /// lock file could not be read.
    #[error("{}", locked_message(.path, .info.as_deref()))]
    Locked {
        /// The state file (not the lock file).
        path: PathBuf,
        info: Option<Box<LockInfo>>,
    },

    /// The state file does not parse or fails the format checks.
    #[error("{}", corrupt_message(.path, .reason, .backup.as_deref()))]
    Corrupt {
        path: PathBuf,
        reason: String,
        /// `<path>.backup`, when it exists and is itself a valid state.
        backup: Option<PathBuf>,
    },

    /// The state file belongs to another stack.
    #[error(
        "state file {} belongs to stack {found:?}, not {expected:?}; pass --state to use another file",
        .path.display()
    )]
    StackMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    /// The state handed to [`StateStore::write`](super::StateStore::write)
    /// is not the one this store opened (other lineage or stack).
    #[error(
        "refusing to write state {}: it has {what} {found:?} but the file has {expected:?}",
        .path.display()
    )]
    Mismatch {
        path: PathBuf,
        /// "lineage" or "stack".
        what: &'static str,
        expected: String,
        found: String,
    },

    /// The file on disk changed since this store read or wrote it.
    #[error(
        "refusing to write state {}: {reason}; another run may have written it (was the lock forced?). Run the command again",
        .path.display()
    )]
    Conflict { path: PathBuf, reason: String },

    /// The store was opened without a lock, for reading only.
    #[error("state {} was opened read-only (without a lock) and cannot be written", .path.display())]
    ReadOnly { path: PathBuf },

    /// `force_unlock` found no lock file.
    #[error("state {} is not locked", .path.display())]
    NotLocked { path: PathBuf },

    /// `force_unlock` was given an id other than the live holder's.
    #[error("{}", id_mismatch_message(.path, .given, .holder.as_deref()))]
    LockIdMismatch {
        path: PathBuf,
        given: String,
        holder: Option<Box<LockInfo>>,
    },

    /// A secret value was found in the state (the secret itself is never shown).
    #[error("a secret value would be stored in the state at {location}; refusing to keep it")]
    SecretInState {
        /// The resource address holding it, or "the state" when outside resources.
        location: String,
    },

    /// The state could not be encoded as JSON.
    #[error("cannot encode state {}: {source}", .path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl StateError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        StateError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

fn locked_message(path: &Path, info: Option<&LockInfo>) -> String {
    match info {
        Some(i) => format!(
            "state {} is locked by lock {} ({}); if that run is gone or stuck, privlink force-unlock {}",
            path.display(),
            i.id,
            i.describe(),
            i.id
        ),
        None => format!(
            "state {} is locked by another run whose lock details could not be read; wait for it to finish",
            path.display()
        ),
    }
}

fn corrupt_message(path: &Path, reason: &str, backup: Option<&Path>) -> String {
    let p = path.display();
    match backup {
        Some(b) => format!(
            "state file {p} is corrupt: {reason}. The last good version is {b}; \
             check it, then restore it with: cp {b} {p}",
            b = b.display()
        ),
        None => format!(
            "state file {p} is corrupt: {reason}. No valid backup exists at {p}.backup; \
             repair the file by hand or restore your own copy (privlink never overwrites it)"
        ),
    }
}

fn id_mismatch_message(path: &Path, given: &str, holder: Option<&LockInfo>) -> String {
    match holder {
        Some(h) => format!(
            "refusing to unlock state {}: it is held by a live run with lock {} ({}), not {given}",
            path.display(),
            h.id,
            h.describe()
        ),
        None => format!(
            "refusing to unlock state {}: it is held by a live run whose lock id could not be read, \
             so it cannot match {given}",
            path.display()
        ),
    }
}
