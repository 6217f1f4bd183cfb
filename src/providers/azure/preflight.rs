//! The Azure side's preflight (see [`crate::providers::preflight`]): before
//! a private endpoint is created, the credentials must yield a token, and
//! its resource group and subnet must exist. Each group and subnet is read
//! once however many endpoints name it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::arm::{NETWORK_API, RESOURCES_API};
use super::context::{AzureCloud, group_path};
use super::private_endpoint::KIND;
use crate::model::Address;
use crate::providers::ProviderError;
use crate::providers::preflight::{Problem, Purpose, Request, origin};

/// What the subjects name: resource groups and subnets, with the
/// addresses that need each.
#[derive(Default)]
struct Needs<'a> {
    groups: BTreeMap<(String, String), Vec<&'a Address>>,
    subnets: BTreeMap<String, Vec<&'a Address>>,
}

fn needs<'a>(request: &Request<'a>) -> Needs<'a> {
    let mut n = Needs::default();
    for s in request.subjects.iter().filter(|s| s.kind == KIND) {
        let text = |k: &str| s.attrs.get(k).and_then(Value::as_str).map(str::to_owned);
        if let (Some(sub), Some(group)) = (text("subscription"), text("resource_group")) {
            n.groups.entry((sub, group)).or_default().push(s.address);
        }
        if let Some(subnet) = text("subnet_id") {
            n.subnets.entry(subnet).or_default().push(s.address);
        }
    }
    n
}

fn problems_at(addresses: &[&Address], message: &str) -> Vec<Problem> {
    addresses
        .iter()
        .map(|a| Problem::new(origin(a), message, a))
        .collect()
}

impl AzureCloud {
    /// Checks what the request's private endpoints need.
    pub(super) async fn check(&self, request: &Request<'_>) -> Result<Vec<Problem>, ProviderError> {
        let n = needs(request);
        if request.purpose != Purpose::Create || (n.groups.is_empty() && n.subnets.is_empty()) {
            return Ok(Vec::new());
        }
        let arm = self.arm()?;
        let mut problems = Vec::new();
        if let Err(e) = arm.check_credentials().await {
            let all: Vec<&Address> = n.groups.values().flatten().copied().collect();
            return Ok(problems_at(
                &all,
                &format!("Azure credentials do not work: {e}"),
            ));
        }
        for ((sub, group), addresses) in &n.groups {
            let path = group_path(sub, group);
            let found: Option<Value> = arm.get(&path, RESOURCES_API).await?;
            if found.is_none() {
                let message =
                    format!("resource group {group} does not exist in subscription {sub}");
                problems.extend(problems_at(addresses, &message));
            }
        }
        for (subnet, addresses) in &n.subnets {
            let found: Option<Value> = arm.get(subnet, NETWORK_API).await?;
            if found.is_none() {
                problems.extend(problems_at(
                    addresses,
                    &format!("subnet {subnet} does not exist"),
                ));
            }
        }
        Ok(problems)
    }
}
