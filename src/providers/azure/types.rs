//! The wire shapes of the ARM resources privlink reads: private endpoints
//! (with their manual Private Link Service connection) and network
//! interfaces. Decoding is lenient: unknown fields are ignored and missing
//! ones default.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A reference to another resource: `{"id": …}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdRef {
    /// The resource id.
    #[serde(default)]
    pub id: String,
}

/// A private endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct PrivateEndpoint {
    /// The resource id.
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The location.
    #[serde(default)]
    pub location: String,
    /// The tags.
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// The properties.
    #[serde(default)]
    pub properties: PrivateEndpointProperties,
}

/// A private endpoint's `properties`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpointProperties {
    /// `Succeeded`, `Updating`, `Deleting`, `Failed`.
    #[serde(default)]
    pub provisioning_state: Option<String>,
    /// The subnet.
    #[serde(default)]
    pub subnet: Option<IdRef>,
    /// The network interfaces ARM made for it.
    #[serde(default)]
    pub network_interfaces: Vec<IdRef>,
    /// Connections that wait for the service owner's approval.
    #[serde(default)]
    pub manual_private_link_service_connections: Vec<Connection>,
}

/// A Private Link Service connection.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Connection {
    /// The connection's name.
    #[serde(default)]
    pub name: String,
    /// Its properties.
    #[serde(default)]
    pub properties: ConnectionProperties,
}

/// A connection's `properties`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionProperties {
    /// The Private Link Service.
    #[serde(default)]
    pub private_link_service_id: String,
    /// What the service owner said.
    #[serde(default)]
    pub private_link_service_connection_state: Option<ConnectionState>,
}

/// A connection's state.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConnectionState {
    /// `Pending`, `Approved`, `Rejected` or `Disconnected`.
    #[serde(default)]
    pub status: String,
    /// The service owner's words.
    #[serde(default)]
    pub description: Option<String>,
}

/// A network interface.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkInterface {
    /// Its properties.
    #[serde(default)]
    pub properties: NicProperties,
}

/// A network interface's `properties`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicProperties {
    /// Its IP configurations.
    #[serde(default)]
    pub ip_configurations: Vec<IpConfiguration>,
}

/// An IP configuration.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IpConfiguration {
    /// Its properties.
    #[serde(default)]
    pub properties: IpProperties,
}

/// An IP configuration's `properties`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IpProperties {
    /// The private IP address.
    #[serde(default, rename = "privateIPAddress")]
    pub private_ip_address: Option<String>,
}

impl NetworkInterface {
    /// The first IP configuration's private address.
    pub fn private_ip(&self) -> Option<&str> {
        self.properties
            .ip_configurations
            .first()?
            .properties
            .private_ip_address
            .as_deref()
    }
}

/// A list answer: `value` and the next page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    /// This page's items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// The next page's URL.
    #[serde(default)]
    pub next_link: Option<String>,
}

impl PrivateEndpoint {
    /// Its (first) manual connection.
    pub fn connection(&self) -> Option<&Connection> {
        self.properties
            .manual_private_link_service_connections
            .first()
    }

    /// The owner its tags name.
    pub fn owner(&self) -> Option<&str> {
        self.tags
            .as_ref()?
            .get(super::TAG_OWNER)
            .map(String::as_str)
    }
}
