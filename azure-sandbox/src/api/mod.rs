//! The Resource Manager routes, one handler per operation: the fixtures
//! ([`fixtures`]: resource groups, virtual networks, subnets), private endpoints and network
//! interfaces ([`endpoints`]) and asynchronous operations ([`operations`]).

pub mod endpoints;
pub mod fixtures;
pub mod operations;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use crate::errors::ArmError;
use crate::model::endpoints::{Operation, OperationKind};
use crate::state::AppState;

const GROUP: &str = "/subscriptions/{sub}/resourceGroups/{group}";
const NETWORK: &str = "/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Network";
const SUB_NETWORK: &str = "/subscriptions/{sub}/providers/Microsoft.Network";

/// The `api-version` the operation URLs carry.
pub const OPERATION_VERSION: &str = "2024-05-01";

/// The routes under `/subscriptions`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(GROUP, get(fixtures::get_group).put(fixtures::put_group))
        .route(
            &format!("{NETWORK}/virtualNetworks/{{vnet}}"),
            get(fixtures::get_vnet).put(fixtures::put_vnet),
        )
        .route(
            &format!("{NETWORK}/virtualNetworks/{{vnet}}/subnets/{{subnet}}"),
            get(fixtures::get_subnet).put(fixtures::put_subnet),
        )
        .route(
            &format!("{NETWORK}/privateEndpoints"),
            get(endpoints::list_in_group),
        )
        .route(
            &format!("{NETWORK}/privateEndpoints/{{name}}"),
            get(endpoints::get)
                .put(endpoints::put)
                .delete(endpoints::delete),
        )
        .route(
            &format!("{NETWORK}/networkInterfaces/{{name}}"),
            get(endpoints::get_nic),
        )
        .route(
            &format!("{SUB_NETWORK}/privateEndpoints"),
            get(endpoints::list_in_subscription),
        )
        .route(
            &format!("{SUB_NETWORK}/locations/{{location}}/operations/{{id}}"),
            get(operations::status),
        )
        .route(
            &format!("{SUB_NETWORK}/locations/{{location}}/operationResults/{{id}}"),
            get(operations::result),
        )
}

/// A request body as JSON, or 400 `InvalidRequestContent`.
pub fn parse_json(body: &Bytes) -> Result<Value, ArmError> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body must be a JSON object.",
            )
        })
}

/// The `Azure-AsyncOperation` URL of `op`.
pub fn status_url(base: &str, op: &Operation) -> String {
    format!(
        "{base}/subscriptions/{}/providers/Microsoft.Network/locations/{}/operations/{}?api-version={OPERATION_VERSION}",
        op.sub, op.location, op.id
    )
}

/// The `Location` URL of `op`.
pub fn result_url(base: &str, op: &Operation) -> String {
    format!(
        "{base}/subscriptions/{}/providers/Microsoft.Network/locations/{}/operationResults/{}?api-version={OPERATION_VERSION}",
        op.sub, op.location, op.id
    )
}

/// Adds the headers of a running operation: `Azure-AsyncOperation`, `Retry-After` (seconds
/// left, at least 1) and, for a delete, `Location`.
pub fn add_operation_headers(response: &mut Response, base: &str, op: &Operation) {
    let headers = response.headers_mut();
    let left = op
        .due
        .saturating_duration_since(std::time::Instant::now())
        .as_secs()
        + 1;
    headers.insert(header::RETRY_AFTER, HeaderValue::from(left));
    if let Ok(v) = HeaderValue::from_str(&status_url(base, op)) {
        headers.insert("Azure-AsyncOperation", v);
    }
    if op.kind == OperationKind::Delete
        && let Ok(v) = HeaderValue::from_str(&result_url(base, op))
    {
        headers.insert(header::LOCATION, v);
    }
}
