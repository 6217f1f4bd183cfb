//! The in-memory Atlas: projects, serverless instances, clusters, serverless private endpoints
//! and dedicated endpoint services with their interface endpoints, plus the state machines that
//! move them along.
//!
//! Time-based transitions are stored as deadlines and applied by [`Store::advance`], which the
//! server calls before every read and a background ticker calls periodically. Links (a
//! serverless PATCH, a dedicated interface-endpoint POST) that need an EC2 verdict are handed
//! out by [`Store::due_checks`] and settled by [`Store::apply_verdict`], so the EC2 call never
//! runs under the lock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::{ids, regions};

mod realism;

pub use realism::{ClusterState, ModelRealism};

/// The cloud of an endpoint service, a link or a serverless instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Cloud {
    /// AWS PrivateLink.
    #[default]
    Aws,
    /// Azure Private Link.
    Azure,
}

impl Cloud {
    /// The Atlas spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS",
            Cloud::Azure => "AZURE",
        }
    }
}

/// How long each asynchronous step takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delays {
    /// Creation to RESERVED (serverless endpoint) / AVAILABLE (endpoint service).
    pub reserve: Duration,
    /// Link request to its verdict.
    pub connect: Duration,
    /// Time an object stays DELETING.
    pub delete: Duration,
}

/// Errors of the model, each naming the object concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// No such project.
    #[error("No group with ID {0} exists.")]
    GroupNotFound(String),
    /// No such serverless instance.
    #[error("Serverless instance {name} does not exist in group {project}.")]
    ServerlessInstanceNotFound {
        /// The project id.
        project: String,
        /// The deployment name.
        name: String,
    },
    /// No such cluster.
    #[error("No cluster named {name} exists in group {project}.")]
    ClusterNotFound {
        /// The project id.
        project: String,
        /// The deployment name.
        name: String,
    },
    /// The deployment name is taken.
    #[error("A deployment named {name} already exists in group {project}.")]
    DeploymentExists {
        /// The project id.
        project: String,
        /// The deployment name.
        name: String,
    },
    /// No such serverless private endpoint.
    #[error("Private endpoint {id} for serverless instance {instance} does not exist.")]
    TenantEndpointNotFound {
        /// The serverless instance's name.
        instance: String,
        /// The object's id.
        id: String,
    },
    /// No such endpoint service.
    #[error("Private endpoint service {id} does not exist in group {project}.")]
    ServiceNotFound {
        /// The project id.
        project: String,
        /// The object's id.
        id: String,
    },
    /// No such interface endpoint.
    #[error("Interface endpoint {id} does not exist in private endpoint service {service}.")]
    InterfaceEndpointNotFound {
        /// The endpoint service's id.
        service: String,
        /// The object's id.
        id: String,
    },
    /// The region already has an endpoint service.
    #[error("A private endpoint service already exists for {provider} region {region}")]
    ServiceAlreadyExists {
        /// The cloud provider, e.g. `AWS`.
        provider: String,
        /// The Atlas-style region.
        region: String,
    },
    #[error(
        "A PrivateLink with endpoints cannot be deleted. Please delete all endpoints and retry."
    )]
    /// The service still has interface endpoints.
    ServiceHasEndpoints,
    /// The service is not AVAILABLE yet.
    #[error("Private endpoint service {id} is {status} and cannot accept endpoints yet.")]
    ServiceNotAvailable {
        /// The object's id.
        id: String,
        /// Its current status.
        status: &'static str,
    },
    /// The VPC endpoint is already linked in this project.
    #[error("Interface endpoint {id} already exists in this project.")]
    InterfaceEndpointExists {
        /// The object's id.
        id: String,
    },
    #[error(
        "Private endpoint {id} is {status}; it can be connected only once it is RESERVED (endpointServiceName is known)."
    )]
    /// The endpoint is not RESERVED yet.
    NotReserved {
        /// The object's id.
        id: String,
        /// Its current status.
        status: &'static str,
    },
    #[error(
        "Private endpoint {id} is AVAILABLE with cloudProviderEndpointId {current}; cloudProviderEndpointId cannot be changed once the endpoint is AVAILABLE."
    )]
    /// The endpoint is AVAILABLE with another cloud endpoint id.
    EndpointIdLocked {
        /// The object's id.
        id: String,
        /// The cloud endpoint id it is linked to.
        current: String,
    },
    /// A body field breaks its constraint.
    #[error("Invalid value for attribute {field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A required body field is absent.
    #[error("The required attribute {0} was not specified.")]
    Missing(&'static str),
}

fn invalid(field: &'static str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        field,
        message: message.into(),
    }
}

/// Status of a serverless ("tenant") private endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantStatus {
    /// Created, waiting for its service name.
    ReservationRequested,
    /// Has its service name; can be linked.
    Reserved,
    /// A link is being checked.
    Initiating,
    /// Linked.
    Available,
    /// The link failed.
    Failed,
    /// Being deleted.
    Deleting,
}

impl TenantStatus {
    /// The Atlas spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::ReservationRequested => "RESERVATION_REQUESTED",
            TenantStatus::Reserved => "RESERVED",
            TenantStatus::Initiating => "INITIATING",
            TenantStatus::Available => "AVAILABLE",
            TenantStatus::Failed => "FAILED",
            TenantStatus::Deleting => "DELETING",
        }
    }

    /// Parses the Atlas spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            TenantStatus::ReservationRequested,
            TenantStatus::Reserved,
            TenantStatus::Initiating,
            TenantStatus::Available,
            TenantStatus::Failed,
            TenantStatus::Deleting,
        ]
        .into_iter()
        .find(|s2| s2.as_str() == s)
    }
}

/// Status of a dedicated endpoint service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceStatus {
    /// Being created.
    Initiating,
    /// Ready for interface endpoints.
    Available,
    /// Ready, waiting for the user to create an interface endpoint (older Atlas behaviour,
    /// reachable only through the control API); it accepts interface endpoints.
    WaitingForUser,
    /// Creation failed (see `errorMessage`); reachable only through the control API.
    Failed,
    /// Being deleted.
    Deleting,
}

impl ServiceStatus {
    /// The Atlas spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Initiating => "INITIATING",
            ServiceStatus::Available => "AVAILABLE",
            ServiceStatus::WaitingForUser => "WAITING_FOR_USER",
            ServiceStatus::Failed => "FAILED",
            ServiceStatus::Deleting => "DELETING",
        }
    }

    /// Parses the Atlas spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ServiceStatus::Initiating,
            ServiceStatus::Available,
            ServiceStatus::WaitingForUser,
            ServiceStatus::Failed,
            ServiceStatus::Deleting,
        ]
        .into_iter()
        .find(|s2| s2.as_str() == s)
    }

    /// Whether interface endpoints may be added to a service in this status.
    pub fn accepts_endpoints(self) -> bool {
        matches!(
            self,
            ServiceStatus::Available | ServiceStatus::WaitingForUser
        )
    }
}

/// `connectionStatus` of an AWS interface endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// Azure: being checked and approved.
    Initiating,
    /// Waiting for Atlas to accept it.
    PendingAcceptance,
    /// Accepted, being checked.
    Pending,
    /// Linked.
    Available,
    /// The link failed.
    Rejected,
    /// Azure: the link failed.
    Failed,
    /// Being deleted.
    Deleting,
}

impl LinkStatus {
    /// The Atlas spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Initiating => "INITIATING",
            LinkStatus::PendingAcceptance => "PENDING_ACCEPTANCE",
            LinkStatus::Pending => "PENDING",
            LinkStatus::Available => "AVAILABLE",
            LinkStatus::Rejected => "REJECTED",
            LinkStatus::Failed => "FAILED",
            LinkStatus::Deleting => "DELETING",
        }
    }

    /// Parses the Atlas spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            LinkStatus::Initiating,
            LinkStatus::PendingAcceptance,
            LinkStatus::Pending,
            LinkStatus::Available,
            LinkStatus::Rejected,
            LinkStatus::Failed,
            LinkStatus::Deleting,
        ]
        .into_iter()
        .find(|s2| s2.as_str() == s)
    }

    /// Whether the link waits for its verdict.
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            LinkStatus::Initiating | LinkStatus::PendingAcceptance | LinkStatus::Pending
        )
    }
}

/// Progress of one link attempt towards its verdict.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkProgress {
    /// Sequence number of the attempt; verdicts for older attempts are dropped.
    pub seq: u64,
    /// A failure injected through the control API, applied instead of the EC2 check.
    pub forced_failure: Option<String>,
    /// An EC2 check for this attempt is running.
    pub checking: bool,
}

/// A serverless instance.
#[derive(Debug, Clone)]
pub struct ServerlessInstance {
    /// Object id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Atlas-style region, e.g. `US_EAST_1`.
    pub region: String,
    /// Creation time.
    pub created: SystemTime,
    /// Random label of its host names.
    pub host_label: String,
    /// The cloud it runs on (`backingProviderName`).
    pub cloud: Cloud,
}

/// A dedicated cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Object id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Atlas-style region.
    pub region: String,
    /// Creation time.
    pub created: SystemTime,
    /// Random label of its host names.
    pub host_label: String,
    /// `stateName`.
    pub state: ClusterState,
    /// When an UPDATING cluster is IDLE again (`None`: until forced).
    pub idle_at: Option<Instant>,
}

/// A serverless ("tenant") private endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantEndpoint {
    /// Object id.
    pub id: String,
    /// Name of its serverless instance.
    pub instance: String,
    /// User comment.
    pub comment: Option<String>,
    /// Status.
    pub status: TenantStatus,
    /// The service name issued at creation, shown once RESERVED.
    pub issued_service_name: String,
    /// `endpointServiceName` as shown (once RESERVED).
    pub endpoint_service_name: Option<String>,
    /// The linked VPC endpoint id.
    pub cloud_provider_endpoint_id: Option<String>,
    /// Why the link failed.
    pub error_message: Option<String>,
    /// When the current step ends.
    pub deadline: Option<Instant>,
    /// Progress of the current link.
    pub link: LinkProgress,
    /// The cloud of its serverless instance.
    pub cloud: Cloud,
    /// Azure: `privateEndpointIpAddress` of the link.
    pub ip: Option<String>,
    /// Azure: the Private Link Service's resource id (shown once RESERVED).
    pub pls_id: Option<String>,
    /// Azure: the Private Link Service's registration in azure-sandbox was sent.
    pub pls_registered: bool,
    /// Azure: azure-sandbox confirmed the registration; the endpoint is not RESERVED before.
    pub pls_ready: bool,
}

/// An interface endpoint (AWS) or private endpoint (Azure) linked to an endpoint service.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceEndpoint {
    /// The VPC endpoint id (AWS) or private endpoint resource id (Azure).
    pub id: String,
    /// Azure: `privateEndpointIPAddress`.
    pub ip: Option<String>,
    /// The cloud.
    pub cloud: Cloud,
    /// `connectionStatus`.
    pub status: LinkStatus,
    /// When PENDING_ACCEPTANCE turns PENDING.
    pub accept_at: Option<Instant>,
    /// When the current step ends.
    pub deadline: Option<Instant>,
    /// Why the link was rejected.
    pub error_message: Option<String>,
    /// A delete was asked for.
    pub delete_requested: bool,
    /// Progress of the current link.
    pub link: LinkProgress,
    /// Once AVAILABLE: the clusters of its region were put UPDATING for it.
    pub announced: bool,
    /// Once AVAILABLE and the clusters of its region are IDLE again: listed in their
    /// `connectionStrings`.
    pub published: bool,
}

/// A dedicated private endpoint service (AWS PrivateLink or Azure Private Link).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointService {
    /// Object id.
    pub id: String,
    /// The cloud.
    pub cloud: Cloud,
    /// Azure: the Private Link Service's resource id (shown once AVAILABLE).
    pub pls_id: Option<String>,
    /// Azure: the Private Link Service's registration in azure-sandbox was sent.
    pub pls_registered: bool,
    /// Azure: azure-sandbox confirmed the registration; the service is not AVAILABLE before
    /// (as Atlas creates the Private Link Service before it answers AVAILABLE).
    pub pls_ready: bool,
    /// Atlas-style region.
    pub region: String,
    /// Status.
    pub status: ServiceStatus,
    /// The service name issued at creation (`pls_<id>` on Azure).
    pub issued_service_name: String,
    /// When the current step ends.
    pub deadline: Option<Instant>,
    /// Error shown by Atlas, if any.
    pub error_message: Option<String>,
    /// Its interface endpoints.
    pub endpoints: Vec<InterfaceEndpoint>,
}

impl EndpointService {
    /// `endpointServiceName` as Atlas reports it: null until the service is AVAILABLE, and
    /// null for a service whose creation FAILED.
    pub fn endpoint_service_name(&self) -> Option<&str> {
        match self.status {
            ServiceStatus::Initiating | ServiceStatus::Failed => None,
            _ => Some(&self.issued_service_name),
        }
    }
}

/// A project (group) and everything it holds.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Project id.
    pub id: String,
    /// Serverless instances.
    pub serverless: Vec<ServerlessInstance>,
    /// Dedicated clusters.
    pub clusters: Vec<Cluster>,
    /// Serverless private endpoints.
    pub tenant_endpoints: Vec<TenantEndpoint>,
    /// Endpoint services.
    pub services: Vec<EndpointService>,
}

/// Which link a check or verdict is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// A serverless private endpoint.
    Tenant {
        /// The project id.
        project: String,
        /// The private endpoint's id.
        id: String,
    },
    /// An interface endpoint.
    Interface {
        /// The project id.
        project: String,
        /// The endpoint service's id.
        service: String,
        /// The VPC endpoint id.
        id: String,
    },
}

/// A check to run: does `vpce_id` exist in `aws_region` for `expected_service` (AWS), or
/// does the private endpoint `vpce_id` exist with a connection to the Private Link Service
/// `expected_service` and the address `ip` (Azure)?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCheck {
    /// The cloud to ask.
    pub cloud: Cloud,
    /// Azure: the private IP the link was declared with.
    pub ip: Option<String>,
    /// The link checked.
    pub target: LinkTarget,
    /// Sequence number of the attempt.
    pub seq: u64,
    /// The VPC endpoint id.
    pub vpce_id: String,
    /// AWS-style region.
    pub aws_region: String,
    /// The service name the endpoint must be for.
    pub expected_service: String,
}

/// Failures injected into the next links, regardless of EC2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkFailures {
    /// How many more links fail.
    pub count: u32,
    /// Their error message.
    pub message: String,
}

/// Fields of a serverless endpoint PATCH, already type-checked by the server.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    /// `providerName`.
    pub provider_name: Option<String>,
    /// `cloudProviderEndpointId`.
    pub cloud_provider_endpoint_id: Option<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// `privateEndpointIpAddress` (Azure).
    pub private_endpoint_ip: Option<String>,
}

/// Longest accepted endpoint comment.
pub const MAX_COMMENT: usize = 80;

/// Kinds named in the transition log.
const SERVERLESS: &str = "serverless_endpoint";
const SERVICE: &str = "endpoint_service";
const INTERFACE: &str = "interface_endpoint";

/// The whole emulated Atlas.
#[derive(Debug)]
pub struct Store {
    /// Durations of the asynchronous steps.
    pub delays: Delays,
    /// Failures injected into the next links.
    pub link_failures: LinkFailures,
    /// Whether links are verified against EC2 (otherwise they succeed unchecked).
    pub ec2_checks: bool,
    /// Whether Azure links are verified against azure-sandbox.
    pub azure_checks: bool,
    /// The subscription of the Private Link Services this Atlas owns.
    pub azure_subscription: String,
    /// Private Link Services whose endpoint service or serverless endpoint is gone, to be
    /// removed from azure-sandbox.
    pub retired_services: Vec<String>,
    /// Azure links Atlas has removed: `(private endpoint id, Private Link Service id)`, whose
    /// connections the service owner disconnects in azure-sandbox.
    pub retired_links: Vec<(String, String)>,
    /// Cluster updates after links and the bound on concurrent links.
    pub realism: ModelRealism,
    projects: BTreeMap<String, Project>,
    next_seq: u64,
    /// Every status change with the moment it was due.
    pub transitions: crate::transitions::TransitionLog,
}

impl Store {
    /// An empty store.
    pub fn new(delays: Delays, ec2_checks: bool) -> Self {
        Self {
            delays,
            link_failures: LinkFailures::default(),
            ec2_checks,
            azure_checks: false,
            azure_subscription: ids::uuid(),
            retired_services: Vec::new(),
            retired_links: Vec::new(),
            realism: ModelRealism::default(),
            projects: BTreeMap::new(),
            next_seq: 0,
            transitions: Default::default(),
        }
    }

    /// Every project.
    pub fn projects(&self) -> impl Iterator<Item = &Project> {
        self.projects.values()
    }

    /// Adds a project; returns false when it already existed.
    pub fn add_project(&mut self, id: &str) -> Result<bool, ModelError> {
        if !ids::is_object_id(id) {
            return Err(invalid("id", "must be 24 lowercase hexadecimal digits"));
        }
        if self.projects.contains_key(id) {
            return Ok(false);
        }
        self.projects.insert(
            id.to_string(),
            Project {
                id: id.to_string(),
                ..Project::default()
            },
        );
        Ok(true)
    }

    /// The project `id`.
    pub fn project(&self, id: &str) -> Result<&Project, ModelError> {
        self.projects
            .get(id)
            .ok_or_else(|| ModelError::GroupNotFound(id.to_string()))
    }

    fn project_mut(&mut self, id: &str) -> Result<&mut Project, ModelError> {
        self.projects
            .get_mut(id)
            .ok_or_else(|| ModelError::GroupNotFound(id.to_string()))
    }

    fn check_new_deployment(
        &mut self,
        project: &str,
        name: &str,
        region: Option<&str>,
    ) -> Result<(Cloud, String), ModelError> {
        if !ids::is_deployment_name(name) {
            return Err(invalid("name", "must match ^[a-zA-Z0-9][a-zA-Z0-9-]*$"));
        }
        let unknown = |r: &str| invalid("region", format!("unknown region {r:?}"));
        let (cloud, region) = match region {
            Some(r) => match r.strip_prefix("AZURE:") {
                Some(azure) => (
                    Cloud::Azure,
                    regions::azure_to_atlas(azure).ok_or_else(|| unknown(r))?,
                ),
                None => (Cloud::Aws, regions::to_atlas(r).ok_or_else(|| unknown(r))?),
            },
            None => (Cloud::Aws, "US_EAST_1".to_string()),
        };
        self.add_project(project)?;
        let p = self.project(project)?;
        if p.serverless.iter().any(|s| s.name == name) || p.clusters.iter().any(|c| c.name == name)
        {
            return Err(ModelError::DeploymentExists {
                project: project.to_string(),
                name: name.to_string(),
            });
        }
        Ok((cloud, region))
    }

    /// Adds a serverless instance (creating the project if needed). `region` may be AWS- or
    /// Atlas-style; it defaults to `US_EAST_1`.
    pub fn add_serverless_instance(
        &mut self,
        project: &str,
        name: &str,
        region: Option<&str>,
    ) -> Result<ServerlessInstance, ModelError> {
        let (cloud, region) = self.check_new_deployment(project, name, region)?;
        let instance = ServerlessInstance {
            id: ids::object_id(),
            name: name.to_string(),
            region,
            created: SystemTime::now(),
            host_label: ids::host_label(),
            cloud,
        };
        self.project_mut(project)?.serverless.push(instance.clone());
        Ok(instance)
    }

    /// Adds a dedicated cluster (creating the project if needed).
    pub fn add_cluster(
        &mut self,
        project: &str,
        name: &str,
        region: Option<&str>,
    ) -> Result<Cluster, ModelError> {
        let (_, region) = self.check_new_deployment(project, name, region)?;
        let cluster = Cluster {
            id: ids::object_id(),
            name: name.to_string(),
            region,
            created: SystemTime::now(),
            host_label: ids::host_label(),
            state: ClusterState::Idle,
            idle_at: None,
        };
        self.project_mut(project)?.clusters.push(cluster.clone());
        Ok(cluster)
    }

    /// The serverless instance `name` of `project`.
    pub fn serverless_instance(
        &self,
        project: &str,
        name: &str,
    ) -> Result<&ServerlessInstance, ModelError> {
        self.project(project)?
            .serverless
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| ModelError::ServerlessInstanceNotFound {
                project: project.to_string(),
                name: name.to_string(),
            })
    }

    /// The cluster `name` of `project`.
    pub fn cluster(&self, project: &str, name: &str) -> Result<&Cluster, ModelError> {
        self.project(project)?
            .clusters
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| ModelError::ClusterNotFound {
                project: project.to_string(),
                name: name.to_string(),
            })
    }

    fn take_link_failure(&mut self) -> Option<String> {
        if self.link_failures.count == 0 {
            return None;
        }
        self.link_failures.count -= 1;
        Some(self.link_failures.message.clone())
    }

    fn new_link(&mut self) -> LinkProgress {
        self.next_seq += 1;
        LinkProgress {
            seq: self.next_seq,
            forced_failure: self.take_link_failure(),
            checking: false,
        }
    }

    // ----- serverless private endpoints -----

    /// The private endpoints of a serverless instance.
    pub fn tenant_endpoints(
        &self,
        project: &str,
        instance: &str,
    ) -> Result<Vec<&TenantEndpoint>, ModelError> {
        self.serverless_instance(project, instance)?;
        Ok(self
            .project(project)?
            .tenant_endpoints
            .iter()
            .filter(|e| e.instance == instance)
            .collect())
    }

    /// One private endpoint of a serverless instance.
    pub fn tenant_endpoint(
        &self,
        project: &str,
        instance: &str,
        id: &str,
    ) -> Result<&TenantEndpoint, ModelError> {
        self.serverless_instance(project, instance)?;
        self.project(project)?
            .tenant_endpoints
            .iter()
            .find(|e| e.instance == instance && e.id == id)
            .ok_or_else(|| ModelError::TenantEndpointNotFound {
                instance: instance.to_string(),
                id: id.to_string(),
            })
    }

    fn tenant_endpoint_mut(
        &mut self,
        project: &str,
        instance: &str,
        id: &str,
    ) -> Result<&mut TenantEndpoint, ModelError> {
        self.serverless_instance(project, instance)?;
        self.project_mut(project)?
            .tenant_endpoints
            .iter_mut()
            .find(|e| e.instance == instance && e.id == id)
            .ok_or_else(|| ModelError::TenantEndpointNotFound {
                instance: instance.to_string(),
                id: id.to_string(),
            })
    }

    /// POST: a new endpoint in RESERVATION_REQUESTED.
    pub fn create_tenant_endpoint(
        &mut self,
        project: &str,
        instance: &str,
        comment: Option<String>,
        now: Instant,
    ) -> Result<TenantEndpoint, ModelError> {
        let found = self.serverless_instance(project, instance)?;
        let (region, cloud) = (found.region.clone(), found.cloud);
        check_comment(comment.as_deref())?;
        let (issued_service_name, pls_id) = match cloud {
            Cloud::Aws => (ids::endpoint_service_name(&regions::to_aws(&region)), None),
            Cloud::Azure => {
                let (name, id) = self.new_private_link_service(&region);
                (name, Some(id))
            }
        };
        let endpoint = TenantEndpoint {
            id: ids::object_id(),
            instance: instance.to_string(),
            comment,
            status: TenantStatus::ReservationRequested,
            issued_service_name,
            endpoint_service_name: None,
            cloud_provider_endpoint_id: None,
            error_message: None,
            deadline: Some(now + self.delays.reserve),
            link: LinkProgress::default(),
            cloud,
            ip: None,
            pls_id,
            pls_registered: false,
            pls_ready: false,
        };
        self.project_mut(project)?
            .tenant_endpoints
            .push(endpoint.clone());
        Ok(endpoint)
    }

    /// PATCH: records the comment and, with a `cloudProviderEndpointId`, starts the link
    /// (INITIATING, then AVAILABLE or FAILED after the connect delay).
    pub fn update_tenant_endpoint(
        &mut self,
        project: &str,
        instance: &str,
        id: &str,
        update: TenantUpdate,
        now: Instant,
    ) -> Result<TenantEndpoint, ModelError> {
        let current = self.tenant_endpoint(project, instance, id)?.clone();
        check_tenant_update(&update, current.cloud)?;
        let connect = self.delays.connect;
        let starts_link = starts_link(&update, &current)?;
        let link = if starts_link {
            Some(self.new_link())
        } else {
            None
        };
        let endpoint = self.tenant_endpoint_mut(project, instance, id)?;
        if let Some(comment) = update.comment {
            endpoint.comment = Some(comment);
        }
        if let Some(link) = link {
            endpoint.cloud_provider_endpoint_id = update.cloud_provider_endpoint_id;
            endpoint.ip = update.private_endpoint_ip;
            endpoint.status = TenantStatus::Initiating;
            endpoint.error_message = None;
            endpoint.deadline = Some(now + connect);
            endpoint.link = link;
        }
        Ok(endpoint.clone())
    }

    /// DELETE: DELETING for the delete delay, then gone. Repeating it while DELETING is fine.
    pub fn delete_tenant_endpoint(
        &mut self,
        project: &str,
        instance: &str,
        id: &str,
        now: Instant,
    ) -> Result<(), ModelError> {
        let delete = self.delays.delete;
        let endpoint = self.tenant_endpoint_mut(project, instance, id)?;
        if endpoint.status != TenantStatus::Deleting {
            endpoint.status = TenantStatus::Deleting;
            endpoint.deadline = Some(now + delete);
            endpoint.link.checking = false;
            endpoint.link.seq = 0;
        }
        Ok(())
    }

    /// Control API: forces a serverless endpoint into `status`.
    pub fn force_tenant_state(
        &mut self,
        project: &str,
        instance: &str,
        id: &str,
        status: TenantStatus,
        error_message: Option<String>,
        now: Instant,
    ) -> Result<TenantEndpoint, ModelError> {
        let delays = self.delays;
        let endpoint = self.tenant_endpoint_mut(project, instance, id)?;
        endpoint.status = status;
        endpoint.error_message = error_message;
        endpoint.link.checking = false;
        endpoint.link.seq = 0;
        endpoint.deadline = match status {
            TenantStatus::ReservationRequested => Some(now + delays.reserve),
            TenantStatus::Initiating => Some(now + delays.connect),
            TenantStatus::Deleting => Some(now + delays.delete),
            _ => None,
        };
        if status != TenantStatus::ReservationRequested && endpoint.endpoint_service_name.is_none()
        {
            endpoint.endpoint_service_name = Some(endpoint.issued_service_name.clone());
        }
        Ok(endpoint.clone())
    }

    // ----- dedicated endpoint services -----

    /// POST endpointService: INITIATING, AVAILABLE after the reserve delay.
    pub fn create_service(
        &mut self,
        project: &str,
        provider: &str,
        region: &str,
        now: Instant,
    ) -> Result<EndpointService, ModelError> {
        self.project(project)?;
        let (cloud, region) = match provider {
            "AWS" => (
                Cloud::Aws,
                regions::to_atlas(region)
                    .ok_or_else(|| invalid("region", format!("unknown AWS region {region:?}")))?,
            ),
            "AZURE" => (
                Cloud::Azure,
                regions::azure_to_atlas(region)
                    .ok_or_else(|| invalid("region", format!("unknown Azure region {region:?}")))?,
            ),
            "GCP" => {
                return Err(invalid(
                    "providerName",
                    "GCP endpoint services are not emulated; use AWS or AZURE",
                ));
            }
            other => {
                return Err(invalid(
                    "providerName",
                    format!("{other:?} is not one of AWS, AZURE, GCP"),
                ));
            }
        };
        if self
            .project(project)?
            .services
            .iter()
            .any(|s| s.region == region && s.cloud == cloud)
        {
            return Err(ModelError::ServiceAlreadyExists {
                provider: provider.to_string(),
                region,
            });
        }
        let (issued_service_name, pls_id) = match cloud {
            Cloud::Aws => (ids::endpoint_service_name(&regions::to_aws(&region)), None),
            Cloud::Azure => {
                let (name, id) = self.new_private_link_service(&region);
                (name, Some(id))
            }
        };
        let reserve = self.delays.reserve;
        let service = EndpointService {
            id: ids::object_id(),
            cloud,
            pls_id,
            pls_registered: false,
            pls_ready: false,
            issued_service_name,
            region,
            status: ServiceStatus::Initiating,
            deadline: Some(now + reserve),
            error_message: None,
            endpoints: Vec::new(),
        };
        self.project_mut(project)?.services.push(service.clone());
        Ok(service)
    }

    /// A new Private Link Service in this Atlas's subscription: `(pls_<24hex>, resource id)`.
    fn new_private_link_service(&self, atlas_region: &str) -> (String, String) {
        let name = format!("pls_{}", ids::object_id());
        let location = regions::to_azure(atlas_region).unwrap_or("eastus");
        let id = format!(
            "/subscriptions/{}/resourceGroups/rg_atlas_{location}/providers/Microsoft.Network/privateLinkServices/{name}",
            self.azure_subscription
        );
        (name, id)
    }

    /// The endpoint services of `project`.
    pub fn services(&self, project: &str) -> Result<Vec<&EndpointService>, ModelError> {
        Ok(self.project(project)?.services.iter().collect())
    }

    /// The endpoint service `id` of `project`.
    pub fn service(&self, project: &str, id: &str) -> Result<&EndpointService, ModelError> {
        self.project(project)?
            .services
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ModelError::ServiceNotFound {
                project: project.to_string(),
                id: id.to_string(),
            })
    }

    fn service_mut(&mut self, project: &str, id: &str) -> Result<&mut EndpointService, ModelError> {
        self.project_mut(project)?
            .services
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| ModelError::ServiceNotFound {
                project: project.to_string(),
                id: id.to_string(),
            })
    }

    /// DELETE endpointService: refused while interface endpoints exist (even DELETING ones).
    pub fn delete_service(
        &mut self,
        project: &str,
        id: &str,
        now: Instant,
    ) -> Result<(), ModelError> {
        let delete = self.delays.delete;
        let service = self.service_mut(project, id)?;
        if !service.endpoints.is_empty() {
            return Err(ModelError::ServiceHasEndpoints);
        }
        if service.status != ServiceStatus::Deleting {
            service.status = ServiceStatus::Deleting;
            service.deadline = Some(now + delete);
        }
        Ok(())
    }

    /// POST interface endpoint: PENDING_ACCEPTANCE, PENDING halfway through the connect delay,
    /// then AVAILABLE or REJECTED.
    pub fn create_interface_endpoint(
        &mut self,
        project: &str,
        service_id: &str,
        vpce: &str,
        now: Instant,
    ) -> Result<InterfaceEndpoint, ModelError> {
        if !ids::is_vpce_id(vpce) {
            return Err(invalid(
                "id",
                format!("{vpce:?} does not match ^vpce-[0-9a-f]{{17}}$"),
            ));
        }
        self.add_link(project, service_id, vpce, None, now)
    }

    /// POST of an Azure private endpoint: INITIATING, then AVAILABLE or FAILED after the
    /// connect delay.
    pub fn create_azure_endpoint(
        &mut self,
        project: &str,
        service_id: &str,
        id: &str,
        ip: Option<&str>,
        now: Instant,
    ) -> Result<InterfaceEndpoint, ModelError> {
        check_azure_link(id, ip).map_err(|(field, message)| {
            let field = if field == "cloudProviderEndpointId" {
                "id"
            } else {
                "privateEndpointIPAddress"
            };
            invalid(field, message)
        })?;
        self.add_link(project, service_id, id, ip, now)
    }

    fn add_link(
        &mut self,
        project: &str,
        service_id: &str,
        vpce: &str,
        ip: Option<&str>,
        now: Instant,
    ) -> Result<InterfaceEndpoint, ModelError> {
        let service = self.service(project, service_id)?;
        if !service.status.accepts_endpoints() {
            return Err(ModelError::ServiceNotAvailable {
                id: service_id.to_string(),
                status: service.status.as_str(),
            });
        }
        if self
            .project(project)?
            .services
            .iter()
            .any(|s| s.endpoints.iter().any(|e| e.id.eq_ignore_ascii_case(vpce)))
        {
            return Err(ModelError::InterfaceEndpointExists {
                id: vpce.to_string(),
            });
        }
        let connect = self.delays.connect;
        let busy = self.realism.links_saturated(service);
        let cloud = service.cloud;
        let link = self.new_link();
        let mut endpoint = InterfaceEndpoint {
            id: vpce.to_string(),
            ip: ip.map(String::from),
            cloud,
            status: match cloud {
                Cloud::Aws => LinkStatus::PendingAcceptance,
                Cloud::Azure => LinkStatus::Initiating,
            },
            accept_at: (cloud == Cloud::Aws).then(|| now + connect / 2),
            deadline: Some(now + connect),
            error_message: None,
            delete_requested: false,
            link,
            announced: false,
            published: false,
        };
        if busy {
            realism::stick_as_busy(&mut endpoint, service_id);
        }
        self.service_mut(project, service_id)?
            .endpoints
            .push(endpoint.clone());
        Ok(endpoint)
    }

    /// One interface endpoint of an endpoint service.
    pub fn interface_endpoint(
        &self,
        project: &str,
        service_id: &str,
        id: &str,
    ) -> Result<&InterfaceEndpoint, ModelError> {
        self.service(project, service_id)?
            .endpoints
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| ModelError::InterfaceEndpointNotFound {
                service: service_id.to_string(),
                id: id.to_string(),
            })
    }

    fn interface_endpoint_mut(
        &mut self,
        project: &str,
        service_id: &str,
        id: &str,
    ) -> Result<&mut InterfaceEndpoint, ModelError> {
        self.service_mut(project, service_id)?
            .endpoints
            .iter_mut()
            .find(|e| e.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| ModelError::InterfaceEndpointNotFound {
                service: service_id.to_string(),
                id: id.to_string(),
            })
    }

    /// DELETE interface endpoint: DELETING for the delete delay, then gone; the service goes
    /// with its last endpoint.
    pub fn delete_interface_endpoint(
        &mut self,
        project: &str,
        service_id: &str,
        id: &str,
        now: Instant,
    ) -> Result<(), ModelError> {
        let delete = self.delays.delete;
        let endpoint = self.interface_endpoint_mut(project, service_id, id)?;
        endpoint.delete_requested = true;
        if endpoint.status != LinkStatus::Deleting {
            endpoint.status = LinkStatus::Deleting;
            endpoint.deadline = Some(now + delete);
            endpoint.accept_at = None;
            endpoint.link.checking = false;
            endpoint.link.seq = 0;
        }
        Ok(())
    }

    /// Control API: forces an interface endpoint into `status`.
    pub fn force_interface_state(
        &mut self,
        project: &str,
        service_id: &str,
        id: &str,
        status: LinkStatus,
        error_message: Option<String>,
        now: Instant,
    ) -> Result<InterfaceEndpoint, ModelError> {
        let delays = self.delays;
        let endpoint = self.interface_endpoint_mut(project, service_id, id)?;
        // A non-final status with an errorMessage is stuck: it stays until forced again.
        let stuck = error_message.is_some();
        endpoint.status = status;
        endpoint.error_message = error_message;
        endpoint.link.checking = false;
        endpoint.link.seq = 0;
        endpoint.accept_at = None;
        endpoint.announced = false;
        endpoint.published = false;
        endpoint.deadline = match status {
            s if s.is_waiting() && stuck => None,
            s if s.is_waiting() => Some(now + delays.connect),
            LinkStatus::Deleting => Some(now + delays.delete),
            _ => None,
        };
        Ok(endpoint.clone())
    }

    /// What the service owner needs to accept or reject an interface endpoint's connection on
    /// its cloud (the endpoint, its service's name or Private Link Service, the region), as a
    /// [`LinkCheck`] of no attempt: verdicts for it are never applied to the store.
    pub fn owner_view(
        &self,
        project: &str,
        service_id: &str,
        id: &str,
    ) -> Result<LinkCheck, ModelError> {
        let s = self.service(project, service_id)?;
        let e = self.interface_endpoint(project, service_id, id)?;
        Ok(LinkCheck {
            cloud: e.cloud,
            ip: e.ip.clone(),
            target: LinkTarget::Interface {
                project: project.to_string(),
                service: s.id.clone(),
                id: e.id.clone(),
            },
            seq: u64::MAX,
            vpce_id: e.id.clone(),
            aws_region: regions::to_aws(&s.region),
            expected_service: s
                .pls_id
                .clone()
                .unwrap_or_else(|| s.issued_service_name.clone()),
        })
    }

    // ----- time -----

    /// Whether links to `cloud` wait for a check (otherwise they succeed unchecked).
    pub fn checks(&self, cloud: Cloud) -> bool {
        match cloud {
            Cloud::Aws => self.ec2_checks,
            Cloud::Azure => self.azure_checks,
        }
    }

    /// Applies every transition whose deadline has passed. Links that need a cloud check are
    /// left for [`Store::due_checks`].
    pub fn advance(&mut self, now: Instant) {
        let steps = Steps {
            now,
            delete: self.delays.delete,
            ec2: self.ec2_checks,
            azure: self.azure_checks,
        };
        let cluster_update = self.realism.cluster_update;
        let mut retired = Vec::new();
        let mut unlinked = Vec::new();
        let log = &mut self.transitions;
        for project in self.projects.values_mut() {
            realism::finish_cluster_updates(project, now);
            project.tenant_endpoints.retain_mut(|e| {
                let keep = steps.tenant(e, log);
                if !keep && let (Some(id), true) = (&e.pls_id, e.pls_registered) {
                    retired.push(id.clone());
                }
                keep
            });
            project.services.retain_mut(|s| {
                let keep = steps.service(s, &mut unlinked, log);
                if !keep && let (Some(id), true) = (&s.pls_id, s.pls_registered) {
                    retired.push(id.clone());
                }
                keep
            });
            realism::announce_links(project, cluster_update, now);
        }
        self.retired_services.extend(retired);
        if self.azure_checks {
            self.retired_links.extend(unlinked);
        }
    }

    /// Azure Private Link Services of endpoint services and serverless endpoints not yet
    /// registered in azure-sandbox: `(resource id, Azure location)`, each marked as sent (see
    /// [`Store::registered`] when azure-sandbox confirms, [`Store::unregistered`] when it
    /// fails). They are registered from creation on: Atlas has the Private Link Service
    /// before it shows the service AVAILABLE or the endpoint RESERVED.
    pub fn services_to_register(&mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for p in self.projects.values_mut() {
            for s in &mut p.services {
                let live = s.status != ServiceStatus::Deleting;
                if let (Some(id), false, true) = (&s.pls_id, s.pls_registered, live) {
                    s.pls_registered = true;
                    out.push((id.clone(), region_location(&s.region)));
                }
            }
            for e in &mut p.tenant_endpoints {
                let live = e.status != TenantStatus::Deleting;
                if let (Some(id), false, true) = (&e.pls_id, e.pls_registered, live) {
                    e.pls_registered = true;
                    let region = p.serverless.iter().find(|i| i.name == e.instance);
                    out.push((
                        id.clone(),
                        region_location(region.map_or("", |i| &i.region)),
                    ));
                }
            }
        }
        out
    }

    /// Marks a Private Link Service as registered in azure-sandbox: its service can become
    /// AVAILABLE, its serverless endpoint RESERVED.
    pub fn registered(&mut self, pls_id: &str) {
        for (_, ready) in self.pls_flags(pls_id) {
            *ready = true;
        }
    }

    /// Marks a Private Link Service as not registered after all, to be tried again.
    pub fn unregistered(&mut self, pls_id: &str) {
        for (sent, _) in self.pls_flags(pls_id) {
            *sent = false;
        }
    }

    /// The registration flags `(sent, ready)` of the service or serverless endpoint whose
    /// Private Link Service is `pls_id`.
    fn pls_flags<'a>(
        &'a mut self,
        pls_id: &'a str,
    ) -> impl Iterator<Item = (&'a mut bool, &'a mut bool)> + 'a {
        let ours = move |id: &Option<String>| id.as_deref() == Some(pls_id);
        self.projects.values_mut().flat_map(move |p| {
            let services = p
                .services
                .iter_mut()
                .filter(move |s| ours(&s.pls_id))
                .map(|s| (&mut s.pls_registered, &mut s.pls_ready));
            let tenants = p
                .tenant_endpoints
                .iter_mut()
                .filter(move |e| ours(&e.pls_id))
                .map(|e| (&mut e.pls_registered, &mut e.pls_ready));
            services.chain(tenants)
        })
    }

    /// Links whose connect delay has passed and that wait for a cloud verdict; each is marked
    /// as being checked so that it is handed out once.
    pub fn due_checks(&mut self, now: Instant) -> Vec<LinkCheck> {
        let (ec2, azure) = (self.ec2_checks, self.azure_checks);
        let checked = |c: Cloud| if c == Cloud::Aws { ec2 } else { azure };
        let due = |deadline: Option<Instant>| deadline.is_some_and(|d| d <= now);
        let mut checks = Vec::new();
        for project in self.projects.values_mut() {
            for e in &mut project.tenant_endpoints {
                if e.status == TenantStatus::Initiating
                    && checked(e.cloud)
                    && due(e.deadline)
                    && !e.link.checking
                    && e.link.forced_failure.is_none()
                {
                    let region = project
                        .serverless
                        .iter()
                        .find(|s| s.name == e.instance)
                        .map(|s| regions::to_aws(&s.region))
                        .unwrap_or_else(|| "us-east-1".into());
                    e.link.checking = true;
                    checks.push(LinkCheck {
                        cloud: e.cloud,
                        ip: e.ip.clone(),
                        target: LinkTarget::Tenant {
                            project: project.id.clone(),
                            id: e.id.clone(),
                        },
                        seq: e.link.seq,
                        vpce_id: e.cloud_provider_endpoint_id.clone().unwrap_or_default(),
                        aws_region: region,
                        expected_service: e
                            .pls_id
                            .clone()
                            .unwrap_or_else(|| e.issued_service_name.clone()),
                    });
                }
            }
            for s in &mut project.services {
                for e in &mut s.endpoints {
                    if e.status.is_waiting()
                        && checked(e.cloud)
                        && due(e.deadline)
                        && !e.link.checking
                        && e.link.forced_failure.is_none()
                    {
                        e.link.checking = true;
                        checks.push(LinkCheck {
                            cloud: e.cloud,
                            ip: e.ip.clone(),
                            target: LinkTarget::Interface {
                                project: project.id.clone(),
                                service: s.id.clone(),
                                id: e.id.clone(),
                            },
                            seq: e.link.seq,
                            vpce_id: e.id.clone(),
                            aws_region: regions::to_aws(&s.region),
                            expected_service: s
                                .pls_id
                                .clone()
                                .unwrap_or_else(|| s.issued_service_name.clone()),
                        });
                    }
                }
            }
        }
        checks
    }

    /// Settles a link with the cloud's verdict (`Err` carries the errorMessage): a refused
    /// AWS interface endpoint is REJECTED, a refused Azure one FAILED. Verdicts for an attempt
    /// that has since been replaced, deleted or forced are dropped.
    pub fn apply_verdict(&mut self, check: &LinkCheck, verdict: Result<(), String>) {
        match &check.target {
            LinkTarget::Tenant { project, id } => {
                let Some(e) = self
                    .projects
                    .get_mut(project)
                    .and_then(|p| p.tenant_endpoints.iter_mut().find(|e| &e.id == id))
                else {
                    return;
                };
                if e.link.seq != check.seq || e.status != TenantStatus::Initiating {
                    return;
                }
                e.link.checking = false;
                e.deadline = None;
                match verdict {
                    Ok(()) => {
                        self.transitions
                            .record(SERVERLESS, &e.id, "AVAILABLE", Instant::now());
                        e.status = TenantStatus::Available
                    }
                    Err(message) => {
                        e.status = TenantStatus::Failed;
                        e.error_message = Some(message);
                    }
                }
            }
            LinkTarget::Interface {
                project,
                service,
                id,
            } => {
                let Some(e) = self
                    .projects
                    .get_mut(project)
                    .and_then(|p| p.services.iter_mut().find(|s| &s.id == service))
                    .and_then(|s| s.endpoints.iter_mut().find(|e| &e.id == id))
                else {
                    return;
                };
                if e.link.seq != check.seq || !e.status.is_waiting() {
                    return;
                }
                e.link.checking = false;
                e.deadline = None;
                e.accept_at = None;
                match verdict {
                    Ok(()) => {
                        self.transitions
                            .record(INTERFACE, &e.id, "AVAILABLE", Instant::now());
                        e.status = LinkStatus::Available
                    }
                    Err(message) => {
                        e.status = match e.cloud {
                            Cloud::Aws => LinkStatus::Rejected,
                            Cloud::Azure => LinkStatus::Failed,
                        };
                        e.error_message = Some(message);
                    }
                }
            }
        }
    }
}

fn region_location(atlas_region: &str) -> String {
    regions::to_azure(atlas_region)
        .unwrap_or("eastus")
        .to_string()
}

/// The time-based transitions of one [`Store::advance`] pass.
struct Steps {
    now: Instant,
    delete: Duration,
    ec2: bool,
    azure: bool,
}

impl Steps {
    fn due(&self, deadline: Option<Instant>) -> bool {
        deadline.is_some_and(|d| d <= self.now)
    }

    /// With azure-sandbox, an Azure object waits for its Private Link Service's registration.
    fn pls_ready(&self, cloud: Cloud, ready: bool) -> bool {
        cloud != Cloud::Azure || !self.azure || ready
    }

    fn checked(&self, cloud: Cloud) -> bool {
        match cloud {
            Cloud::Aws => self.ec2,
            Cloud::Azure => self.azure,
        }
    }

    /// Moves a serverless endpoint on; false when it is gone.
    fn tenant(&self, e: &mut TenantEndpoint, log: &mut crate::transitions::TransitionLog) -> bool {
        if !self.due(e.deadline) {
            return true;
        }
        match e.status {
            TenantStatus::ReservationRequested if self.pls_ready(e.cloud, e.pls_ready) => {
                log.record(
                    SERVERLESS,
                    &e.id,
                    "RESERVED",
                    e.deadline.unwrap_or(self.now),
                );
                e.status = TenantStatus::Reserved;
                e.endpoint_service_name = Some(e.issued_service_name.clone());
                e.deadline = None;
            }
            TenantStatus::Initiating if !e.link.checking => {
                if let Some(message) = e.link.forced_failure.take() {
                    e.status = TenantStatus::Failed;
                    e.error_message = Some(message);
                    e.deadline = None;
                } else if !self.checked(e.cloud) {
                    log.record(
                        SERVERLESS,
                        &e.id,
                        "AVAILABLE",
                        e.deadline.unwrap_or(self.now),
                    );
                    e.status = TenantStatus::Available;
                    e.deadline = None;
                }
            }
            TenantStatus::Deleting => return false,
            _ => {}
        }
        true
    }

    /// Moves an endpoint service and its links on; false when it is gone. Azure links that
    /// are gone are added to `unlinked` with the service's Private Link Service.
    fn service(
        &self,
        s: &mut EndpointService,
        unlinked: &mut Vec<(String, String)>,
        log: &mut crate::transitions::TransitionLog,
    ) -> bool {
        for e in &mut s.endpoints {
            self.link(e, log);
        }
        let before = s.endpoints.len();
        let pls = s.pls_id.clone();
        s.endpoints.retain(|e| {
            let gone = e.status == LinkStatus::Deleting && self.due(e.deadline);
            if let (true, Some(pls)) = (gone, &pls) {
                unlinked.push((e.id.clone(), pls.clone()));
            }
            !gone
        });
        if before > 0 && s.endpoints.is_empty() && s.status != ServiceStatus::Deleting {
            // The last endpoint takes its service with it.
            s.status = ServiceStatus::Deleting;
            s.deadline = Some(self.now + self.delete);
        }
        if self.due(s.deadline) {
            match s.status {
                ServiceStatus::Initiating if self.pls_ready(s.cloud, s.pls_ready) => {
                    log.record(SERVICE, &s.id, "AVAILABLE", s.deadline.unwrap_or(self.now));
                    s.status = ServiceStatus::Available;
                    s.deadline = None;
                }
                ServiceStatus::Deleting => return false,
                _ => {}
            }
        }
        true
    }

    fn link(&self, e: &mut InterfaceEndpoint, log: &mut crate::transitions::TransitionLog) {
        if e.status == LinkStatus::PendingAcceptance && self.due(e.accept_at) {
            e.status = LinkStatus::Pending;
            e.accept_at = None;
        }
        if e.status.is_waiting() && self.due(e.deadline) && !e.link.checking {
            if let Some(message) = e.link.forced_failure.take() {
                e.status = match e.cloud {
                    Cloud::Aws => LinkStatus::Rejected,
                    Cloud::Azure => LinkStatus::Failed,
                };
                e.error_message = Some(message);
                e.deadline = None;
            } else if !self.checked(e.cloud) {
                log.record(
                    INTERFACE,
                    &e.id,
                    "AVAILABLE",
                    e.deadline.unwrap_or(self.now),
                );
                e.status = LinkStatus::Available;
                e.deadline = None;
            }
        }
    }
}

/// The checks of a PATCH body that need no stored state: provider, comment, VPC endpoint id.
fn check_tenant_update(update: &TenantUpdate, cloud: Cloud) -> Result<(), ModelError> {
    let provider = update
        .provider_name
        .as_deref()
        .ok_or(ModelError::Missing("providerName"))?;
    if !matches!(provider, "AWS" | "AZURE") {
        return Err(invalid(
            "providerName",
            format!("{provider:?} is not AWS or AZURE"),
        ));
    }
    if provider != cloud.as_str() {
        return Err(invalid(
            "providerName",
            format!(
                "this serverless instance runs on {}; {provider} endpoints cannot be attached to it",
                cloud.as_str()
            ),
        ));
    }
    check_comment(update.comment.as_deref())?;
    let Some(endpoint) = &update.cloud_provider_endpoint_id else {
        return Ok(());
    };
    match cloud {
        Cloud::Aws if !ids::is_vpce_id(endpoint) => Err(invalid(
            "cloudProviderEndpointId",
            format!("{endpoint:?} does not match ^vpce-[0-9a-f]{{17}}$"),
        )),
        Cloud::Aws => Ok(()),
        Cloud::Azure => check_azure_link(endpoint, update.private_endpoint_ip.as_deref())
            .map_err(|(field, message)| invalid(field, message)),
    }
}

/// The checks of an Azure link's private endpoint id and IP address: `(field, problem)`.
fn check_azure_link(id: &str, ip: Option<&str>) -> Result<(), (&'static str, String)> {
    if !ids::is_azure_private_endpoint_id(id) {
        return Err((
            "cloudProviderEndpointId",
            format!("{id:?} is not an Azure private endpoint resource id"),
        ));
    }
    match ip {
        None => Err((
            "privateEndpointIpAddress",
            "is required with an Azure private endpoint".into(),
        )),
        Some(ip) if ip.parse::<std::net::Ipv4Addr>().is_err() => Err((
            "privateEndpointIpAddress",
            format!("{ip:?} is not an IPv4 address"),
        )),
        Some(_) => Ok(()),
    }
}

/// Whether a PATCH starts a new link for `current`, or why it is refused.
fn starts_link(update: &TenantUpdate, current: &TenantEndpoint) -> Result<bool, ModelError> {
    let starts = match (&update.cloud_provider_endpoint_id, current.status) {
        (_, TenantStatus::ReservationRequested) => {
            return Err(ModelError::NotReserved {
                id: current.id.clone(),
                status: current.status.as_str(),
            });
        }
        (_, TenantStatus::Deleting) => {
            return Err(invalid(
                "status",
                format!(
                    "private endpoint {} is DELETING and cannot be updated",
                    current.id
                ),
            ));
        }
        (None, _) => false,
        (Some(new), TenantStatus::Available) => {
            let old = current
                .cloud_provider_endpoint_id
                .clone()
                .unwrap_or_default();
            if *new != old {
                return Err(ModelError::EndpointIdLocked {
                    id: current.id.clone(),
                    current: old,
                });
            }
            false
        }
        (Some(new), TenantStatus::Initiating) => {
            current.cloud_provider_endpoint_id.as_deref() != Some(new.as_str())
        }
        (Some(_), TenantStatus::Reserved | TenantStatus::Failed) => true,
    };
    Ok(starts)
}

fn check_comment(comment: Option<&str>) -> Result<(), ModelError> {
    match comment {
        Some(c) if c.chars().count() > MAX_COMMENT => Err(invalid(
            "comment",
            format!(
                "must be at most {MAX_COMMENT} characters, got {}",
                c.chars().count()
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "5f7cac1adf5d6c6306f4b283";
    const VPCE: &str = "vpce-0123456789abcdef0";
    const S: Duration = Duration::from_secs(1);

    fn store(ec2: bool) -> Store {
        let mut store = Store::new(
            Delays {
                reserve: 3 * S,
                connect: 4 * S,
                delete: 2 * S,
            },
            ec2,
        );
        store
            .add_serverless_instance(P, "inst", Some("us-east-1"))
            .unwrap();
        store.add_cluster(P, "c0", None).unwrap();
        store
    }

    fn aws(id: Option<&str>) -> TenantUpdate {
        TenantUpdate {
            provider_name: Some("AWS".into()),
            cloud_provider_endpoint_id: id.map(String::from),
            comment: None,
            private_endpoint_ip: None,
        }
    }

    /// Creates an endpoint and lets it reach RESERVED; returns its id and the time.
    fn reserved(store: &mut Store, t0: Instant) -> (String, Instant) {
        let e = store
            .create_tenant_endpoint(P, "inst", Some("c".into()), t0)
            .unwrap();
        let t = t0 + 3 * S;
        store.advance(t);
        (e.id, t)
    }

    #[test]
    fn serverless_endpoint_reserves_then_connects() {
        let mut store = store(false);
        let t0 = Instant::now();
        let e = store.create_tenant_endpoint(P, "inst", None, t0).unwrap();
        assert_eq!(e.status, TenantStatus::ReservationRequested);
        assert_eq!(e.endpoint_service_name, None);
        store.advance(t0 + 2 * S);
        assert_eq!(
            store.tenant_endpoint(P, "inst", &e.id).unwrap().status,
            TenantStatus::ReservationRequested
        );
        store.advance(t0 + 3 * S);
        let got = store.tenant_endpoint(P, "inst", &e.id).unwrap();
        assert_eq!(got.status, TenantStatus::Reserved);
        let name = got.endpoint_service_name.clone().unwrap();
        assert!(
            name.starts_with("com.amazonaws.vpce.us-east-1.vpce-svc-"),
            "{name}"
        );

        let t1 = t0 + 5 * S;
        let patched = store
            .update_tenant_endpoint(P, "inst", &e.id, aws(Some(VPCE)), t1)
            .unwrap();
        assert_eq!(patched.status, TenantStatus::Initiating);
        assert_eq!(patched.cloud_provider_endpoint_id.as_deref(), Some(VPCE));
        store.advance(t1 + 3 * S);
        assert_eq!(
            store.tenant_endpoint(P, "inst", &e.id).unwrap().status,
            TenantStatus::Initiating
        );
        store.advance(t1 + 4 * S);
        assert_eq!(
            store.tenant_endpoint(P, "inst", &e.id).unwrap().status,
            TenantStatus::Available
        );
    }

    #[test]
    fn patch_before_reservation_is_refused() {
        let mut store = store(false);
        let t0 = Instant::now();
        let e = store.create_tenant_endpoint(P, "inst", None, t0).unwrap();
        let err = store
            .update_tenant_endpoint(P, "inst", &e.id, aws(Some(VPCE)), t0)
            .unwrap_err();
        assert!(matches!(err, ModelError::NotReserved { .. }), "{err:?}");
    }

    #[test]
    fn patch_needs_provider_and_a_valid_vpce_id() {
        let mut store = store(false);
        let (id, t) = reserved(&mut store, Instant::now());
        let mut no_provider = aws(Some(VPCE));
        no_provider.provider_name = None;
        assert_eq!(
            store.update_tenant_endpoint(P, "inst", &id, no_provider, t),
            Err(ModelError::Missing("providerName"))
        );
        let err = store
            .update_tenant_endpoint(P, "inst", &id, aws(Some("vpce-fcac938279cd98dc894")), t)
            .unwrap_err();
        assert!(matches!(
            err,
            ModelError::Invalid {
                field: "cloudProviderEndpointId",
                ..
            }
        ));
        assert_eq!(
            store.tenant_endpoint(P, "inst", &id).unwrap().status,
            TenantStatus::Reserved
        );
    }

    #[test]
    fn comment_longer_than_80_is_refused() {
        let mut store = store(false);
        let t0 = Instant::now();
        let long = "x".repeat(81);
        let err = store
            .create_tenant_endpoint(P, "inst", Some(long.clone()), t0)
            .unwrap_err();
        assert!(matches!(
            err,
            ModelError::Invalid {
                field: "comment",
                ..
            }
        ));
        assert!(
            store
                .create_tenant_endpoint(P, "inst", Some("x".repeat(80)), t0)
                .is_ok()
        );
        let (id, t) = reserved(&mut store, t0);
        let mut update = aws(None);
        update.comment = Some(long);
        assert!(matches!(
            store.update_tenant_endpoint(P, "inst", &id, update, t),
            Err(ModelError::Invalid {
                field: "comment",
                ..
            })
        ));
    }

    #[test]
    fn endpoint_id_cannot_change_once_available() {
        let mut store = store(false);
        let (id, t) = reserved(&mut store, Instant::now());
        store
            .update_tenant_endpoint(P, "inst", &id, aws(Some(VPCE)), t)
            .unwrap();
        store.advance(t + 4 * S);
        let other = "vpce-11111111111111111";
        let err = store
            .update_tenant_endpoint(P, "inst", &id, aws(Some(other)), t + 5 * S)
            .unwrap_err();
        assert!(
            matches!(err, ModelError::EndpointIdLocked { .. }),
            "{err:?}"
        );
        // The same id (with a new comment) is fine and keeps it AVAILABLE.
        let mut same = aws(Some(VPCE));
        same.comment = Some("renamed".into());
        let e = store
            .update_tenant_endpoint(P, "inst", &id, same, t + 5 * S)
            .unwrap();
        assert_eq!(e.status, TenantStatus::Available);
        assert_eq!(e.comment.as_deref(), Some("renamed"));
    }

    #[test]
    fn injected_link_failure_fails_the_link_and_retry_works() {
        let mut store = store(false);
        store.link_failures = LinkFailures {
            count: 1,
            message: "boom".into(),
        };
        let (id, t) = reserved(&mut store, Instant::now());
        store
            .update_tenant_endpoint(P, "inst", &id, aws(Some(VPCE)), t)
            .unwrap();
        store.advance(t + 4 * S);
        let e = store.tenant_endpoint(P, "inst", &id).unwrap();
        assert_eq!(e.status, TenantStatus::Failed);
        assert_eq!(e.error_message.as_deref(), Some("boom"));
        assert_eq!(store.link_failures.count, 0);
        // A FAILED endpoint may be patched again.
        let t2 = t + 10 * S;
        store
            .update_tenant_endpoint(P, "inst", &id, aws(Some(VPCE)), t2)
            .unwrap();
        store.advance(t2 + 4 * S);
        let e = store.tenant_endpoint(P, "inst", &id).unwrap();
        assert_eq!(e.status, TenantStatus::Available);
        assert_eq!(e.error_message, None);
    }

    #[test]
    fn ec2_verdicts_decide_the_outcome() {
        let mut store = store(true);
        let (id, t) = reserved(&mut store, Instant::now());
        store
            .update_tenant_endpoint(P, "inst", &id, aws(Some(VPCE)), t)
            .unwrap();
        store.advance(t + 4 * S);
        assert_eq!(
            store.tenant_endpoint(P, "inst", &id).unwrap().status,
            TenantStatus::Initiating
        );
        let checks = store.due_checks(t + 4 * S);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].vpce_id, VPCE);
        assert_eq!(checks[0].aws_region, "us-east-1");
        assert!(store.due_checks(t + 5 * S).is_empty(), "handed out once");
        store.apply_verdict(&checks[0], Err("VPC endpoint missing".into()));
        let e = store.tenant_endpoint(P, "inst", &id).unwrap();
        assert_eq!(e.status, TenantStatus::Failed);
        assert_eq!(e.error_message.as_deref(), Some("VPC endpoint missing"));
    }

    #[test]
    fn delete_goes_through_deleting_and_is_repeatable() {
        let mut store = store(false);
        let (id, t) = reserved(&mut store, Instant::now());
        store.delete_tenant_endpoint(P, "inst", &id, t).unwrap();
        assert_eq!(
            store.tenant_endpoint(P, "inst", &id).unwrap().status,
            TenantStatus::Deleting
        );
        store.advance(t + S);
        store.delete_tenant_endpoint(P, "inst", &id, t + S).unwrap();
        assert!(matches!(
            store.update_tenant_endpoint(P, "inst", &id, aws(Some(VPCE)), t + S),
            Err(ModelError::Invalid { .. })
        ));
        store.advance(t + 2 * S);
        assert!(matches!(
            store.tenant_endpoint(P, "inst", &id),
            Err(ModelError::TenantEndpointNotFound { .. })
        ));
        assert!(matches!(
            store.delete_tenant_endpoint(P, "inst", &id, t + 3 * S),
            Err(ModelError::TenantEndpointNotFound { .. })
        ));
    }

    #[test]
    fn unknown_instance_and_group_are_reported() {
        let mut store = store(false);
        assert!(matches!(
            store.create_tenant_endpoint(P, "nope", None, Instant::now()),
            Err(ModelError::ServerlessInstanceNotFound { .. })
        ));
        assert!(matches!(
            store.tenant_endpoints("aaaaaaaaaaaaaaaaaaaaaaaa", "inst"),
            Err(ModelError::GroupNotFound(_))
        ));
    }

    #[test]
    fn service_lifecycle_and_duplicate_region() {
        let mut store = store(false);
        let t0 = Instant::now();
        let s = store.create_service(P, "AWS", "us-east-1", t0).unwrap();
        assert_eq!(s.status, ServiceStatus::Initiating);
        assert_eq!(s.region, "US_EAST_1");
        assert_eq!(s.endpoint_service_name(), None);
        assert_eq!(
            store.create_service(P, "AWS", "US_EAST_1", t0),
            Err(ModelError::ServiceAlreadyExists {
                provider: "AWS".into(),
                region: "US_EAST_1".into()
            })
        );
        assert!(store.create_service(P, "AWS", "eu-west-1", t0).is_ok());
        store.advance(t0 + 3 * S);
        let got = store.service(P, &s.id).unwrap();
        assert_eq!(got.status, ServiceStatus::Available);
        assert!(
            got.endpoint_service_name()
                .unwrap()
                .contains(".us-east-1.vpce-svc-")
        );
        store.delete_service(P, &s.id, t0 + 3 * S).unwrap();
        assert_eq!(
            store.service(P, &s.id).unwrap().status,
            ServiceStatus::Deleting
        );
        store.advance(t0 + 5 * S);
        assert!(matches!(
            store.service(P, &s.id),
            Err(ModelError::ServiceNotFound { .. })
        ));
    }

    #[test]
    fn interface_endpoint_lifecycle_and_conflicts() {
        let mut store = store(false);
        let t0 = Instant::now();
        let s = store.create_service(P, "AWS", "us-east-1", t0).unwrap();
        assert!(matches!(
            store.create_interface_endpoint(P, &s.id, VPCE, t0),
            Err(ModelError::ServiceNotAvailable { .. })
        ));
        let t1 = t0 + 3 * S;
        store.advance(t1);
        let e = store.create_interface_endpoint(P, &s.id, VPCE, t1).unwrap();
        assert_eq!(e.status, LinkStatus::PendingAcceptance);
        assert_eq!(
            store.create_interface_endpoint(P, &s.id, VPCE, t1),
            Err(ModelError::InterfaceEndpointExists { id: VPCE.into() })
        );
        assert!(matches!(
            store.create_interface_endpoint(P, &s.id, "vpce-123", t1),
            Err(ModelError::Invalid { field: "id", .. })
        ));
        store.advance(t1 + 2 * S);
        assert_eq!(
            store.interface_endpoint(P, &s.id, VPCE).unwrap().status,
            LinkStatus::Pending
        );
        store.advance(t1 + 4 * S);
        assert_eq!(
            store.interface_endpoint(P, &s.id, VPCE).unwrap().status,
            LinkStatus::Available
        );
        assert_eq!(
            store.delete_service(P, &s.id, t1 + 4 * S),
            Err(ModelError::ServiceHasEndpoints)
        );
    }

    #[test]
    fn removing_the_last_interface_endpoint_removes_the_service() {
        let mut store = store(false);
        let t0 = Instant::now();
        let s = store.create_service(P, "AWS", "us-east-1", t0).unwrap();
        let t1 = t0 + 3 * S;
        store.advance(t1);
        store.create_interface_endpoint(P, &s.id, VPCE, t1).unwrap();
        store.advance(t1 + 4 * S);
        let t2 = t1 + 5 * S;
        store.delete_interface_endpoint(P, &s.id, VPCE, t2).unwrap();
        let e = store.interface_endpoint(P, &s.id, VPCE).unwrap();
        assert_eq!(e.status, LinkStatus::Deleting);
        assert!(e.delete_requested);
        // Still attached while DELETING: the service cannot be deleted yet.
        assert_eq!(
            store.delete_service(P, &s.id, t2),
            Err(ModelError::ServiceHasEndpoints)
        );
        store.advance(t2 + 2 * S);
        assert!(store.interface_endpoint(P, &s.id, VPCE).is_err());
        assert_eq!(
            store.service(P, &s.id).unwrap().status,
            ServiceStatus::Deleting
        );
        store.advance(t2 + 4 * S);
        assert!(matches!(
            store.service(P, &s.id),
            Err(ModelError::ServiceNotFound { .. })
        ));
    }

    #[test]
    fn rejected_interface_endpoint_carries_the_message() {
        let mut store = store(true);
        let t0 = Instant::now();
        let s = store.create_service(P, "AWS", "us-east-1", t0).unwrap();
        store.advance(t0 + 3 * S);
        store
            .create_interface_endpoint(P, &s.id, VPCE, t0 + 3 * S)
            .unwrap();
        let t = t0 + 7 * S;
        store.advance(t);
        let checks = store.due_checks(t);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].expected_service, s.issued_service_name);
        store.apply_verdict(&checks[0], Err("not found".into()));
        let e = store.interface_endpoint(P, &s.id, VPCE).unwrap();
        assert_eq!(e.status, LinkStatus::Rejected);
        assert_eq!(e.error_message.as_deref(), Some("not found"));
    }
}
