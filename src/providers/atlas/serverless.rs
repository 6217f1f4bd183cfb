//! The serverless flow's two kinds (seed steps 1–2, 4 and 7): the Atlas
//! private endpoint of a serverless instance, and the link that hands it
//! the cloud endpoint's id and waits for AVAILABLE. Their attributes, rules,
//! reads, creates, updates, deletes and adoption.

use serde::{Deserialize, Serialize};

use super::azure::SERVERLESS_LINK as AZURE_LINK;
use super::context::{AtlasCloud, remote_state};
use super::marker::{marked_comment, marked_for, marked_owner, strip_marker};
use super::{ServerlessEndpoint, ServerlessTarget};
use crate::model::{Address, Attrs, Kind};
use crate::plan::{Action, Change, IdFormat, KindRules, always_ready, any_change, never_forced};
use crate::providers::adopt::owned_by;
use crate::providers::typed::{from_attrs, hex24, to_attrs};
use crate::providers::{Op, ProviderError, RecordCreated};

/// The Atlas private endpoint of a serverless instance.
pub const ENDPOINT: Kind = Kind::new("atlas_serverless_endpoint");
/// The hand-over of the cloud endpoint id to it, and the wait for AVAILABLE.
pub const LINK: Kind = Kind::new("atlas_serverless_link");

/// Where a serverless endpoint lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// The Atlas project.
    pub project_id: String,
    /// The serverless instance's name.
    pub instance: String,
}

/// The desired attributes of an [`ENDPOINT`].
#[derive(Debug, Clone, Deserialize)]
struct WantEndpoint {
    #[serde(flatten)]
    at: Instance,
    #[serde(default)]
    comment: Option<String>,
}

/// The attributes of an [`ENDPOINT`] as read back.
#[derive(Debug, Serialize)]
struct EndpointAttrs<'a> {
    project_id: &'a str,
    instance: &'a str,
    comment: Option<String>,
    id: &'a str,
    endpoint_service_name: &'a Option<String>,
    status: &'a str,
    error_message: &'a Option<String>,
    cloud_provider_endpoint_id: &'a Option<String>,
    /// Azure only: what the Azure private endpoint connects to.
    #[serde(skip_serializing_if = "Option::is_none")]
    private_link_service_resource_id: &'a Option<String>,
}

/// The desired attributes of a [`LINK`].
#[derive(Debug, Clone, Deserialize)]
struct WantLink {
    #[serde(flatten)]
    at: Instance,
    endpoint_id: String,
    vpc_endpoint_id: String,
}

/// The attributes of a [`LINK`] as read back.
#[derive(Debug, Serialize)]
struct LinkAttrs<'a> {
    project_id: &'a str,
    instance: &'a str,
    endpoint_id: &'a str,
    vpc_endpoint_id: &'a Option<String>,
    status: &'a str,
    error_message: &'a Option<String>,
}

/// The attributes of an endpoint as read back.
pub fn endpoint_attrs(at: &Instance, e: &ServerlessEndpoint) -> Attrs {
    to_attrs(&EndpointAttrs {
        project_id: &at.project_id,
        instance: &at.instance,
        comment: e.comment.as_deref().and_then(strip_marker),
        id: &e.id,
        endpoint_service_name: &e.endpoint_service_name,
        status: &e.status,
        error_message: &e.error_message,
        cloud_provider_endpoint_id: &e.cloud_provider_endpoint_id,
        private_link_service_resource_id: &e.private_link_service_resource_id,
    })
}

/// The attributes of a link as read back.
pub fn link_attrs(at: &Instance, e: &ServerlessEndpoint) -> Attrs {
    to_attrs(&LinkAttrs {
        project_id: &at.project_id,
        instance: &at.instance,
        endpoint_id: &e.id,
        vpc_endpoint_id: &e.cloud_provider_endpoint_id,
        status: &e.status,
        error_message: &e.error_message,
    })
}

const ATLAS_ID: IdFormat = IdFormat {
    expected: "a 24-hex Atlas id",
    check: hex24,
};

/// Rules of [`ENDPOINT`].
pub const ENDPOINT_RULES: KindRules = KindRules {
    kind: ENDPOINT,
    legacy_names: &["serverless_endpoint"],
    cloud: "Atlas",
    weight: 120,
    // A new comment replaces the endpoint: the plan cannot tell that an
    // update keeps its endpoint service name, so the VPC endpoint and the
    // link that follow from it are replaced with it.
    forces_replacement: |attribute| matches!(attribute, "project_id" | "instance" | "comment"),
    remote_state: |live| remote_state(ENDPOINT, live, "RESERVATION_REQUESTED"),
    forced_by: link_replaced,
    id_format: ATLAS_ID,
    shared: false,
};

/// A linked endpoint cannot take another cloud endpoint id: replacing the
/// link replaces the endpoint.
fn link_replaced(me: &Change, changes: &[Change]) -> Option<String> {
    changes
        .iter()
        .any(|c| {
            (c.kind == LINK || c.kind == AZURE_LINK)
                && c.action == Action::Replace
                && c.depends_on.contains(&me.address)
        })
        .then(|| {
            "its link must change, and Atlas cannot change cloudProviderEndpointId once set".into()
        })
}

/// Rules of [`LINK`].
pub const LINK_RULES: KindRules = KindRules {
    kind: LINK,
    legacy_names: &["serverless_link"],
    cloud: "Atlas",
    weight: 120,
    forces_replacement: any_change,
    remote_state: always_ready,
    forced_by: never_forced,
    id_format: ATLAS_ID,
    shared: false,
};

/// What one listed endpoint says of a state resource of either kind.
pub fn live(kind: Kind, at: &Instance, found: Option<&ServerlessEndpoint>) -> Option<Attrs> {
    let e = found.filter(|e| e.status != "DELETING")?;
    if kind == ENDPOINT {
        Some(endpoint_attrs(at, e))
    } else {
        e.cloud_provider_endpoint_id
            .as_ref()
            .map(|_| link_attrs(at, e))
    }
}

impl AtlasCloud {
    /// Creates (or resumes) a serverless endpoint and waits until reserved.
    pub(super) async fn create_endpoint(
        &self,
        op: &Op,
        d: &Attrs,
        resume: Option<&str>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let want: WantEndpoint = from_attrs(op.kind, d)?;
        let (project, instance) = (&want.at.project_id, &want.at.instance);
        let id = match resume {
            Some(id) => id.to_owned(),
            None => {
                let comment =
                    marked_comment(want.comment.as_deref(), &op.stack, &op.owner, &op.address);
                let e = self
                    .client
                    .create_serverless_endpoint(project, instance, Some(&comment))
                    .await?;
                record(e.id.clone()).await?;
                e.id
            }
        };
        let e = self
            .wait_serverless(op, &want.at, &id, ServerlessTarget::Reserved)
            .await?
            .ok_or_else(|| {
                ProviderError::vanished(format!("Atlas endpoint {id}"), " while reserving")
            })?;
        Ok((id, endpoint_attrs(&want.at, &e)))
    }

    /// Hands the cloud endpoint id to Atlas (unless it has it) and waits for AVAILABLE.
    pub(super) async fn create_link(
        &self,
        op: &Op,
        d: &Attrs,
        resume: Option<&str>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let want: WantLink = from_attrs(op.kind, d)?;
        let (project, instance) = (&want.at.project_id, &want.at.instance);
        let (endpoint, vpce) = (want.endpoint_id.as_str(), want.vpc_endpoint_id.as_str());
        // The PATCH is repeated unless Atlas already has this id (a resumed
        // or adopted link may or may not have sent it).
        let current = match resume {
            Some(_) => self
                .client
                .get_serverless_endpoint(project, instance, endpoint)
                .await?
                .and_then(|e| e.cloud_provider_endpoint_id),
            None => None,
        };
        if current.as_deref() != Some(vpce) {
            self.client
                .update_serverless_endpoint(project, instance, endpoint, Some(vpce), None)
                .await?;
        }
        if resume.is_none() {
            record(endpoint.to_owned()).await?;
        }
        let e = self
            .wait_serverless(op, &want.at, endpoint, ServerlessTarget::Available)
            .await?
            .ok_or_else(|| {
                ProviderError::vanished(format!("Atlas endpoint {endpoint}"), " while linking")
            })?;
        Ok((endpoint.to_owned(), link_attrs(&want.at, &e)))
    }

    /// Changes an endpoint's comment, keeping the owner its marker names.
    pub(super) async fn update_endpoint(
        &self,
        op: &Op,
        id: &str,
        d: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let want: WantEndpoint = from_attrs(op.kind, d)?;
        // One another state owns (imported with --force) keeps its owner.
        let other = self
            .client
            .get_serverless_endpoint(&want.at.project_id, &want.at.instance, id)
            .await?
            .and_then(|e| e.comment)
            .and_then(|c| marked_owner(&c))
            .filter(|o| !owned_by(o, &op.owner));
        let owner = other.as_deref().unwrap_or(&op.owner);
        let comment = marked_comment(want.comment.as_deref(), &op.stack, owner, &op.address);
        let e = self
            .client
            .update_serverless_endpoint(
                &want.at.project_id,
                &want.at.instance,
                id,
                None,
                Some(&comment),
            )
            .await?;
        Ok(endpoint_attrs(&want.at, &e))
    }

    /// Deletes an endpoint and waits until it is gone.
    pub(super) async fn delete_endpoint(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<(), ProviderError> {
        let at: Instance = from_attrs(op.kind, a)?;
        self.client
            .delete_serverless_endpoint(&at.project_id, &at.instance, id)
            .await?;
        self.wait_serverless(op, &at, id, ServerlessTarget::Gone)
            .await?;
        Ok(())
    }

    /// An endpoint an earlier run of this state created for this address,
    /// by its marker (which must name this state as owner).
    pub(super) async fn find_endpoint(
        &self,
        op: &Op,
        d: &Attrs,
    ) -> Result<Option<String>, ProviderError> {
        let at: Instance = from_attrs(op.kind, d)?;
        let list = self
            .client
            .list_serverless_endpoints(&at.project_id, &at.instance)
            .await?;
        Ok(list
            .into_iter()
            .find(|e| {
                let mark = e
                    .comment
                    .as_deref()
                    .map(|c| marked_for(c, &op.stack, &op.address));
                e.status != "DELETING"
                    && matches!(mark, Some(Some(Some(o))) if owned_by(&o, &op.owner))
            })
            .map(|e| e.id))
    }

    async fn wait_serverless(
        &self,
        op: &Op,
        at: &Instance,
        id: &str,
        target: ServerlessTarget,
    ) -> Result<Option<ServerlessEndpoint>, ProviderError> {
        Ok(self
            .client
            .wait_serverless_endpoint(
                &at.project_id,
                &at.instance,
                id,
                target,
                op.address.as_str(),
                self.policy,
                op.progress.as_ref(),
            )
            .await?)
    }
}

/// The endpoint address a link or egress rule of `name` refers to.
pub fn endpoint_address(name: &str) -> Address {
    Address::endpoint(name, "atlas_endpoint")
}
