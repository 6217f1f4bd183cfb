//! Azure credentials: a service principal's client secret from the
//! standard variables, exchanged with Microsoft Entra ID for a
//! client-credentials bearer token, kept until shortly before it expires.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::AzureError;

/// The default Microsoft Entra ID authority.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// The scope of a token for the public cloud's Resource Manager.
const PUBLIC_SCOPE: &str = "https://management.azure.com/.default";

/// How long before its expiry a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// A service principal's secret credentials.
#[derive(Clone)]
pub struct Credentials {
    /// `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// `AZURE_CLIENT_SECRET`: never shown.
    pub client_secret: String,
    /// `AZURE_AUTHORITY_HOST`, without a trailing slash.
    pub authority_host: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("authority_host", &self.authority_host)
            .finish()
    }
}

impl Credentials {
    /// Reads the credentials through `var` (the environment in production).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AzureError> {
        let get = |name: &'static str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(AzureError::MissingVariable(name))
        };
        Ok(Credentials {
            tenant_id: get("AZURE_TENANT_ID")?,
            client_id: get("AZURE_CLIENT_ID")?,
            client_secret: get("AZURE_CLIENT_SECRET")?,
            authority_host: var("AZURE_AUTHORITY_HOST")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned())
                .trim_end_matches('/')
                .to_owned(),
        })
    }
}

/// The token scope for a Resource Manager endpoint: `<endpoint>/.default`
/// for an Azure cloud reached over https, the public cloud's otherwise (a
/// stand-in on loopback accepts it).
pub fn scope_for(resource_manager: &str) -> String {
    let loopback = ["://127.", "://localhost", "://[::1]"]
        .iter()
        .any(|p| resource_manager.contains(p));
    if resource_manager.starts_with("https://") && !loopback {
        format!("{}/.default", resource_manager.trim_end_matches('/'))
    } else {
        PUBLIC_SCOPE.to_owned()
    }
}

/// A bearer token and when it stops being used.
struct Token {
    value: String,
    renew_at: Instant,
}

/// Fetches and caches tokens for one set of credentials.
pub struct TokenSource {
    credentials: Credentials,
    scope: String,
    cached: Mutex<Option<Token>>,
}

/// Entra ID's token answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Entra ID's error answer.
#[derive(Deserialize, Default)]
struct TokenRefusal {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenSource {
    /// A source for `credentials`, asking for `scope`.
    pub fn new(credentials: Credentials, scope: String) -> Self {
        TokenSource {
            credentials,
            scope,
            cached: Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one.
    pub async fn token(&self, http: &reqwest::Client) -> Result<String, AzureError> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let token = self.fetch(http).await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets the cached token (ARM refused it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Token, AzureError> {
        let c = &self.credentials;
        let path = format!("/{}/oauth2/v2.0/token", c.tenant_id);
        let url = format!("{}{path}", c.authority_host);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("scope", self.scope.as_str()),
        ];
        let transport = |source| AzureError::Transport {
            method: "POST".into(),
            path: path.clone(),
            source,
        };
        let reply = http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let status = reply.status();
        let body = reply.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let refusal: TokenRefusal = serde_json::from_slice(&body).unwrap_or_default();
            return Err(AzureError::Token {
                status: status.as_u16(),
                code: refusal.error,
                description: refusal.error_description,
            });
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|source| AzureError::Decode {
                method: "POST".into(),
                path: path.clone(),
                source,
            })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300));
        Ok(Token {
            value: answer.access_token,
            renew_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_standard_variables_and_hide_the_secret() {
        let vars = |name: &str| match name {
            "AZURE_TENANT_ID" => Some("t".to_owned()),
            "AZURE_CLIENT_ID" => Some("c".to_owned()),
            "AZURE_CLIENT_SECRET" => Some("s3cr3t".to_owned()),
            _ => None,
        };
        let c = Credentials::from_vars(vars).unwrap();
        assert_eq!(c.authority_host, DEFAULT_AUTHORITY_HOST);
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let missing = Credentials::from_vars(|n| (n != "AZURE_CLIENT_SECRET").then(|| "x".into()));
        let err = missing.unwrap_err().to_string();
        assert!(err.contains("AZURE_CLIENT_SECRET"), "{err}");
    }

    #[test]
    fn scopes() {
        assert_eq!(
            scope_for("https://management.usgovcloudapi.net/"),
            "https://management.usgovcloudapi.net/.default"
        );
        assert_eq!(scope_for("http://127.0.0.1:4000"), PUBLIC_SCOPE);
    }
}
