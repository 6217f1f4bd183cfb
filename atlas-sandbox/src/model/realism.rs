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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Delays;

    const P: &str = "5f7cac1adf5d6c6306f4b283";
    const A: &str = "vpce-0a0a0a0a0a0a0a0a0";
    const B: &str = "vpce-0b0b0b0b0b0b0b0b0";
    const S: Duration = Duration::from_secs(1);

    /// A store with a cluster in US_EAST_1 and an AVAILABLE service there; returns its id.
    fn store_with_service(t0: Instant) -> (Store, String) {
        let mut store = Store::new(
            Delays {
                reserve: S,
                connect: 2 * S,
                delete: S,
            },
            false,
        );
        store.add_cluster(P, "c0", None).unwrap();
        store.add_cluster(P, "other", Some("eu-west-1")).unwrap();
        let s = store.create_service(P, "AWS", "us-east-1", t0).unwrap();
        store.advance(t0 + S);
        (store, s.id)
    }

    fn state(store: &Store, name: &str) -> ClusterState {
        store.cluster(P, name).unwrap().state
    }

    fn published(store: &Store, service: &str, id: &str) -> bool {
        store.interface_endpoint(P, service, id).unwrap().published
    }

    #[test]
    fn without_cluster_updates_a_link_is_published_at_once() {
        let t0 = Instant::now();
        let (mut store, s) = store_with_service(t0);
        let t1 = t0 + S;
        store.create_interface_endpoint(P, &s, A, t1).unwrap();
        store.advance(t1 + 2 * S);
        assert!(published(&store, &s, A));
        assert_eq!(state(&store, "c0"), ClusterState::Idle);
    }

    #[test]
    fn a_link_puts_the_region_updating_and_is_published_once_idle() {
        let t0 = Instant::now();
        let (mut store, s) = store_with_service(t0);
        store.realism.cluster_update = 5 * S;
        let t1 = t0 + S;
        store.create_interface_endpoint(P, &s, A, t1).unwrap();
        let t2 = t1 + 2 * S;
        store.advance(t2);
        assert_eq!(
            store.interface_endpoint(P, &s, A).unwrap().status,
            LinkStatus::Available
        );
        assert_eq!(state(&store, "c0"), ClusterState::Updating);
        assert_eq!(state(&store, "other"), ClusterState::Idle, "other region");
        assert!(!published(&store, &s, A));
        store.advance(t2 + 4 * S);
        assert!(!published(&store, &s, A));
        store.advance(t2 + 5 * S);
        assert_eq!(state(&store, "c0"), ClusterState::Idle);
        assert!(published(&store, &s, A));
        // Deleting it unpublishes it.
        store
            .delete_interface_endpoint(P, &s, A, t2 + 6 * S)
            .unwrap();
        store.advance(t2 + 6 * S);
        assert!(!published(&store, &s, A));
    }

    #[test]
    fn a_forced_updating_cluster_holds_new_links_back_until_forced_idle() {
        let t0 = Instant::now();
        let (mut store, s) = store_with_service(t0);
        let t1 = t0 + S;
        store
            .force_cluster_state(P, "c0", ClusterState::Updating, t1)
            .unwrap();
        store.create_interface_endpoint(P, &s, A, t1).unwrap();
        store.advance(t1 + 60 * S);
        assert_eq!(state(&store, "c0"), ClusterState::Updating);
        assert!(!published(&store, &s, A));
        store
            .force_cluster_state(P, "c0", ClusterState::Idle, t1 + 61 * S)
            .unwrap();
        assert!(published(&store, &s, A));
    }

    #[test]
    fn links_beyond_the_bound_are_stuck_with_the_busy_message() {
        let t0 = Instant::now();
        let (mut store, s) = store_with_service(t0);
        store.realism.max_concurrent_links = Some(1);
        let t1 = t0 + S;
        let a = store.create_interface_endpoint(P, &s, A, t1).unwrap();
        assert_eq!(a.status, LinkStatus::PendingAcceptance);
        let b = store.create_interface_endpoint(P, &s, B, t1).unwrap();
        assert_eq!(b.status, LinkStatus::Pending);
        assert_eq!(b.error_message, Some(busy_message(B, &s)));
        store.advance(t1 + 100 * S);
        let b = store.interface_endpoint(P, &s, B).unwrap();
        assert_eq!(b.status, LinkStatus::Pending, "stuck");
        assert_eq!(
            store.interface_endpoint(P, &s, A).unwrap().status,
            LinkStatus::Available
        );
    }

    #[test]
    fn forced_service_states_stay_or_move_on() {
        let t0 = Instant::now();
        let (mut store, s) = store_with_service(t0);
        let failed = store
            .force_service_state(P, &s, ServiceStatus::Failed, Some("boom".into()), t0)
            .unwrap();
        assert_eq!(failed.endpoint_service_name(), None);
        store.advance(t0 + 100 * S);
        assert_eq!(store.service(P, &s).unwrap().status, ServiceStatus::Failed);
        assert!(matches!(
            store.create_interface_endpoint(P, &s, A, t0 + 100 * S),
            Err(ModelError::ServiceNotAvailable { .. })
        ));
        let t1 = t0 + 101 * S;
        store
            .force_service_state(P, &s, ServiceStatus::Initiating, None, t1)
            .unwrap();
        store.advance(t1 + S);
        assert_eq!(
            store.service(P, &s).unwrap().status,
            ServiceStatus::Available
        );
        store
            .force_service_state(P, &s, ServiceStatus::WaitingForUser, None, t1 + S)
            .unwrap();
        assert!(store.create_interface_endpoint(P, &s, A, t1 + S).is_ok());
    }
}
