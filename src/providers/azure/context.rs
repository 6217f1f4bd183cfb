//! [`AzureCloud`], the Azure side's handle (the Resource Manager client,
//! made from the environment on first use, and the wait policy) that every
//! Azure kind's module adds its calls to, and what those kinds share: tags
//! (stack, owner, address) and the paths of resources.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::arm::Arm;
use super::error::AzureError;
use super::{TAG_ADDRESS, TAG_OWNER, TAG_STACK};
use crate::model::Address;
use crate::wait::WaitPolicy;

/// The Azure side of every endpoint on Azure.
pub struct AzureCloud {
    arm: Mutex<Option<Arc<Arm>>>,
    pub(super) policy: WaitPolicy,
}

impl AzureCloud {
    /// The Azure side, waiting with `policy`; its credentials are read
    /// from the environment on the first call (a file without Azure
    /// endpoints never needs them).
    pub fn new(policy: WaitPolicy) -> Self {
        AzureCloud {
            arm: Mutex::new(None),
            policy,
        }
    }

    /// The Resource Manager client.
    pub(super) fn arm(&self) -> Result<Arc<Arm>, AzureError> {
        let mut slot = self.arm.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(arm) = slot.as_ref() {
            return Ok(arm.clone());
        }
        let arm = Arc::new(Arm::from_vars(|name| std::env::var(name).ok())?);
        *slot = Some(arm.clone());
        Ok(arm)
    }
}

/// Tags on every Azure resource privlink creates: the stack, the owner
/// (the lineage of the state creating it) and the address.
pub fn azure_tags(stack: &str, owner: &str, address: &Address) -> Value {
    let tags: BTreeMap<&str, &str> = BTreeMap::from([
        (TAG_STACK, stack),
        (TAG_OWNER, owner),
        (TAG_ADDRESS, address.as_str()),
    ]);
    json!(tags)
}

/// The path of a resource group.
pub fn group_path(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// The path of a private endpoint.
pub fn endpoint_path(subscription: &str, group: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Network/privateEndpoints/{name}",
        group_path(subscription, group)
    )
}

/// The subscription and resource group a resource id names.
pub fn scope_of(id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        ["", subs, sub, groups, group, ..]
            if subs.eq_ignore_ascii_case("subscriptions")
                && groups.eq_ignore_ascii_case("resourceGroups") =>
        {
            Some(((*sub).to_owned(), (*group).to_owned()))
        }
        _ => None,
    }
}

/// True when `id` has the form of a private endpoint's resource id.
pub fn is_endpoint_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 9
        && scope_of(id).is_some()
        && parts[5].eq_ignore_ascii_case("providers")
        && parts[6].eq_ignore_ascii_case("Microsoft.Network")
        && parts[7].eq_ignore_ascii_case("privateEndpoints")
        && !parts[8].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids() {
        let id = endpoint_path("s-1", "rg", "pe");
        assert!(is_endpoint_id(&id));
        assert!(is_endpoint_id(
            &id.replace("resourceGroups", "resourcegroups")
        ));
        assert!(!is_endpoint_id("vpce-0123456789abcdef0"));
        assert!(!is_endpoint_id(&format!("{id}/extra")));
        assert_eq!(scope_of(&id), Some(("s-1".into(), "rg".into())));
    }
}
