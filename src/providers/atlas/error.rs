//! Errors of the Atlas client: the parsed Atlas error envelope, credential
//! rejections, transport failures, wait outcomes and the serverless sunset.
//!
//! Every variant renders as one line and none of them ever carries a key,
//! secret, token or `Authorization` header.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use crate::wait::WaitError;

/// The date Atlas removed the serverless private endpoint operations.
pub const SERVERLESS_SUNSET_DATE: &str = "2026-01-22";

/// Everything that can go wrong when talking to the Atlas Administration API.
#[derive(Debug, Error)]
pub enum AtlasError {
    /// Atlas answered with an error envelope (or an unparseable error body).
    #[error("Atlas {method} {path} failed with HTTP {status}{}: {detail}", code_suffix(.error_code))]
    Api {
        /// The HTTP status of the answer.
        status: u16,
        /// Atlas's `errorCode`, empty when the body carried none.
        error_code: String,
        /// Atlas's `detail` (or `reason`), flattened to one line.
        detail: String,
        /// The HTTP method of the request, e.g. `GET`.
        method: String,
        /// The request path, without the query string.
        path: String,
    },
    /// The credentials were refused after a fresh authentication attempt.
    #[error("Atlas rejected the credentials for {method} {path} (HTTP 401): {detail}")]
    Unauthorized {
        /// Why, as one line: Atlas's message or the failed authentication step.
        detail: String,
        /// The HTTP method of the request, e.g. `GET`.
        method: String,
        /// The request path, without the query string.
        path: String,
    },
    /// A serverless private endpoint operation hit the post-sunset API.
    #[error(
        "Atlas answered {method} {path} with HTTP {status} {error_code}: serverless private endpoints were sunset on {SERVERLESS_SUNSET_DATE}, so use a dedicated cluster with the endpoint-service flow instead by setting `atlas: {{ dedicated_clusters: true }}` in the privlink file."
    )]
    ServerlessSunset {
        /// The HTTP status of the answer.
        status: u16,
        /// Atlas's `errorCode`, or `Gone` when the body carried none.
        error_code: String,
        /// The HTTP method of the request, e.g. `GET`.
        method: String,
        /// The request path, without the query string.
        path: String,
    },
    /// The request never got an HTTP answer (connection refused, timeout, …),
    /// also after retries.
    #[error("cannot reach Atlas for {method} {path}: {message}")]
    Transport {
        /// The HTTP method of the request, e.g. `GET`.
        method: String,
        /// The request path, without the query string.
        path: String,
        /// What went wrong with the connection, as one line.
        message: String,
    },
    /// A success answer whose body did not have the expected shape.
    #[error("unexpected Atlas response to {method} {path} (HTTP {status}): {message}")]
    Decode {
        /// The HTTP status of the answer.
        status: u16,
        /// The HTTP method of the request, e.g. `GET`.
        method: String,
        /// The request path, without the query string.
        path: String,
        /// Why the body could not be decoded.
        message: String,
    },
    /// Client construction problem: missing environment variables, bad base URL.
    #[error("Atlas client configuration: {0}")]
    Config(String),
    /// A wait ended because Atlas reported a terminal failure (FAILED, REJECTED, …).
    #[error("{address}: {step} failed: {message}")]
    Failed {
        /// The address of the resource the wait was for.
        address: String,
        /// The step waited on, e.g. "waiting for the endpoint link (AVAILABLE)".
        step: String,
        /// Atlas's `errorMessage`, or a description of the unexpected state.
        message: String,
    },
    /// A wait ran out of time.
    #[error("{address}: {step} timed out after {}s (last state: {last_state})", .waited.as_secs())]
    TimedOut {
        /// The address of the resource the wait was for.
        address: String,
        /// The step waited on, e.g. "waiting for the endpoint link (AVAILABLE)".
        step: String,
        /// The last remote state seen.
        last_state: String,
        /// How long the wait lasted.
        waited: Duration,
    },
    /// A poll inside a wait failed.
    #[error("{address}: {step}: {source}")]
    WaitPoll {
        /// The address of the resource the wait was for.
        address: String,
        /// The step waited on, e.g. "waiting for the endpoint link (AVAILABLE)".
        step: String,
        /// The error of the failed poll.
        #[source]
        source: std::sync::Arc<AtlasError>,
    },
}

fn code_suffix(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!(" {code}")
    }
}

impl AtlasError {
    /// The HTTP status of the underlying answer, if any (looks through waits).
    pub fn status(&self) -> Option<u16> {
        match self {
            AtlasError::Api { status, .. }
            | AtlasError::ServerlessSunset { status, .. }
            | AtlasError::Decode { status, .. } => Some(*status),
            AtlasError::Unauthorized { .. } => Some(401),
            AtlasError::WaitPoll { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Atlas's `errorCode`, if the error came from an error envelope.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            AtlasError::Api { error_code, .. }
            | AtlasError::ServerlessSunset { error_code, .. } => {
                Some(error_code.as_str()).filter(|c| !c.is_empty())
            }
            AtlasError::WaitPoll { source, .. } => source.error_code(),
            _ => None,
        }
    }

    /// True when a wait found the object in a terminal failure (`FAILED`,
    /// `REJECTED`, deleted or being deleted under the wait): the object is
    /// unusable and must be replaced. Timeouts and API errors are not
    /// terminal; the object may still become usable.
    pub fn is_terminal(&self) -> bool {
        matches!(self, AtlasError::Failed { .. })
    }

    /// True for an Atlas `404` (e.g. `SERVERLESS_INSTANCE_NOT_FOUND` when
    /// listing the endpoints of an instance that does not exist).
    pub fn is_not_found(&self) -> bool {
        match self {
            AtlasError::Api { status, .. } => *status == 404,
            AtlasError::WaitPoll { source, .. } => source.is_not_found(),
            _ => false,
        }
    }

    /// True for the serverless sunset error (also inside a wait).
    pub fn is_serverless_sunset(&self) -> bool {
        match self {
            AtlasError::ServerlessSunset { .. } => true,
            AtlasError::WaitPoll { source, .. } => source.is_serverless_sunset(),
            _ => false,
        }
    }

    pub(crate) fn from_wait<S>(err: WaitError<S>) -> AtlasError
    where
        S: std::error::Error + Into<std::sync::Arc<AtlasError>> + 'static,
    {
        match err {
            WaitError::Failed {
                address,
                step,
                message,
            } => AtlasError::Failed {
                address,
                step,
                message,
            },
            WaitError::TimedOut {
                address,
                step,
                last_state,
                waited,
            } => AtlasError::TimedOut {
                address,
                step,
                last_state,
                waited,
            },
            WaitError::Poll {
                address,
                step,
                source,
            } => AtlasError::WaitPoll {
                address,
                step,
                source: source.into(),
            },
        }
    }
}

/// The Atlas error envelope `{detail, error, errorCode, parameters, reason}`.
/// Every field is optional so that odd bodies still parse.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    /// The human-readable explanation.
    #[serde(default)]
    pub detail: Option<String>,
    /// The HTTP status repeated in the body (an integer in Atlas's envelope;
    /// OAuth error bodies put a string code here instead).
    #[serde(default)]
    pub error: Option<Value>,
    /// The symbolic error code, e.g. `RESOURCE_NOT_FOUND`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// The values substituted into `detail`.
    #[serde(default)]
    pub parameters: Option<Value>,
    /// The HTTP reason phrase, e.g. `Not Found`.
    #[serde(default)]
    pub reason: Option<String>,
    /// OAuth token endpoint errors use `error_description`.
    #[serde(default, rename = "error_description")]
    pub error_description: Option<String>,
}

impl ErrorEnvelope {
    /// Parses an error body; `None` when it is not a JSON object.
    pub fn parse(body: &[u8]) -> Option<ErrorEnvelope> {
        let value: Value = serde_json::from_slice(body).ok()?;
        if !value.is_object() {
            return None;
        }
        serde_json::from_value(value).ok()
    }

    /// The most useful human-readable text in the envelope.
    pub fn message(&self) -> Option<String> {
        let oauth_error = self.error.as_ref().and_then(Value::as_str);
        [
            self.detail.as_deref(),
            self.error_description.as_deref(),
            self.reason.as_deref(),
            oauth_error,
        ]
        .into_iter()
        .flatten()
        .map(one_line)
        .find(|s| !s.is_empty())
    }
}

/// Collapses whitespace (Atlas pretty-prints some bodies) and caps the length,
/// so that error messages stay on one line.
pub(crate) fn one_line(text: &str) -> String {
    const MAX: usize = 300;
    let mut out = String::with_capacity(text.len().min(MAX + 3));
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().count() > MAX {
        out = out.chars().take(MAX).collect::<String>() + "...";
    }
    out
}

/// True when an error answer on a serverless path means the serverless API is
/// no longer available for this deployment.
pub(crate) fn is_sunset_answer(path: &str, status: u16, error_code: &str) -> bool {
    if !path.contains("/serverless") {
        return false;
    }
    status == 410
        || error_code == "VERSION_GONE"
        || error_code == "NOT_SERVERLESS_TENANT_CLUSTER"
        || error_code.starts_with("CANNOT_USE_")
}

/// Builds the error for a non-success answer.
pub(crate) fn api_error(status: u16, body: &[u8], method: &str, path: &str) -> AtlasError {
    let envelope = ErrorEnvelope::parse(body);
    let error_code = envelope
        .as_ref()
        .and_then(|e| e.error_code.clone())
        .unwrap_or_default();
    if is_sunset_answer(path, status, &error_code) {
        return AtlasError::ServerlessSunset {
            status,
            error_code: if error_code.is_empty() {
                "Gone".to_owned()
            } else {
                error_code
            },
            method: method.to_owned(),
            path: path.to_owned(),
        };
    }
    let detail = envelope
        .as_ref()
        .and_then(ErrorEnvelope::message)
        .unwrap_or_else(|| {
            let text = one_line(&String::from_utf8_lossy(body));
            if text.is_empty() {
                "no error body".to_owned()
            } else {
                text
            }
        });
    AtlasError::Api {
        status,
        error_code,
        detail,
        method: method.to_owned(),
        path: path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_envelope() {
        let body = br#"{"detail":"No cluster named cluster-83 exists in group b0123456789abcdef012345b.","error":404,"errorCode":"CLUSTER_NOT_FOUND","parameters":["cluster-83","b0123456789abcdef012345b"],"reason":"Not Found"}"#;
        let err = api_error(
            404,
            body,
            "GET",
            "/api/atlas/v2/groups/g/clusters/cluster-83",
        );
        match &err {
            AtlasError::Api {
                status,
                error_code,
                detail,
                ..
            } => {
                assert_eq!(*status, 404);
                assert_eq!(error_code, "CLUSTER_NOT_FOUND");
                assert!(detail.starts_with("No cluster named cluster-83"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert_eq!(
            text,
            "Atlas GET /api/atlas/v2/groups/g/clusters/cluster-83 failed with HTTP 404 CLUSTER_NOT_FOUND: No cluster named cluster-83 exists in group b0123456789abcdef012345b."
        );
        assert_eq!(err.error_code(), Some("CLUSTER_NOT_FOUND"));
        assert_eq!(err.status(), Some(404));
        assert!(err.is_not_found());
        assert!(!err.is_terminal());
    }

    #[test]
    fn pretty_printed_and_null_fields_become_one_line() {
        let body = b"{\n  \"error\" : 401,\n  \"reason\" : \"Unauthorized\",\n  \"detail\" : \"You are not\\n   authorized for this resource.\",\n  \"errorCode\" : \"UNEXPECTED_ERROR\", \"parameters\": null, \"extra\": {\"x\": 1}\n}";
        let env = ErrorEnvelope::parse(body).unwrap();
        assert_eq!(env.error_code.as_deref(), Some("UNEXPECTED_ERROR"));
        assert_eq!(
            env.message().as_deref(),
            Some("You are not authorized for this resource.")
        );
        let err = api_error(500, body, "GET", "/x");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn falls_back_to_reason_then_raw_body() {
        let env =
            ErrorEnvelope::parse(br#"{"detail":null,"error":503,"reason":"Service Unavailable"}"#)
                .unwrap();
        assert_eq!(env.message().as_deref(), Some("Service Unavailable"));
        let err = api_error(502, b"<html>bad\ngateway</html>", "POST", "/p");
        assert_eq!(
            err.to_string(),
            "Atlas POST /p failed with HTTP 502: <html>bad gateway</html>"
        );
        assert_eq!(err.error_code(), None);
        let err = api_error(500, b"", "DELETE", "/p");
        assert!(err.to_string().ends_with("no error body"), "{err}");
    }

    #[test]
    fn oauth_error_body() {
        let env = ErrorEnvelope::parse(
            br#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        )
        .unwrap();
        assert_eq!(
            env.message().as_deref(),
            Some("Client authentication failed")
        );
    }

    #[test]
    fn long_detail_is_capped() {
        let long = "x".repeat(1000);
        assert!(one_line(&long).len() < 320);
    }

    #[test]
    fn sunset_message_for_version_gone_and_migrated_instances() {
        let path = "/api/atlas/v2/groups/0123456789abcdef01234567/privateEndpoint/serverless/instance/s1/endpoint";
        for (status, code) in [
            (410, "VERSION_GONE"),
            (400, "NOT_SERVERLESS_TENANT_CLUSTER"),
            (400, "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API"),
        ] {
            let body = format!(r#"{{"error":{status},"errorCode":"{code}","detail":"d"}}"#);
            let err = api_error(status, body.as_bytes(), "POST", path);
            assert!(err.is_serverless_sunset(), "{code}");
            let text = err.to_string();
            assert!(text.contains("sunset on 2026-01-22"), "{text}");
            assert!(text.contains("dedicated_clusters: true"), "{text}");
            assert!(text.contains(code), "{text}");
            assert!(!text.contains('\n'));
            assert_eq!(text.matches(". ").count(), 0, "one sentence: {text}");
            assert_eq!(err.error_code(), Some(code));
        }
    }

    #[test]
    fn no_sunset_outside_serverless_paths() {
        let body = br#"{"error":410,"errorCode":"VERSION_GONE","detail":"gone"}"#;
        let err = api_error(
            410,
            body,
            "GET",
            "/api/atlas/v2/groups/0123456789abcdef01234567/privateEndpoint/AWS/endpointService",
        );
        assert!(!err.is_serverless_sunset());
        assert_eq!(err.error_code(), Some("VERSION_GONE"));
    }

    #[test]
    fn wait_errors_keep_the_remote_message() {
        let err = AtlasError::from_wait(WaitError::<AtlasError>::Failed {
            address: "endpoints.orders.atlas".into(),
            step: "waiting for AVAILABLE".into(),
            message: "VPC endpoint vpce-1 not found".into(),
        });
        assert_eq!(
            err.to_string(),
            "endpoints.orders.atlas: waiting for AVAILABLE failed: VPC endpoint vpce-1 not found"
        );
        assert!(err.is_terminal());
        let inner = api_error(
            410,
            br#"{"errorCode":"VERSION_GONE"}"#,
            "GET",
            "/serverless/x",
        );
        let err = AtlasError::from_wait(WaitError::Poll {
            address: "a".into(),
            step: "s".into(),
            source: inner,
        });
        assert!(err.is_serverless_sunset());
        assert!(!err.is_terminal());
        assert_eq!(err.status(), Some(410));
    }
}
