//! [`AtlasCloud`], the Atlas side's handle (client and wait policy) that
//! every Atlas kind's module adds its calls to, and what those modules
//! share: region names, the status rules, the error mapping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{AtlasClient, AtlasError};
use crate::model::{Attrs, Kind};
use crate::plan::RemoteState;
use crate::providers::ProviderError;
use crate::providers::typed::from_attrs;
use crate::wait::WaitPolicy;

impl From<AtlasError> for ProviderError {
    fn from(e: AtlasError) -> Self {
        if e.is_terminal() {
            ProviderError::Terminal(Box::new(e))
        } else {
            ProviderError::Cloud(Box::new(e))
        }
    }
}

/// Atlas region name (`US_EAST_1`) for an AWS region (`us-east-1`).
pub fn atlas_region(aws_region: &str) -> String {
    aws_region.to_ascii_uppercase().replace('-', "_")
}

/// The status part of an Atlas endpoint's or service's attributes.
#[derive(Debug, Default, Deserialize)]
struct Status {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    endpoint_service_name: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

/// What an Atlas object's status says: not ready while `initiating` or
/// without its endpoint service name, failed when FAILED.
pub fn remote_state(kind: Kind, live: &Attrs, initiating: &str) -> RemoteState {
    let s: Status = from_attrs(kind, live).unwrap_or_default();
    let status = s.status.as_deref().unwrap_or("");
    let named = s.endpoint_service_name.is_some_and(|n| !n.is_empty());
    if status == initiating || (!named && !matches!(status, "FAILED" | "DELETING")) {
        return RemoteState::Pending(format!(
            "Atlas reports it {status}, not ready yet: the apply waits for it"
        ));
    }
    if status == "FAILED" {
        return RemoteState::Failed(format!(
            "Atlas reports it FAILED: {}",
            s.error_message.as_deref().unwrap_or("no errorMessage")
        ));
    }
    RemoteState::Ready
}

/// The Atlas side of every endpoint.
pub struct AtlasCloud {
    pub(super) client: AtlasClient,
    pub(super) policy: WaitPolicy,
    /// Per endpoint service id: the turns to link an interface endpoint to
    /// it ([`crate::limits::ATLAS_LINKS_PER_SERVICE`] at once).
    links: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl AtlasCloud {
    /// The Atlas side over `client`, waiting with `policy`.
    pub fn new(client: AtlasClient, policy: WaitPolicy) -> Self {
        AtlasCloud {
            client,
            policy,
            links: Mutex::default(),
        }
    }

    /// A turn to link an interface endpoint to `service`, held from the
    /// create call until the endpoint is AVAILABLE or the step fails.
    /// Waiting for it gives the call slot back.
    pub(super) async fn link_turn(&self, service: &str) -> OwnedSemaphorePermit {
        let turns = {
            let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
            links
                .entry(service.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(crate::limits::ATLAS_LINKS_PER_SERVICE)))
                .clone()
        };
        if let Ok(turn) = turns.clone().try_acquire_owned() {
            return turn;
        }
        tracing::debug!(
            service,
            "waiting for a turn to link to the endpoint service"
        );
        crate::wait::idle_while(turns.acquire_owned())
            .await
            .expect("the semaphore of a service is never closed")
    }
}
