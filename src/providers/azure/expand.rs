//! The Azure part of an endpoint's resources: the private endpoint in the
//! user's subnet, with a manual connection to Atlas's Private Link Service.

use serde_json::json;

use super::private_endpoint;
use crate::config::{Config, Endpoint, EndpointAzure};
use crate::model::{Address, Attrs, reference};
use crate::providers::parts::{Downstream, Resources, Site, Upstream, add};

/// Where the endpoint's network side is: Azure and its location.
pub fn site(azure: &EndpointAzure) -> Site {
    Site {
        provider: "AZURE",
        region: azure.location.clone(),
    }
}

/// Adds the endpoint's private endpoint, connected to what `up` offers;
/// returns it.
pub fn network(
    config: &Config,
    ep: &Endpoint,
    azure: &EndpointAzure,
    up: &Upstream,
    out: &mut Resources,
) -> Downstream {
    let pe = Address::endpoint(&ep.name, "private_endpoint");
    let attrs = json!({
        "subscription": azure.subscription,
        "resource_group": azure.resource_group,
        "location": azure.location,
        "name": format!("privlink-{}-{}", config.stack, ep.name),
        "subnet_id": azure.subnet_id,
        "private_link_service_id": reference(&up.address, "private_link_service_resource_id"),
        "connection_name": up.service_name,
    });
    let attrs: Attrs = match attrs {
        serde_json::Value::Object(m) => m,
        _ => Attrs::new(),
    };
    add(
        out,
        pe.clone(),
        private_endpoint::KIND,
        attrs,
        vec![up.address.clone()],
    );
    Downstream { address: pe }
}
