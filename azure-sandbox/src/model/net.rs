//! Address arithmetic: a virtual network's address space and subnets read from an ARM body and
//! checked as ARM checks them (valid CIDR, inside the address space, no overlap, no change to a
//! subnet in use), and the choice of a free private IP in a subnet (Azure keeps the first four
//! addresses and the last one of every subnet for itself).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::{Subnet, key};
use crate::errors::ArmError;

/// Addresses at the start of a subnet that Azure reserves.
const RESERVED_HEAD: u32 = 4;

/// Parses one address prefix, refusing host bits and bad notation.
pub fn parse_prefix(text: &str, owner: &str) -> Result<Ipv4Net, ArmError> {
    let invalid = || {
        ArmError::bad_request(
            "InvalidCIDRNotation",
            format!(
                "The address prefix {text} in resource {owner} has an invalid CIDR notation. \
                 For the given prefix length, the address prefix should be {}.",
                text.parse::<Ipv4Net>()
                    .map_or_else(|_| "a valid IPv4 prefix".into(), |n| n.trunc().to_string())
            ),
        )
    };
    let net: Ipv4Net = text.parse().map_err(|_| invalid())?;
    if net.trunc() != net {
        return Err(invalid());
    }
    Ok(net)
}

/// `properties.addressSpace.addressPrefixes` of a virtual network body.
pub fn vnet_prefixes(body: &Value, id: &str) -> Result<Vec<Ipv4Net>, ArmError> {
    let list = body
        .pointer("/properties/addressSpace/addressPrefixes")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ArmError::bad_body("properties.addressSpace.addressPrefixes"))?;
    list.iter()
        .map(|p| {
            let text = p
                .as_str()
                .ok_or_else(|| ArmError::bad_body("properties.addressSpace.addressPrefixes"))?;
            parse_prefix(text, id)
        })
        .collect()
}

/// `(name, addressPrefix)` of the inline `properties.subnets` of a virtual network body.
pub fn inline_subnets(body: &Value, id: &str) -> Result<Vec<(String, String)>, ArmError> {
    let Some(list) = body.pointer("/properties/subnets") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| ArmError::bad_body("properties.subnets"))?;
    list.iter()
        .map(|s| {
            let name = s.get("name").and_then(Value::as_str);
            let prefix = s
                .pointer("/properties/addressPrefix")
                .and_then(Value::as_str);
            match (name, prefix) {
                (Some(n), Some(p)) => Ok((n.to_string(), p.to_string())),
                _ => Err(ArmError::bad_body(&format!(
                    "properties.subnets[].name and properties.addressPrefix of {id}"
                ))),
            }
        })
        .collect()
}

/// The subnets a virtual network has after a PUT that lists `wanted`: subnets left out are
/// removed, which ARM refuses for a subnet in use, as it refuses changing such a subnet's prefix.
pub fn merge_subnets(
    vnet_id: &str,
    space: &[Ipv4Net],
    mut old: BTreeMap<String, Subnet>,
    wanted: Vec<(String, String)>,
) -> Result<BTreeMap<String, Subnet>, ArmError> {
    let mut out = BTreeMap::new();
    for (name, text) in wanted {
        let id = format!("{vnet_id}/subnets/{name}");
        let prefix = parse_prefix(&text, &id)?;
        if !space.iter().any(|s| s.contains(&prefix)) {
            return Err(ArmError::bad_request(
                "NetcfgSubnetRangeOutsideVnet",
                format!(
                    "Subnet '{name}' is not valid because its IP address range is outside the \
                     IP address range of virtual network '{vnet_id}'."
                ),
            ));
        }
        if let Some(other) = out
            .values()
            .find(|s: &&Subnet| s.prefix.contains(&prefix) || prefix.contains(&s.prefix))
        {
            return Err(ArmError::bad_request(
                "NetcfgSubnetRangesOverlap",
                format!(
                    "Subnet '{name}' is not valid because its IP address range overlaps with that of an existing subnet '{}' in virtual network.",
                    other.name
                ),
            ));
        }
        let used = match old.remove(&key(&name)) {
            Some(prev) if prev.prefix != prefix && !prev.used.is_empty() => {
                return Err(ArmError::bad_request(
                    "InUseSubnetCannotBeUpdated",
                    format!("Subnet {name} is in use and cannot be updated."),
                ));
            }
            Some(prev) => prev.used,
            None => Default::default(),
        };
        out.insert(
            key(&name),
            Subnet {
                id,
                name,
                prefix,
                used,
            },
        );
    }
    if let Some(gone) = old.values().find(|s| !s.used.is_empty()) {
        return Err(ArmError::bad_request(
            "InUseSubnetCannotBeDeleted",
            format!(
                "Subnet {} is in use by a private endpoint and cannot be deleted.",
                gone.id
            ),
        ));
    }
    Ok(out)
}

/// The first free address of `subnet`, marked used; none when the subnet is full.
pub fn allocate(subnet: &mut Subnet) -> Option<Ipv4Addr> {
    let first = u32::from(subnet.prefix.network()).checked_add(RESERVED_HEAD)?;
    let last = u32::from(subnet.prefix.broadcast()).checked_sub(1)?;
    let ip = (first..=last)
        .map(Ipv4Addr::from)
        .find(|ip| !subnet.used.contains(ip))?;
    subnet.used.insert(ip);
    Some(ip)
}

/// Takes the static address `ip` in `subnet`: `Some(ip)`, or 400 when it is in use or not an
/// address the subnet gives out.
pub fn take(subnet: &mut Subnet, ip: Ipv4Addr) -> Result<Option<Ipv4Addr>, ArmError> {
    let first = u32::from(subnet.prefix.network()).saturating_add(RESERVED_HEAD);
    let last = u32::from(subnet.prefix.broadcast()).saturating_sub(1);
    if !(first..=last).contains(&u32::from(ip)) {
        return Err(ArmError::bad_request(
            "PrivateIPAddressNotInSubnet",
            format!(
                "Private static IP address {ip} does not belong to the range of subnet prefix {}.",
                subnet.prefix
            ),
        ));
    }
    if !subnet.used.insert(ip) {
        return Err(ArmError::bad_request(
            "PrivateIPAddressInUse",
            format!("IP address {ip} is already in use in subnet {}.", subnet.id),
        ));
    }
    Ok(Some(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(prefix: &str) -> Subnet {
        Subnet {
            id: "s".into(),
            name: "s".into(),
            prefix: prefix.parse().unwrap(),
            used: Default::default(),
        }
    }

    #[test]
    fn allocation_skips_the_reserved_addresses_and_stops_when_full() {
        let mut s = subnet("10.0.1.0/29");
        assert_eq!(allocate(&mut s), Some(Ipv4Addr::new(10, 0, 1, 4)));
        assert_eq!(allocate(&mut s), Some(Ipv4Addr::new(10, 0, 1, 5)));
        assert_eq!(allocate(&mut s), Some(Ipv4Addr::new(10, 0, 1, 6)));
        assert_eq!(allocate(&mut s), None);
    }

    #[test]
    fn host_bits_are_refused() {
        assert_eq!(
            parse_prefix("10.0.1.5/24", "x").unwrap_err().code,
            "InvalidCIDRNotation"
        );
        assert!(parse_prefix("10.0.1.0/24", "x").is_ok());
    }

    #[test]
    fn subnets_outside_or_overlapping_are_refused() {
        let space = vec!["10.0.0.0/16".parse().unwrap()];
        let outside = vec![("a".into(), "10.1.0.0/24".into())];
        let err = merge_subnets("v", &space, BTreeMap::new(), outside).unwrap_err();
        assert_eq!(err.code, "NetcfgSubnetRangeOutsideVnet");
        let overlap = vec![
            ("a".into(), "10.0.0.0/24".into()),
            ("b".into(), "10.0.0.0/25".into()),
        ];
        let err = merge_subnets("v", &space, BTreeMap::new(), overlap).unwrap_err();
        assert_eq!(err.code, "NetcfgSubnetRangesOverlap");
    }
}
