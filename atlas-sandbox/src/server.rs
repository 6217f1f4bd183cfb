//! The HTTP front: binding, the background ticker, and the assembly of the service: the control
//! API under `/__sandbox`, the OAuth endpoints, the resources under `/api/atlas/v2` and
//! `/api/atlas/v1.0`, and the middleware every `/api` request goes through first (the request
//! log, then admission).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Router, ServiceExt};
use tower::ServiceBuilder;

use crate::azure::AzureClient;
use crate::cli::Config;
use crate::conn::{KillSwitch, KillableListener};
use crate::model::{Cloud, LinkCheck, ModelError};
use crate::negotiation::{V1_PREFIX, V2_PREFIX};
use crate::record::CONTROL_PREFIX;
use crate::state::{AppState, build_state, lock};
use crate::{api, control, gate, oauth, record};

const TICK: Duration = Duration::from_millis(50);

/// Failures while starting.
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
    /// A project or deployment given on the command line is invalid.
    #[error("invalid start-up object: {0}")]
    Seed(#[from] ModelError),
    /// Serving failed.
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
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
        "atlas-sandbox listening on {base_url} (auth {}, EC2 checks {}, Azure checks {})",
        if lock(&state.auth).enabled() {
            "on"
        } else {
            "off"
        },
        config.ec2_endpoint.as_deref().unwrap_or("off"),
        config.azure_endpoint.as_deref().unwrap_or("off"),
    );
    let service = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), record::record))
        .layer(from_fn_with_state(state.clone(), gate::admit))
        .service(router(state));
    axum::serve(
        KillableListener::new(listener),
        service.into_make_service_with_connect_info::<KillSwitch>(),
    )
    .await
    .map_err(ServerError::Serve)
}

/// The routes: control API, OAuth, and the resources under both API prefixes.
pub fn router(state: Arc<AppState>) -> Router {
    // The log middleware has already read the whole body of every `/api` request.
    let api = Router::new()
        .route(
            "/api/oauth/token",
            post(oauth::token).fallback(oauth::wrong_method),
        )
        .route(
            "/api/oauth/revoke",
            post(oauth::revoke).fallback(oauth::wrong_method),
        )
        .nest(V2_PREFIX, api::router())
        .nest(V1_PREFIX, api::router())
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .nest(CONTROL_PREFIX, control::router())
        .merge(api)
        .fallback(unmatched)
        .with_state(state)
}

/// The answer for a path no route matches.
async fn unmatched(State(app): State<Arc<AppState>>, method: Method, uri: OriginalUri) -> Response {
    if uri.path().starts_with(CONTROL_PREFIX) {
        return control::no_such_endpoint(&method, uri.path());
    }
    api::guards::unknown_resource(State(app), method, uri)
        .await
        .into_response()
}

/// Applies due transitions and runs cloud checks off the request path; each link's verdict is
/// then passed on to the cloud as the service owner's acceptance or rejection. With azure-sandbox
/// configured, also registers and removes the Private Link Services of AZURE services.
async fn ticker(state: Arc<AppState>) {
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        let (checks, register, retire, unlinked) = {
            let mut store = lock(&state.store);
            let now = Instant::now();
            store.advance(now);
            let checks = store.due_checks(now);
            if state.azure.is_some() {
                let retire = std::mem::take(&mut store.retired_services);
                let unlinked = std::mem::take(&mut store.retired_links);
                (checks, store.services_to_register(), retire, unlinked)
            } else {
                (checks, Vec::new(), Vec::new(), Vec::new())
            }
        };
        for check in checks {
            tokio::spawn(settle(state.clone(), check));
        }
        if let Some(azure) = state.azure.clone() {
            let work = ServiceWork {
                register,
                retire,
                unlinked,
            };
            tokio::spawn(sync_services(state.clone(), azure, work));
        }
    }
}

/// Runs one link's check against its cloud, applies the verdict and passes it on.
async fn settle(state: Arc<AppState>, check: LinkCheck) {
    let name = &check.vpce_id;
    let verdict = match (check.cloud, &state.ec2, &state.azure) {
        (Cloud::Aws, Some(ec2), _) => ec2.check(&check).await,
        (Cloud::Azure, _, Some(azure)) => azure.check(&check).await,
        // The store hands out checks only for configured clouds.
        _ => return,
    };
    if let Err(message) = &verdict {
        eprintln!("link {name} refused: {message}");
    }
    lock(&state.store).apply_verdict(&check, verdict.clone());
    let decided = match (check.cloud, &state.ec2, &state.azure) {
        // Plain moto does not know these calls: their errors are only logged.
        (Cloud::Aws, Some(ec2), _) => ec2
            .decide(&check, verdict.is_ok())
            .await
            .map_err(|e| e.to_string()),
        (Cloud::Azure, _, Some(azure)) => azure
            .decide(&check, &verdict)
            .await
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    };
    if let Err(e) = decided {
        eprintln!("link {name}: {e}");
    }
}

/// What the service owner has to do in azure-sandbox after a tick.
struct ServiceWork {
    /// Private Link Services to register: `(id, location)`.
    register: Vec<(String, String)>,
    /// Private Link Services to remove.
    retire: Vec<String>,
    /// Connections to disconnect: `(private endpoint id, Private Link Service id)`.
    unlinked: Vec<(String, String)>,
}

/// Registers new Private Link Services in azure-sandbox, disconnects the private endpoints of
/// removed links and removes retired services; a failed registration is tried again on a
/// later tick.
async fn sync_services(state: Arc<AppState>, azure: AzureClient, work: ServiceWork) {
    let ServiceWork {
        register,
        retire,
        unlinked,
    } = work;
    for (id, location) in register {
        match azure.register(&id, &location).await {
            Ok(()) => lock(&state.store).registered(&id),
            Err(e) => {
                eprintln!("private link service {id}: {e}");
                lock(&state.store).unregistered(&id);
            }
        }
    }
    for (endpoint, service) in unlinked {
        // The private endpoint may be gone already: nothing to disconnect then.
        if let Err(e) = azure.disconnect(&endpoint, &service).await {
            eprintln!("link {endpoint}: {e}");
        }
    }
    for id in retire {
        if let Err(e) = azure.retire(&id).await {
            eprintln!("private link service {id}: {e}");
        }
    }
}
