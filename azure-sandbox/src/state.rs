//! The shared state of the running sandbox: the world, the issued tokens and the request log,
//! each behind its own mutex, and the start-up configuration.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

use crate::cli::Config;
use crate::model::{Realism, World};
use crate::tokens::Tokens;

/// One request outside `/__sandbox`, as recorded for `GET /__sandbox/requests`.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path as received, without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Status of the answer.
    pub status: u16,
}

/// Shared state of the running sandbox.
pub struct AppState {
    /// Resources, operations and realism settings.
    pub world: Mutex<World>,
    /// Issued access tokens.
    pub tokens: Mutex<Tokens>,
    /// The request log, oldest first.
    pub requests: Mutex<Vec<RequestRecord>>,
    /// Start-up configuration.
    pub config: Config,
    /// `http://host:port` the sandbox listens on.
    pub base_url: String,
}

impl AppState {
    /// The state for `config`, with an empty world.
    pub fn new(config: Config, base_url: String) -> Self {
        let realism = Realism::new(config.provision, config.delete);
        Self {
            world: Mutex::new(World::new(realism)),
            tokens: Mutex::new(Tokens::default()),
            requests: Mutex::new(Vec::new()),
            config,
            base_url,
        }
    }

    /// The world, with every operation whose time is up ended.
    pub fn world(&self) -> MutexGuard<'_, World> {
        let mut world = lock(&self.world);
        world.advance(Instant::now());
        world
    }
}

/// Locks a mutex, carrying on with the data if a previous holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
