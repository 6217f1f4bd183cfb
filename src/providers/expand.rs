//! Expands the configuration into the resources it implies, with their
//! addresses, desired attributes, references and dependencies. Pure.
//!
//! Each endpoint is an Atlas side (an endpoint to link to: a serverless
//! endpoint, or the region's endpoint service) and a network side in the
//! user's cloud (a cloud endpoint, its security rules), joined by a link.
//! Each cloud expands its own part; this module only joins them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{atlas, aws};
use crate::config::{Config, Endpoint};
use crate::model::{Address, Attrs, DesiredResource, Kind};

/// The desired resources, by address, as the clouds add them.
pub type Resources = BTreeMap<Address, DesiredResource>;

/// What the Atlas side offers the network side of one endpoint.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The resource the network endpoint connects to.
    pub address: Address,
    /// The value (usually a reference) of the service the network endpoint
    /// connects to.
    pub service_name: Value,
}

/// What the network side offers the link.
#[derive(Debug, Clone)]
pub struct Downstream {
    /// The cloud endpoint resource.
    pub address: Address,
}

/// The site of an endpoint's network side: its cloud and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Atlas's name of the cloud provider ("AWS").
    pub provider: &'static str,
    /// The cloud's own region name ("us-east-1").
    pub region: String,
}

/// Every resource the configuration wants, in a stable order.
pub fn expand(config: &Config) -> Vec<DesiredResource> {
    let mut out = Resources::new();
    for ep in config.endpoints.values() {
        expand_endpoint(config, ep, &mut out);
    }
    out.into_values().collect()
}

fn expand_endpoint(config: &Config, ep: &Endpoint, out: &mut Resources) {
    let link = Address::endpoint(&ep.name, "link");
    let site = aws::expand::site(ep);
    let upstream = atlas::expand::upstream(config, ep, &site, out);
    let downstream = aws::expand::network(config, ep, &upstream, &link, out);
    atlas::expand::link(config, ep, &upstream, &downstream, out);
}

/// Adds one resource.
pub fn add(
    out: &mut Resources,
    address: Address,
    kind: Kind,
    attrs: Attrs,
    depends_on: Vec<Address>,
) {
    out.insert(
        address.clone(),
        DesiredResource {
            address,
            kind,
            attrs,
            depends_on,
        },
    );
}
