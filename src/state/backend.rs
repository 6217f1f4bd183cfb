//! [`StateBackend`]: the seam between the engine and where a state is kept
//! (a local file today, see [`super::local`]; in memory for tests, see
//! [`super::memory`]).
//!
//! A backend is the storage of one state at one [`Location`], used by one
//! run: it reads and validates the stored state, takes and releases the
//! exclusive lock, and replaces the stored state only when it still is the
//! version this run knows (compare and swap on the serial and lineage). The
//! rules shared by every backend (serial bumps, stack and lineage checks,
//! read-only opens) live above it, in [`super::StateStore`].
//!
//! The methods return boxed futures so that the engine can hold any backend
//! as `Arc<dyn StateBackend>`.

use std::fmt;

use futures_util::future::BoxFuture;

use super::error::StateError;
use super::format::StateFile;
use super::location::Location;
use super::lock_info::LockInfo;

/// Where one state is kept, with its lock.
pub trait StateBackend: Send + Sync + fmt::Debug {
    /// Where the state lives, as messages name it.
    fn location(&self) -> &Location;

    /// Reads and validates the stored state; `None` when none is stored. A
    /// state that does not pass the format checks is
    /// [`StateError::Corrupt`], naming a valid backup when there is one.
    fn load(&self) -> BoxFuture<'_, Result<Option<StateFile>, StateError>>;

    /// Takes the exclusive lock without waiting, recording `operation` as
    /// the holder's command. When another run holds it, fails at once with
    /// [`StateError::Locked`] naming the holder.
    fn lock<'a>(&'a self, operation: &'a str) -> BoxFuture<'a, Result<LockInfo, StateError>>;

    /// Replaces the stored state with `state` (its serial already bumped by
    /// the caller), keeping the replaced one as the backup. `expected` is
    /// the serial of the stored state this write replaces, `None` when none
    /// is stored; a stored state at another serial, or of another lineage
    /// than `state`'s, is refused with [`StateError::Conflict`], and one
    /// that does not parse with [`StateError::Corrupt`]. Needs the lock
    /// ([`StateError::ReadOnly`] otherwise).
    fn write<'a>(
        &'a self,
        state: &'a StateFile,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), StateError>>;

    /// Releases the lock this backend holds; nothing when it holds none.
    fn unlock(&self) -> BoxFuture<'_, Result<(), StateError>>;

    /// Removes the lock whoever holds it, as a human override: refused with
    /// [`StateError::LockIdMismatch`] while a live run holds it under
    /// another id, [`StateError::NotLocked`] when there is no lock.
    fn force_unlock<'a>(&'a self, lock_id: &'a str) -> BoxFuture<'a, Result<(), StateError>>;

    /// Whether a live run holds the lock, as far as this backend can tell
    /// ([`LockHolder::Unknown`] for a backend that cannot).
    fn lock_holder(&self) -> BoxFuture<'_, Result<LockHolder, StateError>> {
        Box::pin(async { Ok(LockHolder::Unknown) })
    }
}

/// Who holds the lock of a state, as [`StateBackend::lock_holder`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockHolder {
    /// No live run holds it (no lock, or one left by a run that is gone).
    Gone,
    /// A live run holds it; its details when they could be read.
    Live(Option<Box<LockInfo>>),
    /// The backend cannot tell whether the holder is alive.
    Unknown,
}
