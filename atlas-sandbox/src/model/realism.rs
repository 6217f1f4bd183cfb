//! The parts of the model that make it behave as real Atlas rather than ideally: clusters that
//! go UPDATING after each new link (their private connection strings appear only once they
//! are IDLE again), a bound on interface endpoints being accepted at once on one service, and
//! the control API's forced states of endpoint services and clusters.

use std::time::{Duration, Instant};

use super::{
    ClusterState as State, EndpointService, InterfaceEndpoint, LinkStatus, ModelError, Project,
    ServiceStatus, Store,
};

/// `stateName` of a dedicated cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterState {
    /// No change in progress.
    Idle,
    /// A change (e.g. a new private endpoint) is being applied.
    Updating,
}

impl ClusterState {
    /// The Atlas spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Idle => "IDLE",
            ClusterState::Updating => "UPDATING",
        }
    }

    /// Parses the Atlas spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [ClusterState::Idle, ClusterState::Updating]
            .into_iter()
            .find(|s2| s2.as_str() == s)
    }
}

/// Model settings of `PUT /__sandbox/realism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelRealism {
    /// How long every cluster of a project and region stays UPDATING after an interface
    /// endpoint of that region became AVAILABLE (zero: not at all).
    pub cluster_update: Duration,
    /// At most this many interface endpoints of one service may be waiting for acceptance at
    /// once; the extra ones are stuck PENDING with an error (`None`: no bound).
    pub max_concurrent_links: Option<u64>,
}

impl ModelRealism {
    /// Whether a new interface endpoint of `service` would exceed the bound.
    pub(super) fn links_saturated(&self, service: &EndpointService) -> bool {
        let Some(max) = self.max_concurrent_links else {
            return false;
        };
        let progressing = service
            .endpoints
            .iter()
            .filter(|e| {
                matches!(
                    e.status,
                    LinkStatus::PendingAcceptance | LinkStatus::Pending
                ) && e.deadline.is_some()
            })
            .count() as u64;
        progressing >= max
    }
}

/// The errorMessage Atlas shows on an interface endpoint it could not accept because another
/// acceptance on the same service is in progress.
pub fn busy_message(vpce: &str, service_id: &str) -> String {
    format!(
        "Failed to accept interface endpoint {vpce} for endpoint service {service_id} : idempotent operation going on"
    )
}

/// Makes a new interface endpoint stuck PENDING with [`busy_message`]: no deadline, so it
/// stays until forced.
pub(super) fn stick_as_busy(endpoint: &mut InterfaceEndpoint, service_id: &str) {
    endpoint.status = LinkStatus::Pending;
    endpoint.error_message = Some(busy_message(&endpoint.id, service_id));
    endpoint.accept_at = None;
    endpoint.deadline = None;
}

/// UPDATING clusters whose update is over become IDLE.
pub(super) fn finish_cluster_updates(project: &mut Project, now: Instant) {
    for c in &mut project.clusters {
        if c.state == State::Updating && c.idle_at.is_some_and(|t| t <= now) {
            c.state = State::Idle;
            c.idle_at = None;
        }
    }
}

/// Interface endpoints that became AVAILABLE put the clusters of their region UPDATING for
/// `update`; AVAILABLE endpoints are published in the connection strings once no cluster of
/// their region is UPDATING. Endpoints that are no longer AVAILABLE are unpublished.
pub(super) fn announce_links(project: &mut Project, update: Duration, now: Instant) {
    let mut regions: Vec<String> = Vec::new();
    for s in &mut project.services {
        for e in &mut s.endpoints {
            if e.status != LinkStatus::Available {
                e.announced = false;
                e.published = false;
            } else if !e.announced {
                e.announced = true;
                regions.push(s.region.clone());
            }
        }
    }
    if !update.is_zero() {
        for c in &mut project.clusters {
            if regions.contains(&c.region) {
                c.state = State::Updating;
                let until = now + update;
                c.idle_at = Some(c.idle_at.map_or(until, |t| t.max(until)));
            }
        }
    }
    for s in &mut project.services {
        let updating = project
            .clusters
            .iter()
            .any(|c| c.region == s.region && c.state == State::Updating);
        for e in &mut s.endpoints {
            if e.status == LinkStatus::Available && !updating {
                e.published = true;
            }
        }
    }
}

impl Store {
    /// Control API: forces an endpoint service into `status` (e.g. WAITING_FOR_USER, or
    /// FAILED with an errorMessage). INITIATING and DELETING move on after their usual delay;
    /// the other statuses stay.
    pub fn force_service_state(
        &mut self,
        project: &str,
        id: &str,
        status: ServiceStatus,
        error_message: Option<String>,
        now: Instant,
    ) -> Result<EndpointService, ModelError> {
        let delays = self.delays;
        let service = self.service_mut(project, id)?;
        service.status = status;
        service.error_message = error_message;
        service.deadline = match status {
            ServiceStatus::Initiating => Some(now + delays.reserve),
            ServiceStatus::Deleting => Some(now + delays.delete),
            _ => None,
        };
        Ok(service.clone())
    }

    /// Control API: forces a cluster's `stateName`. A forced UPDATING lasts until forced IDLE;
    /// endpoints that became AVAILABLE meanwhile appear in its connection strings only then.
    pub fn force_cluster_state(
        &mut self,
        project: &str,
        name: &str,
        state: ClusterState,
        now: Instant,
    ) -> Result<super::Cluster, ModelError> {
        self.cluster(project, name)?;
        let update = self.realism.cluster_update;
        let p = self.project_mut(project)?;
        let cluster = p
            .clusters
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| ModelError::ClusterNotFound {
                project: project.to_string(),
                name: name.to_string(),
            })?;
        cluster.state = state;
        cluster.idle_at = None;
        let cluster = cluster.clone();
        announce_links(p, update, now);
        Ok(cluster)
    }
}
