//! The Azure Resource Manager error envelope `{"error": {"code", "message"}}`, with the
//! `WWW-Authenticate` challenge of a 401 and the `Retry-After` of a 409/429.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One error answer of the emulated Resource Manager.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ArmError {
    /// HTTP status.
    pub status: StatusCode,
    /// ARM `error.code`.
    pub code: String,
    /// ARM `error.message`.
    pub message: String,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ArmError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 400.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A 404 `ResourceNotFound` for the resource `kind` (`Microsoft.Network/privateEndpoints`)
    /// named `name` in resource group `group`.
    pub fn resource_not_found(kind: &str, name: &str, group: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{kind}/{name}' under resource group '{group}' was not found. \
                 For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// A 404 `ResourceGroupNotFound`.
    pub fn group_not_found(group: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        )
    }

    /// A 400 `InvalidRequestFormat` for a body that lacks or mistypes `what`.
    pub fn bad_body(what: &str) -> Self {
        Self::bad_request(
            "InvalidRequestFormat",
            format!("Cannot parse the request. Value for {what} is missing or invalid."),
        )
    }

    /// A 409 `AnotherOperationInProgress` on `id`, to be retried after `seconds`.
    pub fn busy(id: &str, operation: &str, seconds: u64) -> Self {
        let mut err = Self::new(
            StatusCode::CONFLICT,
            "AnotherOperationInProgress",
            format!(
                "Another operation on this or dependent resource is in progress. To retrieve \
                 status of the operation use uri: {operation}. Resource: {id}."
            ),
        );
        err.retry_after = Some(seconds);
        err
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-ms-failure-cause", HeaderValue::from_static("gateway"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"",
                ),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
