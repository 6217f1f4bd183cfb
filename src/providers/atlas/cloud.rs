//! The [`Cloud`] of the Atlas kinds, on [`AtlasCloud`]. Reads them in batches
//! (one list per serverless instance, one list of endpoint services per
//! project) and routes each create, update and delete to its kind's module.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, try_join_all};

use super::context::{AtlasCloud, atlas_region};
use super::dedicated::{self, INTERFACE, SERVICE};
use super::marker::{marked_for, marked_owner};
use super::serverless::{self, ENDPOINT, Instance, LINK};
use super::{EndpointService, ServerlessEndpoint};
use crate::model::{Address, Attrs, DesiredResource};
use crate::plan::{Holder, Kept, Live, LiveView, ResourceRules};
use crate::providers::adopt::{
    delete_unless_kept, id_to_delete, other_owner, owned_by, starting_id,
};
use crate::providers::typed::{from_attrs, recorded};
use crate::providers::{Cloud, Op, ProviderError, RecordCreated, Start};
use crate::state::StateFile;

/// The serverless instances and projects a refresh lists.
#[derive(Default)]
struct Lists<'a> {
    instances: BTreeMap<(String, String), Vec<&'a Address>>,
    projects: BTreeSet<String>,
}

impl<'a> Lists<'a> {
    fn of(state: &'a StateFile, desired: &[DesiredResource]) -> Self {
        let mut lists = Lists::default();
        for (a, r) in &state.resources {
            let project = recorded(state, a, "project_id");
            if r.kind == ENDPOINT || r.kind == LINK {
                if let (Some(p), Some(i)) = (project, recorded(state, a, "instance")) {
                    let key = (p.to_owned(), i.to_owned());
                    lists.instances.entry(key).or_default().push(a);
                }
            } else if (r.kind == SERVICE || r.kind == INTERFACE)
                && let Some(p) = project
            {
                lists.projects.insert(p.to_owned());
            }
        }
        for d in desired.iter().filter(|d| d.kind == SERVICE) {
            if let Ok(w) = from_attrs::<dedicated::WantService>(SERVICE, &d.attrs) {
                lists.projects.insert(w.project_id);
            }
        }
        lists
    }
}

/// One project's endpoint services.
type Services = BTreeMap<String, Vec<EndpointService>>;

/// The interface endpoints in state that Atlas has, with their live attributes.
type Interfaces = BTreeMap<Address, Attrs>;

/// The service of `list` that lists the interface endpoint `vpce`: the one
/// the state records (`by_id`), or on import any that lists it.
fn listing<'l>(
    list: Option<&'l Vec<EndpointService>>,
    by_id: Option<&str>,
    vpce: &str,
) -> Option<&'l EndpointService> {
    list?.iter().find(|s| {
        by_id.is_none_or(|id| s.id == id) && s.interface_endpoints.iter().any(|e| e == vpce)
    })
}

impl AtlasCloud {
    /// Every list the refresh needs: all at once with a service-account
    /// token; one after another with Digest, where each request numbers
    /// itself on the shared nonce and requests that overtake each other on
    /// the way are refused (and answered again) by a server that wants the
    /// counts in order (see docs/atlas-digest.md).
    async fn read_lists(
        &self,
        lists: &Lists<'_>,
    ) -> Result<(Vec<Vec<ServerlessEndpoint>>, Services), ProviderError> {
        let instance = |project: &str, instance: &str| {
            let (project, instance) = (project.to_owned(), instance.to_owned());
            async move {
                match self
                    .client
                    .list_serverless_endpoints(&project, &instance)
                    .await
                {
                    Ok(l) => Ok(l),
                    Err(e) if e.is_not_found() => Ok(Vec::new()),
                    Err(e) => Err(ProviderError::from(e)),
                }
            }
        };
        let project = |p: &str| {
            let p = p.to_owned();
            async move {
                let list = self.client.list_endpoint_services(&p).await?;
                Ok::<_, ProviderError>((p, list))
            }
        };
        if self.client.reads_in_parallel() {
            let serverless = try_join_all(lists.instances.keys().map(|(p, i)| instance(p, i)));
            let services = try_join_all(lists.projects.iter().map(|p| project(p)));
            let (serverless, services) = tokio::try_join!(serverless, services)?;
            return Ok((serverless, services.into_iter().collect()));
        }
        let mut serverless = Vec::with_capacity(lists.instances.len());
        for (p, i) in lists.instances.keys() {
            serverless.push(instance(p, i).await?);
        }
        let mut services = Services::new();
        for p in &lists.projects {
            let (p, list) = project(p).await?;
            services.insert(p, list);
        }
        Ok((serverless, services))
    }

    /// The interface endpoints in state that their service still lists,
    /// with their live attributes. The lists settle most of them (see
    /// [`dedicated::settled`]): those are live as recorded, at no call. The
    /// others are read one by one (a service lists only ids; the status is
    /// on each one): all at once with a token, one after another under
    /// Digest, as the lists are. An endpoint whose service does not list
    /// it is gone and is not read.
    async fn read_interfaces(
        &self,
        state: &StateFile,
        services: &Services,
    ) -> Result<Interfaces, ProviderError> {
        let mut found = Interfaces::new();
        let mut unsettled = Vec::new();
        for (a, r) in state.resources.iter().filter(|(_, r)| r.kind == INTERFACE) {
            let project = recorded(state, a, "project_id").unwrap_or_default();
            let vpce = r.id.as_deref().unwrap_or_default();
            let by_id = recorded(state, a, "endpoint_service_id");
            let Some(service) = listing(services.get(project), by_id, vpce) else {
                continue;
            };
            if dedicated::settled(&r.attributes, service) {
                let live = dedicated::interface_listed(&r.attributes, project, &service.id, vpce);
                found.insert(a.clone(), live);
            } else {
                unsettled.push((a, &r.attributes, project, service.id.as_str(), vpce));
            }
        }
        let reads: Vec<_> = unsettled
            .into_iter()
            .map(|(a, attrs, project, service, vpce)| async move {
                let e = self
                    .client
                    .get_interface_endpoint(project, service, vpce)
                    .await?;
                let live =
                    e.and_then(|e| dedicated::interface_live(attrs, project, service, vpce, &e));
                Ok::<_, ProviderError>(live.map(|live| (a.clone(), live)))
            })
            .collect();
        found.extend(self.client.read_all(reads).await?.into_iter().flatten());
        Ok(found)
    }

    async fn refresh_all(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let lists = Lists::of(state, desired);
        let (serverless, services) = self.read_lists(&lists).await?;
        let mut view = LiveView::default();
        for (((project, instance), addrs), list) in lists.instances.iter().zip(serverless) {
            let at = Instance {
                project_id: project.clone(),
                instance: instance.clone(),
            };
            for a in addrs {
                let r = &state.resources[*a];
                let id = match r.kind {
                    ENDPOINT => r.id.as_deref(),
                    _ => recorded(state, a, "endpoint_id").or(r.id.as_deref()),
                };
                let found = id.and_then(|id| list.iter().find(|e| e.id == id));
                view.resources
                    .insert((*a).clone(), present(serverless::live(r.kind, &at, found)));
                if r.kind == ENDPOINT
                    && let Some(k) = kept_endpoint(state, a, r.id.as_deref(), &list)
                {
                    view.kept.insert((*a).clone(), k);
                }
            }
        }
        let interfaces = self.read_interfaces(state, &services).await?;
        read_dedicated(state, &services, &interfaces, &mut view);
        conflicts(state, desired, &services, &mut view);
        Ok(view)
    }

    async fn adopt(&self, op: &Op, d: &Attrs) -> Result<Option<String>, ProviderError> {
        match op.kind {
            ENDPOINT => self.find_endpoint(op, d).await,
            SERVICE => self.find_service(op, d).await,
            INTERFACE => self.find_interface(op, d).await,
            // The link's id is the endpoint's, known before its PATCH.
            _ => Ok(d
                .get("endpoint_id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)),
        }
    }

    async fn create_any(
        &self,
        op: &Op,
        d: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        // A shared object (the region's endpoint service) that exists
        // already is used, not created again.
        let shared = super::KINDS
            .iter()
            .any(|k| k.kind() == op.kind && k.shared());
        let start = match start {
            Start::Fresh if shared => Start::Adopt,
            other => other,
        };
        let existing = starting_id(start, self.adopt(op, d), record).await?;
        let resume = existing.as_deref();
        match op.kind {
            ENDPOINT => self.create_endpoint(op, d, resume, record).await,
            LINK => self.create_link(op, d, resume, record).await,
            SERVICE => self.create_service(op, d, resume, record).await,
            INTERFACE => self.create_interface(op, d, resume, record).await,
            other => Err(ProviderError::UnknownKind(other)),
        }
    }

    async fn delete_any(&self, op: &Op, id: Option<&str>, a: &Attrs) -> Result<(), ProviderError> {
        let Some(id) = id_to_delete(id, self.adopt(op, a)).await? else {
            return Ok(());
        };
        let id = id.as_str();
        let kept = match op.kind {
            ENDPOINT => self.endpoint_kept(op, id, a).await?,
            SERVICE => self.service_kept(op, id, a).await?,
            _ => None,
        };
        delete_unless_kept(op, kept, async {
            match op.kind {
                ENDPOINT => self.delete_endpoint(op, id, a).await,
                // Atlas has no unlink: the link goes with the Atlas endpoint, and
                // the cloud endpoint's deletion ends the connection.
                LINK => Ok(()),
                SERVICE => self.delete_service(op, id, a).await,
                INTERFACE => self.delete_interface(op, id, a).await,
                other => Err(ProviderError::UnknownKind(other)),
            }
        })
        .await
    }

    /// The serverless endpoint `id` when its marker names another state as
    /// owner (read just before deleting it).
    async fn endpoint_kept(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<Option<Kept>, ProviderError> {
        let at: Instance = from_attrs(op.kind, a)?;
        let found = self
            .client
            .get_serverless_endpoint(&at.project_id, &at.instance, id)
            .await?;
        let owner = found.and_then(|e| e.comment).and_then(|c| marked_owner(&c));
        Ok(other_owner(owner.as_deref(), &op.owner).map(|holder| Kept {
            id: id.to_owned(),
            holder,
        }))
    }

    /// The endpoint service `id` when interface endpoints still use it: they
    /// are other stacks' (this stack's go before its service).
    async fn service_kept(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<Option<Kept>, ProviderError> {
        let want: dedicated::WantService = from_attrs(op.kind, a)?;
        let found = self
            .client
            .get_endpoint_service(&want.project_id, id)
            .await?;
        Ok(found
            .filter(|s| !s.interface_endpoints.is_empty())
            .map(|s| Kept {
                id: id.to_owned(),
                holder: users(&s.interface_endpoints),
            }))
    }
}

/// Who else uses a shared endpoint service.
pub(super) fn users(interface_endpoints: &[String]) -> Holder {
    Holder::Users(format!(
        "the interface endpoints {} of other stacks",
        interface_endpoints.join(", ")
    ))
}

/// A serverless endpoint at a state address that this state must leave
/// alone: the recorded one when its marker names another owner; for a
/// create that recorded no id (and no endpoint of this state carries its
/// marker), one marked for this address by another state or by an older
/// build (which recorded no owner).
fn kept_endpoint(
    state: &StateFile,
    a: &Address,
    id: Option<&str>,
    list: &[ServerlessEndpoint],
) -> Option<Kept> {
    let mut live = list.iter().filter(|e| e.status != "DELETING");
    let (e, holder) = match id {
        Some(id) => {
            let e = live.find(|e| e.id == id)?;
            let owner = e.comment.as_deref().and_then(marked_owner);
            (e, other_owner(owner.as_deref(), &state.lineage)?)
        }
        None => {
            let marked: Vec<(&ServerlessEndpoint, Option<String>)> = live
                .filter_map(|e| Some((e, marked_for(e.comment.as_deref()?, &state.stack, a)?)))
                .collect();
            // One of this state's own is what a delete takes: nothing to say.
            if marked
                .iter()
                .any(|(_, o)| o.as_deref().is_some_and(|o| owned_by(o, &state.lineage)))
            {
                return None;
            }
            marked.into_iter().find_map(|(e, o)| match o {
                None => Some((e, Holder::NoOwner)),
                Some(o) => other_owner(Some(&o), &state.lineage).map(|h| (e, h)),
            })?
        }
    };
    Some(Kept {
        id: e.id.clone(),
        holder,
    })
}

fn present(attrs: Option<Attrs>) -> Live {
    match attrs {
        Some(attributes) => Live::Present { attributes },
        None => Live::Gone,
    }
}

/// Endpoint services and interface endpoints in state, from the lists and
/// the interface endpoints read; a service that interface endpoints of
/// other stacks still use is kept.
fn read_dedicated(
    state: &StateFile,
    services: &Services,
    interfaces: &Interfaces,
    view: &mut LiveView,
) {
    let ours: BTreeSet<&str> = state
        .resources
        .values()
        .filter(|r| r.kind == INTERFACE)
        .filter_map(|r| r.id.as_deref())
        .collect();
    for (a, r) in &state.resources {
        let project = recorded(state, a, "project_id").unwrap_or_default();
        if r.kind == SERVICE {
            let region = recorded(state, a, "region").unwrap_or_default();
            let found = services
                .get(project)
                .and_then(|l| l.iter().find(|s| Some(s.id.as_str()) == r.id.as_deref()))
                .filter(|s| s.status != "DELETING");
            let attrs = found.map(|s| dedicated::service_attrs(project, region, s));
            view.resources.insert(a.clone(), present(attrs));
            if let Some(s) = found {
                let others: Vec<String> = s
                    .interface_endpoints
                    .iter()
                    .filter(|e| !ours.contains(e.as_str()))
                    .cloned()
                    .collect();
                if !others.is_empty() {
                    let holder = users(&others);
                    view.kept.insert(
                        a.clone(),
                        Kept {
                            id: s.id.clone(),
                            holder,
                        },
                    );
                }
            }
        } else if r.kind == INTERFACE {
            view.resources
                .insert(a.clone(), present(interfaces.get(a).cloned()));
        }
    }
}

/// An endpoint service the configuration wants, that Atlas has and this
/// state does not: shared, so the create uses it (a POST would fail with
/// 409).
fn conflicts(
    state: &StateFile,
    desired: &[DesiredResource],
    services: &Services,
    view: &mut LiveView,
) {
    for d in desired {
        if d.kind != SERVICE || state.resources.contains_key(&d.address) {
            continue;
        }
        let Ok(w) = from_attrs::<dedicated::WantService>(SERVICE, &d.attrs) else {
            continue;
        };
        let region = atlas_region(&w.region);
        if let Some(s) = services.get(&w.project_id).and_then(|l| {
            l.iter()
                .find(|s| s.region_name == region && s.status != "DELETING")
        }) {
            view.conflicts.insert(
                d.address.clone(),
                (
                    s.id.clone(),
                    format!("the Atlas endpoint service for AWS {}", w.region),
                ),
            );
        }
    }
}

impl Cloud for AtlasCloud {
    fn name(&self) -> &'static str {
        "Atlas"
    }

    fn kinds(&self) -> Vec<&'static dyn ResourceRules> {
        super::KINDS.to_vec()
    }

    fn refresh<'a>(
        &'a self,
        state: &'a StateFile,
        desired: &'a [DesiredResource],
    ) -> BoxFuture<'a, Result<LiveView, ProviderError>> {
        self.refresh_all(state, desired).boxed()
    }

    fn create<'a, 'r: 'a>(
        &'a self,
        op: &'a Op,
        desired: &'a Attrs,
        start: Start<'a>,
        record: RecordCreated<'r>,
    ) -> BoxFuture<'a, Result<(String, Attrs), ProviderError>> {
        self.create_any(op, desired, start, record).boxed()
    }

    fn update<'a>(
        &'a self,
        op: &'a Op,
        id: &'a str,
        _before: &'a Attrs,
        desired: &'a Attrs,
    ) -> BoxFuture<'a, Result<Attrs, ProviderError>> {
        async move {
            match op.kind {
                ENDPOINT => self.update_endpoint(op, id, desired).await,
                other => Err(ProviderError::Unsupported(format!(
                    "{} cannot be changed in place: {other} resources are replaced",
                    op.address
                ))),
            }
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        op: &'a Op,
        id: Option<&'a str>,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.delete_any(op, id, attrs).boxed()
    }

    fn preflight<'a>(
        &'a self,
        request: &'a crate::providers::preflight::Request<'a>,
    ) -> BoxFuture<'a, Result<Vec<crate::providers::preflight::Problem>, ProviderError>> {
        self.check(request).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::super::marker::{legacy_marker, marked_comment};
    use super::*;

    fn endpoint(id: &str, comment: String) -> ServerlessEndpoint {
        serde_json::from_value(serde_json::json!({
            "_id": id, "comment": comment, "status": "RESERVED"
        }))
        .unwrap()
    }

    #[test]
    fn an_endpoint_of_another_state_or_an_older_build_is_kept_and_this_states_is_not() {
        let state = StateFile::new("prod");
        let a = Address::new("endpoints.orders.atlas_endpoint");
        let other = "99aa88bb-0000-4000-8000-000000000000";
        let theirs = endpoint("t", marked_comment(None, "prod", other, &a));
        let mine = endpoint("m", marked_comment(None, "prod", &state.lineage, &a));
        let old = endpoint("o", format!("orders {}", legacy_marker("prod", &a)));
        let kept =
            |id: Option<&str>, list: &[ServerlessEndpoint]| kept_endpoint(&state, &a, id, list);
        let owner = Holder::Owner("99aa88bb".into());
        assert_eq!(
            kept(Some("t"), std::slice::from_ref(&theirs))
                .unwrap()
                .holder,
            owner
        );
        assert_eq!(kept(Some("m"), std::slice::from_ref(&mine)), None);
        assert_eq!(
            kept(Some("o"), std::slice::from_ref(&old)),
            None,
            "recorded: this state's"
        );
        assert_eq!(kept(None, std::slice::from_ref(&theirs)).unwrap().id, "t");
        assert_eq!(
            kept(None, std::slice::from_ref(&old)).unwrap().holder,
            Holder::NoOwner
        );
        assert_eq!(
            kept(None, &[theirs, old, mine]),
            None,
            "a delete takes its own"
        );
    }
}
