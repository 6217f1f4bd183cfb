//! The OAuth 2.0 endpoints of service accounts: `POST /api/oauth/token` (client credentials)
//! and `POST /api/oauth/revoke`. They need no other authentication and are not rate-limited.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::{OAuthError, TOKEN_TTL};
use crate::errors::ApiError;
use crate::query::parse_query;
use crate::state::{AppState, lock};

type Shared = State<Arc<AppState>>;

fn oauth_error(e: OAuthError) -> Response {
    let status = if e == OAuthError::InvalidClient {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": e.code(), "error_description": e.to_string()}).to_string(),
    )
        .into_response()
}

fn basic(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `POST /api/oauth/token`: issues a bearer token for a service account's credentials.
pub async fn token(State(app): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_query(std::str::from_utf8(&body).unwrap_or(""));
    match lock(&app.auth).issue_token(basic(&headers), &form, Instant::now()) {
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
        Err(e) => oauth_error(e),
    }
}

/// `POST /api/oauth/revoke`: revokes a bearer token.
pub async fn revoke(State(app): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_query(std::str::from_utf8(&body).unwrap_or(""));
    match lock(&app.auth).revoke(basic(&headers), &form) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => oauth_error(e),
    }
}

/// Any other method on the OAuth endpoints: `RESOURCE_NOT_FOUND`.
pub async fn wrong_method(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::resource_not_found(method.as_str(), uri.path())
}
