//! The AWS part of an endpoint's resources: its security group, the
//! interface VPC endpoint, and the client groups' egress rules.

use serde_json::json;

use super::{client_egress, security_group, vpc_endpoint};
use crate::config::{Config, Endpoint, EndpointAws, Source};
use crate::model::{Address, Attrs, reference};
use crate::providers::parts::{Downstream, Resources, Site, Upstream, add};
use crate::providers::typed::sorted;

fn obj(v: serde_json::Value) -> Attrs {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

fn source_string(s: &Source) -> String {
    match s {
        Source::Group(x) | Source::Cidr(x) => x.clone(),
    }
}

/// Where the endpoint's network side is.
pub fn site(aws: &EndpointAws) -> Site {
    Site {
        provider: "AWS",
        region: aws.region.clone(),
    }
}

/// Adds the endpoint's security group, VPC endpoint and client egress
/// rules (which wait for `link`); returns the VPC endpoint.
pub fn network(
    config: &Config,
    ep: &Endpoint,
    aws: &EndpointAws,
    up: &Upstream,
    link: &Address,
    out: &mut Resources,
) -> Downstream {
    let (name, region) = (ep.name.as_str(), aws.region.as_str());
    let sg = Address::endpoint(name, "security_group");
    let vpce = Address::endpoint(name, "vpc_endpoint");
    let group = json!({
        "region": region,
        "vpc_id": aws.vpc_id,
        "name": format!("privlink-{}-{}", config.stack, name),
        "description": format!("privlink {}: interface endpoint {}", config.stack, name),
        "ingress": sorted(aws.security_group.allow_from.iter().map(source_string).collect()),
    });
    add(out, sg.clone(), security_group::KIND, obj(group), vec![]);
    let endpoint = json!({
        "region": region,
        "vpc_id": aws.vpc_id,
        "service_name": up.service_name,
        "subnet_ids": sorted(aws.subnet_ids.clone()),
        "security_group_ids": [reference(&sg, "id")],
    });
    let deps = vec![up.address.clone(), sg.clone()];
    add(out, vpce.clone(), vpc_endpoint::KIND, obj(endpoint), deps);
    for group in sorted(aws.client_security_groups.clone()) {
        let a = Address::client_egress(name, &group);
        let egress = json!({
            "region": region,
            "group_id": group,
            "cidrs": reference(&vpce, "private_ip_cidrs"),
        });
        let deps = vec![vpce.clone(), link.clone()];
        add(out, a, client_egress::KIND, obj(egress), deps);
    }
    Downstream { address: vpce }
}
