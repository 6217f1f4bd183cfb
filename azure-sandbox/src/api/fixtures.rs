//! Resource groups, virtual networks and subnets: created and read by ordinary ARM PUTs and
//! GETs, done at once (`provisioningState` Succeeded in the first answer).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::parse_json;
use crate::errors::ArmError;
use crate::model::Scope;
use crate::state::AppState;
use crate::views;

type Shared = State<Arc<AppState>>;

fn created(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// `GET /subscriptions/{sub}/resourceGroups/{group}`.
pub async fn get_group(
    State(app): Shared,
    Path((sub, group)): Path<(String, String)>,
) -> Result<Response, ArmError> {
    let scope = Scope::new(&sub, &group)?;
    let world = app.world();
    Ok(Json(views::group(world.group(&scope)?)).into_response())
}

/// `PUT /subscriptions/{sub}/resourceGroups/{group}`.
pub async fn put_group(
    State(app): Shared,
    Path((sub, group)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ArmError> {
    let body = parse_json(&body)?;
    let scope = Scope::new(&sub, &group)?;
    let mut world = app.world();
    let status = created(world.put_group(&scope, &body)?);
    Ok((status, Json(views::group(world.group(&scope)?))).into_response())
}

/// `GET .../virtualNetworks/{vnet}`.
pub async fn get_vnet(
    State(app): Shared,
    Path((sub, group, vnet)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let scope = Scope::new(&sub, &group)?;
    let world = app.world();
    Ok(Json(views::vnet(world.vnet(&scope, &vnet)?)).into_response())
}

/// `PUT .../virtualNetworks/{vnet}`.
pub async fn put_vnet(
    State(app): Shared,
    Path((sub, group, vnet)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ArmError> {
    let body = parse_json(&body)?;
    let scope = Scope::new(&sub, &group)?;
    let mut world = app.world();
    let status = created(world.put_vnet(&scope, &vnet, &body)?);
    Ok((status, Json(views::vnet(world.vnet(&scope, &vnet)?))).into_response())
}

/// `GET .../virtualNetworks/{vnet}/subnets/{subnet}`.
pub async fn get_subnet(
    State(app): Shared,
    Path((sub, group, vnet, subnet)): Path<(String, String, String, String)>,
) -> Result<Response, ArmError> {
    let scope = Scope::new(&sub, &group)?;
    let world = app.world();
    let guid = world.vnet(&scope, &vnet)?.guid.clone();
    let view = views::subnet(world.subnet(&scope, &vnet, &subnet)?, &guid);
    Ok(Json(view).into_response())
}

/// `PUT .../virtualNetworks/{vnet}/subnets/{subnet}`.
pub async fn put_subnet(
    State(app): Shared,
    Path((sub, group, vnet, subnet)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Response, ArmError> {
    let body = parse_json(&body)?;
    let scope = Scope::new(&sub, &group)?;
    let mut world = app.world();
    let status = created(world.put_subnet(&scope, &vnet, &subnet, &body)?);
    let guid = world.vnet(&scope, &vnet)?.guid.clone();
    let view = views::subnet(world.subnet(&scope, &vnet, &subnet)?, &guid);
    Ok((status, Json(view)).into_response())
}
