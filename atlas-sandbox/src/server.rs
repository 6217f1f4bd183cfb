//! The HTTP front: binding, the request pipeline every `/api` request goes through (latency,
//! authentication, version negotiation, rate limiting, fault injection, request log), and the
//! Atlas resource handlers under `/api/atlas/v2` and `/api/atlas/v1.0`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::{Authenticator, TOKEN_TTL};
use crate::cli::Config;
use crate::ec2::Ec2Client;
use crate::errors::ApiError;
use crate::model::{ModelError, Store, TenantUpdate};
use crate::ratelimit::RateLimiter;
use crate::{control, ids, views};

/// Media type of every successful v2 answer.
pub const V2_CONTENT_TYPE: &str = "application/vnd.atlas.2023-01-01+json;charset=utf-8";
const OLDEST_VERSION: &str = "2023-01-01";
const SUNSET: &str = "Thu, 22 Jan 2026 00:00:00 GMT";
const MAX_LOG: usize = 100_000;
const TICK: Duration = Duration::from_millis(50);

/// Injected misbehaviour of the API.
#[derive(Debug, Clone)]
pub struct Faults {
    pub rate: f64,
    /// Injected faults take these statuses in turn, so that any three
    /// faults of `429,500,503` cover all three.
    pub statuses: Vec<u16>,
    pub latency: Duration,
    /// How many faults were injected so far (picks the next status).
    pub injected: usize,
}

/// One `/api` request as recorded for `GET /__sandbox/requests`.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub time: String,
    pub auth: &'static str,
    pub injected: bool,
}

/// Shared state of the running sandbox.
pub struct AppState {
    pub store: Mutex<Store>,
    pub auth: Mutex<Authenticator>,
    pub limiter: Mutex<RateLimiter>,
    pub faults: Mutex<Faults>,
    pub requests: Mutex<Vec<RequestRecord>>,
    pub ec2: Option<Ec2Client>,
    pub base_url: String,
}

/// Locks a mutex, carrying on with the data if a previous holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Failures while starting.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid start-up object: {0}")]
    Seed(#[from] ModelError),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// Binds, prints the base URL as the first stdout line, and serves until killed.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let base_url = format!("http://{addr}");
    let state = Arc::new(build_state(&config, base_url.clone())?);
    tokio::spawn(ticker(state.clone()));

    let mut stdout = std::io::stdout();
    // Nothing useful can be done if stdout is closed; the server still runs.
    let _ = writeln!(stdout, "{base_url}");
    let _ = stdout.flush();
    eprintln!(
        "atlas-sandbox listening on {base_url} (auth {}, EC2 checks {})",
        if lock(&state.auth).enabled() {
            "on"
        } else {
            "off"
        },
        config.ec2_endpoint.as_deref().unwrap_or("off"),
    );
    axum::serve(listener, router(state))
        .await
        .map_err(ServerError::Serve)
}

/// The state for `config`, with the start-up projects and deployments created.
pub fn build_state(config: &Config, base_url: String) -> Result<AppState, ServerError> {
    let mut store = Store::new(config.delays, config.ec2_endpoint.is_some());
    for project in &config.projects {
        store.add_project(project)?;
    }
    for d in &config.serverless_instances {
        store.add_serverless_instance(&d.project, &d.name, d.region.as_deref())?;
    }
    for d in &config.clusters {
        store.add_cluster(&d.project, &d.name, d.region.as_deref())?;
    }
    Ok(AppState {
        store: Mutex::new(store),
        auth: Mutex::new(Authenticator::new(
            config.credentials.clone(),
            config.nonce_ttl,
        )),
        limiter: Mutex::new(RateLimiter::new(config.rate_limit)),
        faults: Mutex::new(Faults {
            rate: config.fault_rate,
            statuses: config.fault_statuses.clone(),
            latency: config.latency,
            injected: 0,
        }),
        requests: Mutex::new(Vec::new()),
        ec2: config.ec2_endpoint.as_deref().map(Ec2Client::new),
        base_url,
    })
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .nest("/__sandbox", control::router())
        .fallback(api)
        .with_state(state)
}

/// Applies due transitions and runs EC2 checks off the request path.
async fn ticker(state: Arc<AppState>) {
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        let checks = {
            let mut store = lock(&state.store);
            let now = Instant::now();
            store.advance(now);
            store.due_checks(now)
        };
        let Some(client) = state.ec2.clone() else {
            continue;
        };
        for check in checks {
            let state = state.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let verdict = client.check(&check).await;
                if let Err(message) = &verdict {
                    eprintln!("link {} refused: {message}", check.vpce_id);
                }
                lock(&state.store).apply_verdict(&check, verdict);
            });
        }
    }
}

fn auth_kind(headers: &HeaderMap) -> &'static str {
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(h) if h.len() >= 7 && h[..7].eq_ignore_ascii_case("digest ") => "digest",
        Some(h) if h.len() >= 7 && h[..7].eq_ignore_ascii_case("bearer ") => "bearer",
        _ => "none",
    }
}

/// Entry point of every non-control request.
async fn api(State(app): State<Arc<AppState>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path().to_string();
    if path.starts_with("/__sandbox") {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error": format!("no control endpoint {method} {path}")}).to_string(),
        )
            .into_response();
    }
    let latency = lock(&app.faults).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let path_and_query = uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let request = ApiRequest {
        method: method.clone(),
        path: path.clone(),
        path_and_query,
        query: parse_query(uri.query().unwrap_or("")),
        headers,
        body,
    };
    let (response, injected) = handle(&app, &request);
    let status = response.status().as_u16();
    eprintln!(
        "{method} {} -> {status}{}",
        request.path_and_query,
        if injected { " (injected)" } else { "" }
    );
    let mut log = lock(&app.requests);
    if log.len() >= MAX_LOG {
        log.remove(0);
    }
    log.push(RequestRecord {
        method: method.to_string(),
        path,
        query: uri.query().map(String::from),
        status,
        time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        auth: auth_kind(&request.headers),
        injected,
    });
    response
}

struct ApiRequest {
    method: Method,
    path: String,
    path_and_query: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiVersion {
    V2,
    V1,
}

/// A successful answer before headers are added.
struct Reply {
    status: StatusCode,
    body: Option<Value>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
        }
    }

    fn with_status(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }

    fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=b&c=d` (query strings and form bodies).
pub fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn is_valid_date(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3
        || parts[0].len() != 4
        || parts[1].len() != 2
        || parts[2].len() != 2
        || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let month: u32 = parts[1].parse().unwrap_or(0);
    let day: u32 = parts[2].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Whether an `Accept` header names a versioned Atlas media type this sandbox can serve
/// (any `application/vnd.atlas.YYYY-MM-DD+json` on or after 2023-01-01).
pub fn accepts_version(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    accept.split(',').any(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        media
            .strip_prefix("application/vnd.atlas.")
            .and_then(|rest| rest.strip_suffix("+json"))
            .is_some_and(|date| is_valid_date(date) && date >= OLDEST_VERSION)
    })
}

fn authenticate(app: &AppState, req: &ApiRequest, now: Instant) -> Result<(), ApiError> {
    let mut auth = lock(&app.auth);
    if !auth.enabled() {
        return Ok(());
    }
    let header = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let stale = match auth_kind(&req.headers) {
        "digest" => match auth.verify_digest(header, req.method.as_str(), &req.path_and_query, now)
        {
            Ok(()) => return Ok(()),
            Err(e) => {
                eprintln!("digest refused: {e}");
                e.is_stale()
            }
        },
        "bearer" => {
            if auth.verify_bearer(header[7..].trim(), now) {
                return Ok(());
            }
            eprintln!("bearer token refused");
            false
        }
        _ => false,
    };
    Err(ApiError::unauthorized(auth.challenge(stale, now)))
}

/// Runs the pipeline for one request; returns the response and whether it was injected.
fn handle(app: &AppState, req: &ApiRequest) -> (Response, bool) {
    let now = Instant::now();
    if req.path == "/api/oauth/token" || req.path == "/api/oauth/revoke" {
        return (oauth(app, req, now), false);
    }
    let (version, rest) = if let Some(rest) = req.path.strip_prefix("/api/atlas/v2") {
        (ApiVersion::V2, rest)
    } else if let Some(rest) = req.path.strip_prefix("/api/atlas/v1.0") {
        (ApiVersion::V1, rest)
    } else {
        let err = ApiError::resource_not_found(req.method.as_str(), &req.path);
        return (err.into_response(), false);
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        let err = ApiError::resource_not_found(req.method.as_str(), &req.path);
        return (err.into_response(), false);
    }
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let bucket = match segments.as_slice() {
        ["groups", g, ..] if ids::is_object_id(g) => g.to_string(),
        _ => "*".to_string(),
    };
    let serverless_pe = rest.contains("/privateEndpoint/serverless/");

    let mut remaining = None;
    let mut injected = false;
    let outcome = (|| -> Result<Reply, ApiError> {
        authenticate(app, req, now)?;
        if version == ApiVersion::V2 {
            let accept = req
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            if !accepts_version(accept) {
                return Err(ApiError::new(
                    StatusCode::NOT_ACCEPTABLE,
                    "INVALID_VERSION_DATE",
                    "Invalid accept header or version date.",
                ));
            }
        }
        {
            let mut limiter = lock(&app.limiter);
            let limit = limiter.limit;
            match limiter.take(&bucket, now) {
                Ok(left) => remaining = Some(left),
                Err(limited) => {
                    remaining = Some(0);
                    let scope = req.path.trim_start_matches('/');
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "RATE_LIMITED_TOKEN_BUCKET",
                        format!(
                            "Rate limit exceeded for {scope}. Please retry after {} seconds. Request capacity: {}. Refill rate: {} per {} seconds.",
                            limited.retry_after_secs,
                            limit.capacity,
                            limit.refill,
                            limit.period.as_secs()
                        ),
                    )
                    .with_retry_after(limited.retry_after_secs));
                }
            }
        }
        if let Some(err) = injected_fault(app) {
            injected = true;
            return Err(err);
        }
        let base = match version {
            ApiVersion::V2 => format!("{}/api/atlas/v2", app.base_url),
            ApiVersion::V1 => format!("{}/api/atlas/v1.0", app.base_url),
        };
        let mut store = lock(&app.store);
        store.advance(now);
        dispatch(&mut store, req, &segments, &base, now)
    })();

    let mut response = match outcome {
        Ok(reply) => render(reply, version, &req.query),
        Err(err) => err.into_response(),
    };
    let headers = response.headers_mut();
    let (capacity, left) = {
        let mut limiter = lock(&app.limiter);
        let capacity = limiter.limit.capacity;
        (
            capacity,
            remaining.unwrap_or_else(|| limiter.remaining(&bucket, now)),
        )
    };
    headers.insert("RateLimit-Limit", HeaderValue::from(capacity));
    headers.insert("RateLimit-Remaining", HeaderValue::from(left));
    if serverless_pe {
        headers.insert("Deprecation", HeaderValue::from_static("true"));
        headers.insert("Sunset", HeaderValue::from_static(SUNSET));
    }
    (response, injected)
}

fn injected_fault(app: &AppState) -> Option<ApiError> {
    let mut faults = lock(&app.faults);
    if faults.rate <= 0.0 {
        return None;
    }
    if rand::rng().random::<f64>() >= faults.rate {
        return None;
    }
    let code = if faults.statuses.is_empty() {
        500
    } else {
        faults.statuses[faults.injected % faults.statuses.len()]
    };
    faults.injected += 1;
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut err = ApiError::new(
        status,
        ApiError::code_for_status(status),
        format!("Injected fault: {code}."),
    );
    if code == 429 || code == 503 {
        err = err.with_retry_after(1);
    }
    Some(err)
}

fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn render(reply: Reply, version: ApiVersion, query: &HashMap<String, String>) -> Response {
    let content_type = match version {
        ApiVersion::V2 => V2_CONTENT_TYPE,
        ApiVersion::V1 => "application/json",
    };
    let Some(mut body) = reply.body else {
        return reply.status.into_response();
    };
    let mut status = reply.status;
    if flag(query, "envelope") {
        body = match body {
            Value::Object(mut map) if map.contains_key("results") => {
                map.insert("status".into(), json!(status.as_u16()));
                Value::Object(map)
            }
            other => json!({"status": status.as_u16(), "content": other}),
        };
        status = StatusCode::OK;
    }
    let text = if flag(query, "pretty") {
        serde_json::to_string_pretty(&body).unwrap_or_default()
    } else {
        body.to_string()
    };
    let mut response = (status, Body::from(text)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": code, "error_description": description}).to_string(),
    )
        .into_response()
}

/// `POST /api/oauth/token` and `POST /api/oauth/revoke`.
fn oauth(app: &AppState, req: &ApiRequest, now: Instant) -> Response {
    if req.method != Method::POST {
        return ApiError::resource_not_found(req.method.as_str(), &req.path).into_response();
    }
    let basic = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = parse_query(std::str::from_utf8(&req.body).unwrap_or(""));
    let mut auth = lock(&app.auth);
    if req.path == "/api/oauth/token" {
        match auth.issue_token(basic, &form, now) {
            Ok(token) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                json!({
                    "access_token": token,
                    "expires_in": TOKEN_TTL.as_secs(),
                    "token_type": "Bearer",
                })
                .to_string(),
            )
                .into_response(),
            Err(e) => {
                let status = if e == crate::auth::OAuthError::InvalidClient {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
                oauth_error(status, e.code(), &e.to_string())
            }
        }
    } else {
        match auth.revoke(basic, &form) {
            Ok(()) => StatusCode::OK.into_response(),
            Err(e) => {
                let status = if e == crate::auth::OAuthError::InvalidClient {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
                oauth_error(status, e.code(), &e.to_string())
            }
        }
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        let detail = e.to_string();
        match e {
            ModelError::GroupNotFound(_) => ApiError::not_found("GROUP_NOT_FOUND", detail),
            ModelError::ServerlessInstanceNotFound { .. } => {
                ApiError::not_found("SERVERLESS_INSTANCE_NOT_FOUND", detail)
            }
            ModelError::ClusterNotFound { .. } => ApiError::not_found("CLUSTER_NOT_FOUND", detail),
            ModelError::DeploymentExists { .. } => {
                ApiError::conflict("DUPLICATE_CLUSTER_NAME", detail)
            }
            ModelError::TenantEndpointNotFound { .. } => {
                ApiError::not_found("TENANT_PRIVATE_ENDPOINT_NOT_FOUND", detail)
            }
            ModelError::ServiceNotFound { .. } | ModelError::InterfaceEndpointNotFound { .. } => {
                ApiError::not_found("PRIVATE_ENDPOINT_SERVICE_NOT_FOUND", detail)
            }
            ModelError::ServiceAlreadyExists { .. } => {
                ApiError::conflict("PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION", detail)
            }
            ModelError::ServiceHasEndpoints => {
                ApiError::conflict("CANNOT_DELETE_PRIVATELINK_WITH_ENDPOINTS", detail)
            }
            ModelError::ServiceNotAvailable { .. } => {
                ApiError::conflict("PRIVATELINK_CANNOT_ACCEPT_ENDPOINTS", detail)
            }
            ModelError::InterfaceEndpointExists { .. } => {
                ApiError::conflict("PRIVATELINK_INTERFACE_ENDPOINT_ALREADY_EXISTS", detail)
            }
            ModelError::NotReserved { .. } | ModelError::EndpointIdLocked { .. } => {
                ApiError::bad_request("VALIDATION_ERROR", detail)
            }
            ModelError::Invalid { field, message } => ApiError::validation(field, message),
            ModelError::Missing(field) => ApiError::missing_attribute(field),
        }
    }
}

// ----- request bodies -----

/// Parses a required JSON object body (every body this API takes is required; `{}` is the
/// minimal one).
fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "INVALID_JSON",
            "A request body is required; send {} for an empty one.",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "INVALID_JSON",
            "Received JSON does not match expected format: a JSON object is required.",
        )),
        Err(e) => Err(ApiError::bad_request(
            "INVALID_JSON",
            format!("Received JSON is malformed: {e}."),
        )),
    }
}

fn opt_string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::validation(field, "must be a string")),
    }
}

fn req_string(map: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    opt_string(map, field)?.ok_or_else(|| ApiError::missing_attribute(field))
}

// ----- routing -----

fn method_not_allowed(req: &ApiRequest) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("Method {} is not allowed on {}.", req.method, req.path),
    )
}

fn check_name(kind: &str, name: &str) -> Result<(), ApiError> {
    if ids::is_deployment_name(name) {
        Ok(())
    } else {
        Err(ApiError::invalid_attribute(kind, name))
    }
}

fn check_object_id(kind: &str, id: &str) -> Result<(), ApiError> {
    if ids::is_object_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid_attribute(kind, id))
    }
}

fn dispatch(
    store: &mut Store,
    req: &ApiRequest,
    segments: &[&str],
    base: &str,
    now: Instant,
) -> Result<Reply, ApiError> {
    let not_found = || ApiError::resource_not_found(req.method.as_str(), &req.path);
    let (group, rest) = match segments {
        ["groups", group, rest @ ..] if !rest.is_empty() => (*group, rest),
        _ => return Err(not_found()),
    };
    check_object_id("groupId", group)?;
    store.project(group)?;
    let m = &req.method;
    match rest {
        ["serverless"] => {
            if m != Method::GET {
                return Err(method_not_allowed(req));
            }
            let project = store.project(group)?;
            let items = project
                .serverless
                .iter()
                .map(|s| views::serverless_instance(project, s, base))
                .collect();
            paginate(
                items,
                &req.query,
                &format!("{base}/groups/{group}/serverless"),
            )
        }
        ["serverless", name] => {
            if m != Method::GET {
                return Err(method_not_allowed(req));
            }
            check_name("name", name)?;
            let instance = store.serverless_instance(group, name)?;
            Ok(Reply::ok(views::serverless_instance(
                store.project(group)?,
                instance,
                base,
            )))
        }
        ["clusters"] => {
            if m != Method::GET {
                return Err(method_not_allowed(req));
            }
            let project = store.project(group)?;
            let items = project
                .clusters
                .iter()
                .map(|c| views::cluster(project, c, base))
                .collect();
            paginate(
                items,
                &req.query,
                &format!("{base}/groups/{group}/clusters"),
            )
        }
        ["clusters", name] => {
            if m != Method::GET {
                return Err(method_not_allowed(req));
            }
            check_name("clusterName", name)?;
            let cluster = store.cluster(group, name)?;
            Ok(Reply::ok(views::cluster(
                store.project(group)?,
                cluster,
                base,
            )))
        }
        [
            "privateEndpoint",
            "serverless",
            "instance",
            instance,
            "endpoint",
        ] => {
            check_name("instanceName", instance)?;
            match *m {
                Method::GET => {
                    let list = store
                        .tenant_endpoints(group, instance)?
                        .into_iter()
                        .map(views::tenant_endpoint)
                        .collect();
                    Ok(Reply::ok(Value::Array(list)))
                }
                Method::POST => {
                    let body = json_object(&req.body)?;
                    store.serverless_instance(group, instance)?;
                    let comment = opt_string(&body, "comment")?;
                    let e = store.create_tenant_endpoint(group, instance, comment, now)?;
                    Ok(Reply::with_status(
                        StatusCode::CREATED,
                        views::tenant_endpoint(&e),
                    ))
                }
                _ => Err(method_not_allowed(req)),
            }
        }
        [
            "privateEndpoint",
            "serverless",
            "instance",
            instance,
            "endpoint",
            id,
        ] => {
            check_name("instanceName", instance)?;
            check_object_id("endpointId", id)?;
            match *m {
                Method::GET => Ok(Reply::ok(views::tenant_endpoint(
                    store.tenant_endpoint(group, instance, id)?,
                ))),
                Method::PATCH => {
                    let body = json_object(&req.body)?;
                    store.tenant_endpoint(group, instance, id)?;
                    let update = TenantUpdate {
                        provider_name: opt_string(&body, "providerName")?,
                        cloud_provider_endpoint_id: opt_string(&body, "cloudProviderEndpointId")?,
                        comment: opt_string(&body, "comment")?,
                    };
                    let e = store.update_tenant_endpoint(group, instance, id, update, now)?;
                    Ok(Reply::ok(views::tenant_endpoint(&e)))
                }
                Method::DELETE => {
                    store.delete_tenant_endpoint(group, instance, id, now)?;
                    Ok(Reply::no_content())
                }
                _ => Err(method_not_allowed(req)),
            }
        }
        ["privateEndpoint", "endpointService"] => {
            if m != Method::POST {
                return Err(method_not_allowed(req));
            }
            let body = json_object(&req.body)?;
            let provider = req_string(&body, "providerName")?;
            let region = req_string(&body, "region")?;
            let service = store.create_service(group, &provider, &region, now)?;
            Ok(Reply::with_status(
                StatusCode::CREATED,
                views::endpoint_service(&service),
            ))
        }
        ["privateEndpoint", provider, "endpointService", tail @ ..] => {
            if !matches!(*provider, "AWS" | "AZURE" | "GCP") {
                return Err(ApiError::invalid_attribute("cloudProvider", provider));
            }
            let aws = *provider == "AWS";
            let service_missing = |id: &str| -> ApiError {
                ModelError::ServiceNotFound {
                    project: group.to_string(),
                    id: id.to_string(),
                }
                .into()
            };
            match tail {
                [] => {
                    if m != Method::GET {
                        return Err(method_not_allowed(req));
                    }
                    let list = if aws {
                        store
                            .services(group)?
                            .into_iter()
                            .map(views::endpoint_service)
                            .collect()
                    } else {
                        Vec::new()
                    };
                    Ok(Reply::ok(Value::Array(list)))
                }
                [service_id] => {
                    check_object_id("endpointServiceId", service_id)?;
                    if !aws {
                        return Err(service_missing(service_id));
                    }
                    match *m {
                        Method::GET => Ok(Reply::ok(views::endpoint_service(
                            store.service(group, service_id)?,
                        ))),
                        Method::DELETE => {
                            store.delete_service(group, service_id, now)?;
                            Ok(Reply::with_status(StatusCode::ACCEPTED, json!({})))
                        }
                        _ => Err(method_not_allowed(req)),
                    }
                }
                [service_id, "endpoint"] => {
                    check_object_id("endpointServiceId", service_id)?;
                    if m != Method::POST {
                        return Err(method_not_allowed(req));
                    }
                    if !aws {
                        return Err(service_missing(service_id));
                    }
                    let body = json_object(&req.body)?;
                    store.service(group, service_id)?;
                    let id = req_string(&body, "id")?;
                    let e = store.create_interface_endpoint(group, service_id, &id, now)?;
                    Ok(Reply::ok(views::interface_endpoint(&e)))
                }
                [service_id, "endpoint", endpoint_id] => {
                    check_object_id("endpointServiceId", service_id)?;
                    if !aws {
                        return Err(service_missing(service_id));
                    }
                    if !ids::is_vpce_id(endpoint_id) {
                        return Err(ApiError::invalid_attribute("endpointId", endpoint_id));
                    }
                    match *m {
                        Method::GET => Ok(Reply::ok(views::interface_endpoint(
                            store.interface_endpoint(group, service_id, endpoint_id)?,
                        ))),
                        Method::DELETE => {
                            store.delete_interface_endpoint(group, service_id, endpoint_id, now)?;
                            Ok(Reply::no_content())
                        }
                        _ => Err(method_not_allowed(req)),
                    }
                }
                _ => Err(not_found()),
            }
        }
        _ => Err(not_found()),
    }
}

fn page_param(
    query: &HashMap<String, String>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_attribute(name, v)),
        },
    }
}

/// Wraps `items` in Atlas's paginated envelope, honouring `pageNum`, `itemsPerPage` and
/// `includeCount`.
fn paginate(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    url: &str,
) -> Result<Reply, ApiError> {
    let page = page_param(query, "pageNum", 1, u64::from(u32::MAX))?;
    let per_page = page_param(query, "itemsPerPage", 100, 500)?;
    let include_count = match query.get("includeCount").map(|v| v.to_ascii_lowercase()) {
        None => true,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(v) => return Err(ApiError::invalid_attribute("includeCount", &v)),
    };
    let total = items.len() as u64;
    let start = (page - 1).saturating_mul(per_page);
    let results: Vec<Value> = items
        .into_iter()
        .skip(start.min(total) as usize)
        .take(per_page as usize)
        .collect();
    let link = |p: u64, rel: &str| {
        json!({
            "href": format!("{url}?includeCount={include_count}&pageNum={p}&itemsPerPage={per_page}"),
            "rel": rel,
        })
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link(page - 1, "previous"));
    }
    links.push(link(page, "self"));
    if page.saturating_mul(per_page) < total {
        links.push(link(page + 1, "next"));
    }
    let mut body = json!({ "links": links, "results": results });
    if include_count {
        body["totalCount"] = json!(total);
    }
    Ok(Reply::ok(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation() {
        assert!(accepts_version(Some(
            "application/vnd.atlas.2023-01-01+json"
        )));
        assert!(accepts_version(Some(
            "application/vnd.atlas.2025-03-12+json"
        )));
        assert!(accepts_version(Some(
            "application/json, application/vnd.atlas.2024-08-05+json;charset=utf-8"
        )));
        for bad in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/vnd.atlas.2022-12-31+json"),
            Some("application/vnd.atlas.2023-13-01+json"),
            Some("application/vnd.atlas.latest+json"),
            Some("garbage"),
        ] {
            assert!(!accepts_version(bad), "{bad:?}");
        }
    }

    #[test]
    fn query_parsing_decodes() {
        let q = parse_query("a=1&token=x%2By&grant_type=client_credentials&flag");
        assert_eq!(q["a"], "1");
        assert_eq!(q["token"], "x+y");
        assert_eq!(q["flag"], "");
    }

    #[test]
    fn pagination_links_and_count() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let mut q = HashMap::new();
        q.insert("pageNum".to_string(), "2".to_string());
        q.insert("itemsPerPage".to_string(), "2".to_string());
        let reply = paginate(items.clone(), &q, "http://x/s").unwrap();
        let body = reply.body.unwrap();
        assert_eq!(body["results"], json!([2, 3]));
        assert_eq!(body["totalCount"], 5);
        let rels: Vec<&str> = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        assert_eq!(rels, ["previous", "self", "next"]);
        q.insert("includeCount".to_string(), "false".to_string());
        q.insert("itemsPerPage".to_string(), "501".to_string());
        assert!(paginate(items.clone(), &q, "u").is_err());
        q.insert("itemsPerPage".to_string(), "500".to_string());
        let body = paginate(items, &q, "u").unwrap().body.unwrap();
        assert!(body.get("totalCount").is_none());
    }
}
