//! The file operations of the local backend, all blocking: reading and
//! validating a state file, checking it before a replacement, and replacing
//! it atomically with its backup.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::state::error::StateError;
use crate::state::format::{StateFile, newer_version, validate};
use crate::state::location::Location;

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

/// Reads and validates the state at `path` without locking; `None` when
/// there is no file.
pub(crate) fn read(path: &Path) -> Result<Option<StateFile>, StateError> {
    match read_bytes(path)? {
        None => Ok(None),
        Some(b) => parse(path, &b).map(Some),
    }
}

/// Replaces the state at `path` with `body` after checking that the file
/// on disk is still at serial `expected` (`None`: no file) with `lineage`,
/// and copying it to the backup.
pub(crate) fn replace(
    path: &Path,
    lineage: &str,
    expected: Option<u64>,
    body: &[u8],
) -> Result<(), StateError> {
    let previous = check_disk(path, lineage, expected)?;
    ensure_dir(path)?;
    if let Some(prev) = previous {
        write_atomic(&backup_path(path), &prev)?;
    }
    write_atomic(path, body)
}

/// Checks that the file on disk is the one the writer knows, returning its
/// bytes (valid state) when there is one.
fn check_disk(
    path: &Path,
    lineage: &str,
    expected: Option<u64>,
) -> Result<Option<Vec<u8>>, StateError> {
    let bytes = read_bytes(path)?;
    let conflict = |reason: String| StateError::Conflict {
        location: path.into(),
        reason,
    };
    match (&bytes, expected) {
        (None, None) => Ok(None),
        (None, Some(s)) => Err(conflict(format!(
            "the file disappeared (this run last saw serial {s})"
        ))),
        (Some(b), expected) => {
            let on_disk = parse(path, b)?;
            if on_disk.lineage != lineage {
                return Err(conflict(format!(
                    "the file now has lineage {}, this run opened lineage {lineage}",
                    on_disk.lineage
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

fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::io("read state file", path, e)),
    }
}

/// Parses and validates; a state of a newer format is
/// [`StateError::NewerFormat`], other failures are [`StateError::Corrupt`]
/// naming the backup when that one is valid.
fn parse(path: &Path, bytes: &[u8]) -> Result<StateFile, StateError> {
    validate(bytes).map_err(|reason| match newer_version(bytes) {
        Some(found) => StateError::NewerFormat {
            location: path.into(),
            found,
        },
        None => StateError::Corrupt {
            location: path.into(),
            reason,
            backup: good_backup(path),
        },
    })
}

fn good_backup(path: &Path) -> Option<Location> {
    let b = backup_path(path);
    let bytes = fs::read(&b).ok()?;
    validate(&bytes).ok().map(|_| b.as_path().into())
}

/// Creates the state file's directory (0700) when missing.
pub(crate) fn ensure_dir(path: &Path) -> Result<(), StateError> {
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
