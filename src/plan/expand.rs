//! Expands the configuration into the typed resources it implies, with their
//! addresses, desired attributes, references and dependencies. Pure.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::{AtlasFlow, Config, Endpoint, Source};
use crate::model::{Address, Attrs, DesiredResource, Kind, reference};

/// Tag key carrying the stack name on every AWS resource privlink creates.
pub const TAG_STACK: &str = "privlink:stack";
/// Tag key carrying the resource address on every AWS resource privlink creates.
pub const TAG_ADDRESS: &str = "privlink:address";

/// The string form of an ingress source, as kept in attributes.
pub fn source_string(s: &Source) -> String {
    match s {
        Source::Group(g) => g.clone(),
        Source::Cidr(c) => c.clone(),
    }
}

fn obj(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("attributes are objects"),
    }
}

fn sorted(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

/// Every resource the configuration wants, in a stable order.
pub fn expand(config: &Config) -> Vec<DesiredResource> {
    let mut out: BTreeMap<Address, DesiredResource> = BTreeMap::new();
    for ep in config.endpoints.values() {
        expand_endpoint(config, ep, &mut out);
    }
    out.into_values().collect()
}

fn expand_endpoint(config: &Config, ep: &Endpoint, out: &mut BTreeMap<Address, DesiredResource>) {
    let name = ep.name.as_str();
    let project = config.atlas.project_id.as_str();
    let region = ep.aws.region.as_str();
    let sg = Address::endpoint(name, "security_group");
    let vpce = Address::endpoint(name, "vpc_endpoint");
    let link = Address::endpoint(name, "link");

    out.insert(
        sg.clone(),
        DesiredResource {
            address: sg.clone(),
            kind: Kind::SecurityGroup,
            attrs: obj(json!({
                "region": region,
                "vpc_id": ep.aws.vpc_id,
                "name": format!("privlink-{}-{}", config.stack, name),
                "description": format!("privlink {}: interface endpoint {}", config.stack, name),
                "ingress": sorted(ep.aws.security_group.allow_from.iter().map(source_string)),
            })),
            depends_on: vec![],
        },
    );

    let (service_ref, upstream) = match &ep.atlas.flow {
        AtlasFlow::Serverless { instance } => {
            let atlas = Address::endpoint(name, "atlas_endpoint");
            out.insert(
                atlas.clone(),
                DesiredResource {
                    address: atlas.clone(),
                    kind: Kind::ServerlessEndpoint,
                    attrs: obj(json!({
                        "project_id": project,
                        "instance": instance,
                        "comment": ep.atlas.comment,
                    })),
                    depends_on: vec![],
                },
            );
            out.insert(
                link.clone(),
                DesiredResource {
                    address: link.clone(),
                    kind: Kind::ServerlessLink,
                    attrs: obj(json!({
                        "project_id": project,
                        "instance": instance,
                        "endpoint_id": reference(&atlas, "id"),
                        "vpc_endpoint_id": reference(&vpce, "id"),
                    })),
                    depends_on: vec![atlas.clone(), vpce.clone()],
                },
            );
            (reference(&atlas, "endpoint_service_name"), atlas)
        }
        AtlasFlow::Dedicated => {
            let service = Address::endpoint_service(region);
            out.entry(service.clone())
                .or_insert_with(|| DesiredResource {
                    address: service.clone(),
                    kind: Kind::EndpointService,
                    attrs: obj(json!({ "project_id": project, "region": region })),
                    depends_on: vec![],
                });
            out.insert(
                link.clone(),
                DesiredResource {
                    address: link.clone(),
                    kind: Kind::InterfaceEndpoint,
                    attrs: obj(json!({
                        "project_id": project,
                        "endpoint_service_id": reference(&service, "id"),
                        "vpc_endpoint_id": reference(&vpce, "id"),
                    })),
                    depends_on: vec![service.clone(), vpce.clone()],
                },
            );
            (reference(&service, "endpoint_service_name"), service)
        }
    };

    out.insert(
        vpce.clone(),
        DesiredResource {
            address: vpce.clone(),
            kind: Kind::VpcEndpoint,
            attrs: obj(json!({
                "region": region,
                "vpc_id": ep.aws.vpc_id,
                "service_name": service_ref,
                "subnet_ids": sorted(ep.aws.subnet_ids.iter().cloned()),
                "security_group_ids": [reference(&sg, "id")],
            })),
            depends_on: vec![upstream, sg.clone()],
        },
    );

    for group in sorted(ep.aws.client_security_groups.iter().cloned()) {
        let a = Address::client_egress(name, &group);
        out.insert(
            a.clone(),
            DesiredResource {
                address: a,
                kind: Kind::ClientEgress,
                attrs: obj(json!({
                    "region": region,
                    "group_id": group,
                    "cidrs": reference(&vpce, "private_ip_cidrs"),
                })),
                depends_on: vec![vpce.clone(), link.clone()],
            },
        );
    }
}

/// Attributes whose change cannot be made in place.
pub fn forces_replacement(kind: Kind, attribute: &str) -> bool {
    match kind {
        Kind::ServerlessEndpoint => matches!(attribute, "project_id" | "instance"),
        Kind::ServerlessLink => true,
        Kind::EndpointService => true,
        Kind::InterfaceEndpoint => true,
        Kind::SecurityGroup => matches!(attribute, "region" | "vpc_id" | "name" | "description"),
        Kind::VpcEndpoint => matches!(attribute, "region" | "vpc_id" | "service_name"),
        Kind::ClientEgress => matches!(attribute, "region" | "group_id"),
    }
}
