//! Admission of `/api/atlas` requests, as axum middleware run before routing: authentication
//! (Digest or Bearer, 401), version negotiation (406), rate limiting per endpoint set and
//! project (429) and fault injection, in that order; then the request goes on with its
//! [`ApiContext`] and its path normalised for routing. On the way back the handler's [`Reply`]
//! is rendered, a successful write may become a ghost (its work done, its answer replaced by a
//! 500/503 or never sent), and the `RateLimit-*` headers (and the deprecation headers of
//! serverless private endpoints) are added to every answer but a refused authentication's.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use crate::auth::auth_kind;
use crate::conn::KillSwitch;
use crate::context::ApiContext;
use crate::errors::ApiError;
use crate::ids;
use crate::negotiation::{ApiVersion, accepts_version, requested_date, segments, split_api_path};
use crate::query::parse_query;
use crate::ratelimit::endpoint_set;
use crate::realism::Ghost;
use crate::reply::{Reply, render};
use crate::state::{AppState, lock};

const SUNSET: &str = "Thu, 22 Jan 2026 00:00:00 GMT";

/// Marks an answer that is an injected fault (read by the request log).
#[derive(Debug, Clone, Copy)]
pub struct Injected;

/// Marks a ghost write (read by the request log): the work was done, the answer was replaced
/// by an error or, when `dropped`, never sent.
#[derive(Debug, Clone, Copy)]
pub struct GhostMark {
    /// The connection was closed without an answer.
    pub dropped: bool,
}

/// What admission learnt about one request.
struct Admission {
    /// The rate-limit bucket: `<endpoint set>/<project id>`, or `<endpoint set>/*`.
    bucket: String,
    /// Tokens left after this request, once it was counted.
    remaining: Option<u64>,
    injected: bool,
}

/// The middleware: admits `/api/atlas` requests and passes every other request on untouched.
pub async fn admit(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let original = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    let Some((version, rest)) = split_api_path(original.path()) else {
        return next.run(req).await;
    };
    let now = Instant::now();
    let parts = segments(rest);
    let set = endpoint_set(&parts);
    let bucket = match parts.as_slice() {
        ["groups", g, ..] if ids::is_object_id(g) => format!("{set}/{g}"),
        _ => format!("{set}/*"),
    };
    let switch = req
        .extensions()
        .get::<ConnectInfo<KillSwitch>>()
        .map(|c| c.0.clone());
    let write = matches!(*req.method(), Method::POST | Method::PATCH);
    let version_date = match version {
        ApiVersion::V2 => requested_date(
            req.headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok()),
        ),
        ApiVersion::V1 => None,
    };
    let serverless_pe = rest.contains("/privateEndpoint/serverless/");
    let mut admission = Admission {
        bucket,
        remaining: None,
        injected: false,
    };
    let query = parse_query(original.query().unwrap_or(""));
    let mut response = match check(&app, &req, &original, version, now, &mut admission) {
        Err(err) => err.into_response(),
        Ok(()) => {
            let ctx = ApiContext {
                base: format!("{}{}", app.base_url, version.prefix()),
                query: query.clone(),
                now,
                version_date,
            };
            lock(&app.store).advance(now);
            let mut req = req;
            *req.uri_mut() = routing_uri(&original, version, rest);
            req.extensions_mut().insert(ctx);
            let mut response = next.run(req).await;
            let response = match response.extensions_mut().remove::<Reply>() {
                Some(reply) => render(reply, version, &query),
                None => response,
            };
            if write && response.status().is_success() {
                haunt(&app, response, switch.as_ref())
            } else {
                response
            }
        }
    };
    if response.status() != StatusCode::UNAUTHORIZED {
        add_headers(&app, &mut response, &admission, now, serverless_pe);
    }
    if admission.injected {
        response.extensions_mut().insert(Injected);
    }
    response
}

/// Draws whether a successful write becomes a ghost: its work stays done, but its answer is
/// replaced by a 500/503, or its connection is cut so that no answer is sent at all. Without a
/// connection to cut (a request not served through the sandbox's listener) a drop becomes a
/// 503.
fn haunt(app: &AppState, response: Response, switch: Option<&KillSwitch>) -> Response {
    let ghost = lock(&app.ghosts).draw();
    let status = match (ghost, switch) {
        (Ghost::None, _) => return response,
        (Ghost::Drop, Some(switch)) => {
            switch.kill();
            let mut response = response;
            response
                .extensions_mut()
                .insert(GhostMark { dropped: true });
            return response;
        }
        (Ghost::Drop, None) => 503,
        (Ghost::Status(code), _) => code,
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut err = ApiError::new(
        status,
        ApiError::code_for_status(status),
        "An unexpected error has occurred. Please try again later.",
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        err = err.with_retry_after(1);
    }
    let mut response = err.into_response();
    response
        .extensions_mut()
        .insert(GhostMark { dropped: false });
    response
}

/// Runs the admission checks in order; records the bucket's remaining tokens and whether a
/// fault was injected.
fn check(
    app: &AppState,
    req: &Request,
    original: &Uri,
    version: ApiVersion,
    now: Instant,
    admission: &mut Admission,
) -> Result<(), ApiError> {
    let path_and_query = original
        .path_and_query()
        .map_or_else(|| original.path(), PathAndQuery::as_str);
    authenticate(
        app,
        req.headers(),
        req.method().as_str(),
        path_and_query,
        now,
    )?;
    if version == ApiVersion::V2 {
        let accept = req
            .headers()
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
    take_token(app, original.path(), now, admission)?;
    if let Some(err) = injected_fault(app) {
        admission.injected = true;
        return Err(err);
    }
    Ok(())
}

/// Verifies the `Authorization` header when authentication is on.
fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    method: &str,
    path_and_query: &str,
    now: Instant,
) -> Result<(), ApiError> {
    let mut auth = lock(&app.auth);
    if !auth.enabled() {
        return Ok(());
    }
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let stale = match auth_kind(headers) {
        "digest" => match auth.verify_digest(header, method, path_and_query, now) {
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

/// Takes a token from the request's bucket; a 429 when it is empty.
fn take_token(
    app: &AppState,
    path: &str,
    now: Instant,
    admission: &mut Admission,
) -> Result<(), ApiError> {
    let mut limiter = lock(&app.limiter);
    let limit = limiter.limit;
    match limiter.take(&admission.bucket, now) {
        Ok(left) => {
            admission.remaining = Some(left);
            Ok(())
        }
        Err(limited) => {
            admission.remaining = Some(0);
            let scope = path.trim_start_matches('/');
            Err(ApiError::new(
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
            .with_retry_after(limited.retry_after_secs))
        }
    }
}

/// Draws whether this request gets an injected fault, and which.
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

/// The URI the router matches: the API prefix and the non-empty segments of the rest of the
/// path, each `%` escaped as `%25` so that the path parameters the router decodes are the
/// segments exactly as received.
fn routing_uri(original: &Uri, version: ApiVersion, rest: &str) -> Uri {
    let mut path = version.prefix().to_string();
    for segment in segments(rest) {
        path.push('/');
        path.push_str(&segment.replace('%', "%25"));
    }
    if let Some(query) = original.query() {
        path.push('?');
        path.push_str(query);
    }
    path.parse().unwrap_or_else(|_| original.clone())
}

/// Adds the `RateLimit-*` headers, and `Deprecation`/`Sunset` on serverless private endpoints.
fn add_headers(
    app: &AppState,
    response: &mut Response,
    admission: &Admission,
    now: Instant,
    serverless_pe: bool,
) {
    let (capacity, left) = {
        let mut limiter = lock(&app.limiter);
        let capacity = limiter.limit.capacity;
        let left = admission
            .remaining
            .unwrap_or_else(|| limiter.remaining(&admission.bucket, now));
        (capacity, left)
    };
    let headers = response.headers_mut();
    headers.insert("RateLimit-Limit", HeaderValue::from(capacity));
    headers.insert("RateLimit-Remaining", HeaderValue::from(left));
    if serverless_pe {
        headers.insert("Deprecation", HeaderValue::from_static("true"));
        headers.insert("Sunset", HeaderValue::from_static(SUNSET));
    }
}
