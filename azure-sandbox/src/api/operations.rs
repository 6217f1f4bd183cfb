//! Asynchronous operations: the `Azure-AsyncOperation` status resource and the `Location`
//! result resource of a private endpoint create, update or delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::add_operation_headers;
use crate::errors::ArmError;
use crate::model::endpoints::{Operation, OperationKind, OperationStatus};
use crate::model::{check_subscription, key};
use crate::state::AppState;
use crate::views;

type Shared = State<Arc<AppState>>;

fn find(app: &AppState, sub: &str, id: &str) -> Result<Operation, ArmError> {
    check_subscription(sub)?;
    app.world()
        .operations
        .get(id)
        .filter(|op| op.sub == key(sub))
        .cloned()
        .ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                format!("The operation '{id}' was not found."),
            )
        })
}

fn failure(op: &Operation) -> ArmError {
    let (code, message) = op.failure.clone().unwrap_or_default();
    let status = if code.starts_with("Internal") {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    ArmError::new(status, code, message)
}

/// `GET .../locations/{location}/operations/{id}`: `{"status", "error"?}`.
pub async fn status(
    State(app): Shared,
    Path((sub, _location, id)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let op = find(&app, &sub, &id)?;
    let body = match op.status {
        OperationStatus::InProgress => json!({"status": "InProgress"}),
        OperationStatus::Succeeded => json!({"status": "Succeeded"}),
        OperationStatus::Failed => {
            let (code, message) = op.failure.clone().unwrap_or_default();
            json!({"status": "Failed", "error": {"code": code, "message": message}})
        }
    };
    Ok(Json(body).into_response())
}

/// `GET .../locations/{location}/operationResults/{id}`: 202 while running, then 204 for a
/// delete, 200 with the endpoint for a create or update, or the failure.
pub async fn result(
    State(app): Shared,
    Path((sub, _location, id)): Path<(String, String, String)>,
) -> Result<Response, ArmError> {
    let op = find(&app, &sub, &id)?;
    match (op.status, op.kind) {
        (OperationStatus::InProgress, _) => {
            let mut response = StatusCode::ACCEPTED.into_response();
            add_operation_headers(&mut response, &app.base_url, &op);
            Ok(response)
        }
        (OperationStatus::Failed, _) => Err(failure(&op)),
        (OperationStatus::Succeeded, OperationKind::Delete) => {
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (OperationStatus::Succeeded, OperationKind::Put) => {
            let world = app.world();
            let pe = world.endpoints.get(&op.target).ok_or_else(|| {
                ArmError::new(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    "The private endpoint is gone.",
                )
            })?;
            let nic = world.nics.contains_key(&key(&pe.nic_id));
            Ok(Json(views::endpoint(pe, nic)).into_response())
        }
    }
}
