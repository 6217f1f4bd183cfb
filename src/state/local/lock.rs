//! The local backend's advisory lock on a state file: `flock(2)` on
//! `<state>.lock`, whose content ([`LockInfo`]) says who holds it. All of it
//! blocks. Semantics are described in the module docs of [`crate::state`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use fs4::{FileExt, TryLockError};

use super::files::sibling;
use crate::state::backend::LockHolder;
use crate::state::error::StateError;
use crate::state::lock_info::LockInfo;

/// A held lock. Dropping it deletes the lock file (if it is still ours) and
/// releases the `flock`.
#[derive(Debug)]
pub(crate) struct LockGuard {
    file: File,
    lock_path: PathBuf,
    info: LockInfo,
}

impl LockGuard {
    /// Who holds this lock (this process).
    pub(crate) fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Remove the file only while it still is the one we locked: after a
        // forced unlock another run may have created a new one.
        if names_file(&self.lock_path, &self.file).unwrap_or(false) {
            let _ = fs::remove_file(&self.lock_path);
        }
        // Closing `self.file` (dropped after this) releases the flock.
    }
}

/// `<state>.lock`.
pub(crate) fn lock_path(state_path: &Path) -> PathBuf {
    sibling(state_path, ".lock")
}

/// How many times to reopen the lock file when it is replaced under us.
const OPEN_ATTEMPTS: usize = 10;

/// Takes the lock of `state_path` without waiting.
pub(crate) fn acquire(state_path: &Path, operation: &str) -> Result<LockGuard, StateError> {
    let lock_path = lock_path(state_path);
    for _ in 0..OPEN_ATTEMPTS {
        let file = open_lock_file(&lock_path)?;
        match FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StateError::Locked {
                    location: state_path.into(),
                    info: read_holder(&file).map(Box::new),
                });
            }
            Err(TryLockError::Error(e)) => return Err(StateError::io("lock", &lock_path, e)),
        }
        // The file may have been deleted (released or forced) between our
        // open and our flock; then the lock we hold protects nothing.
        if !names_file(&lock_path, &file).map_err(|e| StateError::io("lock", &lock_path, e))? {
            continue;
        }
        let info = LockInfo::new(operation);
        write_info(&file, &info).map_err(|e| StateError::io("write lock file", &lock_path, e))?;
        return Ok(LockGuard {
            file,
            lock_path,
            info,
        });
    }
    Err(StateError::io(
        "lock",
        &lock_path,
        io::Error::other("the lock file kept being replaced while taking the lock"),
    ))
}

/// Removes the lock of `state_path`; see the module docs of
/// [`crate::state`] for when this is allowed.
pub(crate) fn force_unlock(state_path: &Path, lock_id: &str) -> Result<(), StateError> {
    let lock_path = lock_path(state_path);
    let file = match OpenOptions::new().read(true).write(true).open(&lock_path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StateError::NotLocked {
                location: state_path.into(),
            });
        }
        Err(e) => return Err(StateError::io("open lock file", &lock_path, e)),
    };
    match FileExt::try_lock(&file) {
        Ok(()) => {
            // Nobody holds it: a leftover. Remove it while we hold the flock,
            // if it is still the file at that path.
            if names_file(&lock_path, &file).map_err(|e| StateError::io("unlock", &lock_path, e))? {
                remove(&lock_path)?;
            }
            Ok(())
        }
        Err(TryLockError::WouldBlock) => {
            let holder = read_holder(&file);
            match holder {
                Some(h) if h.id == lock_id => remove(&lock_path),
                holder => Err(StateError::LockIdMismatch {
                    location: state_path.into(),
                    given: lock_id.to_owned(),
                    holder: holder.map(Box::new),
                }),
            }
        }
        Err(TryLockError::Error(e)) => Err(StateError::io("lock", &lock_path, e)),
    }
}

/// Whether a live run holds the lock of `state_path`: its `flock` is held.
pub(crate) fn holder(state_path: &Path) -> Result<LockHolder, StateError> {
    let lock_path = lock_path(state_path);
    let file = match OpenOptions::new().read(true).open(&lock_path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LockHolder::Gone),
        Err(e) => return Err(StateError::io("open lock file", &lock_path, e)),
    };
    match FileExt::try_lock_shared(&file) {
        // Closing the file releases the shared lock taken to look.
        Ok(()) => Ok(LockHolder::Gone),
        Err(TryLockError::WouldBlock) => Ok(LockHolder::Live(read_holder(&file).map(Box::new))),
        Err(TryLockError::Error(e)) => Err(StateError::io("lock", &lock_path, e)),
    }
}

fn remove(lock_path: &Path) -> Result<(), StateError> {
    match fs::remove_file(lock_path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StateError::io("remove lock file", lock_path, e)),
    }
}

fn open_lock_file(lock_path: &Path) -> Result<File, StateError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(lock_path)
        .map_err(|e| StateError::io("open lock file", lock_path, e))
}

/// Whether `path` currently names the same file as `file`.
fn names_file(path: &Path, file: &File) -> io::Result<bool> {
    let ours = file.metadata()?;
    match fs::metadata(path) {
        Ok(m) => Ok(m.dev() == ours.dev() && m.ino() == ours.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn write_info(mut file: &File, info: &LockInfo) -> io::Result<()> {
    // A leftover file may have been created by someone else with a wider mode.
    let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
    let body = serde_json::to_vec_pretty(info).map_err(io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&body)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Reads the holder's info. The holder writes it right after taking the
/// flock, so an empty or partial file is retried briefly.
fn read_holder(mut file: &File) -> Option<LockInfo> {
    for attempt in 0..20 {
        if attempt > 0 {
            std::thread::sleep(crate::limits::LOCK_INFO_RETRY_DELAY);
        }
        let mut buf = String::new();
        if file.seek(SeekFrom::Start(0)).is_err() || file.read_to_string(&mut buf).is_err() {
            continue;
        }
        if let Ok(info) = serde_json::from_str(&buf) {
            return Some(info);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use std::sync::Arc;

    use super::*;
    use crate::state::{LocalBackend, LockMode, StateFile, StateStore};

    const APPLY: LockMode<'static> = LockMode::Exclusive { operation: "apply" };
    const HELPER_ENV: &str = "PRIVLINK_STATE_LOCK_HELPER";

    fn state_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("state").join("prod.state.json")
    }

    /// Opens the local state at `path` for stack "prod".
    async fn open(path: &Path, lock: LockMode<'_>) -> Result<(StateStore, StateFile), StateError> {
        StateStore::open(Arc::new(LocalBackend::new(path)), "prod", lock).await
    }

    fn locked_info(r: Result<(StateStore, StateFile), StateError>) -> LockInfo {
        match r {
            Err(StateError::Locked { info: Some(i), .. }) => *i,
            Err(e) => panic!("expected Locked with info, got {e}"),
            Ok(_) => panic!("expected Locked, but the lock was granted"),
        }
    }

    #[tokio::test]
    async fn second_store_in_same_process_is_refused_at_once_with_holder_info() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (first, _) = open(&path, APPLY).await.unwrap();
        let held = first.lock_info().unwrap().clone();

        let started = Instant::now();
        let err = open(&path, LockMode::Exclusive { operation: "plan" })
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "did not fail at once"
        );
        let msg = err.to_string();
        let StateError::Locked {
            info: Some(info), ..
        } = err
        else {
            panic!("expected Locked, got {msg}");
        };
        assert_eq!(*info, held);
        assert_eq!(info.pid, std::process::id());
        assert_eq!(info.operation, "apply");
        assert!(uuid::Uuid::parse_str(&info.id).is_ok());
        humantime::parse_rfc3339(&info.created).expect("created is RFC 3339");
        assert!(!info.host.is_empty());
        for needle in [
            format!("state {} is locked by lock {}", path.display(), info.id),
            format!(
                "(apply, pid {} on {}, since {})",
                info.pid, info.host, info.created
            ),
            format!("privlink force-unlock {}", info.id),
        ] {
            assert!(msg.contains(&needle), "{msg:?} lacks {needle:?}");
        }
    }

    #[tokio::test]
    async fn lock_file_is_private_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let lock = lock_path(&path);
        let (first, _) = open(&path, APPLY).await.unwrap();
        let mode = fs::metadata(&lock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "lock file mode {mode:o}");
        let on_disk: LockInfo = serde_json::from_slice(&fs::read(&lock).unwrap()).unwrap();
        assert_eq!(&on_disk, first.lock_info().unwrap());

        drop(first);
        assert!(!lock.exists(), "lock file left after release");
        let (second, _) = open(&path, APPLY).await.unwrap();
        assert!(locked_info(open(&path, APPLY).await).id == second.lock_info().unwrap().id);
    }

    #[tokio::test]
    async fn read_only_open_takes_no_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (_held, _) = open(&path, APPLY).await.unwrap();
        let (ro, _) = open(&path, LockMode::None).await.unwrap();
        assert!(ro.lock_info().is_none());
    }

    #[tokio::test]
    async fn force_unlock_needs_the_holders_id_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut old, mut old_state) = open(&path, APPLY).await.unwrap();
        old.write(&mut old_state).await.unwrap();
        let id = old.lock_info().unwrap().id.clone();

        let err = force_unlock(&path, "not-the-id").unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, StateError::LockIdMismatch { holder: Some(h), .. } if h.id == id),
            "{msg}"
        );
        assert!(msg.contains(&id) && msg.contains("not-the-id"), "{msg}");
        assert!(lock_path(&path).exists());
        locked_info(open(&path, APPLY).await);

        force_unlock(&path, &id).unwrap();
        assert!(!lock_path(&path).exists());

        // The override lets a new run in; the old run can no longer write
        // over what the new one wrote.
        let (mut new, mut state) = open(&path, APPLY).await.unwrap();
        new.write(&mut state).await.unwrap();
        let err = old.write(&mut old_state).await.unwrap_err();
        assert!(matches!(err, StateError::Conflict { .. }), "{err}");

        // Releasing the old lock must not delete the new run's lock file.
        drop(old);
        assert!(lock_path(&path).exists());
        let info = locked_info(open(&path, APPLY).await);
        assert_eq!(info.id, new.lock_info().unwrap().id);
    }

    #[tokio::test]
    async fn stale_lock_file_does_not_block_and_can_be_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let stale = LockInfo {
            id: "11111111-2222-4333-8444-555555555555".into(),
            pid: 999_999,
            host: "gone".into(),
            operation: "apply".into(),
            created: "2026-01-01T00:00:00Z".into(),
        };
        fs::write(lock_path(&path), serde_json::to_vec(&stale).unwrap()).unwrap();

        let (store, _) = open(&path, APPLY).await.unwrap();
        let on_disk: LockInfo =
            serde_json::from_slice(&fs::read(lock_path(&path)).unwrap()).unwrap();
        assert_eq!(&on_disk, store.lock_info().unwrap());
        assert_ne!(on_disk.id, stale.id);
        drop(store);

        // A leftover is removed whatever id is given: nobody holds it.
        fs::write(lock_path(&path), serde_json::to_vec(&stale).unwrap()).unwrap();
        force_unlock(&path, "whatever").unwrap();
        assert!(!lock_path(&path).exists());
        assert!(matches!(
            force_unlock(&path, &stale.id),
            Err(StateError::NotLocked { .. })
        ));
    }

    #[tokio::test]
    async fn garbage_in_lock_file_of_a_live_holder_is_reported_without_info() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (held, _) = open(&path, APPLY).await.unwrap();
        fs::write(lock_path(&path), b"garbage").unwrap();
        let err = open(&path, APPLY).await.map(|_| ()).unwrap_err();
        assert!(
            matches!(err, StateError::Locked { info: None, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("is locked by another run"),
            "{err}"
        );
        let id = held.lock_info().unwrap().id.clone();
        assert!(matches!(
            force_unlock(&path, &id),
            Err(StateError::LockIdMismatch { holder: None, .. })
        ));
    }

    /// Not a test by itself: run as a child process by
    /// `lock_of_a_killed_process_does_not_block`, it takes the lock of the
    /// state named in the environment, signals readiness, and waits to be
    /// killed.
    #[tokio::test]
    #[ignore = "helper process for lock_of_a_killed_process_does_not_block"]
    async fn child_lock_holder() {
        let Some(path) = std::env::var_os(HELPER_ENV) else {
            return;
        };
        let path = PathBuf::from(path);
        let (_store, _) = open(&path, APPLY).await.unwrap();
        fs::write(sibling(&path, ".ready"), b"").unwrap();
        std::thread::sleep(Duration::from_secs(60));
    }

    #[tokio::test]
    async fn lock_of_a_killed_process_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let module = module_path!();
        let test_name = format!(
            "{}::child_lock_holder",
            module.split_once("::").map_or(module, |(_, rest)| rest)
        );
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &test_name, "--ignored", "--test-threads=1"])
            .env(HELPER_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = sibling(&path, ".ready");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("helper process never took the lock");
            }
            std::thread::sleep(Duration::from_millis(20));
        }

        let info = locked_info(open(&path, APPLY).await);
        assert_eq!(info.pid, child.id());

        child.kill().unwrap(); // SIGKILL: no destructor runs
        child.wait().unwrap();
        assert!(
            lock_path(&path).exists(),
            "the killed run's lock file stays behind"
        );
        let (store, _) = open(&path, APPLY).await.unwrap();
        assert_eq!(store.lock_info().unwrap().pid, std::process::id());
    }
}
