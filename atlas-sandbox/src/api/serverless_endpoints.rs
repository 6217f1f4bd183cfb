//! Handlers of serverless private endpoints
//! (`/groups/{groupId}/privateEndpoint/serverless/instance/{instanceName}/endpoint`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::guards::{Checked, InstancePath, TenantEndpointPath};
use crate::context::ApiContext;
use crate::errors::ApiError;
use crate::model::TenantUpdate;
use crate::reply::{Reply, json_object, opt_string};
use crate::state::{AppState, lock};
use crate::views;

type Shared = State<Arc<AppState>>;

/// `GET .../instance/{instanceName}/endpoint`: every private endpoint of the instance.
pub async fn list_serverless_endpoints(
    State(app): Shared,
    Checked(path): Checked<InstancePath>,
) -> Result<Reply, ApiError> {
    let store = lock(&app.store);
    let list = store
        .tenant_endpoints(&path.group, &path.instance)?
        .into_iter()
        .map(views::tenant_endpoint)
        .collect();
    Ok(Reply::ok(Value::Array(list)))
}

/// `POST .../instance/{instanceName}/endpoint`: reserves a private endpoint.
pub async fn create_serverless_endpoint(
    State(app): Shared,
    ctx: ApiContext,
    Checked(path): Checked<InstancePath>,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let body = json_object(&body)?;
    let mut store = lock(&app.store);
    store.serverless_instance(&path.group, &path.instance)?;
    let comment = opt_string(&body, "comment")?;
    let e = store.create_tenant_endpoint(&path.group, &path.instance, comment, ctx.now)?;
    Ok(Reply::with_status(
        StatusCode::CREATED,
        views::tenant_endpoint(&e),
    ))
}

/// `GET .../instance/{instanceName}/endpoint/{endpointId}`.
pub async fn get_serverless_endpoint(
    State(app): Shared,
    Checked(path): Checked<TenantEndpointPath>,
) -> Result<Reply, ApiError> {
    let store = lock(&app.store);
    let e = store.tenant_endpoint(&path.group, &path.instance, &path.id)?;
    Ok(Reply::ok(views::tenant_endpoint(e)))
}

/// `PATCH .../instance/{instanceName}/endpoint/{endpointId}`: links the reserved endpoint to a
/// cloud endpoint, or changes its comment.
pub async fn update_serverless_endpoint(
    State(app): Shared,
    ctx: ApiContext,
    Checked(path): Checked<TenantEndpointPath>,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let body = json_object(&body)?;
    let mut store = lock(&app.store);
    store.tenant_endpoint(&path.group, &path.instance, &path.id)?;
    let update = TenantUpdate {
        provider_name: opt_string(&body, "providerName")?,
        cloud_provider_endpoint_id: opt_string(&body, "cloudProviderEndpointId")?,
        comment: opt_string(&body, "comment")?,
        private_endpoint_ip: opt_string(&body, "privateEndpointIpAddress")?,
    };
    let e = store.update_tenant_endpoint(&path.group, &path.instance, &path.id, update, ctx.now)?;
    Ok(Reply::ok(views::tenant_endpoint(&e)))
}

/// `DELETE .../instance/{instanceName}/endpoint/{endpointId}`.
pub async fn delete_serverless_endpoint(
    State(app): Shared,
    ctx: ApiContext,
    Checked(path): Checked<TenantEndpointPath>,
) -> Result<Reply, ApiError> {
    let mut store = lock(&app.store);
    store.delete_tenant_endpoint(&path.group, &path.instance, &path.id, ctx.now)?;
    Ok(Reply::no_content())
}
