//! The HTTP front: binding, printing the base URL, and the assembly of the service: the control
//! API under `/__sandbox`, the Entra ID token endpoint, the Resource Manager routes, and the
//! middleware every request goes through first (request log, path canonicalization, then the
//! token and `api-version` checks).

use std::io::Write;
use std::sync::Arc;

use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode};
use axum::middleware::{from_fn_with_state, map_request};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router, ServiceExt};
use serde_json::json;
use tower::ServiceBuilder;

use crate::cli::Config;
use crate::errors::ArmError;
use crate::record::CONTROL_PREFIX;
use crate::state::AppState;
use crate::{api, control, entra, guards, record};

/// Failures while starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Binds, prints the base URL as the first stdout line, and serves until killed.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let bind = |source| ServerError::Bind {
        addr: config.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let base_url = format!("http://{addr}");
    let mut stdout = std::io::stdout();
    // Nothing useful can be done if stdout is closed; the server still runs.
    let _ = writeln!(stdout, "{base_url}");
    let _ = stdout.flush();
    eprintln!(
        "azure-sandbox listening on {base_url} (tenant {}, client {})",
        config.tenant_id, config.client_id
    );
    let state = Arc::new(AppState::new(config, base_url));
    let service = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), record::record))
        .layer(map_request(guards::canonicalize))
        .layer(from_fn_with_state(state.clone(), guards::guard))
        .service(router(state));
    axum::serve(listener, service.into_make_service())
        .await
        .map_err(ServerError::Serve)
}

/// The routes: control API, token endpoint and Resource Manager.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .nest(CONTROL_PREFIX, control::router())
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
        .merge(api::router())
        .fallback(unmatched)
        .with_state(state)
}

/// The answer for a path no route matches: ARM's `InvalidResourceType` under
/// `/subscriptions`, a plain 404 elsewhere.
async fn unmatched(method: Method, uri: OriginalUri) -> Response {
    let path = uri.path();
    if guards::is_arm(path) {
        return ArmError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!("The resource type for '{method} {path}' could not be found."),
        )
        .into_response();
    }
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("no endpoint {method} {path}")})),
    )
        .into_response()
}
