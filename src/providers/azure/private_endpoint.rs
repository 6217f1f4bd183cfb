//! The Azure private endpoint: its attributes (with the private IP of its
//! network interface), rules (what its provisioning and connection states
//! mean), create with PUT (a manual connection to Atlas's Private Link
//! Service, tagged with the owner), delete, and adoption by name and tags.
//!
//! ARM names a private endpoint by its path, so a create that ran before
//! (and whose id was never recorded) is found again by its name; a PUT on
//! it would change it in place, so one that another state owns is refused
//! before any PUT.

use serde::{Deserialize, Serialize};

use super::arm::{Arm, NETWORK_API};
use super::context::{AzureCloud, azure_tags, endpoint_path, is_endpoint_id, scope_of};
use super::error::AzureError;
use super::types::{NetworkInterface, PrivateEndpoint};
use crate::model::{Attrs, Kind};
use crate::plan::{Holder, IdFormat, Kept, KindRules, RemoteState, any_change, never_forced};
use crate::providers::adopt::{other_owner, owned_by};
use crate::providers::typed::{from_attrs, to_attrs};
use crate::providers::{Op, ProviderError, RecordCreated};
use crate::wait::{Poll, wait_for};

/// The Azure private endpoint.
pub const KIND: Kind = Kind::new("azure_private_endpoint");

/// The desired attributes of a private endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Want {
    /// Its subscription.
    pub subscription: String,
    /// Its resource group.
    pub resource_group: String,
    /// Its location.
    pub location: String,
    /// Its name.
    pub name: String,
    /// The subnet it lives in.
    pub subnet_id: String,
    /// The Private Link Service it connects to (Atlas's).
    pub private_link_service_id: String,
    /// The connection's name (the Private Link Service's name).
    pub connection_name: String,
}

/// The attributes of a private endpoint as read back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Read {
    #[serde(flatten)]
    want: Want,
    id: String,
    provisioning_state: String,
    connection_status: String,
    connection_description: Option<String>,
    network_interface_id: Option<String>,
    private_ip: Option<String>,
}

/// The attributes of `pe` as read, with its network interface's IP.
pub fn endpoint_attrs(pe: &PrivateEndpoint, private_ip: Option<&str>) -> Attrs {
    let (subscription, resource_group) = scope_of(&pe.id).unwrap_or_default();
    let connection = pe.connection();
    let state = connection.and_then(|c| c.properties.private_link_service_connection_state.clone());
    let p = &pe.properties;
    to_attrs(&Read {
        want: Want {
            subscription,
            resource_group,
            location: pe.location.clone(),
            name: pe.name.clone(),
            subnet_id: p.subnet.clone().unwrap_or_default().id,
            private_link_service_id: connection
                .map(|c| c.properties.private_link_service_id.clone())
                .unwrap_or_default(),
            connection_name: connection.map(|c| c.name.clone()).unwrap_or_default(),
        },
        id: pe.id.clone(),
        provisioning_state: p.provisioning_state.clone().unwrap_or_default(),
        connection_status: state.as_ref().map(|s| s.status.clone()).unwrap_or_default(),
        connection_description: state.and_then(|s| s.description),
        network_interface_id: nic_of(pe).map(str::to_owned),
        private_ip: private_ip.map(str::to_owned),
    })
}

/// `live` with each resource id that names the same resource as the
/// recorded `desired` one (ARM ids match in any case) written as desired,
/// so that a plan shows no change where there is none.
pub fn as_desired(mut live: Attrs, desired: &Attrs) -> Attrs {
    for key in ["subnet_id", "private_link_service_id", "resource_group"] {
        let wanted = desired.get(key).and_then(serde_json::Value::as_str);
        let found = live.get(key).and_then(serde_json::Value::as_str);
        if let (Some(w), Some(f)) = (wanted, found)
            && w != f
            && w.eq_ignore_ascii_case(f)
        {
            live.insert(key.to_owned(), serde_json::Value::from(w));
        }
    }
    live
}

/// The id of the endpoint's network interface.
pub fn nic_of(pe: &PrivateEndpoint) -> Option<&str> {
    pe.properties
        .network_interfaces
        .first()
        .map(|n| n.id.as_str())
        .filter(|id| !id.is_empty())
}

/// What a private endpoint's states mean: provisioning `Failed`, or a
/// connection the service owner `Rejected` or `Disconnected`, are failures
/// the plan replaces (with the owner's words); provisioning in progress is
/// waited for.
pub fn endpoint_remote_state(live: &Attrs) -> RemoteState {
    let Ok(r) = from_attrs::<Read>(KIND, live) else {
        return RemoteState::Ready;
    };
    let words = r
        .connection_description
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    match (r.provisioning_state.as_str(), r.connection_status.as_str()) {
        ("Failed", _) => RemoteState::Failed(
            "Azure reports the private endpoint's provisioning Failed".to_owned(),
        ),
        (_, status @ ("Rejected" | "Disconnected")) => {
            RemoteState::Failed(format!("Azure reports the connection {status}{words}"))
        }
        ("Updating" | "Creating", _) => RemoteState::Pending(format!(
            "Azure reports the private endpoint {}: the apply waits for it",
            r.provisioning_state
        )),
        _ => RemoteState::Ready,
    }
}

/// Rules of [`KIND`].
pub const RULES: KindRules = KindRules {
    kind: KIND,
    legacy_names: &[],
    cloud: "Azure",
    weight: 60,
    forces_replacement: any_change,
    remote_state: endpoint_remote_state,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "a private endpoint resource id (/subscriptions/…/providers/Microsoft.Network/privateEndpoints/…)",
        check: is_endpoint_id,
    },
    shared: false,
};

/// The body of the PUT that creates the endpoint.
fn put_body(want: &Want, op: &Op) -> serde_json::Value {
    serde_json::json!({
        "location": want.location,
        "tags": azure_tags(&op.stack, &op.owner, &op.address),
        "properties": {
            "subnet": { "id": want.subnet_id },
            "manualPrivateLinkServiceConnections": [{
                "name": want.connection_name,
                "properties": {
                    "privateLinkServiceId": want.private_link_service_id,
                    "requestMessage": format!("privlink {}: {}", op.stack, op.address),
                },
            }],
        },
    })
}

/// Whose a private endpoint found is, when it is not this state's.
pub fn foreign(pe: &PrivateEndpoint, owner: &str) -> Option<Holder> {
    other_owner(pe.owner(), owner)
}

impl AzureCloud {
    /// Creates (or resumes) the private endpoint and waits until it is
    /// provisioned and its network interface has an IP.
    pub(super) async fn create_endpoint(
        &self,
        op: &Op,
        d: &Attrs,
        resume: Option<&str>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let want: Want = from_attrs(op.kind, d)?;
        let arm = self.arm()?;
        let (id, operation) = match resume {
            Some(id) => (id.to_owned(), None),
            None => {
                let path = endpoint_path(&want.subscription, &want.resource_group, &want.name);
                if let Some(pe) = arm.get::<PrivateEndpoint>(&path, NETWORK_API).await?
                    && let Some(holder) = foreign(&pe, &op.owner)
                {
                    let kept = Kept { id: pe.id, holder };
                    return Err(ProviderError::Unsupported(format!(
                        "{}: the private endpoint {}; privlink does not change it",
                        op.address,
                        kept.describe()
                    )));
                }
                let (pe, operation): (PrivateEndpoint, _) =
                    arm.put(&path, NETWORK_API, &put_body(&want, op)).await?;
                record(pe.id.clone()).await?;
                (pe.id, operation)
            }
        };
        let (pe, ip) = self.wait_provisioned(&arm, op, &id, operation).await?;
        Ok((id, as_desired(endpoint_attrs(&pe, Some(&ip)), d)))
    }

    /// Waits for the operation (when known) and the endpoint's
    /// `provisioningState`, then for its network interface's IP.
    async fn wait_provisioned(
        &self,
        arm: &Arm,
        op: &Op,
        id: &str,
        operation: Option<String>,
    ) -> Result<(PrivateEndpoint, String), AzureError> {
        let address = op.address.as_str();
        let progress = op.progress.as_ref();
        if let Some(url) = operation {
            let step = "waiting for the private endpoint's provisioning (Succeeded)";
            wait_for(address, step, self.policy, progress, || async {
                let o = arm.operation(&url).await?;
                Ok::<_, AzureError>(match o.status.as_str() {
                    "Succeeded" => Poll::Ready(()),
                    "Failed" | "Canceled" => Poll::Failed(operation_message(&o)),
                    other => Poll::Pending(other.to_owned()),
                })
            })
            .await
            .map_err(AzureError::from_wait)?;
        }
        let step = "waiting for the private endpoint and its network interface's IP";
        wait_for(address, step, self.policy, progress, || async {
            let Some(pe) = arm.get::<PrivateEndpoint>(id, NETWORK_API).await? else {
                return Ok(Poll::Failed(
                    "the private endpoint no longer exists".to_owned(),
                ));
            };
            let state = pe.properties.provisioning_state.clone().unwrap_or_default();
            match state.as_str() {
                "Succeeded" => {}
                "Failed" => return Ok(Poll::Failed("provisioningState is Failed".to_owned())),
                _ => return Ok(Poll::Pending(state)),
            }
            let Some(nic) = nic_of(&pe) else {
                return Ok(Poll::Pending(
                    "Succeeded, no network interface yet".to_owned(),
                ));
            };
            let nic: Option<NetworkInterface> = arm.get(nic, NETWORK_API).await?;
            Ok::<_, AzureError>(match nic.as_ref().and_then(|n| n.private_ip()) {
                Some(ip) => Poll::Ready((pe.clone(), ip.to_owned())),
                None => Poll::Pending("Succeeded, no private IP yet".to_owned()),
            })
        })
        .await
        .map_err(AzureError::from_wait)
    }

    /// Deletes the private endpoint and waits until it is gone.
    pub(super) async fn delete_endpoint(&self, op: &Op, id: &str) -> Result<(), ProviderError> {
        let arm = self.arm()?;
        let operation = arm.delete(id, NETWORK_API).await?;
        let (address, progress) = (op.address.as_str(), op.progress.as_ref());
        if let Some(url) = operation {
            let step = "waiting for the private endpoint's deletion (Succeeded)";
            wait_for(address, step, self.policy, progress, || async {
                let o = arm.operation(&url).await?;
                Ok::<_, AzureError>(match o.status.as_str() {
                    "Succeeded" => Poll::Ready(()),
                    "Failed" | "Canceled" => Poll::Failed(operation_message(&o)),
                    other => Poll::Pending(other.to_owned()),
                })
            })
            .await
            .map_err(AzureError::from_wait)?;
        }
        let step = "waiting for the private endpoint to be gone";
        wait_for(address, step, self.policy, progress, || async {
            let found = arm.get::<PrivateEndpoint>(id, NETWORK_API).await?;
            Ok::<_, AzureError>(match found {
                None => Poll::Ready(()),
                Some(pe) => Poll::Pending(pe.properties.provisioning_state.unwrap_or_default()),
            })
        })
        .await
        .map_err(AzureError::from_wait)?;
        Ok(())
    }

    /// The private endpoint `id` when its tags name another state as owner.
    pub(super) async fn endpoint_kept(
        &self,
        op: &Op,
        id: &str,
    ) -> Result<Option<Kept>, ProviderError> {
        let pe: Option<PrivateEndpoint> = self.arm()?.get(id, NETWORK_API).await?;
        Ok(pe
            .and_then(|pe| foreign(&pe, &op.owner))
            .map(|holder| Kept {
                id: id.to_owned(),
                holder,
            }))
    }

    /// The private endpoint an earlier run of this state created under the
    /// desired name, if any (only one its tags say this state owns).
    pub(super) async fn find_endpoint(
        &self,
        op: &Op,
        d: &Attrs,
    ) -> Result<Option<String>, ProviderError> {
        let want: Want = from_attrs(op.kind, d)?;
        let path = endpoint_path(&want.subscription, &want.resource_group, &want.name);
        let pe: Option<PrivateEndpoint> = self.arm()?.get(&path, NETWORK_API).await?;
        Ok(pe
            .filter(|pe| pe.owner().is_some_and(|o| owned_by(o, &op.owner)))
            .map(|pe| pe.id))
    }
}

/// ARM's words on a failed operation.
fn operation_message(o: &super::arm::Operation) -> String {
    match &o.error {
        Some(e) if !e.message.is_empty() => format!("{}: {}", e.code, e.message),
        _ => format!("the operation ended {} (ARM gave no message)", o.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pe(state: &str, connection: &str) -> PrivateEndpoint {
        serde_json::from_value(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe",
            "name": "pe", "location": "eastus2",
            "tags": {"privlink:owner": "1a2b3c4d-0000-4000-8000-000000000000"},
            "properties": {
                "provisioningState": state,
                "subnet": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/default"},
                "networkInterfaces": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/pe.nic"}],
                "manualPrivateLinkServiceConnections": [{"name": "pls_1", "properties": {
                    "privateLinkServiceId": "/subscriptions/a/resourceGroups/b/providers/Microsoft.Network/privateLinkServices/pls_1",
                    "privateLinkServiceConnectionState": {"status": connection, "description": "the owner said no"}
                }}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn attributes_read_back_carry_the_desired_ones() {
        let attrs = endpoint_attrs(&pe("Succeeded", "Approved"), Some("10.0.1.4"));
        let read: Read = from_attrs(KIND, &attrs).unwrap();
        assert_eq!(read.want.subscription, "s");
        assert_eq!(read.want.resource_group, "rg");
        assert_eq!(read.want.connection_name, "pls_1");
        assert_eq!(read.private_ip.as_deref(), Some("10.0.1.4"));
        assert_eq!(endpoint_remote_state(&attrs), RemoteState::Ready);
    }

    #[test]
    fn failed_provisioning_and_rejected_connections_are_failures() {
        let failed = endpoint_attrs(&pe("Failed", "Pending"), None);
        assert!(matches!(
            endpoint_remote_state(&failed),
            RemoteState::Failed(_)
        ));
        let rejected = endpoint_attrs(&pe("Succeeded", "Rejected"), None);
        match endpoint_remote_state(&rejected) {
            RemoteState::Failed(why) => assert!(why.contains("the owner said no"), "{why}"),
            other => panic!("{other:?}"),
        }
        let updating = endpoint_attrs(&pe("Updating", "Pending"), None);
        assert!(matches!(
            endpoint_remote_state(&updating),
            RemoteState::Pending(_)
        ));
    }

    #[test]
    fn ids_differing_only_in_case_read_as_desired() {
        let live = endpoint_attrs(&pe("Succeeded", "Approved"), None);
        let mut desired = live.clone();
        let upper = live["subnet_id"]
            .as_str()
            .unwrap()
            .replace("resourceGroups", "resourcegroups");
        desired.insert("subnet_id".into(), upper.clone().into());
        assert_eq!(
            as_desired(live.clone(), &desired)["subnet_id"],
            upper.as_str()
        );
        desired.insert("subnet_id".into(), "/subscriptions/other".into());
        assert_eq!(
            as_desired(live.clone(), &desired)["subnet_id"],
            live["subnet_id"]
        );
    }

    #[test]
    fn ownership_by_tags() {
        let p = pe("Succeeded", "Approved");
        assert_eq!(foreign(&p, "1a2b3c4d-0000-4000-8000-000000000000"), None);
        assert!(foreign(&p, "ffffffff-0000-4000-8000-000000000000").is_some());
    }
}
