//! [`StateStore`]: one run's open state over any [`StateBackend`], with the
//! rules every backend shares: the lock taken on open, the stack check, the
//! serial bump on each write, and the refusal to write a state of another
//! stack or lineage or without the lock.

use std::sync::Arc;

use super::backend::StateBackend;
use super::error::StateError;
use super::format::StateFile;
use super::location::Location;
use super::lock_info::LockInfo;

/// Whether [`StateStore::open`] takes the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode<'a> {
    /// Take the exclusive lock, recording the command name (e.g. "apply").
    Exclusive {
        /// The command taking the lock, e.g. "apply".
        operation: &'a str,
    },
    /// No lock, for read-only commands; the store refuses to write.
    None,
}

/// An open state: its backend, its lock, and what is stored.
#[derive(Debug)]
pub struct StateStore {
    backend: Arc<dyn StateBackend>,
    lock: Option<LockInfo>,
    stack: String,
    lineage: String,
    /// Serial of the stored state as this store last read or wrote it;
    /// `None` while none is stored.
    disk_serial: Option<u64>,
}

impl StateStore {
    /// Opens the state kept by `backend` for `stack`, taking the lock first
    /// when asked. No stored state yields a fresh empty one (not written
    /// yet). A failed open releases the lock it took.
    pub async fn open(
        backend: Arc<dyn StateBackend>,
        stack: &str,
        lock: LockMode<'_>,
    ) -> Result<(StateStore, StateFile), StateError> {
        let info = match lock {
            LockMode::Exclusive { operation } => Some(backend.lock(operation).await?),
            LockMode::None => None,
        };
        let loaded = match load_for(backend.as_ref(), stack).await {
            Ok(l) => l,
            Err(e) => {
                if info.is_some() {
                    // The open failed already; its error is the one to show.
                    let _ = backend.unlock().await;
                }
                return Err(e);
            }
        };
        let (state, disk_serial) = match loaded {
            Some(s) => {
                let serial = s.serial;
                (s, Some(serial))
            }
            None => (StateFile::new(stack), None),
        };
        let store = StateStore {
            backend,
            lock: info,
            stack: stack.to_owned(),
            lineage: state.lineage.clone(),
            disk_serial,
        };
        Ok((store, state))
    }

    /// Where the state lives.
    pub fn location(&self) -> &Location {
        self.backend.location()
    }

    /// The backend this store reads and writes through.
    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.backend
    }

    /// The lock this store holds, if it was opened with one.
    pub fn lock_info(&self) -> Option<&LockInfo> {
        self.lock.as_ref()
    }

    /// Makes the next write replace the stored state with one of `lineage`
    /// (a state pushed or migrated from elsewhere); the backend still
    /// refuses if the stored state changed since this store read it.
    pub fn adopt_lineage(&mut self, lineage: &str) {
        self.lineage = lineage.to_owned();
    }

    /// Bumps `state.serial` and stores it through the backend, which keeps
    /// the replaced version as the backup. On error `state` is unchanged.
    pub async fn write(&mut self, state: &mut StateFile) -> Result<(), StateError> {
        if self.lock.is_none() {
            return Err(StateError::ReadOnly {
                location: self.location().clone(),
            });
        }
        for (what, expected, found) in [
            ("stack", &self.stack, &state.stack),
            ("lineage", &self.lineage, &state.lineage),
        ] {
            if expected != found {
                return Err(StateError::Mismatch {
                    location: self.location().clone(),
                    what,
                    expected: expected.clone(),
                    found: found.clone(),
                });
            }
        }
        let old_serial = state.serial;
        let new_serial = self.disk_serial.unwrap_or(0).max(old_serial) + 1;
        state.serial = new_serial;
        match self.backend.write(state, self.disk_serial).await {
            Ok(()) => {
                self.disk_serial = Some(new_serial);
                Ok(())
            }
            Err(e) => {
                state.serial = old_serial;
                Err(e)
            }
        }
    }

    /// Releases the lock, if this store holds one. Dropping the store
    /// without closing it leaves the release to the backend's own drop
    /// (the local file backend releases then; a remote one may not).
    pub async fn close(mut self) -> Result<(), StateError> {
        match self.lock.take() {
            Some(_) => self.backend.unlock().await,
            None => Ok(()),
        }
    }
}

/// Loads the stored state, refusing one of another stack.
async fn load_for(
    backend: &dyn StateBackend,
    stack: &str,
) -> Result<Option<StateFile>, StateError> {
    match backend.load().await? {
        Some(s) if s.stack != stack => Err(StateError::StackMismatch {
            location: backend.location().clone(),
            expected: stack.to_owned(),
            found: s.stack,
        }),
        loaded => Ok(loaded),
    }
}
