//! The outermost middleware: every request outside `/__sandbox` is logged to stderr and kept
//! for `GET /__sandbox/requests`, and every answer gets the `x-ms-request-id` and
//! `x-ms-correlation-request-id` headers ARM sends.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::{AppState, RequestRecord, lock};

/// Path prefix of the control API, which this middleware leaves alone.
pub const CONTROL_PREFIX: &str = "/__sandbox";

const MAX_LOG: usize = 100_000;

/// The middleware.
pub async fn record(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let mut response = next.run(req).await;
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-ms-request-id", v.clone());
        response
            .headers_mut()
            .insert("x-ms-correlation-request-id", v);
    }
    let status = response.status().as_u16();
    // The token request's query never holds the secret (it is in the form body).
    eprintln!("{method} {path} -> {status}");
    let mut log = lock(&app.requests);
    if log.len() >= MAX_LOG {
        log.remove(0);
    }
    log.push(RequestRecord {
        method,
        path,
        query,
        status,
    });
    response
}
