//! The Azure side of a link, checked as Atlas does before accepting it, through azure-sandbox's
//! control API (the service owner's view, no token needed): the private endpoint and its
//! network interface (`GET /__sandbox/privateEndpoints/{id}`), then the owner's approval or
//! rejection of its connection (`PUT /__sandbox/connections`). The Private Link Services of
//! AZURE endpoint services are registered there when they become AVAILABLE and removed when
//! the service is gone.

use std::time::Duration;

use serde_json::{Value, json};

use crate::model::LinkCheck;

/// Failures to get an answer from azure-sandbox.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// The request failed.
    #[error("could not reach azure-sandbox at {url}: {source}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// The transport failure.
        #[source]
        source: reqwest::Error,
    },
    /// azure-sandbox answered with an unexpected status.
    #[error("azure-sandbox at {url} answered {status}: {body}")]
    Api {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        body: String,
    },
}

/// A client of azure-sandbox's control API.
#[derive(Debug, Clone)]
pub struct AzureClient {
    base: String,
    http: reqwest::Client,
}

/// Encodes a resource id as one path segment.
fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The verdict Atlas reaches for `check` given the private endpoint and network interface
/// azure-sandbox shows (`None`: no such private endpoint). `Err` carries the errorMessage.
pub fn verdict(check: &LinkCheck, found: Option<&Value>) -> Result<(), String> {
    let id = &check.vpce_id;
    let Some(found) = found else {
        return Err(format!("Private endpoint {id} was not found in Azure."));
    };
    let pe = &found["privateEndpoint"];
    let state = pe["properties"]["provisioningState"].as_str().unwrap_or("");
    if state != "Succeeded" {
        return Err(format!(
            "Private endpoint {id} is in provisioning state {state}, not Succeeded."
        ));
    }
    let targets = pe["properties"]["manualPrivateLinkServiceConnections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["properties"]["privateLinkServiceId"].as_str());
    if !targets
        .clone()
        .any(|t| t.eq_ignore_ascii_case(&check.expected_service))
    {
        let seen: Vec<&str> = targets.collect();
        return Err(format!(
            "Private endpoint {id} has no manual connection to private link service {} (it connects to {seen:?}).",
            check.expected_service
        ));
    }
    let actual = found["networkInterface"]["properties"]["ipConfigurations"][0]["properties"]
        ["privateIPAddress"]
        .as_str();
    let declared = check.ip.as_deref().unwrap_or("");
    if actual != Some(declared) {
        return Err(format!(
            "Private endpoint {id} has IP address {}, not the declared {declared}.",
            actual.unwrap_or("none")
        ));
    }
    Ok(())
}

impl AzureClient {
    /// A client of the azure-sandbox at `base`.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(u16, String), AzureError> {
        let unreachable = |source| AzureError::Unreachable {
            url: url.to_string(),
            source,
        };
        let response = req.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(unreachable)?;
        Ok((status, body))
    }

    fn failed(url: &str, status: u16, body: String) -> AzureError {
        AzureError::Api {
            url: url.to_string(),
            status,
            body,
        }
    }

    /// Checks a link: the verdict, after reading the private endpoint.
    pub async fn check(&self, check: &LinkCheck) -> Result<(), String> {
        let url = format!(
            "{}/__sandbox/privateEndpoints/{}",
            self.base,
            encode(&check.vpce_id)
        );
        let answer = match self.send(self.http.get(&url), &url).await {
            Ok((200, body)) => serde_json::from_str::<Value>(&body)
                .map(Some)
                .map_err(|e| format!("Could not verify private endpoint {}: {e}", check.vpce_id))?,
            Ok((404, _)) => None,
            Ok((status, body)) => {
                let e = Self::failed(&url, status, body);
                return Err(format!(
                    "Could not verify private endpoint {}: {e}",
                    check.vpce_id
                ));
            }
            Err(e) => {
                return Err(format!(
                    "Could not verify private endpoint {}: {e}",
                    check.vpce_id
                ));
            }
        };
        verdict(check, answer.as_ref())
    }

    /// Approves or rejects the connection of the checked private endpoint to this service's
    /// Private Link Service, as its owner.
    pub async fn decide(
        &self,
        check: &LinkCheck,
        verdict: &Result<(), String>,
    ) -> Result<(), AzureError> {
        let url = format!("{}/__sandbox/connections", self.base);
        let (status, description) = match verdict {
            Ok(()) => ("Approved", "Approved by MongoDB Atlas".to_string()),
            Err(message) => ("Rejected", message.clone()),
        };
        let body = json!({
            "privateEndpointId": check.vpce_id,
            "privateLinkServiceId": check.expected_service,
            "status": status,
            "description": description,
        });
        match self
            .send(self.http.put(&url).json_body(&body), &url)
            .await?
        {
            (200, _) => Ok(()),
            (status, body) => Err(Self::failed(&url, status, body)),
        }
    }

    /// Disconnects the private endpoint `endpoint` from the Private Link Service `service`
    /// once Atlas has removed the link (404: the endpoint is gone already, which is fine).
    pub async fn disconnect(&self, endpoint: &str, service: &str) -> Result<(), AzureError> {
        let url = format!("{}/__sandbox/connections", self.base);
        let body = json!({
            "privateEndpointId": endpoint,
            "privateLinkServiceId": service,
            "status": "Disconnected",
            "description": "The connection was removed by MongoDB Atlas.",
        });
        match self
            .send(self.http.put(&url).json_body(&body), &url)
            .await?
        {
            (200 | 404, _) => Ok(()),
            (status, body) => Err(Self::failed(&url, status, body)),
        }
    }

    /// Registers a Private Link Service.
    pub async fn register(&self, id: &str, location: &str) -> Result<(), AzureError> {
        let url = format!("{}/__sandbox/privateLinkServices", self.base);
        let body = json!({"id": id, "location": location});
        match self
            .send(self.http.put(&url).json_body(&body), &url)
            .await?
        {
            (200 | 201, _) => Ok(()),
            (status, body) => Err(Self::failed(&url, status, body)),
        }
    }

    /// Removes a Private Link Service.
    pub async fn retire(&self, id: &str) -> Result<(), AzureError> {
        let url = format!("{}/__sandbox/privateLinkServices/{}", self.base, encode(id));
        match self.send(self.http.delete(&url), &url).await? {
            (204 | 404, _) => Ok(()),
            (status, body) => Err(Self::failed(&url, status, body)),
        }
    }
}

/// A JSON body without reqwest's `json` feature.
trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cloud, LinkTarget};

    const PLS: &str = "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg_atlas_eastus2/providers/Microsoft.Network/privateLinkServices/pls_0123456789abcdef01234567";
    const PE: &str = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe";

    fn check(ip: &str) -> LinkCheck {
        LinkCheck {
            cloud: Cloud::Azure,
            ip: Some(ip.into()),
            target: LinkTarget::Interface {
                project: "p".into(),
                service: "s".into(),
                id: PE.into(),
            },
            seq: 1,
            vpce_id: PE.into(),
            aws_region: String::new(),
            expected_service: PLS.into(),
        }
    }

    fn found(state: &str, pls: &str, ip: &str) -> Value {
        json!({
            "privateEndpoint": {"properties": {
                "provisioningState": state,
                "manualPrivateLinkServiceConnections": [
                    {"properties": {"privateLinkServiceId": pls}}
                ],
            }},
            "networkInterface": {"properties": {"ipConfigurations": [
                {"properties": {"privateIPAddress": ip}}
            ]}},
        })
    }

    #[test]
    fn a_matching_endpoint_is_accepted_in_any_case() {
        let f = found("Succeeded", &PLS.to_ascii_lowercase(), "10.0.1.4");
        assert_eq!(verdict(&check("10.0.1.4"), Some(&f)), Ok(()));
    }

    #[test]
    fn missing_wrong_service_wrong_ip_and_unprovisioned_are_refused() {
        let missing = verdict(&check("10.0.1.4"), None).unwrap_err();
        assert!(missing.contains("not found"), "{missing}");
        let other = found(
            "Succeeded",
            "/subscriptions/x/privateLinkServices/pls_other",
            "10.0.1.4",
        );
        let wrong = verdict(&check("10.0.1.4"), Some(&other)).unwrap_err();
        assert!(wrong.contains("no manual connection"), "{wrong}");
        let f = found("Succeeded", PLS, "10.0.1.5");
        let ip = verdict(&check("10.0.1.4"), Some(&f)).unwrap_err();
        assert!(ip.contains("10.0.1.5") && ip.contains("10.0.1.4"), "{ip}");
        let f = found("Updating", PLS, "10.0.1.4");
        let state = verdict(&check("10.0.1.4"), Some(&f)).unwrap_err();
        assert!(state.contains("Updating"), "{state}");
    }
}
