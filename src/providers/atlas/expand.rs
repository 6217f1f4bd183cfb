//! The Atlas part of an endpoint's resources: the serverless endpoint or
//! the region's shared endpoint service it connects to, and the link.

use serde_json::json;

use super::dedicated::{INTERFACE, SERVICE};
use super::serverless::{ENDPOINT, LINK, endpoint_address};
use crate::config::{AtlasFlow, Config, Endpoint};
use crate::model::{Address, Attrs, reference};
use crate::providers::parts::{Downstream, Resources, Site, Upstream, add};

fn obj(v: serde_json::Value) -> Attrs {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

/// `endpoint_services.<cloud>.<region>`: one per project, cloud and region.
pub fn service_address(site: &Site) -> Address {
    Address::new(format!(
        "endpoint_services.{}.{}",
        site.provider.to_ascii_lowercase(),
        site.region
    ))
}

/// Adds what the cloud endpoint connects to; returns it.
pub fn upstream(config: &Config, ep: &Endpoint, site: &Site, out: &mut Resources) -> Upstream {
    let project = config.atlas.project_id.as_str();
    match &ep.atlas.flow {
        AtlasFlow::Serverless { instance } => {
            let atlas = endpoint_address(&ep.name);
            let attrs =
                json!({ "project_id": project, "instance": instance, "comment": ep.atlas.comment });
            add(out, atlas.clone(), ENDPOINT, obj(attrs), vec![]);
            Upstream {
                service_name: reference(&atlas, "endpoint_service_name"),
                address: atlas,
            }
        }
        AtlasFlow::Dedicated => {
            let service = service_address(site);
            if !out.contains_key(&service) {
                let attrs = json!({ "project_id": project, "region": site.region });
                add(out, service.clone(), SERVICE, obj(attrs), vec![]);
            }
            Upstream {
                service_name: reference(&service, "endpoint_service_name"),
                address: service,
            }
        }
    }
}

/// Adds the link that hands the cloud endpoint to Atlas.
pub fn link(config: &Config, ep: &Endpoint, up: &Upstream, down: &Downstream, out: &mut Resources) {
    let project = config.atlas.project_id.as_str();
    let link = Address::endpoint(&ep.name, "link");
    let depends_on = vec![up.address.clone(), down.address.clone()];
    match &ep.atlas.flow {
        AtlasFlow::Serverless { instance } => {
            let attrs = json!({
                "project_id": project,
                "instance": instance,
                "endpoint_id": reference(&up.address, "id"),
                "vpc_endpoint_id": reference(&down.address, "id"),
            });
            add(out, link, LINK, obj(attrs), depends_on);
        }
        AtlasFlow::Dedicated => {
            let attrs = json!({
                "project_id": project,
                "endpoint_service_id": reference(&up.address, "id"),
                "vpc_endpoint_id": reference(&down.address, "id"),
            });
            add(out, link, INTERFACE, obj(attrs), depends_on);
        }
    }
}
