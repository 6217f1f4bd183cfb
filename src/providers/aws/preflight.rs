//! The AWS side's preflight (see [`crate::providers::preflight`]): before a
//! plan creates or changes an endpoint's security group, VPC endpoint or
//! client egress rules, its VPC exists in its region, every subnet belongs
//! to that VPC and every client security group is in it. Each region is
//! read at once: its VPCs, then the subnets and the security groups of the
//! VPCs named (one list each, for all of them). A delete needs no such
//! check: EC2 deletes of what is missing succeed already.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;

use super::context::AwsCloud;
use super::{AwsError, Ec2, Observed, client_egress, filter, security_group, vpc_endpoint};
use crate::model::{Address, DesiredResource};
use crate::providers::ProviderError;
use crate::providers::preflight::{Problem, Purpose, Request, Subject, listing, origin};

/// What one region's subjects need, each with the subjects that need it.
#[derive(Default)]
struct Needs<'a> {
    vpcs: BTreeMap<String, Vec<&'a Address>>,
    subnets: BTreeMap<(String, String), Vec<&'a Address>>,
    groups: BTreeMap<(String, String), Vec<&'a Address>>,
}

/// What one region holds: `id (detail)` labels by id, per VPC for subnets
/// and groups.
struct Holdings {
    vpcs: BTreeMap<String, String>,
    subnets: BTreeMap<String, BTreeMap<String, String>>,
    groups: BTreeMap<String, BTreeMap<String, String>>,
}

impl Ec2 {
    /// Every VPC of the region: id and CIDR block.
    async fn all_vpcs(&self) -> Result<BTreeMap<String, String>, AwsError> {
        const OP: &str = "DescribeVpcs";
        let mut pages = self.client.describe_vpcs().into_paginator().send();
        let mut out = BTreeMap::new();
        while let Some(page) = async { pages.next().await.transpose() }
            .observed(&self.region, OP)
            .await
            .transpose()
        {
            let page = page.map_err(|e| AwsError::from_sdk(OP, e))?;
            for v in page.vpcs() {
                if let Some(id) = v.vpc_id() {
                    out.insert(id.to_owned(), v.cidr_block().unwrap_or("").to_owned());
                }
            }
        }
        Ok(out)
    }

    /// The subnets of these VPCs: by VPC, id → "CIDR, zone".
    async fn subnets_of(
        &self,
        vpcs: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        const OP: &str = "DescribeSubnets";
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        if vpcs.is_empty() {
            return Ok(out);
        }
        let mut pages = self
            .client
            .describe_subnets()
            .filters(filter("vpc-id", vpcs))
            .into_paginator()
            .send();
        while let Some(page) = async { pages.next().await.transpose() }
            .observed(&self.region, OP)
            .await
            .transpose()
        {
            let page = page.map_err(|e| AwsError::from_sdk(OP, e))?;
            for s in page.subnets() {
                if let (Some(id), Some(vpc)) = (s.subnet_id(), s.vpc_id()) {
                    let detail = format!(
                        "{}, {}",
                        s.cidr_block().unwrap_or("?"),
                        s.availability_zone().unwrap_or("?")
                    );
                    out.entry(vpc.to_owned())
                        .or_default()
                        .insert(id.to_owned(), detail);
                }
            }
        }
        Ok(out)
    }

    /// The security groups of these VPCs: by VPC, id → name.
    async fn groups_of(
        &self,
        vpcs: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        if vpcs.is_empty() {
            return Ok(out);
        }
        for g in self.security_groups(filter("vpc-id", vpcs)).await? {
            out.entry(g.vpc_id).or_default().insert(g.id, g.name);
        }
        Ok(out)
    }
}

impl AwsCloud {
    /// The problems of the request's subjects: see the module's doc.
    pub(super) async fn check(&self, request: &Request<'_>) -> Result<Vec<Problem>, ProviderError> {
        if request.purpose != Purpose::Create {
            return Ok(Vec::new());
        }
        let regions = needs(request);
        let reads = try_join_all(regions.iter().map(|(region, n)| self.read(region, n))).await?;
        let mut problems = Vec::new();
        for ((region, n), held) in regions.iter().zip(reads) {
            problems.extend(judge(region, n, &held));
        }
        Ok(problems)
    }

    /// What one region holds of what `n` names, read at once.
    async fn read(&self, region: &str, n: &Needs<'_>) -> Result<Holdings, ProviderError> {
        let ec2 = self.ec2(region).await;
        let of = |m: &BTreeMap<(String, String), Vec<&Address>>| -> Vec<String> {
            let set: BTreeSet<String> = m.keys().map(|(vpc, _)| vpc.clone()).collect();
            set.into_iter().collect()
        };
        let (subnet_vpcs, group_vpcs) = (of(&n.subnets), of(&n.groups));
        let (vpcs, subnets, groups) = tokio::try_join!(
            ec2.all_vpcs(),
            ec2.subnets_of(&subnet_vpcs),
            ec2.groups_of(&group_vpcs),
        )?;
        Ok(Holdings {
            vpcs,
            subnets,
            groups,
        })
    }
}

/// A string attribute of a subject.
fn text<'s>(s: &'s Subject<'_>, name: &str) -> Option<&'s str> {
    s.attrs.get(name).and_then(serde_json::Value::as_str)
}

/// The VPC of an egress rule's endpoint: that of the endpoint's security
/// group (or VPC endpoint) the file wants.
fn endpoint_vpc<'d>(desired: &'d [DesiredResource], address: &Address) -> Option<&'d str> {
    let name = address.endpoint_name()?;
    let own = [
        Address::endpoint(name, "security_group"),
        Address::endpoint(name, "vpc_endpoint"),
    ];
    desired
        .iter()
        .filter(|d| own.contains(&d.address))
        .find_map(|d| d.attrs.get("vpc_id").and_then(serde_json::Value::as_str))
}

/// What each region's subjects need.
fn needs<'a>(request: &'a Request<'a>) -> BTreeMap<String, Needs<'a>> {
    let mut regions: BTreeMap<String, Needs<'a>> = BTreeMap::new();
    for s in &request.subjects {
        let Some(region) = text(s, "region") else {
            continue;
        };
        let vpc = match s.kind {
            client_egress::KIND => endpoint_vpc(request.desired, s.address),
            _ => text(s, "vpc_id"),
        };
        let Some(vpc) = vpc else {
            continue;
        };
        let n = regions.entry(region.to_owned()).or_default();
        n.vpcs.entry(vpc.to_owned()).or_default().push(s.address);
        let add = |m: &mut BTreeMap<(String, String), Vec<&'a Address>>, id: &str| {
            let key = (vpc.to_owned(), id.to_owned());
            m.entry(key).or_default().push(s.address);
        };
        match s.kind {
            vpc_endpoint::KIND => {
                let subnets = s.attrs.get("subnet_ids").and_then(|v| v.as_array());
                for id in subnets.into_iter().flatten().filter_map(|v| v.as_str()) {
                    add(&mut n.subnets, id);
                }
            }
            client_egress::KIND => {
                if let Some(group) = text(s, "group_id") {
                    add(&mut n.groups, group);
                }
            }
            security_group::KIND => {}
            _ => {}
        }
    }
    regions
}

/// `id (detail)` for each item.
fn labels(items: &BTreeMap<String, String>) -> Vec<String> {
    items
        .iter()
        .map(|(id, detail)| match detail.is_empty() {
            true => id.clone(),
            false => format!("{id} ({detail})"),
        })
        .collect()
}

/// One problem per subject that needs a missing thing.
fn each(addrs: &[&Address], message: &str) -> Vec<Problem> {
    addrs
        .iter()
        .map(|a| Problem::new(origin(a), message, a))
        .collect()
}

/// The problems of one region, given what it holds.
fn judge(region: &str, n: &Needs<'_>, held: &Holdings) -> Vec<Problem> {
    let mut out = Vec::new();
    for (vpc, addrs) in &n.vpcs {
        if !held.vpcs.contains_key(vpc) {
            let message = format!(
                "VPC '{vpc}' not found in AWS region {region}; VPCs there: {}",
                listing(&labels(&held.vpcs))
            );
            out.extend(each(addrs, &message).into_iter().map(Problem::container));
        }
    }
    let empty = BTreeMap::new();
    for ((vpc, subnet), addrs) in &n.subnets {
        let there = held.subnets.get(vpc).unwrap_or(&empty);
        if held.vpcs.contains_key(vpc) && !there.contains_key(subnet) {
            let message = format!(
                "subnet '{subnet}' is not in VPC {vpc} ({region}); subnets there: {}",
                listing(&labels(there))
            );
            out.extend(each(addrs, &message));
        }
    }
    for ((vpc, group), addrs) in &n.groups {
        let there = held.groups.get(vpc).unwrap_or(&empty);
        if held.vpcs.contains_key(vpc) && !there.contains_key(group) {
            let message = format!(
                "client security group '{group}' not found in VPC {vpc} ({region}); groups there: {}",
                listing(&labels(there))
            );
            out.extend(each(addrs, &message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_vpc_subnet_and_group_are_each_named() {
        let a = Address::new("endpoints.app.vpc_endpoint");
        let e = Address::new("endpoints.app.client_egress[sg-2]");
        let mut n = Needs::default();
        n.vpcs.insert("vpc-1".into(), vec![&a]);
        n.vpcs.insert("vpc-9".into(), vec![&a]);
        n.subnets
            .insert(("vpc-1".into(), "subnet-x".into()), vec![&a]);
        n.subnets
            .insert(("vpc-9".into(), "subnet-y".into()), vec![&a]);
        n.groups.insert(("vpc-1".into(), "sg-2".into()), vec![&e]);
        let held = Holdings {
            vpcs: BTreeMap::from([("vpc-1".into(), "10.0.0.0/16".into())]),
            subnets: BTreeMap::from([(
                "vpc-1".into(),
                BTreeMap::from([("subnet-a".into(), "10.0.1.0/24, us-east-1a".into())]),
            )]),
            groups: BTreeMap::from([(
                "vpc-1".into(),
                BTreeMap::from([("sg-1".into(), "default".into())]),
            )]),
        };
        let text: Vec<String> = judge("us-east-1", &n, &held)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            vec![
                "endpoints.app: VPC 'vpc-9' not found in AWS region us-east-1; VPCs there: vpc-1 (10.0.0.0/16)",
                "endpoints.app: subnet 'subnet-x' is not in VPC vpc-1 (us-east-1); subnets there: subnet-a (10.0.1.0/24, us-east-1a)",
                "endpoints.app: client security group 'sg-2' not found in VPC vpc-1 (us-east-1); groups there: sg-1 (default)",
            ]
        );
    }
}
