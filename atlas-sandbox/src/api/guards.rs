//! Path guards: the checks every method of a route makes on its path parameters before
//! anything else (the project id and its existence, names, ids, the cloud provider), shared by
//! the route's handlers and by its method-not-allowed answer, and the answer for paths under
//! `/api/atlas` that match no route.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};

use crate::errors::ApiError;
use crate::ids;
use crate::model::{Cloud, EndpointService, ModelError, Store};
use crate::negotiation::{segments, split_api_path};
use crate::state::{AppState, lock};

type Params = HashMap<String, String>;

/// Checks a route's path parameters against the store.
pub trait PathGuard: Sized + Send + 'static {
    /// The checked parameters, or the error every method of the route answers.
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError>;
}

/// Extractor running the guard `G` on the request's path parameters.
pub struct Checked<G>(pub G);

impl<G: PathGuard> FromRequestParts<Arc<AppState>> for Checked<G> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, ApiError> {
        let Path(params) = Path::<Params>::from_request_parts(parts, app)
            .await
            .map_err(|e| ApiError::bad_request("INVALID_PATH", e.body_text()))?;
        let store = lock(&app.store);
        G::check(&store, &params).map(Checked)
    }
}

fn param(params: &Params, name: &str) -> String {
    params.get(name).cloned().unwrap_or_default()
}

/// Fails with `INVALID_ATTRIBUTE` unless `name` is a valid deployment name.
pub fn check_name(kind: &str, name: &str) -> Result<(), ApiError> {
    if ids::is_deployment_name(name) {
        Ok(())
    } else {
        Err(ApiError::invalid_attribute(kind, name))
    }
}

/// Fails with `INVALID_ATTRIBUTE` unless `id` is a 24-hex-digit object id.
pub fn check_object_id(kind: &str, id: &str) -> Result<(), ApiError> {
    if ids::is_object_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid_attribute(kind, id))
    }
}

fn check_group(store: &Store, group: &str) -> Result<(), ApiError> {
    check_object_id("groupId", group)?;
    store.project(group)?;
    Ok(())
}

/// The cloud of a provider path segment (`None` for GCP, which has no services here); fails
/// for anything but `AWS`, `AZURE`, `GCP`.
fn check_provider(provider: &str) -> Result<Option<Cloud>, ApiError> {
    match provider {
        "AWS" => Ok(Some(Cloud::Aws)),
        "AZURE" => Ok(Some(Cloud::Azure)),
        "GCP" => Ok(None),
        _ => Err(ApiError::invalid_attribute("cloudProvider", provider)),
    }
}

/// The endpoint service `id` of `group` when it is of `cloud`; a service of another cloud is
/// missing under this path.
pub fn service_of<'a>(
    store: &'a Store,
    group: &str,
    id: &str,
    cloud: Cloud,
) -> Result<&'a EndpointService, ApiError> {
    match store.service(group, id) {
        Ok(s) if s.cloud == cloud => Ok(s),
        Ok(_) => Err(service_missing(group, id)),
        Err(e) => Err(e.into()),
    }
}

/// The answer for an endpoint service of a provider this sandbox keeps none for.
fn service_missing(group: &str, id: &str) -> ApiError {
    ModelError::ServiceNotFound {
        project: group.to_string(),
        id: id.to_string(),
    }
    .into()
}

/// `/groups/{groupId}/...`: a valid id of an existing project.
pub struct GroupPath {
    /// The project id.
    pub group: String,
}

impl PathGuard for GroupPath {
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError> {
        let group = param(params, "groupId");
        check_group(store, &group)?;
        Ok(Self { group })
    }
}

/// `/groups/{groupId}/privateEndpoint/serverless/instance/{instanceName}/endpoint`.
pub struct InstancePath {
    /// The project id.
    pub group: String,
    /// The serverless instance's name (valid, not necessarily existing).
    pub instance: String,
}

impl PathGuard for InstancePath {
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError> {
        let GroupPath { group } = GroupPath::check(store, params)?;
        let instance = param(params, "instanceName");
        check_name("instanceName", &instance)?;
        Ok(Self { group, instance })
    }
}

/// `/groups/{groupId}/privateEndpoint/serverless/instance/{instanceName}/endpoint/{endpointId}`.
pub struct TenantEndpointPath {
    /// The project id.
    pub group: String,
    /// The serverless instance's name.
    pub instance: String,
    /// The private endpoint's id (valid, not necessarily existing).
    pub id: String,
}

impl PathGuard for TenantEndpointPath {
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError> {
        let InstancePath { group, instance } = InstancePath::check(store, params)?;
        let id = param(params, "endpointId");
        check_object_id("endpointId", &id)?;
        Ok(Self {
            group,
            instance,
            id,
        })
    }
}

/// `/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService`.
pub struct ProviderPath {
    /// The project id.
    pub group: String,
    /// The provider's cloud (`None`: GCP, which has no services here).
    pub cloud: Option<Cloud>,
}

impl PathGuard for ProviderPath {
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError> {
        let GroupPath { group } = GroupPath::check(store, params)?;
        let cloud = check_provider(&param(params, "cloudProvider"))?;
        Ok(Self { group, cloud })
    }
}

/// `/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint`:
/// the service id is valid; the provider may still be one without services.
pub struct ServiceEndpointsPath {
    /// The project id.
    pub group: String,
    /// The provider's cloud.
    pub cloud: Option<Cloud>,
    /// The endpoint service's id.
    pub service: String,
}

impl ServiceEndpointsPath {
    /// The cloud, or a missing service for a provider without services.
    pub fn require_cloud(&self) -> Result<Cloud, ApiError> {
        self.cloud
            .ok_or_else(|| service_missing(&self.group, &self.service))
    }
}

impl PathGuard for ServiceEndpointsPath {
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError> {
        let ProviderPath { group, cloud } = ProviderPath::check(store, params)?;
        let service = param(params, "endpointServiceId");
        check_object_id("endpointServiceId", &service)?;
        Ok(Self {
            group,
            cloud,
            service,
        })
    }
}

/// `/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}` of
/// AWS or AZURE.
pub struct ServicePath {
    /// The project id.
    pub group: String,
    /// The endpoint service's id (valid, not necessarily existing).
    pub service: String,
    /// The provider's cloud.
    pub cloud: Cloud,
}

impl PathGuard for ServicePath {
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError> {
        let path = ServiceEndpointsPath::check(store, params)?;
        let cloud = path.require_cloud()?;
        Ok(Self {
            group: path.group,
            service: path.service,
            cloud,
        })
    }
}

/// `/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint/{endpointId}`
/// of AWS.
pub struct InterfaceEndpointPath {
    /// The project id.
    pub group: String,
    /// The endpoint service's id.
    pub service: String,
    /// The VPC endpoint id or (URL-decoded) Azure private endpoint resource id (valid, not
    /// necessarily existing).
    pub endpoint: String,
    /// The provider's cloud.
    pub cloud: Cloud,
}

impl PathGuard for InterfaceEndpointPath {
    fn check(store: &Store, params: &Params) -> Result<Self, ApiError> {
        let ServicePath {
            group,
            service,
            cloud,
        } = ServicePath::check(store, params)?;
        let mut endpoint = param(params, "endpointId");
        if cloud == Cloud::Azure {
            // The resource id arrives URL-encoded (`%2Fsubscriptions%2F...`).
            endpoint = percent_encoding::percent_decode_str(&endpoint)
                .decode_utf8_lossy()
                .into_owned();
        }
        let valid = match cloud {
            Cloud::Aws => ids::is_vpce_id(&endpoint),
            Cloud::Azure => ids::is_azure_private_endpoint_id(&endpoint),
        };
        if !valid {
            return Err(ApiError::invalid_attribute("endpointId", &endpoint));
        }
        Ok(Self {
            group,
            service,
            endpoint,
            cloud,
        })
    }
}

/// The answer for a method a route does not serve, after the route's guard `G` passed.
pub async fn method_not_allowed<G: PathGuard>(
    _: Checked<G>,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("Method {method} is not allowed on {}.", uri.path()),
    )
}

/// The answer for a path under `/api/atlas` that matches no route: the project part of the
/// path is still checked (and the cloud provider of `privateEndpoint/{cloudProvider}/
/// endpointService/...`) before `RESOURCE_NOT_FOUND`.
pub async fn unknown_resource(
    State(app): State<Arc<AppState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> ApiError {
    let path = uri.path();
    let rest = split_api_path(path).map_or("", |(_, rest)| rest);
    if let ["groups", group, rest @ ..] = segments(rest).as_slice()
        && !rest.is_empty()
    {
        if let Err(e) = check_group(&lock(&app.store), group) {
            return e;
        }
        if let ["privateEndpoint", provider, "endpointService", ..] = rest
            && let Err(e) = check_provider(provider)
        {
            return e;
        }
    }
    ApiError::resource_not_found(method.as_str(), path)
}
