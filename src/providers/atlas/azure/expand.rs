//! The Atlas part of an endpoint on Azure: the region's shared AZURE
//! endpoint service and the registration of the Azure private endpoint on
//! it, or for a serverless instance its private endpoint and the link
//! that hands it the Azure private endpoint.

use serde_json::json;

use super::kinds::{LINK, SERVICE};
use super::regions::atlas_region;
use super::serverless;
use crate::config::{AtlasFlow, Config, Endpoint};
use crate::model::{Address, Attrs, reference};
use crate::providers::atlas::expand::service_address;
use crate::providers::parts::{Downstream, Resources, Site, Upstream, add};

fn obj(v: serde_json::Value) -> Attrs {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

/// Adds what the private endpoint connects to and returns it: the
/// serverless instance's private endpoint, or the region's endpoint
/// service (once). Either carries `private_link_service_resource_id`, and
/// its Private Link Service name is the connection's name.
pub fn upstream(config: &Config, ep: &Endpoint, site: &Site, out: &mut Resources) -> Upstream {
    if let AtlasFlow::Serverless { .. } = ep.atlas.flow {
        return crate::providers::atlas::expand::upstream(config, ep, site, out);
    }
    let service = service_address(site);
    if !out.contains_key(&service) {
        let attrs = json!({
            "project_id": config.atlas.project_id,
            "region": atlas_region(&site.region),
        });
        add(out, service.clone(), SERVICE, obj(attrs), vec![]);
    }
    Upstream {
        service_name: reference(&service, "private_link_service_name"),
        address: service,
    }
}

/// Adds the link that registers the private endpoint with Atlas.
pub fn link(config: &Config, ep: &Endpoint, up: &Upstream, down: &Downstream, out: &mut Resources) {
    let depends_on = vec![up.address.clone(), down.address.clone()];
    let address = Address::endpoint(&ep.name, "link");
    if let AtlasFlow::Serverless { instance } = &ep.atlas.flow {
        let attrs = json!({
            "project_id": config.atlas.project_id,
            "instance": instance,
            "endpoint_id": reference(&up.address, "id"),
            "private_endpoint_id": reference(&down.address, "id"),
            "private_ip": reference(&down.address, "private_ip"),
        });
        add(out, address, serverless::KIND, obj(attrs), depends_on);
        return;
    }
    let attrs = json!({
        "project_id": config.atlas.project_id,
        "endpoint_service_id": reference(&up.address, "id"),
        "private_endpoint_id": reference(&down.address, "id"),
        "private_ip": reference(&down.address, "private_ip"),
    });
    add(out, address, LINK, obj(attrs), depends_on);
}
