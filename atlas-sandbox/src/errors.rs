//! The Atlas error envelope: `{detail, error, errorCode, parameters, reason}` plus the
//! `X-Error-Code` header, always served as plain `application/json`.
//!
//! `parameters` is an empty array except where the values real Atlas sends are recorded (the
//! duplicate endpoint service's `["AWS","US_EAST_1"]`): the OpenAPI subset declares its items
//! as objects, while real Atlas fills it with bare strings and numbers. The 401 of a refused
//! authentication is Atlas's own pretty-printed body, which has no `parameters` at all.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::model::ModelError;

/// One error answer of the emulated API.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Atlas `errorCode`.
    pub code: &'static str,
    /// Human-readable `detail`.
    pub detail: String,
    /// `(field, description)` pairs reported in `badRequestDetail.fields`.
    pub fields: Vec<(String, String)>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// Value of a `WWW-Authenticate` header (401 answers).
    pub challenge: Option<Box<str>>,
    /// The `parameters` array.
    pub parameters: Box<[Value]>,
}

impl ApiError {
    /// An error with `status`, `errorCode` `code` and `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after: None,
            challenge: None,
            parameters: Box::default(),
        }
    }

    /// A 400.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// A 404.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// A 409.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// A body-validation failure naming the offending field in `badRequestDetail`.
    pub fn validation(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        let mut err = Self::bad_request(
            "VALIDATION_ERROR",
            format!("Invalid value for attribute {field}: {description}"),
        );
        err.fields.push((field.to_string(), description));
        err
    }

    /// A path or query parameter `name` that breaks its pattern.
    pub fn invalid_attribute(name: &str, value: &str) -> Self {
        Self::bad_request(
            "INVALID_ATTRIBUTE",
            format!("Invalid attribute {name} specified: {value:?}."),
        )
    }

    /// A required body field `name` that is absent.
    pub fn missing_attribute(name: &str) -> Self {
        Self::bad_request(
            "MISSING_ATTRIBUTE",
            format!("The required attribute {name} was not specified."),
        )
    }

    /// A 401 carrying a `WWW-Authenticate` challenge.
    pub fn unauthorized(challenge: String) -> Self {
        let mut err = Self::new(
            StatusCode::UNAUTHORIZED,
            "UNEXPECTED_ERROR",
            "You are not authorized for this resource.",
        );
        err.challenge = Some(challenge.into_boxed_str());
        err
    }

    /// The answer for a method and path the API does not have.
    pub fn resource_not_found(method: &str, path: &str) -> Self {
        Self::not_found(
            "RESOURCE_NOT_FOUND",
            format!("Cannot find resource {method} {path}."),
        )
    }

    /// Sets the `parameters` array.
    pub fn with_parameters(mut self, parameters: Vec<Value>) -> Self {
        self.parameters = parameters.into_boxed_slice();
        self
    }

    /// Adds a `Retry-After` header.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The JSON body Atlas sends for this error.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "detail": self.detail,
            "error": self.status.as_u16(),
            "errorCode": self.code,
            "parameters": self.parameters,
            "reason": self.status.canonical_reason().unwrap_or("Unknown"),
        });
        if !self.fields.is_empty() {
            let fields: Vec<Value> = self
                .fields
                .iter()
                .map(|(field, description)| json!({"field": field, "description": description}))
                .collect();
            body["badRequestDetail"] = json!({ "fields": fields });
        }
        body
    }

    /// The errorCode Atlas-style clients see for a bare HTTP status (used by fault injection).
    pub fn code_for_status(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 => "VALIDATION_ERROR",
            401 => "UNEXPECTED_ERROR",
            403 => "FORBIDDEN",
            404 => "RESOURCE_NOT_FOUND",
            409 => "CONFLICT",
            429 => "RATE_LIMITED_TOKEN_BUCKET",
            502 => "BAD_GATEWAY",
            503 => "SERVICE_UNAVAILABLE",
            504 => "GATEWAY_TIMEOUT",
            _ => "UNEXPECTED_ERROR",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = if self.challenge.is_some() {
            // Atlas's refused authentication, byte for byte (pretty-printed, no parameters).
            format!(
                "{{\n  \"error\" : {},\n  \"reason\" : \"{}\",\n  \"detail\" : \"{}\",\n  \"errorCode\" : \"{}\"\n}}",
                self.status.as_u16(),
                self.status.canonical_reason().unwrap_or("Unauthorized"),
                self.detail,
                self.code
            )
        } else {
            self.body().to_string()
        };
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("X-Error-Code", HeaderValue::from_static(self.code));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = &self.challenge
            && let Ok(value) = HeaderValue::from_str(challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// How each model failure is reported by the API.
impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        let detail = e.to_string();
        match e {
            ModelError::GroupNotFound(_) => ApiError::not_found("GROUP_NOT_FOUND", detail),
            ModelError::ServerlessInstanceNotFound { .. } => {
                ApiError::not_found("SERVERLESS_INSTANCE_NOT_FOUND", detail)
            }
            ModelError::ClusterNotFound { .. } => ApiError::not_found("CLUSTER_NOT_FOUND", detail),
            ModelError::DeploymentExists { .. } => {
                ApiError::conflict("DUPLICATE_CLUSTER_NAME", detail)
            }
            ModelError::TenantEndpointNotFound { .. } => {
                ApiError::not_found("TENANT_PRIVATE_ENDPOINT_NOT_FOUND", detail)
            }
            ModelError::ServiceNotFound { .. } | ModelError::InterfaceEndpointNotFound { .. } => {
                ApiError::not_found("PRIVATE_ENDPOINT_SERVICE_NOT_FOUND", detail)
            }
            ModelError::ServiceAlreadyExists { provider, region } => {
                ApiError::conflict("PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION", detail)
                    .with_parameters(vec![json!(provider), json!(region)])
            }
            ModelError::ServiceHasEndpoints => {
                ApiError::conflict("CANNOT_DELETE_PRIVATELINK_WITH_ENDPOINTS", detail)
            }
            ModelError::ServiceNotAvailable { .. } => {
                ApiError::conflict("PRIVATELINK_CANNOT_ACCEPT_ENDPOINTS", detail)
            }
            ModelError::InterfaceEndpointExists { .. } => {
                ApiError::conflict("PRIVATELINK_INTERFACE_ENDPOINT_ALREADY_EXISTS", detail)
            }
            ModelError::NotReserved { .. } | ModelError::EndpointIdLocked { .. } => {
                ApiError::bad_request("VALIDATION_ERROR", detail)
            }
            ModelError::Invalid { field, message } => ApiError::validation(field, message),
            ModelError::Missing(field) => ApiError::missing_attribute(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_atlas_shape() {
        let err = ApiError::not_found("GROUP_NOT_FOUND", "No group with ID x exists.");
        let body = err.body();
        assert_eq!(body["error"], 404);
        assert_eq!(body["errorCode"], "GROUP_NOT_FOUND");
        assert_eq!(body["reason"], "Not Found");
        assert_eq!(body["parameters"], json!([]));
        assert!(body.get("badRequestDetail").is_none());
    }

    #[test]
    fn validation_errors_name_the_field() {
        let body = ApiError::validation("comment", "longer than 80 characters").body();
        assert_eq!(body["errorCode"], "VALIDATION_ERROR");
        assert_eq!(body["badRequestDetail"]["fields"][0]["field"], "comment");
    }
}
