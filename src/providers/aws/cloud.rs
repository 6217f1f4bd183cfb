//! The [`Cloud`] of the AWS kinds, on [`AwsCloud`]: a refresh reads each region once (VPC endpoints and
//! security groups at once, then the endpoints' network interfaces), then
//! confirms by id what that read left out (EC2 may not list an object it
//! has just created), and each create, update and delete goes to its kind's
//! module.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, try_join_all};

use super::client_egress::{self, egress_live};
use super::consistency::interfaces_complete;
use super::context::{AwsCloud, holder_of_found, owned, owner_tag};
use super::security_group::{self, group_attrs};
use super::vpc_endpoint::{self, vpce_attrs};
use super::{AwsError, Ec2, SecurityGroupInfo, TAG_ADDRESS, VpcEndpointInfo};
use crate::model::{Address, Attrs, DesiredResource};
use crate::plan::{Kept, Live, LiveView, ResourceRules};
use crate::providers::adopt::{delete_unless_kept, id_to_delete, other_owner, starting_id};
use crate::providers::typed::recorded;
use crate::providers::{Cloud, Op, ProviderError, RecordCreated, Start};
use crate::state::{ResourceState, StateFile};
use crate::wait::{Poll, WaitError, WaitPolicy, wait_for};

/// The id and tags of an object.
type Tagged = (String, BTreeMap<String, String>);

/// One region's VPC endpoints, security groups and interface IPs by id,
/// and for each resource whose create recorded no id, the objects that
/// carry its address's tag.
struct RegionRead {
    vpces: Vec<VpcEndpointInfo>,
    groups: Vec<SecurityGroupInfo>,
    ips: BTreeMap<String, String>,
    tagged: BTreeMap<Address, Vec<Tagged>>,
}

/// An object the batched read of a region left out, or showed incomplete,
/// to be asked for by its id; with how much longer EC2 may take to show it
/// when it is young (see [`young`]).
enum Confirm<'a> {
    Group(&'a str, Option<Duration>),
    Endpoint(&'a str, Option<Duration>),
}

/// What a [`Confirm`] found.
enum Confirmed {
    Group(SecurityGroupInfo),
    Endpoint(VpcEndpointInfo, BTreeMap<String, String>),
}

/// How much longer EC2 may take to show the object of `r`, if it is young
/// (see [`super::consistency::young`]).
fn young(r: &ResourceState) -> Option<Duration> {
    super::consistency::young(r.attempt.as_deref())
}

/// What of `addrs` the batched `read` must confirm by id: security groups
/// (privlink's own, and the client groups of egress rules) and VPC
/// endpoints it did not list, and young endpoints listing fewer network
/// interfaces (or IPs) than subnets.
fn to_confirm<'a>(state: &'a StateFile, addrs: &[&Address], read: &RegionRead) -> Vec<Confirm<'a>> {
    let mut out = Vec::new();
    for a in addrs {
        let r = &state.resources[*a];
        let Some(id) = r.id.as_deref() else { continue };
        match r.kind {
            vpc_endpoint::KIND => match read.vpces.iter().find(|v| v.id == id) {
                None => out.push(Confirm::Endpoint(id, young(r))),
                Some(v) if v.failed() || v.deleted() => {}
                Some(v) => {
                    let complete = interfaces_complete(v, &read.ips, v.subnet_ids.len());
                    if let (false, Some(left)) = (complete, young(r)) {
                        out.push(Confirm::Endpoint(id, Some(left)));
                    }
                }
            },
            security_group::KIND if !read.groups.iter().any(|g| g.id == id) => {
                out.push(Confirm::Group(id, young(r)));
            }
            // Egress rules authorized moments ago: their group existed then.
            client_egress::KIND => {
                let group = recorded(state, a, "group_id").unwrap_or(id);
                if !read.groups.iter().any(|g| g.id == group) {
                    out.push(Confirm::Group(group, young(r)));
                }
            }
            _ => {}
        }
    }
    out
}

/// Asks EC2 for one object by its id: a young one again while EC2 does not
/// show it (complete), for the time it has left; `None` when EC2 says it
/// does not exist.
async fn confirm(ec2: &Ec2, check: &Confirm<'_>) -> Result<Option<Confirmed>, AwsError> {
    match *check {
        Confirm::Group(id, Some(left)) => match ec2.seen_security_group(id, left).await {
            Ok(g) => Ok(Some(Confirmed::Group(g))),
            Err(e) if e.is_unseen(&[id.to_owned()]) => Ok(None),
            Err(e) => Err(e),
        },
        Confirm::Group(id, None) => Ok(ec2.security_group(id).await?.map(Confirmed::Group)),
        Confirm::Endpoint(id, Some(left)) => Ok(ec2
            .seen_vpc_endpoint(id, left)
            .await?
            .map(|(v, ips)| Confirmed::Endpoint(v, ips))),
        Confirm::Endpoint(id, None) => Ok(ec2
            .endpoint_with_ips(id)
            .await?
            .map(|(v, ips)| Confirmed::Endpoint(v, ips))),
    }
}

impl RegionRead {
    /// Adds what a confirmation found, over what the batched read said.
    fn merge(&mut self, found: Confirmed) {
        match found {
            Confirmed::Group(g) => {
                self.groups.retain(|x| x.id != g.id);
                self.groups.push(g);
            }
            Confirmed::Endpoint(v, ips) => {
                self.vpces.retain(|x| x.id != v.id);
                self.vpces.push(v);
                self.ips.extend(ips);
            }
        }
    }
}

impl AwsCloud {
    /// What one region holds of `addrs`: their VPC endpoints, their
    /// security groups (owned and client) and the private IP of each
    /// endpoint network interface. Endpoints and groups are read at once.
    async fn read_region(
        &self,
        region: &str,
        state: &StateFile,
        addrs: &[&Address],
    ) -> Result<RegionRead, ProviderError> {
        let ec2 = self.ec2(region).await;
        let mut vpce_ids = Vec::new();
        let mut group_ids = Vec::new();
        for a in addrs {
            let r = &state.resources[*a];
            match r.kind {
                vpc_endpoint::KIND => vpce_ids.extend(r.id.clone()),
                security_group::KIND => group_ids.extend(r.id.clone()),
                _ => group_ids.extend(recorded(state, a, "group_id").map(str::to_owned)),
            }
        }
        group_ids.sort();
        group_ids.dedup();
        let vpces = on_own_task(&ec2, vpce_ids, |ec2, ids| async move {
            ec2.describe_vpc_endpoints(&ids).await
        });
        let groups = on_own_task(&ec2, group_ids, |ec2, ids| async move {
            ec2.describe_security_groups(&ids).await
        });
        // The network interfaces the state records are described beside
        // the endpoints (every read of the region at once); any the
        // endpoints list that the state does not know are described after.
        let recorded_enis = recorded_interfaces(state, addrs);
        let known = on_own_task(&ec2, recorded_enis.clone(), |ec2, ids| async move {
            ec2.network_interface_ips(&ids).await
        });
        let ec2_reads =
            async { tokio::try_join!(vpces, groups, known).map_err(ProviderError::from) };
        let ((vpces, groups, known), tagged) =
            tokio::try_join!(ec2_reads, tagged(&ec2, state, addrs))?;
        let mut ips: BTreeMap<String, String> = known.into_iter().collect();
        let missing: Vec<String> = vpces
            .iter()
            .flat_map(|v| v.network_interface_ids.iter())
            .filter(|eni| !recorded_enis.contains(eni))
            .cloned()
            .collect();
        if !missing.is_empty() {
            ips.extend(ec2.network_interface_ips(&missing).await?);
        }
        let mut read = RegionRead {
            vpces,
            groups,
            ips,
            tagged,
        };
        let checks = to_confirm(state, addrs, &read);
        let found = try_join_all(checks.iter().map(|c| confirm(&ec2, c))).await?;
        for f in found.into_iter().flatten() {
            read.merge(f);
        }
        Ok(read)
    }

    async fn refresh_all(&self, state: &StateFile) -> Result<LiveView, ProviderError> {
        let mut regions: BTreeMap<String, Vec<&Address>> = BTreeMap::new();
        for (a, r) in &state.resources {
            if super::KINDS.iter().any(|k| k.kind() == r.kind)
                && let Some(region) = recorded(state, a, "region")
            {
                regions.entry(region.to_owned()).or_default().push(a);
            }
        }
        let reads = try_join_all(
            regions
                .iter()
                .map(|(region, addrs)| self.read_region(region, state, addrs)),
        )
        .await?;
        let mut view = LiveView::default();
        for ((region, addrs), read) in regions.iter().zip(reads) {
            for a in addrs {
                view.resources
                    .insert((*a).clone(), live_of(state, a, region, &read));
                if let Some(k) = kept_of(state, a, &read) {
                    view.kept.insert((*a).clone(), k);
                }
            }
        }
        Ok(view)
    }

    async fn adopt(&self, op: &Op, d: &Attrs) -> Result<Option<String>, ProviderError> {
        match op.kind {
            security_group::KIND => self.find_group(op, d).await,
            vpc_endpoint::KIND => self.find_vpce(op, d).await,
            // Egress rules are keyed by the client group and idempotent.
            _ => Ok(d
                .get("group_id")
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
        let existing = starting_id(start, self.adopt(op, d), record).await?;
        let resume = existing.as_deref();
        match op.kind {
            security_group::KIND => self.create_group(op, d, resume, record).await,
            vpc_endpoint::KIND => self.create_vpce(op, d, resume, record).await,
            client_egress::KIND => self.create_egress(op, d).await,
            other => Err(ProviderError::UnknownKind(other)),
        }
    }

    /// What an earlier run created without recording its id, by its tags:
    /// for an object whose create began moments ago, looked for again while
    /// EC2 does not list it yet, for the time it may take.
    async fn find_created(&self, op: &Op, a: &Attrs) -> Result<Option<String>, ProviderError> {
        let Some(left) = super::consistency::young(op.attempt.as_deref()) else {
            return self.adopt(op, a).await;
        };
        let policy = WaitPolicy {
            timeout: left,
            min_delay: crate::limits::AWS_PROPAGATION_MIN_DELAY,
            max_delay: crate::limits::AWS_PROPAGATION_MAX_DELAY,
        };
        let step = "looking for what an interrupted create made";
        let poll = || async {
            Ok::<_, ProviderError>(match self.adopt(op, a).await? {
                Some(id) => Poll::Ready(Some(id)),
                None => Poll::Pending("not listed yet".into()),
            })
        };
        match wait_for(
            op.address.as_str(),
            step,
            policy,
            op.progress.as_ref(),
            poll,
        )
        .await
        {
            Ok(found) => Ok(found),
            Err(WaitError::Poll { source, .. }) => Err(source),
            // Never listed in the time it may take: nothing was made.
            Err(WaitError::TimedOut { .. } | WaitError::Failed { .. }) => Ok(None),
        }
    }

    async fn delete_any(&self, op: &Op, id: Option<&str>, a: &Attrs) -> Result<(), ProviderError> {
        let Some(id) = id_to_delete(id, self.find_created(op, a)).await? else {
            return Ok(());
        };
        let id = id.as_str();
        let kept = self.kept_live(op, id, a).await?;
        delete_unless_kept(op, kept, async {
            match op.kind {
                security_group::KIND => self.delete_group(op, id, a).await,
                vpc_endpoint::KIND => self.delete_vpce(op, id, a).await,
                client_egress::KIND => self.delete_egress(op, a).await,
                other => Err(ProviderError::UnknownKind(other)),
            }
        })
        .await
    }

    /// The group or endpoint `id` when its tags name another state as owner
    /// (read just before deleting it).
    async fn kept_live(&self, op: &Op, id: &str, a: &Attrs) -> Result<Option<Kept>, ProviderError> {
        let ids = [id.to_owned()];
        let tags = match op.kind {
            security_group::KIND => {
                let ec2 = self.ec2(&super::context::region_of(op, a)?).await;
                let found = ec2.describe_security_groups(&ids).await?;
                found.into_iter().next().map(|g| g.tags)
            }
            vpc_endpoint::KIND => {
                let ec2 = self.ec2(&super::context::region_of(op, a)?).await;
                let found = ec2.describe_vpc_endpoints(&ids).await?;
                found.into_iter().next().map(|v| v.tags)
            }
            _ => None,
        };
        let owner = tags.as_ref().and_then(owner_tag);
        Ok(other_owner(owner, &op.owner).map(|holder| Kept {
            id: id.to_owned(),
            holder,
        }))
    }
}

/// Runs `read` of `ids` on its own task, or nothing when there are none:
/// the SDK's work of building and signing each request is then spread over
/// the runtime's threads, and every read of every region leaves at once.
async fn on_own_task<T, F, Fut>(ec2: &Ec2, ids: Vec<String>, read: F) -> Result<Vec<T>, AwsError>
where
    T: Send + 'static,
    F: FnOnce(Ec2, Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, AwsError>> + Send + 'static,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match tokio::spawn(read(ec2.clone(), ids)).await {
        Ok(out) => out,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels it, and this with it.
        Err(e) => Err(AwsError::Other {
            operation: "read",
            message: e.to_string(),
        }),
    }
}

/// The network interface ids the state records for the VPC endpoints of
/// `addrs`, sorted and without repeats.
fn recorded_interfaces(state: &StateFile, addrs: &[&Address]) -> Vec<String> {
    let mut ids: Vec<String> = addrs
        .iter()
        .filter_map(|a| state.resources.get(*a))
        .filter(|r| r.kind == vpc_endpoint::KIND && r.id.is_some())
        .filter_map(|r| r.attributes.get("network_interface_ids"))
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// For each security group and VPC endpoint of `addrs` whose create
/// recorded no id, the live objects that carry its address's tag (so that
/// the plan can say whose they are).
async fn tagged(
    ec2: &Ec2,
    state: &StateFile,
    addrs: &[&Address],
) -> Result<BTreeMap<Address, Vec<Tagged>>, ProviderError> {
    let mut out = BTreeMap::new();
    for a in addrs {
        let r = &state.resources[*a];
        if r.id.is_some() {
            continue;
        }
        let found: Vec<Tagged> = match r.kind {
            security_group::KIND => ec2
                .find_security_groups_by_tag(TAG_ADDRESS, a.as_str())
                .await?
                .into_iter()
                .map(|g| (g.id, g.tags))
                .collect(),
            vpc_endpoint::KIND => ec2
                .describe_vpc_endpoints_by_tag(TAG_ADDRESS, a.as_str())
                .await?
                .into_iter()
                .filter(|v| !v.deleted())
                .map(|v| (v.id, v.tags))
                .collect(),
            _ => continue,
        };
        out.insert((*a).clone(), found);
    }
    Ok(out)
}

/// The object at a state address that this state must leave alone: the
/// recorded one when its tags name another owner; for a create that
/// recorded no id (and no object of this state carries its tags), one
/// tagged for this address by another state or by an older build.
fn kept_of(state: &StateFile, a: &Address, read: &RegionRead) -> Option<Kept> {
    let r = &state.resources[a];
    let (id, holder) = match &r.id {
        Some(id) => {
            let tags = match r.kind {
                vpc_endpoint::KIND => read.vpces.iter().find(|v| &v.id == id).map(|v| &v.tags),
                security_group::KIND => read.groups.iter().find(|g| &g.id == id).map(|g| &g.tags),
                _ => None,
            }?;
            (id.clone(), other_owner(owner_tag(tags), &state.lineage)?)
        }
        None => {
            let found = read.tagged.get(a)?;
            if found
                .iter()
                .any(|(_, tags)| owned(tags, &state.stack, &state.lineage))
            {
                return None;
            }
            found.iter().find_map(|(id, tags)| {
                holder_of_found(tags, &state.stack, &state.lineage).map(|h| (id.clone(), h))
            })?
        }
    };
    Some(Kept { id, holder })
}

/// What a region's read says of one state resource.
fn live_of(state: &StateFile, a: &Address, region: &str, read: &RegionRead) -> Live {
    let r = &state.resources[a];
    let attrs = match r.kind {
        vpc_endpoint::KIND => read
            .vpces
            .iter()
            .find(|v| Some(v.id.as_str()) == r.id.as_deref() && !v.deleted())
            .map(|v| vpce_attrs(region, v, &read.ips)),
        security_group::KIND => read
            .groups
            .iter()
            .find(|g| Some(g.id.as_str()) == r.id.as_deref())
            .map(|g| group_attrs(region, g)),
        _ => {
            let group = recorded(state, a, "group_id").unwrap_or_default();
            read.groups
                .iter()
                .find(|g| g.id == group)
                .map(|g| egress_live(region, group, &r.attributes, g))
        }
    };
    match attrs {
        Some(attributes) => Live::Present { attributes },
        None => Live::Gone,
    }
}

impl Cloud for AwsCloud {
    fn name(&self) -> &'static str {
        "AWS"
    }

    fn kinds(&self) -> Vec<&'static dyn ResourceRules> {
        super::KINDS.to_vec()
    }

    fn prepare(&self, desired: &[DesiredResource]) {
        let mut regions: Vec<String> = Vec::new();
        let named = desired
            .iter()
            .filter(|d| super::KINDS.iter().any(|k| k.kind() == d.kind))
            .filter_map(|d| d.attrs.get("region").and_then(|v| v.as_str()));
        for region in named {
            if !regions.iter().any(|r| r == region) {
                regions.push(region.to_owned());
            }
        }
        self.prepare_in_background(regions);
    }

    fn refresh<'a>(
        &'a self,
        state: &'a StateFile,
        _desired: &'a [DesiredResource],
    ) -> BoxFuture<'a, Result<LiveView, ProviderError>> {
        self.refresh_all(state).boxed()
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
        before: &'a Attrs,
        desired: &'a Attrs,
    ) -> BoxFuture<'a, Result<Attrs, ProviderError>> {
        async move {
            match op.kind {
                security_group::KIND => self.update_group(op, id, before, desired).await,
                vpc_endpoint::KIND => self.update_vpce(op, id, before, desired).await,
                client_egress::KIND => self.update_egress(op, before, desired).await,
                other => Err(ProviderError::UnknownKind(other)),
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
