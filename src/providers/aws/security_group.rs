//! The endpoint's own security group (seed step 6): its attributes, rules,
//! create (with its ingress rules), update of the ingress rules, delete and
//! adoption by tags.
//!
//! EC2 may not know a group for seconds after creating it: the calls that
//! follow the create (its ingress rules, its read back) are asked again
//! while EC2 answers `InvalidGroup.NotFound` for it (see
//! [`super::retry::retry_unseen`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::context::{AwsCloud, aws_tags, owned, rule_description};
use super::retry::retry_unseen;
use super::{Ec2, SecurityGroupInfo, Source};
use crate::model::{Attrs, Kind};
use crate::plan::{IdFormat, KindRules, always_ready, never_forced};
use crate::providers::typed::{from_attrs, prefixed_hex, sorted, to_attrs};
use crate::providers::{Op, ProviderError, RecordCreated};

/// The endpoint's security group.
pub const KIND: Kind = Kind::new("aws_security_group");

/// The desired attributes of a security group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Want {
    /// The AWS region.
    pub region: String,
    /// The VPC of the group.
    pub vpc_id: String,
    /// The group's name.
    pub name: String,
    /// The group's description.
    pub description: String,
    /// Sources admitted inbound: `sg-…` ids and CIDR blocks.
    #[serde(default)]
    pub ingress: Vec<String>,
}

/// The attributes of a group as read back.
#[derive(Debug, Serialize)]
struct Read<'a> {
    region: &'a str,
    vpc_id: &'a str,
    name: &'a str,
    description: &'a str,
    ingress: Vec<String>,
    id: &'a str,
}

/// The string form of a rule's source, as kept in attributes.
pub fn source_string(s: &Source) -> String {
    match s {
        Source::Group(x) | Source::Cidr(x) => x.clone(),
    }
}

fn parse_source(s: &str) -> Source {
    if s.starts_with("sg-") {
        Source::Group(s.to_owned())
    } else {
        Source::Cidr(s.to_owned())
    }
}

/// The attributes of a group as read back.
pub fn group_attrs(region: &str, g: &SecurityGroupInfo) -> Attrs {
    to_attrs(&Read {
        region,
        vpc_id: &g.vpc_id,
        name: &g.name,
        description: &g.description,
        ingress: sorted(g.ingress.iter().map(|r| source_string(&r.source)).collect()),
        id: &g.id,
    })
}

/// Rules of [`KIND`].
pub const RULES: KindRules = KindRules {
    kind: KIND,
    legacy_names: &["security_group"],
    cloud: "AWS",
    weight: 2,
    forces_replacement: |attribute| {
        matches!(attribute, "region" | "vpc_id" | "name" | "description")
    },
    remote_state: always_ready,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "an sg-… id",
        check: |s| prefixed_hex(s, "sg-"),
    },
    shared: false,
};

async fn read_back(ec2: &Ec2, region: &str, id: &str) -> Result<Attrs, ProviderError> {
    let g = ec2
        .security_group(id)
        .await?
        .ok_or_else(|| ProviderError::vanished(format!("security group {id}"), ""))?;
    Ok(group_attrs(region, &g))
}

/// The group named as `want` says in its VPC, if it carries this stack's
/// and address's tags: asked for again while EC2 does not list it yet (it
/// may have been created moments ago), for a bounded time.
async fn ours_named(ec2: &Ec2, op: &Op, want: &Want) -> Result<Option<String>, ProviderError> {
    let name = [want.name.clone()];
    let found = retry_unseen(ec2.seen_retry(), &name, || async {
        let groups = ec2
            .find_security_groups_named(&want.vpc_id, &want.name)
            .await?;
        match groups.into_iter().next() {
            Some(g) => Ok(g),
            None => Err(super::AwsError::NotListed {
                operation: "DescribeSecurityGroups",
                id: want.name.clone(),
            }),
        }
    })
    .await;
    let g = match found {
        Ok(g) => g,
        Err(e) if e.is_unseen(&name) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let ours = owned(&g.tags, &op.stack, &op.owner)
        && g.tags.get(super::TAG_ADDRESS).map(String::as_str) == Some(op.address.as_str());
    Ok(ours.then_some(g.id))
}

impl AwsCloud {
    /// Creates (or resumes) the group and authorizes its ingress rules.
    pub(super) async fn create_group(
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
                let tags = aws_tags(&op.stack, &op.owner, &op.address, &want.name);
                let created = ec2
                    .create_security_group(&want.vpc_id, &want.name, &want.description, &tags)
                    .await;
                let id = match created {
                    // A group of this name exists: one that an earlier run
                    // created and that EC2 did not list when it was looked
                    // for by its tags, or someone else's.
                    Err(e) if e.is_duplicate() => ours_named(&ec2, op, &want).await?.ok_or(e)?,
                    other => other?,
                };
                record(id.clone()).await?;
                id
            }
        };
        let sources: Vec<Source> = want.ingress.iter().map(|x| parse_source(x)).collect();
        let description = rule_description(&op.stack, &op.address);
        let new = [id.clone()];
        if !sources.is_empty() {
            let seen = ec2.seen_retry();
            retry_unseen(seen, &new, || {
                ec2.authorize_ingress(&id, &sources, &description)
            })
            .await?;
        }
        let within = crate::limits::AWS_PROPAGATION_TIMEOUT;
        let g = match ec2.seen_security_group(&id, within).await {
            Err(e) if e.is_unseen(&new) => {
                return Err(ProviderError::vanished(format!("security group {id}"), ""));
            }
            other => other?,
        };
        Ok((id, group_attrs(&want.region, &g)))
    }

    /// Brings the ingress rules from `before` to the desired ones.
    pub(super) async fn update_group(
        &self,
        op: &Op,
        id: &str,
        before: &Attrs,
        d: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let want: Want = from_attrs(op.kind, d)?;
        let had: Want = from_attrs(op.kind, before)?;
        let ec2 = self.ec2(&want.region).await;
        let old: BTreeSet<&String> = had.ingress.iter().collect();
        let new: BTreeSet<&String> = want.ingress.iter().collect();
        let add: Vec<Source> = new.difference(&old).map(|x| parse_source(x)).collect();
        let remove: Vec<Source> = old.difference(&new).map(|x| parse_source(x)).collect();
        if !remove.is_empty() {
            ec2.revoke_ingress(id, &remove).await?;
        }
        if !add.is_empty() {
            ec2.authorize_ingress(id, &add, &rule_description(&op.stack, &op.address))
                .await?;
        }
        read_back(&ec2, &want.region, id).await
    }

    /// Deletes the group, waiting out what still uses it.
    pub(super) async fn delete_group(
        &self,
        op: &Op,
        id: &str,
        a: &Attrs,
    ) -> Result<(), ProviderError> {
        let ec2 = self.ec2(&super::context::region_of(op, a)?).await;
        // A group made moments ago that EC2 does not show yet would be
        // "already deleted" to DeleteSecurityGroup: wait until EC2 shows it.
        if let Some(left) = super::consistency::young(op.attempt.as_deref()) {
            match ec2.seen_security_group(id, left).await {
                Err(e) if e.is_unseen(&[id.to_owned()]) => return Ok(()),
                other => {
                    other?;
                }
            }
        }
        ec2.delete_security_group(id, op.address.as_str(), self.policy, op.progress.as_ref())
            .await?;
        Ok(())
    }

    /// The group an earlier run of this state created for this address, by
    /// its tags (which must name this state as owner).
    pub(super) async fn find_group(
        &self,
        op: &Op,
        d: &Attrs,
    ) -> Result<Option<String>, ProviderError> {
        let ec2 = self.ec2(&super::context::region_of(op, d)?).await;
        let found = ec2
            .find_security_groups_by_tag(super::TAG_ADDRESS, op.address.as_str())
            .await?;
        Ok(found
            .into_iter()
            .find(|g| owned(&g.tags, &op.stack, &op.owner))
            .map(|g| g.id))
    }
}
