//! What the admission pipeline hands to the resource handlers of one `/api/atlas` request:
//! the base URL of its links, its query and the instant it is handled
//! at.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::errors::ApiError;

/// One admitted `/api/atlas` request, stored in the request's extensions by the pipeline.
#[derive(Debug, Clone)]
pub struct ApiContext {
    /// `http://host:port/api/atlas/v2` (or `v1.0`): the base of the links in answers.
    pub base: String,
    /// The decoded query parameters.
    pub query: HashMap<String, String>,
    /// The instant the request is handled at.
    pub now: Instant,
    /// The newest version date the `Accept` header asks for (v2 only).
    pub version_date: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ApiContext>()
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNEXPECTED_ERROR",
                    "The request did not pass the API pipeline.",
                )
            })
    }
}
