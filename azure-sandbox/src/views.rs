//! The JSON bodies of the resources, in the shapes of the Microsoft.Network 2024-05-01 and
//! Microsoft.Resources 2021-04-01 schemas (`etag` as `W/"<guid>"`, `tags` only when given;
//! no field the spec does not declare).

use serde_json::{Map, Value, json};

use crate::model::endpoints::{Connection, NetworkInterface, PrivateEndpoint, Provisioning};
use crate::model::{ResourceGroup, Subnet, VirtualNetwork};

fn etag(guid: &str) -> String {
    format!("W/\"{guid}\"")
}

fn with_tags(mut body: Value, tags: Option<&Value>) -> Value {
    if let (Some(tags), Some(obj)) = (tags, body.as_object_mut()) {
        obj.insert("tags".into(), tags.clone());
    }
    body
}

/// A resource group.
pub fn group(g: &ResourceGroup) -> Value {
    let body = json!({
        "id": g.id,
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "properties": {"provisioningState": "Succeeded"},
    });
    with_tags(body, g.tags.as_ref())
}

/// A subnet.
pub fn subnet(s: &Subnet, vnet_guid: &str) -> Value {
    json!({
        "name": s.name,
        "id": s.id,
        "etag": etag(vnet_guid),
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "properties": {
            "provisioningState": "Succeeded",
            "addressPrefix": s.prefix.to_string(),
            "delegations": [],
            "privateEndpointNetworkPolicies": "Disabled",
            "privateLinkServiceNetworkPolicies": "Enabled",
        },
    })
}

/// A virtual network with its subnets.
pub fn vnet(v: &VirtualNetwork) -> Value {
    let prefixes: Vec<String> = v.prefixes.iter().map(ToString::to_string).collect();
    let subnets: Vec<Value> = v.subnets.values().map(|s| subnet(s, &v.guid)).collect();
    let body = json!({
        "name": v.name,
        "id": v.id,
        "etag": etag(&v.guid),
        "type": "Microsoft.Network/virtualNetworks",
        "location": v.location,
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": v.guid,
            "addressSpace": {"addressPrefixes": prefixes},
            "subnets": subnets,
            "virtualNetworkPeerings": [],
            "enableDdosProtection": false,
        },
    });
    with_tags(body, v.tags.as_ref())
}

fn state_name(state: Provisioning) -> &'static str {
    match state {
        Provisioning::Updating => "Updating",
        Provisioning::Succeeded => "Succeeded",
        Provisioning::Failed => "Failed",
        Provisioning::Deleting => "Deleting",
    }
}

fn connection(pe: &PrivateEndpoint, c: &Connection) -> Value {
    let mut props = Map::new();
    props.insert("provisioningState".into(), state_name(pe.state).into());
    props.insert("privateLinkServiceId".into(), c.service_id.clone().into());
    props.insert("groupIds".into(), c.group_ids.clone());
    if let Some(m) = &c.request_message {
        props.insert("requestMessage".into(), m.clone().into());
    }
    props.insert(
        "privateLinkServiceConnectionState".into(),
        json!({"status": c.status, "description": c.description, "actionsRequired": "None"}),
    );
    json!({
        "name": c.name,
        "id": format!("{}/manualPrivateLinkServiceConnections/{}", pe.id, c.name),
        "etag": etag(&pe.etag),
        "type": "Microsoft.Network/privateEndpoints/manualPrivateLinkServiceConnections",
        "properties": props,
    })
}

/// A private endpoint; `networkInterfaces` lists its interface once it exists.
pub fn endpoint(pe: &PrivateEndpoint, nic_exists: bool) -> Value {
    let connections: Vec<Value> = pe.connections.iter().map(|c| connection(pe, c)).collect();
    let nics: Vec<Value> = if nic_exists {
        vec![json!({"id": pe.nic_id})]
    } else {
        Vec::new()
    };
    let body = json!({
        "name": pe.name,
        "id": pe.id,
        "etag": etag(&pe.etag),
        "type": "Microsoft.Network/privateEndpoints",
        "location": pe.location,
        "properties": {
            "provisioningState": state_name(pe.state),
            "privateLinkServiceConnections": [],
            "manualPrivateLinkServiceConnections": connections,
            "customNetworkInterfaceName": pe.custom_nic_name.clone().unwrap_or_default(),
            "subnet": {"id": pe.subnet_id},
            "ipConfigurations": pe.ip_configurations,
            "networkInterfaces": nics,
            "customDnsConfigs": [],
            "applicationSecurityGroups": [],
        },
    });
    with_tags(body, pe.tags.as_ref())
}

/// A network interface.
pub fn nic(n: &NetworkInterface) -> Value {
    json!({
        "name": n.name,
        "id": n.id,
        "etag": etag(&n.guid),
        "type": "Microsoft.Network/networkInterfaces",
        "location": n.location,
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": n.guid,
            "ipConfigurations": [{
                "name": n.ip_config,
                "id": format!("{}/ipConfigurations/{}", n.id, n.ip_config),
                "etag": etag(&n.guid),
                "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateIPAddress": n.ip.to_string(),
                    "privateIPAllocationMethod": "Dynamic",
                    "subnet": {"id": n.subnet_id},
                    "primary": true,
                    "privateIPAddressVersion": "IPv4",
                },
            }],
            "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
            "macAddress": "",
            "enableAcceleratedNetworking": false,
            "vnetEncryptionSupported": false,
            "enableIPForwarding": false,
            "disableTcpStateTracking": false,
            "hostedWorkloads": [],
            "tapConfigurations": [],
            "privateEndpoint": {"id": n.endpoint_id},
            "nicType": "Standard",
            "auxiliaryMode": "None",
            "auxiliarySku": "None",
        },
    })
}
