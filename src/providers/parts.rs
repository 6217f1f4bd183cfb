//! The pieces the clouds hand each other while expanding one endpoint: the
//! resources added so far, what the Atlas side offers the network side, and
//! what the network side offers the link.

use std::collections::BTreeMap;

use serde_json::Value;

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
