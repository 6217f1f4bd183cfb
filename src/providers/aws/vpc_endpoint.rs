//! The interface VPC endpoint (seed step 3): its attributes (with the
//! private IPs of its network interfaces), rules, create with a
//! ClientToken, in-place subnet and group changes, delete and adoption.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::context::{AwsCloud, aws_tags, owned, region_of};
use super::{CreateVpcEndpoint, Ec2, VpcEndpointInfo, VpceTarget};
use crate::model::{Address, Attrs, Kind};
use crate::plan::{IdFormat, KindRules, always_ready, never_forced};
use crate::providers::typed::{from_attrs, prefixed_hex, sorted, stable_hash, to_attrs};
use crate::providers::{Op, ProviderError, RecordCreated};

/// The interface VPC endpoint.
pub const KIND: Kind = Kind::new("aws_vpc_endpoint");

/// The desired attributes of a VPC endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Want {
    /// The AWS region.
    pub region: String,
    /// The VPC.
    pub vpc_id: String,
    /// The endpoint service it connects to.
    pub service_name: String,
    /// Its subnets.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// Its security groups.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
}

/// The attributes of an endpoint as read back.
#[derive(Debug, Serialize)]
struct Read<'a> {
    region: &'a str,
    vpc_id: &'a str,
    service_name: &'a str,
    subnet_ids: Vec<String>,
    security_group_ids: Vec<String>,
    id: &'a str,
    state: &'a str,
    network_interface_ids: Vec<String>,
    private_ip_cidrs: Vec<String>,
}

/// The attributes of an endpoint as read back, with the private IP (as a
/// /32) of each of its network interfaces found in `ips`.
pub fn vpce_attrs(region: &str, v: &VpcEndpointInfo, ips: &BTreeMap<String, String>) -> Attrs {
    let cidrs = v
        .network_interface_ids
        .iter()
        .filter_map(|eni| ips.get(eni))
        .map(|ip| format!("{ip}/32"))
        .collect();
    to_attrs(&Read {
        region,
        vpc_id: &v.vpc_id,
        service_name: &v.service_name,
        subnet_ids: sorted(v.subnet_ids.clone()),
        security_group_ids: sorted(v.security_group_ids.clone()),
        id: &v.id,
        state: &v.state,
        network_interface_ids: sorted(v.network_interface_ids.clone()),
        private_ip_cidrs: sorted(cidrs),
    })
}

/// True when the endpoint is gone or unusable for good.
pub fn vpce_gone(v: &VpcEndpointInfo) -> bool {
    matches!(
        v.state.to_ascii_lowercase().as_str(),
        "deleted" | "deleting" | "failed" | "rejected" | "expired"
    )
}

/// Rules of [`KIND`].
pub const RULES: KindRules = KindRules {
    kind: KIND,
    legacy_names: &["vpc_endpoint"],
    cloud: "AWS",
    weight: 60,
    forces_replacement: |attribute| matches!(attribute, "region" | "vpc_id" | "service_name"),
    remote_state: always_ready,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "a vpce-… id",
        check: |s| prefixed_hex(s, "vpce-"),
    },
    shared: false,
};

/// A ClientToken that is the same for a retried create of the same request
/// and different for a different one (EC2 limits it to 64 ASCII characters).
fn client_token(stack: &str, address: &Address, d: &Attrs) -> String {
    let text = format!(
        "{stack}\n{address}\n{}",
        serde_json::to_string(d).unwrap_or_default()
    );
    format!("privlink-{:016x}", stable_hash(&text))
}

/// The attributes of an endpoint just read (by its wait), with the private
/// IPs of its network interfaces.
async fn with_ips(
    ec2: &Ec2,
    region: &str,
    found: Option<VpcEndpointInfo>,
    id: &str,
) -> Result<Attrs, ProviderError> {
    let v = found.ok_or_else(|| ProviderError::vanished(format!("VPC endpoint {id}"), ""))?;
    let ips: BTreeMap<String, String> = ec2
        .network_interface_ips(&v.network_interface_ids)
        .await?
        .into_iter()
        .collect();
    Ok(vpce_attrs(region, &v, &ips))
}

impl AwsCloud {
    /// Creates (or resumes) the endpoint and waits until it is usable.
    pub(super) async fn create_vpce(
        &self,
        op: &Op,
        d: &Attrs,
        resume: Option<&str>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let want: Want = from_attrs(op.kind, d)?;
        let ec2 = self.ec2(&want.region).await;
        let (id, created) = match resume {
            Some(id) => (id.to_owned(), None),
            None => {
                let name = format!(
                    "privlink-{}-{}",
                    op.stack,
                    op.address.endpoint_name().unwrap_or("endpoint")
                );
                let req = CreateVpcEndpoint {
                    vpc_id: want.vpc_id.clone(),
                    service_name: want.service_name.clone(),
                    subnet_ids: want.subnet_ids.clone(),
                    security_group_ids: want.security_group_ids.clone(),
                    tags: aws_tags(&op.stack, &op.owner, &op.address, &name),
                    client_token: client_token(&op.stack, &op.address, d),
                };
                let v = ec2.create_vpc_endpoint(&req).await?;
                record(v.id.clone()).await?;
                (v.id.clone(), Some(v))
            }
        };
        // An endpoint the create answered as usable needs no wait.
        let found = match created.filter(VpcEndpointInfo::usable) {
            Some(v) => Some(v),
            None => self.wait_vpce(&ec2, op, &id, VpceTarget::Available).await?,
        };
        let attrs = with_ips(&ec2, &want.region, found, &id).await?;
        Ok((id, attrs))
    }

    /// Changes subnets and security groups in place.
    pub(super) async fn update_vpce(
        &self,
        op: &Op,
        id: &str,
        before: &Attrs,
        d: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let want: Want = from_attrs(op.kind, d)?;
        let had: Want = from_attrs(op.kind, before)?;
        let ec2 = self.ec2(&want.region).await;
        let diff = |old: &[String], new: &[String]| {
            let old: BTreeSet<&String> = old.iter().collect();
            let new: BTreeSet<&String> = new.iter().collect();
            let add: Vec<String> = new.difference(&old).map(|s| (*s).clone()).collect();
            let remove: Vec<String> = old.difference(&new).map(|s| (*s).clone()).collect();
            (add, remove)
        };
        let (add_subnets, remove_subnets) = diff(&had.subnet_ids, &want.subnet_ids);
        let (add_groups, remove_groups) = diff(&had.security_group_ids, &want.security_group_ids);
        ec2.modify_vpc_endpoint(
            id,
            &add_subnets,
            &remove_subnets,
            &add_groups,
            &remove_groups,
        )
        .await?;
        let found = self.wait_vpce(&ec2, op, id, VpceTarget::Available).await?;
        with_ips(&ec2, &want.region, found, id).await
    }

    /// Deletes the endpoint and waits until it is gone.
    pub(super) async fn delete_vpce(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<(), ProviderError> {
        let ec2 = self.ec2(&region_of(op, a)?).await;
        ec2.delete_vpc_endpoint(id).await?;
        self.wait_vpce(&ec2, op, id, VpceTarget::Gone).await?;
        Ok(())
    }

    /// The endpoint an earlier run of this state created for this address,
    /// by its tags (which must name this state as owner).
    pub(super) async fn find_vpce(
        &self,
        op: &Op,
        d: &Attrs,
    ) -> Result<Option<String>, ProviderError> {
        let ec2 = self.ec2(&region_of(op, d)?).await;
        let found = ec2
            .describe_vpc_endpoints_by_tag(super::TAG_ADDRESS, op.address.as_str())
            .await?;
        Ok(found
            .into_iter()
            .find(|v| owned(&v.tags, &op.stack, &op.owner) && !vpce_gone(v))
            .map(|v| v.id))
    }

    async fn wait_vpce(
        &self,
        ec2: &Ec2,
        op: &Op,
        id: &str,
        target: VpceTarget,
    ) -> Result<Option<VpcEndpointInfo>, ProviderError> {
        Ok(ec2
            .wait_vpc_endpoint(
                id,
                target,
                op.address.as_str(),
                self.policy,
                op.progress.as_ref(),
            )
            .await?)
    }
}
