//! Shape checks for the Azure identifiers of an endpoint's `azure` block:
//! subscription ids, resource group, location, virtual network and subnet
//! names, and full subnet resource ids. Pure functions, like `ids`.

use super::ids::{Refusal, Shape};

/// A subscription id: a UUID (`8-4-4-4-12` hexadecimal digits).
pub(crate) const SUBSCRIPTION: Shape = Shape {
    what: "an Azure subscription id",
    check: |s| {
        if is_uuid(s) {
            Ok(())
        } else {
            Err(refusal(
                "a UUID such as `00000000-0000-4000-8000-000000000000`",
            ))
        }
    },
};

/// A resource group name: 1 to 90 letters, digits, `_`, `-`, `.`, `(`
/// and `)`, not ending with `.`.
pub(crate) const RESOURCE_GROUP: Shape = Shape {
    what: "an Azure resource group name",
    check: |s| {
        if is_resource_group(s) {
            Ok(())
        } else {
            Err(refusal(
                "1 to 90 characters from letters, digits, `_`, `-`, `.`, `(` and `)`, not ending with `.`",
            ))
        }
    },
};

/// A location (region) name such as `eastus2`.
pub(crate) const LOCATION: Shape = Shape {
    what: "an Azure location",
    check: |s| {
        let b = s.as_bytes();
        let ok = (2..=40).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if ok {
            Ok(())
        } else {
            Err(refusal(
                "a location name in lowercase letters and digits such as `eastus2` or `westeurope`",
            ))
        }
    },
};

/// A virtual network name.
pub(crate) const VNET: Shape = Shape {
    what: "an Azure virtual network name",
    check: |s| name(s, 64),
};

/// A subnet: its full resource id, or its name within `vnet`.
pub(crate) const SUBNET: Shape = Shape {
    what: "an Azure subnet",
    check: |s| {
        if s.starts_with('/') {
            subnet_id_parts(s).map(|_| ()).ok_or_else(|| {
                refusal(
                    "a subnet resource id `/subscriptions/<uuid>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>`, or a subnet name next to `vnet`",
                )
            })
        } else {
            name(s, 80)
        }
    },
};

/// The parts of a full subnet resource id: (subscription, resource group,
/// virtual network, subnet). The fixed segments match in any case, as ARM
/// matches them.
pub(crate) fn subnet_id_parts(s: &str) -> Option<(&str, &str, &str, &str)> {
    let parts: Vec<&str> = s.strip_prefix('/')?.split('/').collect();
    let [
        subs,
        sub,
        rgs,
        rg,
        providers,
        network,
        vnets,
        vnet,
        subnets,
        subnet,
    ] = parts[..]
    else {
        return None;
    };
    let fixed = [
        (subs, "subscriptions"),
        (rgs, "resourceGroups"),
        (providers, "providers"),
        (network, "Microsoft.Network"),
        (vnets, "virtualNetworks"),
        (subnets, "subnets"),
    ];
    let ok = fixed.iter().all(|(a, b)| a.eq_ignore_ascii_case(b))
        && is_uuid(sub)
        && is_resource_group(rg)
        && name(vnet, 64).is_ok()
        && name(subnet, 80).is_ok();
    ok.then_some((sub, rg, vnet, subnet))
}

/// The full resource id of subnet `subnet` of `vnet`.
pub(crate) fn subnet_id(subscription: &str, group: &str, vnet: &str, subnet: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"
    )
}

fn refusal(expected: &str) -> Refusal {
    Refusal {
        expected: expected.to_string(),
        suggestion: None,
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

fn is_resource_group(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 90
        && !s.ends_with('.')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_-.()".contains(&c))
}

/// A network resource name: 1 to `max` letters, digits, `_`, `-` and `.`,
/// starting with a letter or digit and not ending with `.` or `-`.
fn name(s: &str, max: usize) -> Result<(), Refusal> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_alphanumeric()
        && !s.ends_with('.')
        && !s.ends_with('-')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(refusal(&format!(
            "1 to {max} characters from letters, digits, `_`, `-` and `.`, starting with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "72f988bf-0000-4000-8000-000000000001";

    #[test]
    fn subnet_ids_and_names() {
        let id = subnet_id(SUB, "rg-1", "vnet-a", "default");
        assert_eq!(
            subnet_id_parts(&id),
            Some((SUB, "rg-1", "vnet-a", "default"))
        );
        let lower = id.replace("resourceGroups", "resourcegroups");
        assert!(
            subnet_id_parts(&lower).is_some(),
            "fixed segments in any case"
        );
        assert!((SUBNET.check)(&id).is_ok());
        assert!((SUBNET.check)("default").is_ok());
        assert!((SUBNET.check)("/subscriptions/x/resourceGroups/rg").is_err());
        assert!((SUBNET.check)(&id.replace(SUB, "not-a-uuid")).is_err());
        assert!((SUBNET.check)("bad name").is_err());
    }

    #[test]
    fn subscriptions_groups_and_locations() {
        assert!((SUBSCRIPTION.check)(SUB).is_ok());
        assert!((SUBSCRIPTION.check)("72f988bf").is_err());
        assert!((RESOURCE_GROUP.check)("my-rg_(1).x").is_ok());
        assert!((RESOURCE_GROUP.check)("ends.").is_err());
        assert!((RESOURCE_GROUP.check)("").is_err());
        assert!((LOCATION.check)("eastus2").is_ok());
        assert!((LOCATION.check)("East US 2").is_err());
        assert!((VNET.check)("vnet-a").is_ok());
        assert!((VNET.check)("-vnet").is_err());
    }
}
