//! Expands the configuration into the resources it implies, with their
//! addresses, desired attributes, references and dependencies. Pure.
//!
//! Each endpoint is an Atlas side (an endpoint to link to: a serverless
//! endpoint, or the region's endpoint service) and a network side in the
//! user's cloud (a cloud endpoint, its security rules), joined by a link.
//! Each cloud expands its own part; this module only joins them.

use super::parts::Resources;
use super::{atlas, aws, azure};
use crate::config::{Config, Endpoint, Network};
use crate::model::{Address, DesiredResource};

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
    // The network side, by the endpoint's network block: one arm per cloud.
    let (upstream, downstream) = match &ep.network {
        Network::Aws(n) => {
            let up = atlas::expand::upstream(config, ep, &aws::expand::site(n), out);
            let down = aws::expand::network(config, ep, n, &up, &link, out);
            (up, down)
        }
        Network::Azure(n) => {
            let up = atlas::azure::expand::upstream(config, ep, &azure::expand::site(n), out);
            let down = azure::expand::network(config, ep, n, &up, out);
            atlas::azure::expand::link(config, ep, &up, &down, out);
            return;
        }
    };
    atlas::expand::link(config, ep, &upstream, &downstream, out);
}
