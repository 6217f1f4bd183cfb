//! The control API under `/__sandbox/`: the Private Link Services the service owner (Atlas)
//! registers, the approval or rejection of connections, a sandbox-side read of a private
//! endpoint with its network interface, realism settings, the request log and a state dump.
//! It needs no authentication and is not logged.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::key;
use crate::state::{AppState, lock};
use crate::views;

type Shared = State<Arc<AppState>>;

/// A control-API failure, answered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    status: StatusCode,
    message: String,
}

impl ControlError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn missing(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

type Result<T> = std::result::Result<T, ControlError>;

/// The control routes (mounted under `/__sandbox`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/state", get(state))
        .route("/privateLinkServices", put(put_service))
        .route("/privateLinkServices/{*id}", delete(delete_service))
        .route("/connections", put(put_connection))
        .route("/privateEndpoints/{*id}", get(get_endpoint))
        .route("/realism", get(get_realism).put(put_realism))
        .route("/requests", get(get_requests).delete(clear_requests))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| ControlError::bad(format!("invalid body: {e}")))
}

/// Every resource group, virtual network, endpoint, interface, service and operation.
async fn state(State(app): Shared) -> Json<Value> {
    let world = app.world();
    let endpoints: Vec<Value> = world
        .endpoints
        .values()
        .map(|pe| views::endpoint(pe, world.nics.contains_key(&key(&pe.nic_id))))
        .collect();
    Json(json!({
        "resourceGroups": world.groups.values().map(views::group).collect::<Vec<_>>(),
        "virtualNetworks": world.vnets.values().map(views::vnet).collect::<Vec<_>>(),
        "privateEndpoints": endpoints,
        "networkInterfaces": world.nics.values().map(views::nic).collect::<Vec<_>>(),
        "privateLinkServices": world.services.values().map(|(id, _)| id).collect::<Vec<_>>(),
        "operations": world.operations.values().collect::<Vec<_>>(),
        "realism": world.realism,
    }))
}

#[derive(Deserialize)]
struct ServiceBody {
    id: String,
    location: Option<String>,
}

/// `PUT /privateLinkServices {"id", "location"?}`: 201 when new, 200 when known.
async fn put_service(State(app): Shared, body: Bytes) -> Result<Response> {
    let body: ServiceBody = parse(&body)?;
    if !key(&body.id).contains("/providers/microsoft.network/privatelinkservices/") {
        return Err(ControlError::bad(format!(
            "{} is not a Microsoft.Network/privateLinkServices resource id",
            body.id
        )));
    }
    let created = app
        .world()
        .register_service(&body.id, body.location.as_deref());
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"id": body.id}))).into_response())
}

/// `DELETE /privateLinkServices/{id}`: its connections go Disconnected.
async fn delete_service(State(app): Shared, Path(id): Path<String>) -> Result<StatusCode> {
    let id = format!("/{}", id.trim_start_matches('/'));
    if app.world().unregister_service(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ControlError::missing(format!(
            "no private link service {id}"
        )))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionBody {
    private_endpoint_id: String,
    private_link_service_id: Option<String>,
    status: String,
    description: Option<String>,
}

/// `PUT /connections {"privateEndpointId", "privateLinkServiceId"?, "status", "description"?}`.
async fn put_connection(State(app): Shared, body: Bytes) -> Result<Json<Value>> {
    let body: ConnectionBody = parse(&body)?;
    let allowed = ["Approved", "Rejected", "Pending", "Disconnected"];
    if !allowed.contains(&body.status.as_str()) {
        return Err(ControlError::bad(format!(
            "status must be one of {allowed:?}, not {:?}",
            body.status
        )));
    }
    let description = body.description.unwrap_or_else(|| body.status.clone());
    let mut world = app.world();
    let pe = world
        .set_connection(
            &body.private_endpoint_id,
            body.private_link_service_id.as_deref(),
            &body.status,
            &description,
        )
        .map_err(|e| ControlError::missing(e.message))?
        .clone();
    Ok(Json(views::endpoint(
        &pe,
        world.nics.contains_key(&key(&pe.nic_id)),
    )))
}

/// `GET /privateEndpoints/{id}`: `{"privateEndpoint", "networkInterface"}` (null until it
/// exists), the service owner's view without a token.
async fn get_endpoint(State(app): Shared, Path(id): Path<String>) -> Result<Json<Value>> {
    let id = format!("/{}", id.trim_start_matches('/'));
    let world = app.world();
    let pe = world
        .endpoints
        .get(&key(&id))
        .ok_or_else(|| ControlError::missing(format!("no private endpoint {id}")))?;
    let nic = world.nics.get(&key(&pe.nic_id));
    Ok(Json(json!({
        "privateEndpoint": views::endpoint(pe, nic.is_some()),
        "networkInterface": nic.map(views::nic),
    })))
}

async fn get_realism(State(app): Shared) -> Json<Value> {
    Json(json!(app.world().realism))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RealismBody {
    provision_ms: Option<u64>,
    delete_ms: Option<u64>,
    page_size: Option<usize>,
    token_ttl_s: Option<u64>,
    fail_next: Option<u32>,
    fail_code: Option<String>,
    fail_message: Option<String>,
}

/// `PUT /realism` with any of the fields.
async fn put_realism(State(app): Shared, body: Bytes) -> Result<Json<Value>> {
    let body: RealismBody = parse(&body)?;
    let mut world = app.world();
    let r = &mut world.realism;
    r.provision_ms = body.provision_ms.unwrap_or(r.provision_ms);
    r.delete_ms = body.delete_ms.unwrap_or(r.delete_ms);
    r.page_size = body.page_size.unwrap_or(r.page_size);
    r.token_ttl_s = body.token_ttl_s.unwrap_or(r.token_ttl_s);
    r.fail_next = body.fail_next.unwrap_or(r.fail_next);
    r.fail_code = body.fail_code.unwrap_or_else(|| r.fail_code.clone());
    r.fail_message = body.fail_message.unwrap_or_else(|| r.fail_message.clone());
    Ok(Json(json!(world.realism)))
}

async fn get_requests(State(app): Shared) -> Json<Value> {
    Json(json!(*lock(&app.requests)))
}

async fn clear_requests(State(app): Shared) -> StatusCode {
    lock(&app.requests).clear();
    StatusCode::NO_CONTENT
}
