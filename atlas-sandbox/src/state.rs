//! The shared state of the running sandbox: the model store, the authenticator, the rate
//! limiter, the fault and ghost-write settings and the request log, each behind its own mutex.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

use crate::auth::Authenticator;
use crate::azure::AzureClient;
use crate::cli::Config;
use crate::ec2::Ec2Client;
use crate::model::{ModelError, Store};
use crate::ratelimit::RateLimiter;
use crate::realism::GhostWrites;

/// Injected misbehaviour of the API.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Probability (0 to 1) that an `/api/atlas` request is answered with an injected fault.
    pub rate: f64,
    /// Injected faults take these statuses in turn, so that any three
    /// faults of `429,500,503` cover all three.
    pub statuses: Vec<u16>,
    /// Delay added before every `/api` request is handled.
    pub latency: Duration,
    /// How many faults were injected so far (picks the next status).
    pub injected: usize,
}

/// One `/api` request as recorded for `GET /__sandbox/requests`.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path as received, without the query.
    pub path: String,
    /// Query string as received, if any.
    pub query: Option<String>,
    /// Status of the answer.
    pub status: u16,
    /// When the answer was sent (RFC 3339, milliseconds).
    pub time: String,
    /// Authentication scheme the request used: `digest`, `bearer` or `none`.
    pub auth: &'static str,
    /// Whether the answer was an injected fault.
    pub injected: bool,
    /// Whether the request did its work but its answer was replaced by a 500/503 (`status`)
    /// or never sent (`dropped`).
    pub ghost: bool,
    /// Whether the connection was closed without an answer (`status` is the answer that was
    /// not sent).
    pub dropped: bool,
}

/// Shared state of the running sandbox.
pub struct AppState {
    /// Projects, deployments and private endpoints.
    pub store: Mutex<Store>,
    /// Digest and OAuth credentials, nonces and tokens.
    pub auth: Mutex<Authenticator>,
    /// Token buckets per endpoint set and project.
    pub limiter: Mutex<RateLimiter>,
    /// Fault-injection settings.
    pub faults: Mutex<Faults>,
    /// Ghost-write settings and their seeded generator.
    pub ghosts: Mutex<GhostWrites>,
    /// The request log, oldest first.
    pub requests: Mutex<Vec<RequestRecord>>,
    /// Client of the EC2 endpoint that confirms links, when configured.
    pub ec2: Option<Ec2Client>,
    /// Client of the azure-sandbox that confirms AZURE links, when configured.
    pub azure: Option<AzureClient>,
    /// `http://host:port` the sandbox listens on.
    pub base_url: String,
}

/// Locks a mutex, carrying on with the data if a previous holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The state for `config`, with the start-up projects and deployments created.
pub fn build_state(config: &Config, base_url: String) -> Result<AppState, ModelError> {
    let mut store = Store::new(config.delays, config.ec2_endpoint.is_some());
    store.azure_checks = config.azure_endpoint.is_some();
    for project in &config.projects {
        store.add_project(project)?;
    }
    for d in &config.serverless_instances {
        store.add_serverless_instance(&d.project, &d.name, d.region.as_deref())?;
    }
    for d in &config.clusters {
        store.add_cluster(&d.project, &d.name, d.region.as_deref())?;
    }
    Ok(AppState {
        store: Mutex::new(store),
        auth: Mutex::new(Authenticator::new(
            config.credentials.clone(),
            config.nonce_ttl,
        )),
        limiter: Mutex::new(RateLimiter::new(config.rate_limit)),
        faults: Mutex::new(Faults {
            rate: config.fault_rate,
            statuses: config.fault_statuses.clone(),
            latency: config.latency,
            injected: 0,
        }),
        ghosts: Mutex::new(GhostWrites::new(config.seed)),
        requests: Mutex::new(Vec::new()),
        ec2: config.ec2_endpoint.as_deref().map(Ec2Client::new),
        azure: config.azure_endpoint.as_deref().map(AzureClient::new),
        base_url,
    })
}
