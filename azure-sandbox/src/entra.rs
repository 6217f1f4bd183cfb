//! Microsoft Entra ID's token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client credentials
//! only) with its `AADSTS` error bodies, and the `Authorization: Bearer` header of every
//! Resource Manager request (`AuthenticationFailed` when it is missing; the token itself is
//! checked by [`crate::tokens`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::errors::ArmError;
use crate::state::{AppState, lock};

/// Checks the `Authorization: Bearer` header of a Resource Manager request.
pub fn check_bearer(app: &AppState, headers: &HeaderMap) -> Result<(), ArmError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(value) = value else {
        return Err(ArmError::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            ArmError::new(
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            )
        })?;
    lock(&app.tokens).check(token.trim(), Instant::now())
}

/// An Entra ID error answer.
fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4();
    let time = humantime::format_rfc3339_seconds(SystemTime::now());
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {trace} Timestamp: {time}"
        ),
        "error_codes": [code],
        "timestamp": time.to_string(),
        "trace_id": trace.to_string(),
        "correlation_id": trace.to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, axum::Json(body)).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(app): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let config = &app.config;
    if !tenant.eq_ignore_ascii_case(&config.tenant_id) {
        let text = format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        );
        return aad_error(StatusCode::BAD_REQUEST, "invalid_request", 90002, &text);
    }
    if field("grant_type") != "client_credentials" {
        let text = "The app requested an unsupported grant type.";
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            text,
        );
    }
    if field("client_id") != config.client_id {
        let text = format!(
            "Application with identifier '{}' was not found in the directory '{tenant}'.",
            field("client_id")
        );
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &text,
        );
    }
    if field("client_secret") != config.client_secret {
        let text = format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
            config.client_id
        );
        return aad_error(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, &text);
    }
    let Some(audience) = field("scope").strip_suffix("/.default").map(String::from) else {
        let text = format!(
            "The provided value for scope {} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            field("scope")
        );
        return aad_error(StatusCode::BAD_REQUEST, "invalid_scope", 1002012, &text);
    };
    let ttl = app.world().realism.token_ttl_s;
    let access_token = lock(&app.tokens).issue(audience, Duration::from_secs(ttl), Instant::now());
    let body = json!({
        "token_type": "Bearer",
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": access_token,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}
