//! JSON bodies exactly as Atlas serialises them: field names and enums of the OpenAPI subset,
//! explicit `null` for unset read-only fields where Atlas sends them, nothing the schemas do
//! not declare.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::model::{
    Cloud, Cluster, EndpointService, InterfaceEndpoint, LinkStatus, Project, ServerlessInstance,
    Store, TenantEndpoint, TenantStatus,
};
use crate::regions;

const MONGODB_VERSION: &str = "8.0.4";

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `ServerlessAWSTenantEndpoint`.
pub fn tenant_endpoint(e: &TenantEndpoint) -> Value {
    let mut body = Map::new();
    body.insert("_id".into(), json!(e.id));
    body.insert(
        "cloudProviderEndpointId".into(),
        json!(e.cloud_provider_endpoint_id),
    );
    if let Some(comment) = &e.comment {
        body.insert("comment".into(), json!(comment));
    }
    body.insert("endpointServiceName".into(), json!(e.endpoint_service_name));
    body.insert("errorMessage".into(), json!(e.error_message));
    if e.cloud == Cloud::Azure {
        body.insert("privateEndpointIpAddress".into(), json!(e.ip));
        let shown = e.endpoint_service_name.as_ref().and(e.pls_id.as_ref());
        body.insert("privateLinkServiceResourceId".into(), json!(shown));
    }
    body.insert("providerName".into(), json!(e.cloud.as_str()));
    body.insert("status".into(), json!(e.status.as_str()));
    Value::Object(body)
}

/// `ServerlessInstanceDescription`.
pub fn serverless_instance(project: &Project, s: &ServerlessInstance, base: &str) -> Value {
    let host = format!(
        "{}.{}.mongodb.net",
        s.name.to_ascii_lowercase(),
        s.host_label
    );
    let mut strings = Map::new();
    let private: Vec<Value> = project
        .tenant_endpoints
        .iter()
        .filter(|e| e.instance == s.name && e.status == TenantStatus::Available)
        .enumerate()
        .map(|(i, e)| {
            json!({
                "endpoints": [{
                    "endpointId": e.cloud_provider_endpoint_id,
                    "providerName": e.cloud.as_str(),
                    "region": s.region,
                }],
                "srvConnectionString": format!(
                    "mongodb+srv://{}-pe-{i}.{}.mongodb.net",
                    s.name.to_ascii_lowercase(),
                    s.host_label
                ),
                "type": "MONGOS",
            })
        })
        .collect();
    if !private.is_empty() {
        strings.insert("privateEndpoint".into(), Value::Array(private));
    }
    strings.insert("standardSrv".into(), json!(format!("mongodb+srv://{host}")));
    json!({
        "connectionStrings": strings,
        "createDate": rfc3339(s.created),
        "groupId": project.id,
        "id": s.id,
        "links": [{
            "href": format!("{base}/groups/{}/serverless/{}", project.id, s.name),
            "rel": "self",
        }],
        "mongoDBVersion": MONGODB_VERSION,
        "name": s.name,
        "providerSettings": {
            "backingProviderName": s.cloud.as_str(),
            "effectiveProviderName": "SERVERLESS",
            "providerName": "SERVERLESS",
            "regionName": s.region,
        },
        "serverlessBackupOptions": { "serverlessContinuousBackupEnabled": false },
        "stateName": "IDLE",
        "tags": [],
        "terminationProtectionEnabled": false,
    })
}

/// The private-link connection strings of cluster `c`: one per AVAILABLE interface endpoint of
/// the project's endpoint service in the cluster's region (none without one), once the
/// clusters of that region are IDLE again after it became AVAILABLE.
fn private_link_strings(
    project: &Project,
    c: &Cluster,
    shard_hosts: &dyn Fn(&str) -> String,
) -> Map<String, Value> {
    let available: Vec<&InterfaceEndpoint> = project
        .services
        .iter()
        .filter(|s| s.region == c.region)
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.status == LinkStatus::Available && e.published)
        .collect();
    let mut strings = Map::new();
    let name = c.name.to_ascii_lowercase();
    if !available.is_empty() {
        let mut aws_link = Map::new();
        let mut aws_link_srv = Map::new();
        let mut private = Vec::new();
        for (i, e) in available.iter().enumerate() {
            let plain = format!(
                "mongodb://{}/?ssl=true&authSource=admin",
                shard_hosts(&format!("-pl-{i}"))
            );
            let srv = format!("mongodb+srv://{name}-pl-{i}.{}.mongodb.net", c.host_label);
            if e.cloud == Cloud::Aws {
                aws_link.insert(e.id.clone(), json!(plain));
                aws_link_srv.insert(e.id.clone(), json!(srv));
            }
            private.push(json!({
                "connectionString": plain,
                "endpoints": [{
                    "endpointId": e.id,
                    "providerName": e.cloud.as_str(),
                    "region": c.region,
                }],
                "srvConnectionString": srv,
                "type": "MONGOD",
            }));
        }
        strings.insert("awsPrivateLink".into(), Value::Object(aws_link));
        strings.insert("awsPrivateLinkSrv".into(), Value::Object(aws_link_srv));
        strings.insert("privateEndpoint".into(), Value::Array(private));
    }
    strings
}

/// The `connectionStrings` of cluster `c`, the same in both versions of the resource.
fn cluster_strings(project: &Project, c: &Cluster) -> Map<String, Value> {
    let name = c.name.to_ascii_lowercase();
    let host = format!("{name}.{}.mongodb.net", c.host_label);
    let shard_hosts = |suffix: &str| {
        (0..3)
            .map(|i| {
                format!(
                    "{name}-shard-00-0{i}{suffix}.{}.mongodb.net:27017",
                    c.host_label
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut strings = private_link_strings(project, c, &shard_hosts);
    strings.insert(
        "standard".into(),
        json!(format!(
            "mongodb://{}/?ssl=true&authSource=admin",
            shard_hosts("")
        )),
    );
    strings.insert("standardSrv".into(), json!(format!("mongodb+srv://{host}")));
    strings
}

/// `LegacyAtlasCluster` (the 2023-01-01 cluster resource), reduced to the fields a private
/// endpoint client needs. `connectionStrings.privateEndpoint[]` lists the published AVAILABLE
/// interface endpoints of the project's endpoint service in the cluster's region.
pub fn cluster(project: &Project, c: &Cluster, base: &str) -> Value {
    let host = format!(
        "{}.{}.mongodb.net",
        c.name.to_ascii_lowercase(),
        c.host_label
    );
    json!({
        "clusterType": "REPLICASET",
        "connectionStrings": cluster_strings(project, c),
        "createDate": rfc3339(c.created),
        "groupId": project.id,
        "id": c.id,
        "links": [{
            "href": format!("{base}/groups/{}/clusters/{}", project.id, c.name),
            "rel": "self",
        }],
        "mongoDBMajorVersion": "8.0",
        "mongoDBVersion": MONGODB_VERSION,
        "name": c.name,
        "paused": false,
        "replicationSpecs": [{
            "id": c.id,
            "numShards": 1,
            "regionsConfig": {
                c.region.clone(): {
                    "analyticsNodes": 0,
                    "electableNodes": 3,
                    "priority": 7,
                    "readOnlyNodes": 0,
                }
            },
            "zoneName": "Zone 1",
        }],
        "srvAddress": format!("mongodb+srv://{host}"),
        "stateName": c.state.as_str(),
    })
}

/// `ClusterDescription20240805` (the 2024-08-05 cluster resource), reduced like [`cluster`].
pub fn cluster_20240805(project: &Project, c: &Cluster, base: &str) -> Value {
    json!({
        "clusterType": "REPLICASET",
        "connectionStrings": cluster_strings(project, c),
        "createDate": rfc3339(c.created),
        "groupId": project.id,
        "id": c.id,
        "links": [{
            "href": format!("{base}/groups/{}/clusters/{}", project.id, c.name),
            "rel": "self",
        }],
        "mongoDBMajorVersion": "8.0",
        "mongoDBVersion": MONGODB_VERSION,
        "name": c.name,
        "paused": false,
        "replicationSpecs": [{
            "id": c.id,
            "regionConfigs": [{
                "electableSpecs": {"instanceSize": "M10", "nodeCount": 3},
                "priority": 7,
                "providerName": "AWS",
                "regionName": c.region,
            }],
            "zoneId": c.id,
            "zoneName": "Zone 1",
        }],
        "stateName": c.state.as_str(),
    })
}

/// `AWSPrivateLinkConnection`. `interfaceEndpoints` holds the `vpce-…` ids, as real Atlas
/// returns them (the spec's 24-hex item pattern does not match what the service sends).
pub fn endpoint_service(s: &EndpointService) -> Value {
    let endpoints: Vec<&str> = s.endpoints.iter().map(|e| e.id.as_str()).collect();
    if s.cloud == Cloud::Azure {
        let shown = s.endpoint_service_name().is_some();
        return json!({
            "cloudProvider": "AZURE",
            "errorMessage": s.error_message,
            "id": s.id,
            "privateEndpoints": endpoints,
            "privateLinkServiceName": s.endpoint_service_name(),
            "privateLinkServiceResourceId": if shown { s.pls_id.clone() } else { None },
            "regionName": s.region,
            "status": s.status.as_str(),
        });
    }
    json!({
        "cloudProvider": "AWS",
        "endpointServiceName": s.endpoint_service_name(),
        "errorMessage": s.error_message,
        "id": s.id,
        "interfaceEndpoints": endpoints,
        "regionName": s.region,
        "status": s.status.as_str(),
        "supportedRemoteRegions": null,
    })
}

/// `AWSInterfaceEndpoint` or `AzurePrivateEndpoint` (whose `status` has no PENDING or
/// REJECTED: a link waiting is INITIATING, a refused one FAILED).
pub fn interface_endpoint(e: &InterfaceEndpoint) -> Value {
    if e.cloud == Cloud::Azure {
        let status = match e.status {
            s if s.is_waiting() => "INITIATING",
            LinkStatus::Rejected => "FAILED",
            s => s.as_str(),
        };
        let name = azure_connection_name(&e.id);
        return json!({
            "cloudProvider": "AZURE",
            "deleteRequested": e.delete_requested,
            "errorMessage": e.error_message,
            "privateEndpointConnectionName": name,
            "privateEndpointIPAddress": e.ip,
            "privateEndpointResourceId": e.id,
            "status": status,
        });
    }
    json!({
        "cloudProvider": "AWS",
        "connectionStatus": e.status.as_str(),
        "deleteRequested": e.delete_requested,
        "errorMessage": e.error_message,
        "interfaceEndpointId": e.id,
    })
}

/// `<subscription>%2F<resource group>%2F<name>` of a private endpoint id, the shape the
/// spec's `privateEndpointConnectionName` pattern describes.
fn azure_connection_name(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [_, _, sub, _, group, _, _, _, name] => format!("{sub}%2F{group}%2F{name}"),
        _ => id.to_string(),
    }
}

/// Everything, for `GET /__sandbox/state`.
pub fn dump(store: &Store, base: &str) -> Value {
    let projects: Vec<Value> = store
        .projects()
        .map(|p| {
            let endpoints: Vec<Value> = p
                .tenant_endpoints
                .iter()
                .map(|e| {
                    let mut v = tenant_endpoint(e);
                    v["instanceName"] = json!(e.instance);
                    v
                })
                .collect();
            let services: Vec<Value> = p
                .services
                .iter()
                .map(|s| {
                    let mut v = endpoint_service(s);
                    v["endpoints"] =
                        Value::Array(s.endpoints.iter().map(interface_endpoint).collect());
                    match s.cloud {
                        Cloud::Aws => v["awsRegion"] = json!(regions::to_aws(&s.region)),
                        Cloud::Azure => v["azureLocation"] = json!(regions::to_azure(&s.region)),
                    }
                    v
                })
                .collect();
            json!({
                "id": p.id,
                "serverlessInstances": p.serverless.iter().map(|s| serverless_instance(p, s, base)).collect::<Vec<_>>(),
                "clusters": p.clusters.iter().map(|c| cluster(p, c, base)).collect::<Vec<_>>(),
                "serverlessEndpoints": endpoints,
                "endpointServices": services,
            })
        })
        .collect();
    json!({
        "projects": projects,
        "delays": {
            "reserve_ms": store.delays.reserve.as_millis() as u64,
            "connect_ms": store.delays.connect.as_millis() as u64,
            "delete_ms": store.delays.delete.as_millis() as u64,
        },
        "link_failures": store.link_failures,
        "realism": {
            "cluster_update_ms": store.realism.cluster_update.as_millis() as u64,
            "max_concurrent_links": store.realism.max_concurrent_links,
        },
        "ec2_checks": store.ec2_checks,
        "azure_checks": store.azure_checks,
        "azure_subscription": store.azure_subscription,
    })
}
