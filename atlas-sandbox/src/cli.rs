//! The command line: flag definitions (which also produce `--help`) and their parsing into a
//! validated [`Config`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::auth::Credentials;
use crate::ids;
use crate::model::Delays;
use crate::ratelimit::RateLimit;

const LONG_ABOUT: &str = "\
A local HTTP emulation of the MongoDB Atlas Administration API, private-endpoint operations:
serverless instance private endpoints (deprecated upstream, sunset 2026-01-22), serverless
instances, dedicated endpoint services with AWS interface endpoints, and clusters. Paths are
served under /api/atlas/v2 (versioned media type application/vnd.atlas.2023-01-01+json) and
/api/atlas/v1.0 (application/json). Authentication: HTTP Digest with --public-key/--private-key,
OAuth client credentials (POST /api/oauth/token, /api/oauth/revoke) with --client-id/
--client-secret. With no credentials configured at all, requests are not authenticated.

The first line on stdout is the bound base URL (e.g. http://127.0.0.1:43121); logs go to stderr.

Links (serverless PATCH with cloudProviderEndpointId, dedicated interface-endpoint POST) are
checked against EC2 with DescribeVpcEndpoints when --ec2-endpoint is given: they become
AVAILABLE only if the VPC endpoint exists in the region and is for the service name the sandbox
issued, otherwise FAILED/REJECTED with an errorMessage. Without --ec2-endpoint links succeed
unchecked. Once a link's check is done (dedicated or serverless), the sandbox calls EC2
AcceptVpcEndpointConnections (or RejectVpcEndpointConnections when it rejects the link) with
ServiceId = the vpce-svc-... id of the service name it issued, as the service owner; errors of
that call (plain moto does not know it) are only logged.

AZURE: endpoint services with providerName AZURE (region in Atlas style, US_EAST_2, or as an
Azure location, eastus2) get privateLinkServiceName pls_<24hex> and privateLinkServiceResourceId
/subscriptions/<uuid>/resourceGroups/rg_atlas_<location>/providers/Microsoft.Network/
privateLinkServices/pls_<24hex> once AVAILABLE. Their endpoints (POST {\"id\",
\"privateEndpointIPAddress\"}; GET/DELETE .../endpoint/{url-encoded resource id}) answer status
INITIATING, then AVAILABLE or FAILED. With --azure-endpoint, each AVAILABLE service's Private
Link Service is registered in azure-sandbox (PUT /__sandbox/privateLinkServices, removed again
with the service), and each link is checked there: the private endpoint must exist, be
provisioned, have a manual connection to this service's Private Link Service, and its network
interface must have the declared IP; the sandbox then approves (or rejects) that connection as
the service owner (PUT /__sandbox/connections), and disconnects it when the link is removed.
A refused link is FAILED with an errorMessage.
Without --azure-endpoint AZURE links succeed unchecked. Serverless instances on Azure are made
with region AZURE:<region> (e.g. --serverless-instance P/NAME@AZURE:US_EAST_2); their
endpoints' PATCH takes providerName AZURE, cloudProviderEndpointId (the private endpoint
resource id) and privateEndpointIpAddress.

Control API (no authentication, JSON, never rate-limited or faulted):
  POST   /__sandbox/projects                {\"id\"}
  POST   /__sandbox/serverless-instances    {\"project\",\"name\",\"region\"?}  (creates the project)
  POST   /__sandbox/clusters                {\"project\",\"name\",\"region\"?}  (creates the project)
  GET    /__sandbox/faults
  PUT    /__sandbox/faults                  {\"rate\",\"statuses\",\"latency_ms\",
                                             \"link_failures\":{\"count\",\"message\"}}  (fields optional)
  GET    /__sandbox/delays
  PUT    /__sandbox/delays                  {\"reserve_ms\",\"connect_ms\",\"delete_ms\"}  (optional)
  GET    /__sandbox/realism
  PUT    /__sandbox/realism                 {\"ghost_rate\",\"drop_rate\",\"seed\",\"cluster_update_ms\",
                                             \"max_concurrent_links\"}  (fields optional)
  GET    /__sandbox/requests                [{method,path,query,status,time,auth,injected,
                                              ghost,dropped}]
  DELETE /__sandbox/requests
  GET    /__sandbox/state                   every project, instance, cluster, endpoint, service
  POST   /__sandbox/serverless-endpoints/{project}/{instance}/{id}/state
                                            {\"status\",\"errorMessage\"?}
  POST   /__sandbox/interface-endpoints/{project}/{serviceId}/{vpceId or url-encoded Azure id}/state
                                            {\"connectionStatus\",\"errorMessage\"?}
  POST   /__sandbox/endpoint-services/{project}/{serviceId}/state
                                            {\"status\",\"errorMessage\"?}
  POST   /__sandbox/clusters/{project}/{name}/state   {\"stateName\": \"UPDATING\"|\"IDLE\"}

Forced states: an interface endpoint forced into PENDING_ACCEPTANCE or PENDING with an
errorMessage is stuck there until forced again (without one it moves on after the connect
delay). Forced REJECTED, it is rejected on the cloud side too, as the service owner rejects a
connection: RejectVpcEndpointConnections through --ec2-endpoint (the VPC endpoint's state
becomes rejected), or its private endpoint's connection set Rejected (with the errorMessage as
description) through --azure-endpoint; errors of that call are only logged. Any other forced
status (FAILED among them) stays on the Atlas side. An endpoint service may be forced into INITIATING, AVAILABLE, WAITING_FOR_USER (accepts
interface endpoints, as AVAILABLE does), FAILED (endpointServiceName null) or DELETING; only
INITIATING and DELETING move on by themselves. A cluster forced UPDATING stays so until forced
IDLE.

Realism (PUT /__sandbox/realism; defaults keep the ideal behaviour):
  ghost_rate  probability (0-1) that a successful POST or PATCH under /api/atlas (every one of
              them creates or links something) does its work and is then answered 500 or 503
              (in turn; UNEXPECTED_ERROR / SERVICE_UNAVAILABLE). Default 0.
  drop_rate   probability (0-1) that such a write, its work done, has its connection closed
              without any answer (drawn before ghost_rate). Default 0.
  seed        restarts the generator these draws come from (default --seed, 0): one number
              is drawn per write, so a seed replays the same fates for the same writes.
              Ghost writes appear in the request log with \"ghost\": true (and
              \"dropped\": true when no answer was sent; status is then the lost answer's).
  cluster_update_ms
              each time an interface endpoint becomes AVAILABLE, every cluster of its project
              and region is stateName UPDATING for this long; the endpoint appears in their
              connectionStrings (awsPrivateLink, awsPrivateLinkSrv, privateEndpoint) only once
              they are IDLE again. Default 0 (no UPDATING, strings at once).
  max_concurrent_links
              at most this many interface endpoints of one service may be waiting for
              acceptance (PENDING_ACCEPTANCE/PENDING, not stuck) at once; an extra one is
              created PENDING with errorMessage \"Failed to accept interface endpoint <vpceId>
              for endpoint service <serviceId> : idempotent operation going on\" and stays so
              until forced. null (default): no bound.

Rate limits: one token bucket per project and endpoint set. The only endpoint set documented
for these resources is \"Private Endpoint Services\" (endpoint services and their interface
endpoints); every other operation of a project (clusters, serverless instances, serverless
private endpoints) shares a second bucket. Requests outside a project share one bucket per set.
A refused authentication (401) carries Atlas's own pretty-printed body, without parameters, and
no RateLimit-* headers.

Versions: clusters are served as the current 2024-08-05 resource (ClusterDescription20240805,
Content-Type application/vnd.atlas.2024-08-05+json) when Accept names that date or a later
one, otherwise as 2023-01-01 (LegacyAtlasCluster), deprecated: its v2 answers carry
Deprecation: Mon, 05 Aug 2024 00:00:00 GMT and Sunset: Thu, 01 Jul 2027 00:00:00 GMT.

Error codes where Atlas leaves a choice: body constraint violations (comment over 80 characters,
bad cloudProviderEndpointId/id pattern, unknown providerName or region) and PATCH of an endpoint
that is not yet RESERVED or whose cloudProviderEndpointId is fixed (AVAILABLE) answer 400
VALIDATION_ERROR; a missing required field 400 MISSING_ATTRIBUTE; a missing or malformed body
400 INVALID_JSON; a path parameter that breaks its pattern 400 INVALID_ATTRIBUTE. A missing
endpoint service and a missing interface endpoint both answer 404
PRIVATE_ENDPOINT_SERVICE_NOT_FOUND. A second endpoint service in a region answers 409
PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION, detail \"A private endpoint service already
exists for AWS region US_EAST_1\", parameters [\"AWS\",\"US_EAST_1\"] (real Atlas); a second POST
of an interface endpoint the project already has answers 409
PRIVATELINK_INTERFACE_ENDPOINT_ALREADY_EXISTS (not recorded from real Atlas; the v1.0 name). A
service that is not AVAILABLE or WAITING_FOR_USER refuses interface endpoints with 409
PRIVATELINK_CANNOT_ACCEPT_ENDPOINTS. Endpoint service create answers 201 and delete 202 {} (real
Atlas); interface endpoint create answers 200 and delete 204 (spec). Serverless private endpoint
answers carry Deprecation: true and Sunset: Thu, 22 Jan 2026 00:00:00 GMT.";

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(name = "atlas-sandbox", version, about = "Local emulation of the MongoDB Atlas Administration API (private endpoints)", long_about = LONG_ABOUT)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", env = "ATLAS_SANDBOX_LISTEN")]
    pub listen: SocketAddr,

    /// API public key (Digest user name).
    #[arg(long, env = "ATLAS_SANDBOX_PUBLIC_KEY")]
    pub public_key: Option<String>,

    /// API private key (Digest password).
    #[arg(long, env = "ATLAS_SANDBOX_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,

    /// Service account client id (OAuth client credentials).
    #[arg(long, env = "ATLAS_SANDBOX_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Service account client secret.
    #[arg(long, env = "ATLAS_SANDBOX_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// A project (group) id to create at start, 24 hex digits; repeatable.
    #[arg(long = "project", value_name = "ID")]
    pub projects: Vec<String>,

    /// A serverless instance to create at start: PROJECT/NAME[@REGION] (default region
    /// US_EAST_1); repeatable. The project is created if needed.
    #[arg(long = "serverless-instance", value_name = "PROJECT/NAME[@REGION]")]
    pub serverless_instances: Vec<String>,

    /// A dedicated cluster to create at start: PROJECT/NAME[@REGION]; repeatable.
    #[arg(long = "cluster", value_name = "PROJECT/NAME[@REGION]")]
    pub clusters: Vec<String>,

    /// Time from creation to RESERVED (serverless endpoint) / AVAILABLE (endpoint service).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub reserve_delay: Duration,

    /// Time from a link request to its AVAILABLE/FAILED/REJECTED verdict.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub connect_delay: Duration,

    /// Time an object stays DELETING before it is gone.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub delete_delay: Duration,

    /// Lifetime of a Digest nonce; older nonces get 401 with stale=true.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub nonce_ttl: Duration,

    /// Token bucket capacity (every bucket: per project and endpoint set).
    #[arg(long, default_value_t = 4000)]
    pub rate_limit_capacity: u64,

    /// Token bucket refill as N/PERIOD, e.g. 2000/60s.
    #[arg(long, default_value = "2000/60s", value_parser = parse_refill)]
    pub rate_limit_refill: (u64, Duration),

    /// Share of API requests (0.0-1.0) answered with an injected error.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,

    /// HTTP statuses of injected faults, comma-separated, taken in turn.
    #[arg(long, default_value = "429,500,503")]
    pub fault_statuses: String,

    /// Extra latency added to every API answer, e.g. 50ms.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,

    /// EC2 Query API base URL (e.g. a moto server, http://127.0.0.1:5000) used to verify links.
    #[arg(long, value_name = "URL")]
    pub ec2_endpoint: Option<String>,

    /// azure-sandbox base URL (e.g. http://127.0.0.1:41234) used to verify AZURE links and to
    /// register the Private Link Services of AZURE endpoint services.
    #[arg(long, value_name = "URL")]
    pub azure_endpoint: Option<String>,

    /// Seed of the generator that draws ghost writes (see PUT /__sandbox/realism).
    #[arg(long, default_value_t = crate::realism::DEFAULT_SEED)]
    pub seed: u64,
}

/// A deployment named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSpec {
    /// The project id.
    pub project: String,
    /// The deployment name.
    pub name: String,
    /// The region, if given.
    pub region: Option<String>,
}

/// Everything the server needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Authentication secrets.
    pub credentials: Credentials,
    /// Projects to create at start.
    pub projects: Vec<String>,
    /// Serverless instances to create at start.
    pub serverless_instances: Vec<DeploymentSpec>,
    /// Clusters to create at start.
    pub clusters: Vec<DeploymentSpec>,
    /// Durations of the asynchronous steps.
    pub delays: Delays,
    /// Lifetime of a Digest nonce.
    pub nonce_ttl: Duration,
    /// Token bucket parameters.
    pub rate_limit: RateLimit,
    /// Share of API requests answered with an injected fault.
    pub fault_rate: f64,
    /// Statuses of injected faults, taken in turn.
    pub fault_statuses: Vec<u16>,
    /// Latency added to every API request.
    pub latency: Duration,
    /// EC2 Query API base URL used to verify links.
    pub ec2_endpoint: Option<String>,
    /// azure-sandbox base URL used to verify AZURE links.
    pub azure_endpoint: Option<String>,
    /// Seed of the ghost-write generator.
    pub seed: u64,
}

/// Invalid flag values.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An invalid `--project` id.
    #[error("--project {0:?}: a project id is 24 lowercase hexadecimal digits")]
    Project(String),
    /// An invalid deployment flag value.
    #[error("{flag} {value:?}: expected PROJECT/NAME[@REGION] with a 24-hex project id")]
    Deployment {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
    },
    /// An invalid `--fault-statuses` list.
    #[error("--fault-statuses: {0}")]
    Statuses(String),
}

fn parse_refill(s: &str) -> Result<(u64, Duration), String> {
    let (n, period) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected N/PERIOD, e.g. 2000/60s"))?;
    let n: u64 = n.trim().parse().map_err(|e| format!("{n:?}: {e}"))?;
    let period =
        humantime::parse_duration(period.trim()).map_err(|e| format!("{period:?}: {e}"))?;
    if period.is_zero() {
        return Err("the refill period must be positive".into());
    }
    Ok((n, period))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|e| format!("{s:?}: {e}"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not between 0 and 1"))
    }
}

/// Parses a comma-separated list of HTTP error statuses.
pub fn parse_statuses(s: &str) -> Result<Vec<u16>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let code: u16 = p.trim().parse().map_err(|e| format!("{p:?}: {e}"))?;
            if (400..600).contains(&code) {
                Ok(code)
            } else {
                Err(format!("{code} is not an HTTP error status"))
            }
        })
        .collect()
}

/// Parses `PROJECT/NAME[@REGION]`.
pub fn parse_deployment(flag: &'static str, value: &str) -> Result<DeploymentSpec, CliError> {
    let bad = || CliError::Deployment {
        flag,
        value: value.to_string(),
    };
    let (project, rest) = value.split_once('/').ok_or_else(bad)?;
    let (name, region) = match rest.split_once('@') {
        Some((name, region)) => (name, Some(region.to_string())),
        None => (rest, None),
    };
    if !ids::is_object_id(project) || !ids::is_deployment_name(name) {
        return Err(bad());
    }
    Ok(DeploymentSpec {
        project: project.to_string(),
        name: name.to_string(),
        region,
    })
}

impl Args {
    /// Validates the flags into a [`Config`].
    pub fn into_config(self) -> Result<Config, CliError> {
        let Args {
            listen,
            public_key,
            private_key,
            client_id,
            client_secret,
            projects,
            serverless_instances,
            clusters,
            reserve_delay,
            connect_delay,
            delete_delay,
            nonce_ttl,
            rate_limit_capacity,
            rate_limit_refill,
            fault_rate,
            fault_statuses,
            latency,
            ec2_endpoint,
            azure_endpoint,
            seed,
        } = self;
        if let Some(bad) = projects.iter().find(|p| !ids::is_object_id(p)) {
            return Err(CliError::Project(bad.clone()));
        }
        let serverless_instances = serverless_instances
            .iter()
            .map(|v| parse_deployment("--serverless-instance", v))
            .collect::<Result<_, _>>()?;
        let clusters = clusters
            .iter()
            .map(|v| parse_deployment("--cluster", v))
            .collect::<Result<_, _>>()?;
        let fault_statuses = parse_statuses(&fault_statuses).map_err(CliError::Statuses)?;
        Ok(Config {
            listen,
            credentials: Credentials {
                public_key,
                private_key,
                client_id,
                client_secret,
            },
            projects,
            serverless_instances,
            clusters,
            delays: Delays {
                reserve: reserve_delay,
                connect: connect_delay,
                delete: delete_delay,
            },
            nonce_ttl,
            rate_limit: RateLimit {
                capacity: rate_limit_capacity,
                refill: rate_limit_refill.0,
                period: rate_limit_refill.1,
            },
            fault_rate,
            fault_statuses,
            latency,
            ec2_endpoint,
            azure_endpoint,
            seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deployments_and_refill() {
        let d = parse_deployment("--cluster", "5f7cac1adf5d6c6306f4b283/c0@EU_WEST_1").unwrap();
        assert_eq!(d.name, "c0");
        assert_eq!(d.region.as_deref(), Some("EU_WEST_1"));
        assert!(parse_deployment("--cluster", "nothex/c0").is_err());
        assert_eq!(
            parse_refill("2000/60s").unwrap(),
            (2000, Duration::from_secs(60))
        );
        assert!(parse_refill("2000").is_err());
        assert_eq!(parse_statuses("429, 503").unwrap(), vec![429, 503]);
        assert!(parse_statuses("200").is_err());
    }

    #[test]
    fn defaults_are_usable() {
        let args = Args::try_parse_from(["atlas-sandbox"]).unwrap();
        let config = args.into_config().unwrap();
        assert_eq!(config.rate_limit.capacity, 4000);
        assert_eq!(config.delays.reserve, Duration::from_secs(3));
        assert_eq!(config.listen.port(), 0);
    }
}
