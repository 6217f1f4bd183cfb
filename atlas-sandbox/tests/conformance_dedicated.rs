//! Dedicated-cluster private endpoint services, AWS interface endpoints and
//! the cluster's private connection strings, against a running sandbox with
//! moto as the EC2 backend. Every response body is validated against the
//! OpenAPI spec.

mod support;

use serde_json::{Value, json};
use support::*;

fn services_path() -> String {
    format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/AWS/endpointService")
}

async fn create_service(client: &Client, region: &str) -> Value {
    let r = client
        .post(
            &format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/endpointService"),
            json!({"providerName": "AWS", "region": region}),
        )
        .await;
    r.expect(201);
    r.json()
}

async fn wait_service(client: &Client, id: &str, status: &str) -> Value {
    let path = format!("{}/{id}", services_path());
    poll(
        &format!("service {id} to become {status}"),
        WAIT,
        || async {
            let r = client.get(&path).await;
            r.expect(200);
            let body = r.json();
            (body["status"] == status).then_some(body)
        },
    )
    .await
}

async fn wait_link(client: &Client, path: &str, status: &str) -> Value {
    poll(&format!("{path} to become {status}"), WAIT, || async {
        let r = client.get(path).await;
        r.expect(200);
        let body = r.json();
        let current = body["connectionStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            ["PENDING_ACCEPTANCE", "PENDING", status].contains(&current.as_str()),
            "unexpected connectionStatus {current} while waiting for {status}: {body}"
        );
        (current == status).then_some(body)
    })
    .await
}

#[tokio::test]
async fn endpoint_service_and_interface_endpoint_lifecycle() {
    let moto = Moto::start().await;
    let sandbox = Sandbox::start(&[
        "--ec2-endpoint",
        &moto.endpoint,
        "--reserve-delay",
        "1500ms",
        "--connect-delay",
        "200ms",
        "--delete-delay",
        "200ms",
    ]);
    let client = sandbox.digest();

    let r = client.get(&services_path()).await;
    r.expect(200);
    assert_eq!(r.json(), json!([]));

    // Create: INITIATING, no service name yet.
    let created = create_service(&client, "us-east-1").await;
    assert_eq!(created["cloudProvider"], "AWS");
    assert_eq!(created["status"], "INITIATING");
    assert_eq!(created["regionName"], "US_EAST_1");
    assert_eq!(created["endpointServiceName"], Value::Null);
    assert_eq!(created["interfaceEndpoints"], json!([]));
    let service_id = created["id"].as_str().unwrap().to_string();

    // A second service for the same region conflicts.
    let r = client
        .post(
            &format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/endpointService"),
            json!({"providerName": "AWS", "region": "us-east-1"}),
        )
        .await;
    r.expect_error(409, "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION");

    // Interface endpoints cannot be added before the service is ready
    // (the reserve delay of this sandbox keeps it INITIATING for 1.5 s).
    client
        .post(
            &format!("{}/{service_id}/endpoint", services_path()),
            json!({"id": "vpce-0123456789abcdef0"}),
        )
        .await
        .expect_error(409, "PRIVATELINK_CANNOT_ACCEPT_ENDPOINTS");

    let r = client.get(&services_path()).await;
    r.expect(200);
    let ids: Vec<Value> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(service_id)]);

    let available = wait_service(&client, &service_id, "AVAILABLE").await;
    let service_name = available["endpointServiceName"]
        .as_str()
        .expect("service name")
        .to_string();
    assert!(
        service_name.starts_with("com.amazonaws.vpce.us-east-1.vpce-svc-"),
        "{service_name}"
    );

    // An interface endpoint that exists in EC2 on the right service.
    let vpce = moto.interface_endpoint_for(&service_name).await;
    let endpoint_path = format!("{}/{service_id}/endpoint/{vpce}", services_path());
    let r = client
        .post(
            &format!("{}/{service_id}/endpoint", services_path()),
            json!({"id": vpce}),
        )
        .await;
    r.expect(200);
    let link = r.json();
    assert_eq!(link["interfaceEndpointId"], vpce.as_str());
    assert_eq!(link["cloudProvider"], "AWS");
    assert_eq!(link["deleteRequested"], false);
    assert!(
        link["connectionStatus"] == "PENDING_ACCEPTANCE" || link["connectionStatus"] == "PENDING",
        "{link}"
    );
    // The same endpoint cannot be added twice.
    client
        .post(
            &format!("{}/{service_id}/endpoint", services_path()),
            json!({"id": vpce}),
        )
        .await
        .expect_error(409, "PRIVATELINK_INTERFACE_ENDPOINT_ALREADY_EXISTS");

    let linked = wait_link(&client, &endpoint_path, "AVAILABLE").await;
    assert_eq!(linked["errorMessage"], Value::Null);

    let r = client
        .get(&format!("{}/{service_id}", services_path()))
        .await;
    r.expect(200);
    assert_eq!(r.json()["interfaceEndpoints"], json!([vpce]));

    // The cluster in that region advertises the private connection strings.
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/clusters/{CLUSTER}"
        ))
        .await;
    r.expect(200);
    let cluster = r.json();
    assert_eq!(cluster["name"], CLUSTER);
    let pe = cluster["connectionStrings"]["privateEndpoint"]
        .as_array()
        .unwrap_or_else(|| panic!("no privateEndpoint strings: {cluster}"));
    assert_eq!(pe.len(), 1, "{cluster}");
    assert_eq!(pe[0]["endpoints"][0]["endpointId"], vpce.as_str());
    assert_eq!(pe[0]["endpoints"][0]["providerName"], "AWS");
    assert!(
        pe[0]["srvConnectionString"]
            .as_str()
            .unwrap()
            .starts_with("mongodb+srv://")
    );
    assert!(
        pe[0]["connectionString"]
            .as_str()
            .unwrap()
            .starts_with("mongodb://")
    );

    // A service with endpoints cannot be deleted.
    client
        .delete(&format!("{}/{service_id}", services_path()))
        .await
        .expect_error(409, "CANNOT_DELETE_PRIVATELINK_WITH_ENDPOINTS");

    // Delete the interface endpoint: 204, DELETING, gone.
    client.delete(&endpoint_path).await.expect(204);
    let r = client.get(&endpoint_path).await;
    if r.status == 200 {
        r.expect(200);
        let body = r.json();
        assert_eq!(body["connectionStatus"], "DELETING", "{body}");
        assert_eq!(body["deleteRequested"], true, "{body}");
    }
    poll("interface endpoint to disappear", WAIT, || async {
        let r = client.get(&endpoint_path).await;
        if r.status == 404 {
            r.expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");
            Some(())
        } else {
            r.expect(200);
            None
        }
    })
    .await;
    // The cluster no longer lists it.
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/clusters/{CLUSTER}"
        ))
        .await;
    r.expect(200);
    let strings = &r.json()["connectionStrings"];
    assert!(
        strings
            .get("privateEndpoint")
            .is_none_or(|v| v.as_array().is_some_and(Vec::is_empty)),
        "{strings}"
    );
    // "When the last private endpoint is removed from a given private
    // endpoint service, that private endpoint service is also removed."
    poll(
        "service to be removed with its last endpoint",
        WAIT,
        || async {
            let r = client
                .get(&format!("{}/{service_id}", services_path()))
                .await;
            if r.status == 404 {
                r.expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");
                Some(())
            } else {
                r.expect(200);
                None
            }
        },
    )
    .await;
}

#[tokio::test]
async fn endpoint_service_delete_without_endpoints() {
    let sandbox = Sandbox::start(&["--delete-delay", "200ms"]);
    let client = sandbox.digest();
    let created = create_service(&client, "eu-west-1").await;
    assert_eq!(created["regionName"], "EU_WEST_1");
    let id = created["id"].as_str().unwrap().to_string();
    wait_service(&client, &id, "AVAILABLE").await;

    let r = client.delete(&format!("{}/{id}", services_path())).await;
    r.expect(202);
    assert_eq!(r.json(), json!({}));
    let r = client.get(&format!("{}/{id}", services_path())).await;
    if r.status == 200 {
        r.expect(200);
        assert_eq!(r.json()["status"], "DELETING");
    }
    poll("service to be deleted", WAIT, || async {
        let r = client.get(&format!("{}/{id}", services_path())).await;
        if r.status == 404 {
            r.expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");
            Some(())
        } else {
            r.expect(200);
            None
        }
    })
    .await;
    client
        .delete(&format!("{}/{id}", services_path()))
        .await
        .expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");
    let r = client.get(&services_path()).await;
    r.expect(200);
    assert_eq!(r.json(), json!([]));
    // After deletion the region is free again.
    create_service(&client, "eu-west-1").await;
}

#[tokio::test]
async fn interface_endpoint_on_another_service_is_rejected() {
    let moto = Moto::start().await;
    let sandbox = Sandbox::start(&["--ec2-endpoint", &moto.endpoint]);
    let client = sandbox.digest();
    let id = create_service(&client, "us-east-1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let service = wait_service(&client, &id, "AVAILABLE").await;
    let name = service["endpointServiceName"].as_str().unwrap();
    let wrong_name = "com.amazonaws.vpce.us-east-1.vpce-svc-0fffffffffffffff0";
    assert_ne!(name, wrong_name);
    let vpce = moto.interface_endpoint_for(wrong_name).await;
    client
        .post(
            &format!("{}/{id}/endpoint", services_path()),
            json!({"id": vpce}),
        )
        .await
        .expect(200);
    let rejected = wait_link(
        &client,
        &format!("{}/{id}/endpoint/{vpce}", services_path()),
        "REJECTED",
    )
    .await;
    assert!(
        rejected["errorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "REJECTED without errorMessage: {rejected}"
    );

    // A vpce that does not exist in EC2 at all is rejected as well.
    let ghost = "vpce-0aaaaaaaaaaaaaaa0";
    client
        .post(
            &format!("{}/{id}/endpoint", services_path()),
            json!({"id": ghost}),
        )
        .await
        .expect(200);
    let rejected = wait_link(
        &client,
        &format!("{}/{id}/endpoint/{ghost}", services_path()),
        "REJECTED",
    )
    .await;
    assert!(
        rejected["errorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    // The cluster does not advertise rejected endpoints.
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/clusters/{CLUSTER}"
        ))
        .await;
    r.expect(200);
    let strings = &r.json()["connectionStrings"];
    assert!(
        strings
            .get("privateEndpoint")
            .is_none_or(|v| v.as_array().is_some_and(Vec::is_empty)),
        "{strings}"
    );
}

#[tokio::test]
async fn dedicated_error_cases() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    let missing = "0123456789abcdef01234567";
    client
        .get(&format!("{}/{missing}", services_path()))
        .await
        .expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");
    client
        .delete(&format!("{}/{missing}", services_path()))
        .await
        .expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");
    client
        .post(
            &format!("{}/{missing}/endpoint", services_path()),
            json!({"id": "vpce-0123456789abcdef0"}),
        )
        .await
        .expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");

    // Request validation.
    let create = format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/endpointService");
    let r = client.post(&create, json!({"region": "us-east-1"})).await;
    r.expect(400);
    let r = client
        .post(
            &create,
            json!({"providerName": "AWS", "region": "atlantis"}),
        )
        .await;
    r.expect(400);
    let id = create_service(&client, "us-east-1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_service(&client, &id, "AVAILABLE").await;
    let r = client
        .post(
            &format!("{}/{id}/endpoint", services_path()),
            json!({"id": "not-a-vpce"}),
        )
        .await;
    r.expect(400);
    client
        .get(&format!(
            "{}/{id}/endpoint/vpce-0123456789abcdef0",
            services_path()
        ))
        .await
        .expect_error(404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND");

    // Unknown project, unknown cluster.
    client
        .get(&format!(
            "/api/atlas/v2/groups/{OTHER_PROJECT}/privateEndpoint/AWS/endpointService"
        ))
        .await
        .expect_error(404, "GROUP_NOT_FOUND");
    client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/clusters/no-such-cluster"
        ))
        .await
        .expect_error(404, "CLUSTER_NOT_FOUND");

    // A cluster created through the control API, before any link.
    let r = sandbox
        .control(
            "POST",
            "/__sandbox/clusters",
            Some(json!({"project": PROJECT, "name": "analytics", "region": "EU_WEST_1"})),
        )
        .await;
    assert!(
        r.status < 300,
        "control create cluster: {} {}",
        r.status,
        r.text
    );
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/clusters/analytics"
        ))
        .await;
    r.expect(200);
    let cluster = r.json();
    assert_eq!(cluster["name"], "analytics");
    assert!(
        cluster["connectionStrings"]
            .get("privateEndpoint")
            .is_none(),
        "{cluster}"
    );
}
