//! The waits on Atlas-side state, each listening to a shared poller.
//!
//! One poller per list key (see [`crate::shared_poll`]): a serverless
//! instance's endpoint list answers every wait on the instance's endpoints
//! (on AWS and on Azure); an endpoint service and an interface endpoint
//! have their own reads (Atlas has no list of a service's interface
//! endpoints with their status), shared by every wait on the same object.
//! The Azure flow's AZURE endpoint services and registered private
//! endpoints have pollers of their own kinds, one per object too. Pollers read every
//! [`crate::limits::ATLAS_POLL_INTERVAL`], so a state change is acted on
//! at most that long (plus one request) after Atlas reaches it, and a
//! list costs the same however many waits listen.

use std::future::Future;
use std::sync::Arc;

use super::azure::{self, AzureLink, AzureService, Target};
use super::{
    AtlasClient, AtlasError, EndpointService, InterfaceEndpoint, InterfaceTarget,
    ServerlessEndpoint, ServerlessTarget, ServiceTarget, StuckSince, classify_interface,
    classify_serverless, classify_service,
};
use crate::limits::{ATLAS_POLL_INTERVAL, POLL_MAX_DELAY};
use crate::shared_poll::{Pollers, wait_shared};
use crate::wait::{Poll, Progress, WaitPolicy};

/// The pollers of one client, by kind of read.
#[derive(Clone)]
pub(super) struct AtlasPollers {
    serverless: Arc<Pollers<Vec<ServerlessEndpoint>, AtlasError>>,
    services: Arc<Pollers<Option<EndpointService>, AtlasError>>,
    interfaces: Arc<Pollers<Option<InterfaceEndpoint>, AtlasError>>,
    /// AZURE endpoint services, by project and id.
    azure_services: Arc<Pollers<Option<AzureService>, AtlasError>>,
    /// Private endpoints registered on AZURE endpoint services, by project,
    /// service and resource id.
    azure_links: Arc<Pollers<Option<AzureLink>, AtlasError>>,
}

impl Default for AtlasPollers {
    fn default() -> Self {
        AtlasPollers {
            serverless: Pollers::new(ATLAS_POLL_INTERVAL, POLL_MAX_DELAY),
            services: Pollers::new(ATLAS_POLL_INTERVAL, POLL_MAX_DELAY),
            interfaces: Pollers::new(ATLAS_POLL_INTERVAL, POLL_MAX_DELAY),
            azure_services: Pollers::new(ATLAS_POLL_INTERVAL, POLL_MAX_DELAY),
            azure_links: Pollers::new(ATLAS_POLL_INTERVAL, POLL_MAX_DELAY),
        }
    }
}

impl AtlasClient {
    /// Waits until a serverless private endpoint reaches `target`, through
    /// the instance's endpoint list shared by all waits on it.
    ///
    /// `FAILED` (and, except when waiting for `Gone`, `DELETING` or the
    /// endpoint disappearing) ends the wait with [`AtlasError::Failed`]
    /// carrying Atlas's `errorMessage`. Returns the endpoint, or `None` for
    /// [`ServerlessTarget::Gone`].
    #[allow(clippy::too_many_arguments)]
    pub async fn wait_serverless_endpoint(
        &self,
        group: &str,
        instance: &str,
        id: &str,
        target: ServerlessTarget,
        address: &str,
        policy: WaitPolicy,
        progress: &dyn Progress,
    ) -> Result<Option<ServerlessEndpoint>, AtlasError> {
        let step = match target {
            ServerlessTarget::Reserved => "waiting for Atlas to reserve the endpoint (RESERVED)",
            ServerlessTarget::Available => "waiting for the endpoint link (AVAILABLE)",
            ServerlessTarget::Gone => "waiting for the endpoint deletion",
        };
        let status = match target {
            ServerlessTarget::Reserved => "RESERVED",
            ServerlessTarget::Available => "AVAILABLE",
            ServerlessTarget::Gone => "GONE",
        };
        let ids = (group.to_owned(), instance.to_owned());
        let fetch = self.fetcher(ids, |c, (g, i)| async move {
            c.list_serverless_endpoints(&g, &i).await
        });
        let judge = |list: &Vec<ServerlessEndpoint>, _| {
            let found = list.iter().find(|e| e.id == id).cloned();
            classify_serverless(found, target)
        };
        let key = format!("{group}/{instance}");
        let shown = (address, step, policy, progress);
        listen(
            &self.pollers.serverless,
            &key,
            fetch,
            shown,
            judge,
            (id, status),
        )
        .await
    }

    /// Waits until an endpoint service reaches `target`; `FAILED` ends the
    /// wait with Atlas's `errorMessage`.
    #[allow(clippy::too_many_arguments)]
    pub async fn wait_endpoint_service(
        &self,
        group: &str,
        id: &str,
        target: ServiceTarget,
        address: &str,
        policy: WaitPolicy,
        progress: &dyn Progress,
    ) -> Result<Option<EndpointService>, AtlasError> {
        let step = match target {
            ServiceTarget::Ready => "waiting for the endpoint service (AVAILABLE)",
            ServiceTarget::Gone => "waiting for the endpoint service deletion",
        };
        let status = match target {
            ServiceTarget::Ready => "AVAILABLE",
            ServiceTarget::Gone => "GONE",
        };
        let ids = (group.to_owned(), id.to_owned());
        let fetch = self.fetcher(ids, |c, (g, s)| async move {
            c.get_endpoint_service(&g, &s).await
        });
        let judge = |found: &Option<EndpointService>, _| classify_service(found.clone(), target);
        let key = format!("{group}/{id}");
        let shown = (address, step, policy, progress);
        listen(
            &self.pollers.services,
            &key,
            fetch,
            shown,
            judge,
            (id, status),
        )
        .await
    }

    /// Waits until an interface endpoint reaches `target`; `REJECTED` and
    /// `FAILED` end the wait with Atlas's `errorMessage`, and so does an
    /// `errorMessage` that outlasts [`crate::limits::ATLAS_STUCK_ERROR_GRACE`].
    #[allow(clippy::too_many_arguments)]
    pub async fn wait_interface_endpoint(
        &self,
        group: &str,
        service_id: &str,
        vpce_id: &str,
        target: InterfaceTarget,
        address: &str,
        policy: WaitPolicy,
        progress: &dyn Progress,
    ) -> Result<Option<InterfaceEndpoint>, AtlasError> {
        let step = match target {
            InterfaceTarget::Available => "waiting for the interface endpoint (AVAILABLE)",
            InterfaceTarget::Gone => "waiting for the interface endpoint deletion",
        };
        let status = match target {
            InterfaceTarget::Available => "AVAILABLE",
            InterfaceTarget::Gone => "GONE",
        };
        let ids = (group.to_owned(), service_id.to_owned(), vpce_id.to_owned());
        let fetch = self.fetcher(ids, |c, (g, s, v)| async move {
            c.get_interface_endpoint(&g, &s, &v).await
        });
        let mut stuck = StuckSince::default();
        let judge = |found: &Option<InterfaceEndpoint>, at| {
            stuck.judge(classify_interface(found.clone(), target), at)
        };
        let key = format!("{group}/{service_id}/{vpce_id}");
        let shown = (address, step, policy, progress);
        listen(
            &self.pollers.interfaces,
            &key,
            fetch,
            shown,
            judge,
            (vpce_id, status),
        )
        .await
    }
}

impl AtlasClient {
    /// Waits until an AZURE endpoint service reaches `target`, through the
    /// service's poller shared by every wait on it (one read per round).
    pub async fn wait_azure_service(
        &self,
        group: &str,
        id: &str,
        target: Target,
        (address, policy, progress): (&str, WaitPolicy, &dyn Progress),
    ) -> Result<Option<AzureService>, AtlasError> {
        let step = match target {
            Target::Ready => "waiting for the AZURE endpoint service (AVAILABLE)",
            Target::Gone => "waiting for the AZURE endpoint service deletion",
        };
        let ids = (group.to_owned(), id.to_owned());
        let fetch = self.fetcher(
            ids,
            |c, (g, s)| async move { c.get_azure_service(&g, &s).await },
        );
        let judge =
            |found: &Option<AzureService>, _| azure::classify_service(found.clone(), target);
        let key = format!("{group}/{id}");
        let shown = (address, step, policy, progress);
        let reached_as = (id, target_status(target));
        listen(
            &self.pollers.azure_services,
            &key,
            fetch,
            shown,
            judge,
            reached_as,
        )
        .await
    }

    /// Waits until a registered private endpoint reaches `target`, through
    /// its poller shared by every wait on it; `REJECTED` and `FAILED` end
    /// the wait with Atlas's `errorMessage`.
    pub async fn wait_azure_link(
        &self,
        group: &str,
        service: &str,
        pe: &str,
        target: Target,
        (address, policy, progress): (&str, WaitPolicy, &dyn Progress),
    ) -> Result<Option<AzureLink>, AtlasError> {
        let step = match target {
            Target::Ready => "waiting for the Atlas private endpoint (AVAILABLE)",
            Target::Gone => "waiting for the Atlas private endpoint deletion",
        };
        let ids = (group.to_owned(), service.to_owned(), pe.to_owned());
        let fetch = self.fetcher(ids, |c, (g, s, p)| async move {
            c.get_azure_link(&g, &s, &p).await
        });
        let judge = |found: &Option<AzureLink>, _| azure::classify_link(found.clone(), target);
        let key = format!("{group}/{service}/{}", pe.to_ascii_lowercase());
        let shown = (address, step, policy, progress);
        let reached_as = (pe, target_status(target));
        listen(
            &self.pollers.azure_links,
            &key,
            fetch,
            shown,
            judge,
            reached_as,
        )
        .await
    }
}

impl AtlasClient {
    /// A poller's fetch: `read` with a clone of this client and of `ids`
    /// (the owned path parameters), as often as the poller asks.
    fn fetcher<I, T, R, Fut>(&self, ids: I, read: R) -> impl Fn() -> Fut + Send + 'static
    where
        I: Clone + Send + Sync + 'static,
        R: Fn(AtlasClient, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, AtlasError>> + Send + 'static,
    {
        let client = self.clone();
        move || read(client.clone(), ids.clone())
    }
}

/// What a wait shows: the resource's address, the step's words, its policy
/// and where its progress goes.
type Shown<'a> = (&'a str, &'a str, WaitPolicy, &'a dyn Progress);

/// One wait on the shared poller of `key` (started with `fetch` when none
/// runs yet): `judge` reads every round until it decides, and the state
/// reached is logged as `(id, status)`, see [`reached`].
async fn listen<T, V, F, Fut, J>(
    pollers: &Arc<Pollers<T, AtlasError>>,
    key: &str,
    fetch: F,
    (address, step, policy, progress): Shown<'_>,
    judge: J,
    (id, status): (&str, &str),
) -> Result<V, AtlasError>
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, AtlasError>> + Send + 'static,
    J: FnMut(&T, tokio::time::Instant) -> Poll<V>,
{
    let began = tokio::time::Instant::now();
    let rounds = pollers.subscribe(key, fetch);
    let found = wait_shared(address, step, policy, progress, began, rounds, judge)
        .await
        .map_err(AtlasError::from_wait)?;
    reached(id, status);
    Ok(found)
}

/// The status a wait for `target` ends on, as the debug log names it.
fn target_status(target: Target) -> &'static str {
    match target {
        Target::Ready => "AVAILABLE",
        Target::Gone => "GONE",
    }
}

/// Logs (at debug) the moment a wait saw `id` in `status`, just before its
/// step acts on it: the end of the detection lag the benchmark measures.
fn reached(id: &str, status: &str) {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    tracing::debug!(target: "privlink::wait", id, status, at = format!("{at:.3}"), "state reached");
}
