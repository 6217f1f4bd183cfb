//! azure-sandbox against the Azure Resource Manager spec (the extracts in `spec/`, read in
//! place): every answer body is checked against the definition its operation declares, the
//! errors against the ARM error envelope, and the spec's examples are replayed: their requests
//! must be accepted and the answers must have the examples' shape.

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::*;

const PLS: &str = "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg_atlas/providers/Microsoft.Network/privateLinkServices/pls_0123456789abcdef01234567";

fn pe_path(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/privateEndpoints/{name}"
    )
}

fn pe_body(subnet: &str, service: &str) -> Value {
    json!({"location": "eastus2", "tags": {"owner": "tests"}, "properties": {
        "subnet": {"id": subnet},
        "manualPrivateLinkServiceConnections": [
            {"name": "to-atlas", "properties": {"privateLinkServiceId": service}}
        ],
    }})
}

fn example(name: &str) -> Value {
    let path = swagger::spec_dir().join("examples").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The examples use `subId` as subscription; the sandbox, like ARM, wants a GUID.
    serde_json::from_str(&text.replace("subId", SUB)).unwrap()
}

async fn wait_state(sandbox: &Sandbox, path: &str, state: &str) -> Value {
    poll(&format!("{path} to be {state}"), WAIT, || async {
        let r = sandbox.arm("GET", &format!("{path}?{NET}"), None).await;
        (r.body["properties"]["provisioningState"] == state).then_some(r.body)
    })
    .await
}

#[test]
fn the_spec_extracts_load_and_name_what_they_leave_out() {
    let spec = spec();
    let expected: BTreeSet<String> = [
        "./applicationGateway.json#/definitions/ApplicationGatewayBackendAddressPool",
        "./applicationSecurityGroup.json#/definitions/ApplicationSecurityGroup",
        "./loadBalancer.json#/definitions/BackendAddressPool",
        "./loadBalancer.json#/definitions/InboundNatRule",
        "./networkSecurityGroup.json#/definitions/NetworkSecurityGroup",
        "./privateLinkService.json#/definitions/PrivateLinkService",
        "./publicIpAddress.json#/definitions/PublicIPAddress",
        "./virtualNetwork.json#/definitions/Subnet",
        "./virtualNetworkTap.json#/definitions/VirtualNetworkTap",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(spec.stand_ins, expected);
    // The checks bite: a field the spec does not know, and a wrong enum value.
    let mut pe =
        example("PrivateEndpointGetForManualApproval.json")["responses"]["200"]["body"].clone();
    spec.check("privateEndpoint.PrivateEndpoint", &pe).unwrap();
    pe["properties"]["provisioningstate"] = json!("Succeeded");
    assert!(spec.check("privateEndpoint.PrivateEndpoint", &pe).is_err());
    pe["properties"]
        .as_object_mut()
        .unwrap()
        .remove("provisioningstate");
    pe["properties"]["provisioningState"] = json!("Creating");
    assert!(spec.check("privateEndpoint.PrivateEndpoint", &pe).is_err());
}

#[tokio::test]
async fn a_private_endpoint_lifecycle_conforms() {
    let sandbox = Sandbox::start(300).await;
    let subnet = sandbox
        .network(
            "app",
            "vnet",
            "default",
            "10.0.0.0/16",
            "10.0.1.0/24",
            "East US 2",
        )
        .await;
    sandbox.service(PLS).await;
    let path = pe_path("app", "pe-1");
    let spec = spec();

    let put = sandbox
        .arm("PUT", &format!("{path}?{NET}"), Some(pe_body(&subnet, PLS)))
        .await;
    let created_key = spec
        .response_definition("PrivateEndpoints_CreateOrUpdate", 201)
        .unwrap();
    let created = put.conforms(201, &created_key);
    assert_eq!(created["properties"]["provisioningState"], "Updating");
    assert_eq!(created["properties"]["networkInterfaces"], json!([]));
    assert_eq!(created["location"], "eastus2");
    assert_eq!(created["tags"], json!({"owner": "tests"}));
    let connection = &created["properties"]["manualPrivateLinkServiceConnections"][0]["properties"];
    assert_eq!(
        connection["privateLinkServiceConnectionState"]["status"],
        "Pending"
    );
    let operation = put
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    assert!(
        operation.contains("/providers/Microsoft.Network/locations/eastus2/operations/"),
        "{operation}"
    );
    let status = sandbox.arm("GET", &operation, None).await;
    assert_eq!(
        status.conforms(200, "network.AzureAsyncOperationResult")["status"],
        "InProgress"
    );
    // Another write while the operation runs is refused, as ARM does.
    let busy = sandbox
        .arm("PUT", &format!("{path}?{NET}"), Some(pe_body(&subnet, PLS)))
        .await;
    busy.arm_error(409, "AnotherOperationInProgress");

    let done = wait_state(&sandbox, &path, "Succeeded").await;
    let get_key = spec
        .response_definition("PrivateEndpoints_Get", 200)
        .unwrap();
    spec.check(&get_key, &done).unwrap();
    let status = sandbox.arm("GET", &operation, None).await;
    assert_eq!(
        status.conforms(200, "network.AzureAsyncOperationResult")["status"],
        "Succeeded"
    );
    let nic_id = done["properties"]["networkInterfaces"][0]["id"]
        .as_str()
        .unwrap();
    let nic = sandbox.arm("GET", &format!("{nic_id}?{NET}"), None).await;
    let nic = nic.conforms(200, "networkInterface.NetworkInterface");
    let config = &nic["properties"]["ipConfigurations"][0]["properties"];
    assert_eq!(
        config["privateIPAddress"], "10.0.1.4",
        "the first address Azure gives out"
    );
    assert_eq!(config["subnet"]["id"], subnet.as_str());
    assert_eq!(nic["properties"]["privateEndpoint"]["id"], path.as_str());

    let list_key = spec
        .response_definition("PrivateEndpoints_List", 200)
        .unwrap();
    let group_list = format!(
        "/subscriptions/{SUB}/resourceGroups/app/providers/Microsoft.Network/privateEndpoints?{NET}"
    );
    let sub_list =
        format!("/subscriptions/{SUB}/providers/Microsoft.Network/privateEndpoints?{NET}");
    for list in [&group_list, &sub_list] {
        let r = sandbox.arm("GET", list, None).await;
        assert_eq!(r.conforms(200, &list_key)["value"][0]["id"], path.as_str());
    }
    delete_lifecycle(&sandbox, &path, nic_id).await;
}

/// DELETE: 202 with both operation headers, the endpoint readable as Deleting until the
/// operation ends, then 404 everywhere and 204 for another DELETE.
async fn delete_lifecycle(sandbox: &Sandbox, path: &str, nic_id: &str) {
    let spec = spec();
    let r = sandbox.arm("DELETE", &format!("{path}?{NET}"), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    spec.response_definition("PrivateEndpoints_Delete", 202)
        .is_none()
        .then_some(())
        .expect("no body");
    let operation = r
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    let location = r.header("location").expect("Location");
    let deleting = sandbox.arm("GET", &format!("{path}?{NET}"), None).await;
    let get_key = spec
        .response_definition("PrivateEndpoints_Get", 200)
        .unwrap();
    assert_eq!(
        deleting.conforms(200, &get_key)["properties"]["provisioningState"],
        "Deleting"
    );
    assert_eq!(sandbox.arm("GET", &location, None).await.status, 202);
    let again = sandbox.arm("DELETE", &format!("{path}?{NET}"), None).await;
    assert_eq!(
        again.header("azure-asyncoperation").as_deref(),
        Some(operation.as_str())
    );
    poll("the endpoint to be gone", WAIT, || async {
        let r = sandbox.arm("GET", &format!("{path}?{NET}"), None).await;
        (r.status == 404).then_some(r)
    })
    .await
    .arm_error(404, "ResourceNotFound");
    let status = sandbox.arm("GET", &operation, None).await;
    assert_eq!(
        status.conforms(200, "network.AzureAsyncOperationResult")["status"],
        "Succeeded"
    );
    assert_eq!(sandbox.arm("GET", &location, None).await.status, 204);
    sandbox
        .arm("GET", &format!("{nic_id}?{NET}"), None)
        .await
        .arm_error(404, "ResourceNotFound");
    assert_eq!(
        sandbox
            .arm("DELETE", &format!("{path}?{NET}"), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn errors_use_the_arm_envelope() {
    let sandbox = Sandbox::start(100).await;
    let subnet = sandbox
        .network(
            "app",
            "vnet",
            "default",
            "10.0.0.0/16",
            "10.0.1.0/24",
            "eastus2",
        )
        .await;
    sandbox.service(PLS).await;
    let path = pe_path("app", "pe-1");
    let url = format!("{path}?{NET}");
    sandbox
        .call("GET", &url, None, Some(""))
        .await
        .arm_error(401, "AuthenticationFailed");
    let r = sandbox.call("GET", &url, None, Some("not-a-token")).await;
    r.arm_error(401, "InvalidAuthenticationToken");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    sandbox
        .arm("GET", &path, None)
        .await
        .arm_error(400, "MissingApiVersionParameter");
    sandbox
        .arm("GET", &url, None)
        .await
        .arm_error(404, "ResourceNotFound");
    sandbox
        .arm(
            "GET",
            &format!("{}?{NET}", pe_path("nowhere", "pe-1")),
            None,
        )
        .await
        .arm_error(404, "ResourceGroupNotFound");
    let missing_subnet = subnet.replace("/subnets/default", "/subnets/other");
    let r = sandbox
        .arm("PUT", &url, Some(pe_body(&missing_subnet, PLS)))
        .await;
    r.arm_error(400, "InvalidResourceReference");
    let mut elsewhere = pe_body(&subnet, PLS);
    elsewhere["location"] = json!("westeurope");
    sandbox
        .arm("PUT", &url, Some(elsewhere))
        .await
        .arm_error(400, "InvalidResourceReference");
    let unknown = PLS.replace("pls_0123", "pls_9999");
    sandbox
        .arm("PUT", &url, Some(pe_body(&subnet, &unknown)))
        .await
        .arm_error(400, "PrivateLinkServiceNotFound");
    let mut automatic = pe_body(&subnet, PLS);
    let connections = automatic["properties"]["manualPrivateLinkServiceConnections"].take();
    automatic["properties"]["privateLinkServiceConnections"] = connections;
    sandbox
        .arm("PUT", &url, Some(automatic))
        .await
        .arm_error(403, "LinkedAuthorizationFailed");
    let bad_sub = url.replace(SUB, "subId");
    sandbox
        .arm("GET", &bad_sub, None)
        .await
        .arm_error(400, "InvalidSubscriptionId");
    // Nothing was created by the refused writes.
    sandbox
        .arm("GET", &url, None)
        .await
        .arm_error(404, "ResourceNotFound");
    let token = sandbox.token("wrong").await;
    assert_eq!(token.status, 401);
    assert_eq!(token.body["error"], "invalid_client");
    assert!(
        token.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215")
    );
}

#[tokio::test]
async fn the_examples_requests_are_accepted_and_answers_have_their_shape() {
    let sandbox = Sandbox::start(100).await;
    let create = example("PrivateEndpointCreateForManualApproval.json");
    let get = example("PrivateEndpointGetForManualApproval.json");
    let params = &create["parameters"];
    let group = params["resourceGroupName"].as_str().unwrap();
    let name = params["privateEndpointName"].as_str().unwrap();
    let request = &params["parameters"];
    sandbox
        .network(
            group,
            "myVnet",
            "mySubnet",
            "192.168.0.0/16",
            "192.168.0.0/24",
            "eastus",
        )
        .await;
    let service = request["properties"]["manualPrivateLinkServiceConnections"][0]["properties"]["privateLinkServiceId"].as_str().unwrap();
    sandbox.service(service).await;
    let path = pe_path(group, name);
    assert_eq!(params["api-version"], "2024-05-01");
    let r = sandbox
        .arm("PUT", &format!("{path}?{NET}"), Some(request.clone()))
        .await;
    r.conforms(201, "privateEndpoint.PrivateEndpoint");
    let ours = wait_state(&sandbox, &path, "Succeeded").await;
    spec()
        .check("privateEndpoint.PrivateEndpoint", &ours)
        .unwrap();
    // A private link service has no DNS names the endpoint could publish.
    let theirs = get["responses"]["200"]["body"].clone();
    same_shape(
        &theirs,
        &ours,
        &[
            "properties.customDnsConfigs[].fqdn",
            "properties.customDnsConfigs[].ipAddresses",
        ],
    );
    assert_eq!(
        ours["properties"]["customNetworkInterfaceName"],
        "testPeNic"
    );
    assert_eq!(
        ours["properties"]["ipConfigurations"],
        theirs["properties"]["ipConfigurations"]
    );
    let nic_id = ours["properties"]["networkInterfaces"][0]["id"]
        .as_str()
        .unwrap();
    assert!(nic_id.ends_with("/networkInterfaces/testPeNic"), "{nic_id}");
    let nic = sandbox.arm("GET", &format!("{nic_id}?{NET}"), None).await;
    let nic = nic
        .conforms(200, "networkInterface.NetworkInterface")
        .clone();
    let config = &nic["properties"]["ipConfigurations"][0]["properties"];
    assert_eq!(
        config["privateIPAddress"], "192.168.0.5",
        "the static address asked for"
    );
    // The example is a virtual machine's interface: these belong to that, not to an endpoint's.
    let vm_only = [
        "properties.ipConfigurations[].properties.publicIPAddress",
        "properties.ipConfigurations[].properties.publicIPAddress.id",
        "properties.dnsSettings.internalDomainNameSuffix",
        "properties.networkSecurityGroup",
        "properties.networkSecurityGroup.id",
        "properties.primary",
        "properties.virtualMachine",
        "properties.virtualMachine.id",
        "properties.dscpConfiguration",
        "properties.dscpConfiguration.id",
    ];
    let nic_example = example("NetworkInterfaceGet.json")["responses"]["200"]["body"].clone();
    same_shape(&nic_example, &nic, &vm_only);

    let list = sandbox.arm("GET", &format!("/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/privateEndpoints?{NET}"), None).await;
    let list = list
        .conforms(200, "privateEndpoint.PrivateEndpointListResult")
        .clone();
    let listed =
        example("PrivateEndpointList.json")["responses"]["200"]["body"]["value"][1].clone();
    same_shape(
        &listed,
        &list["value"][0],
        &[
            "properties.customDnsConfigs[].fqdn",
            "properties.customDnsConfigs[].ipAddresses",
        ],
    );

    let delete = example("PrivateEndpointDelete.json");
    assert!(delete["responses"]["202"]["headers"]["Azure-AsyncOperation"].is_string());
    let r = sandbox.arm("DELETE", &format!("{path}?{NET}"), None).await;
    assert_eq!(r.status, 202);
    assert!(
        r.header("azure-asyncoperation").is_some(),
        "the header the example shows"
    );
    poll("the example endpoint to be gone", WAIT, || async {
        (sandbox
            .arm("DELETE", &format!("{path}?{NET}"), None)
            .await
            .status
            == 204)
            .then_some(())
    })
    .await;
}

/// Every key path of `theirs` is in `ours`, except the `allowed` ones.
fn same_shape(theirs: &Value, ours: &Value, allowed: &[&str]) {
    let ours = shape(ours);
    let missing: Vec<String> = shape(theirs)
        .into_iter()
        .filter(|p| !ours.contains(p) && !allowed.contains(&p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the example has {missing:?}, the sandbox's answer does not"
    );
}

#[tokio::test]
async fn lists_page_and_creates_can_fail() {
    let sandbox = Sandbox::start(50).await;
    let subnet = sandbox
        .network(
            "app",
            "vnet",
            "default",
            "10.0.0.0/16",
            "10.0.1.0/29",
            "eastus2",
        )
        .await;
    sandbox.service(PLS).await;
    let r = sandbox.control("PUT", "/realism", json!({"page_size": 1, "fail_next": 1, "fail_code": "InternalServerError", "fail_message": "boom"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let failed = pe_path("app", "pe-fails");
    let r = sandbox
        .arm(
            "PUT",
            &format!("{failed}?{NET}"),
            Some(pe_body(&subnet, PLS)),
        )
        .await;
    let operation = r.header("azure-asyncoperation").unwrap();
    let state = wait_state(&sandbox, &failed, "Failed").await;
    spec()
        .check("privateEndpoint.PrivateEndpoint", &state)
        .unwrap();
    assert_eq!(state["properties"]["networkInterfaces"], json!([]));
    let status = sandbox.arm("GET", &operation, None).await;
    let status = status.conforms(200, "network.AzureAsyncOperationResult");
    assert_eq!(status["status"], "Failed");
    assert_eq!(status["error"]["code"], "InternalServerError");
    for name in ["pe-a", "pe-b"] {
        let r = sandbox
            .arm(
                "PUT",
                &format!("{}?{NET}", pe_path("app", name)),
                Some(pe_body(&subnet, PLS)),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // A /29 has three addresses to give: the failed endpoint keeps one, so a fourth is refused.
    let full = sandbox
        .arm(
            "PUT",
            &format!("{}?{NET}", pe_path("app", "pe-c")),
            Some(pe_body(&subnet, PLS)),
        )
        .await;
    full.arm_error(400, "SubnetIsFull");
    let mut url =
        format!("/subscriptions/{SUB}/providers/Microsoft.Network/privateEndpoints?{NET}");
    let mut seen = Vec::new();
    loop {
        let r = sandbox.arm("GET", &url, None).await;
        let page = r
            .conforms(200, "privateEndpoint.PrivateEndpointListResult")
            .clone();
        assert_eq!(page["value"].as_array().unwrap().len(), 1, "{page}");
        seen.push(page["value"][0]["name"].as_str().unwrap().to_string());
        match page["nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ["pe-a", "pe-b", "pe-fails"]);
}

#[tokio::test]
async fn expired_tokens_and_tokens_for_another_audience_are_refused() {
    let sandbox = Sandbox::start(100).await;
    let url = format!("/subscriptions/{SUB}/resourcegroups/app?api-version=2021-04-01");
    let r = sandbox
        .control("PUT", "/realism", json!({"token_ttl_s": 0}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let short = sandbox.token("sandbox-secret").await;
    assert_eq!(short.body["expires_in"], 0);
    let token = short.body["access_token"].as_str().unwrap();
    sandbox
        .call("GET", &url, None, Some(token))
        .await
        .arm_error(401, "ExpiredAuthenticationToken");
    sandbox
        .control("PUT", "/realism", json!({"token_ttl_s": 3599}))
        .await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "privlink-test"),
        ("client_secret", "sandbox-secret"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let graph: Value = reqwest::Client::new()
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", sandbox.base))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = graph["access_token"].as_str().unwrap();
    let r = sandbox.call("GET", &url, None, Some(token)).await;
    r.arm_error(401, "InvalidAuthenticationTokenAudience");
    // The sandbox's own token still works: the group is simply not there.
    sandbox
        .arm("GET", &url, None)
        .await
        .arm_error(404, "ResourceGroupNotFound");
}
