//! Handlers of private endpoint services (`/groups/{groupId}/privateEndpoint/endpointService`
//! and `/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/...`) and of the
//! interface endpoints linked to them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::guards::{
    Checked, GroupPath, InterfaceEndpointPath, ProviderPath, ServiceEndpointsPath, ServicePath,
    service_of,
};
use crate::context::ApiContext;
use crate::errors::ApiError;
use crate::model::Cloud;
use crate::reply::{Reply, json_object, req_string};
use crate::state::{AppState, lock};
use crate::views;

type Shared = State<Arc<AppState>>;

/// `POST /groups/{groupId}/privateEndpoint/endpointService`.
pub async fn create_endpoint_service(
    State(app): Shared,
    ctx: ApiContext,
    Checked(GroupPath { group }): Checked<GroupPath>,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let body = json_object(&body)?;
    let provider = req_string(&body, "providerName")?;
    let region = req_string(&body, "region")?;
    let service = lock(&app.store).create_service(&group, &provider, &region, ctx.now)?;
    Ok(Reply::with_status(
        StatusCode::CREATED,
        views::endpoint_service(&service),
    ))
}

/// `GET .../{cloudProvider}/endpointService`: the project's services of that cloud (none
/// for GCP).
pub async fn list_endpoint_services(
    State(app): Shared,
    Checked(ProviderPath { group, cloud }): Checked<ProviderPath>,
) -> Result<Reply, ApiError> {
    let list = lock(&app.store)
        .services(&group)?
        .into_iter()
        .filter(|s| Some(s.cloud) == cloud)
        .map(views::endpoint_service)
        .collect();
    Ok(Reply::ok(Value::Array(list)))
}

/// `GET .../{cloudProvider}/endpointService/{endpointServiceId}`.
pub async fn get_endpoint_service(
    State(app): Shared,
    Checked(path): Checked<ServicePath>,
) -> Result<Reply, ApiError> {
    let store = lock(&app.store);
    let service = service_of(&store, &path.group, &path.service, path.cloud)?;
    Ok(Reply::ok(views::endpoint_service(service)))
}

/// `DELETE .../{cloudProvider}/endpointService/{endpointServiceId}`.
pub async fn delete_endpoint_service(
    State(app): Shared,
    ctx: ApiContext,
    Checked(path): Checked<ServicePath>,
) -> Result<Reply, ApiError> {
    let mut store = lock(&app.store);
    service_of(&store, &path.group, &path.service, path.cloud)?;
    store.delete_service(&path.group, &path.service, ctx.now)?;
    Ok(Reply::with_status(StatusCode::ACCEPTED, json!({})))
}

/// `POST .../{cloudProvider}/endpointService/{endpointServiceId}/endpoint`: links a VPC
/// endpoint (`{"id"}`) or an Azure private endpoint (`{"id", "privateEndpointIPAddress"}`) to
/// the service.
pub async fn create_interface_endpoint(
    State(app): Shared,
    ctx: ApiContext,
    Checked(path): Checked<ServiceEndpointsPath>,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let cloud = path.require_cloud()?;
    let body = json_object(&body)?;
    let mut store = lock(&app.store);
    service_of(&store, &path.group, &path.service, cloud)?;
    let id = req_string(&body, "id")?;
    let e = match cloud {
        Cloud::Aws => store.create_interface_endpoint(&path.group, &path.service, &id, ctx.now)?,
        Cloud::Azure => {
            let ip = req_string(&body, "privateEndpointIPAddress")?;
            store.create_azure_endpoint(&path.group, &path.service, &id, Some(&ip), ctx.now)?
        }
    };
    Ok(Reply::ok(views::interface_endpoint(&e)))
}

/// `GET .../endpointService/{endpointServiceId}/endpoint/{endpointId}`.
pub async fn get_interface_endpoint(
    State(app): Shared,
    Checked(path): Checked<InterfaceEndpointPath>,
) -> Result<Reply, ApiError> {
    let store = lock(&app.store);
    service_of(&store, &path.group, &path.service, path.cloud)?;
    let e = store.interface_endpoint(&path.group, &path.service, &path.endpoint)?;
    Ok(Reply::ok(views::interface_endpoint(e)))
}

/// `DELETE .../endpointService/{endpointServiceId}/endpoint/{endpointId}`.
pub async fn delete_interface_endpoint(
    State(app): Shared,
    ctx: ApiContext,
    Checked(path): Checked<InterfaceEndpointPath>,
) -> Result<Reply, ApiError> {
    let mut store = lock(&app.store);
    service_of(&store, &path.group, &path.service, path.cloud)?;
    store.delete_interface_endpoint(&path.group, &path.service, &path.endpoint, ctx.now)?;
    Ok(Reply::no_content())
}
