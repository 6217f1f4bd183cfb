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

// ----- AZURE -----

fn azure_services_path() -> String {
    format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/AZURE/endpointService")
}

fn is_pls_name(name: &str) -> bool {
    name.strip_prefix("pls_").is_some_and(|h| {
        h.len() == 24
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

async fn wait_azure_link(client: &Client, path: &str, status: &str) -> Value {
    poll(&format!("{path} to become {status}"), WAIT, || async {
        let r = client.get(path).await;
        r.expect(200);
        let body = r.json();
        let current = body["status"].as_str().unwrap_or_default().to_string();
        assert!(
            ["INITIATING", status].contains(&current.as_str()),
            "unexpected status {current} while waiting for {status}: {body}"
        );
        (current == status).then_some(body)
    })
    .await
}

/// Creates the AZURE service in US_EAST_2 and checks its recorded shape while initiating.
async fn create_azure_service(client: &Client) -> String {
    let r = client
        .post(
            &format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/endpointService"),
            json!({"providerName": "AZURE", "region": "US_EAST_2"}),
        )
        .await;
    r.expect(201);
    let created = r.json();
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cloudProvider",
            "errorMessage",
            "id",
            "privateEndpoints",
            "privateLinkServiceName",
            "privateLinkServiceResourceId",
            "regionName",
            "status"
        ],
        "the keys real Atlas answers with: {created}"
    );
    assert_eq!(created["status"], "INITIATING");
    assert_eq!(created["privateLinkServiceName"], Value::Null);
    assert_eq!(created["privateLinkServiceResourceId"], Value::Null);
    assert_eq!(created["regionName"], "US_EAST_2");
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn azure_service_and_private_endpoints_checked_against_azure_sandbox() {
    let azure = support::azure::AzureSandbox::start().await;
    let sandbox = Sandbox::start(&[
        "--azure-endpoint",
        &azure.base,
        "--reserve-delay",
        "300ms",
        "--connect-delay",
        "200ms",
        "--delete-delay",
        "200ms",
    ]);
    let client = sandbox.digest();
    let id = create_azure_service(&client).await;
    let again = client
        .post(
            &format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/endpointService"),
            json!({"providerName": "AZURE", "region": "eastus2"}),
        )
        .await;
    let err = again.expect_error(409, "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION");
    assert_eq!(err["parameters"], json!(["AZURE", "US_EAST_2"]));
    // An AZURE service is not an AWS one.
    client
        .get(&format!("{}/{id}", services_path()))
        .await
        .expect(404);
    assert_eq!(client.get(&services_path()).await.json(), json!([]));

    let path = format!("{}/{id}", azure_services_path());
    let available = poll("the AZURE service to become AVAILABLE", WAIT, || async {
        let r = client.get(&path).await;
        r.expect(200);
        let body = r.json();
        (body["status"] == "AVAILABLE").then_some(body)
    })
    .await;
    let pls_name = available["privateLinkServiceName"].as_str().unwrap();
    assert!(is_pls_name(pls_name), "{available}");
    let pls = available["privateLinkServiceResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pls.starts_with("/subscriptions/"), "{pls}");
    assert!(
        pls.ends_with(&format!(
            "/providers/Microsoft.Network/privateLinkServices/{pls_name}"
        )),
        "{pls}"
    );
    let listed = client.get(&azure_services_path()).await;
    listed.expect(200);
    assert_eq!(listed.json()[0]["id"], id.as_str());
    // The service owner's Private Link Service now exists in Azure.
    poll(
        "the Private Link Service to be registered",
        WAIT,
        || async { azure.services().await.contains(&pls).then_some(()) },
    )
    .await;

    azure_links(&client, &azure, &id, &pls).await;
    poll("the service to go with its last endpoint", WAIT, || async {
        (client.get(&path).await.status == 404).then_some(())
    })
    .await;
    poll("the Private Link Service to be removed", WAIT, || async {
        (!azure.services().await.contains(&pls)).then_some(())
    })
    .await;
}

/// A good link is AVAILABLE and approved in Azure; a wrong IP and a missing endpoint are
/// FAILED with Atlas's errorMessage (the former rejected in Azure); all are deleted.
async fn azure_links(client: &Client, azure: &support::azure::AzureSandbox, id: &str, pls: &str) {
    let subnet = azure.network("app").await;
    let (good, good_ip) = azure.private_endpoint("app", "pe-good", &subnet, pls).await;
    let (wrong, _) = azure
        .private_endpoint("app", "pe-wrong-ip", &subnet, pls)
        .await;
    let missing = good.replace("pe-good", "pe-missing");
    let endpoints = format!("{}/{id}/endpoint", azure_services_path());
    let post = |pe: String, ip: String| {
        let endpoints = endpoints.clone();
        async move {
            let r = client
                .post(
                    &endpoints,
                    json!({"id": pe, "privateEndpointIPAddress": ip}),
                )
                .await;
            r.expect(200);
            let body = r.json();
            assert_eq!(body["status"], "INITIATING", "{body}");
            assert_eq!(body["privateEndpointResourceId"], pe.as_str());
            body
        }
    };
    post(good.clone(), good_ip.clone()).await;
    post(wrong.clone(), "10.0.1.200".into()).await;
    post(missing.clone(), "10.0.1.201".into()).await;
    let one = |pe: &str| format!("{endpoints}/{}", support::azure::encode(pe));

    let ok = wait_azure_link(client, &one(&good), "AVAILABLE").await;
    assert_eq!(ok["privateEndpointIPAddress"], good_ip.as_str());
    assert_eq!(ok["errorMessage"], Value::Null);
    assert_eq!(azure.connection_status(&good).await, "Approved");

    let failed = wait_azure_link(client, &one(&wrong), "FAILED").await;
    let message = failed["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("10.0.1.200"), "{failed}");
    assert_eq!(azure.connection_status(&wrong).await, "Rejected");
    let failed = wait_azure_link(client, &one(&missing), "FAILED").await;
    assert!(
        failed["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("not found"),
        "{failed}"
    );

    let r = client.get(&format!("{}/{id}", azure_services_path())).await;
    r.expect(200);
    assert_eq!(r.json()["privateEndpoints"].as_array().unwrap().len(), 3);
    // Removing a link disconnects its private endpoint in Azure; the others stay as they were.
    client.delete(&one(&wrong)).await.expect(204);
    poll(
        "the removed link's connection to be Disconnected",
        WAIT,
        || async { (azure.connection_status(&wrong).await == "Disconnected").then_some(()) },
    )
    .await;
    assert_eq!(azure.connection_status(&good).await, "Approved");
    for pe in [&good, &missing] {
        client.delete(&one(pe)).await.expect(204);
    }
    let deleting = client.get(&one(&good)).await;
    deleting.expect(200);
    assert_eq!(deleting.json()["status"], "DELETING");
    assert_eq!(deleting.json()["deleteRequested"], true);
    poll("the links to be gone", WAIT, || async {
        (client.get(&one(&good)).await.status == 404).then_some(())
    })
    .await;
}

#[tokio::test]
async fn azure_links_without_azure_sandbox_and_bad_bodies() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    let id = create_azure_service(&client).await;
    let endpoints = format!("{}/{id}/endpoint", azure_services_path());
    let pe = "/subscriptions/0b5b8a9c-1d2e-4f30-8a4b-5c6d7e8f9a0b/resourceGroups/app/providers/Microsoft.Network/privateEndpoints/pe-1";
    let body = json!({"id": pe, "privateEndpointIPAddress": "10.0.1.4"});
    let r = poll("the service to accept endpoints", WAIT, || async {
        let r = client.post(&endpoints, body.clone()).await;
        (r.status != 409).then_some(r)
    })
    .await;
    r.expect(200);
    let one = format!("{endpoints}/{}", support::azure::encode(pe));
    // Unchecked: AVAILABLE without asking Azure.
    wait_azure_link(&client, &one, "AVAILABLE").await;
    client
        .post(&endpoints, body)
        .await
        .expect_error(409, "PRIVATELINK_INTERFACE_ENDPOINT_ALREADY_EXISTS");
    let no_ip = client
        .post(&endpoints, json!({"id": pe.replace("pe-1", "pe-2")}))
        .await;
    no_ip.expect_error(400, "MISSING_ATTRIBUTE");
    let bad_id = client
        .post(
            &endpoints,
            json!({"id": "vpce-0123456789abcdef0", "privateEndpointIPAddress": "10.0.1.4"}),
        )
        .await;
    bad_id.expect_error(400, "VALIDATION_ERROR");
    let bad_ip = client
        .post(
            &endpoints,
            json!({"id": pe.replace("pe-1", "pe-3"), "privateEndpointIPAddress": "10.0.1"}),
        )
        .await;
    bad_ip.expect_error(400, "VALIDATION_ERROR");
    // Forced states work for Azure links as for AWS ones.
    let forced = sandbox
        .control(
            "POST",
            &format!(
                "/__sandbox/interface-endpoints/{PROJECT}/{id}/{}/state",
                support::azure::encode(pe)
            ),
            Some(json!({"connectionStatus": "FAILED", "errorMessage": "forced"})),
        )
        .await;
    assert_eq!(forced.status, 200, "{}", forced.text);
    let r = client.get(&one).await;
    r.expect(200);
    assert_eq!(r.json()["status"], "FAILED");
    assert_eq!(r.json()["errorMessage"], "forced");
    let forced = sandbox
        .control(
            "POST",
            &format!("/__sandbox/endpoint-services/{PROJECT}/{id}/state"),
            Some(json!({"status": "FAILED", "errorMessage": "capacity"})),
        )
        .await;
    assert_eq!(forced.status, 200, "{}", forced.text);
    let r = client.get(&format!("{}/{id}", azure_services_path())).await;
    r.expect(200);
    let service = r.json();
    assert_eq!(service["status"], "FAILED");
    assert_eq!(service["errorMessage"], "capacity");
    assert_eq!(service["privateLinkServiceName"], Value::Null);
    assert_eq!(service["privateLinkServiceResourceId"], Value::Null);
}
