//! The Atlas calls of the Azure flow: the project's AZURE endpoint
//! services (one per Azure region, with Atlas's Private Link Service) and
//! the private endpoints registered on them (addressed by the URL-encoded
//! Azure resource id), and what one read of each says to a wait (the
//! waits themselves, on shared pollers, are in `atlas::waits`).

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use super::super::confirm::{self, FirstConflict};
use super::super::{
    AtlasClient, AtlasError, CREATE, ServerlessEndpoint, V2, expect, expect_empty, expect_list,
    project_missing, seg, serverless_endpoints_path,
};
use crate::wait::Poll;

/// Atlas's path segment of the cloud.
const AZURE: &str = "AZURE";

fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An AZURE endpoint service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureService {
    /// Its 24-hex id.
    pub id: String,
    /// Atlas's region name, e.g. `US_EAST_2`.
    #[serde(default, deserialize_with = "null_default")]
    pub region_name: String,
    /// `INITIATING`, `AVAILABLE`, `WAITING_FOR_USER`, `FAILED`, `DELETING`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// The resource ids of the private endpoints registered on it.
    #[serde(default, deserialize_with = "null_default")]
    pub private_endpoints: Vec<String>,
    /// The Private Link Service's name, `pls_…`; null while initiating.
    #[serde(default)]
    pub private_link_service_name: Option<String>,
    /// The Private Link Service's resource id; null while initiating.
    #[serde(default)]
    pub private_link_service_resource_id: Option<String>,
}

/// A private endpoint registered on an AZURE endpoint service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureLink {
    /// The Azure resource id.
    #[serde(default, deserialize_with = "null_default")]
    pub private_endpoint_resource_id: String,
    /// Its IP, as registered.
    #[serde(default, rename = "privateEndpointIPAddress")]
    pub private_endpoint_ip_address: Option<String>,
    /// The connection's name on the Private Link Service.
    #[serde(default)]
    pub private_endpoint_connection_name: Option<String>,
    /// `INITIATING`, `AVAILABLE`, `FAILED`, `REJECTED`, `DELETING`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// The status under the AWS-style name, when Atlas gives that instead.
    #[serde(default)]
    pub connection_status: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// A delete was asked for.
    #[serde(default, deserialize_with = "null_default")]
    pub delete_requested: bool,
}

impl AzureLink {
    /// Its status, whichever field carries it.
    pub fn state(&self) -> &str {
        match (self.status.as_str(), self.connection_status.as_deref()) {
            ("", Some(c)) => c,
            (s, _) => s,
        }
    }
}

/// What a wait on an endpoint service or a link waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Ready to use.
    Ready,
    /// Gone.
    Gone,
}

fn services_path(group: &str) -> String {
    format!(
        "{V2}/groups/{}/privateEndpoint/{AZURE}/endpointService",
        seg(group)
    )
}

fn service_path(group: &str, id: &str) -> String {
    format!("{}/{}", services_path(group), seg(id))
}

fn link_path(group: &str, service: &str, pe: &str) -> String {
    format!("{}/endpoint/{}", service_path(group, service), seg(pe))
}

fn failure(what: &str, status: &str, message: Option<&str>) -> String {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!("{what} is {status}: {m}"),
        None => format!("{what} is {status} (Atlas gave no error message)"),
    }
}

/// What one read of a service says to a wait.
pub fn classify_service(found: Option<AzureService>, target: Target) -> Poll<Option<AzureService>> {
    let what = "the Atlas AZURE endpoint service";
    let Some(s) = found else {
        return match target {
            Target::Gone => Poll::Ready(None),
            Target::Ready => Poll::Failed(format!("{what} no longer exists")),
        };
    };
    let named =
        s.private_link_service_name.is_some() && s.private_link_service_resource_id.is_some();
    match (target, s.status.as_str()) {
        (_, "FAILED") => Poll::Failed(failure(what, "FAILED", s.error_message.as_deref())),
        (Target::Gone, status) => Poll::Pending(status.to_owned()),
        (Target::Ready, "DELETING") => Poll::Failed(format!("{what} is being deleted (DELETING)")),
        (Target::Ready, "AVAILABLE" | "WAITING_FOR_USER") if named => Poll::Ready(Some(s)),
        (Target::Ready, status) => Poll::Pending(format!(
            "{status}, privateLinkServiceResourceId not yet set"
        )),
    }
}

/// What one read of a link says to a wait.
pub fn classify_link(found: Option<AzureLink>, target: Target) -> Poll<Option<AzureLink>> {
    let what = "the Atlas AZURE private endpoint";
    let Some(l) = found else {
        return match target {
            Target::Gone => Poll::Ready(None),
            Target::Ready => Poll::Failed(format!("{what} no longer exists")),
        };
    };
    let status = l.state().to_owned();
    let failed = matches!(status.as_str(), "FAILED" | "REJECTED");
    match target {
        Target::Gone if !failed || l.delete_requested => Poll::Pending(status),
        _ if failed => Poll::Failed(failure(what, &status, l.error_message.as_deref())),
        Target::Ready if status == "AVAILABLE" => Poll::Ready(Some(l)),
        Target::Ready if status == "DELETING" || l.delete_requested => {
            Poll::Failed(format!("{what} is being deleted"))
        }
        _ => Poll::Pending(status),
    }
}

impl AtlasClient {
    /// The project's AZURE endpoint services.
    pub async fn list_azure_services(&self, group: &str) -> Result<Vec<AzureService>, AtlasError> {
        let path = services_path(group);
        let reply = self.send(Method::GET, &path, None).await?;
        expect_list(reply, "GET", &path)
    }

    /// One AZURE endpoint service; `None` if it does not exist.
    pub async fn get_azure_service(
        &self,
        group: &str,
        id: &str,
    ) -> Result<Option<AzureService>, AtlasError> {
        let path = service_path(group, id);
        let reply = self.send(Method::GET, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(None);
        }
        expect(reply, &[StatusCode::OK], "GET", &path).map(Some)
    }

    /// Creates the project's AZURE endpoint service in `region` (Atlas's
    /// name, e.g. `US_EAST_2`); one made by a call whose answer was lost is
    /// read back.
    pub async fn create_azure_service(
        &self,
        group: &str,
        region: &str,
    ) -> Result<AzureService, AtlasError> {
        let path = format!("{V2}/groups/{}/privateEndpoint/endpointService", seg(group));
        let body = json!({ "providerName": AZURE, "region": region });
        let create = || async {
            let reply = self
                .send_how(Method::POST, &path, Some(&body), CREATE)
                .await?;
            expect(reply, &[StatusCode::OK, StatusCode::CREATED], "POST", &path)
        };
        let find = || async {
            let list = self.list_azure_services(group).await?;
            Ok(list
                .into_iter()
                .find(|s| s.region_name == region && s.status != "DELETING"))
        };
        let what = format!("the endpoint service for AZURE {region}");
        confirm::create_confirmed(
            &self.inner.options,
            &what,
            FirstConflict::Theirs,
            create,
            find,
        )
        .await
    }

    /// Deletes an AZURE endpoint service; already gone counts as done.
    pub async fn delete_azure_service(&self, group: &str, id: &str) -> Result<(), AtlasError> {
        let path = service_path(group, id);
        let reply = self.send(Method::DELETE, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(());
        }
        expect_empty(reply, "DELETE", &path)
    }

    /// Registers the Azure private endpoint `pe` (resource id) with its IP
    /// on an AZURE endpoint service; one registered already is taken.
    pub async fn create_azure_link(
        &self,
        group: &str,
        service: &str,
        pe: &str,
        ip: &str,
    ) -> Result<AzureLink, AtlasError> {
        let path = format!("{}/endpoint", service_path(group, service));
        let body = json!({ "id": pe, "privateEndpointIPAddress": ip });
        let create = || async {
            let reply = self
                .send_how(Method::POST, &path, Some(&body), CREATE)
                .await?;
            expect(reply, &[StatusCode::OK, StatusCode::CREATED], "POST", &path)
        };
        let find = || self.get_azure_link(group, service, pe);
        let what = format!("the Atlas private endpoint for {pe}");
        confirm::create_confirmed(
            &self.inner.options,
            &what,
            FirstConflict::Ours,
            create,
            find,
        )
        .await
    }

    /// One registered private endpoint; `None` if it (or its service) does
    /// not exist.
    pub async fn get_azure_link(
        &self,
        group: &str,
        service: &str,
        pe: &str,
    ) -> Result<Option<AzureLink>, AtlasError> {
        let path = link_path(group, service, pe);
        let reply = self.send(Method::GET, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(None);
        }
        expect(reply, &[StatusCode::OK], "GET", &path).map(Some)
    }

    /// Deletes a registered private endpoint; already gone counts as done.
    pub async fn delete_azure_link(
        &self,
        group: &str,
        service: &str,
        pe: &str,
    ) -> Result<(), AtlasError> {
        let path = link_path(group, service, pe);
        let reply = self.send(Method::DELETE, &path, None).await?;
        if reply.status == StatusCode::NOT_FOUND && !project_missing(&reply) {
            return Ok(());
        }
        expect_empty(reply, "DELETE", &path)
    }

    /// Links the Azure private endpoint `pe` (resource id) with its IP to a
    /// serverless instance's private endpoint `id`. A link Atlas made
    /// despite its answer is read back: the id cannot change once set.
    pub async fn link_serverless_azure(
        &self,
        (group, instance, id): (&str, &str, &str),
        pe: &str,
        ip: &str,
    ) -> Result<ServerlessEndpoint, AtlasError> {
        let path = format!("{}/{}", serverless_endpoints_path(group, instance), seg(id));
        let body = json!({
            "providerName": AZURE,
            "cloudProviderEndpointId": pe,
            "privateEndpointIpAddress": ip,
        });
        let link = || async {
            let reply = self
                .send_how(Method::PATCH, &path, Some(&body), CREATE)
                .await?;
            expect(reply, &[StatusCode::OK], "PATCH", &path)
        };
        let find = || async {
            let found = self.get_serverless_endpoint(group, instance, id).await?;
            Ok(found.filter(|e| {
                e.cloud_provider_endpoint_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(pe))
            }))
        };
        let what = format!("the link of {pe} to private endpoint {id}");
        confirm::create_confirmed(
            &self.inner.options,
            &what,
            FirstConflict::Theirs,
            link,
            find,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_link_fails_with_atlas_error_message() {
        let l: AzureLink = serde_json::from_value(json!({
            "privateEndpointResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateEndpoints/p",
            "status": "REJECTED", "errorMessage": "IP does not match", "deleteRequested": false
        }))
        .unwrap();
        match classify_link(Some(l.clone()), Target::Ready) {
            Poll::Failed(m) => assert!(m.contains("IP does not match"), "{m}"),
            _ => panic!("not failed"),
        }
        assert!(matches!(
            classify_link(None, Target::Gone),
            Poll::Ready(None)
        ));
        let initiating = AzureLink {
            status: "INITIATING".into(),
            error_message: None,
            ..l
        };
        assert!(matches!(
            classify_link(Some(initiating), Target::Ready),
            Poll::Pending(_)
        ));
    }

    #[test]
    fn a_service_is_ready_once_its_private_link_service_is_named() {
        let s: AzureService = serde_json::from_value(json!({
            "cloudProvider": "AZURE", "errorMessage": null, "id": "6a0000000000000000000001",
            "privateEndpoints": [], "privateLinkServiceName": null,
            "privateLinkServiceResourceId": null, "regionName": "US_EAST_2", "status": "INITIATING"
        }))
        .unwrap();
        assert!(matches!(
            classify_service(Some(s.clone()), Target::Ready),
            Poll::Pending(_)
        ));
        let ready = AzureService {
            status: "AVAILABLE".into(),
            private_link_service_name: Some("pls_1".into()),
            private_link_service_resource_id: Some("/subscriptions/x/pls_1".into()),
            ..s
        };
        assert!(matches!(
            classify_service(Some(ready), Target::Ready),
            Poll::Ready(_)
        ));
    }
}
