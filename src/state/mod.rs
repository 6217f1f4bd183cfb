//! The local state file: what privlink created, with which ids, and how far
//! each resource got.
//!
//! This module owns everything about that file and nothing else: its format
//! ([`StateFile`], [`ResourceState`], [`Status`]), reading and validating it,
//! writing it safely ([`StateStore::write`]), and the lock that keeps two runs
//! from writing one state at once. It holds only what the engine hands it;
//! [`check_no_secrets`] lets the engine prove that no secret slipped in.
//!
//! # Files
//!
//! For a state file `S` (by default `state/<config stem>.state.json`, see
//! [`StateStore::default_path`]):
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
//! Commands that may write open the store with [`LockMode::Exclusive`]. The
//! lock is an advisory `flock(2)` on `S.lock` (through `fs4`), taken without
//! waiting: a second run fails at once with [`StateError::Locked`], whose
//! message names the lock id, operation, pid, host and start time, read from
//! the JSON ([`LockInfo`]) the holder wrote into the lock file. The kernel
//! drops a `flock` when its holder dies, even on `kill -9`, so the lock of a
//! killed run never blocks: its lock file stays behind, but the next run
//! simply takes it over. `flock` locks belong to an open file description, so
//! two stores in one process contend just like two processes.
//!
//! Dropping the [`StateStore`] releases the lock and deletes `S.lock`. After
//! taking the `flock`, a run checks that `S.lock` still names the file it
//! locked (and retries if not), so deleting the file on release, or by
//! [`force_unlock`], can never let two runs hold the lock at once through an
//! old, unlinked lock file.
//!
//! [`force_unlock`] semantics:
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
//! Read-only commands open with [`LockMode::None`] (or call [`read`]); such a
//! store refuses to write.
//!
//! # Write checks
//!
//! [`StateStore::write`] re-reads the file on disk before replacing it and
//! refuses ([`StateError::Conflict`]) if its serial or lineage is not the one
//! this store read or last wrote, and refuses a [`StateFile`] whose stack or
//! lineage is not the store's.

mod error;
mod lock;
mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Address, Attrs, Kind};

pub use error::StateError;
pub use lock::{LockGuard, LockInfo, force_unlock};
pub use store::{LockMode, StateStore, check_no_secrets, read};

/// The state file format this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole state of one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    /// Format version, [`FORMAT_VERSION`].
    pub version: u32,
    /// Bumped by every write; 0 only for a state never written.
    pub serial: u64,
    /// UUID (v4) set when the state is created; never changes afterwards.
    pub lineage: String,
    /// Name of the stack this state belongs to.
    pub stack: String,
    /// Every resource privlink knows about, by address.
    pub resources: BTreeMap<Address, ResourceState>,
}

/// What privlink knows about one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    pub kind: Kind,
    /// The remote id, once the create call has returned one.
    pub id: Option<String>,
    /// Desired attributes last applied, references resolved.
    pub desired: Attrs,
    /// Attributes as last read back from the provider.
    pub attributes: Attrs,
    /// Resources this one depended on when it was applied.
    pub dependencies: Vec<Address>,
    pub status: Status,
}

/// How far a resource got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The create call returned but the wait did not finish: resume the wait,
    /// do not create again.
    Creating,
    /// Created (or updated) and settled.
    Ready,
    /// Failed partway: the next plan replaces it.
    Tainted,
    /// A delete was started.
    Deleting,
}

impl StateFile {
    /// An empty state for `stack`, serial 0, with a fresh lineage.
    pub fn new(stack: impl Into<String>) -> Self {
        StateFile {
            version: FORMAT_VERSION,
            serial: 0,
            lineage: uuid::Uuid::new_v4().to_string(),
            stack: stack.into(),
            resources: BTreeMap::new(),
        }
    }

    /// The resource at `a`, if any.
    pub fn get(&self, a: &Address) -> Option<&ResourceState> {
        self.resources.get(a)
    }

    /// Inserts or replaces the resource at `a`.
    pub fn upsert(&mut self, a: Address, r: ResourceState) {
        self.resources.insert(a, r);
    }

    /// Removes and returns the resource at `a`.
    pub fn remove(&mut self, a: &Address) -> Option<ResourceState> {
        self.resources.remove(a)
    }

    /// True when no resource is recorded.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    pub(crate) fn sample_resource() -> ResourceState {
        let mut desired = Attrs::new();
        desired.insert("vpc_id".into(), json!("vpc-123"));
        let mut attributes = desired.clone();
        attributes.insert("state".into(), json!("available"));
        ResourceState {
            kind: Kind::new("aws_vpc_endpoint"),
            id: Some("vpce-0abc".into()),
            desired,
            attributes,
            dependencies: vec![Address::endpoint("orders", "security_group")],
            status: Status::Creating,
        }
    }

    #[test]
    fn json_shape_uses_snake_case_names() {
        let mut s = StateFile::new("prod");
        s.upsert(
            Address::endpoint("orders", "vpc_endpoint"),
            sample_resource(),
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["version"], json!(1));
        assert_eq!(v["serial"], json!(0));
        assert_eq!(v["stack"], json!("prod"));
        let r = &v["resources"]["endpoints.orders.vpc_endpoint"];
        assert_eq!(r["kind"], json!("aws_vpc_endpoint"));
        assert_eq!(r["status"], json!("creating"));
        assert_eq!(r["id"], json!("vpce-0abc"));
        assert_eq!(
            r["dependencies"],
            json!(["endpoints.orders.security_group"])
        );
        let back: StateFile = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        for (st, name) in [
            (Status::Creating, "creating"),
            (Status::Ready, "ready"),
            (Status::Tainted, "tainted"),
            (Status::Deleting, "deleting"),
        ] {
            assert_eq!(serde_json::to_value(st).unwrap(), json!(name));
        }
    }

    #[test]
    fn new_state_and_accessors() {
        let mut s = StateFile::new("prod");
        assert!(s.is_empty());
        assert_eq!(s.serial, 0);
        assert_eq!(s.version, FORMAT_VERSION);
        assert!(uuid::Uuid::parse_str(&s.lineage).is_ok());
        assert_ne!(s.lineage, StateFile::new("prod").lineage);

        let a = Address::endpoint("orders", "vpc_endpoint");
        s.upsert(a.clone(), sample_resource());
        assert!(!s.is_empty());
        assert_eq!(s.get(&a).unwrap().status, Status::Creating);
        let mut r = sample_resource();
        r.status = Status::Ready;
        s.upsert(a.clone(), r);
        assert_eq!(s.get(&a).unwrap().status, Status::Ready);
        assert_eq!(s.remove(&a).unwrap().status, Status::Ready);
        assert!(s.get(&a).is_none());
        assert!(s.remove(&a).is_none());
        assert!(s.is_empty());
    }
}
