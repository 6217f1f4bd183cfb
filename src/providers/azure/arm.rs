//! The Azure Resource Manager client: bearer-authenticated JSON calls with
//! `api-version`, the ARM error envelope, retries of throttled and failed
//! attempts (backoff with jitter, `Retry-After` honoured), and the
//! `Azure-AsyncOperation` status of long-running operations.

use std::time::Duration;

use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::{Credentials, TokenSource, scope_for};
use super::error::AzureError;

/// The default Resource Manager endpoint.
pub const DEFAULT_RESOURCE_MANAGER: &str = "https://management.azure.com";

/// The api-version of Microsoft.Network resources.
pub const NETWORK_API: &str = "2024-05-01";

/// The api-version of resource groups.
pub const RESOURCES_API: &str = "2021-04-01";

/// Attempts of one call (throttling, 5xx and connection errors).
const ATTEMPTS: u32 = 5;

/// One answer.
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// `Azure-AsyncOperation`, else `Location`, when given.
    pub operation: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// ARM's error envelope.
#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    error: ErrorBody,
}

/// ARM's `error`.
#[derive(Deserialize, Default)]
pub struct ErrorBody {
    /// The error code, e.g. `ResourceNotFound`.
    #[serde(default)]
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// The status of a long-running operation.
#[derive(Deserialize)]
pub struct Operation {
    /// `InProgress`, `Succeeded`, `Failed` or `Canceled`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

/// A Resource Manager client; clones share the token.
pub struct Arm {
    http: reqwest::Client,
    base: String,
    tokens: TokenSource,
}

impl Arm {
    /// A client of `resource_manager` authenticated with `credentials`.
    pub fn new(credentials: Credentials, resource_manager: &str) -> Result<Self, AzureError> {
        let urls = [resource_manager, credentials.authority_host.as_str()];
        let http = crate::tls::reqwest_builder(&urls)
            .connect_timeout(crate::limits::CONNECT_TIMEOUT)
            .timeout(crate::limits::REQUEST_TIMEOUT)
            .build()
            .map_err(|source| AzureError::Transport {
                method: "-".into(),
                path: resource_manager.into(),
                source,
            })?;
        let base = resource_manager.trim_end_matches('/').to_owned();
        let tokens = TokenSource::new(credentials, scope_for(&base));
        Ok(Arm { http, base, tokens })
    }

    /// A client from `AZURE_RESOURCE_MANAGER_ENDPOINT` and the credentials
    /// read through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String> + Copy) -> Result<Self, AzureError> {
        let credentials = Credentials::from_vars(var)?;
        let endpoint = var("AZURE_RESOURCE_MANAGER_ENDPOINT")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_RESOURCE_MANAGER.to_owned());
        Arm::new(credentials, &endpoint)
    }

    /// Checks the credentials: a token can be had.
    pub async fn check_credentials(&self) -> Result<(), AzureError> {
        self.tokens.token(&self.http).await.map(|_| ())
    }

    /// `GET path`: `None` on 404.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        api: &str,
    ) -> Result<Option<T>, AzureError> {
        let a = self.call(Method::GET, path, api, None).await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let a = expect(a, "GET", path)?;
        decode(&a.body, "GET", path).map(Some)
    }

    /// `PUT path` with `body`: the resource as answered and the operation
    /// to poll, if any.
    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        api: &str,
        body: &Value,
    ) -> Result<(T, Option<String>), AzureError> {
        let a = self.call(Method::PUT, path, api, Some(body)).await?;
        let a = expect(a, "PUT", path)?;
        Ok((decode(&a.body, "PUT", path)?, a.operation))
    }

    /// `DELETE path`: the operation to poll, if any; `None` too when it was
    /// gone already.
    pub async fn delete(&self, path: &str, api: &str) -> Result<Option<String>, AzureError> {
        let a = self.call(Method::DELETE, path, api, None).await?;
        if matches!(a.status, StatusCode::NOT_FOUND | StatusCode::NO_CONTENT) {
            return Ok(None);
        }
        Ok(expect(a, "DELETE", path)?.operation)
    }

    /// The status of the operation at `url` (as ARM gave it).
    pub async fn operation(&self, url: &str) -> Result<Operation, AzureError> {
        let a = self.call(Method::GET, url, "", None).await?;
        let a = expect(a, "GET", "the operation status")?;
        decode(&a.body, "GET", "the operation status")
    }

    /// One call with its retries; `path` is a path under the endpoint or a
    /// full URL ARM gave (with its own query).
    async fn call(
        &self,
        method: Method,
        path: &str,
        api: &str,
        body: Option<&Value>,
    ) -> Result<Answer, AzureError> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}?api-version={api}", self.base)
        };
        let shown = path.split('?').next().unwrap_or(path).to_owned();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.send_once(&method, &url, &shown, body).await;
            let retry = match &result {
                Ok(a) if a.status == StatusCode::UNAUTHORIZED && attempt == 1 => {
                    self.tokens.forget().await;
                    Some(Duration::ZERO)
                }
                Ok(a)
                    if a.status == StatusCode::TOO_MANY_REQUESTS || a.status.is_server_error() =>
                {
                    Some(backoff(attempt))
                }
                // A create or delete of the same resource still runs.
                Ok(a) if a.status == StatusCode::CONFLICT && busy(&a.body) => {
                    Some(backoff(attempt))
                }
                Err(AzureError::Transport { .. }) => Some(backoff(attempt)),
                _ => None,
            };
            match retry {
                Some(delay) if attempt < ATTEMPTS => {
                    tracing::debug!(path = %shown, attempt, "retrying an Azure call");
                    tokio::time::sleep(delay).await;
                }
                _ => return result,
            }
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        shown: &str,
        body: Option<&Value>,
    ) -> Result<Answer, AzureError> {
        let token = self.tokens.token(&self.http).await?;
        let transport = |source| AzureError::Transport {
            method: method.to_string(),
            path: shown.to_owned(),
            source,
        };
        let mut request = self.http.request(method.clone(), url).bearer_auth(token);
        if let Some(b) = body {
            request = request.json(b);
        }
        let reply = request.send().await.map_err(transport)?;
        let status = reply.status();
        let operation = operation_url(reply.headers());
        let retry_after = retry_after(reply.headers());
        let body = reply.bytes().await.map_err(transport)?.to_vec();
        if let (Some(wait), true) = (retry_after, status == StatusCode::TOO_MANY_REQUESTS) {
            tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
        }
        Ok(Answer {
            status,
            operation,
            body,
        })
    }
}

/// The delay before attempt `attempt + 1`: doubling from 1 s, up to 20 s,
/// with up to half of it as jitter.
fn backoff(attempt: u32) -> Duration {
    let base =
        Duration::from_secs(1u64 << attempt.min(4).saturating_sub(1)).min(Duration::from_secs(20));
    let jitter = rand::rng().random_range(0..=base.as_millis() as u64 / 2);
    base + Duration::from_millis(jitter)
}

/// ARM's answer while another operation on the resource runs.
fn busy(body: &[u8]) -> bool {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    envelope.error.code == "AnotherOperationInProgress"
}

fn operation_url(headers: &HeaderMap) -> Option<String> {
    ["azure-asyncoperation", "location"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok().map(str::to_owned))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let s = headers.get("retry-after")?.to_str().ok()?;
    s.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The answer when it is a success, else ARM's error.
fn expect(a: Answer, method: &str, path: &str) -> Result<Answer, AzureError> {
    if a.status.is_success() {
        return Ok(a);
    }
    let envelope: Envelope = serde_json::from_slice(&a.body).unwrap_or_default();
    Err(AzureError::Arm {
        method: method.to_owned(),
        path: path.to_owned(),
        status: a.status.as_u16(),
        code: envelope.error.code,
        message: envelope.error.message,
    })
}

fn decode<T: DeserializeOwned>(body: &[u8], method: &str, path: &str) -> Result<T, AzureError> {
    serde_json::from_slice(body).map_err(|source| AzureError::Decode {
        method: method.to_owned(),
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_arms_code_and_message() {
        let a = Answer {
            status: StatusCode::BAD_REQUEST,
            operation: None,
            body:
                br#"{"error":{"code":"InvalidResourceReference","message":"Subnet x not found"}}"#
                    .to_vec(),
        };
        let e = expect(a, "PUT", "/p").err().unwrap();
        assert_eq!(e.code(), Some("InvalidResourceReference"));
        assert!(e.to_string().contains("Subnet x not found"), "{e}");
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) >= Duration::from_secs(1));
        assert!(backoff(1) <= Duration::from_millis(1500));
        assert!(backoff(9) <= Duration::from_secs(30));
    }
}
