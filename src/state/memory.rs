//! [`MemoryBackend`]: a state kept in memory, with the same lock and write
//! checks as the local file, for fast tests of the engine. It records every
//! state written so that a test can inspect them and count the writes.

use std::future::ready;
use std::sync::{Mutex, MutexGuard};

use futures_util::future::BoxFuture;

use super::backend::StateBackend;
use super::error::StateError;
use super::format::StateFile;
use super::location::Location;
use super::lock_info::LockInfo;

/// A state in memory. Share it as `Arc<MemoryBackend>`: one clone goes to
/// the engine (as `Arc<dyn StateBackend>`), the test keeps the other to look
/// at what was written.
#[derive(Debug)]
pub struct MemoryBackend {
    location: Location,
    /// Never held across an await: no operation awaits anything.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    stored: Option<StateFile>,
    backup: Option<StateFile>,
    written: Vec<StateFile>,
    lock: Option<LockInfo>,
    fail_writes: bool,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBackend {
    /// No state stored, unlocked; its location shows as `memory`.
    pub fn new() -> Self {
        MemoryBackend {
            location: Location::new("memory"),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// `state` stored as if an earlier run had written it (not counted as a
    /// write). Its serial should be 1 or more, as every stored state's is.
    pub fn with_state(state: StateFile) -> Self {
        let backend = Self::new();
        backend.inner().stored = Some(state);
        backend
    }

    /// The stored state, if any.
    pub fn stored(&self) -> Option<StateFile> {
        self.inner().stored.clone()
    }

    /// The state the last write replaced, if any.
    pub fn backup(&self) -> Option<StateFile> {
        self.inner().backup.clone()
    }

    /// Every state written through this backend, oldest first.
    pub fn written(&self) -> Vec<StateFile> {
        self.inner().written.clone()
    }

    /// How many writes succeeded.
    pub fn writes(&self) -> usize {
        self.inner().written.len()
    }

    /// Who holds the lock, if anyone.
    pub fn lock_holder(&self) -> Option<LockInfo> {
        self.inner().lock.clone()
    }

    /// Makes every following write fail (with [`StateError::Io`]) until
    /// called again with `false`.
    pub fn fail_writes(&self, fail: bool) {
        self.inner().fail_writes = fail;
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_now(&self, operation: &str) -> Result<LockInfo, StateError> {
        let mut inner = self.inner();
        if let Some(holder) = &inner.lock {
            return Err(StateError::Locked {
                location: self.location.clone(),
                info: Some(Box::new(holder.clone())),
            });
        }
        let info = LockInfo::new(operation);
        inner.lock = Some(info.clone());
        Ok(info)
    }

    fn write_now(&self, state: &StateFile, expected: Option<u64>) -> Result<(), StateError> {
        let mut inner = self.inner();
        if inner.lock.is_none() {
            return Err(StateError::ReadOnly {
                location: self.location.clone(),
            });
        }
        if inner.fail_writes {
            return Err(StateError::io(
                "write state",
                self.location.clone(),
                std::io::Error::other("writes are set to fail"),
            ));
        }
        if let Some(reason) = conflict(inner.stored.as_ref(), &state.lineage, expected) {
            return Err(StateError::Conflict {
                location: self.location.clone(),
                reason,
            });
        }
        inner.backup = inner.stored.replace(state.clone());
        inner.written.push(state.clone());
        Ok(())
    }

    fn force_unlock_now(&self, lock_id: &str) -> Result<(), StateError> {
        let mut inner = self.inner();
        match &inner.lock {
            None => Err(StateError::NotLocked {
                location: self.location.clone(),
            }),
            Some(h) if h.id == lock_id => {
                inner.lock = None;
                Ok(())
            }
            Some(h) => Err(StateError::LockIdMismatch {
                location: self.location.clone(),
                given: lock_id.to_owned(),
                holder: Some(Box::new(h.clone())),
            }),
        }
    }
}

/// Why a write expecting serial `expected` of `lineage` may not replace
/// `stored`, if it may not.
fn conflict(stored: Option<&StateFile>, lineage: &str, expected: Option<u64>) -> Option<String> {
    match (stored, expected) {
        (None, None) => None,
        (None, Some(s)) => Some(format!(
            "the state disappeared (this run last saw serial {s})"
        )),
        (Some(st), _) if st.lineage != lineage => Some(format!(
            "the state now has lineage {}, this run opened lineage {lineage}",
            st.lineage
        )),
        (Some(st), Some(s)) if st.serial == s => None,
        (Some(st), Some(s)) => Some(format!(
            "the state has serial {}, this run last saw serial {s}",
            st.serial
        )),
        (Some(st), None) => Some(format!(
            "the state appeared after this run started (serial {})",
            st.serial
        )),
    }
}

impl StateBackend for MemoryBackend {
    fn location(&self) -> &Location {
        &self.location
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<StateFile>, StateError>> {
        Box::pin(ready(Ok(self.stored())))
    }

    fn lock<'a>(&'a self, operation: &'a str) -> BoxFuture<'a, Result<LockInfo, StateError>> {
        Box::pin(ready(self.lock_now(operation)))
    }

    fn write<'a>(
        &'a self,
        state: &'a StateFile,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(ready(self.write_now(state, expected)))
    }

    fn unlock(&self) -> BoxFuture<'_, Result<(), StateError>> {
        self.inner().lock = None;
        Box::pin(ready(Ok(())))
    }

    fn force_unlock<'a>(&'a self, lock_id: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(ready(self.force_unlock_now(lock_id)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::Address;
    use crate::state::format::tests::sample_resource;
    use crate::state::{LockMode, StateStore};

    const APPLY: LockMode<'static> = LockMode::Exclusive { operation: "apply" };

    async fn open(
        mem: &Arc<MemoryBackend>,
        lock: LockMode<'_>,
    ) -> Result<(StateStore, StateFile), StateError> {
        StateStore::open(mem.clone(), "prod", lock).await
    }

    #[tokio::test]
    async fn writes_are_recorded_counted_and_backed_up() {
        let mem = Arc::new(MemoryBackend::new());
        let (mut store, mut state) = open(&mem, APPLY).await.unwrap();
        assert_eq!(store.location().as_str(), "memory");
        assert_eq!(mem.writes(), 0);
        assert!(mem.stored().is_none());
        state.upsert(
            Address::endpoint("orders", "vpc_endpoint"),
            sample_resource(),
        );
        store.write(&mut state).await.unwrap();
        store.write(&mut state).await.unwrap();
        assert_eq!(mem.writes(), 2);
        let serials: Vec<u64> = mem.written().iter().map(|s| s.serial).collect();
        assert_eq!(serials, [1, 2]);
        assert_eq!(mem.stored().unwrap(), state);
        assert_eq!(mem.backup().unwrap().serial, 1);
        store.close().await.unwrap();
        assert!(mem.lock_holder().is_none());

        let (_, again) = open(&mem, LockMode::None).await.unwrap();
        assert_eq!(again, state);
        let err = StateStore::open(mem.clone(), "dev", APPLY)
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(err, StateError::StackMismatch { .. }), "{err}");
        assert!(mem.lock_holder().is_none(), "a failed open keeps no lock");
    }

    #[tokio::test]
    async fn lock_conflict_and_force_unlock_behave_like_the_file() {
        let mem = Arc::new(MemoryBackend::new());
        let (mut old, mut old_state) = open(&mem, APPLY).await.unwrap();
        old.write(&mut old_state).await.unwrap();
        let id = old.lock_info().unwrap().id.clone();
        let err = open(&mem, APPLY).await.map(|_| ()).unwrap_err();
        assert!(
            matches!(&err, StateError::Locked { info: Some(i), .. } if i.id == id),
            "{err}"
        );
        let err = mem.force_unlock("not-the-id").await.unwrap_err();
        assert!(matches!(err, StateError::LockIdMismatch { .. }), "{err}");
        mem.force_unlock(&id).await.unwrap();
        assert!(matches!(
            mem.force_unlock(&id).await,
            Err(StateError::NotLocked { .. })
        ));

        let (mut new, mut state) = open(&mem, APPLY).await.unwrap();
        new.write(&mut state).await.unwrap();
        let err = old.write(&mut old_state).await.unwrap_err();
        assert!(matches!(err, StateError::Conflict { .. }), "{err}");
        assert_eq!(
            old_state.serial, 1,
            "serial must not move on a failed write"
        );

        mem.fail_writes(true);
        let err = new.write(&mut state).await.unwrap_err();
        assert!(matches!(err, StateError::Io { .. }), "{err}");
        mem.fail_writes(false);
        new.write(&mut state).await.unwrap();
        assert_eq!(mem.writes(), 3);
    }
}
