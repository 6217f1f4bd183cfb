//! The Atlas Administration API client.
//!
//! This module owns every call privlink makes to Atlas: serverless instance
//! private endpoints (the deprecated flow, sunset on 2026-01-22), dedicated
//! cluster endpoint services and their interface endpoints, and the reads of
//! serverless instances and clusters needed for connection strings. It also
//! owns authentication (HTTP Digest API keys or service-account tokens),
//! retries, the per-client request budget, the Atlas error envelope and the
//! waits on Atlas-side state (through shared pollers, see `waits`).
//!
//! All operations use the v2 API (`/api/atlas/v2`) with the versioned media
//! type `application/vnd.atlas.2023-01-01+json`, the only version of the
//! private endpoint operations, except the clusters list, read in its
//! current version `2024-08-05` (`2023-01-01` and `2023-02-01` are sunset on
//! 2027-07-01). An answer announcing a `Sunset` gets a warning.
//!
//! Creates are sent once and confirmed by a read after an answer that does
//! not say whether Atlas acted (see `confirm`).

pub mod azure;
mod cloud;
mod confirm;
mod connections;
mod context;
mod dedicated;
mod error;
pub mod expand;
mod http;
mod marker;
mod preflight;
mod serverless;
mod types;
mod waits;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::wait::Poll;

pub use error::{AtlasError, ErrorEnvelope, SERVERLESS_SUNSET_DATE};
pub use types::{
    Cluster, EndpointService, InterfaceEndpoint, PrivateConnectionString, ServerlessEndpoint,
    ServerlessInstance,
};

pub use connections::{Connection, EndpointConnection, connections, through_endpoint};
pub use context::{AtlasCloud, atlas_region};

use http::{How, Reply, Retry, Transport};

/// The rules of every Atlas kind.
pub const KINDS: &[&dyn crate::plan::ResourceRules] = &[
    &serverless::ENDPOINT_RULES,
    &serverless::LINK_RULES,
    &dedicated::SERVICE_RULES,
    &dedicated::INTERFACE_RULES,
];

/// The default Atlas base URL.
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";

const V2: &str = "/api/atlas/v2";

/// The media type of the clusters list: its current version (the spec's
/// `x-xgen-version` without `x-sunset`).
pub const CLUSTERS_MEDIA_TYPE: &str = "application/vnd.atlas.2024-08-05+json";

/// A create: sent again only when Atlas cannot have acted on it.
const CREATE: How<'static> = How {
    media_type: http::MEDIA_TYPE,
    retry: Retry::UnlessActed,
};

/// How privlink authenticates to Atlas.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A programmatic API key pair, used with HTTP Digest.
    Digest {
        /// The public key, the Digest user name (from `MONGODB_ATLAS_PUBLIC_KEY`).
        public_key: String,
        /// The private key, the Digest password (from `MONGODB_ATLAS_PRIVATE_KEY`).
        private_key: String,
    },
    /// A service account, exchanged for OAuth bearer tokens.
    ServiceAccount {
        /// The service account's client id (from `MONGODB_ATLAS_CLIENT_ID`).
        client_id: String,
        /// The service account's secret (from `MONGODB_ATLAS_CLIENT_SECRET`).
        client_secret: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Digest { .. } => f
                .debug_struct("Digest")
                .field("public_key", &"<redacted>")
                .field("private_key", &"<redacted>")
                .finish(),
            Credentials::ServiceAccount { .. } => f
                .debug_struct("ServiceAccount")
                .field("client_id", &"<redacted>")
                .field("client_secret", &"<redacted>")
                .finish(),
        }
    }
}

/// Tuning of retries and the request budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Retries after a `429`, a `5xx` or a connection error (not counting
    /// the authentication handshake).
    pub max_retries: u32,
    /// Requests per second shared by every task using the client (clones
    /// share it too). `0` disables the budget.
    pub requests_per_second: u32,
    /// Requests that may go out at once before the per-second budget applies.
    pub burst: u32,
    /// First backoff delay; doubles (with jitter) up to `max_retry_delay`.
    /// `Retry-After` from Atlas is honoured as a minimum on top of this.
    pub min_retry_delay: Duration,
    /// The longest backoff delay between two retries.
    pub max_retry_delay: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// How long one attempt may take, from sending to the last byte of the
    /// answer.
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    /// Five retries, backing off from 2 s to 60 s, and a budget of 30
    /// requests per second with a burst of 50 for the whole client: at most
    /// 1850 in any minute, inside the 2000-a-minute refill of the "Private
    /// Endpoint Services" rate-limit set (scope: project) and far from its
    /// 4000 capacity, so privlink alone never empties the bucket; and enough
    /// that creating 20 endpoints at once is not spread over seconds. (The
    /// legacy 100-a-minute rule covers v1.0 resources, which this client does
    /// not call; waits share their status reads, see `SharedRead`, which
    /// keeps their traffic far below the budget.)
    fn default() -> Self {
        ClientOptions {
            max_retries: 5,
            requests_per_second: 30,
            burst: 50,
            min_retry_delay: crate::limits::ATLAS_MIN_RETRY_DELAY,
            max_retry_delay: crate::limits::ATLAS_MAX_RETRY_DELAY,
            connect_timeout: crate::limits::CONNECT_TIMEOUT,
            request_timeout: crate::limits::REQUEST_TIMEOUT,
        }
    }
}

/// What [`AtlasClient::wait_serverless_endpoint`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerlessTarget {
    /// Atlas has reserved the endpoint and published `endpointServiceName`.
    Reserved,
    /// The VPC endpoint is linked and the endpoint is `AVAILABLE`.
    Available,
    /// The endpoint no longer exists.
    Gone,
}

/// What [`AtlasClient::wait_endpoint_service`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceTarget {
    /// `AVAILABLE` or `WAITING_FOR_USER`, with `endpointServiceName` set.
    Ready,
    /// The service no longer exists.
    Gone,
}

/// What [`AtlasClient::wait_interface_endpoint`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceTarget {
    /// `connectionStatus` is `AVAILABLE`.
    Available,
    /// The interface endpoint no longer exists.
    Gone,
}

/// A cheap-to-clone handle on one Atlas connection: clones share the
/// credentials, the token cache, the request budget, the 429 pause and the
/// shared pollers of waits.
#[derive(Clone)]
pub struct AtlasClient {
    inner: Arc<Transport>,
    /// The shared pollers of waits.
    pollers: waits::AtlasPollers,
}

impl fmt::Debug for AtlasClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtlasClient")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

/// The cloud provider path segment; privlink only manages AWS.
const AWS: &str = "AWS";

impl AtlasClient {
    /// A client for `base_url` (e.g. `https://cloud.mongodb.com`).
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Self, AtlasError> {
        Ok(AtlasClient {
            inner: Arc::new(Transport::new(base_url, credentials, options)?),
            pollers: waits::AtlasPollers::default(),
        })
    }

    /// A client configured from the environment: `MONGODB_ATLAS_BASE_URL`
    /// (default `https://cloud.mongodb.com`), then either
    /// `MONGODB_ATLAS_CLIENT_ID` + `MONGODB_ATLAS_CLIENT_SECRET` (service
    /// account, preferred when both pairs are set) or
    /// `MONGODB_ATLAS_PUBLIC_KEY` + `MONGODB_ATLAS_PRIVATE_KEY` (API key).
    pub fn from_env(options: ClientOptions) -> Result<Self, AtlasError> {
        let (base_url, credentials) = credentials_from(|name| std::env::var(name).ok())?;
        AtlasClient::new(&base_url, credentials, options)
    }

    /// True when reads may be sent all at once (service-account tokens);
    /// with Digest they go one after another on the shared nonce.
    pub fn reads_in_parallel(&self) -> bool {
        self.inner.reads_in_parallel()
    }

    /// Runs `reads` (futures that have not started: a future does nothing
    /// until polled) all at once when [`AtlasClient::reads_in_parallel`],
    /// one after another otherwise; their answers in the order given, or
    /// the first error.
    pub async fn read_all<F, T, E>(&self, reads: Vec<F>) -> Result<Vec<T>, E>
    where
        F: std::future::Future<Output = Result<T, E>>,
    {
        if self.reads_in_parallel() {
            return futures_util::future::try_join_all(reads).await;
        }
        let mut out = Vec::new();
        for read in reads {
            out.push(read.await?);
        }
        Ok(out)
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    // ----- serverless instance private endpoints -------------------------

    /// All private endpoints of a serverless instance.
    pub async fn list_serverless_endpoints(
        &self,
        group: &str,
        instance: &str,
    ) -> Result<Vec<ServerlessEndpoint>, AtlasError> {
        let path = serverless_endpoints_path(group, instance);
        let reply = self.send(Method::GET, &path, None).await?;
        expect_list(reply, "GET", &path)
    }

    /// One serverless private endpoint; `None` once it does not exist.
    pub async fn get_serverless_endpoint(
        &self,
        group: &str,
        instance: &str,
        id: &str,
    ) -> Result<Option<ServerlessEndpoint>, AtlasError> {
        let path = format!("{}/{}", serverless_endpoints_path(group, instance), seg(id));
        let reply = self.send(Method::GET, &path, None).await?;
        if serverless_endpoint_missing(&reply) {
            return Ok(None);
        }
        expect(reply, &[StatusCode::OK], "GET", &path).map(Some)
    }

    /// Asks Atlas to reserve a new private endpoint (`RESERVATION_REQUESTED`).
    ///
    /// After an answer that does not say whether Atlas made it (`5xx`,
    /// timeout, dropped connection), the instance's endpoints are read: a
    /// new one with this comment is the one this call made, and is
    /// returned instead of sending the create again. A comment without
    /// privlink's marker is not unique, so the endpoints that existed
    /// before the call are listed first and never taken.
    pub async fn create_serverless_endpoint(
        &self,
        group: &str,
        instance: &str,
        comment: Option<&str>,
    ) -> Result<ServerlessEndpoint, AtlasError> {
        let path = serverless_endpoints_path(group, instance);
        let body = match comment {
            Some(c) => json!({ "comment": c }),
            None => json!({}),
        };
        let before: Vec<String> = match comment {
            Some(c) if c.contains("[privlink ") => Vec::new(),
            _ => self
                .list_serverless_endpoints(group, instance)
                .await?
                .into_iter()
                .map(|e| e.id)
                .collect(),
        };
        let create = || async {
            let reply = self
                .send_how(Method::POST, &path, Some(&body), CREATE)
                .await?;
            expect(reply, &[StatusCode::OK, StatusCode::CREATED], "POST", &path)
        };
        let find = || async {
            let list = self.list_serverless_endpoints(group, instance).await?;
            Ok(list.into_iter().find(|e| {
                e.status != "DELETING" && e.comment.as_deref() == comment && !before.contains(&e.id)
            }))
        };
        let what = format!("the private endpoint of serverless instance {instance}");
        let first = confirm::FirstConflict::Theirs;
        confirm::create_confirmed(&self.inner.options, &what, first, create, find).await
    }

    /// Links a VPC endpoint and/or changes the comment. Always sends
    /// `providerName: AWS`, which Atlas requires.
    pub async fn update_serverless_endpoint(
        &self,
        group: &str,
        instance: &str,
        id: &str,
        cloud_provider_endpoint_id: Option<&str>,
        comment: Option<&str>,
    ) -> Result<ServerlessEndpoint, AtlasError> {
        let path = format!("{}/{}", serverless_endpoints_path(group, instance), seg(id));
        let mut body = json!({ "providerName": AWS });
        if let Some(vpce) = cloud_provider_endpoint_id {
            body["cloudProviderEndpointId"] = json!(vpce);
        }
        if let Some(c) = comment {
            body["comment"] = json!(c);
        }
        let Some(vpce) = cloud_provider_endpoint_id else {
            let reply = self.send(Method::PATCH, &path, Some(&body)).await?;
            return expect(reply, &[StatusCode::OK], "PATCH", &path);
        };
        // A link Atlas may have made despite its answer is read back: it
        // holds the cloud endpoint id once made, and a second PATCH could
        // be refused (the id cannot change once AVAILABLE).
        let link = || async {
            let reply = self
                .send_how(Method::PATCH, &path, Some(&body), CREATE)
                .await?;
            expect(reply, &[StatusCode::OK], "PATCH", &path)
        };
        let find = || async {
            let found = self.get_serverless_endpoint(group, instance, id).await?;
            Ok(found.filter(|e| e.cloud_provider_endpoint_id.as_deref() == Some(vpce)))
        };
        let what = format!("the link of {vpce} to private endpoint {id}");
        let first = confirm::FirstConflict::Theirs;
        confirm::create_confirmed(&self.inner.options, &what, first, link, find).await
    }

    /// Deletes a serverless private endpoint; already gone counts as done.
    pub async fn delete_serverless_endpoint(
        &self,
        group: &str,
        instance: &str,
        id: &str,
    ) -> Result<(), AtlasError> {
        let path = format!("{}/{}", serverless_endpoints_path(group, instance), seg(id));
        let reply = self.send(Method::DELETE, &path, None).await?;
        if serverless_endpoint_missing(&reply) {
            return Ok(());
        }
        expect_empty(reply, "DELETE", &path)
    }

    /// A serverless instance; `None` if it does not exist.
    pub async fn get_serverless_instance(
        &self,
        group: &str,
        name: &str,
    ) -> Result<Option<ServerlessInstance>, AtlasError> {
        let path = format!("{V2}/groups/{}/serverless/{}", seg(group), seg(name));
        let reply = self.send(Method::GET, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(None);
        }
        expect::<types::wire::ServerlessInstance>(reply, &[StatusCode::OK], "GET", &path)
            .map(|w| Some(w.into()))
    }

    // ----- dedicated clusters: endpoint services --------------------------

    /// All AWS endpoint services of the project.
    pub async fn list_endpoint_services(
        &self,
        group: &str,
    ) -> Result<Vec<EndpointService>, AtlasError> {
        let path = format!(
            "{V2}/groups/{}/privateEndpoint/{AWS}/endpointService",
            seg(group)
        );
        let reply = self.send(Method::GET, &path, None).await?;
        expect_list(reply, "GET", &path)
    }

    /// One AWS endpoint service; `None` if it does not exist.
    pub async fn get_endpoint_service(
        &self,
        group: &str,
        id: &str,
    ) -> Result<Option<EndpointService>, AtlasError> {
        let path = endpoint_service_path(group, id);
        let reply = self.send(Method::GET, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(None);
        }
        expect(reply, &[StatusCode::OK], "GET", &path).map(Some)
    }

    /// Creates the project's AWS endpoint service in `region` (AWS style,
    /// e.g. `us-east-1`). Atlas answers 201 (the spec says 200); both work.
    /// A service this call made although its answer was lost (a `5xx`, a
    /// timeout, or a `409` after those) is read back and returned as made; a
    /// `409` to the first attempt (the region had a service before) is
    /// Atlas's error, for the caller to decide about.
    pub async fn create_endpoint_service(
        &self,
        group: &str,
        region: &str,
    ) -> Result<EndpointService, AtlasError> {
        let path = format!("{V2}/groups/{}/privateEndpoint/endpointService", seg(group));
        let body = json!({ "providerName": AWS, "region": region });
        let create = || async {
            let reply = self
                .send_how(Method::POST, &path, Some(&body), CREATE)
                .await?;
            expect(reply, &[StatusCode::OK, StatusCode::CREATED], "POST", &path)
        };
        // Atlas allows one service per project and region: after a lost
        // answer or a 409 (PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION)
        // the region's service, unless on its way out, is the one.
        let find = || async {
            let list = self.list_endpoint_services(group).await?;
            let wanted = atlas_region(region);
            Ok(list
                .into_iter()
                .find(|s| s.region_name == wanted && s.status != "DELETING"))
        };
        let what = format!("the endpoint service for AWS {region}");
        let first = confirm::FirstConflict::Theirs;
        confirm::create_confirmed(&self.inner.options, &what, first, create, find).await
    }

    /// Deletes an endpoint service (Atlas answers 202 `{}`, the spec says
    /// 204); already gone counts as done.
    pub async fn delete_endpoint_service(&self, group: &str, id: &str) -> Result<(), AtlasError> {
        let path = endpoint_service_path(group, id);
        let reply = self.send(Method::DELETE, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(());
        }
        expect_empty(reply, "DELETE", &path)
    }

    // ----- dedicated clusters: interface endpoints ------------------------

    /// Registers the AWS VPC endpoint `vpce_id` with an endpoint service;
    /// an interface endpoint Atlas holds already for it (made by a create
    /// whose answer was lost, or by an earlier run) is returned as made.
    pub async fn create_interface_endpoint(
        &self,
        group: &str,
        service_id: &str,
        vpce_id: &str,
    ) -> Result<InterfaceEndpoint, AtlasError> {
        let path = format!("{}/endpoint", endpoint_service_path(group, service_id));
        let body = json!({ "cloudProvider": AWS, "id": vpce_id });
        let create = || async {
            let reply = self
                .send_how(Method::POST, &path, Some(&body), CREATE)
                .await?;
            expect(reply, &[StatusCode::OK, StatusCode::CREATED], "POST", &path)
        };
        // The interface endpoint's id is the cloud endpoint's: after a lost
        // answer or a 409 (whatever its error code), it exists or not.
        let find = || self.get_interface_endpoint(group, service_id, vpce_id);
        let what = format!("interface endpoint {vpce_id}");
        let first = confirm::FirstConflict::Ours;
        confirm::create_confirmed(&self.inner.options, &what, first, create, find).await
    }

    /// One interface endpoint; `None` if it (or its service) does not exist.
    pub async fn get_interface_endpoint(
        &self,
        group: &str,
        service_id: &str,
        vpce_id: &str,
    ) -> Result<Option<InterfaceEndpoint>, AtlasError> {
        let path = interface_endpoint_path(group, service_id, vpce_id);
        let reply = self.send(Method::GET, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(None);
        }
        expect(reply, &[StatusCode::OK], "GET", &path).map(Some)
    }

    /// Deletes an interface endpoint; already gone counts as done. Atlas
    /// removes the endpoint service together with its last endpoint.
    pub async fn delete_interface_endpoint(
        &self,
        group: &str,
        service_id: &str,
        vpce_id: &str,
    ) -> Result<(), AtlasError> {
        let path = interface_endpoint_path(group, service_id, vpce_id);
        let reply = self.send(Method::DELETE, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(());
        }
        expect_empty(reply, "DELETE", &path)
    }

    // ----- dedicated clusters: connection strings -------------------------

    /// All clusters of the project with their private endpoint connection
    /// strings, following pagination.
    pub async fn list_clusters(&self, group: &str) -> Result<Vec<Cluster>, AtlasError> {
        const PER_PAGE: usize = 100;
        const MAX_PAGES: usize = 1000;
        let base = format!("{V2}/groups/{}/clusters", seg(group));
        let mut clusters = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = format!("{base}?pageNum={page}&itemsPerPage={PER_PAGE}&includeCount=true");
            let how = How {
                media_type: CLUSTERS_MEDIA_TYPE,
                retry: Retry::Always,
            };
            let reply = self.send_how(Method::GET, &path, None, how).await?;
            let page_body: types::wire::Page<types::wire::Cluster> =
                expect(reply, &[StatusCode::OK], "GET", &base)?;
            let last = page_body.is_last(PER_PAGE, clusters.len() + page_body.results.len());
            clusters.extend(page_body.results.into_iter().map(Cluster::from));
            if last {
                break;
            }
        }
        Ok(clusters)
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Reply, AtlasError> {
        self.send_how(method, path_and_query, body, How::DEFAULT)
            .await
    }

    async fn send_how(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        how: How<'_>,
    ) -> Result<Reply, AtlasError> {
        self.inner.call(method, path_and_query, body, how).await
    }
}

/// Reads the base URL and credentials through `var` (the environment in
/// production, a map in tests).
fn credentials_from(
    var: impl Fn(&str) -> Option<String>,
) -> Result<(String, Credentials), AtlasError> {
    let base_url = var("MONGODB_ATLAS_BASE_URL")
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let credentials = credentials_in(var)?.ok_or_else(missing_credentials)?;
    Ok((base_url, credentials))
}

/// The credentials `var` holds: a service account wins when both pairs are
/// set; `None` when neither is; an error naming the missing half of a pair.
/// Blank values count as unset.
pub fn credentials_in(
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, AtlasError> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let pair = |a: &str, b: &str| match (get(a), get(b)) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(AtlasError::Config(format!("{a} is set but {b} is not"))),
        (None, Some(_)) => Err(AtlasError::Config(format!("{b} is set but {a} is not"))),
    };
    if let Some((client_id, client_secret)) =
        pair("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET")?
    {
        return Ok(Some(Credentials::ServiceAccount {
            client_id,
            client_secret,
        }));
    }
    Ok(
        pair("MONGODB_ATLAS_PUBLIC_KEY", "MONGODB_ATLAS_PRIVATE_KEY")?.map(
            |(public_key, private_key)| Credentials::Digest {
                public_key,
                private_key,
            },
        ),
    )
}

/// The error for an environment that holds neither pair of credentials.
pub fn missing_credentials() -> AtlasError {
    AtlasError::Config(
        "no Atlas credentials: set MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY (API key) \
         or MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET (service account)"
            .to_owned(),
    )
}

// ----- paths -------------------------------------------------------------

/// Percent-encodes one path segment (everything but RFC 3986 unreserved
/// characters), so that ids can never change the path's shape.
fn seg(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn serverless_endpoints_path(group: &str, instance: &str) -> String {
    format!(
        "{V2}/groups/{}/privateEndpoint/serverless/instance/{}/endpoint",
        seg(group),
        seg(instance)
    )
}

fn endpoint_service_path(group: &str, id: &str) -> String {
    format!(
        "{V2}/groups/{}/privateEndpoint/{AWS}/endpointService/{}",
        seg(group),
        seg(id)
    )
}

fn interface_endpoint_path(group: &str, service_id: &str, vpce_id: &str) -> String {
    format!(
        "{}/endpoint/{}",
        endpoint_service_path(group, service_id),
        seg(vpce_id)
    )
}

// ----- answers -------------------------------------------------------------

fn error_code(reply: &Reply) -> Option<String> {
    ErrorEnvelope::parse(&reply.body).and_then(|e| e.error_code)
}

/// An answer that is about the project itself rather than the resource
/// asked for.
fn project_missing(reply: &Reply) -> bool {
    matches!(
        error_code(reply).as_deref(),
        Some("GROUP_NOT_FOUND" | "INVALID_GROUP_ID")
    )
}

/// An answer that is about the project or the serverless instance rather
/// than the endpoint asked for.
fn parent_missing(reply: &Reply) -> bool {
    project_missing(reply) || error_code(reply).as_deref() == Some("SERVERLESS_INSTANCE_NOT_FOUND")
}

/// The endpoint does not exist: 404 (unless the project or instance is what
/// is missing), or 400 with `TENANT_PRIVATE_ENDPOINT_NOT_FOUND` or without an
/// error code (Terraform also reads a 400 as "deleted").
fn serverless_endpoint_missing(reply: &Reply) -> bool {
    let code = error_code(reply);
    match reply.status {
        StatusCode::NOT_FOUND => !parent_missing(reply),
        StatusCode::BAD_REQUEST => {
            matches!(
                code.as_deref(),
                None | Some("TENANT_PRIVATE_ENDPOINT_NOT_FOUND")
            )
        }
        _ => false,
    }
}

fn expect<T: DeserializeOwned>(
    reply: Reply,
    ok: &[StatusCode],
    method: &str,
    path_and_query: &str,
) -> Result<T, AtlasError> {
    let path = path_and_query.split('?').next().unwrap_or(path_and_query);
    if !ok.contains(&reply.status) {
        return Err(error::api_error(
            reply.status.as_u16(),
            &reply.body,
            method,
            path,
        ));
    }
    serde_json::from_slice(&reply.body).map_err(|e| AtlasError::Decode {
        status: reply.status.as_u16(),
        method: method.to_owned(),
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// A list answer: a bare JSON array (what these endpoints return) or a
/// paginated `{results: [...]}` object.
fn expect_list<T: DeserializeOwned>(
    reply: Reply,
    method: &str,
    path: &str,
) -> Result<Vec<T>, AtlasError> {
    let status = reply.status.as_u16();
    let value: Value = expect(reply, &[StatusCode::OK], method, path)?;
    let items = match value {
        Value::Array(items) => Value::Array(items),
        Value::Object(mut map) => map.remove("results").unwrap_or(Value::Array(Vec::new())),
        Value::Null => Value::Array(Vec::new()),
        other => other,
    };
    serde_json::from_value(items).map_err(|e| AtlasError::Decode {
        status,
        method: method.to_owned(),
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// A delete answer: any 2xx, with or without a body.
fn expect_empty(reply: Reply, method: &str, path: &str) -> Result<(), AtlasError> {
    if reply.status.is_success() {
        Ok(())
    } else {
        Err(error::api_error(
            reply.status.as_u16(),
            &reply.body,
            method,
            path,
        ))
    }
}

// ----- wait classification ------------------------------------------------

fn failure_message(error_message: Option<&str>, what: &str, status: &str) -> String {
    match error_message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!("{what} is {status}: {m}"),
        None => format!("{what} is {status} (Atlas gave no error message)"),
    }
}

fn classify_serverless(
    found: Option<ServerlessEndpoint>,
    target: ServerlessTarget,
) -> Poll<Option<ServerlessEndpoint>> {
    let Some(endpoint) = found else {
        return match target {
            ServerlessTarget::Gone => Poll::Ready(None),
            _ => Poll::Failed("the Atlas private endpoint no longer exists".to_owned()),
        };
    };
    let status = endpoint.status.as_str();
    match (target, status) {
        (_, "FAILED") => Poll::Failed(failure_message(
            endpoint.error_message.as_deref(),
            "the Atlas private endpoint",
            status,
        )),
        (ServerlessTarget::Gone, _) => Poll::Pending(status.to_owned()),
        (_, "DELETING") => {
            Poll::Failed("the Atlas private endpoint is being deleted (DELETING)".to_owned())
        }
        (ServerlessTarget::Reserved, "RESERVED" | "INITIATING" | "AVAILABLE") => {
            if endpoint.reserved() {
                Poll::Ready(Some(endpoint))
            } else {
                Poll::Pending(format!("{status}, endpointServiceName not yet set"))
            }
        }
        (ServerlessTarget::Available, "AVAILABLE") => Poll::Ready(Some(endpoint)),
        _ => Poll::Pending(status.to_owned()),
    }
}

fn classify_service(
    found: Option<EndpointService>,
    target: ServiceTarget,
) -> Poll<Option<EndpointService>> {
    let Some(service) = found else {
        return match target {
            ServiceTarget::Gone => Poll::Ready(None),
            ServiceTarget::Ready => {
                Poll::Failed("the Atlas endpoint service no longer exists".to_owned())
            }
        };
    };
    let status = service.status.as_str();
    match (target, status) {
        (_, "FAILED") => Poll::Failed(failure_message(
            service.error_message.as_deref(),
            "the Atlas endpoint service",
            status,
        )),
        (ServiceTarget::Gone, _) => Poll::Pending(status.to_owned()),
        (ServiceTarget::Ready, "DELETING") => {
            Poll::Failed("the Atlas endpoint service is being deleted (DELETING)".to_owned())
        }
        (ServiceTarget::Ready, "AVAILABLE" | "WAITING_FOR_USER") => {
            if service.endpoint_service_name.is_some() {
                Poll::Ready(Some(service))
            } else {
                Poll::Pending(format!("{status}, endpointServiceName not yet set"))
            }
        }
        _ => Poll::Pending(status.to_owned()),
    }
}

/// The state a wait reports for an interface endpoint: its
/// `connectionStatus`, and Atlas's `errorMessage` when it has one.
fn interface_state(endpoint: &InterfaceEndpoint) -> String {
    match error_text(endpoint) {
        Some(m) => format!("{}: {m}", endpoint.connection_status),
        None => endpoint.connection_status.clone(),
    }
}

/// A non-blank `errorMessage`.
fn error_text(endpoint: &InterfaceEndpoint) -> Option<&str> {
    endpoint
        .error_message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
}

/// Since when a wait has seen one interface endpoint stuck: not final, with
/// the same `errorMessage` (Atlas leaves such an endpoint so, e.g. "Failed to
/// accept interface endpoint ... idempotent operation going on").
#[derive(Default)]
struct StuckSince(Option<(String, tokio::time::Instant)>);

impl StuckSince {
    /// Turns a pending poll whose state carries an error into a failure once
    /// the same error has lasted [`crate::limits::ATLAS_STUCK_ERROR_GRACE`].
    fn judge(
        &mut self,
        poll: Poll<Option<InterfaceEndpoint>>,
        now: tokio::time::Instant,
    ) -> Poll<Option<InterfaceEndpoint>> {
        let Poll::Pending(state) = &poll else {
            self.0 = None;
            return poll;
        };
        if !state.contains(": ") {
            self.0 = None;
            return poll;
        }
        let since = match &self.0 {
            Some((seen, at)) if seen == state => *at,
            _ => {
                self.0 = Some((state.clone(), now));
                now
            }
        };
        if now.duration_since(since) >= crate::limits::ATLAS_STUCK_ERROR_GRACE {
            return Poll::Failed(format!(
                "the Atlas interface endpoint is stuck in {state} (for {} s)",
                now.duration_since(since).as_secs()
            ));
        }
        poll
    }
}

fn classify_interface(
    found: Option<InterfaceEndpoint>,
    target: InterfaceTarget,
) -> Poll<Option<InterfaceEndpoint>> {
    let Some(endpoint) = found else {
        return match target {
            InterfaceTarget::Gone => Poll::Ready(None),
            InterfaceTarget::Available => {
                Poll::Failed("the Atlas interface endpoint no longer exists".to_owned())
            }
        };
    };
    let status = endpoint.connection_status.as_str();
    let failed = matches!(status, "REJECTED" | "FAILED");
    match target {
        // Once a delete was requested, a rejected or failed endpoint is on
        // its way out; only an endpoint nobody asked to delete is stuck.
        InterfaceTarget::Gone if !failed || endpoint.delete_requested => {
            Poll::Pending(status.to_owned())
        }
        _ if failed => Poll::Failed(failure_message(
            endpoint.error_message.as_deref(),
            "the Atlas interface endpoint",
            status,
        )),
        InterfaceTarget::Available if status == "AVAILABLE" => Poll::Ready(Some(endpoint)),
        InterfaceTarget::Available if status == "DELETING" || endpoint.delete_requested => {
            Poll::Failed("the Atlas interface endpoint is being deleted".to_owned())
        }
        InterfaceTarget::Available => Poll::Pending(interface_state(&endpoint)),
        InterfaceTarget::Gone => Poll::Pending(status.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_credentials() {
        let err = credentials_from(env(&[])).unwrap_err().to_string();
        for var in [
            "MONGODB_ATLAS_PUBLIC_KEY",
            "MONGODB_ATLAS_PRIVATE_KEY",
            "MONGODB_ATLAS_CLIENT_ID",
            "MONGODB_ATLAS_CLIENT_SECRET",
        ] {
            assert!(err.contains(var), "{err}");
        }
        let (url, creds) = credentials_from(env(&[
            ("MONGODB_ATLAS_PUBLIC_KEY", "pub"),
            ("MONGODB_ATLAS_PRIVATE_KEY", "priv"),
        ]))
        .unwrap();
        assert_eq!(url, DEFAULT_BASE_URL);
        assert!(matches!(creds, Credentials::Digest { .. }));
        let (url, creds) = credentials_from(env(&[
            ("MONGODB_ATLAS_BASE_URL", "http://127.0.0.1:9"),
            ("MONGODB_ATLAS_CLIENT_ID", "id"),
            ("MONGODB_ATLAS_CLIENT_SECRET", "sec"),
            ("MONGODB_ATLAS_PUBLIC_KEY", "pub"),
            ("MONGODB_ATLAS_PRIVATE_KEY", "priv"),
        ]))
        .unwrap();
        assert_eq!(url, "http://127.0.0.1:9");
        assert!(matches!(creds, Credentials::ServiceAccount { .. }));
        let err = credentials_from(env(&[("MONGODB_ATLAS_PUBLIC_KEY", "pub")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("MONGODB_ATLAS_PRIVATE_KEY"), "{err}");
        assert!(!err.contains("pub\""));
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let c = Credentials::Digest {
            public_key: "PUBLICKEY1".into(),
            private_key: "s3cr3t-private".into(),
        };
        let text = format!("{c:?}");
        assert!(
            !text.contains("PUBLICKEY1") && !text.contains("s3cr3t"),
            "{text}"
        );
        let c = Credentials::ServiceAccount {
            client_id: "mdb_sa_id_1".into(),
            client_secret: "mdb_sa_sk_2".into(),
        };
        let client =
            AtlasClient::new("http://127.0.0.1:1", c.clone(), ClientOptions::default()).unwrap();
        for text in [format!("{c:?}"), format!("{client:?}")] {
            assert!(!text.contains("mdb_sa"), "{text}");
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("vpce-0123abc"), "vpce-0123abc");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(
            interface_endpoint_path("0123456789abcdef01234567", "s1", "vpce-1"),
            "/api/atlas/v2/groups/0123456789abcdef01234567/privateEndpoint/AWS/endpointService/s1/endpoint/vpce-1"
        );
    }

    fn endpoint(status: &str, name: Option<&str>, error: Option<&str>) -> ServerlessEndpoint {
        ServerlessEndpoint {
            id: "0123456789abcdef01234567".into(),
            cloud_provider_endpoint_id: None,
            comment: None,
            endpoint_service_name: name.map(str::to_owned),
            error_message: error.map(str::to_owned),
            status: status.into(),
            provider_name: None,
            private_link_service_resource_id: None,
            private_endpoint_ip_address: None,
        }
    }

    #[test]
    fn serverless_classification() {
        use ServerlessTarget::*;
        let svc = Some("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0");
        assert!(matches!(
            classify_serverless(
                Some(endpoint("RESERVATION_REQUESTED", None, None)),
                Reserved
            ),
            Poll::Pending(_)
        ));
        assert!(matches!(
            classify_serverless(Some(endpoint("RESERVED", None, None)), Reserved),
            Poll::Pending(_)
        ));
        assert!(matches!(
            classify_serverless(Some(endpoint("RESERVED", svc, None)), Reserved),
            Poll::Ready(Some(_))
        ));
        assert!(matches!(
            classify_serverless(Some(endpoint("INITIATING", svc, None)), Available),
            Poll::Pending(_)
        ));
        assert_eq!(
            classify_serverless(Some(endpoint("FAILED", svc, Some("no vpce"))), Available),
            Poll::Failed("the Atlas private endpoint is FAILED: no vpce".into())
        );
        assert!(matches!(
            classify_serverless(Some(endpoint("FAILED", svc, None)), Reserved),
            Poll::Failed(m) if m.contains("FAILED")
        ));
        assert!(matches!(classify_serverless(None, Gone), Poll::Ready(None)));
        assert!(matches!(
            classify_serverless(None, Available),
            Poll::Failed(_)
        ));
        assert!(matches!(
            classify_serverless(Some(endpoint("DELETING", svc, None)), Gone),
            Poll::Pending(s) if s == "DELETING"
        ));
        assert!(matches!(
            classify_serverless(Some(endpoint("DELETING", svc, None)), Available),
            Poll::Failed(_)
        ));
    }

    #[test]
    fn interface_classification() {
        let ie = |status: &str, deleting: bool| InterfaceEndpoint {
            interface_endpoint_id: "vpce-1".into(),
            connection_status: status.into(),
            error_message: Some("rejected by AWS".into()),
            delete_requested: deleting,
        };
        use InterfaceTarget::*;
        assert!(matches!(
            classify_interface(Some(ie("PENDING", false)), Available),
            Poll::Pending(_)
        ));
        assert!(matches!(
            classify_interface(Some(ie("AVAILABLE", false)), Available),
            Poll::Ready(_)
        ));
        assert_eq!(
            classify_interface(Some(ie("REJECTED", false)), Available),
            Poll::Failed("the Atlas interface endpoint is REJECTED: rejected by AWS".into())
        );
        assert!(matches!(
            classify_interface(Some(ie("REJECTED", false)), Gone),
            Poll::Failed(_)
        ));
        assert!(matches!(
            classify_interface(Some(ie("REJECTED", true)), Gone),
            Poll::Pending(_)
        ));
        assert!(matches!(
            classify_interface(Some(ie("DELETING", true)), Gone),
            Poll::Pending(_)
        ));
        assert!(matches!(classify_interface(None, Gone), Poll::Ready(None)));
    }

    #[test]
    fn a_stuck_interface_endpoint_is_shown_then_failed() {
        let stuck = InterfaceEndpoint {
            interface_endpoint_id: "vpce-1".into(),
            connection_status: "PENDING".into(),
            error_message: Some(
                "Failed to accept interface endpoint vpce-1 for endpoint service s : idempotent operation going on".into(),
            ),
            delete_requested: false,
        };
        let poll = classify_interface(Some(stuck.clone()), InterfaceTarget::Available);
        assert!(
            matches!(&poll, Poll::Pending(s) if s.starts_with("PENDING: Failed to accept")),
            "{poll:?}"
        );
        let mut since = StuckSince::default();
        let t0 = tokio::time::Instant::now();
        assert!(matches!(since.judge(poll.clone(), t0), Poll::Pending(_)));
        let later = t0 + crate::limits::ATLAS_STUCK_ERROR_GRACE;
        assert!(
            matches!(since.judge(poll.clone(), later), Poll::Failed(m) if m.contains("idempotent operation going on")),
        );
        // Without an error, or once it clears, the wait goes on.
        let mut since = StuckSince::default();
        let plain = Poll::Pending("PENDING".to_owned());
        assert!(matches!(since.judge(plain.clone(), t0), Poll::Pending(_)));
        assert!(matches!(since.judge(plain, later), Poll::Pending(_)));
        let mut since = StuckSince::default();
        since.judge(poll.clone(), t0);
        since.judge(Poll::Pending("PENDING".into()), t0);
        assert!(matches!(since.judge(poll, later), Poll::Pending(_)));
    }

    #[test]
    fn service_classification() {
        let s = |status: &str, name: Option<&str>| EndpointService {
            id: "x".into(),
            cloud_provider: Some("AWS".into()),
            region_name: "US_EAST_1".into(),
            endpoint_service_name: name.map(str::to_owned),
            interface_endpoints: vec![],
            status: status.into(),
            error_message: None,
        };
        use ServiceTarget::*;
        assert!(matches!(
            classify_service(Some(s("INITIATING", None)), Ready),
            Poll::Pending(_)
        ));
        assert!(matches!(
            classify_service(Some(s("AVAILABLE", None)), Ready),
            Poll::Pending(_)
        ));
        assert!(matches!(
            classify_service(Some(s("AVAILABLE", Some("n"))), Ready),
            Poll::Ready(_)
        ));
        assert!(matches!(
            classify_service(Some(s("WAITING_FOR_USER", Some("n"))), Ready),
            Poll::Ready(_)
        ));
        assert!(matches!(
            classify_service(Some(s("FAILED", None)), Ready),
            Poll::Failed(_)
        ));
        assert!(matches!(classify_service(None, Gone), Poll::Ready(None)));
        assert!(matches!(
            classify_service(Some(s("DELETING", None)), Gone),
            Poll::Pending(_)
        ));
    }
}
