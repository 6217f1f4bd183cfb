//! Errors of the state module. Every message names the state concerned by
//! its [`Location`] (a file path, or later a remote object).

use std::io;

use thiserror::Error;

use super::location::Location;
use super::lock_info::LockInfo;

/// Anything that can go wrong reading, writing or locking a state.
#[derive(Debug, Error)]
pub enum StateError {
    /// A storage operation failed.
    #[error("cannot {action} {location}: {source}")]
    Io {
        /// What was being done, e.g. "read state file".
        action: &'static str,
        /// The object concerned (the state, its lock, a temporary file...).
        location: Location,
        /// The I/O error.
        #[source]
        source: io::Error,
    },

    /// Another run holds the lock. `info` is `None` only when the holder's
    /// lock details could not be read.
    #[error("{}", locked_message(.location, .info.as_deref()))]
    Locked {
        /// The state (not its lock).
        location: Location,
        /// The holder's lock details (id, process, host, operation, start).
        info: Option<Box<LockInfo>>,
    },

    /// The state does not parse or fails the format checks.
    #[error("{}", corrupt_message(.location, .reason, .backup.as_ref()))]
    Corrupt {
        /// The state concerned.
        location: Location,
        /// What is wrong with it.
        reason: String,
        /// The backup (`<path>.backup` for a file), when it exists and is
        /// itself a valid state.
        backup: Option<Location>,
    },

    /// The state was written by a newer privlink, in a format this one
    /// does not read.
    #[error(
        "state file {location} was written by a newer privlink (format {found}); upgrade privlink"
    )]
    NewerFormat {
        /// The state.
        location: Location,
        /// The format version it has.
        found: u64,
    },

    /// The state belongs to another stack.
    #[error(
        "state file {location} belongs to stack {found:?}, not {expected:?}; pass --state to use another file"
    )]
    StackMismatch {
        /// The state concerned.
        location: Location,
        /// The stack this run works on.
        expected: String,
        /// The stack the state records.
        found: String,
    },

    /// The state handed to [`StateStore::write`](super::StateStore::write)
    /// is not the one this store opened (other lineage or stack).
    #[error(
        "refusing to write state {location}: it has {what} {found:?} but the file has {expected:?}"
    )]
    Mismatch {
        /// The state concerned.
        location: Location,
        /// "lineage" or "stack".
        what: &'static str,
        /// The value of the state this store opened.
        expected: String,
        /// The value of the state handed to the write.
        found: String,
    },

    /// The stored state changed since this run read or wrote it.
    #[error(
        "refusing to write state {location}: {reason}; another run may have written it (was the lock forced?). Run the command again"
    )]
    Conflict {
        /// The state concerned.
        location: Location,
        /// What changed, e.g. another lineage or serial now stored.
        reason: String,
    },

    /// A remote state changed between this run's read and its write (a
    /// compare-and-swap lost): nothing was overwritten, and the state this
    /// run meant to write is kept in a local file.
    #[error(
        "refusing to overwrite state {location}: {reason}. Nothing was lost: the state this run meant to write is saved in {}; \
         compare it with `privlink state pull`, then run the command again (or `privlink state push {}` if it is the one to keep)",
        saved.display(),
        saved.display()
    )]
    Rejected {
        /// The state concerned.
        location: Location,
        /// What changed under this run.
        reason: String,
        /// The local file holding the state this run meant to write.
        saved: std::path::PathBuf,
    },

    /// The state was opened without a lock, for reading only.
    #[error("state {location} was opened read-only (without a lock) and cannot be written")]
    ReadOnly {
        /// The state concerned.
        location: Location,
    },

    /// `force_unlock` found no lock.
    #[error("state {location} is not locked")]
    NotLocked {
        /// The state concerned.
        location: Location,
    },

    /// `force_unlock` was given an id other than the live holder's.
    #[error("{}", id_mismatch_message(.location, .given, .holder.as_deref()))]
    LockIdMismatch {
        /// The state concerned.
        location: Location,
        /// The lock id given to `force_unlock`.
        given: String,
        /// The live holder's lock details, `None` when they could not be read.
        holder: Option<Box<LockInfo>>,
    },

    /// A secret value was found in the state (the secret itself is never shown).
    #[error("a secret value would be stored in the state at {location}; refusing to keep it")]
    SecretInState {
        /// The resource address holding it, or "the state" when outside resources.
        location: String,
    },

    /// The state could not be encoded as JSON.
    #[error("cannot encode state {location}: {source}")]
    Encode {
        /// The state concerned.
        location: Location,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
}

impl StateError {
    /// An [`StateError::Io`] about `location`.
    pub(crate) fn io(
        action: &'static str,
        location: impl Into<Location>,
        source: io::Error,
    ) -> Self {
        StateError::Io {
            action,
            location: location.into(),
            source,
        }
    }
}

fn locked_message(location: &Location, info: Option<&LockInfo>) -> String {
    match info {
        Some(i) => format!(
            "state {location} is locked by lock {} ({}); if that run is gone or stuck, privlink force-unlock {}",
            i.id,
            i.describe(),
            i.id
        ),
        None => format!(
            "state {location} is locked by another run whose lock details could not be read; wait for it to finish"
        ),
    }
}

fn corrupt_message(location: &Location, reason: &str, backup: Option<&Location>) -> String {
    let p = location;
    match backup {
        Some(b) => format!(
            "state file {p} is corrupt: {reason}. The last good version is {b}; \
             check it, then restore it with: cp {b} {p}"
        ),
        None => format!(
            "state file {p} is corrupt: {reason}. No valid backup exists at {p}.backup; \
             repair the file by hand or restore your own copy (privlink never overwrites it)"
        ),
    }
}

fn id_mismatch_message(location: &Location, given: &str, holder: Option<&LockInfo>) -> String {
    match holder {
        Some(h) => format!(
            "refusing to unlock state {location}: it is held by a live run with lock {} ({}), not {given}",
            h.id,
            h.describe()
        ),
        None => format!(
            "refusing to unlock state {location}: it is held by a live run whose lock id could not be read, \
             so it cannot match {given}"
        ),
    }
}
