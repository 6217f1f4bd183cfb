//! [`Clouds`]: the [`Provider`] over Atlas and EC2.
//!
//! Maps each resource kind onto the calls of the seed's procedure and of the
//! dedicated-cluster flow, shapes what the clouds report into the attribute
//! maps the planner compares, and batches every read: one list per serverless
//! instance and per Atlas project, one describe per region and kind.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::future::try_join_all;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::atlas::{
    AtlasClient, AtlasError, EndpointService, InterfaceTarget, ServerlessEndpoint,
    ServerlessTarget, ServiceTarget,
};
use super::aws::{
    AwsError, CreateVpcEndpoint, Ec2, SecurityGroupInfo, Source, VpcEndpointInfo, VpceTarget,
};
use super::{Op, Provider, ProviderError, RecordCreated, Start};
use crate::model::{Address, Attrs, DesiredResource, Kind};
use crate::plan::expand::{TAG_ADDRESS, TAG_STACK};
use crate::plan::{Live, LiveView};
use crate::state::StateFile;
use crate::wait::WaitPolicy;

/// One region's VPC endpoints, security groups and interface IPs by id.
type RegionRead = (
    Vec<VpcEndpointInfo>,
    Vec<SecurityGroupInfo>,
    BTreeMap<String, String>,
);

/// Atlas region name (`US_EAST_1`) for an AWS region (`us-east-1`).
pub fn atlas_region(aws_region: &str) -> String {
    aws_region.to_ascii_uppercase().replace('-', "_")
}

/// Both clouds, with EC2 clients made per region on first use.
pub struct Clouds {
    atlas: AtlasClient,
    ec2: Mutex<HashMap<String, Ec2>>,
    policy: WaitPolicy,
}

impl From<AtlasError> for ProviderError {
    fn from(e: AtlasError) -> Self {
        if e.is_terminal() {
            ProviderError::Terminal(e.to_string())
        } else {
            ProviderError::Other(e.to_string())
        }
    }
}

impl From<AwsError> for ProviderError {
    fn from(e: AwsError) -> Self {
        match e {
            AwsError::Failed { .. } => ProviderError::Terminal(e.to_string()),
            _ => ProviderError::Other(e.to_string()),
        }
    }
}

/// An object that vanished while privlink was working on it.
fn disappeared(what: String, during: &str) -> ProviderError {
    ProviderError::Other(format!("{what} disappeared{during}"))
}

fn obj(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

fn s<'a>(a: &'a Attrs, k: &str) -> Result<&'a str, ProviderError> {
    a.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Other(format!("attribute {k} is missing")))
}

fn strings(a: &Attrs, k: &str) -> Vec<String> {
    a.get(k)
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_source(s: &str) -> Source {
    if s.starts_with("sg-") {
        Source::Group(s.to_owned())
    } else {
        Source::Cidr(s.to_owned())
    }
}

fn source_string(s: &Source) -> String {
    match s {
        Source::Group(g) => g.clone(),
        Source::Cidr(c) => c.clone(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn rule_description(stack: &str, address: &Address) -> String {
    format!("privlink {stack} {address}")
}

fn serverless_attrs(project: &str, instance: &str, e: &ServerlessEndpoint) -> Attrs {
    obj(json!({
        "project_id": project,
        "instance": instance,
        "comment": e.comment.as_deref().and_then(strip_marker),
        "id": e.id,
        "endpoint_service_name": e.endpoint_service_name,
        "status": e.status,
        "error_message": e.error_message,
        "cloud_provider_endpoint_id": e.cloud_provider_endpoint_id,
    }))
}

fn link_attrs(project: &str, instance: &str, e: &ServerlessEndpoint) -> Attrs {
    obj(json!({
        "project_id": project,
        "instance": instance,
        "endpoint_id": e.id,
        "vpc_endpoint_id": e.cloud_provider_endpoint_id,
        "status": e.status,
        "error_message": e.error_message,
    }))
}

fn service_attrs(project: &str, region: &str, e: &EndpointService) -> Attrs {
    obj(json!({
        "project_id": project,
        "region": region,
        "id": e.id,
        "endpoint_service_name": e.endpoint_service_name,
        "status": e.status,
        "error_message": e.error_message,
        "interface_endpoints": e.interface_endpoints,
    }))
}

fn vpce_attrs(region: &str, v: &VpcEndpointInfo, ips: &BTreeMap<String, String>) -> Attrs {
    let cidrs: Vec<String> = sorted(
        v.network_interface_ids
            .iter()
            .filter_map(|eni| ips.get(eni))
            .map(|ip| format!("{ip}/32"))
            .collect(),
    );
    obj(json!({
        "region": region,
        "vpc_id": v.vpc_id,
        "service_name": v.service_name,
        "subnet_ids": sorted(v.subnet_ids.clone()),
        "security_group_ids": sorted(v.security_group_ids.clone()),
        "id": v.id,
        "state": v.state,
        "network_interface_ids": sorted(v.network_interface_ids.clone()),
        "private_ip_cidrs": cidrs,
    }))
}

fn group_attrs(region: &str, g: &SecurityGroupInfo) -> Attrs {
    obj(json!({
        "region": region,
        "vpc_id": g.vpc_id,
        "name": g.name,
        "description": g.description,
        "ingress": sorted(g.ingress.iter().map(|r| source_string(&r.source)).collect()),
        "id": g.id,
    }))
}

fn vpce_gone(v: &VpcEndpointInfo) -> bool {
    matches!(
        v.state.to_ascii_lowercase().as_str(),
        "deleted" | "deleting" | "failed" | "rejected" | "expired"
    )
}

impl Clouds {
    pub fn new(atlas: AtlasClient, policy: WaitPolicy) -> Self {
        Clouds {
            atlas,
            ec2: Mutex::new(HashMap::new()),
            policy,
        }
    }

    /// The Atlas client, for commands that read Atlas directly (`output`, `import`).
    pub fn atlas(&self) -> &AtlasClient {
        &self.atlas
    }

    /// The EC2 client of a region.
    pub async fn ec2(&self, region: &str) -> Ec2 {
        let mut map = self.ec2.lock().await;
        if let Some(c) = map.get(region) {
            return c.clone();
        }
        let c = Ec2::from_env(region).await;
        map.insert(region.to_owned(), c.clone());
        c
    }

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
                Kind::VpcEndpoint => vpce_ids.extend(r.id.clone()),
                Kind::SecurityGroup => group_ids.extend(r.id.clone()),
                Kind::ClientEgress => {
                    group_ids.extend(recorded(state, a, "group_id").map(str::to_owned))
                }
                _ => {}
            }
        }
        group_ids.sort();
        group_ids.dedup();
        let vpces = async {
            if vpce_ids.is_empty() {
                Ok(Vec::new())
            } else {
                ec2.describe_vpc_endpoints(&vpce_ids).await
            }
        };
        let groups = async {
            if group_ids.is_empty() {
                Ok(Vec::new())
            } else {
                ec2.describe_security_groups(&group_ids).await
            }
        };
        let (vpces, groups) = tokio::try_join!(vpces, groups)?;
        let enis: Vec<String> = vpces
            .iter()
            .flat_map(|v| v.network_interface_ids.iter().cloned())
            .collect();
        let ips: BTreeMap<String, String> = if enis.is_empty() {
            BTreeMap::new()
        } else {
            ec2.network_interface_ips(&enis)
                .await?
                .into_iter()
                .collect()
        };
        Ok((vpces, groups, ips))
    }

    /// The attributes of an endpoint just read (by its wait), with the
    /// private IPs of its network interfaces.
    async fn vpce_with_ips(
        &self,
        ec2: &Ec2,
        region: &str,
        found: Option<VpcEndpointInfo>,
        id: &str,
    ) -> Result<Attrs, ProviderError> {
        let v = found.ok_or_else(|| disappeared(format!("VPC endpoint {id}"), ""))?;
        let ips: BTreeMap<String, String> = ec2
            .network_interface_ips(&v.network_interface_ids)
            .await?
            .into_iter()
            .collect();
        Ok(vpce_attrs(region, &v, &ips))
    }

    async fn security_group_attrs(
        &self,
        ec2: &Ec2,
        region: &str,
        id: &str,
    ) -> Result<Attrs, ProviderError> {
        let groups = ec2.describe_security_groups(&[id.to_owned()]).await?;
        let g = groups
            .into_iter()
            .find(|g| g.id == id)
            .ok_or_else(|| disappeared(format!("security group {id}"), ""))?;
        Ok(group_attrs(region, &g))
    }
}

/// The private-endpoint connection strings of one Atlas deployment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Connection {
    /// "cluster NAME" or "serverless instance NAME".
    pub deployment: String,
    pub connection_strings: Vec<String>,
    pub endpoint_ids: Vec<String>,
}

impl Clouds {
    /// Reads the private-endpoint connection strings Atlas has for the
    /// project's clusters (when `dedicated`) and the given serverless instances.
    pub async fn connections(
        &self,
        project: &str,
        instances: &[String],
        dedicated: bool,
    ) -> Result<Vec<Connection>, ProviderError> {
        let mut out = Vec::new();
        if dedicated {
            for c in self.atlas.list_clusters(project).await? {
                let mut strings = Vec::new();
                let mut ids = Vec::new();
                for p in &c.private_endpoint_connection_strings {
                    strings.extend(
                        p.srv_connection_string
                            .clone()
                            .or_else(|| p.connection_string.clone()),
                    );
                    ids.extend(p.endpoint_ids.iter().cloned());
                }
                out.push(Connection {
                    deployment: format!("cluster {}", c.name),
                    connection_strings: strings,
                    endpoint_ids: sorted(ids),
                });
            }
        }
        for i in instances {
            if let Some(inst) = self.atlas.get_serverless_instance(project, i).await? {
                out.push(Connection {
                    deployment: format!("serverless instance {}", inst.name),
                    connection_strings: inst.private_endpoint_srv.clone(),
                    endpoint_ids: Vec::new(),
                });
            }
        }
        Ok(out)
    }
}

/// Reads one value of a state resource's recorded desired attributes.
fn recorded<'a>(state: &'a StateFile, a: &Address, key: &str) -> Option<&'a str> {
    let r = state.resources.get(a)?;
    r.desired
        .get(key)
        .or_else(|| r.attributes.get(key))
        .and_then(Value::as_str)
}

impl Provider for Clouds {
    async fn refresh(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let mut view = LiveView::default();

        // Atlas, serverless: one list per (project, instance).
        let mut instances: BTreeMap<(String, String), Vec<&Address>> = BTreeMap::new();
        for (a, r) in &state.resources {
            if matches!(r.kind, Kind::ServerlessEndpoint | Kind::ServerlessLink)
                && let (Some(p), Some(i)) = (
                    recorded(state, a, "project_id"),
                    recorded(state, a, "instance"),
                )
            {
                instances
                    .entry((p.to_owned(), i.to_owned()))
                    .or_default()
                    .push(a);
            }
        }
        // Atlas, dedicated: one list of endpoint services per project.
        let mut projects: BTreeSet<String> = BTreeSet::new();
        for (a, r) in &state.resources {
            if matches!(r.kind, Kind::EndpointService | Kind::InterfaceEndpoint)
                && let Some(p) = recorded(state, a, "project_id")
            {
                projects.insert(p.to_owned());
            }
        }
        for d in desired {
            if d.kind == Kind::EndpointService
                && let Some(p) = d.attrs.get("project_id").and_then(Value::as_str)
            {
                projects.insert(p.to_owned());
            }
        }

        // AWS: per region, one describe of VPC endpoints, one of security
        // groups (owned and client), one of network interfaces.
        let mut regions: BTreeMap<String, Vec<&Address>> = BTreeMap::new();
        for (a, r) in &state.resources {
            if r.kind.side() == crate::model::Side::Aws
                && let Some(region) = recorded(state, a, "region")
            {
                regions.entry(region.to_owned()).or_default().push(a);
            }
        }

        // Atlas and EC2 at once. Atlas lists go one after another: HTTP
        // Digest numbers each request on the shared nonce, and requests that
        // overtake each other on the way are refused (and answered again)
        // by a server that wants the numbers in order. EC2 regions, and the
        // describes within one, are read concurrently.
        let serverless_lists = async {
            let mut lists = Vec::with_capacity(instances.len());
            for (project, instance) in instances.keys() {
                lists.push(
                    match self
                        .atlas
                        .list_serverless_endpoints(project, instance)
                        .await
                    {
                        Ok(l) => l,
                        Err(e) if e.is_not_found() => Vec::new(),
                        Err(e) => return Err(ProviderError::from(e)),
                    },
                );
            }
            let mut services = Vec::with_capacity(projects.len());
            for p in &projects {
                services.push((p.clone(), self.atlas.list_endpoint_services(p).await?));
            }
            Ok::<_, ProviderError>((lists, services))
        };
        let region_reads = try_join_all(
            regions
                .iter()
                .map(|(region, addrs)| self.read_region(region, state, addrs)),
        );
        let ((serverless_lists, service_lists), region_reads) =
            tokio::try_join!(serverless_lists, region_reads)?;

        for (((project, instance), addrs), list) in instances.iter().zip(serverless_lists) {
            for a in addrs {
                let r = &state.resources[*a];
                let id = match r.kind {
                    Kind::ServerlessEndpoint => r.id.as_deref(),
                    _ => recorded(state, a, "endpoint_id").or(r.id.as_deref()),
                };
                let found = id.and_then(|id| list.iter().find(|e| e.id == id));
                let live = match (r.kind, found) {
                    (_, None) => Live::Gone,
                    (_, Some(e)) if e.status == "DELETING" => Live::Gone,
                    (Kind::ServerlessEndpoint, Some(e)) => Live::Present {
                        attributes: serverless_attrs(project, instance, e),
                    },
                    (_, Some(e)) => match &e.cloud_provider_endpoint_id {
                        Some(_) => Live::Present {
                            attributes: link_attrs(project, instance, e),
                        },
                        None => Live::Gone,
                    },
                };
                view.resources.insert((*a).clone(), live);
            }
        }

        let services: BTreeMap<String, Vec<EndpointService>> = service_lists.into_iter().collect();
        for (a, r) in &state.resources {
            match r.kind {
                Kind::EndpointService => {
                    let project = recorded(state, a, "project_id").unwrap_or_default();
                    let region = recorded(state, a, "region").unwrap_or_default();
                    let found = services
                        .get(project)
                        .and_then(|l| l.iter().find(|s| Some(s.id.as_str()) == r.id.as_deref()))
                        .filter(|s| s.status != "DELETING");
                    view.resources.insert(
                        a.clone(),
                        match found {
                            Some(s) => Live::Present {
                                attributes: service_attrs(project, region, s),
                            },
                            None => Live::Gone,
                        },
                    );
                }
                Kind::InterfaceEndpoint => {
                    let project = recorded(state, a, "project_id").unwrap_or_default();
                    let vpce = r.id.as_deref().unwrap_or_default();
                    // The service is known from state, or (on import) found by
                    // the endpoint it lists.
                    let service = services.get(project).and_then(|l| {
                        let by_id = recorded(state, a, "endpoint_service_id");
                        l.iter().find(|s| match by_id {
                            Some(id) => s.id == id,
                            None => s.interface_endpoints.iter().any(|e| e == vpce),
                        })
                    });
                    let service_id = service.map(|s| s.id.as_str()).unwrap_or_default();
                    let listed =
                        service.is_some_and(|s| s.interface_endpoints.iter().any(|e| e == vpce));
                    view.resources.insert(
                        a.clone(),
                        if listed {
                            // The list says it exists; its status is as last recorded.
                            let mut attributes = r.attributes.clone();
                            attributes.insert("project_id".into(), json!(project));
                            attributes.insert("endpoint_service_id".into(), json!(service_id));
                            attributes.insert("vpc_endpoint_id".into(), json!(vpce));
                            Live::Present { attributes }
                        } else {
                            Live::Gone
                        },
                    );
                }
                _ => {}
            }
        }
        // An endpoint service the configuration wants, that Atlas has and
        // this state does not: creating it would fail with 409.
        for d in desired {
            if d.kind != Kind::EndpointService || state.resources.contains_key(&d.address) {
                continue;
            }
            let project = d
                .attrs
                .get("project_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let region = d
                .attrs
                .get("region")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(s) = services.get(project).and_then(|l| {
                l.iter()
                    .find(|s| s.region_name == atlas_region(region) && s.status != "DELETING")
            }) {
                view.conflicts.insert(
                    d.address.clone(),
                    (
                        s.id.clone(),
                        format!("the Atlas endpoint service for AWS {region}"),
                    ),
                );
            }
        }

        for ((region, addrs), (vpces, groups, ips)) in regions.iter().zip(region_reads) {
            for a in addrs {
                let r = &state.resources[*a];
                let live = match r.kind {
                    Kind::VpcEndpoint => vpces
                        .iter()
                        .find(|v| Some(v.id.as_str()) == r.id.as_deref() && !vpce_gone(v))
                        .map(|v| Live::Present {
                            attributes: vpce_attrs(region, v, &ips),
                        })
                        .unwrap_or(Live::Gone),
                    Kind::SecurityGroup => groups
                        .iter()
                        .find(|g| Some(g.id.as_str()) == r.id.as_deref())
                        .map(|g| Live::Present {
                            attributes: group_attrs(region, g),
                        })
                        .unwrap_or(Live::Gone),
                    Kind::ClientEgress => {
                        let group = recorded(state, a, "group_id").unwrap_or_default();
                        let ours: BTreeSet<String> =
                            strings(&r.attributes, "cidrs").into_iter().collect();
                        match groups.iter().find(|g| g.id == group) {
                            None => Live::Gone,
                            Some(g) => {
                                let present: Vec<String> = g
                                    .egress
                                    .iter()
                                    .filter(|x| x.protocol == "-1")
                                    .map(|x| source_string(&x.source))
                                    .filter(|c| ours.contains(c))
                                    .collect();
                                Live::Present {
                                    attributes: obj(json!({
                                        "region": region,
                                        "group_id": group,
                                        "cidrs": sorted(present),
                                        "id": group,
                                    })),
                                }
                            }
                        }
                    }
                    _ => continue,
                };
                view.resources.insert((*a).clone(), live);
            }
        }
        Ok(view)
    }

    async fn create(
        &self,
        op: &Op,
        d: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let address = op.address.as_str();
        let progress = op.progress.as_ref();
        let existing: Option<String> = match start {
            Start::Resume(id) => Some(id.to_owned()),
            Start::Adopt => {
                let found = self.find_existing(op, d).await?;
                if let Some(id) = &found {
                    record(id.to_owned()).await?;
                }
                found
            }
            Start::Fresh => None,
        };
        let resume_id = existing.as_deref();
        match op.kind {
            Kind::ServerlessEndpoint => {
                let (project, instance) = (s(d, "project_id")?, s(d, "instance")?);
                let id = match resume_id {
                    Some(id) => id.to_owned(),
                    None => {
                        let comment = marked_comment(
                            d.get("comment").and_then(Value::as_str),
                            &op.stack,
                            &op.address,
                        );
                        let e = self
                            .atlas
                            .create_serverless_endpoint(project, instance, Some(&comment))
                            .await?;
                        record(e.id.clone()).await?;
                        e.id
                    }
                };
                let e = self
                    .atlas
                    .wait_serverless_endpoint(
                        project,
                        instance,
                        &id,
                        ServerlessTarget::Reserved,
                        address,
                        self.policy,
                        progress,
                    )
                    .await?
                    .ok_or_else(|| {
                        disappeared(format!("Atlas endpoint {id}"), " while reserving")
                    })?;
                Ok((id, serverless_attrs(project, instance, &e)))
            }
            Kind::ServerlessLink => {
                let (project, instance) = (s(d, "project_id")?, s(d, "instance")?);
                let (endpoint, vpce) = (s(d, "endpoint_id")?, s(d, "vpc_endpoint_id")?);
                // The PATCH is repeated unless Atlas already has this id
                // (a resumed or adopted link may or may not have sent it).
                let current = match resume_id {
                    Some(_) => self
                        .atlas
                        .get_serverless_endpoint(project, instance, endpoint)
                        .await?
                        .and_then(|e| e.cloud_provider_endpoint_id),
                    None => None,
                };
                if current.as_deref() != Some(vpce) {
                    self.atlas
                        .update_serverless_endpoint(project, instance, endpoint, Some(vpce), None)
                        .await?;
                }
                if resume_id.is_none() {
                    record(endpoint.to_owned()).await?;
                }
                let e = self
                    .atlas
                    .wait_serverless_endpoint(
                        project,
                        instance,
                        endpoint,
                        ServerlessTarget::Available,
                        address,
                        self.policy,
                        progress,
                    )
                    .await?
                    .ok_or_else(|| {
                        disappeared(format!("Atlas endpoint {endpoint}"), " while linking")
                    })?;
                Ok((endpoint.to_owned(), link_attrs(project, instance, &e)))
            }
            Kind::EndpointService => {
                let (project, region) = (s(d, "project_id")?, s(d, "region")?);
                let id = match resume_id {
                    Some(id) => id.to_owned(),
                    None => {
                        let e = self.atlas.create_endpoint_service(project, region).await?;
                        record(e.id.clone()).await?;
                        e.id
                    }
                };
                let e = self
                    .atlas
                    .wait_endpoint_service(
                        project,
                        &id,
                        ServiceTarget::Ready,
                        address,
                        self.policy,
                        progress,
                    )
                    .await?
                    .ok_or_else(|| {
                        disappeared(format!("endpoint service {id}"), " while creating")
                    })?;
                Ok((id, service_attrs(project, region, &e)))
            }
            Kind::InterfaceEndpoint => {
                let project = s(d, "project_id")?;
                let (service, vpce) = (s(d, "endpoint_service_id")?, s(d, "vpc_endpoint_id")?);
                if resume_id.is_none() {
                    match self
                        .atlas
                        .create_interface_endpoint(project, service, vpce)
                        .await
                    {
                        Ok(_) => {}
                        // Created by an earlier run that stopped before recording it.
                        Err(e)
                            if e.error_code()
                                == Some("PRIVATELINK_INTERFACE_ENDPOINT_ALREADY_EXISTS") => {}
                        Err(e) => return Err(e.into()),
                    }
                    record(vpce.to_owned()).await?;
                }
                let e = self
                    .atlas
                    .wait_interface_endpoint(
                        project,
                        service,
                        vpce,
                        InterfaceTarget::Available,
                        address,
                        self.policy,
                        progress,
                    )
                    .await?
                    .ok_or_else(|| {
                        disappeared(format!("interface endpoint {vpce}"), " while linking")
                    })?;
                Ok((
                    vpce.to_owned(),
                    obj(json!({
                        "project_id": project,
                        "endpoint_service_id": service,
                        "vpc_endpoint_id": vpce,
                        "id": vpce,
                        "connection_status": e.connection_status,
                        "error_message": e.error_message,
                    })),
                ))
            }
            Kind::SecurityGroup => {
                let region = s(d, "region")?;
                let ec2 = self.ec2(region).await;
                let id = match resume_id {
                    Some(id) => id.to_owned(),
                    None => {
                        let tags = aws_tags(&op.stack, &op.address, s(d, "name")?);
                        let id = ec2
                            .create_security_group(
                                s(d, "vpc_id")?,
                                s(d, "name")?,
                                s(d, "description")?,
                                &tags,
                            )
                            .await?;
                        record(id.clone()).await?;
                        id
                    }
                };
                let sources: Vec<Source> = strings(d, "ingress")
                    .iter()
                    .map(|x| parse_source(x))
                    .collect();
                if !sources.is_empty() {
                    ec2.authorize_ingress(&id, &sources, &rule_description(&op.stack, &op.address))
                        .await?;
                }
                let attrs = self.security_group_attrs(&ec2, region, &id).await?;
                Ok((id, attrs))
            }
            Kind::VpcEndpoint => {
                let region = s(d, "region")?;
                let ec2 = self.ec2(region).await;
                let (id, created) = match resume_id {
                    Some(id) => (id.to_owned(), None),
                    None => {
                        let name = format!(
                            "privlink-{}-{}",
                            op.stack,
                            op.address.endpoint_name().unwrap_or("endpoint")
                        );
                        let req = CreateVpcEndpoint {
                            vpc_id: s(d, "vpc_id")?.to_owned(),
                            service_name: s(d, "service_name")?.to_owned(),
                            subnet_ids: strings(d, "subnet_ids"),
                            security_group_ids: strings(d, "security_group_ids"),
                            tags: aws_tags(&op.stack, &op.address, &name),
                            client_token: client_token(&op.stack, &op.address, d),
                        };
                        let v = ec2.create_vpc_endpoint(&req).await?;
                        record(v.id.clone()).await?;
                        (v.id.clone(), Some(v))
                    }
                };
                // An endpoint the create answered as usable needs no wait.
                let found = match created.filter(VpcEndpointInfo::usable) {
                    Some(v) => Some(v),
                    None => {
                        ec2.wait_vpc_endpoint(
                            &id,
                            VpceTarget::Available,
                            address,
                            self.policy,
                            progress,
                        )
                        .await?
                    }
                };
                let attrs = self.vpce_with_ips(&ec2, region, found, &id).await?;
                Ok((id, attrs))
            }
            Kind::ClientEgress => {
                let region = s(d, "region")?;
                let group = s(d, "group_id")?;
                let ec2 = self.ec2(region).await;
                let cidrs = strings(d, "cidrs");
                if !cidrs.is_empty() {
                    ec2.authorize_egress(group, &cidrs, &rule_description(&op.stack, &op.address))
                        .await?;
                }
                Ok((
                    group.to_owned(),
                    obj(
                        json!({"region": region, "group_id": group, "cidrs": sorted(cidrs), "id": group}),
                    ),
                ))
            }
        }
    }

    async fn update(
        &self,
        op: &Op,
        id: &str,
        before: &Attrs,
        d: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        match op.kind {
            Kind::ServerlessEndpoint => {
                let (project, instance) = (s(d, "project_id")?, s(d, "instance")?);
                let comment = marked_comment(
                    d.get("comment").and_then(Value::as_str),
                    &op.stack,
                    &op.address,
                );
                let e = self
                    .atlas
                    .update_serverless_endpoint(project, instance, id, None, Some(&comment))
                    .await?;
                Ok(serverless_attrs(project, instance, &e))
            }
            Kind::SecurityGroup => {
                let region = s(d, "region")?;
                let ec2 = self.ec2(region).await;
                let old: BTreeSet<String> = strings(before, "ingress").into_iter().collect();
                let new: BTreeSet<String> = strings(d, "ingress").into_iter().collect();
                let add: Vec<Source> = new.difference(&old).map(|x| parse_source(x)).collect();
                let remove: Vec<Source> = old.difference(&new).map(|x| parse_source(x)).collect();
                if !remove.is_empty() {
                    ec2.revoke_ingress(id, &remove).await?;
                }
                if !add.is_empty() {
                    ec2.authorize_ingress(id, &add, &rule_description(&op.stack, &op.address))
                        .await?;
                }
                self.security_group_attrs(&ec2, region, id).await
            }
            Kind::VpcEndpoint => {
                let region = s(d, "region")?;
                let ec2 = self.ec2(region).await;
                let diff = |k: &str| {
                    let old: BTreeSet<String> = strings(before, k).into_iter().collect();
                    let new: BTreeSet<String> = strings(d, k).into_iter().collect();
                    (
                        new.difference(&old).cloned().collect::<Vec<_>>(),
                        old.difference(&new).cloned().collect::<Vec<_>>(),
                    )
                };
                let (add_subnets, remove_subnets) = diff("subnet_ids");
                let (add_groups, remove_groups) = diff("security_group_ids");
                ec2.modify_vpc_endpoint(
                    id,
                    &add_subnets,
                    &remove_subnets,
                    &add_groups,
                    &remove_groups,
                )
                .await?;
                let found = ec2
                    .wait_vpc_endpoint(
                        id,
                        VpceTarget::Available,
                        op.address.as_str(),
                        self.policy,
                        op.progress.as_ref(),
                    )
                    .await?;
                self.vpce_with_ips(&ec2, region, found, id).await
            }
            Kind::ClientEgress => {
                let region = s(d, "region")?;
                let group = s(d, "group_id")?;
                let ec2 = self.ec2(region).await;
                let old: BTreeSet<String> = strings(before, "cidrs").into_iter().collect();
                let new: BTreeSet<String> = strings(d, "cidrs").into_iter().collect();
                let remove: Vec<String> = old.difference(&new).cloned().collect();
                let add: Vec<String> = new.difference(&old).cloned().collect();
                if !remove.is_empty() {
                    ec2.revoke_egress(group, &remove).await?;
                }
                if !add.is_empty() {
                    ec2.authorize_egress(group, &add, &rule_description(&op.stack, &op.address))
                        .await?;
                }
                Ok(obj(
                    json!({"region": region, "group_id": group, "cidrs": new, "id": group}),
                ))
            }
            other => Err(ProviderError::Other(format!(
                "{} cannot be changed in place: {other} resources are replaced",
                op.address
            ))),
        }
    }

    async fn delete(&self, op: &Op, id: Option<&str>, a: &Attrs) -> Result<(), ProviderError> {
        let address = op.address.as_str();
        let progress = op.progress.as_ref();
        let found;
        let id = match id {
            Some(id) => id,
            None => {
                found = self.find_existing(op, a).await?;
                match &found {
                    Some(id) => id.as_str(),
                    None => return Ok(()),
                }
            }
        };
        match op.kind {
            Kind::ServerlessEndpoint => {
                let (project, instance) = (s(a, "project_id")?, s(a, "instance")?);
                self.atlas
                    .delete_serverless_endpoint(project, instance, id)
                    .await?;
                self.atlas
                    .wait_serverless_endpoint(
                        project,
                        instance,
                        id,
                        ServerlessTarget::Gone,
                        address,
                        self.policy,
                        progress,
                    )
                    .await?;
                Ok(())
            }
            // Atlas has no unlink: the link goes with the Atlas endpoint, and
            // the VPC endpoint's deletion ends the connection.
            Kind::ServerlessLink => Ok(()),
            Kind::EndpointService => {
                let project = s(a, "project_id")?;
                self.atlas.delete_endpoint_service(project, id).await?;
                self.atlas
                    .wait_endpoint_service(
                        project,
                        id,
                        ServiceTarget::Gone,
                        address,
                        self.policy,
                        progress,
                    )
                    .await?;
                Ok(())
            }
            Kind::InterfaceEndpoint => {
                let project = s(a, "project_id")?;
                let service = s(a, "endpoint_service_id")?;
                self.atlas
                    .delete_interface_endpoint(project, service, id)
                    .await?;
                self.atlas
                    .wait_interface_endpoint(
                        project,
                        service,
                        id,
                        InterfaceTarget::Gone,
                        address,
                        self.policy,
                        progress,
                    )
                    .await?;
                Ok(())
            }
            Kind::SecurityGroup => {
                let ec2 = self.ec2(s(a, "region")?).await;
                ec2.delete_security_group(id, address, self.policy, progress)
                    .await?;
                Ok(())
            }
            Kind::VpcEndpoint => {
                let ec2 = self.ec2(s(a, "region")?).await;
                ec2.delete_vpc_endpoint(id).await?;
                ec2.wait_vpc_endpoint(id, VpceTarget::Gone, address, self.policy, progress)
                    .await?;
                Ok(())
            }
            Kind::ClientEgress => {
                let ec2 = self.ec2(s(a, "region")?).await;
                let cidrs = strings(a, "cidrs");
                if !cidrs.is_empty() {
                    ec2.revoke_egress(s(a, "group_id")?, &cidrs).await?;
                }
                Ok(())
            }
        }
    }
}

/// Tags on every AWS resource privlink creates.
fn aws_tags(stack: &str, address: &Address, name: &str) -> Vec<(String, String)> {
    vec![
        ("Name".into(), name.to_owned()),
        (TAG_STACK.into(), stack.to_owned()),
        (TAG_ADDRESS.into(), address.to_string()),
    ]
}

/// A ClientToken that is the same for a retried create of the same request
/// and different for a different one (EC2 limits it to 64 ASCII characters).
fn client_token(stack: &str, address: &Address, d: &Attrs) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    stack.hash(&mut h);
    address.as_str().hash(&mut h);
    serde_json::to_string(d).unwrap_or_default().hash(&mut h);
    format!("privlink-{:016x}", h.finish())
}

/// FNV-1a: a hash that stays the same across builds and platforms.
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The marker privlink puts into the comment of the Atlas endpoints it
/// creates, so that an endpoint whose create returned just before a crash is
/// found and adopted: `[privlink <10 hex of stack and address>]`.
fn marker(stack: &str, address: &Address) -> String {
    format!(
        "[privlink {:010x}]",
        fnv1a(&format!("{stack}/{address}")) & 0xff_ffff_ffff
    )
}

/// The comment sent to Atlas: the user's comment and the marker when both
/// fit in Atlas's 80 characters, else the user's comment alone (such an
/// endpoint cannot be recognised after a crash; the state still can be).
fn marked_comment(comment: Option<&str>, stack: &str, address: &Address) -> String {
    let m = marker(stack, address);
    match comment {
        None | Some("") => m,
        Some(c) if c.chars().count() + 1 + m.len() <= 80 => format!("{c} {m}"),
        Some(c) => c.to_owned(),
    }
}

/// The user's part of a comment read back from Atlas.
fn strip_marker(comment: &str) -> Option<String> {
    let user = match comment.rfind("[privlink ") {
        Some(at) if comment.ends_with(']') => comment[..at].trim_end(),
        _ => comment,
    };
    (!user.is_empty()).then(|| user.to_owned())
}

impl Clouds {
    /// Looks for an object an earlier run may have created for this address
    /// without recording its id: by tags on AWS, by the comment marker for
    /// serverless endpoints, by region for endpoint services (Atlas allows
    /// one per region), by the VPC endpoint id for interface endpoints.
    async fn find_existing(&self, op: &Op, d: &Attrs) -> Result<Option<String>, ProviderError> {
        let stack_matches = |tags: &BTreeMap<String, String>| {
            tags.get(TAG_STACK).map(String::as_str) == Some(op.stack.as_str())
        };
        match op.kind {
            Kind::ServerlessEndpoint => {
                let (project, instance) = (s(d, "project_id")?, s(d, "instance")?);
                let m = marker(&op.stack, &op.address);
                let list = self
                    .atlas
                    .list_serverless_endpoints(project, instance)
                    .await?;
                Ok(list
                    .into_iter()
                    .find(|e| {
                        e.status != "DELETING"
                            && e.comment.as_deref().is_some_and(|c| c.contains(&m))
                    })
                    .map(|e| e.id))
            }
            Kind::EndpointService => {
                let (project, region) = (s(d, "project_id")?, s(d, "region")?);
                let list = self.atlas.list_endpoint_services(project).await?;
                Ok(list
                    .into_iter()
                    .find(|e| e.region_name == atlas_region(region) && e.status != "DELETING")
                    .map(|e| e.id))
            }
            Kind::InterfaceEndpoint => {
                let project = s(d, "project_id")?;
                let (service, vpce) = (s(d, "endpoint_service_id")?, s(d, "vpc_endpoint_id")?);
                Ok(self
                    .atlas
                    .get_interface_endpoint(project, service, vpce)
                    .await?
                    .map(|_| vpce.to_owned()))
            }
            Kind::SecurityGroup => {
                let ec2 = self.ec2(s(d, "region")?).await;
                let found = ec2
                    .find_security_groups_by_tag(TAG_ADDRESS, op.address.as_str())
                    .await?;
                Ok(found
                    .into_iter()
                    .find(|g| stack_matches(&g.tags))
                    .map(|g| g.id))
            }
            Kind::VpcEndpoint => {
                let ec2 = self.ec2(s(d, "region")?).await;
                let found = ec2
                    .describe_vpc_endpoints_by_tag(TAG_ADDRESS, op.address.as_str())
                    .await?;
                Ok(found
                    .into_iter()
                    .find(|v| stack_matches(&v.tags) && !vpce_gone(v))
                    .map(|v| v.id))
            }
            // The link's id is the endpoint's, known before its PATCH; egress
            // rules are keyed by the client group and idempotent.
            Kind::ServerlessLink => Ok(d
                .get("endpoint_id")
                .and_then(Value::as_str)
                .map(str::to_owned)),
            Kind::ClientEgress => Ok(d.get("group_id").and_then(Value::as_str).map(str::to_owned)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip_and_fit() {
        let a = Address::new("endpoints.orders.atlas_endpoint");
        let c = marked_comment(Some("orders service"), "prod", &a);
        assert!(c.starts_with("orders service [privlink "), "{c}");
        assert_eq!(strip_marker(&c).as_deref(), Some("orders service"));
        assert_eq!(strip_marker(&marked_comment(None, "prod", &a)), None);
        let long = "x".repeat(70);
        assert_eq!(marked_comment(Some(&long), "prod", &a), long);
        assert_ne!(marker("prod", &a), marker("test", &a));
        assert_eq!(marker("prod", &a), marker("prod", &a));
    }
}
