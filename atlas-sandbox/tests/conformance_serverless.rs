//! Serverless private endpoints and serverless instances, driven over HTTP
//! against a running sandbox; every response body is validated against the
//! OpenAPI spec for its operation and status.

mod support;

use serde_json::{Value, json};
use support::*;

fn endpoint_service_name_ok(name: &str) -> bool {
    let Some(suffix) = name.strip_prefix("com.amazonaws.vpce.us-east-1.vpce-svc-") else {
        return false;
    };
    suffix.len() == 17
        && suffix
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn wait_status(client: &Client, path: &str, wanted: &str) -> Value {
    poll(&format!("{path} to become {wanted}"), WAIT, || async {
        let r = client.get(path).await;
        r.expect(200);
        let body = r.json();
        (body["status"] == wanted).then_some(body)
    })
    .await
}

#[tokio::test]
async fn serverless_endpoint_full_lifecycle() {
    let sandbox = Sandbox::start(&[
        "--reserve-delay",
        "300ms",
        "--connect-delay",
        "300ms",
        "--delete-delay",
        "300ms",
    ]);
    let client = sandbox.digest();
    let list_path = serverless_base(PROJECT, INSTANCE);

    let r = client.get(&list_path).await;
    r.expect(200);
    assert_eq!(r.json(), json!([]));
    assert_eq!(
        r.content_type(),
        "application/vnd.atlas.2023-01-01+json;charset=utf-8"
    );
    assert!(
        r.header("ratelimit-limit").is_some(),
        "RateLimit-Limit missing"
    );
    assert!(
        r.header("ratelimit-remaining").is_some(),
        "RateLimit-Remaining missing"
    );
    // The serverless private endpoint operations are deprecated (sunset
    // 2026-01-22): responses announce it.
    assert!(
        r.header("deprecation").is_some(),
        "Deprecation header missing"
    );
    let sunset = r.header("sunset").expect("Sunset header");
    assert!(sunset.contains("22 Jan 2026"), "Sunset {sunset:?}");

    // Create.
    let r = client
        .post(&list_path, json!({"comment": "example comment"}))
        .await;
    r.expect(201);
    let created = r.json();
    let id = created["_id"].as_str().expect("_id").to_string();
    assert_eq!(created["status"], "RESERVATION_REQUESTED");
    assert_eq!(created["comment"], "example comment");
    assert_eq!(created["endpointServiceName"], Value::Null);
    assert_eq!(created["cloudProviderEndpointId"], Value::Null);
    assert_eq!(created["errorMessage"], Value::Null);
    let one = format!("{list_path}/{id}");

    // Get and list.
    let r = client.get(&one).await;
    r.expect(200);
    assert_eq!(r.json()["_id"], id.as_str());
    let r = client.get(&list_path).await;
    r.expect(200);
    let ids: Vec<Value> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(id)]);

    // Reserved: a service name appears.
    let reserved = wait_status(&client, &one, "RESERVED").await;
    let service = reserved["endpointServiceName"]
        .as_str()
        .expect("endpointServiceName")
        .to_string();
    assert!(
        endpoint_service_name_ok(&service),
        "bad service name {service}"
    );

    // Connect without providerName is rejected.
    let vpce = "vpce-0123456789abcdef0";
    let r = client
        .patch(&one, json!({"cloudProviderEndpointId": vpce}))
        .await;
    r.expect(400);
    let err = r.json();
    assert_eq!(err["error"], 400);
    assert!(
        err["errorCode"] == "MISSING_ATTRIBUTE" || err["errorCode"] == "VALIDATION_ERROR",
        "{err}"
    );
    assert_eq!(
        r.header("x-error-code").as_deref(),
        err["errorCode"].as_str(),
        "X-Error-Code header"
    );
    // A malformed vpce id is rejected too.
    let r = client
        .patch(
            &one,
            json!({"providerName": "AWS", "cloudProviderEndpointId": "vpce-xyz"}),
        )
        .await;
    r.expect(400);

    // Connect.
    let r = client
        .patch(
            &one,
            json!({"providerName": "AWS", "cloudProviderEndpointId": vpce}),
        )
        .await;
    r.expect(200);
    let patched = r.json();
    assert_eq!(patched["status"], "INITIATING");
    assert_eq!(patched["cloudProviderEndpointId"], vpce);
    assert_eq!(patched["endpointServiceName"], service.as_str());
    let available = wait_status(&client, &one, "AVAILABLE").await;
    assert_eq!(available["cloudProviderEndpointId"], vpce);
    assert_eq!(available["errorMessage"], Value::Null);

    // The instance now lists a private endpoint connection string.
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/serverless/{INSTANCE}"
        ))
        .await;
    r.expect(200);
    let instance = r.json();
    let pe = &instance["connectionStrings"]["privateEndpoint"];
    assert_eq!(pe.as_array().map(Vec::len), Some(1), "{instance}");
    assert_eq!(pe[0]["endpoints"][0]["endpointId"], vpce);
    assert_eq!(pe[0]["endpoints"][0]["providerName"], "AWS");
    assert_eq!(pe[0]["type"], "MONGOS");
    assert!(
        pe[0]["srvConnectionString"]
            .as_str()
            .unwrap()
            .starts_with("mongodb+srv://")
    );

    // The endpoint id cannot change once AVAILABLE.
    let r = client
        .patch(
            &one,
            json!({"providerName": "AWS", "cloudProviderEndpointId": "vpce-0123456789abcdef1"}),
        )
        .await;
    assert!(
        r.status >= 400 && r.status < 500,
        "changing an AVAILABLE link: {}",
        r.status
    );
    r.conforms();

    // Delete: 204, DELETING, then gone.
    let r = client.delete(&one).await;
    r.expect(204);
    assert!(r.text.is_empty());
    let r = client.get(&one).await;
    r.expect(200);
    assert_eq!(r.json()["status"], "DELETING");
    // Repeating DELETE while DELETING succeeds.
    client.delete(&one).await.expect(204);
    poll("endpoint to disappear", WAIT, || async {
        let r = client.get(&one).await;
        if r.status == 404 {
            r.expect_error(404, "TENANT_PRIVATE_ENDPOINT_NOT_FOUND");
            Some(())
        } else {
            r.expect(200);
            assert_eq!(r.json()["status"], "DELETING");
            None
        }
    })
    .await;
    client
        .delete(&one)
        .await
        .expect_error(404, "TENANT_PRIVATE_ENDPOINT_NOT_FOUND");
    client
        .patch(
            &one,
            json!({"providerName": "AWS", "cloudProviderEndpointId": vpce}),
        )
        .await
        .expect_error(404, "TENANT_PRIVATE_ENDPOINT_NOT_FOUND");
    let r = client.get(&list_path).await;
    r.expect(200);
    assert_eq!(r.json(), json!([]));
    // Once gone, the instance no longer advertises it.
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/serverless/{INSTANCE}"
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
async fn create_accepts_an_empty_body_and_limits_comment_length() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    let list_path = serverless_base(PROJECT, INSTANCE);

    let r = client.post(&list_path, json!({})).await;
    r.expect(201);
    assert!(r.json().get("comment").is_none_or(Value::is_null));

    let r = client
        .post(&list_path, json!({"comment": "c".repeat(80)}))
        .await;
    r.expect(201);
    assert_eq!(r.json()["comment"].as_str().map(str::len), Some(80));

    let r = client
        .post(&list_path, json!({"comment": "c".repeat(81)}))
        .await;
    r.expect(400);
    let body = r.json();
    assert!(
        body["errorCode"] == "VALIDATION_ERROR" || body["errorCode"] == "INVALID_ATTRIBUTE",
        "{body}"
    );
    assert_eq!(
        r.header("x-error-code").as_deref(),
        body["errorCode"].as_str()
    );

    // The rejected request created nothing.
    let r = client.get(&list_path).await;
    r.expect(200);
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));

    // Not JSON at all.
    let r = client
        .call_text("POST", &list_path, Some("{not json".into()))
        .await;
    assert_eq!(r.status, 400, "POST with a malformed body: {}", r.text);
    r.conforms();
}

/// The spec marks the create request body as required (`{}` is the minimal
/// body, as sent by Terraform); a request without any body is malformed.
#[tokio::test]
async fn create_without_the_required_body_is_rejected() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    let list_path = serverless_base(PROJECT, INSTANCE);
    let r = client.call("POST", &list_path, None).await;
    assert_eq!(r.status, 400, "POST without a body: {}", r.text);
    r.conforms();
    let r = client.get(&list_path).await;
    r.expect(200);
    assert_eq!(
        r.json(),
        json!([]),
        "a rejected create must not create anything"
    );
}

#[tokio::test]
async fn injected_link_failure_ends_in_failed_with_message() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    let list_path = serverless_base(PROJECT, INSTANCE);
    let message = "Interface endpoint could not be verified.";
    let r = sandbox
        .control(
            "PUT",
            "/__sandbox/faults",
            Some(json!({"link_failures": {"count": 1, "message": message}})),
        )
        .await;
    assert!(r.status < 300, "PUT faults: {} {}", r.status, r.text);

    let r = client
        .post(&list_path, json!({"comment": "will fail"}))
        .await;
    r.expect(201);
    let one = format!("{list_path}/{}", r.json()["_id"].as_str().unwrap());
    wait_status(&client, &one, "RESERVED").await;
    client
        .patch(
            &one,
            json!({"providerName": "AWS", "cloudProviderEndpointId": "vpce-0123456789abcdef0"}),
        )
        .await
        .expect(200);
    let failed = wait_status(&client, &one, "FAILED").await;
    assert_eq!(failed["errorMessage"], message);

    // Only one failure was requested: the next link succeeds.
    let r = client
        .post(&list_path, json!({"comment": "will work"}))
        .await;
    r.expect(201);
    let two = format!("{list_path}/{}", r.json()["_id"].as_str().unwrap());
    wait_status(&client, &two, "RESERVED").await;
    client
        .patch(
            &two,
            json!({"providerName": "AWS", "cloudProviderEndpointId": "vpce-0123456789abcdef1"}),
        )
        .await
        .expect(200);
    let ok = wait_status(&client, &two, "AVAILABLE").await;
    assert_eq!(ok["errorMessage"], Value::Null);
}

#[tokio::test]
async fn links_are_verified_against_ec2_when_configured() {
    let moto = Moto::start().await;
    let sandbox = Sandbox::start(&["--ec2-endpoint", &moto.endpoint]);
    let client = sandbox.digest();
    let list_path = serverless_base(PROJECT, INSTANCE);

    // 1. A vpce that does not exist in EC2: FAILED with a message.
    let r = client
        .post(&list_path, json!({"comment": "missing vpce"}))
        .await;
    r.expect(201);
    let missing = format!("{list_path}/{}", r.json()["_id"].as_str().unwrap());
    wait_status(&client, &missing, "RESERVED").await;
    client
        .patch(
            &missing,
            json!({"providerName": "AWS", "cloudProviderEndpointId": "vpce-0123456789abcdef0"}),
        )
        .await
        .expect(200);
    let failed = wait_status(&client, &missing, "FAILED").await;
    let message = failed["errorMessage"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "FAILED without errorMessage: {failed}");

    // 2. A vpce on another service: FAILED too.
    let r = client
        .post(&list_path, json!({"comment": "wrong service"}))
        .await;
    r.expect(201);
    let wrong = format!("{list_path}/{}", r.json()["_id"].as_str().unwrap());
    wait_status(&client, &wrong, "RESERVED").await;
    let other_vpce = moto
        .interface_endpoint_for("com.amazonaws.vpce.us-east-1.vpce-svc-00000000000000000")
        .await;
    client
        .patch(
            &wrong,
            json!({"providerName": "AWS", "cloudProviderEndpointId": other_vpce}),
        )
        .await
        .expect(200);
    let failed = wait_status(&client, &wrong, "FAILED").await;
    assert!(
        failed["errorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{failed}"
    );

    // 3. The interface endpoint on the issued service name: AVAILABLE.
    let r = client
        .post(&list_path, json!({"comment": "right service"}))
        .await;
    r.expect(201);
    let right = format!("{list_path}/{}", r.json()["_id"].as_str().unwrap());
    let reserved = wait_status(&client, &right, "RESERVED").await;
    let service = reserved["endpointServiceName"].as_str().unwrap();
    let vpce = moto.interface_endpoint_for(service).await;
    client
        .patch(
            &right,
            json!({"providerName": "AWS", "cloudProviderEndpointId": vpce}),
        )
        .await
        .expect(200);
    let available = wait_status(&client, &right, "AVAILABLE").await;
    assert_eq!(available["cloudProviderEndpointId"], vpce.as_str());
    assert_eq!(available["errorMessage"], Value::Null);
}

#[tokio::test]
async fn unknown_group_instance_and_endpoint() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();

    // Unknown (well-formed) project.
    let r = client.get(&serverless_base(OTHER_PROJECT, INSTANCE)).await;
    let body = r.expect_error(404, "GROUP_NOT_FOUND");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(OTHER_PROJECT)),
        "{body}"
    );

    // Unknown instance in a known project.
    let r = client
        .post(&serverless_base(PROJECT, "no-such-instance"), json!({}))
        .await;
    r.expect_error(404, "SERVERLESS_INSTANCE_NOT_FOUND");
    let r = client
        .get(&serverless_base(PROJECT, "no-such-instance"))
        .await;
    r.expect_error(404, "SERVERLESS_INSTANCE_NOT_FOUND");

    // Unknown endpoint id.
    let one = format!(
        "{}/{}",
        serverless_base(PROJECT, INSTANCE),
        "0123456789abcdef01234567"
    );
    client
        .get(&one)
        .await
        .expect_error(404, "TENANT_PRIVATE_ENDPOINT_NOT_FOUND");
    client
        .delete(&one)
        .await
        .expect_error(404, "TENANT_PRIVATE_ENDPOINT_NOT_FOUND");
}

#[tokio::test]
async fn serverless_instances_list_get_and_404() {
    let sandbox = Sandbox::start(&[
        "--serverless-instance",
        &format!("{PROJECT}/second@EU_WEST_1"),
    ]);
    let client = sandbox.digest();
    let r = sandbox
        .control(
            "POST",
            "/__sandbox/serverless-instances",
            Some(json!({"project": PROJECT, "name": "third"})),
        )
        .await;
    assert!(r.status < 300, "control create: {} {}", r.status, r.text);

    let list = format!("/api/atlas/v2/groups/{PROJECT}/serverless");
    let r = client.get(&list).await;
    r.expect(200);
    let page = r.json();
    assert_eq!(page["totalCount"], 3, "{page}");
    let mut names: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["second", INSTANCE, "third"]);
    let links = page["links"].as_array().expect("links");
    assert!(links.iter().any(|l| l["rel"] == "self"), "{page}");

    // Pagination.
    let r = client
        .get(&format!("{list}?itemsPerPage=2&pageNum=1"))
        .await;
    r.expect(200);
    let first = r.json();
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert!(
        first["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "next"),
        "{first}"
    );
    let r = client
        .get(&format!("{list}?itemsPerPage=2&pageNum=2"))
        .await;
    r.expect(200);
    let second = r.json();
    assert_eq!(second["results"].as_array().unwrap().len(), 1);
    assert!(
        second["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "previous"),
        "{second}"
    );
    let r = client.get(&format!("{list}?includeCount=false")).await;
    r.expect(200);
    assert!(r.json().get("totalCount").is_none(), "{}", r.text);

    // One.
    let r = client.get(&format!("{list}/second")).await;
    r.expect(200);
    let one = r.json();
    assert_eq!(one["name"], "second");
    assert_eq!(one["groupId"], PROJECT);
    assert_eq!(one["providerSettings"]["regionName"], "EU_WEST_1");
    assert_eq!(one["stateName"], "IDLE");
    let r = client.get(&format!("{list}/{INSTANCE}")).await;
    r.expect(200);
    assert_eq!(r.json()["providerSettings"]["regionName"], "US_EAST_1");

    // Missing instance, missing project.
    client
        .get(&format!("{list}/nope"))
        .await
        .expect_error(404, "SERVERLESS_INSTANCE_NOT_FOUND");
    client
        .get(&format!("/api/atlas/v2/groups/{OTHER_PROJECT}/serverless"))
        .await
        .expect_error(404, "GROUP_NOT_FOUND");
}

#[tokio::test]
async fn azure_serverless_endpoint_linked_through_azure_sandbox() {
    let azure = support::azure::AzureSandbox::start().await;
    let instance = "azure-1";
    let seeded = format!("{PROJECT}/{instance}@AZURE:US_EAST_2");
    let sandbox = Sandbox::start(&[
        "--serverless-instance",
        &seeded,
        "--azure-endpoint",
        &azure.base,
        "--reserve-delay",
        "200ms",
        "--connect-delay",
        "200ms",
        "--delete-delay",
        "200ms",
    ]);
    let client = sandbox.digest();
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/serverless/{instance}"
        ))
        .await;
    r.expect(200);
    assert_eq!(r.json()["providerSettings"]["backingProviderName"], "AZURE");

    let list_path = serverless_base(PROJECT, instance);
    let r = client.post(&list_path, json!({"comment": "azure"})).await;
    r.expect(201);
    let id = r.json()["_id"].as_str().unwrap().to_string();
    let path = format!("{list_path}/{id}");
    let reserved = wait_status(&client, &path, "RESERVED").await;
    assert_eq!(reserved["providerName"], "AZURE");
    let name = reserved["endpointServiceName"].as_str().unwrap();
    assert!(name.starts_with("pls_") && name.len() == 28, "{reserved}");
    let pls = reserved["privateLinkServiceResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pls.ends_with(name), "{reserved}");
    poll(
        "the Private Link Service to be registered",
        WAIT,
        || async { azure.services().await.contains(&pls).then_some(()) },
    )
    .await;

    // The spec's pattern for cloudProviderEndpointId names the resource group privateLink.
    let subnet = azure.network("privateLink").await;
    let (pe, ip) = azure
        .private_endpoint("privateLink", "pe-serverless", &subnet, &pls)
        .await;
    let wrong = client
        .patch(
            &path,
            json!({"providerName": "AWS", "cloudProviderEndpointId": "vpce-0123456789abcdef0"}),
        )
        .await;
    wrong.expect_error(400, "VALIDATION_ERROR");
    let no_ip = client
        .patch(
            &path,
            json!({"providerName": "AZURE", "cloudProviderEndpointId": pe}),
        )
        .await;
    no_ip.expect_error(400, "VALIDATION_ERROR");
    let r = client
        .patch(
            &path,
            json!({"providerName": "AZURE", "cloudProviderEndpointId": pe, "privateEndpointIpAddress": ip}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["status"], "INITIATING");
    let available = wait_status(&client, &path, "AVAILABLE").await;
    assert_eq!(available["cloudProviderEndpointId"], pe.as_str());
    assert_eq!(available["privateEndpointIpAddress"], ip.as_str());
    assert_eq!(azure.connection_status(&pe).await, "Approved");
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{PROJECT}/serverless/{instance}"
        ))
        .await;
    r.expect(200);
    let strings = &r.json()["connectionStrings"]["privateEndpoint"][0]["endpoints"][0];
    assert_eq!(strings["providerName"], "AZURE");
    assert_eq!(strings["endpointId"], pe.as_str());

    client.delete(&path).await.expect(204);
    poll(
        "the endpoint and its Private Link Service to be gone",
        WAIT,
        || async {
            let gone = client.get(&path).await.status == 404;
            (gone && !azure.services().await.contains(&pls)).then_some(())
        },
    )
    .await;
}
