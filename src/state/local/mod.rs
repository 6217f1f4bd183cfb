//! [`LocalBackend`]: the state kept in a local file, with its backup and its
//! `flock` lock beside it (the files and their semantics are described in
//! the module docs of [`crate::state`]).
//!
//! The file work blocks (reads, fsyncs, renames, and a holder's lock details
//! retried for up to 200 ms), so every operation runs on tokio's blocking
//! pool through `spawn_blocking`: the executor drives many steps on a few
//! runtime threads, and an fsync there would stall the polls of all of them.

mod files;
mod lock;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use futures_util::future::BoxFuture;

use self::lock::LockGuard;
use crate::state::backend::{LockHolder, StateBackend};
use crate::state::error::StateError;
use crate::state::format::{StateFile, encode};
use crate::state::location::Location;
use crate::state::lock_info::LockInfo;

/// A state file on the local disk. Dropping it releases its lock and
/// deletes the lock file.
#[derive(Debug)]
pub struct LocalBackend {
    path: PathBuf,
    location: Location,
    /// The lock this backend holds; the mutex is never held across an await.
    lock: Mutex<Option<LockGuard>>,
}

impl LocalBackend {
    /// The state file at `path` (not touched until used).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        LocalBackend {
            location: Location::from(path.as_path()),
            path,
            lock: Mutex::new(None),
        }
    }

    /// `state/<config file stem>.state.json`, relative to the current
    /// directory.
    pub fn default_path(config_path: &Path) -> PathBuf {
        let stem = config_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "privlink".to_owned());
        PathBuf::from("state").join(format!("{stem}.state.json"))
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn held(&self) -> MutexGuard<'_, Option<LockGuard>> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the blocking pool with this backend's path.
    async fn blocking<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> Result<T, StateError> + Send + 'static,
    {
        let path = self.path.clone();
        match tokio::task::spawn_blocking(move || f(&path)).await {
            Ok(result) => result,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => Err(StateError::io(
                    "use state file",
                    &self.path,
                    std::io::Error::other(e),
                )),
            },
        }
    }
}

impl StateBackend for LocalBackend {
    fn location(&self) -> &Location {
        &self.location
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<StateFile>, StateError>> {
        Box::pin(self.blocking(files::read))
    }

    fn lock<'a>(&'a self, operation: &'a str) -> BoxFuture<'a, Result<LockInfo, StateError>> {
        let operation = operation.to_owned();
        Box::pin(async move {
            let guard = self
                .blocking(move |path| {
                    files::ensure_dir(path)?;
                    lock::acquire(path, &operation)
                })
                .await?;
            let info = guard.info().clone();
            *self.held() = Some(guard);
            Ok(info)
        })
    }

    fn write<'a>(
        &'a self,
        state: &'a StateFile,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            if self.held().is_none() {
                return Err(StateError::ReadOnly {
                    location: self.location.clone(),
                });
            }
            let body = encode(state).map_err(|source| StateError::Encode {
                location: self.location.clone(),
                source,
            })?;
            let lineage = state.lineage.clone();
            self.blocking(move |path| files::replace(path, &lineage, expected, &body))
                .await
        })
    }

    fn unlock(&self) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(async move {
            let guard = self.held().take();
            if let Some(guard) = guard {
                // Dropping the guard deletes the lock file and closes it.
                self.blocking(move |_| {
                    drop(guard);
                    Ok(())
                })
                .await?;
            }
            Ok(())
        })
    }

    fn force_unlock<'a>(&'a self, lock_id: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        let lock_id = lock_id.to_owned();
        Box::pin(self.blocking(move |path| lock::force_unlock(path, &lock_id)))
    }

    fn lock_holder(&self) -> BoxFuture<'_, Result<LockHolder, StateError>> {
        Box::pin(self.blocking(lock::holder))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use serde_json::json;

    use super::files::{backup_path, read};
    use super::*;
    use crate::model::Address;
    use crate::state::format::tests::sample_resource;
    use crate::state::{LockMode, StateStore, Status};

    const APPLY: LockMode<'static> = LockMode::Exclusive { operation: "apply" };

    fn state_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("state").join("prod.state.json")
    }

    /// Opens the local state at `path` for `stack`.
    async fn open(
        path: &Path,
        stack: &str,
        lock: LockMode<'_>,
    ) -> Result<(StateStore, StateFile), StateError> {
        StateStore::open(Arc::new(LocalBackend::new(path)), stack, lock).await
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// A state at `path` written twice (serials 1 and 2), so a backup exists.
    async fn written_twice(path: &Path) -> StateFile {
        let (mut store, mut state) = open(path, "prod", APPLY).await.unwrap();
        state.upsert(
            Address::endpoint("orders", "vpc_endpoint"),
            sample_resource(),
        );
        store.write(&mut state).await.unwrap();
        state.upsert(Address::endpoint("orders", "atlas"), sample_resource());
        store.write(&mut state).await.unwrap();
        state
    }

    fn corrupt_of(r: Result<Option<StateFile>, StateError>) -> (String, Option<Location>, String) {
        match r {
            Err(e @ StateError::Corrupt { .. }) => {
                let msg = e.to_string();
                let StateError::Corrupt { reason, backup, .. } = e else {
                    unreachable!()
                };
                (reason, backup, msg)
            }
            Err(e) => panic!("expected Corrupt, got {e}"),
            Ok(_) => panic!("expected Corrupt, the file was accepted"),
        }
    }

    #[test]
    fn default_path_is_under_state_named_after_the_config() {
        assert_eq!(
            LocalBackend::default_path(Path::new("conf/privlink.prod.yaml")),
            PathBuf::from("state/privlink.prod.state.json")
        );
        assert_eq!(
            LocalBackend::default_path(Path::new("stack.yml")),
            PathBuf::from("state/stack.state.json")
        );
    }

    #[tokio::test]
    async fn missing_file_opens_as_fresh_state_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (store, state) = open(&path, "prod", APPLY).await.unwrap();
        assert_eq!(store.location(), &Location::from(path.as_path()));
        assert!(state.is_empty());
        assert_eq!(state.serial, 0);
        assert_eq!(state.stack, "prod");
        assert!(!path.exists());
        assert!(read(&path).unwrap().is_none());
        // Read-only open of a missing file creates nothing at all.
        let other = dir.path().join("none").join("x.state.json");
        open(&other, "prod", LockMode::None).await.unwrap();
        assert!(!other.parent().unwrap().exists());
    }

    #[tokio::test]
    async fn round_trip_and_serial_bumps() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = open(&path, "prod", APPLY).await.unwrap();
        let lineage = state.lineage.clone();
        let a = Address::endpoint("orders", "vpc_endpoint");
        state.upsert(a.clone(), sample_resource());
        for expected in 1..=3 {
            store.write(&mut state).await.unwrap();
            assert_eq!(state.serial, expected);
            assert_eq!(read(&path).unwrap().unwrap(), state);
        }
        drop(store);

        let (mut store, mut again) = open(&path, "prod", APPLY).await.unwrap();
        assert_eq!(again, state);
        assert_eq!(again.lineage, lineage);
        again.resources.get_mut(&a).unwrap().status = Status::Ready;
        store.write(&mut again).await.unwrap();
        assert_eq!(again.serial, 4);
        let on_disk: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk["serial"], json!(4));
        assert_eq!(on_disk["lineage"], json!(lineage));
        assert_eq!(
            on_disk["resources"]["endpoints.orders.vpc_endpoint"]["status"],
            json!("ready")
        );
    }

    #[tokio::test]
    async fn write_is_atomic_private_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        written_twice(&path).await;
        let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // The store was dropped, so the lock file is gone too.
        assert_eq!(names, ["prod.state.json", "prod.state.json.backup"]);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&backup_path(&path)), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    #[tokio::test]
    async fn backup_holds_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let state = written_twice(&path).await;
        let backup = read(&backup_path(&path)).unwrap().unwrap();
        assert_eq!(backup.serial, 1);
        assert_eq!(backup.resources.len(), 1);
        assert_eq!(backup.lineage, state.lineage);
        assert_eq!(read(&path).unwrap().unwrap().serial, 2);
    }

    #[tokio::test]
    async fn corrupt_files_name_the_backup_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        written_twice(&path).await;
        let good = fs::read(&path).unwrap();
        let backup = backup_path(&path);
        let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
        v["version"] = json!(2);
        let newer = serde_json::to_vec(&v).unwrap();
        v["version"] = json!(1);
        v["serial"] = json!(-3);
        let negative = serde_json::to_vec(&v).unwrap();
        v["serial"] = json!(0);
        let zero = serde_json::to_vec(&v).unwrap();
        v["serial"] = json!(2);
        v["lineage"] = json!("nope");
        let bad_lineage = serde_json::to_vec(&v).unwrap();

        // A newer format is not corrupt: it asks for an upgrade instead.
        fs::write(&path, &newer).unwrap();
        let err = read(&path).map(|_| ()).unwrap_err();
        assert!(
            matches!(err, StateError::NewerFormat { found: 2, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("written by a newer privlink (format 2); upgrade privlink"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), newer, "newer: file was touched");

        let cases: [(&str, &[u8], &str); 6] = [
            ("truncated", &good[..good.len() / 2], "not valid JSON"),
            ("garbage", b"\x00\x01 not json at all", "not valid JSON"),
            ("empty", b"", "empty"),
            ("negative serial", &negative, "unexpected content"),
            ("zero serial", &zero, "serial is 0"),
            ("bad lineage", &bad_lineage, "not a UUID"),
        ];
        for (name, bytes, why) in cases {
            fs::write(&path, bytes).unwrap();
            let (reason, named, msg) = corrupt_of(read(&path));
            assert!(reason.contains(why), "{name}: {reason}");
            assert_eq!(named, Some(Location::from(backup.as_path())), "{name}");
            let restore = format!("cp {} {}", backup.display(), path.display());
            assert!(msg.contains(&restore), "{name}: {msg}");

            let err = open(&path, "prod", APPLY).await.map(|_| ()).unwrap_err();
            assert!(matches!(err, StateError::Corrupt { .. }), "{name}: {err}");
            assert_eq!(fs::read(&path).unwrap(), bytes, "{name}: file was touched");
        }
    }

    #[test]
    fn corrupt_file_without_a_valid_backup_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"{").unwrap();
        let (_, backup, msg) = corrupt_of(read(&path));
        assert_eq!(backup, None);
        assert!(msg.contains("No valid backup"), "{msg}");
        fs::write(backup_path(&path), b"also broken").unwrap();
        let (_, backup, _) = corrupt_of(read(&path));
        assert_eq!(backup, None, "a broken backup must not be offered");
    }

    #[tokio::test]
    async fn write_refuses_a_file_corrupted_after_open_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = open(&path, "prod", APPLY).await.unwrap();
        store.write(&mut state).await.unwrap();
        fs::write(&path, b"garbage").unwrap();
        let err = store.write(&mut state).await.unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert_eq!(state.serial, 1, "serial must not move on a failed write");
        assert_eq!(fs::read(&path).unwrap(), b"garbage");
    }

    #[tokio::test]
    async fn write_refuses_a_file_changed_by_someone_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = open(&path, "prod", APPLY).await.unwrap();
        store.write(&mut state).await.unwrap();
        let mut other = state.clone();
        other.serial = 7;
        fs::write(&path, serde_json::to_vec(&other).unwrap()).unwrap();
        let err = store.write(&mut state).await.unwrap_err();
        assert!(matches!(err, StateError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("serial 7"), "{err}");

        fs::remove_file(&path).unwrap();
        let err = store.write(&mut state).await.unwrap_err();
        assert!(matches!(err, StateError::Conflict { .. }), "{err}");
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn write_refuses_foreign_state_and_read_only_stores() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = open(&path, "prod", APPLY).await.unwrap();
        let mut foreign = StateFile::new("prod");
        let err = store.write(&mut foreign).await.unwrap_err();
        assert!(
            matches!(
                err,
                StateError::Mismatch {
                    what: "lineage",
                    ..
                }
            ),
            "{err}"
        );
        let mut wrong_stack = state.clone();
        wrong_stack.stack = "dev".into();
        let err = store.write(&mut wrong_stack).await.unwrap_err();
        assert!(
            matches!(err, StateError::Mismatch { what: "stack", .. }),
            "{err}"
        );
        assert!(!path.exists());
        store.write(&mut state).await.unwrap();
        drop(store);

        let (mut ro, mut state) = open(&path, "prod", LockMode::None).await.unwrap();
        let err = ro.write(&mut state).await.unwrap_err();
        assert!(matches!(err, StateError::ReadOnly { .. }), "{err}");
        assert_eq!(read(&path).unwrap().unwrap().serial, 1);
    }

    #[tokio::test]
    async fn another_stacks_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        written_twice(&path).await;
        let err = open(&path, "dev", APPLY).await.map(|_| ()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StateError::StackMismatch { .. }), "{msg}");
        assert!(msg.contains("\"prod\"") && msg.contains("\"dev\""), "{msg}");
        // The failed open released its lock.
        open(&path, "prod", APPLY).await.unwrap();
    }
}
