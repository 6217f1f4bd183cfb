//! The emulated Azure world: resource groups, virtual networks and subnets (the fixtures, made
//! by ordinary ARM PUTs), the registered Private Link Services, and the realism settings. The
//! private endpoints, their network interfaces and operations live in [`endpoints`]; address
//! arithmetic in [`net`]. Every map is keyed by the lower-cased resource id: ARM ids compare
//! case-insensitively.

pub mod endpoints;
pub mod net;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::ArmError;
use endpoints::{NetworkInterface, Operation, PrivateEndpoint};

/// Adjustable misbehaviour (`PUT /__sandbox/realism`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Realism {
    /// Duration of create/update operations, milliseconds.
    pub provision_ms: u64,
    /// Duration of delete operations, milliseconds.
    pub delete_ms: u64,
    /// Page size of the lists (0: everything on one page, no `nextLink`).
    pub page_size: usize,
    /// Lifetime of issued tokens, seconds.
    pub token_ttl_s: u64,
    /// How many of the next create operations end Failed.
    pub fail_next: u32,
    /// `error.code` of such a failed operation.
    pub fail_code: String,
    /// `error.message` of such a failed operation.
    pub fail_message: String,
}

impl Realism {
    /// The settings at start: operations of the given durations, no failures.
    pub fn new(provision: Duration, delete: Duration) -> Self {
        Self {
            provision_ms: u64::try_from(provision.as_millis()).unwrap_or(u64::MAX),
            delete_ms: u64::try_from(delete.as_millis()).unwrap_or(u64::MAX),
            page_size: 0,
            token_ttl_s: 3599,
            fail_next: 0,
            fail_code: "InternalServerError".into(),
            fail_message: "An error occurred.".into(),
        }
    }
}

/// A subscription and resource group named by a request path.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Subscription id as given.
    pub sub: String,
    /// Resource group name as given.
    pub group: String,
}

impl Scope {
    /// The scope, refusing a subscription id that is not a GUID.
    pub fn new(sub: &str, group: &str) -> Result<Self, ArmError> {
        check_subscription(sub)?;
        Ok(Self {
            sub: sub.to_string(),
            group: group.to_string(),
        })
    }

    /// `/subscriptions/{sub}/resourceGroups/{group}`.
    pub fn group_id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}", self.sub, self.group)
    }

    /// The id of the `Microsoft.Network` resource `kind/name` in this group.
    pub fn network_id(&self, kind: &str, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.Network/{kind}/{name}",
            self.group_id()
        )
    }
}

/// Refuses a subscription id that is not a GUID, as ARM does.
pub fn check_subscription(sub: &str) -> Result<(), ArmError> {
    if uuid::Uuid::try_parse(sub).is_ok() {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "InvalidSubscriptionId",
        format!("The provided subscription identifier '{sub}' is malformed or invalid."),
    ))
}

/// The key of a resource id.
pub fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// `East US 2` -> `eastus2`, the form ARM answers with.
pub fn normalize_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A resource group.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceGroup {
    /// Its id.
    pub id: String,
    /// Its name as created.
    pub name: String,
    /// Normalized location.
    pub location: String,
    /// Tags as given.
    pub tags: Option<Value>,
}

/// A virtual network.
#[derive(Debug, Clone)]
pub struct VirtualNetwork {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Normalized location.
    pub location: String,
    /// `addressSpace.addressPrefixes`.
    pub prefixes: Vec<Ipv4Net>,
    /// Subnets by lower-cased name.
    pub subnets: BTreeMap<String, Subnet>,
    /// Tags as given.
    pub tags: Option<Value>,
    /// Opaque identifier fixed at creation.
    pub guid: String,
}

/// A subnet.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its address prefix.
    pub prefix: Ipv4Net,
    /// Addresses taken by network interfaces.
    pub used: BTreeSet<Ipv4Addr>,
}

/// Everything the sandbox holds.
#[derive(Debug)]
pub struct World {
    /// Resource groups.
    pub groups: BTreeMap<String, ResourceGroup>,
    /// Virtual networks.
    pub vnets: BTreeMap<String, VirtualNetwork>,
    /// Private endpoints.
    pub endpoints: BTreeMap<String, PrivateEndpoint>,
    /// Network interfaces.
    pub nics: BTreeMap<String, NetworkInterface>,
    /// Asynchronous operations by operation id.
    pub operations: HashMap<String, Operation>,
    /// Registered Private Link Services: key -> id as registered, with their location.
    pub services: BTreeMap<String, (String, Option<String>)>,
    /// Realism settings.
    pub realism: Realism,
}

impl World {
    /// An empty world.
    pub fn new(realism: Realism) -> Self {
        Self {
            groups: BTreeMap::new(),
            vnets: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            nics: BTreeMap::new(),
            operations: HashMap::new(),
            services: BTreeMap::new(),
            realism,
        }
    }

    /// The resource group of `scope`, or 404 `ResourceGroupNotFound`.
    pub fn group(&self, scope: &Scope) -> Result<&ResourceGroup, ArmError> {
        self.groups
            .get(&key(&scope.group_id()))
            .ok_or_else(|| ArmError::group_not_found(&scope.group))
    }

    /// Creates or updates a resource group; true when created.
    pub fn put_group(&mut self, scope: &Scope, body: &Value) -> Result<bool, ArmError> {
        let location = location_of(body)?;
        let tags = body.get("tags").cloned();
        let id = scope.group_id();
        if let Some(existing) = self.groups.get_mut(&key(&id)) {
            if existing.location != location {
                return Err(ArmError::bad_request(
                    "InvalidResourceGroupLocation",
                    format!(
                        "Invalid resource group location '{location}'. The Resource group \
                         already exists in location '{}'.",
                        existing.location
                    ),
                ));
            }
            existing.tags = tags;
            return Ok(false);
        }
        let group = ResourceGroup {
            id: id.clone(),
            name: scope.group.clone(),
            location,
            tags,
        };
        self.groups.insert(key(&id), group);
        Ok(true)
    }

    /// The virtual network `name` of `scope`.
    pub fn vnet(&self, scope: &Scope, name: &str) -> Result<&VirtualNetwork, ArmError> {
        self.group(scope)?;
        self.vnets
            .get(&key(&scope.network_id("virtualNetworks", name)))
            .ok_or_else(|| {
                ArmError::resource_not_found(
                    "Microsoft.Network/virtualNetworks",
                    name,
                    &scope.group,
                )
            })
    }

    /// The subnet `vnet/name` of `scope`.
    pub fn subnet(&self, scope: &Scope, vnet: &str, name: &str) -> Result<&Subnet, ArmError> {
        let network = self.vnet(scope, vnet)?;
        network.subnets.get(&key(name)).ok_or_else(|| {
            ArmError::resource_not_found(
                "Microsoft.Network/virtualNetworks",
                &format!("{vnet}/subnets/{name}"),
                &scope.group,
            )
        })
    }

    /// Creates or replaces a virtual network with its inline subnets; true when created.
    pub fn put_vnet(&mut self, scope: &Scope, name: &str, body: &Value) -> Result<bool, ArmError> {
        self.group(scope)?;
        let location = location_of(body)?;
        let id = scope.network_id("virtualNetworks", name);
        let prefixes = net::vnet_prefixes(body, &id)?;
        let wanted = net::inline_subnets(body, &id)?;
        let previous = self.vnets.get(&key(&id));
        if let Some(old) = previous
            && old.location != location
        {
            return Err(ArmError::bad_request(
                "InvalidResourceLocation",
                format!(
                    "The resource '{name}' already exists in location '{}' in resource group \
                     '{}'. A resource with the same name cannot be created in location \
                     '{location}'. Please select a new resource name.",
                    old.location, scope.group
                ),
            ));
        }
        let old_subnets = previous.map(|v| v.subnets.clone()).unwrap_or_default();
        let subnets = net::merge_subnets(&id, &prefixes, old_subnets, wanted)?;
        let guid = previous.map_or_else(|| uuid::Uuid::new_v4().to_string(), |v| v.guid.clone());
        let created = previous.is_none();
        let vnet = VirtualNetwork {
            id: id.clone(),
            name: name.to_string(),
            location,
            prefixes,
            subnets,
            tags: body.get("tags").cloned(),
            guid,
        };
        self.vnets.insert(key(&id), vnet);
        Ok(created)
    }

    /// Creates or updates one subnet of a virtual network; true when created.
    pub fn put_subnet(
        &mut self,
        scope: &Scope,
        vnet: &str,
        name: &str,
        body: &Value,
    ) -> Result<bool, ArmError> {
        let network = self.vnet(scope, vnet)?.clone();
        let prefix = body
            .pointer("/properties/addressPrefix")
            .and_then(Value::as_str)
            .ok_or_else(|| ArmError::bad_body("properties.addressPrefix"))?;
        let mut subnets = network.subnets.clone();
        let created = !subnets.contains_key(&key(name));
        let mut wanted: Vec<(String, String)> = subnets
            .values()
            .filter(|s| key(&s.name) != key(name))
            .map(|s| (s.name.clone(), s.prefix.to_string()))
            .collect();
        wanted.push((name.to_string(), prefix.to_string()));
        subnets = net::merge_subnets(&network.id, &network.prefixes, subnets, wanted)?;
        if let Some(v) = self.vnets.get_mut(&key(&network.id)) {
            v.subnets = subnets;
        }
        Ok(created)
    }

    /// Registers a Private Link Service id (the service owner's side).
    pub fn register_service(&mut self, id: &str, location: Option<&str>) -> bool {
        let location = location.map(normalize_location);
        self.services
            .insert(key(id), (id.to_string(), location))
            .is_none()
    }
}

/// The normalized `location` of a body, or 400 `LocationRequired`.
pub fn location_of(body: &Value) -> Result<String, ArmError> {
    match body.get("location").and_then(Value::as_str) {
        Some(l) if !l.trim().is_empty() => Ok(normalize_location(l)),
        _ => Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        )),
    }
}
