//! The state: what privlink created, with which ids, and how far each
//! resource got.
//!
//! This module owns everything about it and nothing else: its format
//! ([`StateFile`], [`ResourceState`], [`Status`]), where it is kept (the
//! [`StateBackend`] trait: load, lock, write, unlock, force-unlock, with
//! [`LocalBackend`] for a local file and [`MemoryBackend`] for tests; the
//! S3 backend lives outside the engine, in `crate::s3_state`, and is named
//! by an [`S3Address`]), one
//! run's open state over any backend ([`StateStore`]: serial, lineage and
//! stack checks), and the lock that keeps two runs from writing one state at
//! once. It holds only what the engine hands it; [`check_no_secrets`] lets
//! the engine prove that no secret slipped in. Errors ([`StateError`]) name
//! the state by its [`Location`], a path or later a remote object.
//!
//! Modules depend on each other in one direction only: `location`,
//! `lock_info` and `format` on nothing here, `error` on the first two,
//! `secrets` on `error` and `format`, `remote` on nothing, `backend` on all of these, and
//! `store`, `local` and `memory` on `backend`; this file only declares and
//! re-exports them.
//!
//! # Files of the local backend
//!
//! For a state file `S` (by default `state/<config stem>.state.json`, see
//! [`LocalBackend::default_path`]):
//!
//! - `S` itself, pretty JSON, mode 0600. It is replaced atomically: the new
//!   content goes to a temporary file in the same directory (created 0600),
//!   which is flushed to disk, renamed over `S`, and then the directory is
//!   flushed too. A crash leaves either the old or the new file, never half.
//! - `S.backup`, the previous good version, refreshed (atomically too) before
//!   every replacement. When `S` does not parse, the [`StateError::Corrupt`]
//!   message names this backup and how to restore it. privlink never
//!   overwrites a corrupt state file by itself.
//! - `S.lock`, present while a run holds the lock (see below).
//!
//! # Format checks
//!
//! A file is corrupt when it is not JSON of the expected shape, when its
//! `version` is not [`FORMAT_VERSION`], when its serial is 0 (every written
//! file has serial 1 or more), or when its lineage is not a UUID.
//!
//! # Locking
//!
//! Commands that may write open the store with [`LockMode::Exclusive`]. For
//! the local backend, the lock is an advisory `flock(2)` on `S.lock`
//! (through `fs4`), taken without
//! waiting: a second run fails at once with [`StateError::Locked`], whose
//! message names the lock id, operation, pid, host and start time, read from
//! the JSON ([`LockInfo`]) the holder wrote into the lock file. The kernel
//! drops a `flock` when its holder dies, even on `kill -9`, so the lock of a
//! killed run never blocks: its lock file stays behind, but the next run
//! simply takes it over. `flock` locks belong to an open file description, so
//! two stores in one process contend just like two processes.
//!
//! [`StateStore::close`], or dropping the [`LocalBackend`] (as dropping the
//! store that holds its only reference does), releases the lock and deletes
//! `S.lock`. After taking the `flock`, a run checks that `S.lock` still
//! names the file it locked (and retries if not), so deleting the file on
//! release, or by force-unlock, can never let two runs hold the lock at once
//! through an old, unlinked lock file.
//!
//! [`StateBackend::force_unlock`] semantics for the local file:
//!
//! - no `S.lock`: [`StateError::NotLocked`];
//! - `S.lock` present but its `flock` free (a leftover from a killed run, or
//!   a run that is just finishing): the file is removed, whatever id was given,
//!   since nothing holds it;
//! - the `flock` held by a live run: refused with
//!   [`StateError::LockIdMismatch`] unless the given id is the holder's; with
//!   the right id, `S.lock` is removed so that the next run can proceed. This
//!   is a human override for a run that hangs: the old run keeps running, but
//!   its next [`StateStore::write`] finds the state changed under it and fails
//!   with [`StateError::Conflict`] instead of overwriting the newer state.
//!
//! Read-only commands open with [`LockMode::None`] (or call
//! [`StateBackend::load`]); such a store refuses to write.
//!
//! # Write checks
//!
//! [`StateStore::write`] refuses a [`StateFile`] whose stack or lineage is
//! not the store's, then hands the backend the serial it read or last
//! wrote: the backend re-reads what is stored before replacing it and
//! refuses ([`StateError::Conflict`]) if its serial or lineage is not that
//! one.

mod backend;
mod error;
mod format;
mod local;
mod location;
mod lock_info;
pub mod memory;
mod remote;
mod secrets;
mod store;

pub use backend::{LockHolder, StateBackend};
pub use error::StateError;
pub use format::{
    FORMAT_VERSION, ResourceState, StateFile, Status, attempt_age, encode, new_attempt,
    newer_version, validate,
};
pub use local::LocalBackend;
pub use location::Location;
pub use lock_info::LockInfo;
pub use memory::MemoryBackend;
pub use remote::{S3Address, check_bucket, check_key};
pub use secrets::check_no_secrets;
pub use store::{LockMode, StateStore};
