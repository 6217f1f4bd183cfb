//! Plain data read from and sent to EC2, and the pure conversions from the
//! SDK's types. Nothing here does I/O.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{IpPermission, SecurityGroup, Tag, VpcEndpoint};
use serde::{Deserialize, Serialize};

use crate::wait::Poll;

/// Where allowed traffic comes from (ingress) or goes to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Another security group, `sg-…`.
    Group(String),
    /// An IPv4 or IPv6 CIDR block, e.g. `10.0.1.17/32`.
    Cidr(String),
}

/// One rule of a security group: one (permission × source) pair as EC2
/// lists it. Prefix-list sources are not represented.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rule {
    /// `-1` for all traffic, else `tcp`, `udp`, `icmp` or a number.
    pub protocol: String,
    /// `None` for all traffic.
    pub from_port: Option<i32>,
    /// `None` for all traffic.
    pub to_port: Option<i32>,
    /// The peer: where traffic comes from (ingress) or goes to (egress).
    pub source: Source,
    /// The rule's description, if it has one.
    pub description: Option<String>,
}

/// A security group as EC2 reports it; rules sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupInfo {
    /// The group id, `sg-…`.
    pub id: String,
    /// The VPC the group belongs to, `vpc-…`.
    pub vpc_id: String,
    /// The group name.
    pub name: String,
    /// The group description.
    pub description: String,
    /// Inbound rules.
    pub ingress: Vec<Rule>,
    /// Outbound rules.
    pub egress: Vec<Rule>,
    /// Tags, by key.
    pub tags: BTreeMap<String, String>,
}

/// An interface VPC endpoint as EC2 reports it; lists sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpointInfo {
    /// The endpoint id, `vpce-…`.
    pub id: String,
    /// The VPC the endpoint is in, `vpc-…`.
    pub vpc_id: String,
    /// The endpoint service it connects to, `com.amazonaws.vpce.…`.
    pub service_name: String,
    /// As EC2 reports it: `pendingAcceptance`, `pending`, `available`,
    /// `partial`, `deleting`, `deleted`, `rejected`, `failed`, `expired`.
    pub state: String,
    /// The subnets it has a network interface in, `subnet-…`.
    pub subnet_ids: Vec<String>,
    /// The security groups on its network interfaces, `sg-…`.
    pub security_group_ids: Vec<String>,
    /// Its network interfaces, `eni-…`.
    pub network_interface_ids: Vec<String>,
    /// Tags, by key.
    pub tags: BTreeMap<String, String>,
    /// EC2's last error for the endpoint (`code: message`), if it has one.
    #[serde(default)]
    pub last_error: Option<String>,
}

impl VpcEndpointInfo {
    /// Ready for the link: `available`, or `pendingAcceptance` (waiting for
    /// Atlas to accept it, which the link does).
    pub fn usable(&self) -> bool {
        ["available", "pendingAcceptance"]
            .iter()
            .any(|s| self.state.eq_ignore_ascii_case(s))
    }

    /// In a state it never leaves but by being deleted: `rejected` (by the
    /// endpoint service), `failed` or `expired`.
    pub fn failed(&self) -> bool {
        ["rejected", "failed", "expired"]
            .iter()
            .any(|s| self.state.eq_ignore_ascii_case(s))
    }

    /// Being deleted, or deleted: `deleting` or `deleted`.
    pub fn deleted(&self) -> bool {
        ["deleting", "deleted"]
            .iter()
            .any(|s| self.state.eq_ignore_ascii_case(s))
    }

    /// Why it failed: its state and EC2's last error, if any.
    pub fn failure(&self) -> String {
        let mut message = format!("VPC endpoint {} is {}", self.id, self.state);
        if let Some(err) = &self.last_error {
            message.push_str(&format!(" ({err})"));
        }
        message
    }
}

/// What [`super::Ec2::create_vpc_endpoint`] creates: an interface endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateVpcEndpoint {
    /// The VPC to create it in, `vpc-…`.
    pub vpc_id: String,
    /// The endpoint service to connect to (Atlas's endpoint service name).
    pub service_name: String,
    /// The subnets to put its network interfaces in, `subnet-…`.
    pub subnet_ids: Vec<String>,
    /// The security groups for its network interfaces, `sg-…`.
    pub security_group_ids: Vec<String>,
    /// Tags to set at creation, as (key, value) pairs.
    pub tags: Vec<(String, String)>,
    /// Makes retries of the same create idempotent on EC2 (at most 64
    /// ASCII characters). Persist it before the call to resume safely.
    pub client_token: String,
}

/// What [`super::Ec2::wait_vpc_endpoint`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpceTarget {
    /// `available`, or `pendingAcceptance` (the endpoint service has yet to
    /// accept it, which Atlas does only after the link call).
    Available,
    /// Absent, or `deleted`.
    Gone,
}

impl VpceTarget {
    /// The wait's step, for progress and errors.
    pub fn step(self) -> &'static str {
        match self {
            VpceTarget::Available => "waiting for the VPC endpoint to be available",
            VpceTarget::Gone => "waiting for the VPC endpoint to be deleted",
        }
    }
}

pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or("").to_owned())))
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// Flattens EC2's permissions into one [`Rule`] per (permission × source).
pub(crate) fn rules(perms: &[IpPermission]) -> Vec<Rule> {
    let mut out = Vec::new();
    for p in perms {
        let protocol = p.ip_protocol().unwrap_or("-1").to_owned();
        let all = protocol == "-1";
        let (from_port, to_port) = if all {
            (None, None)
        } else {
            (p.from_port(), p.to_port())
        };
        let rule = |source: Source, description: Option<&str>| Rule {
            protocol: protocol.clone(),
            from_port,
            to_port,
            source,
            description: description.filter(|d| !d.is_empty()).map(str::to_owned),
        };
        for pair in p.user_id_group_pairs() {
            if let Some(g) = pair.group_id() {
                out.push(rule(Source::Group(g.to_owned()), pair.description()));
            }
        }
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                out.push(rule(Source::Cidr(c.to_owned()), r.description()));
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                out.push(rule(Source::Cidr(c.to_owned()), r.description()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

pub(crate) fn security_group_info(g: &SecurityGroup) -> Option<SecurityGroupInfo> {
    Some(SecurityGroupInfo {
        id: g.group_id()?.to_owned(),
        vpc_id: g.vpc_id().unwrap_or("").to_owned(),
        name: g.group_name().unwrap_or("").to_owned(),
        description: g.description().unwrap_or("").to_owned(),
        ingress: rules(g.ip_permissions()),
        egress: rules(g.ip_permissions_egress()),
        tags: tag_map(g.tags()),
    })
}

pub(crate) fn vpc_endpoint_info(e: &VpcEndpoint) -> Option<VpcEndpointInfo> {
    Some(VpcEndpointInfo {
        id: e.vpc_endpoint_id()?.to_owned(),
        vpc_id: e.vpc_id().unwrap_or("").to_owned(),
        service_name: e.service_name().unwrap_or("").to_owned(),
        state: e.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        subnet_ids: sorted(e.subnet_ids().to_vec()),
        security_group_ids: sorted(
            e.groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_owned))
                .collect(),
        ),
        network_interface_ids: sorted(e.network_interface_ids().to_vec()),
        tags: tag_map(e.tags()),
        last_error: last_error(e),
    })
}

/// The endpoint's last error as one string, for a failed wait.
pub(crate) fn last_error(e: &VpcEndpoint) -> Option<String> {
    let err = e.last_error()?;
    match (err.code(), err.message()) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (c, m) => c.or(m).map(str::to_owned),
    }
}

/// One poll of a wait on an endpoint: what `found` (the endpoint, or `None`
/// when EC2 does not list it) means for `target`.
pub(crate) fn endpoint_poll(
    target: VpceTarget,
    found: Option<VpcEndpointInfo>,
) -> Poll<Option<VpcEndpointInfo>> {
    match (target, found) {
        // Right after a create EC2 may not list the endpoint yet.
        (VpceTarget::Available, None) => Poll::Pending("not listed yet".into()),
        (VpceTarget::Available, Some(info)) => {
            if info.usable() {
                Poll::Ready(Some(info))
            } else if info.failed() || info.deleted() {
                Poll::Failed(info.failure())
            } else {
                // `pending`, or `partial`: on its way.
                Poll::Pending(display_state(&info.state))
            }
        }
        (VpceTarget::Gone, None) => Poll::Ready(None),
        (VpceTarget::Gone, Some(info)) if info.state.eq_ignore_ascii_case("deleted") => {
            Poll::Ready(None)
        }
        (VpceTarget::Gone, Some(info)) => Poll::Pending(display_state(&info.state)),
    }
}

fn display_state(state: &str) -> String {
    if state.is_empty() {
        "unknown".into()
    } else {
        state.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{IpRange, LastError, SecurityGroupIdentifier, State, UserIdGroupPair};

    fn info(state: &str) -> VpcEndpointInfo {
        VpcEndpointInfo {
            id: "vpce-1".into(),
            vpc_id: "vpc-1".into(),
            service_name: "com.amazonaws.vpce.us-east-1.vpce-svc-1".into(),
            state: state.into(),
            subnet_ids: vec![],
            security_group_ids: vec![],
            network_interface_ids: vec![],
            tags: BTreeMap::new(),
            last_error: None,
        }
    }

    #[test]
    fn available_and_pending_acceptance_count_as_created() {
        for s in [
            "available",
            "Available",
            "pendingAcceptance",
            "PendingAcceptance",
        ] {
            assert!(info(s).usable(), "{s}");
            match endpoint_poll(VpceTarget::Available, Some(info(s))) {
                Poll::Ready(Some(i)) => assert_eq!(i.state, s),
                other => panic!("{s}: {other:?}"),
            }
        }
        for s in ["pending", "failed", "deleted"] {
            assert!(!info(s).usable(), "{s}");
        }
    }

    #[test]
    fn pending_or_unlisted_keeps_waiting() {
        assert_eq!(
            endpoint_poll(VpceTarget::Available, Some(info("pending"))),
            Poll::Pending("pending".into())
        );
        assert_eq!(
            endpoint_poll(VpceTarget::Available, None),
            Poll::Pending("not listed yet".into())
        );
    }

    #[test]
    fn failed_and_rejected_are_errors_with_the_last_error() {
        let failed = endpoint_poll(
            VpceTarget::Available,
            Some(VpcEndpointInfo {
                last_error: Some("InvalidSubnet: no capacity".into()),
                ..info("failed")
            }),
        );
        assert_eq!(
            failed,
            Poll::Failed("VPC endpoint vpce-1 is failed (InvalidSubnet: no capacity)".into())
        );
        assert!(matches!(
            endpoint_poll(VpceTarget::Available, Some(info("Rejected"))),
            Poll::Failed(m) if m.contains("Rejected")
        ));
    }

    #[test]
    fn every_state_is_decided() {
        for s in ["available", "pendingAcceptance"] {
            assert!(
                info(s).usable() && !info(s).failed() && !info(s).deleted(),
                "{s}"
            );
        }
        for s in ["pending", "partial"] {
            assert_eq!(
                endpoint_poll(VpceTarget::Available, Some(info(s))),
                Poll::Pending(s.into())
            );
        }
        for s in ["rejected", "failed", "expired"] {
            assert!(info(s).failed() && !info(s).deleted(), "{s}");
            assert_eq!(
                endpoint_poll(VpceTarget::Available, Some(info(s))),
                Poll::Failed(format!("VPC endpoint vpce-1 is {s}"))
            );
        }
        for s in ["deleting", "deleted"] {
            assert!(info(s).deleted() && !info(s).failed(), "{s}");
        }
    }

    #[test]
    fn gone_means_absent_or_deleted() {
        assert_eq!(endpoint_poll(VpceTarget::Gone, None), Poll::Ready(None));
        assert_eq!(
            endpoint_poll(VpceTarget::Gone, Some(info("deleted"))),
            Poll::Ready(None)
        );
        assert_eq!(
            endpoint_poll(VpceTarget::Gone, Some(info("deleting"))),
            Poll::Pending("deleting".into())
        );
    }

    #[test]
    fn rules_flatten_one_per_source_and_sort() {
        let perm = IpPermission::builder()
            .ip_protocol("-1")
            .from_port(-1)
            .to_port(-1)
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip("10.0.0.0/24")
                    .description("")
                    .build(),
            )
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id("sg-2")
                    .description("clients")
                    .build(),
            )
            .build();
        let tcp = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(27017)
            .to_port(27017)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.1.0/24").build())
            .build();
        let got = rules(&[tcp, perm]);
        assert_eq!(
            got,
            vec![
                Rule {
                    protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    source: Source::Group("sg-2".into()),
                    description: Some("clients".into()),
                },
                Rule {
                    protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    source: Source::Cidr("10.0.0.0/24".into()),
                    description: None,
                },
                Rule {
                    protocol: "tcp".into(),
                    from_port: Some(27017),
                    to_port: Some(27017),
                    source: Source::Cidr("10.0.1.0/24".into()),
                    description: None,
                },
            ]
        );
    }

    #[test]
    fn endpoint_conversion_sorts_and_keeps_lower_case_state() {
        let e = VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-9")
            .vpc_id("vpc-9")
            .service_name("svc")
            .state(State::from("pendingAcceptance"))
            .subnet_ids("subnet-b")
            .subnet_ids("subnet-a")
            .groups(SecurityGroupIdentifier::builder().group_id("sg-9").build())
            .network_interface_ids("eni-2")
            .network_interface_ids("eni-1")
            .tags(Tag::builder().key("privlink").value("a").build())
            .last_error(LastError::builder().code("X").message("y").build())
            .build();
        let i = vpc_endpoint_info(&e).unwrap();
        assert_eq!(i.state, "pendingAcceptance");
        assert_eq!(i.subnet_ids, vec!["subnet-a", "subnet-b"]);
        assert_eq!(i.network_interface_ids, vec!["eni-1", "eni-2"]);
        assert_eq!(i.security_group_ids, vec!["sg-9"]);
        assert_eq!(i.tags.get("privlink").map(String::as_str), Some("a"));
        assert_eq!(last_error(&e).as_deref(), Some("X: y"));
    }

    #[test]
    fn source_serializes_readably() {
        let s = serde_json::to_string(&Source::Group("sg-1".into())).unwrap();
        assert_eq!(s, r#"{"group":"sg-1"}"#);
    }
}
