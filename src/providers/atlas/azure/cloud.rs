//! [`AtlasAzureCloud`]: the [`Cloud`] of the Atlas kinds of the Azure flow.
//! Reads in batches (one list of AZURE endpoint services per project, one
//! endpoint list per serverless instance, and only the registered private
//! endpoints those lists and the state do not settle), creates and waits,
//! deletes (leaving a service other stacks still use), and adopts the
//! region's service, which is shared.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::client::{AzureService, Target};
use super::kinds::{self, LINK, SERVICE, WantLink, WantService};
use super::serverless;
use crate::model::{Address, Attrs, DesiredResource};
use crate::plan::{Holder, Kept, Live, LiveView, ResourceRules};
use crate::providers::adopt::{delete_unless_kept, id_to_delete, starting_id};
use crate::providers::atlas::AtlasClient;
use crate::providers::typed::{from_attrs, recorded};
use crate::providers::{Cloud, Op, ProviderError, RecordCreated, Start};
use crate::state::StateFile;
use crate::wait::WaitPolicy;

/// The Atlas side of every endpoint on Azure.
pub struct AtlasAzureCloud {
    client: AtlasClient,
    policy: WaitPolicy,
}

/// The AZURE endpoint services of each project.
type Services = BTreeMap<String, Vec<AzureService>>;

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn present(attrs: Option<Attrs>) -> Live {
    match attrs {
        Some(attributes) => Live::Present { attributes },
        None => Live::Gone,
    }
}

fn users(others: &[String]) -> Holder {
    Holder::Users(format!(
        "the private endpoints {} of other stacks",
        others.join(", ")
    ))
}

impl AtlasAzureCloud {
    /// The Atlas side of the Azure flow over `client`, waiting with `policy`.
    pub fn new(client: AtlasClient, policy: WaitPolicy) -> Self {
        AtlasAzureCloud { client, policy }
    }

    async fn refresh_all(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let (services, lists) = self.read_lists(state, desired).await?;
        let mut view = LiveView::default();
        read_services(state, &services, &mut view);
        let links = self.read_links(state, &services).await?;
        for (a, _) in state.resources.iter().filter(|(_, r)| r.kind == LINK) {
            view.resources
                .insert(a.clone(), present(links.get(a).cloned()));
        }
        serverless::refresh(state, &lists, &mut view);
        conflicts(state, desired, &services, &mut view);
        Ok(view)
    }

    /// Every list the refresh needs (the AZURE endpoint services of each
    /// project, the endpoint list of each serverless instance): all at once
    /// with a service-account token, one after another under Digest (see
    /// docs/atlas-digest.md).
    async fn read_lists(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<(Services, serverless::Lists), ProviderError> {
        let client = &self.client;
        let projects = projects(state, desired);
        let instances = serverless::instances(state);
        let services = projects
            .iter()
            .map(|p| async move {
                let list = client.list_azure_services(p).await?;
                Ok::<_, ProviderError>((p.clone(), list))
            })
            .collect();
        let lists = instances
            .iter()
            .map(|k| serverless::read_list(client, k))
            .collect();
        let (services, lists) = (client.read_all(services), client.read_all(lists));
        let (services, lists) = if client.reads_in_parallel() {
            tokio::try_join!(services, lists)?
        } else {
            (services.await?, lists.await?)
        };
        Ok((services.into_iter().collect(), lists.into_iter().collect()))
    }

    /// The registered private endpoints of the state that their service
    /// (the recorded one, or any on import) still lists, with their live
    /// attributes. The lists settle most of them (see [`kinds::settled`]):
    /// those are live as recorded, at no call. The others are read one by
    /// one, all at once with a token, one after another under Digest.
    async fn read_links(
        &self,
        state: &StateFile,
        services: &Services,
    ) -> Result<BTreeMap<Address, Attrs>, ProviderError> {
        let mut found = BTreeMap::new();
        let mut unsettled = Vec::new();
        for (a, r) in state.resources.iter().filter(|(_, r)| r.kind == LINK) {
            let project = recorded(state, a, "project_id").unwrap_or_default();
            let pe = r.id.as_deref().unwrap_or_default();
            let by_id = recorded(state, a, "endpoint_service_id");
            let Some(service) = services.get(project).and_then(|l| listing(l, by_id, pe)) else {
                continue;
            };
            if kinds::settled(&r.attributes, service) {
                let live = kinds::link_listed(&r.attributes, project, &service.id, pe);
                found.insert(a.clone(), live);
            } else {
                unsettled.push((a, project, service.id.as_str(), pe));
            }
        }
        let reads: Vec<_> = unsettled
            .into_iter()
            .map(|(a, project, service, pe)| async move {
                let l = self.client.get_azure_link(project, service, pe).await?;
                let live = l.and_then(|l| kinds::link_attrs(project, service, pe, &l));
                Ok::<_, ProviderError>(live.map(|live| (a.clone(), live)))
            })
            .collect();
        found.extend(self.client.read_all(reads).await?.into_iter().flatten());
        Ok(found)
    }

    async fn adopt(&self, op: &Op, d: &Attrs) -> Result<Option<String>, ProviderError> {
        if op.kind == serverless::KIND {
            return Ok(serverless::adopted(d));
        }
        if op.kind == SERVICE {
            let w: WantService = from_attrs(op.kind, d)?;
            let list = self.client.list_azure_services(&w.project_id).await?;
            return Ok(list
                .into_iter()
                .find(|s| s.region_name == w.region && s.status != "DELETING")
                .map(|s| s.id));
        }
        let w: WantLink = from_attrs(op.kind, d)?;
        let found = self
            .client
            .get_azure_link(
                &w.project_id,
                &w.endpoint_service_id,
                &w.private_endpoint_id,
            )
            .await?;
        Ok(found.map(|_| w.private_endpoint_id))
    }

    async fn create_any(
        &self,
        op: &Op,
        d: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        // The region's service, shared, is used when it exists.
        let start = match start {
            Start::Fresh if op.kind == SERVICE => Start::Adopt,
            other => other,
        };
        let existing = starting_id(start, self.adopt(op, d), record).await?;
        match op.kind {
            SERVICE => self.create_service(op, d, existing, record).await,
            LINK => self.create_link(op, d, existing, record).await,
            serverless::KIND => {
                let on = (&self.client, self.policy);
                serverless::create(on, op, d, existing, record).await
            }
            other => Err(ProviderError::UnknownKind(other)),
        }
    }

    async fn create_service(
        &self,
        op: &Op,
        d: &Attrs,
        existing: Option<String>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let w: WantService = from_attrs(op.kind, d)?;
        let id = match existing {
            Some(id) => id,
            None => {
                let s = self
                    .client
                    .create_azure_service(&w.project_id, &w.region)
                    .await?;
                record(s.id.clone()).await?;
                s.id
            }
        };
        let how = (op.address.as_str(), self.policy, op.progress.as_ref());
        let s = self
            .client
            .wait_azure_service(&w.project_id, &id, Target::Ready, how)
            .await?
            .ok_or_else(|| {
                ProviderError::vanished(format!("endpoint service {id}"), " while creating")
            })?;
        Ok((id, kinds::service_attrs(&w.project_id, &s)))
    }

    async fn create_link(
        &self,
        op: &Op,
        d: &Attrs,
        existing: Option<String>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let w: WantLink = from_attrs(op.kind, d)?;
        let (project, service, pe) = (
            &w.project_id,
            &w.endpoint_service_id,
            &w.private_endpoint_id,
        );
        if existing.is_none() {
            self.client
                .create_azure_link(project, service, pe, &w.private_ip)
                .await?;
            record(pe.clone()).await?;
        }
        let how = (op.address.as_str(), self.policy, op.progress.as_ref());
        let l = self
            .client
            .wait_azure_link(project, service, pe, Target::Ready, how)
            .await?
            .ok_or_else(|| {
                ProviderError::vanished(format!("Atlas private endpoint {pe}"), " while linking")
            })?;
        let attrs = kinds::link_attrs(project, service, pe, &l).ok_or_else(|| {
            ProviderError::vanished(format!("Atlas private endpoint {pe}"), " while linking")
        })?;
        Ok((pe.clone(), attrs))
    }

    async fn delete_any(&self, op: &Op, id: Option<&str>, a: &Attrs) -> Result<(), ProviderError> {
        // Atlas has no unlink: the link goes with the serverless endpoint,
        // and the private endpoint's deletion ends the connection.
        if op.kind == serverless::KIND {
            return Ok(());
        }
        let Some(id) = id_to_delete(id, self.adopt(op, a)).await? else {
            return Ok(());
        };
        let how = (op.address.as_str(), self.policy, op.progress.as_ref());
        if op.kind == LINK {
            let w: WantLink = from_attrs(op.kind, a)?;
            self.client
                .delete_azure_link(&w.project_id, &w.endpoint_service_id, &id)
                .await?;
            self.client
                .wait_azure_link(
                    &w.project_id,
                    &w.endpoint_service_id,
                    &id,
                    Target::Gone,
                    how,
                )
                .await?;
            return Ok(());
        }
        let w: WantService = from_attrs(op.kind, a)?;
        let found = self.client.get_azure_service(&w.project_id, &id).await?;
        let kept = found
            .filter(|s| !s.private_endpoints.is_empty())
            .map(|s| Kept {
                id: id.clone(),
                holder: users(&s.private_endpoints),
            });
        delete_unless_kept(op, kept, async {
            self.client.delete_azure_service(&w.project_id, &id).await?;
            self.client
                .wait_azure_service(&w.project_id, &id, Target::Gone, how)
                .await?;
            Ok(())
        })
        .await
    }
}

/// The projects whose AZURE endpoint services a refresh lists: those of
/// the state's services and links, and those the file wants a service in.
fn projects(state: &StateFile, desired: &[DesiredResource]) -> BTreeSet<String> {
    let mut projects: BTreeSet<String> = state
        .resources
        .iter()
        .filter(|(_, r)| r.kind == SERVICE || r.kind == LINK)
        .filter_map(|(a, _)| recorded(state, a, "project_id").map(str::to_owned))
        .collect();
    projects.extend(
        desired
            .iter()
            .filter(|d| d.kind == SERVICE)
            .filter_map(|d| {
                from_attrs::<WantService>(SERVICE, &d.attrs)
                    .ok()
                    .map(|w| w.project_id)
            }),
    );
    projects
}

/// The service of `list` that lists the private endpoint `pe`: the one the
/// state records (`by_id`), or on import any that lists it.
fn listing<'l>(
    list: &'l [AzureService],
    by_id: Option<&str>,
    pe: &str,
) -> Option<&'l AzureService> {
    list.iter().find(|s| {
        by_id.is_none_or(|id| s.id == id) && s.private_endpoints.iter().any(|e| same(e, pe))
    })
}

/// The AZURE endpoint services of the state, from the lists; a service that
/// private endpoints of other stacks still use is kept.
fn read_services(state: &StateFile, services: &Services, view: &mut LiveView) {
    let ours: Vec<&str> = state
        .resources
        .values()
        .filter(|r| r.kind == LINK)
        .filter_map(|r| r.id.as_deref())
        .collect();
    for (a, r) in state.resources.iter().filter(|(_, r)| r.kind == SERVICE) {
        let project = recorded(state, a, "project_id").unwrap_or_default();
        let list = services.get(project).map(Vec::as_slice).unwrap_or_default();
        let id = r.id.as_deref().unwrap_or_default();
        let found = list.iter().find(|s| s.id == id && s.status != "DELETING");
        view.resources.insert(
            a.clone(),
            present(found.map(|s| kinds::service_attrs(project, s))),
        );
        let others: Vec<String> = found
            .map(|s| {
                s.private_endpoints
                    .iter()
                    .filter(|e| !ours.iter().any(|o| same(o, e)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !others.is_empty() {
            view.kept.insert(
                a.clone(),
                Kept {
                    id: id.to_owned(),
                    holder: users(&others),
                },
            );
        }
    }
}

/// An AZURE endpoint service the file wants that Atlas has and this state
/// does not: shared, so the create uses it.
fn conflicts(
    state: &StateFile,
    desired: &[DesiredResource],
    services: &Services,
    view: &mut LiveView,
) {
    for d in desired.iter().filter(|d| d.kind == SERVICE) {
        if state.resources.contains_key(&d.address) {
            continue;
        }
        let Ok(w) = from_attrs::<WantService>(SERVICE, &d.attrs) else {
            continue;
        };
        let found = services.get(&w.project_id).and_then(|l| {
            l.iter()
                .find(|s| s.region_name == w.region && s.status != "DELETING")
        });
        if let Some(s) = found {
            let why = format!("the Atlas endpoint service for AZURE {}", w.region);
            view.conflicts
                .insert(d.address.clone(), (s.id.clone(), why));
        }
    }
}

impl Cloud for AtlasAzureCloud {
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
        _id: &'a str,
        _before: &'a Attrs,
        _desired: &'a Attrs,
    ) -> BoxFuture<'a, Result<Attrs, ProviderError>> {
        async move {
            Err(ProviderError::Unsupported(format!(
                "{} cannot be changed in place: {} resources are replaced",
                op.address, op.kind
            )))
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
}
