//! The control API under `/__sandbox/`: seeding projects and deployments, fault, delay and
//! realism settings, the request log, a state dump and forced state changes. It needs no
//! authentication and is never rate-limited, faulted or logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::model::{
    Cloud, ClusterState, LinkCheck, LinkFailures, LinkStatus, ModelError, ServiceStatus,
    TenantStatus,
};
use crate::state::{AppState, lock};
use crate::views;

type Shared = State<Arc<AppState>>;

/// A control-API failure, answered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The model refused the change.
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ControlError::Model(
                ModelError::GroupNotFound(_)
                | ModelError::ServerlessInstanceNotFound { .. }
                | ModelError::TenantEndpointNotFound { .. }
                | ModelError::ServiceNotFound { .. }
                | ModelError::InterfaceEndpointNotFound { .. }
                | ModelError::ClusterNotFound { .. },
            ) => StatusCode::NOT_FOUND,
            ControlError::Model(ModelError::DeploymentExists { .. }) => StatusCode::CONFLICT,
            ControlError::Model(_) => StatusCode::BAD_REQUEST,
        };
        (status, axum::Json(json!({"error": self.to_string()}))).into_response()
    }
}

type Result<T> = std::result::Result<T, ControlError>;

/// The answer for a path under `/__sandbox` that names no control endpoint.
pub fn no_such_endpoint(method: &Method, path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": format!("no control endpoint {method} {path}")}).to_string(),
    )
        .into_response()
}

/// The control routes, relative to `/__sandbox`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/projects", post(add_project))
        .route("/serverless-instances", post(add_serverless_instance))
        .route("/clusters", post(add_cluster))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/delays", get(get_delays).put(put_delays))
        .route("/realism", get(get_realism).put(put_realism))
        .route("/requests", get(get_requests).delete(clear_requests))
        .route(
            "/transitions",
            get(get_transitions).delete(clear_transitions),
        )
        .route("/state", get(get_state))
        .route(
            "/serverless-endpoints/{project}/{instance}/{id}/state",
            post(force_serverless_endpoint),
        )
        .route(
            "/interface-endpoints/{project}/{service}/{id}/state",
            post(force_interface_endpoint),
        )
        .route(
            "/endpoint-services/{project}/{service}/state",
            post(force_endpoint_service),
        )
        .route("/clusters/{project}/{name}/state", post(force_cluster))
}

fn object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ControlError::BadRequest("expected a JSON object".into())),
        Err(e) => Err(ControlError::BadRequest(format!("invalid JSON: {e}"))),
    }
}

fn string_field(map: &Map<String, Value>, field: &str) -> Result<Option<String>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ControlError::BadRequest(format!(
            "{field} must be a string"
        ))),
    }
}

fn required(map: &Map<String, Value>, field: &str) -> Result<String> {
    string_field(map, field)?
        .ok_or_else(|| ControlError::BadRequest(format!("{field} is required")))
}

fn rate_field(map: &Map<String, Value>, field: &str) -> Result<Option<f64>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(r) if (0.0..=1.0).contains(&r) => Ok(Some(r)),
            _ => Err(ControlError::BadRequest(format!(
                "{field} must be a number between 0 and 1"
            ))),
        },
    }
}

fn u64_field(map: &Map<String, Value>, field: &str) -> Result<Option<u64>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ControlError::BadRequest(format!("{field} must be a non-negative integer"))
        }),
    }
}

async fn add_project(State(app): Shared, body: Bytes) -> Result<Response> {
    let map = object(&body)?;
    let id = required(&map, "id")?;
    let created = lock(&app.store).add_project(&id)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(json!({"id": id}))).into_response())
}

async fn add_serverless_instance(State(app): Shared, body: Bytes) -> Result<Response> {
    let map = object(&body)?;
    let project = required(&map, "project")?;
    let name = required(&map, "name")?;
    let region = string_field(&map, "region")?;
    let mut store = lock(&app.store);
    let instance = store.add_serverless_instance(&project, &name, region.as_deref())?;
    let base = format!("{}/api/atlas/v2", app.base_url);
    let body = views::serverless_instance(store.project(&project)?, &instance, &base);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn add_cluster(State(app): Shared, body: Bytes) -> Result<Response> {
    let map = object(&body)?;
    let project = required(&map, "project")?;
    let name = required(&map, "name")?;
    let region = string_field(&map, "region")?;
    let mut store = lock(&app.store);
    let cluster = store.add_cluster(&project, &name, region.as_deref())?;
    let base = format!("{}/api/atlas/v2", app.base_url);
    let body = views::cluster(store.project(&project)?, &cluster, &base);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

fn faults_json(app: &AppState) -> Value {
    let faults = lock(&app.faults).clone();
    let link_failures = lock(&app.store).link_failures.clone();
    json!({
        "rate": faults.rate,
        "statuses": faults.statuses,
        "latency_ms": faults.latency.as_millis() as u64,
        "link_failures": link_failures,
    })
}

async fn get_faults(State(app): Shared) -> axum::Json<Value> {
    axum::Json(faults_json(&app))
}

/// Updates the fields present in the body; absent fields keep their value.
async fn put_faults(State(app): Shared, body: Bytes) -> Result<axum::Json<Value>> {
    let map = object(&body)?;
    let rate = match map.get("rate") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(r) if (0.0..=1.0).contains(&r) => Some(r),
            _ => {
                return Err(ControlError::BadRequest(
                    "rate must be a number between 0 and 1".into(),
                ));
            }
        },
    };
    let statuses = match map.get("statuses") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_u64()
                        .filter(|c| (400..600).contains(c))
                        .map(|c| c as u16)
                        .ok_or_else(|| {
                            ControlError::BadRequest(format!("{v} is not an HTTP error status"))
                        })
                })
                .collect::<Result<Vec<u16>>>()?,
        ),
        Some(_) => {
            return Err(ControlError::BadRequest(
                "statuses must be an array of HTTP statuses".into(),
            ));
        }
    };
    let latency = u64_field(&map, "latency_ms")?;
    let link_failures = match map.get("link_failures") {
        None | Some(Value::Null) => None,
        Some(Value::Object(lf)) => Some(LinkFailures {
            count: u64_field(lf, "count")?.unwrap_or(0) as u32,
            message: string_field(lf, "message")?
                .unwrap_or_else(|| "Injected link failure.".to_string()),
        }),
        Some(_) => {
            return Err(ControlError::BadRequest(
                "link_failures must be an object {count, message}".into(),
            ));
        }
    };
    {
        let mut faults = lock(&app.faults);
        if let Some(rate) = rate {
            faults.rate = rate;
        }
        if let Some(statuses) = statuses {
            faults.statuses = statuses;
            faults.injected = 0;
        }
        if let Some(ms) = latency {
            faults.latency = Duration::from_millis(ms);
        }
    }
    if let Some(lf) = link_failures {
        lock(&app.store).link_failures = lf;
    }
    Ok(axum::Json(faults_json(&app)))
}

fn delays_json(app: &AppState) -> Value {
    let delays = lock(&app.store).delays;
    json!({
        "reserve_ms": delays.reserve.as_millis() as u64,
        "connect_ms": delays.connect.as_millis() as u64,
        "delete_ms": delays.delete.as_millis() as u64,
    })
}

async fn get_delays(State(app): Shared) -> axum::Json<Value> {
    axum::Json(delays_json(&app))
}

/// Updates the delays present in the body; they apply to transitions started afterwards.
async fn put_delays(State(app): Shared, body: Bytes) -> Result<axum::Json<Value>> {
    let map = object(&body)?;
    let reserve = u64_field(&map, "reserve_ms")?;
    let connect = u64_field(&map, "connect_ms")?;
    let delete = u64_field(&map, "delete_ms")?;
    {
        let mut store = lock(&app.store);
        if let Some(ms) = reserve {
            store.delays.reserve = Duration::from_millis(ms);
        }
        if let Some(ms) = connect {
            store.delays.connect = Duration::from_millis(ms);
        }
        if let Some(ms) = delete {
            store.delays.delete = Duration::from_millis(ms);
        }
    }
    Ok(axum::Json(delays_json(&app)))
}

async fn get_requests(State(app): Shared) -> axum::Json<Value> {
    let log = lock(&app.requests).clone();
    axum::Json(serde_json::to_value(log).unwrap_or_else(|_| json!([])))
}

async fn clear_requests(State(app): Shared) -> StatusCode {
    lock(&app.requests).clear();
    StatusCode::NO_CONTENT
}

/// Every status change so far, with the moment it was due (see `transitions`).
async fn get_transitions(State(app): Shared) -> axum::Json<Value> {
    let mut store = lock(&app.store);
    store.advance(Instant::now());
    axum::Json(serde_json::to_value(store.transitions.all()).unwrap_or_default())
}

async fn clear_transitions(State(app): Shared) -> StatusCode {
    lock(&app.store).transitions.clear();
    StatusCode::NO_CONTENT
}

async fn get_state(State(app): Shared) -> axum::Json<Value> {
    let mut store = lock(&app.store);
    store.advance(Instant::now());
    axum::Json(views::dump(
        &store,
        &format!("{}/api/atlas/v2", app.base_url),
    ))
}

async fn force_serverless_endpoint(
    State(app): Shared,
    Path((project, instance, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<axum::Json<Value>> {
    let map = object(&body)?;
    let status_text = required(&map, "status")?;
    let status = TenantStatus::parse(&status_text)
        .ok_or_else(|| ControlError::BadRequest(format!("unknown status {status_text:?}")))?;
    let message = string_field(&map, "errorMessage")?;
    let mut store = lock(&app.store);
    let now = Instant::now();
    store.advance(now);
    let e = store.force_tenant_state(&project, &instance, &id, status, message, now)?;
    Ok(axum::Json(views::tenant_endpoint(&e)))
}

/// Forces an interface endpoint's status. REJECTED is the service owner rejecting the
/// connection, so it is rejected on the cloud side too, as Atlas's own rejection of a link is:
/// `RejectVpcEndpointConnections` in EC2 (the VPC endpoint shows `rejected`), or the private
/// endpoint's connection set `Rejected` in azure-sandbox. Other statuses (FAILED among them)
/// stay on the Atlas side.
async fn force_interface_endpoint(
    State(app): Shared,
    Path((project, service, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<axum::Json<Value>> {
    let map = object(&body)?;
    let status_text = required(&map, "connectionStatus")?;
    let status = LinkStatus::parse(&status_text)
        .ok_or_else(|| ControlError::BadRequest(format!("unknown status {status_text:?}")))?;
    let message = string_field(&map, "errorMessage")?;
    // An Azure private endpoint id arrives URL-encoded.
    let id = percent_encoding::percent_decode_str(&id)
        .decode_utf8_lossy()
        .into_owned();
    let (e, owner) = {
        let mut store = lock(&app.store);
        let now = Instant::now();
        store.advance(now);
        let e =
            store.force_interface_state(&project, &service, &id, status, message.clone(), now)?;
        let owner = match status {
            LinkStatus::Rejected => Some(store.owner_view(&project, &service, &id)?),
            _ => None,
        };
        (e, owner)
    };
    if let Some(check) = owner {
        let why = message.unwrap_or_else(|| "Rejected by MongoDB Atlas".into());
        reject_on_cloud(&app, &check, why).await;
    }
    Ok(axum::Json(views::interface_endpoint(&e)))
}

/// Rejects the connection of `check`'s endpoint as the service owner, on its cloud when that
/// is configured; a failure (plain moto does not know the call) is only logged, as for links.
async fn reject_on_cloud(app: &AppState, check: &LinkCheck, why: String) {
    let done = match (check.cloud, &app.ec2, &app.azure) {
        (Cloud::Aws, Some(ec2), _) => ec2.decide(check, false).await.map_err(|e| e.to_string()),
        (Cloud::Azure, _, Some(azure)) => azure
            .decide(check, &Err(why))
            .await
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    };
    if let Err(e) = done {
        eprintln!(
            "link {}: rejecting it on the cloud side: {e}",
            check.vpce_id
        );
    }
}

fn realism_json(app: &AppState) -> Value {
    let model = lock(&app.store).realism;
    let ghosts = lock(&app.ghosts);
    json!({
        "ghost_rate": ghosts.ghost_rate,
        "drop_rate": ghosts.drop_rate,
        "seed": ghosts.seed,
        "cluster_update_ms": model.cluster_update.as_millis() as u64,
        "max_concurrent_links": model.max_concurrent_links,
    })
}

async fn get_realism(State(app): Shared) -> axum::Json<Value> {
    axum::Json(realism_json(&app))
}

/// Updates the fields present in the body; absent fields keep their value.
/// `max_concurrent_links: null` removes the bound; `seed` restarts the ghost generator.
async fn put_realism(State(app): Shared, body: Bytes) -> Result<axum::Json<Value>> {
    let map = object(&body)?;
    let ghost_rate = rate_field(&map, "ghost_rate")?;
    let drop_rate = rate_field(&map, "drop_rate")?;
    let seed = u64_field(&map, "seed")?;
    let cluster_update = u64_field(&map, "cluster_update_ms")?;
    let max_links = match map.get("max_concurrent_links") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(v.as_u64().ok_or_else(|| {
            ControlError::BadRequest(
                "max_concurrent_links must be a non-negative integer or null".into(),
            )
        })?)),
    };
    {
        let mut ghosts = lock(&app.ghosts);
        if let Some(seed) = seed {
            ghosts.reseed(seed);
        }
        if let Some(rate) = ghost_rate {
            ghosts.ghost_rate = rate;
        }
        if let Some(rate) = drop_rate {
            ghosts.drop_rate = rate;
        }
    }
    {
        let mut store = lock(&app.store);
        if let Some(ms) = cluster_update {
            store.realism.cluster_update = Duration::from_millis(ms);
        }
        if let Some(max) = max_links {
            store.realism.max_concurrent_links = max;
        }
    }
    Ok(axum::Json(realism_json(&app)))
}

async fn force_endpoint_service(
    State(app): Shared,
    Path((project, service)): Path<(String, String)>,
    body: Bytes,
) -> Result<axum::Json<Value>> {
    let map = object(&body)?;
    let status_text = required(&map, "status")?;
    let status = ServiceStatus::parse(&status_text)
        .ok_or_else(|| ControlError::BadRequest(format!("unknown status {status_text:?}")))?;
    let message = string_field(&map, "errorMessage")?;
    let mut store = lock(&app.store);
    let now = Instant::now();
    store.advance(now);
    let s = store.force_service_state(&project, &service, status, message, now)?;
    Ok(axum::Json(views::endpoint_service(&s)))
}

async fn force_cluster(
    State(app): Shared,
    Path((project, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<axum::Json<Value>> {
    let map = object(&body)?;
    let state_text = required(&map, "stateName")?;
    let state = ClusterState::parse(&state_text)
        .ok_or_else(|| ControlError::BadRequest(format!("unknown stateName {state_text:?}")))?;
    let mut store = lock(&app.store);
    let now = Instant::now();
    store.advance(now);
    let c = store.force_cluster_state(&project, &name, state, now)?;
    let base = format!("{}/api/atlas/v2", app.base_url);
    Ok(axum::Json(views::cluster(
        store.project(&project)?,
        &c,
        &base,
    )))
}
