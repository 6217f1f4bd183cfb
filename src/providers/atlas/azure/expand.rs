//! The Atlas part of an endpoint on Azure: the region's shared AZURE
//! endpoint service, and the registration of the Azure private endpoint
//! on it (the link).

use serde_json::json;

use super::kinds::{LINK, SERVICE};
use super::regions::atlas_region;
use crate::config::{Config, Endpoint};
use crate::model::{Address, Attrs, reference};
use crate::providers::atlas::expand::service_address;
use crate::providers::parts::{Downstream, Resources, Site, Upstream, add};

fn obj(v: serde_json::Value) -> Attrs {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

/// Adds the region's endpoint service (once); returns what the private
/// endpoint connects to: the service, whose Private Link Service name is
/// the connection's name.
pub fn upstream(config: &Config, site: &Site, out: &mut Resources) -> Upstream {
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
    let attrs = json!({
        "project_id": config.atlas.project_id,
        "endpoint_service_id": reference(&up.address, "id"),
        "private_endpoint_id": reference(&down.address, "id"),
        "private_ip": reference(&down.address, "private_ip"),
    });
    let depends_on = vec![up.address.clone(), down.address.clone()];
    add(
        out,
        Address::endpoint(&ep.name, "link"),
        LINK,
        obj(attrs),
        depends_on,
    );
}
