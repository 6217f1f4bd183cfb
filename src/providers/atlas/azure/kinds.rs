//! The Azure flow's two Atlas kinds: the AZURE endpoint service of a
//! (project, region), shared by every private endpoint there, and the
//! registration of one Azure private endpoint (its resource id and IP) on
//! it. Their attributes and rules.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{AzureLink, AzureService};
use crate::model::{Attrs, Kind};
use crate::plan::{Action, Change, IdFormat, KindRules, RemoteState, any_change, never_forced};
use crate::providers::atlas::dedicated::link_settled;
use crate::providers::typed::{from_attrs, hex24, to_attrs};

/// Atlas's AZURE endpoint service of a (project, region).
pub const SERVICE: Kind = Kind::new("atlas_azure_endpoint_service");
/// An Azure private endpoint registered on an AZURE endpoint service.
pub const LINK: Kind = Kind::new("atlas_azure_interface_endpoint");

/// The desired attributes of a [`SERVICE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WantService {
    /// The Atlas project.
    pub project_id: String,
    /// Atlas's region name, e.g. `US_EAST_2`.
    pub region: String,
}

/// The attributes of a [`SERVICE`] as read back.
#[derive(Debug, Serialize, Deserialize)]
struct ServiceAttrs {
    #[serde(flatten)]
    want: WantService,
    id: String,
    private_link_service_name: Option<String>,
    private_link_service_resource_id: Option<String>,
    status: String,
    error_message: Option<String>,
    private_endpoints: Vec<String>,
}

/// The desired attributes of a [`LINK`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WantLink {
    /// The Atlas project.
    pub project_id: String,
    /// The endpoint service's id.
    pub endpoint_service_id: String,
    /// The Azure private endpoint's resource id.
    pub private_endpoint_id: String,
    /// Its private IP.
    pub private_ip: String,
}

/// The attributes of a [`LINK`] as read back.
#[derive(Debug, Serialize, Deserialize)]
struct LinkAttrs {
    #[serde(flatten)]
    want: WantLink,
    id: String,
    status: String,
    error_message: Option<String>,
}

/// A service's attributes as read back.
pub fn service_attrs(project: &str, s: &AzureService) -> Attrs {
    to_attrs(&ServiceAttrs {
        want: WantService {
            project_id: project.to_owned(),
            region: s.region_name.clone(),
        },
        id: s.id.clone(),
        private_link_service_name: s.private_link_service_name.clone(),
        private_link_service_resource_id: s.private_link_service_resource_id.clone(),
        status: s.status.clone(),
        error_message: s.error_message.clone(),
        private_endpoints: s.private_endpoints.clone(),
    })
}

/// A link's attributes as read back: what was registered, with Atlas's
/// status; `None` once it is being deleted.
pub fn link_attrs(project: &str, service: &str, pe: &str, l: &AzureLink) -> Option<Attrs> {
    if l.state() == "DELETING" || l.delete_requested {
        return None;
    }
    Some(to_attrs(&LinkAttrs {
        want: WantLink {
            project_id: project.to_owned(),
            endpoint_service_id: service.to_owned(),
            private_endpoint_id: pe.to_owned(),
            private_ip: l.private_endpoint_ip_address.clone().unwrap_or_default(),
        },
        id: pe.to_owned(),
        status: l.state().to_owned(),
        error_message: l.error_message.clone(),
    }))
}

/// Whether the bulk reads and the state settle a link its service lists,
/// without reading it on its own: the apply recorded it AVAILABLE, and its
/// service is AVAILABLE without an `errorMessage`. Otherwise (an apply that
/// stopped mid-wait, an import, a service in trouble) it is read. A link
/// Atlas REJECTED after it was AVAILABLE shows on the private endpoint's
/// connection in Azure.
pub fn settled(recorded: &Attrs, service: &AzureService) -> bool {
    let status = recorded.get("status").and_then(Value::as_str);
    link_settled(status, &service.status, service.error_message.as_deref())
}

/// A link its service lists, live as recorded: the recorded attributes with
/// the service that lists it.
pub fn link_listed(recorded: &Attrs, project: &str, service: &str, pe: &str) -> Attrs {
    let mut attributes = recorded.clone();
    attributes.insert("project_id".into(), Value::from(project));
    attributes.insert("endpoint_service_id".into(), Value::from(service));
    attributes.insert("private_endpoint_id".into(), Value::from(pe));
    attributes.insert("id".into(), Value::from(pe));
    attributes
}

fn service_state(live: &Attrs) -> RemoteState {
    let Ok(s) = from_attrs::<ServiceAttrs>(SERVICE, live) else {
        return RemoteState::Ready;
    };
    match s.status.as_str() {
        "FAILED" => RemoteState::Failed(format!(
            "Atlas reports it FAILED: {}",
            s.error_message.as_deref().unwrap_or("no errorMessage")
        )),
        "AVAILABLE" | "WAITING_FOR_USER" if s.private_link_service_resource_id.is_some() => {
            RemoteState::Ready
        }
        "DELETING" => RemoteState::Ready,
        other => RemoteState::Pending(format!(
            "Atlas reports it {other}, not ready yet: the apply waits for it"
        )),
    }
}

/// Atlas removes an endpoint service together with its last private
/// endpoint: a plan that removes them all replaces the service.
fn last_link_removed(me: &Change, changes: &[Change]) -> Option<String> {
    let listed: Vec<&str> = me
        .before
        .as_ref()
        .and_then(|b| b.get("private_endpoints"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let removed = changes
        .iter()
        .filter(|c| {
            c.kind == LINK
                && matches!(c.action, Action::Replace | Action::Delete)
                && c.id
                    .as_deref()
                    .is_some_and(|id| listed.iter().any(|l| l.eq_ignore_ascii_case(id)))
        })
        .count();
    (!listed.is_empty() && removed >= listed.len())
        .then(|| "Atlas removes an endpoint service together with its last private endpoint".into())
}

/// Rules of [`SERVICE`].
pub const SERVICE_RULES: KindRules = KindRules {
    kind: SERVICE,
    legacy_names: &[],
    cloud: "Atlas",
    weight: 300,
    forces_replacement: any_change,
    remote_state: service_state,
    forced_by: last_link_removed,
    id_format: IdFormat {
        expected: "a 24-hex Atlas id",
        check: hex24,
    },
    shared: true,
};

/// A link Atlas REJECTED or FAILED is replaced, with Atlas's errorMessage.
fn link_state(live: &Attrs) -> RemoteState {
    let Ok(l) = from_attrs::<LinkAttrs>(LINK, live) else {
        return RemoteState::Ready;
    };
    match l.status.as_str() {
        status @ ("REJECTED" | "FAILED") => RemoteState::Failed(format!(
            "Atlas reports it {status}: {}",
            l.error_message.as_deref().unwrap_or("no errorMessage")
        )),
        _ => RemoteState::Ready,
    }
}

/// Rules of [`LINK`].
pub const LINK_RULES: KindRules = KindRules {
    kind: LINK,
    legacy_names: &[],
    cloud: "Atlas",
    weight: 120,
    forces_replacement: any_change,
    remote_state: link_state,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "an Azure private endpoint resource id (/subscriptions/…)",
        check: |s| s.starts_with("/subscriptions/") && s.contains("/privateEndpoints/"),
    },
    shared: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_link_is_failed_with_atlas_message() {
        let l: AzureLink = serde_json::from_value(serde_json::json!({
            "status": "REJECTED", "errorMessage": "no such private endpoint"
        }))
        .unwrap();
        let attrs = link_attrs("p", "s", "/subscriptions/x/privateEndpoints/y", &l).unwrap();
        match link_state(&attrs) {
            RemoteState::Failed(m) => assert!(m.contains("no such private endpoint"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_a_link_recorded_available_on_a_healthy_service_is_settled() {
        let pe = "/subscriptions/x/resourceGroups/g/providers/Microsoft.Network/privateEndpoints/y";
        let service: AzureService = serde_json::from_value(serde_json::json!({
            "id": "s", "regionName": "US_EAST_2", "status": "AVAILABLE",
            "privateEndpoints": [pe], "privateLinkServiceName": "pls_1",
            "privateLinkServiceResourceId": "/subscriptions/x/pls_1"
        }))
        .unwrap();
        let link = |status: &str| -> Attrs {
            let l: AzureLink = serde_json::from_value(serde_json::json!({
                "privateEndpointIPAddress": "10.0.1.4", "status": status
            }))
            .unwrap();
            link_attrs("p", "s", pe, &l).unwrap()
        };
        assert!(settled(&link("AVAILABLE"), &service));
        assert!(!settled(&link("INITIATING"), &service), "stopped mid-wait");
        assert!(!settled(&Attrs::new(), &service), "import: no status");
        let failing = AzureService {
            error_message: Some("broken".into()),
            ..service.clone()
        };
        assert!(!settled(&link("AVAILABLE"), &failing));
        let initiating = AzureService {
            status: "INITIATING".into(),
            ..service
        };
        assert!(!settled(&link("AVAILABLE"), &initiating));
        let listed = link_listed(&link("AVAILABLE"), "p", "s", pe);
        assert_eq!(listed, link("AVAILABLE"));
        assert_eq!(link_state(&listed), RemoteState::Ready);
    }
}
