//! The link of an Azure private endpoint to a serverless instance's private
//! endpoint: the PATCH that hands Atlas the private endpoint's resource id
//! and IP (`providerName: AZURE`), then the wait for AVAILABLE. Its kind,
//! attributes and rules, its reads (one endpoint list per serverless
//! instance) and its create. The serverless endpoint itself is the AWS
//! flow's kind: Atlas makes it on the instance's cloud.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{Attrs, Kind};
use crate::plan::{IdFormat, KindRules, Live, LiveView, always_ready, any_change, never_forced};
use crate::providers::atlas::{AtlasClient, ServerlessEndpoint, ServerlessTarget};
use crate::providers::typed::{from_attrs, hex24, recorded, to_attrs};
use crate::providers::{Op, ProviderError, RecordCreated};
use crate::state::StateFile;
use crate::wait::WaitPolicy;

/// The link of an Azure private endpoint to a serverless endpoint.
pub const KIND: Kind = Kind::new("atlas_azure_serverless_link");

/// The desired attributes of a [`KIND`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WantLink {
    /// The Atlas project.
    pub project_id: String,
    /// The serverless instance's name.
    pub instance: String,
    /// The serverless endpoint's Atlas id.
    pub endpoint_id: String,
    /// The Azure private endpoint's resource id.
    pub private_endpoint_id: String,
    /// Its private IP.
    pub private_ip: String,
}

/// The attributes of a [`KIND`] as read back.
#[derive(Debug, Serialize)]
struct LinkAttrs<'a> {
    #[serde(flatten)]
    want: WantLink,
    status: &'a str,
    error_message: &'a Option<String>,
}

/// Rules of [`KIND`]. As on AWS, the endpoint carries Atlas's status (a
/// FAILED one is replaced with its link), and a replaced link replaces the
/// endpoint: Atlas cannot change `cloudProviderEndpointId` once set.
pub const RULES: KindRules = KindRules {
    kind: KIND,
    legacy_names: &[],
    cloud: "Atlas",
    weight: 120,
    forces_replacement: any_change,
    remote_state: always_ready,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "a 24-hex Atlas id",
        check: hex24,
    },
    shared: false,
};

/// A link's attributes as read from its endpoint; `None` while the endpoint
/// has no private endpoint linked, or is being deleted.
pub fn link_attrs(project: &str, instance: &str, e: &ServerlessEndpoint) -> Option<Attrs> {
    let pe = e.cloud_provider_endpoint_id.as_ref()?;
    if e.status == "DELETING" {
        return None;
    }
    Some(to_attrs(&LinkAttrs {
        want: WantLink {
            project_id: project.to_owned(),
            instance: instance.to_owned(),
            endpoint_id: e.id.clone(),
            private_endpoint_id: pe.clone(),
            private_ip: e.private_endpoint_ip_address.clone().unwrap_or_default(),
        },
        status: &e.status,
        error_message: &e.error_message,
    }))
}

/// The id a create resumes or adopts: the endpoint's, known before the PATCH.
pub fn adopted(d: &Attrs) -> Option<String> {
    d.get("endpoint_id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// The endpoint lists of serverless instances, by (project, instance).
pub type Lists = BTreeMap<(String, String), Vec<ServerlessEndpoint>>;

/// The (project, instance) of every link of the state: one list each.
pub fn instances(state: &StateFile) -> BTreeSet<(String, String)> {
    state
        .resources
        .iter()
        .filter(|(_, r)| r.kind == KIND)
        .map(|(a, _)| {
            let project = recorded(state, a, "project_id").unwrap_or_default();
            let instance = recorded(state, a, "instance").unwrap_or_default();
            (project.to_owned(), instance.to_owned())
        })
        .collect()
}

/// One instance's endpoint list (an instance that is gone has none).
pub async fn read_list(
    client: &AtlasClient,
    (project, instance): &(String, String),
) -> Result<((String, String), Vec<ServerlessEndpoint>), ProviderError> {
    let list = match client.list_serverless_endpoints(project, instance).await {
        Ok(l) => l,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(((project.clone(), instance.clone()), list))
}

/// The links of the state, from the endpoint lists of their instances.
pub fn refresh(state: &StateFile, lists: &Lists, view: &mut LiveView) {
    for (a, r) in state.resources.iter().filter(|(_, r)| r.kind == KIND) {
        let project = recorded(state, a, "project_id").unwrap_or_default();
        let instance = recorded(state, a, "instance").unwrap_or_default();
        let key = (project.to_owned(), instance.to_owned());
        let id = recorded(state, a, "endpoint_id").or(r.id.as_deref());
        let found = id.and_then(|id| lists.get(&key)?.iter().find(|e| e.id == id));
        let live = match found.and_then(|e| link_attrs(project, instance, e)) {
            Some(attributes) => Live::Present { attributes },
            None => Live::Gone,
        };
        view.resources.insert(a.clone(), live);
    }
}

/// PATCHes the private endpoint's id and IP (unless Atlas has this id
/// already: a resumed or adopted link may have sent it) and waits for
/// AVAILABLE; FAILED ends the wait with Atlas's errorMessage.
pub async fn create(
    (client, policy): (&AtlasClient, WaitPolicy),
    op: &Op,
    d: &Attrs,
    existing: Option<String>,
    record: RecordCreated<'_>,
) -> Result<(String, Attrs), ProviderError> {
    let w: WantLink = from_attrs(op.kind, d)?;
    let (project, instance, id) = (&w.project_id, &w.instance, &w.endpoint_id);
    let current = match existing {
        Some(_) => client
            .get_serverless_endpoint(project, instance, id)
            .await?
            .and_then(|e| e.cloud_provider_endpoint_id),
        None => None,
    };
    if !current.is_some_and(|c| c.eq_ignore_ascii_case(&w.private_endpoint_id)) {
        client
            .link_serverless_azure(
                (project, instance, id),
                &w.private_endpoint_id,
                &w.private_ip,
            )
            .await?;
    }
    if existing.is_none() {
        record(id.clone()).await?;
    }
    let vanished = || ProviderError::vanished(format!("Atlas endpoint {id}"), " while linking");
    let e = client
        .wait_serverless_endpoint(
            project,
            instance,
            id,
            ServerlessTarget::Available,
            op.address.as_str(),
            policy,
            op.progress.as_ref(),
        )
        .await?
        .ok_or_else(vanished)?;
    let attrs = link_attrs(project, instance, &e).ok_or_else(vanished)?;
    Ok((id.clone(), attrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(v: serde_json::Value) -> ServerlessEndpoint {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_link_reads_the_private_endpoint_and_ip_atlas_holds() {
        let pe = "/subscriptions/0b1c2d3e-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe";
        let e = endpoint(serde_json::json!({
            "_id": "5f7cac1adf5d6c6306f4b283", "status": "AVAILABLE", "providerName": "AZURE",
            "cloudProviderEndpointId": pe, "privateEndpointIpAddress": "10.0.1.5",
            "endpointServiceName": "pls_5f7cac1adf5d6c6306f4b284",
            "privateLinkServiceResourceId": "/subscriptions/x/privateLinkServices/pls_5f7cac1adf5d6c6306f4b284"
        }));
        assert!(e.on_azure() && e.reserved());
        let a = link_attrs("p", "s1", &e).unwrap();
        assert_eq!(a["private_endpoint_id"], pe);
        assert_eq!(a["private_ip"], "10.0.1.5");
        assert_eq!(a["endpoint_id"], "5f7cac1adf5d6c6306f4b283");
        assert_eq!(a["status"], "AVAILABLE");
    }

    #[test]
    fn an_unlinked_or_deleting_endpoint_has_no_link_and_azure_waits_for_its_service_id() {
        let unlinked = endpoint(serde_json::json!({
            "_id": "a", "status": "RESERVED", "providerName": "AZURE",
            "endpointServiceName": "pls_1"
        }));
        assert_eq!(link_attrs("p", "s", &unlinked), None);
        assert!(!unlinked.reserved(), "no privateLinkServiceResourceId yet");
        let deleting = endpoint(serde_json::json!({
            "_id": "a", "status": "DELETING", "cloudProviderEndpointId": "/subscriptions/x"
        }));
        assert_eq!(link_attrs("p", "s", &deleting), None);
        let aws = endpoint(serde_json::json!({
            "_id": "a", "status": "RESERVED", "providerName": "AWS",
            "endpointServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-1"
        }));
        assert!(aws.reserved());
    }
}
