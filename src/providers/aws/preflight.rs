//! The AWS side's preflight (see [`crate::providers::preflight`]): before a
//! plan creates or changes an endpoint's security group, VPC endpoint or
//! client egress rules, its VPC exists in its region, every subnet belongs
//! to that VPC and every client security group is in it. Each region is
//! read at once: its VPCs, and the subnets and groups named, by id (one
//! call per 200 ids); only when one is missing or elsewhere are the subnets
//! or groups of its VPC listed, to say what is there instead. A delete
//! needs no such check: EC2 deletes of what is missing succeed already.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;

use super::context::AwsCloud;
use super::{
    AwsError, Ec2, FILTER_CHUNK, client_egress, filter, next_page, security_group, vpc_endpoint,
};
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

/// By id: the VPC an object is in, and a detail to show.
type Found = BTreeMap<String, (String, String)>;

/// What one region holds of what the subjects name: its VPCs (id → CIDR),
/// the subnets and groups found by id, and, for the VPCs where one was
/// missing, all their subnets or groups.
#[derive(Default)]
struct Holdings {
    vpcs: BTreeMap<String, String>,
    subnets: Found,
    groups: Found,
    subnets_there: Found,
    groups_there: Found,
}

impl Ec2 {
    /// Every VPC of the region: id and CIDR block.
    async fn all_vpcs(&self) -> Result<BTreeMap<String, String>, AwsError> {
        const OP: &str = "DescribeVpcs";
        let mut pages = self.client.describe_vpcs().into_paginator().send();
        let mut out = BTreeMap::new();
        while let Some(page) = next_page(&self.region, OP, pages.next()).await {
            let page = page.map_err(|e| AwsError::from_sdk(OP, e))?;
            for v in page.vpcs() {
                if let Some(id) = v.vpc_id() {
                    out.insert(id.to_owned(), v.cidr_block().unwrap_or("").to_owned());
                }
            }
        }
        Ok(out)
    }

    /// The subnets whose `name` filter matches one of `values` (one call per
    /// 200, all at once): id → (VPC, "CIDR, zone").
    async fn subnets_where(&self, name: &str, values: &[String]) -> Result<Found, AwsError> {
        const OP: &str = "DescribeSubnets";
        let chunks = try_join_all(values.chunks(FILTER_CHUNK).map(|chunk| async move {
            let mut found = Vec::new();
            let mut pages = self
                .client
                .describe_subnets()
                .filters(filter(name, chunk))
                .into_paginator()
                .send();
            while let Some(page) = next_page(&self.region, OP, pages.next()).await {
                let page = page.map_err(|e| AwsError::from_sdk(OP, e))?;
                for s in page.subnets() {
                    if let (Some(id), Some(vpc)) = (s.subnet_id(), s.vpc_id()) {
                        let cidr = s.cidr_block().unwrap_or("?");
                        let zone = s.availability_zone().unwrap_or("?");
                        found.push((id.to_owned(), (vpc.to_owned(), format!("{cidr}, {zone}"))));
                    }
                }
            }
            Ok::<_, AwsError>(found)
        }))
        .await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// The security groups whose `name` filter matches one of `values`
    /// (one call per 200, all at once): id → (VPC, group name).
    async fn groups_where(&self, name: &str, values: &[String]) -> Result<Found, AwsError> {
        let chunks = try_join_all(
            values
                .chunks(FILTER_CHUNK)
                .map(|chunk| self.security_groups(vec![filter(name, chunk)])),
        )
        .await?;
        Ok(chunks
            .into_iter()
            .flatten()
            .map(|g| (g.id, (g.vpc_id, g.name)))
            .collect())
    }
}

/// The ids (second parts of the keys) of `m`, once each.
fn ids(m: &BTreeMap<(String, String), Vec<&Address>>) -> Vec<String> {
    let set: BTreeSet<&String> = m.keys().map(|(_, id)| id).collect();
    set.into_iter().cloned().collect()
}

/// The VPCs (that exist) where an object `m` names is not found in them.
fn vpcs_missing(
    m: &BTreeMap<(String, String), Vec<&Address>>,
    found: &Found,
    vpcs: &BTreeMap<String, String>,
) -> Vec<String> {
    let set: BTreeSet<&String> = m
        .keys()
        .filter(|(vpc, id)| vpcs.contains_key(vpc) && found.get(id).is_none_or(|(v, _)| v != vpc))
        .map(|(vpc, _)| vpc)
        .collect();
    set.into_iter().cloned().collect()
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

    /// What one region holds of what `n` names: see [`Holdings`].
    async fn read(&self, region: &str, n: &Needs<'_>) -> Result<Holdings, ProviderError> {
        let ec2 = self.ec2(region).await;
        let (subnet_ids, group_ids) = (ids(&n.subnets), ids(&n.groups));
        let (vpcs, subnets, groups) = tokio::try_join!(
            ec2.all_vpcs(),
            ec2.subnets_where("subnet-id", &subnet_ids),
            ec2.groups_where("group-id", &group_ids),
        )?;
        let subnet_vpcs = vpcs_missing(&n.subnets, &subnets, &vpcs);
        let group_vpcs = vpcs_missing(&n.groups, &groups, &vpcs);
        let (subnets_there, groups_there) = tokio::try_join!(
            ec2.subnets_where("vpc-id", &subnet_vpcs),
            ec2.groups_where("vpc-id", &group_vpcs),
        )?;
        Ok(Holdings {
            vpcs,
            subnets,
            groups,
            subnets_there,
            groups_there,
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
fn labels<'i>(items: impl Iterator<Item = (&'i String, &'i String)>) -> Vec<String> {
    items
        .map(|(id, detail)| match detail.is_empty() {
            true => id.clone(),
            false => format!("{id} ({detail})"),
        })
        .collect()
}

/// The items of `there` in `vpc`, labelled.
fn in_vpc(there: &Found, vpc: &str) -> Vec<String> {
    labels(
        there
            .iter()
            .filter(|(_, (v, _))| v == vpc)
            .map(|(id, (_, detail))| (id, detail)),
    )
}

/// One problem per subject that needs a missing thing.
fn each(addrs: &[&Address], message: &str) -> Vec<Problem> {
    addrs
        .iter()
        .map(|a| Problem::new(origin(a), message, a))
        .collect()
}

/// Where an object named in `vpc` was found instead, for a message.
fn elsewhere(found: &Found, id: &str, region: &str) -> String {
    match found.get(id) {
        Some((other, _)) => format!("it is in VPC {other}"),
        None => format!("not found in AWS region {region}"),
    }
}

/// The problems of one region, given what it holds.
fn judge(region: &str, n: &Needs<'_>, held: &Holdings) -> Vec<Problem> {
    let mut out = Vec::new();
    for (vpc, addrs) in &n.vpcs {
        if !held.vpcs.contains_key(vpc) {
            let message = format!(
                "VPC '{vpc}' not found in AWS region {region}; VPCs there: {}",
                listing(&labels(held.vpcs.iter()))
            );
            out.extend(each(addrs, &message).into_iter().map(Problem::container));
        }
    }
    let misplaced = |found: &Found, vpc: &String, id: &String| {
        held.vpcs.contains_key(vpc) && found.get(id).is_none_or(|(v, _)| v != vpc)
    };
    for ((vpc, subnet), addrs) in &n.subnets {
        if misplaced(&held.subnets, vpc, subnet) {
            let message = format!(
                "subnet '{subnet}' is not in VPC {vpc} ({}); subnets there: {}",
                elsewhere(&held.subnets, subnet, region),
                listing(&in_vpc(&held.subnets_there, vpc))
            );
            out.extend(each(addrs, &message));
        }
    }
    for ((vpc, group), addrs) in &n.groups {
        if misplaced(&held.groups, vpc, group) {
            let message = format!(
                "client security group '{group}' is not in VPC {vpc} ({}); groups there: {}",
                elsewhere(&held.groups, group, region),
                listing(&in_vpc(&held.groups_there, vpc))
            );
            out.extend(each(addrs, &message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(items: &[(&str, &str, &str)]) -> Found {
        items
            .iter()
            .map(|(id, vpc, detail)| (id.to_string(), (vpc.to_string(), detail.to_string())))
            .collect()
    }

    #[test]
    fn missing_vpc_subnet_and_group_are_each_named() {
        let a = Address::new("endpoints.app.vpc_endpoint");
        let e = Address::new("endpoints.app.client_egress[sg-2]");
        let mut n = Needs::default();
        n.vpcs.insert("vpc-1".into(), vec![&a]);
        n.vpcs.insert("vpc-9".into(), vec![&a]);
        for (vpc, subnet) in [
            ("vpc-1", "subnet-a"),
            ("vpc-1", "subnet-x"),
            ("vpc-1", "subnet-o"),
        ] {
            n.subnets.insert((vpc.into(), subnet.into()), vec![&a]);
        }
        n.subnets
            .insert(("vpc-9".into(), "subnet-y".into()), vec![&a]);
        n.groups.insert(("vpc-1".into(), "sg-2".into()), vec![&e]);
        assert_eq!(
            ids(&n.subnets),
            vec!["subnet-a", "subnet-o", "subnet-x", "subnet-y"]
        );
        let subnets = found(&[
            ("subnet-a", "vpc-1", "10.0.1.0/24, us-east-1a"),
            ("subnet-o", "vpc-2", "10.9.1.0/24, us-east-1b"),
        ]);
        let vpcs = BTreeMap::from([
            ("vpc-1".to_owned(), "10.0.0.0/16".to_owned()),
            ("vpc-2".to_owned(), "10.9.0.0/16".to_owned()),
        ]);
        assert_eq!(vpcs_missing(&n.subnets, &subnets, &vpcs), vec!["vpc-1"]);
        let held = Holdings {
            vpcs,
            subnets,
            subnets_there: found(&[("subnet-a", "vpc-1", "10.0.1.0/24, us-east-1a")]),
            groups_there: found(&[("sg-1", "vpc-1", "default")]),
            ..Holdings::default()
        };
        let text: Vec<String> = judge("us-east-1", &n, &held)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            text,
            vec![
                "endpoints.app: VPC 'vpc-9' not found in AWS region us-east-1; VPCs there: vpc-1 (10.0.0.0/16), vpc-2 (10.9.0.0/16)",
                "endpoints.app: subnet 'subnet-o' is not in VPC vpc-1 (it is in VPC vpc-2); subnets there: subnet-a (10.0.1.0/24, us-east-1a)",
                "endpoints.app: subnet 'subnet-x' is not in VPC vpc-1 (not found in AWS region us-east-1); subnets there: subnet-a (10.0.1.0/24, us-east-1a)",
                "endpoints.app: client security group 'sg-2' is not in VPC vpc-1 (not found in AWS region us-east-1); groups there: sg-1 (default)",
            ]
        );
    }
}
