//! The interface VPC endpoint (seed step 3): its attributes (with the
//! private IPs of its network interfaces), rules (what each EC2 state
//! means), create with a ClientToken unique to the create attempt, in-place
//! subnet and group changes, delete and adoption.
//!
//! A new endpoint is handed on (to the link, to the client egress rules)
//! once it is `available` or `pendingAcceptance` (Atlas accepts it only
//! when the link hands it the endpoint's id, so waiting for `available`
//! would never end) and lists one network interface per subnet, each with
//! its IP: EC2 lists the interfaces of a new endpoint one by one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::consistency::{EndpointRead, interfaces_complete};
use super::context::{AwsCloud, aws_tags, owned, region_of};
use super::types::endpoint_poll;
use super::{AwsError, CreateVpcEndpoint, Ec2, VpcEndpointInfo, VpceTarget};
use crate::model::{Attrs, Kind};
use crate::plan::{IdFormat, KindRules, RemoteState, never_forced};
use crate::providers::typed::{from_attrs, prefixed_hex, sorted, to_attrs};
use crate::providers::{Op, ProviderError, RecordCreated};
use crate::wait::{Poll, wait_for};

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
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<&'a str>,
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
        last_error: v.last_error.as_deref(),
    })
}

/// What an endpoint's EC2 state means: `rejected` (by Atlas), `failed` and
/// `expired` are failures the plan replaces, with EC2's last error;
/// `partial` is on its way (the apply waits for it); `pendingAcceptance`
/// (Atlas accepts it once linked), `pending` and `available` are fine.
/// `deleting` and `deleted` never get here: the refresh reports those as
/// gone.
pub fn vpce_remote_state(live: &Attrs) -> RemoteState {
    #[derive(Default, Deserialize)]
    struct Live {
        #[serde(default)]
        state: String,
        #[serde(default)]
        last_error: Option<String>,
    }
    let live: Live = from_attrs(KIND, live).unwrap_or_default();
    let error = live
        .last_error
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    match live.state.to_ascii_lowercase().as_str() {
        "rejected" | "failed" | "expired" => RemoteState::Failed(format!(
            "EC2 reports the VPC endpoint {}{error}",
            live.state
        )),
        "partial" => RemoteState::Pending(format!(
            "EC2 reports the VPC endpoint partial{error}: the apply waits for it"
        )),
        _ => RemoteState::Ready,
    }
}

/// Rules of [`KIND`].
pub const RULES: KindRules = KindRules {
    kind: KIND,
    legacy_names: &["vpc_endpoint"],
    cloud: "AWS",
    weight: 60,
    forces_replacement: |attribute| matches!(attribute, "region" | "vpc_id" | "service_name"),
    remote_state: vpce_remote_state,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "a vpce-… id",
        check: |s| prefixed_hex(s, "vpce-"),
    },
    shared: false,
};

/// The ClientToken of a create, from the create's attempt: a retry of the
/// same create (after a crash) sends the same token, any other create a new
/// one. EC2 answers a token it has seen with the endpoint it first created,
/// even one deleted since, so a token must never outlive its create. At
/// most 64 ASCII characters.
fn client_token(attempt: Option<&str>) -> String {
    match attempt {
        Some(attempt) => format!("privlink-{attempt}"),
        None => format!("privlink-{}", uuid::Uuid::new_v4()),
    }
}

/// What one poll of a new (or changed) endpoint found of its network
/// interfaces: ready with one per subnet (`subnets`) and an IP for each.
/// An endpoint still `pendingAcceptance` after `patience` is taken with the
/// interfaces it lists: only Atlas can move it on, and it does so once the
/// link hands it over.
fn interfaces_poll(
    read: EndpointRead,
    subnets: usize,
    waited: Duration,
    patience: Duration,
) -> Poll<EndpointRead> {
    let (v, ips) = &read;
    let pending_acceptance = v.state.eq_ignore_ascii_case("pendingAcceptance");
    if interfaces_complete(v, ips, subnets) || (pending_acceptance && waited >= patience) {
        return Poll::Ready(read);
    }
    let with_ip = v
        .network_interface_ids
        .iter()
        .filter(|eni| ips.contains_key(*eni))
        .count();
    Poll::Pending(format!(
        "{}, {with_ip} of {subnets} network interfaces listed",
        v.state
    ))
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
        let id = match resume {
            Some(id) => id.to_owned(),
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
                    client_token: client_token(op.attempt.as_deref()),
                };
                let v = ec2.create_vpc_endpoint(&req).await?;
                record(v.id.clone()).await?;
                v.id
            }
        };
        let attrs = self.settle_vpce(&ec2, op, &id, &want).await?;
        Ok((id, attrs))
    }

    /// Waits until the endpoint is usable (see [`VpceTarget::Available`])
    /// and lists one network interface per subnet, each with its IP; its
    /// attributes then.
    async fn settle_vpce(
        &self,
        ec2: &Ec2,
        op: &Op,
        id: &str,
        want: &Want,
    ) -> Result<Attrs, ProviderError> {
        const STEP: &str = "waiting for the VPC endpoint and its network interfaces";
        let started = Instant::now();
        let subnets = want.subnet_ids.len();
        let patience = crate::limits::AWS_PROPAGATION_TIMEOUT;
        let (v, ips) = wait_for(
            op.address.as_str(),
            STEP,
            self.policy,
            op.progress.as_ref(),
            || async {
                let Some((v, ips)) = ec2.endpoint_with_ips(id).await? else {
                    return Ok::<_, AwsError>(Poll::Pending("not listed yet".into()));
                };
                Ok(match endpoint_poll(VpceTarget::Available, Some(v)) {
                    Poll::Ready(Some(v)) => {
                        interfaces_poll((v, ips), subnets, started.elapsed(), patience)
                    }
                    Poll::Ready(None) => Poll::Pending("not listed yet".into()),
                    Poll::Pending(state) => Poll::Pending(state),
                    Poll::Failed(message) => Poll::Failed(message),
                })
            },
        )
        .await
        .map_err(AwsError::from_wait)?;
        if !interfaces_complete(&v, &ips, subnets) {
            crate::logging::progress(&format!(
                "{}: VPC endpoint {id} is pendingAcceptance with {} of {subnets} network \
                 interfaces; the egress rules of the others follow once Atlas accepts it",
                op.address,
                v.network_interface_ids.len()
            ));
        }
        Ok(vpce_attrs(&want.region, &v, &ips))
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
        self.settle_vpce(&ec2, op, id, &want).await
    }

    /// Deletes the endpoint and waits until it is gone.
    pub(super) async fn delete_vpce(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<(), ProviderError> {
        let ec2 = self.ec2(&region_of(op, a)?).await;
        // An endpoint made moments ago that EC2 does not show yet would be
        // "already deleted": wait until EC2 shows it.
        if let Some(left) = super::consistency::young(op.attempt.as_deref())
            && ec2.seen_endpoint(id, left).await?.is_none()
        {
            return Ok(());
        }
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
            .find(|v| owned(&v.tags, &op.stack, &op.owner) && !v.failed() && !v.deleted())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(state: &str, last_error: Option<&str>) -> Attrs {
        let mut a = Attrs::new();
        a.insert("state".into(), json!(state));
        if let Some(e) = last_error {
            a.insert("last_error".into(), json!(e));
        }
        a
    }

    #[test]
    fn each_endpoint_state_means_something_to_the_plan() {
        for s in ["available", "pendingAcceptance", "pending", ""] {
            assert_eq!(vpce_remote_state(&live(s, None)), RemoteState::Ready, "{s}");
        }
        assert!(matches!(
            vpce_remote_state(&live("partial", None)),
            RemoteState::Pending(_)
        ));
        for s in ["rejected", "failed", "expired"] {
            assert_eq!(
                vpce_remote_state(&live(s, Some("Client.Denied: rejected by the owner"))),
                RemoteState::Failed(format!(
                    "EC2 reports the VPC endpoint {s}: Client.Denied: rejected by the owner"
                ))
            );
        }
    }

    #[test]
    fn every_create_has_its_own_token_and_a_retry_the_same() {
        let attempt = crate::state::new_attempt();
        let token = client_token(Some(&attempt));
        assert_eq!(token, client_token(Some(&attempt)));
        assert!(token.len() <= 64 && token.is_ascii(), "{token}");
        assert_ne!(token, client_token(Some(&crate::state::new_attempt())));
        assert_ne!(client_token(None), client_token(None));
    }

    fn endpoint(state: &str, enis: &[&str]) -> VpcEndpointInfo {
        VpcEndpointInfo {
            id: "vpce-1".into(),
            vpc_id: "vpc-1".into(),
            service_name: "svc".into(),
            state: state.into(),
            subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
            security_group_ids: vec![],
            network_interface_ids: enis.iter().map(|e| (*e).to_owned()).collect(),
            tags: BTreeMap::new(),
            last_error: None,
        }
    }

    #[test]
    fn a_new_endpoint_waits_for_one_interface_per_subnet() {
        let ips: BTreeMap<String, String> = [
            ("eni-1".to_owned(), "10.0.1.5".to_owned()),
            ("eni-2".to_owned(), "10.0.2.5".to_owned()),
        ]
        .into();
        let patience = Duration::from_secs(120);
        let early = Duration::from_secs(1);
        let one = (endpoint("available", &["eni-1"]), ips.clone());
        assert_eq!(
            interfaces_poll(one, 2, early, patience),
            Poll::Pending("available, 1 of 2 network interfaces listed".into())
        );
        let both = (endpoint("available", &["eni-1", "eni-2"]), ips.clone());
        assert!(matches!(
            interfaces_poll(both, 2, early, patience),
            Poll::Ready(_)
        ));
        // Pending acceptance: taken as it is after a while, not waited on for ever.
        let waiting = (endpoint("pendingAcceptance", &["eni-1"]), ips.clone());
        assert!(matches!(
            interfaces_poll(waiting.clone(), 2, early, patience),
            Poll::Pending(_)
        ));
        assert!(matches!(
            interfaces_poll(waiting, 2, patience, patience),
            Poll::Ready(_)
        ));
    }
}
