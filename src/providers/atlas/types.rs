//! The client's own view of Atlas resources. Decoding is lenient: unknown
//! fields are ignored, explicit `null`s become `None` (or empty), and status
//! enums are kept as open strings because Atlas adds values over time.

use serde::{Deserialize, Deserializer, Serialize};

/// Deserializes `null` (or a missing field, with `#[serde(default)]`) as the
/// type's default value.
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A serverless instance private endpoint ("tenant endpoint").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessEndpoint {
    /// Atlas id (`_id` on the wire).
    #[serde(rename = "_id")]
    pub id: String,
    /// The AWS VPC endpoint id (`vpce-…`) linked to it, once there is one.
    #[serde(default)]
    pub cloud_provider_endpoint_id: Option<String>,
    /// The free-text comment given when it was created.
    #[serde(default)]
    pub comment: Option<String>,
    /// Null while Atlas is still creating its endpoint service.
    #[serde(default)]
    pub endpoint_service_name: Option<String>,
    /// Atlas's explanation when the endpoint failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// `RESERVATION_REQUESTED`, `RESERVED`, `INITIATING`, `AVAILABLE`,
    /// `FAILED`, `DELETING`, or any value Atlas adds later.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// The cloud provider of its serverless instance, `AWS` or `AZURE`.
    #[serde(default)]
    pub provider_name: Option<String>,
    /// Azure: the Private Link Service's resource id, once reserved.
    #[serde(default)]
    pub private_link_service_resource_id: Option<String>,
    /// Azure: the linked private endpoint's IP.
    #[serde(default)]
    pub private_endpoint_ip_address: Option<String>,
}

impl ServerlessEndpoint {
    /// Whether the endpoint is on Azure.
    pub fn on_azure(&self) -> bool {
        self.provider_name.as_deref() == Some("AZURE")
    }

    /// Whether Atlas has published what the cloud endpoint connects to:
    /// `endpointServiceName`, and on Azure `privateLinkServiceResourceId`.
    pub fn reserved(&self) -> bool {
        self.endpoint_service_name.is_some()
            && (!self.on_azure() || self.private_link_service_resource_id.is_some())
    }
}

/// A dedicated-cluster private endpoint service (AWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointService {
    /// Atlas id of the endpoint service (24 hex).
    pub id: String,
    /// The cloud provider, `AWS` here.
    #[serde(default)]
    pub cloud_provider: Option<String>,
    /// Atlas-style region name, e.g. `US_EAST_1`.
    #[serde(default, deserialize_with = "null_default")]
    pub region_name: String,
    /// Null while Atlas is creating the service.
    #[serde(default)]
    pub endpoint_service_name: Option<String>,
    /// Ids of the interface endpoints (`vpce-…`) attached to the service.
    #[serde(default, deserialize_with = "null_default")]
    pub interface_endpoints: Vec<String>,
    /// `INITIATING`, `AVAILABLE`, `WAITING_FOR_USER`, `FAILED`, `DELETING`, …
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// Atlas's explanation when the service failed.
    #[serde(default)]
    pub error_message: Option<String>,
}

/// An interface endpoint on a dedicated endpoint service (AWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceEndpoint {
    /// The AWS VPC endpoint id, `vpce-…`.
    #[serde(default, deserialize_with = "null_default")]
    pub interface_endpoint_id: String,
    /// `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE`, `REJECTED`, `DELETING`, …
    #[serde(default, deserialize_with = "null_default")]
    pub connection_status: String,
    /// Atlas's explanation when the connection failed or was rejected.
    #[serde(default)]
    pub error_message: Option<String>,
    /// True once the removal of this endpoint from the service was requested.
    #[serde(default, deserialize_with = "null_default")]
    pub delete_requested: bool,
}

/// The parts of a serverless instance that matter for private endpoints.
/// Decoded from Atlas's nested `ServerlessInstanceDescription`; serializes
/// (and deserializes) in this flat shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerlessInstance {
    /// The instance name.
    pub name: String,
    /// Atlas-style region (`providerSettings.regionName`), e.g. `US_EAST_1`.
    pub region_name: String,
    /// `IDLE`, `CREATING`, `UPDATING`, `DELETING`, `REPAIRING`, …
    pub state_name: Option<String>,
    /// `connectionStrings.privateEndpoint[].srvConnectionString`; only present
    /// for endpoints that are `AVAILABLE`.
    pub private_endpoint_srv: Vec<String>,
}

/// The parts of a dedicated cluster that matter for private endpoints.
/// Decoded from Atlas's nested cluster description; serializes (and
/// deserializes) in this flat shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// The cluster name.
    pub name: String,
    /// `IDLE`, `CREATING`, `UPDATING`, …
    pub state_name: Option<String>,
    /// `connectionStrings.privateEndpoint[]`.
    pub private_endpoint_connection_strings: Vec<PrivateConnectionString>,
}

/// One private-endpoint-aware connection string of a dedicated cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateConnectionString {
    /// The `mongodb+srv://` form (`srvConnectionString`).
    pub srv_connection_string: Option<String>,
    /// The standard `mongodb://` form (`connectionString`).
    pub connection_string: Option<String>,
    /// The `vpce-…` ids this connection string goes through.
    pub endpoint_ids: Vec<String>,
}

/// Wire shapes for the types above that Atlas nests more deeply.
pub(crate) mod wire {
    use serde::Deserialize;

    use super::null_default;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ServerlessInstance {
        #[serde(default, deserialize_with = "null_default")]
        name: String,
        #[serde(default, deserialize_with = "null_default")]
        state_name: Option<String>,
        #[serde(default, deserialize_with = "null_default")]
        provider_settings: ProviderSettings,
        #[serde(default, deserialize_with = "null_default")]
        connection_strings: ConnectionStrings,
    }

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ProviderSettings {
        #[serde(default, deserialize_with = "null_default")]
        region_name: String,
    }

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ConnectionStrings {
        #[serde(default, deserialize_with = "null_default")]
        private_endpoint: Vec<PrivateEndpointString>,
    }

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PrivateEndpointString {
        #[serde(default)]
        srv_connection_string: Option<String>,
        #[serde(default)]
        connection_string: Option<String>,
        #[serde(default, deserialize_with = "null_default")]
        endpoints: Vec<PrivateEndpointEndpoint>,
    }

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PrivateEndpointEndpoint {
        #[serde(default)]
        endpoint_id: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Cluster {
        #[serde(default, deserialize_with = "null_default")]
        name: String,
        #[serde(default, deserialize_with = "null_default")]
        state_name: Option<String>,
        #[serde(default, deserialize_with = "null_default")]
        connection_strings: ConnectionStrings,
    }

    /// A paginated list: `{results, links, totalCount}`.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
    pub struct Page<T> {
        #[serde(default = "Vec::new", deserialize_with = "null_default")]
        pub results: Vec<T>,
        #[serde(default)]
        pub links: Option<Vec<Link>>,
        #[serde(default)]
        pub total_count: Option<u64>,
    }

    impl<T> Page<T> {
        /// Whether this page, of `per_page` asked for, ends the list once
        /// `so_far` items (this page's included) have been read: it is
        /// empty, names no next page (or, without links, is not full), or
        /// the total is reached.
        pub fn is_last(&self, per_page: usize, so_far: usize) -> bool {
            let count = self.results.len();
            let has_next = match &self.links {
                Some(links) => links.iter().any(|l| l.rel.as_deref() == Some("next")),
                None => count == per_page,
            };
            let below_total = self.total_count.is_none_or(|total| so_far < total as usize);
            count == 0 || !has_next || !below_total
        }
    }

    #[derive(Deserialize)]
    pub struct Link {
        #[serde(default)]
        pub rel: Option<String>,
    }

    impl From<ServerlessInstance> for super::ServerlessInstance {
        fn from(w: ServerlessInstance) -> Self {
            super::ServerlessInstance {
                name: w.name,
                region_name: w.provider_settings.region_name,
                state_name: w.state_name,
                private_endpoint_srv: w
                    .connection_strings
                    .private_endpoint
                    .into_iter()
                    .filter_map(|p| p.srv_connection_string)
                    .collect(),
            }
        }
    }

    impl From<Cluster> for super::Cluster {
        fn from(w: Cluster) -> Self {
            super::Cluster {
                name: w.name,
                state_name: w.state_name,
                private_endpoint_connection_strings: w
                    .connection_strings
                    .private_endpoint
                    .into_iter()
                    .map(|p| super::PrivateConnectionString {
                        srv_connection_string: p.srv_connection_string,
                        connection_string: p.connection_string,
                        endpoint_ids: p
                            .endpoints
                            .into_iter()
                            .filter_map(|e| e.endpoint_id)
                            .collect(),
                    })
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serverless_endpoint_with_nulls_and_unknown_fields() {
        let e: ServerlessEndpoint = serde_json::from_str(
            r#"{"_id":"5f7cac1adf5d6c6306f4b283","cloudProviderEndpointId":null,"comment":"example comment","endpointServiceName":null,"errorMessage":null,"status":"RESERVATION_REQUESTED","providerName":"AWS","somethingNew":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(e.id, "5f7cac1adf5d6c6306f4b283");
        assert_eq!(e.endpoint_service_name, None);
        assert_eq!(e.comment.as_deref(), Some("example comment"));
        assert_eq!(e.status, "RESERVATION_REQUESTED");
        let e: ServerlessEndpoint = serde_json::from_str(r#"{"_id":"a","status":null}"#).unwrap();
        assert_eq!(e.status, "");
        let e: ServerlessEndpoint =
            serde_json::from_str(r#"{"_id":"a","status":"SOME_FUTURE_STATE"}"#).unwrap();
        assert_eq!(e.status, "SOME_FUTURE_STATE");
    }

    #[test]
    fn endpoint_service_real_body() {
        let s: EndpointService = serde_json::from_str(
            r#"{"cloudProvider":"AWS","endpointServiceName":null,"errorMessage":null,"id":"6a793f68c0eb9e7a17715835","interfaceEndpoints":[],"regionName":"EU_WEST_1","status":"INITIATING","supportedRemoteRegions":null}"#,
        )
        .unwrap();
        assert_eq!(s.region_name, "EU_WEST_1");
        assert!(s.interface_endpoints.is_empty());
        let s: EndpointService =
            serde_json::from_str(r#"{"id":"x","interfaceEndpoints":null,"regionName":null}"#)
                .unwrap();
        assert!(s.interface_endpoints.is_empty());
        assert_eq!(s.status, "");
    }

    #[test]
    fn interface_endpoint_legacy_body() {
        let i: InterfaceEndpoint = serde_json::from_str(
            r#"{"connectionStatus":"PENDING","deleteRequested":false,"errorMessage":null,"interfaceEndpointId":"vpce-0123456789abcdef0","cloudProvider":"AWS"}"#,
        )
        .unwrap();
        assert_eq!(i.connection_status, "PENDING");
        assert!(!i.delete_requested);
    }

    #[test]
    fn serverless_instance_flattening() {
        let s: ServerlessInstance = serde_json::from_str::<wire::ServerlessInstance>(
            r#"{"name":"s1","stateName":"IDLE","providerSettings":{"backingProviderName":"AWS","regionName":"US_EAST_1","nextBackupDate":"x"},"connectionStrings":{"standardSrv":"mongodb+srv://s1.x","privateEndpoint":[{"srvConnectionString":"mongodb+srv://s1-pe-0.x","type":"MONGOS","endpoints":[{"endpointId":"vpce-0123","providerName":"AWS","region":"US_EAST_1"}]}]}}"#,
        )
        .unwrap()
        .into();
        assert_eq!(s.region_name, "US_EAST_1");
        assert_eq!(s.private_endpoint_srv, vec!["mongodb+srv://s1-pe-0.x"]);
        let s: ServerlessInstance = serde_json::from_str::<wire::ServerlessInstance>(
            r#"{"name":"s2","providerSettings":null,"connectionStrings":{}}"#,
        )
        .unwrap()
        .into();
        assert!(s.private_endpoint_srv.is_empty());
        assert_eq!(s.region_name, "");
    }

    #[test]
    fn cluster_connection_strings() {
        let c: Cluster = serde_json::from_str::<wire::Cluster>(
            r#"{"name":"c1","connectionStrings":{"standardSrv":"x","privateEndpoint":[{"connectionString":"mongodb://pl-0","srvConnectionString":"mongodb+srv://c1-pl-0","type":"MONGOD","endpoints":[{"endpointId":"vpce-1"},{"endpointId":null}]}]}}"#,
        )
        .unwrap()
        .into();
        assert_eq!(c.private_endpoint_connection_strings.len(), 1);
        assert_eq!(
            c.private_endpoint_connection_strings[0].endpoint_ids,
            vec!["vpce-1"]
        );
        let c: Cluster =
            serde_json::from_str::<wire::Cluster>(r#"{"name":"c2","connectionStrings":null}"#)
                .unwrap()
                .into();
        assert!(c.private_endpoint_connection_strings.is_empty());
    }
}
