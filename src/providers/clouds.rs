//! [`Clouds`]: the [`Provider`] the commands use. It holds every registered
//! [`Cloud`] and routes each call to the cloud that manages the resource's
//! kind; a refresh reads all clouds at once. It also routes the preflight
//! (see [`super::preflight`]): the checks before a plan's creates, and the
//! question whether what contains a resource is gone, which lets a refresh
//! or a delete that meets a missing project or serverless instance treat
//! the resources in it as gone instead of failing.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;

use super::atlas::AtlasClient;
pub use super::atlas::{Connection, EndpointConnection, through_endpoint};
use super::parts::Site;
use super::preflight::{self, Problem, Purpose, Request, Subject};
use super::{Cloud, Op, Provider, ProviderError, RecordCreated, Start, registry};
use crate::config::{Config, Network};
use crate::model::{Address, Attrs, DesiredResource, Kind};
use crate::plan::{Action, Catalog, Live, LiveView, Plan};
use crate::state::StateFile;
use crate::wait::WaitPolicy;

/// Every registered cloud, with the catalog of their kinds.
pub struct Clouds {
    clouds: Vec<Box<dyn Cloud>>,
    owner: BTreeMap<Kind, usize>,
    catalog: Catalog,
    atlas: AtlasClient,
    policy: WaitPolicy,
}

impl Clouds {
    /// The registered clouds over one Atlas client, waiting with `policy`.
    pub fn new(atlas: AtlasClient, policy: WaitPolicy) -> Self {
        let clouds = registry::clouds(&atlas, policy);
        let mut owner = BTreeMap::new();
        for (i, c) in clouds.iter().enumerate() {
            for k in c.kinds() {
                owner.insert(k.kind(), i);
            }
        }
        Clouds {
            clouds,
            owner,
            catalog: registry::catalog(),
            atlas,
            policy,
        }
    }

    /// Lets every cloud start what its first calls for `desired` need
    /// (see [`Cloud::prepare`]).
    pub fn prepare(&self, desired: &[DesiredResource]) {
        for c in &self.clouds {
            c.prepare(desired);
        }
    }

    /// The Atlas client, for commands that read Atlas directly (`output`).
    pub fn atlas(&self) -> &AtlasClient {
        &self.atlas
    }

    /// The private-endpoint connection strings Atlas has for the project's
    /// clusters (when `dedicated`) and the given serverless instances, read
    /// once they are IDLE (waiting at most the wait budget, and at most
    /// [`crate::limits::DEPLOYMENT_IDLE_WAIT`]).
    pub async fn connections(
        &self,
        project: &str,
        instances: &[String],
        dedicated: bool,
    ) -> Result<Vec<Connection>, ProviderError> {
        let idle_wait = self.policy.timeout.min(crate::limits::DEPLOYMENT_IDLE_WAIT);
        super::atlas::connections(&self.atlas, project, instances, dedicated, idle_wait).await
    }

    fn cloud(&self, kind: Kind) -> Result<&dyn Cloud, ProviderError> {
        self.owner
            .get(&kind)
            .map(|&i| self.clouds[i].as_ref())
            .ok_or(ProviderError::UnknownKind(kind))
    }

    /// Asks each cloud about its subjects, all clouds at once; every
    /// problem, those with the same message told once. No subject, no call.
    pub async fn preflight(
        &self,
        purpose: Purpose,
        subjects: Vec<Subject<'_>>,
        desired: &[DesiredResource],
    ) -> Result<Vec<Problem>, ProviderError> {
        let mut requests: Vec<Request<'_>> = (0..self.clouds.len())
            .map(|_| Request {
                purpose,
                subjects: Vec::new(),
                desired,
            })
            .collect();
        for s in subjects {
            if let Some(&i) = self.owner.get(&s.kind) {
                requests[i].subjects.push(s);
            }
        }
        let asked = self
            .clouds
            .iter()
            .zip(&requests)
            .filter(|(_, r)| !r.subjects.is_empty())
            .map(|(c, r)| c.preflight(r));
        let found = try_join_all(asked).await?;
        Ok(preflight::merge(found.into_iter().flatten().collect()))
    }

    /// Checks what `plan` would create, replace or change (only that: a
    /// plan without such changes makes no call): see [`super::preflight`].
    pub async fn preflight_plan(
        &self,
        plan: &Plan,
        config: &Config,
        desired: &[DesiredResource],
    ) -> Result<Vec<Problem>, ProviderError> {
        let changing: BTreeSet<&Address> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace | Action::Update))
            .map(|c| &c.address)
            .collect();
        self.preflight_desired(config, desired, |a| changing.contains(a))
            .await
    }

    /// Checks every desired resource `wanted` picks, as if about to be created.
    pub async fn preflight_desired(
        &self,
        config: &Config,
        desired: &[DesiredResource],
        wanted: impl Fn(&Address) -> bool,
    ) -> Result<Vec<Problem>, ProviderError> {
        let subjects: Vec<Subject<'_>> = desired
            .iter()
            .filter(|d| wanted(&d.address))
            .map(|d| Subject {
                address: &d.address,
                kind: d.kind,
                attrs: &d.attrs,
                site: site_of(config, &d.address),
            })
            .collect();
        self.preflight(Purpose::Create, subjects, desired).await
    }

    /// The resources of `state` (those `pick` picks) whose container (a
    /// project, a serverless instance) is gone: address → why.
    pub async fn orphans(
        &self,
        state: &StateFile,
        pick: impl Fn(&Address) -> bool,
    ) -> Result<BTreeMap<Address, String>, ProviderError> {
        let mut attrs: BTreeMap<&Address, Attrs> = BTreeMap::new();
        for (a, r) in state.resources.iter().filter(|(a, _)| pick(a)) {
            // What was read back, over what was asked for.
            let mut all = r.desired.clone();
            all.extend(r.attributes.clone());
            attrs.insert(a, all);
        }
        let subjects = attrs
            .iter()
            .map(|(a, all)| Subject {
                address: a,
                kind: state.resources[*a].kind,
                attrs: all,
                site: None,
            })
            .collect();
        let problems = self.preflight(Purpose::Gone, subjects, &[]).await?;
        let mut out = BTreeMap::new();
        for p in problems.iter().filter(|p| p.container_missing) {
            for a in &p.addresses {
                out.entry(a.clone()).or_insert_with(|| p.message.clone());
            }
        }
        Ok(out)
    }

    /// Why the object of a failed delete is gone with its container, if it is.
    async fn container_gone(&self, op: &Op, attrs: &Attrs) -> Option<String> {
        let subject = Subject {
            address: &op.address,
            kind: op.kind,
            attrs,
            site: None,
        };
        let problems = self.preflight(Purpose::Gone, vec![subject], &[]).await;
        problems
            .ok()?
            .into_iter()
            .find(|p| p.container_missing)
            .map(|p| p.message)
    }

    async fn refresh_each(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let views = try_join_all(self.clouds.iter().map(|c| c.refresh(state, desired))).await?;
        let mut all = LiveView::default();
        for v in views {
            all.resources.extend(v.resources);
            all.conflicts.extend(v.conflicts);
            all.kept.extend(v.kept);
        }
        Ok(all)
    }
}

/// Where the network side of the endpoint a resource belongs to is.
fn site_of(config: &Config, address: &Address) -> Option<Site> {
    let ep = config.endpoints.get(address.endpoint_name()?)?;
    match &ep.network {
        Network::Aws(n) => Some(super::aws::expand::site(n)),
        Network::Azure(n) => Some(super::azure::expand::site(n)),
    }
}

impl Provider for Clouds {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    async fn refresh(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let err = match self.refresh_each(state, desired).await {
            Ok(view) => return Ok(view),
            Err(e) => e,
        };
        // A read of what a missing project holds fails: the resources in
        // it are gone, and the rest is read without them.
        let gone = match self.orphans(state, |_| true).await {
            Ok(gone) if !gone.is_empty() => gone,
            _ => return Err(err),
        };
        let mut rest = state.clone();
        rest.resources.retain(|a, _| !gone.contains_key(a));
        let mut view = self.refresh_each(&rest, desired).await?;
        for a in gone.into_keys() {
            view.resources.insert(a, Live::Gone);
        }
        Ok(view)
    }

    async fn create(
        &self,
        op: &Op,
        desired: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        self.cloud(op.kind)?
            .create(op, desired, start, record)
            .await
    }

    async fn update(
        &self,
        op: &Op,
        id: &str,
        before: &Attrs,
        desired: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        self.cloud(op.kind)?.update(op, id, before, desired).await
    }

    /// A delete that fails because what contains the object (a project, a
    /// serverless instance) is gone is done: the object went with it.
    async fn delete(&self, op: &Op, id: Option<&str>, attrs: &Attrs) -> Result<(), ProviderError> {
        let err = match self.cloud(op.kind)?.delete(op, id, attrs).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        match self.container_gone(op, attrs).await {
            Some(why) => {
                tracing::warn!(address = %op.address, "{why}: treated as deleted");
                Ok(())
            }
            None => Err(err),
        }
    }
}
