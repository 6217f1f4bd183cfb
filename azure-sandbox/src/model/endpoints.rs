//! Private endpoints, the network interfaces they bring, and the asynchronous operations that
//! create, update and delete them. An operation ends when its time is up ([`World::advance`],
//! called before every read or write): a create then turns the endpoint Succeeded (or Failed)
//! and makes its network interface; a delete removes both and frees the address.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::{Scope, World, key, location_of, net};
use crate::errors::ArmError;

/// `provisioningState` of a private endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Provisioning {
    /// A create or update operation is running.
    Updating,
    /// The last operation succeeded.
    Succeeded,
    /// The last operation failed.
    Failed,
    /// A delete operation is running.
    Deleting,
}

/// A connection of a private endpoint to a Private Link Service.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    /// Connection name.
    pub name: String,
    /// `privateLinkServiceId` as given.
    pub service_id: String,
    /// `requestMessage` as given.
    pub request_message: Option<String>,
    /// `groupIds` as given.
    pub group_ids: Value,
    /// `privateLinkServiceConnectionState.status`.
    pub status: String,
    /// `privateLinkServiceConnectionState.description`.
    pub description: String,
}

/// A private endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct PrivateEndpoint {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Normalized location.
    pub location: String,
    /// Tags as given.
    pub tags: Option<Value>,
    /// Id of the subnet as stored.
    pub subnet_id: String,
    /// Key of its virtual network, and the subnet's key in it.
    pub subnet_key: (String, String),
    /// Address reserved for its network interface.
    pub ip: Ipv4Addr,
    /// Id of its network interface (which exists once the create succeeded).
    pub nic_id: String,
    /// `customNetworkInterfaceName` as given.
    pub custom_nic_name: Option<String>,
    /// `ipConfigurations` as given (a static address for the network interface).
    pub ip_configurations: Value,
    /// Fixed at creation.
    pub guid: String,
    /// Changes with every write.
    pub etag: String,
    /// `provisioningState`.
    pub state: Provisioning,
    /// Its manual connections.
    pub connections: Vec<Connection>,
    /// The running operation, if any.
    pub operation: Option<String>,
}

/// A network interface made for a private endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkInterface {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Normalized location.
    pub location: String,
    /// The private endpoint it belongs to.
    pub endpoint_id: String,
    /// Subnet id.
    pub subnet_id: String,
    /// Its private IP.
    pub ip: Ipv4Addr,
    /// Fixed at creation.
    pub guid: String,
    /// Name of its single IP configuration.
    pub ip_config: String,
}

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OperationKind {
    /// Create or update.
    Put,
    /// Delete.
    Delete,
}

/// `status` of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OperationStatus {
    /// Running.
    InProgress,
    /// Ended well.
    Succeeded,
    /// Ended badly (see `error`).
    Failed,
}

/// An asynchronous operation.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// Operation id.
    pub id: String,
    /// Subscription (lower case).
    pub sub: String,
    /// Location of the resource.
    pub location: String,
    /// Key of the private endpoint.
    pub target: String,
    /// What it does.
    pub kind: OperationKind,
    /// When it ends.
    #[serde(skip)]
    pub due: Instant,
    /// Status.
    pub status: OperationStatus,
    /// `(code, message)` it ends with when it fails.
    pub failure: Option<(String, String)>,
}

/// What a PUT did.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    /// Whether the endpoint was created.
    pub created: bool,
    /// The operation started.
    pub operation: Operation,
}

/// The parts of a private endpoint PUT body.
struct Request {
    location: String,
    subnet_id: String,
    connections: Vec<Connection>,
    tags: Option<Value>,
    custom_nic_name: Option<String>,
    ip_configurations: Value,
    static_ip: Option<Ipv4Addr>,
}

impl World {
    /// Ends every operation whose time is up.
    pub fn advance(&mut self, now: Instant) {
        let due: Vec<String> = self
            .operations
            .values()
            .filter(|op| op.status == OperationStatus::InProgress && op.due <= now)
            .map(|op| op.id.clone())
            .collect();
        for id in due {
            self.finish(&id);
        }
    }

    fn finish(&mut self, op_id: &str) {
        let Some(op) = self.operations.get_mut(op_id) else {
            return;
        };
        op.status = if op.failure.is_some() {
            OperationStatus::Failed
        } else {
            OperationStatus::Succeeded
        };
        let op = op.clone();
        match op.kind {
            OperationKind::Delete => self.remove_endpoint(&op.target),
            OperationKind::Put => {
                let Some(pe) = self.endpoints.get_mut(&op.target) else {
                    return;
                };
                pe.operation = None;
                pe.etag = uuid::Uuid::new_v4().to_string();
                if op.failure.is_some() {
                    pe.state = Provisioning::Failed;
                    return;
                }
                pe.state = Provisioning::Succeeded;
                let pe = pe.clone();
                self.nics
                    .entry(key(&pe.nic_id))
                    .or_insert_with(|| nic_for(&pe));
            }
        }
    }

    fn remove_endpoint(&mut self, target: &str) {
        let Some(pe) = self.endpoints.remove(target) else {
            return;
        };
        self.nics.remove(&key(&pe.nic_id));
        let (vnet, subnet) = &pe.subnet_key;
        if let Some(s) = self
            .vnets
            .get_mut(vnet)
            .and_then(|v| v.subnets.get_mut(subnet))
        {
            s.used.remove(&pe.ip);
        }
    }

    /// The private endpoint `name` of `scope`.
    pub fn endpoint(&self, scope: &Scope, name: &str) -> Result<&PrivateEndpoint, ArmError> {
        self.group(scope)?;
        self.endpoints
            .get(&key(&scope.network_id("privateEndpoints", name)))
            .ok_or_else(|| {
                ArmError::resource_not_found(
                    "Microsoft.Network/privateEndpoints",
                    name,
                    &scope.group,
                )
            })
    }

    /// The network interface `name` of `scope`.
    pub fn nic(&self, scope: &Scope, name: &str) -> Result<&NetworkInterface, ArmError> {
        self.group(scope)?;
        self.nics
            .get(&key(&scope.network_id("networkInterfaces", name)))
            .ok_or_else(|| {
                ArmError::resource_not_found(
                    "Microsoft.Network/networkInterfaces",
                    name,
                    &scope.group,
                )
            })
    }

    /// The private endpoints whose id starts with `prefix` (a subscription or resource group
    /// id), in id order.
    pub fn endpoints_under(&self, prefix: &str) -> Vec<&PrivateEndpoint> {
        let prefix = format!("{}/", key(prefix));
        self.endpoints
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, pe)| pe)
            .collect()
    }

    /// Creates or updates the private endpoint `name` of `scope` and starts its operation.
    pub fn put_endpoint(
        &mut self,
        scope: &Scope,
        name: &str,
        body: &Value,
        now: Instant,
    ) -> Result<PutOutcome, ArmError> {
        self.group(scope)?;
        let id = scope.network_id("privateEndpoints", name);
        let request = parse_request(body, name)?;
        let created = match self.endpoints.get(&key(&id)) {
            Some(existing) => {
                check_update(existing, &request)?;
                false
            }
            None => {
                self.create_endpoint(scope, &id, name, &request)?;
                true
            }
        };
        let failure = (created && self.realism.fail_next > 0).then(|| {
            self.realism.fail_next -= 1;
            (
                self.realism.fail_code.clone(),
                self.realism.fail_message.clone(),
            )
        });
        let wait = Duration::from_millis(self.realism.provision_ms);
        let operation = self.start(&scope.sub, &id, OperationKind::Put, now + wait, failure);
        let pe = self
            .endpoints
            .get_mut(&key(&id))
            .ok_or_else(|| ArmError::bad_body("private endpoint"))?;
        pe.tags = request.tags;
        for (c, given) in pe.connections.iter_mut().zip(request.connections) {
            c.request_message = given.request_message;
        }
        pe.state = Provisioning::Updating;
        pe.etag = uuid::Uuid::new_v4().to_string();
        pe.operation = Some(operation.id.clone());
        Ok(PutOutcome { created, operation })
    }

    fn create_endpoint(
        &mut self,
        scope: &Scope,
        id: &str,
        name: &str,
        request: &Request,
    ) -> Result<(), ArmError> {
        let (vnet_key, subnet_key) = self.resolve_subnet(id, request)?;
        for c in &request.connections {
            if !self.services.contains_key(&key(&c.service_id)) {
                return Err(ArmError::bad_request(
                    "PrivateLinkServiceNotFound",
                    format!(
                        "Private link service {} referenced by private endpoint {id} could not \
                         be found.",
                        c.service_id
                    ),
                ));
            }
        }
        let subnet = self
            .vnets
            .get_mut(&vnet_key)
            .and_then(|v| v.subnets.get_mut(&subnet_key))
            .ok_or_else(|| ArmError::bad_body("properties.subnet.id"))?;
        let subnet_id = subnet.id.clone();
        let ip = match request.static_ip {
            Some(ip) => net::take(subnet, ip)?,
            None => net::allocate(subnet),
        };
        let ip = ip.ok_or_else(|| {
            ArmError::bad_request(
                "SubnetIsFull",
                format!(
                    "Subnet {subnet_id} with address prefix {} does not have enough capacity \
                     for 1 IP addresses.",
                    subnet.prefix
                ),
            )
        })?;
        let guid = uuid::Uuid::new_v4().to_string();
        let nic_name = request
            .custom_nic_name
            .clone()
            .unwrap_or_else(|| format!("{name}.nic.{guid}"));
        let pe = PrivateEndpoint {
            id: id.to_string(),
            name: name.to_string(),
            location: request.location.clone(),
            tags: None,
            subnet_id,
            subnet_key: (vnet_key, subnet_key),
            ip,
            nic_id: scope.network_id("networkInterfaces", &nic_name),
            custom_nic_name: request.custom_nic_name.clone(),
            ip_configurations: request.ip_configurations.clone(),
            guid,
            etag: String::new(),
            state: Provisioning::Updating,
            connections: request.connections.clone(),
            operation: None,
        };
        self.endpoints.insert(key(id), pe);
        Ok(())
    }

    /// The keys of the virtual network and subnet a request names, which must exist in the
    /// endpoint's location (`InvalidResourceReference` otherwise, as ARM says).
    fn resolve_subnet(&self, id: &str, request: &Request) -> Result<(String, String), ArmError> {
        let not_found = || {
            ArmError::bad_request(
                "InvalidResourceReference",
                format!(
                    "Resource {} referenced by resource {id} was not found. Please make sure \
                     that the referenced resource exists, and that both resources are in the \
                     same region.",
                    request.subnet_id
                ),
            )
        };
        let lower = key(&request.subnet_id);
        let (vnet_key, subnet_name) = lower.rsplit_once("/subnets/").ok_or_else(not_found)?;
        let vnet = self.vnets.get(vnet_key).ok_or_else(not_found)?;
        if vnet.location != request.location || !vnet.subnets.contains_key(subnet_name) {
            return Err(not_found());
        }
        Ok((vnet_key.to_string(), subnet_name.to_string()))
    }

    fn start(
        &mut self,
        sub: &str,
        target_id: &str,
        kind: OperationKind,
        due: Instant,
        failure: Option<(String, String)>,
    ) -> Operation {
        let location = self
            .endpoints
            .get(&key(target_id))
            .map(|pe| pe.location.clone())
            .unwrap_or_default();
        let op = Operation {
            id: uuid::Uuid::new_v4().to_string(),
            sub: key(sub),
            location,
            target: key(target_id),
            kind,
            due,
            status: OperationStatus::InProgress,
            failure,
        };
        self.operations.insert(op.id.clone(), op.clone());
        op
    }

    /// Starts deleting the private endpoint `name`: the running delete operation, or none
    /// when there is nothing to delete.
    pub fn delete_endpoint(
        &mut self,
        scope: &Scope,
        name: &str,
        now: Instant,
    ) -> Result<Option<Operation>, ArmError> {
        self.group(scope)?;
        let id = scope.network_id("privateEndpoints", name);
        let Some(pe) = self.endpoints.get(&key(&id)) else {
            return Ok(None);
        };
        if let Some(running) = pe.operation.as_ref().and_then(|o| self.operations.get(o)) {
            if running.kind == OperationKind::Delete {
                return Ok(Some(running.clone()));
            }
            return Err(self.busy(&id, running, now));
        }
        let wait = Duration::from_millis(self.realism.delete_ms);
        let op = self.start(&scope.sub, &id, OperationKind::Delete, now + wait, None);
        if let Some(pe) = self.endpoints.get_mut(&key(&id)) {
            pe.state = Provisioning::Deleting;
            pe.operation = Some(op.id.clone());
            pe.etag = uuid::Uuid::new_v4().to_string();
        }
        Ok(Some(op))
    }

    /// The 409 for a write on `id` while `running` runs.
    pub fn busy(&self, id: &str, running: &Operation, now: Instant) -> ArmError {
        let left = running.due.saturating_duration_since(now).as_secs() + 1;
        ArmError::busy(id, &format!("operations/{}", running.id), left)
    }

    /// Sets the state of the manual connections of the endpoint `endpoint_id` (those to the
    /// Private Link Service `service` when given), as the service owner does.
    pub fn set_connection(
        &mut self,
        endpoint_id: &str,
        service: Option<&str>,
        status: &str,
        description: &str,
    ) -> Result<&PrivateEndpoint, ArmError> {
        let pe = self.endpoints.get_mut(&key(endpoint_id)).ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                format!("Private endpoint {endpoint_id} was not found."),
            )
        })?;
        let chosen = |c: &Connection| service.is_none_or(|s| key(s) == key(&c.service_id));
        if !pe.connections.iter().any(chosen) {
            return Err(ArmError::new(
                StatusCode::NOT_FOUND,
                "PrivateEndpointConnectionNotFound",
                format!("Private endpoint {endpoint_id} has no connection to {service:?}."),
            ));
        }
        for c in pe.connections.iter_mut().filter(|c| chosen(c)) {
            c.status = status.to_string();
            c.description = description.to_string();
        }
        pe.etag = uuid::Uuid::new_v4().to_string();
        Ok(pe)
    }

    /// Removes a Private Link Service: the connections to it become Disconnected.
    pub fn unregister_service(&mut self, id: &str) -> bool {
        if self.services.remove(&key(id)).is_none() {
            return false;
        }
        for pe in self.endpoints.values_mut() {
            for c in &mut pe.connections {
                if key(&c.service_id) == key(id) {
                    c.status = "Disconnected".into();
                    c.description = "The private link service was deleted.".into();
                }
            }
        }
        true
    }
}

fn nic_for(pe: &PrivateEndpoint) -> NetworkInterface {
    let name = pe.nic_id.rsplit('/').next().unwrap_or_default().to_string();
    NetworkInterface {
        id: pe.nic_id.clone(),
        name,
        location: pe.location.clone(),
        endpoint_id: pe.id.clone(),
        subnet_id: pe.subnet_id.clone(),
        ip: pe.ip,
        guid: uuid::Uuid::new_v4().to_string(),
        ip_config: format!("privateEndpointIpConfig.{}", uuid::Uuid::new_v4()),
    }
}

/// What may change on an existing endpoint: tags and request messages, nothing else.
fn check_update(existing: &PrivateEndpoint, request: &Request) -> Result<(), ArmError> {
    if existing.location != request.location {
        return Err(ArmError::bad_request(
            "InvalidResourceLocation",
            format!(
                "The resource '{}' already exists in location '{}'. A resource with the same \
                 name cannot be created in location '{}'.",
                existing.name, existing.location, request.location
            ),
        ));
    }
    if let Some(op) = &existing.operation {
        return Err(ArmError::busy(&existing.id, &format!("operations/{op}"), 1));
    }
    let same_subnet = key(&existing.subnet_id) == key(&request.subnet_id);
    let same_links = existing.connections.len() == request.connections.len()
        && existing
            .connections
            .iter()
            .zip(&request.connections)
            .all(|(a, b)| a.name == b.name && key(&a.service_id) == key(&b.service_id));
    if !same_subnet || !same_links {
        let what = if same_subnet {
            "manualPrivateLinkServiceConnections"
        } else {
            "subnet"
        };
        return Err(ArmError::bad_request(
            "PropertyChangeNotAllowed",
            format!(
                "Changing property '{what}' of private endpoint {} is not allowed.",
                existing.id
            ),
        ));
    }
    Ok(())
}

/// The parts of a PUT body for the endpoint `name`.
fn parse_request(body: &Value, name: &str) -> Result<Request, ArmError> {
    let location = location_of(body)?;
    let subnet_id = body
        .pointer("/properties/subnet/id")
        .and_then(Value::as_str)
        .ok_or_else(|| ArmError::bad_body("properties.subnet.id"))?
        .to_string();
    if body
        .pointer("/properties/privateLinkServiceConnections")
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty())
    {
        return Err(ArmError::new(
            StatusCode::FORBIDDEN,
            "LinkedAuthorizationFailed",
            "The client has no permission to perform action 'Microsoft.Network/privateLinkServices/PrivateEndpointConnectionsApproval/action' on the linked scope: the service owner approves connections; use manualPrivateLinkServiceConnections.",
        ));
    }
    let list = body
        .pointer("/properties/manualPrivateLinkServiceConnections")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ArmError::bad_body("properties.manualPrivateLinkServiceConnections"))?;
    let connections = list
        .iter()
        .map(|c| parse_connection(c, name))
        .collect::<Result<_, _>>()?;
    let ip_configurations = body
        .pointer("/properties/ipConfigurations")
        .cloned()
        .unwrap_or_else(|| Value::Array(Vec::new()));
    let static_ip = match ip_configurations.pointer("/0/properties/privateIPAddress") {
        None => None,
        Some(v) => Some(v.as_str().and_then(|t| t.parse().ok()).ok_or_else(|| {
            ArmError::bad_body("properties.ipConfigurations[0].properties.privateIPAddress")
        })?),
    };
    Ok(Request {
        location,
        subnet_id,
        connections,
        tags: body.get("tags").cloned(),
        custom_nic_name: body
            .pointer("/properties/customNetworkInterfaceName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(String::from),
        ip_configurations,
        static_ip,
    })
}

/// One manual connection; without a name it takes the endpoint's, as the portal does.
fn parse_connection(c: &Value, endpoint: &str) -> Result<Connection, ArmError> {
    let name = match c.get("name") {
        None => endpoint,
        Some(n) => n
            .as_str()
            .ok_or_else(|| ArmError::bad_body("manualPrivateLinkServiceConnections[].name"))?,
    };
    let service_id = c
        .pointer("/properties/privateLinkServiceId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ArmError::bad_body(
                "manualPrivateLinkServiceConnections[].properties.privateLinkServiceId",
            )
        })?;
    Ok(Connection {
        name: name.to_string(),
        service_id: service_id.to_string(),
        request_message: c
            .pointer("/properties/requestMessage")
            .and_then(Value::as_str)
            .map(String::from),
        group_ids: c
            .pointer("/properties/groupIds")
            .cloned()
            .unwrap_or_else(|| Value::Array(Vec::new())),
        status: "Pending".into(),
        description: "Awaiting approval".into(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::model::Realism;

    const SUB: &str = "0b5b8a9c-1d2e-4f30-8a4b-5c6d7e8f9a0b";
    const PLS: &str = "/subscriptions/0b5b8a9c-1d2e-4f30-8a4b-5c6d7e8f9a0b/resourceGroups/x/providers/Microsoft.Network/privateLinkServices/pls_1";

    fn world() -> (World, Scope, String) {
        let ms = Duration::from_millis(100);
        let mut w = World::new(Realism::new(ms, ms));
        let scope = Scope::new(SUB, "rg").unwrap();
        w.put_group(&scope, &json!({"location": "eastus2"}))
            .unwrap();
        let vnet = json!({"location": "eastus2", "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "s", "properties": {"addressPrefix": "10.0.1.0/24"}}],
        }});
        w.put_vnet(&scope, "v", &vnet).unwrap();
        w.register_service(PLS, None);
        let subnet = format!("{}/subnets/s", scope.network_id("virtualNetworks", "v"));
        (w, scope, subnet)
    }

    fn body(subnet: &str) -> Value {
        json!({"location": "eastus2", "properties": {
            "subnet": {"id": subnet},
            "manualPrivateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": PLS}}],
        }})
    }

    #[test]
    fn the_interface_appears_when_the_create_ends_and_the_address_is_freed_on_delete() {
        let (mut w, scope, subnet) = world();
        let t0 = Instant::now();
        let put = w.put_endpoint(&scope, "pe", &body(&subnet), t0).unwrap();
        assert!(put.created);
        assert_eq!(
            w.endpoint(&scope, "pe").unwrap().state,
            Provisioning::Updating
        );
        assert!(w.nics.is_empty());
        let busy = w
            .put_endpoint(&scope, "pe", &body(&subnet), t0)
            .unwrap_err();
        assert_eq!(busy.code, "AnotherOperationInProgress");
        w.advance(t0 + Duration::from_millis(100));
        let pe = w.endpoint(&scope, "pe").unwrap().clone();
        assert_eq!(pe.state, Provisioning::Succeeded);
        assert_eq!(pe.ip, Ipv4Addr::new(10, 0, 1, 4));
        assert_eq!(w.nics.len(), 1);
        let t1 = t0 + Duration::from_millis(200);
        let op = w.delete_endpoint(&scope, "pe", t1).unwrap().unwrap();
        assert_eq!(op.kind, OperationKind::Delete);
        assert_eq!(
            w.endpoint(&scope, "pe").unwrap().state,
            Provisioning::Deleting
        );
        w.advance(t1 + Duration::from_millis(100));
        assert!(w.endpoint(&scope, "pe").is_err());
        assert!(w.nics.is_empty());
        assert!(w.delete_endpoint(&scope, "pe", t1).unwrap().is_none());
        // The address is given again.
        w.put_endpoint(&scope, "pe2", &body(&subnet), t1).unwrap();
        assert_eq!(
            w.endpoint(&scope, "pe2").unwrap().ip,
            Ipv4Addr::new(10, 0, 1, 4)
        );
    }

    #[test]
    fn failed_creates_and_changed_subnets_are_reported() {
        let (mut w, scope, subnet) = world();
        w.realism.fail_next = 1;
        let t0 = Instant::now();
        let put = w.put_endpoint(&scope, "pe", &body(&subnet), t0).unwrap();
        w.advance(t0 + Duration::from_millis(100));
        assert_eq!(
            w.endpoint(&scope, "pe").unwrap().state,
            Provisioning::Failed
        );
        assert_eq!(
            w.operations[&put.operation.id].status,
            OperationStatus::Failed
        );
        assert!(w.nics.is_empty());
        let other = subnet.replace("/subnets/s", "/subnets/t");
        let err = w.put_endpoint(&scope, "pe", &body(&other), t0).unwrap_err();
        assert_eq!(err.code, "PropertyChangeNotAllowed");
        // A failed endpoint can be put again, and then succeeds.
        let t1 = t0 + Duration::from_millis(200);
        assert!(
            !w.put_endpoint(&scope, "pe", &body(&subnet), t1)
                .unwrap()
                .created
        );
        w.advance(t1 + Duration::from_millis(100));
        assert_eq!(
            w.endpoint(&scope, "pe").unwrap().state,
            Provisioning::Succeeded
        );
    }

    #[test]
    fn the_owner_sets_only_the_connections_to_its_service() {
        let (mut w, scope, subnet) = world();
        w.put_endpoint(&scope, "pe", &body(&subnet), Instant::now())
            .unwrap();
        let id = scope.network_id("privateEndpoints", "pe");
        let other = PLS.replace("pls_1", "pls_2");
        let err = w
            .set_connection(&id, Some(&other), "Approved", "ok")
            .unwrap_err();
        assert_eq!(err.code, "PrivateEndpointConnectionNotFound");
        let pe = w
            .set_connection(&id.to_uppercase(), Some(PLS), "Approved", "ok")
            .unwrap();
        assert_eq!(pe.connections[0].status, "Approved");
        assert!(w.unregister_service(PLS));
        assert_eq!(
            w.endpoint(&scope, "pe").unwrap().connections[0].status,
            "Disconnected"
        );
    }
}
