//! [`S3Backend`]: a state kept as one object in S3, shared by every machine
//! that runs privlink for it (laptops, CI runners), with S3's own
//! conditional writes as the lock and as the guard of every write, the way
//! Terraform's S3 backend does it with `use_lockfile`.
//!
//! For a state at `s3://bucket/key`:
//!
//! - `key` holds the state (the same JSON as a local state file). Every
//!   write is a compare-and-swap: `If-Match` on the ETag this run last read
//!   or wrote, or `If-None-Match: *` when there was none. A write that loses
//!   (S3 answers 412) replaces nothing; the state the run meant to write is
//!   saved to a local file named in the error ([`StateError::Rejected`]).
//! - `key.lock` exists while a run holds the lock: it is created with
//!   `If-None-Match: *`, so exactly one of two runs gets it; the other reads
//!   its content ([`LockInfo`]) and names the holder. It is deleted on
//!   exit (also after the first Ctrl-C); a run killed outright leaves it,
//!   and `privlink force-unlock ID` removes it.
//! - The previous version is kept: by S3 itself when the bucket has
//!   versioning (S3 answers with a version id), otherwise as `key.backup`,
//!   written before each replacement.
//!
//! Credentials and region come from the standard AWS chain (the address's
//! region, else `AWS_REGION` and profiles, else the file's `aws.region`);
//! `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`) points it elsewhere, with
//! path-style addressing. This module lives outside `crate::state` because
//! the engine imports no cloud SDK.

mod objects;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::state::{
    Location, LockHolder, LockInfo, S3Address, StateBackend, StateError, StateFile, encode,
};

use self::objects::{Objects, Put};

/// A state object in S3 with its lock object.
#[derive(Debug)]
pub struct S3Backend {
    address: S3Address,
    location: Location,
    objects: Objects,
    /// Where a rejected write is saved: this directory.
    errored_dir: PathBuf,
    /// What this backend last read or wrote, and the lock it holds; never
    /// held across an await.
    seen: Mutex<Seen>,
}

/// What this backend knows of the stored objects.
#[derive(Debug, Default)]
struct Seen {
    /// The ETag of the state as last read or written (`None`: none stored).
    etag: Option<String>,
    /// Its content, for the backup of an unversioned bucket.
    body: Option<Vec<u8>>,
    /// Whether S3 keeps versions of it (it answered with a version id).
    versioned: bool,
    /// The lock this backend holds.
    lock: Option<LockInfo>,
}

/// Timeouts of the S3 client.
#[derive(Debug, Clone, Copy)]
pub struct S3Timeouts {
    /// Opening a connection.
    pub connect: Duration,
    /// One attempt of one request.
    pub attempt: Duration,
}

impl S3Backend {
    /// The state at `address`; `fallback_region` is used when neither the
    /// address nor the AWS chain names a region. Nothing is called yet.
    pub fn new(address: S3Address, fallback_region: Option<String>, timeouts: S3Timeouts) -> Self {
        S3Backend {
            location: Location::new(address.url()),
            objects: Objects::new(address.clone(), fallback_region, timeouts),
            address,
            errored_dir: PathBuf::from("."),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Saves rejected writes in `dir` instead of the working directory.
    pub fn with_errored_dir(mut self, dir: PathBuf) -> Self {
        self.errored_dir = dir;
        self
    }

    /// The address of the state object.
    pub fn address(&self) -> &S3Address {
        &self.address
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn load_now(&self) -> Result<Option<StateFile>, StateError> {
        let Some(object) = self.objects.get(&self.address.key).await? else {
            let mut seen = self.seen();
            (seen.etag, seen.body) = (None, None);
            return Ok(None);
        };
        let state = self.parse(&object.body).await?;
        let mut seen = self.seen();
        seen.etag = object.etag;
        seen.versioned = object.versioned;
        seen.body = Some(object.body);
        Ok(Some(state))
    }

    /// Validates a stored state, naming a valid backup object when it is
    /// corrupt.
    async fn parse(&self, body: &[u8]) -> Result<StateFile, StateError> {
        let reason = match crate::state::validate(body) {
            Ok(state) => return Ok(state),
            Err(reason) => reason,
        };
        if let Some(found) = crate::state::newer_version(body) {
            return Err(StateError::NewerFormat {
                location: self.location.clone(),
                found,
            });
        }
        let backup_key = self.address.backup_key();
        let backup = match self.objects.get(&backup_key).await {
            Ok(Some(b)) if crate::state::validate(&b.body).is_ok() => Some(Location::new(format!(
                "s3://{}/{backup_key}",
                self.address.bucket
            ))),
            _ => None,
        };
        Err(StateError::Corrupt {
            location: self.location.clone(),
            reason,
            backup,
        })
    }

    async fn lock_now(&self, operation: &str) -> Result<LockInfo, StateError> {
        let info = LockInfo::new(operation);
        let body = serde_json::to_vec_pretty(&info).map_err(|source| StateError::Encode {
            location: self.location.clone(),
            source,
        })?;
        let lock_key = self.address.lock_key();
        match self.objects.put(&lock_key, body, Put::IfAbsent).await? {
            Ok(_) => {
                self.seen().lock = Some(info.clone());
                Ok(info)
            }
            Err(_) => Err(StateError::Locked {
                location: self.location.clone(),
                info: self.holder().await?.map(Box::new),
            }),
        }
    }

    /// The lock object's content; `None` when there is no lock object (or
    /// it does not hold lock details).
    async fn holder(&self) -> Result<Option<LockInfo>, StateError> {
        let object = self.objects.get(&self.address.lock_key()).await?;
        Ok(object.and_then(|o| serde_json::from_slice(&o.body).ok()))
    }

    async fn write_now(&self, state: &StateFile, expected: Option<u64>) -> Result<(), StateError> {
        let (etag, previous, versioned) = {
            let seen = self.seen();
            if seen.lock.is_none() {
                return Err(StateError::ReadOnly {
                    location: self.location.clone(),
                });
            }
            (seen.etag.clone(), seen.body.clone(), seen.versioned)
        };
        let body = encode(state).map_err(|source| StateError::Encode {
            location: self.location.clone(),
            source,
        })?;
        let condition = match (expected, etag) {
            (None, _) => Put::IfAbsent,
            (Some(_), Some(tag)) => Put::IfMatch(tag),
            // Never read by this backend: compare with what is stored now.
            (Some(serial), None) => self.current_tag(serial, &state.lineage).await?,
        };
        if let (Put::IfMatch(_), Some(previous), false) = (&condition, previous, versioned) {
            let backup = self.address.backup_key();
            self.objects.put(&backup, previous, Put::Always).await?.ok();
        }
        match self
            .objects
            .put(&self.address.key, body.clone(), condition)
            .await?
        {
            Ok(written) => {
                let mut seen = self.seen();
                seen.etag = written.etag;
                seen.versioned = written.versioned;
                seen.body = Some(body);
                Ok(())
            }
            Err(()) => Err(self.rejected(state, &body, expected).await),
        }
    }

    /// The ETag of the stored state when it is at `serial` of `lineage`.
    async fn current_tag(&self, serial: u64, lineage: &str) -> Result<Put, StateError> {
        let object = self.objects.get(&self.address.key).await?;
        match object {
            Some(o) => {
                let stored = self.parse(&o.body).await?;
                if stored.serial == serial
                    && stored.lineage == lineage
                    && let Some(tag) = o.etag
                {
                    return Ok(Put::IfMatch(tag));
                }
                Err(StateError::Conflict {
                    location: self.location.clone(),
                    reason: describe_change(Some(&stored), Some(serial)),
                })
            }
            None => Err(StateError::Conflict {
                location: self.location.clone(),
                reason: describe_change(None, Some(serial)),
            }),
        }
    }

    /// The error of a write S3 refused because the state changed: the state
    /// this run meant to write goes to a local file first.
    async fn rejected(&self, state: &StateFile, body: &[u8], expected: Option<u64>) -> StateError {
        let stored = self.load_quietly().await;
        let reason = describe_change(stored.as_ref(), expected);
        let saved = self.errored_dir.join(errored_name(&self.address, state));
        match save_private(&saved, body) {
            Ok(()) => StateError::Rejected {
                location: self.location.clone(),
                reason,
                saved,
            },
            Err(source) => StateError::io("save the rejected state to", &saved, source),
        }
    }

    /// The stored state, if it can be read at all.
    async fn load_quietly(&self) -> Option<StateFile> {
        let object = self.objects.get(&self.address.key).await.ok()??;
        crate::state::validate(&object.body).ok()
    }

    async fn unlock_now(&self) -> Result<(), StateError> {
        let Some(mine) = self.seen().lock.take() else {
            return Ok(());
        };
        // Only our own lock: after a forced unlock another run may hold it.
        match self.holder().await? {
            Some(h) if h.id == mine.id => self.objects.delete(&self.address.lock_key()).await,
            _ => Ok(()),
        }
    }

    async fn force_unlock_now(&self, lock_id: &str) -> Result<(), StateError> {
        let lock_key = self.address.lock_key();
        if self.objects.get(&lock_key).await?.is_none() {
            return Err(StateError::NotLocked {
                location: self.location.clone(),
            });
        }
        match self.holder().await? {
            Some(h) if h.id != lock_id => Err(StateError::LockIdMismatch {
                location: self.location.clone(),
                given: lock_id.to_owned(),
                holder: Some(Box::new(h)),
            }),
            _ => self.objects.delete(&lock_key).await,
        }
    }
}

/// What changed in the stored state since this run last saw serial
/// `expected` (`None`: no state).
fn describe_change(stored: Option<&StateFile>, expected: Option<u64>) -> String {
    let seen = match expected {
        Some(s) => format!("this run last saw serial {s}"),
        None => "this run found no state".to_owned(),
    };
    match stored {
        Some(s) => format!(
            "another run wrote it meanwhile (it now has serial {}, lineage {}; {seen})",
            s.serial, s.lineage
        ),
        None => format!("it was deleted or replaced meanwhile ({seen})"),
    }
}

/// `<key's file name>.<serial>.errored`, e.g. `orders.state.json.7.errored`.
fn errored_name(address: &S3Address, state: &StateFile) -> String {
    let base = address.key.rsplit('/').next().unwrap_or("state");
    format!("{base}.{}.errored", state.serial)
}

/// Writes `body` to a new file at `path` readable by its owner only.
fn save_private(path: &std::path::Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(body)?;
    f.sync_all()
}

impl StateBackend for S3Backend {
    fn location(&self) -> &Location {
        &self.location
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<StateFile>, StateError>> {
        Box::pin(self.load_now())
    }

    fn lock<'a>(&'a self, operation: &'a str) -> BoxFuture<'a, Result<LockInfo, StateError>> {
        Box::pin(self.lock_now(operation))
    }

    fn write<'a>(
        &'a self,
        state: &'a StateFile,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.write_now(state, expected))
    }

    fn unlock(&self) -> BoxFuture<'_, Result<(), StateError>> {
        Box::pin(self.unlock_now())
    }

    fn force_unlock<'a>(&'a self, lock_id: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.force_unlock_now(lock_id))
    }

    fn lock_holder(&self) -> BoxFuture<'_, Result<LockHolder, StateError>> {
        // S3 cannot tell whether the holder is alive: force-unlock then
        // needs the holder's own lock id.
        Box::pin(async { Ok(LockHolder::Unknown) })
    }
}

impl Drop for S3Backend {
    /// Releases a lock still held (a command that ended on an error without
    /// closing its store), when a multi-threaded runtime can run the call.
    fn drop(&mut self) {
        if self.seen().lock.is_none() {
            return;
        }
        use tokio::runtime::{Handle, RuntimeFlavor};
        if let Ok(handle) = Handle::try_current()
            && handle.runtime_flavor() == RuntimeFlavor::MultiThread
        {
            let _ = tokio::task::block_in_place(|| handle.block_on(self.unlock_now()));
        }
    }
}
