//! The outermost middleware of every request outside `/__sandbox`: the configured latency, the
//! buffering of the request body, and the request log (stderr and `GET /__sandbox/requests`).
//! It also drops the `Allow` header the router adds to method-not-allowed answers, which Atlas
//! does not send.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::auth_kind;
use crate::gate::{GhostMark, Injected};
use crate::state::{AppState, RequestRecord, lock};

const MAX_LOG: usize = 100_000;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Path prefix of the control API, which this middleware leaves alone.
pub const CONTROL_PREFIX: &str = "/__sandbox";

/// The middleware.
pub async fn record(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(req).await;
    }
    let latency = lock(&app.faults).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (mut parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let uri = parts.uri.clone();
    let method = parts.method.clone();
    let auth = auth_kind(&parts.headers);
    parts.extensions.insert(OriginalUri(uri.clone()));
    let mut response = next.run(Request::from_parts(parts, Body::from(body))).await;
    response.headers_mut().remove(header::ALLOW);
    let injected = response.extensions().get::<Injected>().is_some();
    let ghost = response.extensions().get::<GhostMark>().copied();
    let status = response.status().as_u16();
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string());
    let note = match (injected, ghost) {
        (true, _) => " (injected)",
        (_, Some(GhostMark { dropped: true })) => " (ghost, connection dropped)",
        (_, Some(GhostMark { dropped: false })) => " (ghost)",
        _ => "",
    };
    eprintln!("{method} {path_and_query} -> {status}{note}");
    let mut log = lock(&app.requests);
    if log.len() >= MAX_LOG {
        log.remove(0);
    }
    log.push(RequestRecord {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(String::from),
        status,
        time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        auth,
        injected,
        ghost: ghost.is_some(),
        dropped: ghost.is_some_and(|g| g.dropped),
    });
    response
}
