//! [`LockInfo`]: who holds the lock of a state, as every backend records it
//! and as `Locked` errors show it.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Who holds a lock; the local backend writes it as JSON into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// UUID (v4) of this lock; what `privlink force-unlock` takes.
    pub id: String,
    /// Process id of the holder.
    pub pid: u32,
    /// Host name of the holder, or "unknown".
    pub host: String,
    /// The command holding the lock, e.g. "apply".
    pub operation: String,
    /// When the lock was taken, RFC 3339 (UTC, seconds).
    pub created: String,
}

impl LockInfo {
    /// A new lock for `operation` held by this process, now.
    pub fn new(operation: &str) -> Self {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            host: hostname(),
            operation: operation.to_owned(),
            created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// `apply, pid 1234 on host, since 2026-11-28T10:00:00Z`.
    pub fn describe(&self) -> String {
        format!(
            "{}, pid {} on {}, since {}",
            self.operation, self.pid, self.host, self.created
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}
