//! Opening, validating and atomically writing state files.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::lock::{self, LockGuard, LockInfo};
use super::{FORMAT_VERSION, StateError, StateFile};

/// Whether [`StateStore::open`] takes the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode<'a> {
    /// Take the exclusive lock, recording the command name (e.g. "apply").
    Exclusive { operation: &'a str },
    /// No lock, for read-only commands; the store refuses to write.
    None,
}

/// An open state file: its path, its lock, and what is on disk.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    lock: Option<LockGuard>,
    stack: String,
    lineage: String,
    /// Serial of the file on disk as this store last read or wrote it;
    /// `None` while no file exists.
    disk_serial: Option<u64>,
}

impl StateStore {
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

    /// Opens the state at `path` for `stack`, taking the lock first when
    /// asked. A missing file yields a fresh empty state (not written yet).
    pub fn open(
        path: &Path,
        stack: &str,
        lock: LockMode<'_>,
    ) -> Result<(StateStore, StateFile), StateError> {
        let guard = match lock {
            LockMode::Exclusive { operation } => {
                ensure_dir(path)?;
                Some(lock::acquire(path, operation)?)
            }
            LockMode::None => None,
        };
        let (state, disk_serial) = match read(path)? {
            Some(s) => {
                if s.stack != stack {
                    return Err(StateError::StackMismatch {
                        path: path.to_owned(),
                        expected: stack.to_owned(),
                        found: s.stack,
                    });
                }
                let serial = s.serial;
                (s, Some(serial))
            }
            None => (StateFile::new(stack), None),
        };
        let store = StateStore {
            path: path.to_owned(),
            lock: guard,
            stack: stack.to_owned(),
            lineage: state.lineage.clone(),
            disk_serial,
        };
        Ok((store, state))
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock this store holds, if it was opened with one.
    pub fn lock_info(&self) -> Option<&LockInfo> {
        self.lock.as_ref().map(LockGuard::info)
    }

    /// Bumps `state.serial` and replaces the file atomically, after copying
    /// the current file to `<path>.backup`. On error `state` is unchanged.
    pub fn write(&mut self, state: &mut StateFile) -> Result<(), StateError> {
        if self.lock.is_none() {
            return Err(StateError::ReadOnly {
                path: self.path.clone(),
            });
        }
        for (what, expected, found) in [
            ("stack", &self.stack, &state.stack),
            ("lineage", &self.lineage, &state.lineage),
        ] {
            if expected != found {
                return Err(StateError::Mismatch {
                    path: self.path.clone(),
                    what,
                    expected: expected.clone(),
                    found: found.clone(),
                });
            }
        }

        let previous = self.check_disk()?;
        ensure_dir(&self.path)?;

        let old_serial = state.serial;
        let new_serial = self.disk_serial.unwrap_or(0).max(old_serial) + 1;
        state.serial = new_serial;
        let body = match serde_json::to_vec_pretty(state) {
            Ok(mut b) => {
                b.push(b'\n');
                b
            }
            Err(source) => {
                state.serial = old_serial;
                return Err(StateError::Encode {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let result = previous
            .map_or(Ok(()), |prev| write_atomic(&backup_path(&self.path), &prev))
            .and_then(|()| write_atomic(&self.path, &body));
        match result {
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

    /// Checks that the file on disk is the one this store knows, returning
    /// its bytes (valid state) when there is one.
    fn check_disk(&self) -> Result<Option<Vec<u8>>, StateError> {
        let bytes = read_bytes(&self.path)?;
        let conflict = |reason: String| StateError::Conflict {
            path: self.path.clone(),
            reason,
        };
        match (&bytes, self.disk_serial) {
            (None, None) => Ok(None),
            (None, Some(s)) => Err(conflict(format!(
                "the file disappeared (this run last saw serial {s})"
            ))),
            (Some(b), expected) => {
                let on_disk = parse(&self.path, b)?;
                if on_disk.lineage != self.lineage {
                    return Err(conflict(format!(
                        "the file now has lineage {}, this run opened lineage {}",
                        on_disk.lineage, self.lineage
                    )));
                }
                match expected {
                    Some(s) if s == on_disk.serial => Ok(bytes),
                    Some(s) => Err(conflict(format!(
                        "the file has serial {}, this run last saw serial {s}",
                        on_disk.serial
                    ))),
                    None => Err(conflict(format!(
                        "the file appeared after this run started (serial {})",
                        on_disk.serial
                    ))),
                }
            }
        }
    }
}

/// Reads and validates the state at `path` without locking; `None` when
/// there is no file.
pub fn read(path: &Path) -> Result<Option<StateFile>, StateError> {
    match read_bytes(path)? {
        None => Ok(None),
        Some(b) => parse(path, &b).map(Some),
    }
}

/// Fails if any non-empty secret occurs anywhere in the state. The error
/// names the resource address, never the secret.
pub fn check_no_secrets(state: &StateFile, secrets: &[&str]) -> Result<(), StateError> {
    let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() {
        return Ok(());
    }
    let contains = |text: &str| secrets.iter().any(|s| text.contains(s));
    for (address, resource) in &state.resources {
        // Serialized as JSON, a secret with quotes or backslashes is escaped;
        // check the raw strings too by walking the values.
        let json = serde_json::to_string(resource).unwrap_or_default();
        let mut found = contains(&json) || contains(address.as_str());
        visit_strings(
            &serde_json::to_value(resource).unwrap_or_default(),
            &mut |s| {
                found |= contains(s);
            },
        );
        if found {
            return Err(StateError::SecretInState {
                location: address.to_string(),
            });
        }
    }
    if contains(&state.stack) || contains(&state.lineage) {
        return Err(StateError::SecretInState {
            location: "the state header".to_owned(),
        });
    }
    Ok(())
}

fn visit_strings(v: &serde_json::Value, f: &mut impl FnMut(&str)) {
    match v {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter().for_each(|i| visit_strings(i, f)),
        serde_json::Value::Object(m) => m.iter().for_each(|(k, i)| {
            f(k);
            visit_strings(i, f);
        }),
        _ => {}
    }
}

/// `<path>.backup`.
pub(crate) fn backup_path(path: &Path) -> PathBuf {
    sibling(path, ".backup")
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::io("read state file", path, e)),
    }
}

/// Parses and validates; failures are [`StateError::Corrupt`] naming the
/// backup when that one is valid.
fn parse(path: &Path, bytes: &[u8]) -> Result<StateFile, StateError> {
    validate(bytes).map_err(|reason| StateError::Corrupt {
        path: path.to_owned(),
        reason,
        backup: good_backup(path),
    })
}

fn good_backup(path: &Path) -> Option<PathBuf> {
    let b = backup_path(path);
    let bytes = fs::read(&b).ok()?;
    validate(&bytes).ok().map(|_| b)
}

fn validate(bytes: &[u8]) -> Result<StateFile, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the file is empty".to_owned());
    }
    // Look at the version first, so a newer format is reported as such and
    // not as a shape mismatch.
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    match value.get("version").map(|v| v.as_u64()) {
        None => return Err("no \"version\" field".to_owned()),
        Some(Some(v)) if v == u64::from(FORMAT_VERSION) => {}
        Some(Some(v)) => {
            return Err(format!(
                "format version {v} is not supported (this privlink reads version {FORMAT_VERSION})"
            ));
        }
        Some(None) => return Err("\"version\" is not a number".to_owned()),
    }
    let state: StateFile =
        serde_json::from_value(value).map_err(|e| format!("unexpected content ({e})"))?;
    if state.serial == 0 {
        return Err("serial is 0, but every written state has serial 1 or more".to_owned());
    }
    if uuid::Uuid::parse_str(&state.lineage).is_err() {
        return Err(format!("lineage {:?} is not a UUID", state.lineage));
    }
    Ok(state)
}

/// Creates the state file's directory (0700) when missing.
fn ensure_dir(path: &Path) -> Result<(), StateError> {
    let dir = parent_dir(path);
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StateError::io("create state directory", dir, e))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `body` to `path` atomically with mode 0600: temporary file in the
/// same directory, fsync, rename, fsync of the directory.
fn write_atomic(path: &Path, body: &[u8]) -> Result<(), StateError> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = write_new_file(&tmp, body)
        .and_then(|()| {
            fs::rename(&tmp, path).map_err(|e| StateError::io("replace state file", path, e))
        })
        .and_then(|()| {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StateError::io("sync directory", dir, e))
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_new_file(tmp: &Path, body: &[u8]) -> Result<(), StateError> {
    let io_err = |e| StateError::io("write temporary state file", tmp, e);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(io_err)?;
    // The umask can only narrow the mode; make it exactly 0600.
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_err)?;
    f.write_all(body).map_err(io_err)?;
    f.sync_all().map_err(io_err)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use serde_json::json;

    use super::*;
    use crate::model::Address;
    use crate::state::Status;
    use crate::state::tests::sample_resource;

    const APPLY: LockMode<'static> = LockMode::Exclusive { operation: "apply" };

    fn state_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("state").join("prod.state.json")
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// A state at `path` written twice (serials 1 and 2), so a backup exists.
    fn written_twice(path: &Path) -> StateFile {
        let (mut store, mut state) = StateStore::open(path, "prod", APPLY).unwrap();
        state.upsert(
            Address::endpoint("orders", "vpc_endpoint"),
            sample_resource(),
        );
        store.write(&mut state).unwrap();
        state.upsert(Address::endpoint("orders", "atlas"), sample_resource());
        store.write(&mut state).unwrap();
        state
    }

    fn corrupt_of(r: Result<Option<StateFile>, StateError>) -> (String, Option<PathBuf>, String) {
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
            StateStore::default_path(Path::new("conf/privlink.prod.yaml")),
            PathBuf::from("state/privlink.prod.state.json")
        );
        assert_eq!(
            StateStore::default_path(Path::new("stack.yml")),
            PathBuf::from("state/stack.state.json")
        );
    }

    #[test]
    fn missing_file_opens_as_fresh_state_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (store, state) = StateStore::open(&path, "prod", APPLY).unwrap();
        assert_eq!(store.path(), path);
        assert!(state.is_empty());
        assert_eq!(state.serial, 0);
        assert_eq!(state.stack, "prod");
        assert!(!path.exists());
        assert!(read(&path).unwrap().is_none());
        // Read-only open of a missing file creates nothing at all.
        let other = dir.path().join("none").join("x.state.json");
        StateStore::open(&other, "prod", LockMode::None).unwrap();
        assert!(!other.parent().unwrap().exists());
    }

    #[test]
    fn round_trip_and_serial_bumps() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = StateStore::open(&path, "prod", APPLY).unwrap();
        let lineage = state.lineage.clone();
        let a = Address::endpoint("orders", "vpc_endpoint");
        state.upsert(a.clone(), sample_resource());
        for expected in 1..=3 {
            store.write(&mut state).unwrap();
            assert_eq!(state.serial, expected);
            assert_eq!(read(&path).unwrap().unwrap(), state);
        }
        drop(store);

        let (mut store, mut again) = StateStore::open(&path, "prod", APPLY).unwrap();
        assert_eq!(again, state);
        assert_eq!(again.lineage, lineage);
        again.resources.get_mut(&a).unwrap().status = Status::Ready;
        store.write(&mut again).unwrap();
        assert_eq!(again.serial, 4);
        let on_disk: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk["serial"], json!(4));
        assert_eq!(on_disk["lineage"], json!(lineage));
        assert_eq!(
            on_disk["resources"]["endpoints.orders.vpc_endpoint"]["status"],
            json!("ready")
        );
    }

    #[test]
    fn write_is_atomic_private_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        written_twice(&path);
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

    #[test]
    fn backup_holds_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let state = written_twice(&path);
        let backup = read(&backup_path(&path)).unwrap().unwrap();
        assert_eq!(backup.serial, 1);
        assert_eq!(backup.resources.len(), 1);
        assert_eq!(backup.lineage, state.lineage);
        assert_eq!(read(&path).unwrap().unwrap().serial, 2);
    }

    #[test]
    fn corrupt_files_name_the_backup_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        written_twice(&path);
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

        let cases: [(&str, &[u8], &str); 7] = [
            ("truncated", &good[..good.len() / 2], "not valid JSON"),
            ("garbage", b"\x00\x01 not json at all", "not valid JSON"),
            ("empty", b"", "empty"),
            ("newer version", &newer, "format version 2 is not supported"),
            ("negative serial", &negative, "unexpected content"),
            ("zero serial", &zero, "serial is 0"),
            ("bad lineage", &bad_lineage, "not a UUID"),
        ];
        for (name, bytes, why) in cases {
            fs::write(&path, bytes).unwrap();
            let (reason, named, msg) = corrupt_of(read(&path));
            assert!(reason.contains(why), "{name}: {reason}");
            assert_eq!(named.as_deref(), Some(backup.as_path()), "{name}");
            let restore = format!("cp {} {}", backup.display(), path.display());
            assert!(msg.contains(&restore), "{name}: {msg}");

            let err = StateStore::open(&path, "prod", APPLY)
                .map(|_| ())
                .unwrap_err();
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

    #[test]
    fn write_refuses_a_file_corrupted_after_open_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = StateStore::open(&path, "prod", APPLY).unwrap();
        store.write(&mut state).unwrap();
        fs::write(&path, b"garbage").unwrap();
        let err = store.write(&mut state).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert_eq!(state.serial, 1, "serial must not move on a failed write");
        assert_eq!(fs::read(&path).unwrap(), b"garbage");
    }

    #[test]
    fn write_refuses_a_file_changed_by_someone_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = StateStore::open(&path, "prod", APPLY).unwrap();
        store.write(&mut state).unwrap();
        let mut other = state.clone();
        other.serial = 7;
        fs::write(&path, serde_json::to_vec(&other).unwrap()).unwrap();
        let err = store.write(&mut state).unwrap_err();
        assert!(matches!(err, StateError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("serial 7"), "{err}");

        fs::remove_file(&path).unwrap();
        let err = store.write(&mut state).unwrap_err();
        assert!(matches!(err, StateError::Conflict { .. }), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn write_refuses_foreign_state_and_read_only_stores() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        let (mut store, mut state) = StateStore::open(&path, "prod", APPLY).unwrap();
        let mut foreign = StateFile::new("prod");
        let err = store.write(&mut foreign).unwrap_err();
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
        let err = store.write(&mut wrong_stack).unwrap_err();
        assert!(
            matches!(err, StateError::Mismatch { what: "stack", .. }),
            "{err}"
        );
        assert!(!path.exists());
        store.write(&mut state).unwrap();
        drop(store);

        let (mut ro, mut state) = StateStore::open(&path, "prod", LockMode::None).unwrap();
        let err = ro.write(&mut state).unwrap_err();
        assert!(matches!(err, StateError::ReadOnly { .. }), "{err}");
        assert_eq!(read(&path).unwrap().unwrap().serial, 1);
    }

    #[test]
    fn another_stacks_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir);
        written_twice(&path);
        let err = StateStore::open(&path, "dev", APPLY)
            .map(|_| ())
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StateError::StackMismatch { .. }), "{msg}");
        assert!(msg.contains("\"prod\"") && msg.contains("\"dev\""), "{msg}");
        // The failed open released its lock.
        StateStore::open(&path, "prod", APPLY).unwrap();
    }

    #[test]
    fn secrets_are_detected_without_being_shown() {
        let mut state = StateFile::new("prod");
        let a = Address::endpoint("orders", "vpc_endpoint");
        let mut r = sample_resource();
        r.attributes
            .insert("note".into(), json!(["x", {"k": "pre-s3cr\"et-post"}]));
        state.upsert(a, r);
        check_no_secrets(&state, &["other", ""]).unwrap();
        let err = check_no_secrets(&state, &["s3cr\"et"]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("endpoints.orders.vpc_endpoint"), "{msg}");
        assert!(!msg.contains("s3cr"), "{msg}");
        assert!(check_no_secrets(&state, &["vpce-0abc"]).is_err());
        assert!(check_no_secrets(&state, &[]).is_ok());
    }
}
