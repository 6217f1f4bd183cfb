//! Private endpoints (PUT, GET, DELETE, list by resource group and by subscription) and the
//! network interfaces they bring (GET).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{OPERATION_VERSION, add_operation_headers, parse_json};
use crate::errors::ArmError;
use crate::model::endpoints::PrivateEndpoint;
use crate::model::{Scope, World, check_subscription, key};
use crate::state::AppState;
use crate::views;

type Shared = State<Arc<AppState>>;

fn view(world: &World, pe: &PrivateEndpoint) -> Value {
    views::endpoint(pe, world.nics.contains_key(&key(&pe.nic_id)))
}

/// `GET .../privateEndpoints/{name}`.
pub async fn get(
    State(app): Shared,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let scope = Scope::new(&sub, &group)?;
    let world = app.world();
    let pe = world.endpoint(&scope, &name)?;
    Ok(Json(view(&world, pe)).into_response())
}

/// `PUT .../privateEndpoints/{name}`: 201 (200 for an update) with the running operation.
pub async fn put(
    State(app): Shared,
    Path((sub, group, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ArmError> {
    let body = parse_json(&body)?;
    let scope = Scope::new(&sub, &group)?;
    let mut world = app.world();
    let outcome = world.put_endpoint(&scope, &name, &body, Instant::now())?;
    let pe = world.endpoint(&scope, &name)?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(view(&world, pe))).into_response();
    add_operation_headers(&mut response, &app.base_url, &outcome.operation);
    Ok(response)
}

/// `DELETE .../privateEndpoints/{name}`: 202 with the operation, 204 when absent.
pub async fn delete(
    State(app): Shared,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let scope = Scope::new(&sub, &group)?;
    let mut world = app.world();
    let Some(op) = world.delete_endpoint(&scope, &name, Instant::now())? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut response = StatusCode::ACCEPTED.into_response();
    add_operation_headers(&mut response, &app.base_url, &op);
    Ok(response)
}

/// `GET .../resourceGroups/{group}/providers/Microsoft.Network/privateEndpoints`.
pub async fn list_in_group(
    State(app): Shared,
    Path((sub, group)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ArmError> {
    let scope = Scope::new(&sub, &group)?;
    let world = app.world();
    world.group(&scope)?;
    let next = format!(
        "{}{}/providers/Microsoft.Network/privateEndpoints",
        app.base_url,
        scope.group_id()
    );
    Ok(page(&world, &scope.group_id(), &next, &query))
}

/// `GET /subscriptions/{sub}/providers/Microsoft.Network/privateEndpoints`.
pub async fn list_in_subscription(
    State(app): Shared,
    Path(sub): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ArmError> {
    check_subscription(&sub)?;
    let world = app.world();
    let prefix = format!("/subscriptions/{sub}");
    let next = format!(
        "{}{prefix}/providers/Microsoft.Network/privateEndpoints",
        app.base_url
    );
    Ok(page(&world, &prefix, &next, &query))
}

/// One page of the endpoints under `prefix`: all of them, or `page_size` from `$skiptoken`
/// with a `nextLink` when more follow.
fn page(world: &World, prefix: &str, next: &str, query: &HashMap<String, String>) -> Response {
    let all = world.endpoints_under(prefix);
    let start: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let size = match world.realism.page_size {
        0 => all.len().max(1),
        n => n,
    };
    let value: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|pe| view(world, pe))
        .collect();
    let mut body = json!({"value": value});
    if start + size < all.len() {
        body["nextLink"] = format!(
            "{next}?api-version={OPERATION_VERSION}&$skiptoken={}",
            start + size
        )
        .into();
    }
    Json(body).into_response()
}

/// `GET .../networkInterfaces/{name}`.
pub async fn get_nic(
    State(app): Shared,
    Path((sub, group, name)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let scope = Scope::new(&sub, &group)?;
    let world = app.world();
    Ok(Json(views::nic(world.nic(&scope, &name)?)).into_response())
}
