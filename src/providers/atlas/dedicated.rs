//! The dedicated-cluster flow's two Atlas kinds: the endpoint service of a
//! (project, cloud, region), shared by every endpoint there, and the
//! interface endpoint that links one cloud endpoint to it. Their
//! attributes, rules, reads, creates, deletes and adoption.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::{AtlasCloud, atlas_region, remote_state};
use super::{EndpointService, InterfaceEndpoint, InterfaceTarget, ServiceTarget};
use crate::model::{Attrs, Kind};
use crate::plan::{Action, Change, IdFormat, KindRules, RemoteState, any_change, never_forced};
use crate::plan::{Holder, Kept};
use crate::providers::adopt::leave;
use crate::providers::typed::{from_attrs, hex24, prefixed_hex, to_attrs};
use crate::providers::{Op, ProviderError, RecordCreated};

/// Atlas's endpoint service of a (project, cloud, region).
pub const SERVICE: Kind = Kind::new("atlas_endpoint_service");
/// An interface endpoint on an endpoint service.
pub const INTERFACE: Kind = Kind::new("atlas_interface_endpoint");

/// The desired attributes of a [`SERVICE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WantService {
    /// The Atlas project.
    pub project_id: String,
    /// The cloud's own region name.
    pub region: String,
}

/// The attributes of a [`SERVICE`] as read back.
#[derive(Debug, Serialize)]
struct ServiceAttrs<'a> {
    project_id: &'a str,
    region: &'a str,
    id: &'a str,
    endpoint_service_name: &'a Option<String>,
    status: &'a str,
    error_message: &'a Option<String>,
    interface_endpoints: &'a [String],
}

/// The desired attributes of an [`INTERFACE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WantInterface {
    /// The Atlas project.
    pub project_id: String,
    /// The endpoint service's id.
    pub endpoint_service_id: String,
    /// The cloud endpoint's id.
    pub vpc_endpoint_id: String,
}

/// The attributes of an [`INTERFACE`] as read back.
#[derive(Debug, Serialize, Deserialize)]
struct InterfaceAttrs {
    #[serde(flatten)]
    want: WantInterface,
    id: String,
    connection_status: String,
    error_message: Option<String>,
}

/// The attributes of a service as read back.
pub fn service_attrs(project: &str, region: &str, e: &EndpointService) -> Attrs {
    to_attrs(&ServiceAttrs {
        project_id: project,
        region,
        id: &e.id,
        endpoint_service_name: &e.endpoint_service_name,
        status: &e.status,
        error_message: &e.error_message,
        interface_endpoints: &e.interface_endpoints,
    })
}

fn interface_attrs(want: &WantInterface, e: &InterfaceEndpoint) -> Attrs {
    to_attrs(&InterfaceAttrs {
        want: want.clone(),
        id: want.vpc_endpoint_id.clone(),
        connection_status: e.connection_status.clone(),
        error_message: e.error_message.clone(),
    })
}

/// Rules of [`SERVICE`].
pub const SERVICE_RULES: KindRules = KindRules {
    kind: SERVICE,
    legacy_names: &["endpoint_service"],
    cloud: "Atlas",
    weight: 300,
    forces_replacement: any_change,
    remote_state: |live| remote_state(SERVICE, live, "INITIATING"),
    forced_by: last_interface_removed,
    id_format: IdFormat {
        expected: "a 24-hex Atlas id",
        check: hex24,
    },
    shared: true,
};

/// Atlas removes an endpoint service together with its last interface
/// endpoint: a plan that removes them all replaces the service.
fn last_interface_removed(me: &Change, changes: &[Change]) -> Option<String> {
    let listed: Vec<&str> = me
        .before
        .as_ref()
        .and_then(|b| b.get("interface_endpoints"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let removed = changes
        .iter()
        .filter(|c| {
            c.kind == INTERFACE
                && matches!(c.action, Action::Replace | Action::Delete)
                && c.id.as_deref().is_some_and(|id| listed.contains(&id))
        })
        .count();
    (!listed.is_empty() && removed >= listed.len()).then(|| {
        "Atlas removes an endpoint service together with its last interface endpoint".into()
    })
}

/// The status part of an interface endpoint's attributes.
#[derive(Debug, Default, Deserialize)]
struct ConnectionStatus {
    #[serde(default)]
    connection_status: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

/// An interface endpoint Atlas REJECTED or FAILED is replaced.
fn connection_state(live: &Attrs) -> RemoteState {
    let s: ConnectionStatus = from_attrs(INTERFACE, live).unwrap_or_default();
    match s.connection_status.as_deref() {
        Some(status @ ("REJECTED" | "FAILED")) => RemoteState::Failed(format!(
            "Atlas reports it {status}: {}",
            s.error_message.as_deref().unwrap_or("no errorMessage")
        )),
        _ => RemoteState::Ready,
    }
}

/// Rules of [`INTERFACE`].
pub const INTERFACE_RULES: KindRules = KindRules {
    kind: INTERFACE,
    legacy_names: &["interface_endpoint"],
    cloud: "Atlas",
    weight: 120,
    forces_replacement: any_change,
    remote_state: connection_state,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "a vpce-… id",
        check: |s| prefixed_hex(s, "vpce-"),
    },
    shared: false,
};

/// Whether the bulk reads and the state settle an interface endpoint its
/// service lists, without reading it on its own: the apply recorded it
/// AVAILABLE, and its service is AVAILABLE without an `errorMessage`.
/// Otherwise (an apply that stopped mid-wait, an import, which recorded no
/// status, or a service in trouble) it is read. An endpoint Atlas REJECTED
/// after it was AVAILABLE shows on the cloud side (see docs/cloud-behaviours.md).
pub fn settled(recorded: &Attrs, service: &EndpointService) -> bool {
    let status = recorded.get("connection_status").and_then(Value::as_str);
    link_settled(status, &service.status, service.error_message.as_deref())
}

/// The rule of [`settled`] for a link of any cloud: its recorded `status`
/// and its service's status and `errorMessage`.
pub(super) fn link_settled(status: Option<&str>, service: &str, error: Option<&str>) -> bool {
    status == Some("AVAILABLE")
        && service == "AVAILABLE"
        && error.is_none_or(|m| m.trim().is_empty())
}

/// An interface endpoint its service lists, live as recorded: the recorded
/// attributes with the service that lists it.
pub fn interface_listed(recorded: &Attrs, project: &str, service_id: &str, vpce: &str) -> Attrs {
    let mut attributes = recorded.clone();
    attributes.insert("project_id".into(), Value::from(project));
    attributes.insert("endpoint_service_id".into(), Value::from(service_id));
    attributes.insert("vpc_endpoint_id".into(), Value::from(vpce));
    attributes
}

/// What Atlas says of an interface endpoint in state, read from its
/// service (`service_id`): the recorded attributes with the live
/// `connection_status` and `error_message`, so that an endpoint Atlas
/// REJECTED or FAILED since shows in a plan; `None` once it is being
/// deleted.
pub fn interface_live(
    recorded: &Attrs,
    project: &str,
    service_id: &str,
    vpce: &str,
    e: &InterfaceEndpoint,
) -> Option<Attrs> {
    if e.connection_status == "DELETING" || e.delete_requested {
        return None;
    }
    let mut attributes = interface_listed(recorded, project, service_id, vpce);
    attributes.insert(
        "connection_status".into(),
        Value::from(e.connection_status.as_str()),
    );
    attributes.insert(
        "error_message".into(),
        e.error_message.as_deref().map_or(Value::Null, Value::from),
    );
    Some(attributes)
}

impl AtlasCloud {
    /// Creates (or resumes) an endpoint service and waits until it is ready.
    pub(super) async fn create_service(
        &self,
        op: &Op,
        d: &Attrs,
        resume: Option<&str>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let want: WantService = from_attrs(op.kind, d)?;
        let id = match resume {
            Some(id) => id.to_owned(),
            None => {
                let e = self
                    .client
                    .create_endpoint_service(&want.project_id, &want.region)
                    .await?;
                record(e.id.clone()).await?;
                e.id
            }
        };
        let e = self
            .client
            .wait_endpoint_service(
                &want.project_id,
                &id,
                ServiceTarget::Ready,
                op.address.as_str(),
                self.policy,
                op.progress.as_ref(),
            )
            .await?
            .ok_or_else(|| {
                ProviderError::vanished(format!("endpoint service {id}"), " while creating")
            })?;
        Ok((id, service_attrs(&want.project_id, &want.region, &e)))
    }

    /// Creates (or resumes) an interface endpoint and waits for AVAILABLE.
    pub(super) async fn create_interface(
        &self,
        op: &Op,
        d: &Attrs,
        resume: Option<&str>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let want: WantInterface = from_attrs(op.kind, d)?;
        let (project, service, vpce) = (
            want.project_id.as_str(),
            want.endpoint_service_id.as_str(),
            want.vpc_endpoint_id.as_str(),
        );
        // Atlas links the endpoints of one service one at a time: the
        // extra ones of a crowd stay PENDING with an error, for good.
        let _turn = self.link_turn(service).await;
        if resume.is_none() {
            // One that exists already (an earlier run stopped before
            // recording it, or a create whose answer was lost) is taken.
            self.client
                .create_interface_endpoint(project, service, vpce)
                .await?;
            record(vpce.to_owned()).await?;
        }
        let e = self
            .client
            .wait_interface_endpoint(
                project,
                service,
                vpce,
                InterfaceTarget::Available,
                op.address.as_str(),
                self.policy,
                op.progress.as_ref(),
            )
            .await?
            .ok_or_else(|| {
                ProviderError::vanished(format!("interface endpoint {vpce}"), " while linking")
            })?;
        Ok((vpce.to_owned(), interface_attrs(&want, &e)))
    }

    /// Deletes an endpoint service and waits until it is gone; one that
    /// Atlas keeps for the interface endpoints of other stacks is left to
    /// them (said so).
    pub(super) async fn delete_service(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<(), ProviderError> {
        let want: WantService = from_attrs(op.kind, a)?;
        match self
            .client
            .delete_endpoint_service(&want.project_id, id)
            .await
        {
            // Another stack's interface endpoint came in the meantime.
            Err(e) if e.error_code() == Some("CANNOT_DELETE_PRIVATELINK_WITH_ENDPOINTS") => {
                let kept = Kept {
                    id: id.to_owned(),
                    holder: Holder::Users("interface endpoints of other stacks".into()),
                };
                leave(op, &kept);
                return Ok(());
            }
            other => other?,
        }
        self.client
            .wait_endpoint_service(
                &want.project_id,
                id,
                ServiceTarget::Gone,
                op.address.as_str(),
                self.policy,
                op.progress.as_ref(),
            )
            .await?;
        Ok(())
    }

    /// Deletes an interface endpoint and waits until it is gone.
    pub(super) async fn delete_interface(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<(), ProviderError> {
        let want: WantInterface = from_attrs(op.kind, a)?;
        let (project, service) = (&want.project_id, &want.endpoint_service_id);
        self.client
            .delete_interface_endpoint(project, service, id)
            .await?;
        self.client
            .wait_interface_endpoint(
                project,
                service,
                id,
                InterfaceTarget::Gone,
                op.address.as_str(),
                self.policy,
                op.progress.as_ref(),
            )
            .await?;
        Ok(())
    }

    /// The region's service (Atlas allows one per project and region).
    pub(super) async fn find_service(
        &self,
        op: &Op,
        d: &Attrs,
    ) -> Result<Option<String>, ProviderError> {
        let want: WantService = from_attrs(op.kind, d)?;
        let list = self.client.list_endpoint_services(&want.project_id).await?;
        Ok(list
            .into_iter()
            .find(|e| e.region_name == atlas_region(&want.region) && e.status != "DELETING")
            .map(|e| e.id))
    }

    /// The interface endpoint of this cloud endpoint, if Atlas has it.
    pub(super) async fn find_interface(
        &self,
        op: &Op,
        d: &Attrs,
    ) -> Result<Option<String>, ProviderError> {
        let want: WantInterface = from_attrs(op.kind, d)?;
        Ok(self
            .client
            .get_interface_endpoint(
                &want.project_id,
                &want.endpoint_service_id,
                &want.vpc_endpoint_id,
            )
            .await?
            .map(|_| want.vpc_endpoint_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attrs;

    #[test]
    fn a_rejected_interface_endpoint_read_live_is_failed() {
        let want = WantInterface {
            project_id: "p".into(),
            endpoint_service_id: "s".into(),
            vpc_endpoint_id: "vpce-1".into(),
        };
        let ok = InterfaceEndpoint {
            interface_endpoint_id: "vpce-1".into(),
            connection_status: "AVAILABLE".into(),
            error_message: None,
            delete_requested: false,
        };
        let recorded: Attrs = interface_attrs(&want, &ok);
        let rejected = InterfaceEndpoint {
            connection_status: "REJECTED".into(),
            error_message: Some("rejected by the service owner".into()),
            ..ok.clone()
        };
        let live = interface_live(&recorded, "p", "s", "vpce-1", &rejected).unwrap();
        assert_eq!(live["connection_status"], "REJECTED");
        match connection_state(&live) {
            RemoteState::Failed(why) => {
                assert!(why.contains("rejected by the service owner"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let live = interface_live(&recorded, "p", "s", "vpce-1", &ok).unwrap();
        assert!(matches!(connection_state(&live), RemoteState::Ready));
        let deleting = InterfaceEndpoint {
            connection_status: "DELETING".into(),
            ..ok
        };
        assert!(interface_live(&recorded, "p", "s", "vpce-1", &deleting).is_none());
    }

    #[test]
    fn only_an_endpoint_recorded_available_on_a_healthy_service_is_settled() {
        let service = |status: &str, error: Option<&str>| EndpointService {
            id: "s".into(),
            cloud_provider: Some("AWS".into()),
            region_name: "US_EAST_1".into(),
            endpoint_service_name: Some("com.amazonaws.vpce.us-east-1.vpce-svc-1".into()),
            interface_endpoints: vec!["vpce-1".into()],
            status: status.into(),
            error_message: error.map(str::to_owned),
        };
        let with = |status: Option<&str>| {
            let mut a = Attrs::new();
            a.insert("vpc_endpoint_id".into(), Value::from("vpce-1"));
            if let Some(s) = status {
                a.insert("connection_status".into(), Value::from(s));
            }
            a
        };
        let healthy = service("AVAILABLE", None);
        assert!(settled(&with(Some("AVAILABLE")), &healthy));
        assert!(settled(
            &with(Some("AVAILABLE")),
            &service("AVAILABLE", Some(" "))
        ));
        assert!(!settled(&with(None), &healthy), "import: no status");
        assert!(
            !settled(&with(Some("PENDING")), &healthy),
            "stopped mid-wait"
        );
        assert!(!settled(
            &with(Some("AVAILABLE")),
            &service("WAITING_FOR_USER", None)
        ));
        assert!(!settled(
            &with(Some("AVAILABLE")),
            &service("AVAILABLE", Some("broken"))
        ));
        let listed = interface_listed(&with(Some("AVAILABLE")), "p", "s", "vpce-1");
        assert_eq!(listed["endpoint_service_id"], "s");
        assert_eq!(listed["connection_status"], "AVAILABLE");
        assert!(matches!(connection_state(&listed), RemoteState::Ready));
    }
}
