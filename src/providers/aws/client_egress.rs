//! Egress rules on a client security group towards the endpoint's private
//! IPs (seed step 5): attributes, rules, authorize, revoke, and the read of
//! the rules privlink owns in a group.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::SecurityGroupInfo;
use super::context::{AwsCloud, rule_description};
use super::security_group::source_string;
use crate::model::{Attrs, Kind};
use crate::plan::{IdFormat, KindRules, always_ready, never_forced};
use crate::providers::typed::{from_attrs, prefixed_hex, sorted, to_attrs};
use crate::providers::{Op, ProviderError};

/// Egress rules of one client group towards one endpoint.
pub const KIND: Kind = Kind::new("aws_client_egress");

/// The attributes of a client egress rule set, desired and read back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Egress {
    /// The AWS region.
    pub region: String,
    /// The client security group.
    pub group_id: String,
    /// Destinations: the endpoint's private IPs as /32 blocks.
    #[serde(default)]
    pub cidrs: Vec<String>,
    /// The id under which it is kept: the client group's.
    #[serde(default, skip_deserializing)]
    pub id: String,
}

impl Egress {
    fn attrs(mut self) -> Attrs {
        self.cidrs = sorted(self.cidrs);
        self.id = self.group_id.clone();
        to_attrs(&self)
    }
}

/// What a client group holds of the rules recorded in `attributes`.
pub fn egress_live(region: &str, group: &str, recorded: &Attrs, g: &SecurityGroupInfo) -> Attrs {
    let ours: BTreeSet<String> = from_attrs::<Egress>(KIND, recorded)
        .map(|e| e.cidrs.into_iter().collect())
        .unwrap_or_default();
    let present: Vec<String> = g
        .egress
        .iter()
        .filter(|x| x.protocol == "-1")
        .map(|x| source_string(&x.source))
        .filter(|c| ours.contains(c))
        .collect();
    Egress {
        region: region.to_owned(),
        group_id: group.to_owned(),
        cidrs: present,
        id: String::new(),
    }
    .attrs()
}

/// Rules of [`KIND`].
pub const RULES: KindRules = KindRules {
    kind: KIND,
    legacy_names: &["client_egress"],
    cloud: "AWS",
    weight: 1,
    forces_replacement: |attribute| matches!(attribute, "region" | "group_id"),
    remote_state: always_ready,
    forced_by: never_forced,
    id_format: IdFormat {
        expected: "an sg-… id",
        check: |s| prefixed_hex(s, "sg-"),
    },
    shared: false,
};

impl AwsCloud {
    /// Authorizes the egress rules.
    pub(super) async fn create_egress(
        &self,
        op: &Op,
        d: &Attrs,
    ) -> Result<(String, Attrs), ProviderError> {
        let want: Egress = from_attrs(op.kind, d)?;
        let ec2 = self.ec2(&want.region).await;
        if !want.cidrs.is_empty() {
            ec2.authorize_egress(
                &want.group_id,
                &want.cidrs,
                &rule_description(&op.stack, &op.address),
            )
            .await?;
        }
        Ok((want.group_id.clone(), want.attrs()))
    }

    /// Brings the egress rules from `before` to the desired ones.
    pub(super) async fn update_egress(
        &self,
        op: &Op,
        before: &Attrs,
        d: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let want: Egress = from_attrs(op.kind, d)?;
        let had: Egress = from_attrs(op.kind, before)?;
        let ec2 = self.ec2(&want.region).await;
        let old: BTreeSet<&String> = had.cidrs.iter().collect();
        let new: BTreeSet<&String> = want.cidrs.iter().collect();
        let remove: Vec<String> = old.difference(&new).map(|s| (*s).clone()).collect();
        let add: Vec<String> = new.difference(&old).map(|s| (*s).clone()).collect();
        if !remove.is_empty() {
            ec2.revoke_egress(&want.group_id, &remove).await?;
        }
        if !add.is_empty() {
            ec2.authorize_egress(
                &want.group_id,
                &add,
                &rule_description(&op.stack, &op.address),
            )
            .await?;
        }
        Ok(want.attrs())
    }

    /// Revokes the egress rules.
    pub(super) async fn delete_egress(&self, op: &Op, a: &Attrs) -> Result<(), ProviderError> {
        let had: Egress = from_attrs(op.kind, a)?;
        if !had.cidrs.is_empty() {
            let ec2 = self.ec2(&had.region).await;
            ec2.revoke_egress(&had.group_id, &had.cidrs).await?;
        }
        Ok(())
    }
}
