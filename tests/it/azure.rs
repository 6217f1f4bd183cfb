//! End to end on Azure: private endpoints in azure-sandbox linked to
//! Atlas's AZURE endpoint services in atlas-sandbox (which checks each link
//! against azure-sandbox), through the binary: two regions, drift, a
//! failed link, a link rejected after it was available, import, a file
//! mixing AWS and Azure, and a serverless instance on Azure.

use privlink::providers::atlas::{AtlasClient, ClientOptions, Credentials};
use serde_json::Value;

use crate::support::azure::{SECRET, SUBSCRIPTION, encode};
use crate::support::world::{PRIVATE_KEY, PROJECT, World};

fn file(endpoints: &str) -> String {
    format!(
        "version: 1\natlas:\n  project_id: {PROJECT}\naws:\n  region: us-east-1\nendpoints:\n{endpoints}"
    )
}

/// An endpoint in eastus2 naming its subnet by vnet and name.
const EAST_A: &str = "  east-a:\n    atlas: {dedicated_clusters: true}\n    azure:\n      resource_group: rg-east\n      location: eastus2\n      vnet: vnet-east\n      subnet: default\n";
/// An endpoint in westeurope.
const WEST: &str = "  west:\n    atlas: {dedicated_clusters: true}\n    azure:\n      subscription: \"${AZURE_SUBSCRIPTION_ID}\"\n      resource_group: rg-west\n      location: westeurope\n      vnet: vnet-west\n      subnet: default\n";

/// An endpoint in eastus2 naming its subnet by its full id.
fn east_b() -> String {
    format!(
        "  east-b:\n    atlas: {{dedicated_clusters: true}}\n    azure:\n      resource_group: rg-east\n      location: eastus2\n      subnet: /subscriptions/{SUBSCRIPTION}/resourceGroups/rg-east/providers/Microsoft.Network/virtualNetworks/vnet-east/subnets/default\n"
    )
}

async fn world() -> World {
    let w = World::start_azure(&["main"], &[]).await;
    let az = w.azure.as_ref().unwrap();
    az.resource_group("rg-east", "eastus2").await;
    az.subnet("rg-east", "vnet-east", "eastus2", "10.1.0.0/24")
        .await;
    az.resource_group("rg-west", "westeurope").await;
    az.subnet("rg-west", "vnet-west", "westeurope", "10.2.0.0/24")
        .await;
    w
}

fn atlas(w: &World) -> AtlasClient {
    AtlasClient::new(
        &w.sandbox.base_url,
        Credentials::Digest {
            public_key: "world-public-key".into(),
            private_key: PRIVATE_KEY.into(),
        },
        ClientOptions::default(),
    )
    .expect("client")
}

/// The AZURE endpoint services: region → the private endpoints on it.
async fn services(w: &World) -> Vec<(String, usize)> {
    let list = atlas(w).list_azure_services(PROJECT).await.expect("list");
    let mut out: Vec<(String, usize)> = list
        .into_iter()
        .map(|s| (s.region_name, s.private_endpoints.len()))
        .collect();
    out.sort();
    out
}

async fn private_endpoints(w: &World) -> Vec<Value> {
    w.azure.as_ref().unwrap().private_endpoints().await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_regions_three_endpoints_drift_and_destroy() {
    let w = world().await;
    w.write("azure.yaml", &file(&format!("{EAST_A}{}{WEST}", east_b())));
    let f = ["-f", "azure.yaml"];

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    for a in [
        "endpoint_services.azure.eastus2",
        "endpoint_services.azure.westeurope",
        "endpoints.east-a.private_endpoint",
    ] {
        assert!(plan.stdout.contains(a), "{a}\n{}", plan.all());
    }
    let applied = w.expect(0, &["apply", f[0], f[1], "--auto-approve", "-v"]);
    let state_text = std::fs::read_to_string(w.state_path("azure.yaml")).unwrap();
    for text in [applied.all(), state_text] {
        assert!(
            !text.contains(SECRET),
            "the Azure client secret leaked:\n{text}"
        );
    }
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    assert_eq!(
        services(&w).await,
        vec![("EUROPE_WEST".to_owned(), 1), ("US_EAST_2".to_owned(), 2)]
    );
    let pes = private_endpoints(&w).await;
    assert_eq!(pes.len(), 3, "{pes:?}");
    for pe in &pes {
        let c = &pe["properties"]["manualPrivateLinkServiceConnections"][0]["properties"];
        assert_eq!(
            c["privateLinkServiceConnectionState"]["status"], "Approved",
            "{pe}"
        );
        assert!(pe["tags"]["privlink:owner"].is_string(), "{pe}");
    }

    // Drift: a private endpoint deleted in Azure is planned and re-created.
    let state = w.state("azure.yaml");
    let id = state["resources"]["endpoints.east-a.private_endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.azure.as_ref().unwrap().delete_private_endpoint(&id).await;
    let drift = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        drift.stdout.contains("endpoints.east-a.private_endpoint"),
        "{}",
        drift.all()
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    assert_eq!(private_endpoints(&w).await.len(), 3);

    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(private_endpoints(&w).await.is_empty());
    assert!(services(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_link_shows_atlas_error_message_and_the_next_apply_converges() {
    let w = world().await;
    w.write("reject.yaml", &file(EAST_A));
    let f = ["-f", "reject.yaml"];
    let message = "simulated: private endpoint connection rejected by the service owner";
    w.control_put(
        "/__sandbox/faults",
        serde_json::json!({"link_failures": {"count": 1, "message": message}}),
    )
    .await;
    let failed = w.expect(1, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(failed.all().contains(message), "{}", failed.all());
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    assert_eq!(services(&w).await, vec![("US_EAST_2".to_owned(), 1)]);
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(private_endpoints(&w).await.is_empty());
}

/// A link Atlas REJECTED after it was AVAILABLE is a connection the service
/// owner rejected: the private endpoint's connection shows `Rejected` in
/// Azure (the sandbox rejects it there too), so the plan replaces that
/// private endpoint and its link, and only them, with the owner's words;
/// the next apply converges.
#[tokio::test(flavor = "multi_thread")]
async fn a_link_rejected_after_it_was_available_is_replaced() {
    let w = world().await;
    w.write("rejected.yaml", &file(&format!("{EAST_A}{}", east_b())));
    let f = ["-f", "rejected.yaml"];
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("rejected.yaml");
    let link = &state["resources"]["endpoints.east-a.link"];
    let service = link["attributes"]["endpoint_service_id"].as_str().unwrap();
    let pe = link["id"].as_str().unwrap();
    let message = "simulated: connection rejected by the service owner";
    let r = reqwest::Client::new()
        .post(format!(
            "{}/__sandbox/interface-endpoints/{PROJECT}/{service}/{}/state",
            w.sandbox.base_url,
            encode(pe)
        ))
        .json(&serde_json::json!({"connectionStatus": "REJECTED", "errorMessage": message}))
        .send()
        .await
        .expect("sandbox control");
    assert!(r.status().is_success(), "{}", r.status());
    let pes = private_endpoints(&w).await;
    let rejected = pes
        .iter()
        .find(|p| {
            p["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(pe))
        })
        .expect("the private endpoint");
    let c = &rejected["properties"]["manualPrivateLinkServiceConnections"][0]["properties"];
    assert_eq!(
        c["privateLinkServiceConnectionState"]["status"], "Rejected",
        "{rejected}"
    );

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    for replaced in ["endpoints.east-a.private_endpoint", "endpoints.east-a.link"] {
        assert!(
            plan.stdout
                .contains(&format!("{replaced} must be replaced")),
            "{replaced}\n{}",
            plan.all()
        );
    }
    assert!(
        plan.stdout
            .contains("Azure reports the connection Rejected")
            && plan.stdout.contains(message),
        "{}",
        plan.all()
    );
    for kept in ["endpoints.east-b.private_endpoint", "endpoints.east-b.link"] {
        assert!(
            !plan.stdout.contains(&format!("{kept} must be replaced")),
            "{kept}\n{}",
            plan.all()
        );
    }
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    let state = w.state("rejected.yaml");
    let link = &state["resources"]["endpoints.east-a.link"];
    let pe = link["id"].as_str().unwrap();
    let l = atlas(&w)
        .get_azure_link(PROJECT, service, pe)
        .await
        .expect("read")
        .expect("linked again");
    assert_eq!(l.state(), "AVAILABLE", "{l:?}");
    assert_eq!(services(&w).await, vec![("US_EAST_2".to_owned(), 2)]);
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(private_endpoints(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_private_endpoint_is_imported() {
    let w = world().await;
    w.write("import.yaml", &file(EAST_A));
    let f = ["-f", "import.yaml"];
    let service = "endpoint_services.azure.eastus2";
    w.expect(
        0,
        &["apply", f[0], f[1], "--auto-approve", "--target", service],
    );
    let state = w.state("import.yaml");
    let s = &state["resources"][service]["attributes"];
    let pls = s["private_link_service_resource_id"].as_str().unwrap();
    let name = s["private_link_service_name"].as_str().unwrap();
    let subnet = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-east/providers/Microsoft.Network/virtualNetworks/vnet-east/subnets/default"
    );
    let az = w.azure.as_ref().unwrap();
    let id = az
        .create_private_endpoint(
            "rg-east",
            "privlink-import-east-a",
            "eastus2",
            &subnet,
            pls,
            name,
        )
        .await;

    let address = "endpoints.east-a.private_endpoint";
    w.expect(0, &["import", address, &id, f[0], f[1]]);
    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        !plan.stdout.contains(&format!("{address} will be")),
        "{}",
        plan.all()
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("import.yaml");
    assert_eq!(state["resources"][address]["id"], id.as_str());
    assert_eq!(private_endpoints(&w).await.len(), 1);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(private_endpoints(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn one_file_mixes_aws_and_azure() {
    let w = world().await;
    let aws = "  on-aws:\n    atlas: {dedicated_clusters: true}\n    aws:\n      vpc_id: \"${PRIVLINK_VPC_ID}\"\n      subnet_ids: [\"${PRIVLINK_SUBNET_A}\"]\n      security_group: {allow_from: [10.0.0.0/16]}\n";
    w.write("mixed.yaml", &file(&format!("{aws}{EAST_A}")));
    let f = ["-f", "mixed.yaml"];
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    let state = w.state("mixed.yaml");
    let r = &state["resources"];
    assert!(
        r["endpoint_services.aws.us-east-1"]["id"].is_string(),
        "{state}"
    );
    assert!(
        r["endpoint_services.azure.eastus2"]["id"].is_string(),
        "{state}"
    );
    assert_eq!(w.live_vpc_endpoints().await.len(), 1);
    assert_eq!(private_endpoints(&w).await.len(), 1);
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(w.live_vpc_endpoints().await.is_empty());
    assert!(private_endpoints(&w).await.is_empty());
    assert!(services(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_and_missing_azure_objects_stop_before_any_create() {
    let w = world().await;
    let az = w.azure.as_ref().unwrap();
    // A location that is not one: file, line and column; no call at all.
    w.write("bad.yaml", &file(&EAST_A.replace("eastus2", "East US 2")));
    let bad = w.expect(1, &["plan", "-f", "bad.yaml"]);
    assert!(bad.stderr.contains("bad.yaml:11:17:"), "{}", bad.all());
    let seen = reqwest::get(format!("{}/__sandbox/requests", az.base_url))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let creates = seen
        .as_array()
        .expect("azure-sandbox's request log is a list")
        .iter()
        .filter(|q| q["method"] == "PUT")
        .filter(|q| {
            q["path"]
                .as_str()
                .is_some_and(|p| p.contains("privateEndpoints"))
        })
        .count();
    assert_eq!(creates, 0, "{seen}");

    // A resource group that does not exist: the preflight says so.
    w.write(
        "missing.yaml",
        &file(&EAST_A.replace("rg-east", "rg-missing")),
    );
    let missing = w.expect(1, &["apply", "-f", "missing.yaml", "--auto-approve"]);
    assert!(
        missing
            .all()
            .contains("resource group rg-missing does not exist"),
        "{}",
        missing.all()
    );
    assert!(private_endpoints(&w).await.is_empty());
    assert!(services(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_provisioning_shows_arm_message_and_the_next_apply_converges() {
    let w = world().await;
    let az = w.azure.as_ref().unwrap();
    let message = "simulated: allocation failed in the subnet";
    let r = reqwest::Client::new()
        .put(format!("{}/__sandbox/realism", az.base_url))
        .json(&serde_json::json!({"fail_next": 1, "fail_code": "AllocationFailed", "fail_message": message}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    w.write("fail.yaml", &file(EAST_A));
    let f = ["-f", "fail.yaml"];
    let failed = w.expect(1, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(failed.all().contains(message), "{}", failed.all());
    assert!(
        failed.all().contains("AllocationFailed"),
        "{}",
        failed.all()
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    assert_eq!(private_endpoints(&w).await.len(), 1);
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(private_endpoints(&w).await.is_empty());
}

/// Two endpoints of one serverless instance on Azure, in eastus2.
fn serverless_file() -> String {
    let one = |name: &str| {
        format!(
            "  {name}:\n    atlas: {{serverless_instance: sl-east}}\n    azure:\n      resource_group: rg-east\n      location: eastus2\n      vnet: vnet-east\n      subnet: default\n"
        )
    };
    file(&format!("{}{}", one("sl-a"), one("sl-b")))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_serverless_instance_on_azure_with_two_endpoints() {
    let seeded = format!("{PROJECT}/sl-east@AZURE:US_EAST_2");
    let w = World::start_azure(&[], &["--serverless-instance", &seeded]).await;
    let az = w.azure.as_ref().unwrap();
    az.resource_group("rg-east", "eastus2").await;
    az.subnet("rg-east", "vnet-east", "eastus2", "10.1.0.0/24")
        .await;
    w.write("sl.yaml", &serverless_file());
    let f = ["-f", "sl.yaml"];

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    for a in [
        "endpoints.sl-a.atlas_endpoint",
        "endpoints.sl-a.private_endpoint",
        "endpoints.sl-b.link",
    ] {
        assert!(plan.stdout.contains(a), "{a}\n{}", plan.all());
    }
    let applied = w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(!applied.all().contains(SECRET), "{}", applied.all());
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());

    // Atlas holds each private endpoint's id and IP, as Azure has them, and
    // Atlas approved each connection in Azure.
    let state = w.state("sl.yaml");
    let atlas_side = atlas(&w)
        .list_serverless_endpoints(PROJECT, "sl-east")
        .await
        .expect("list");
    assert_eq!(atlas_side.len(), 2, "{atlas_side:?}");
    let pes = private_endpoints(&w).await;
    assert_eq!(pes.len(), 2, "{pes:?}");
    for name in ["sl-a", "sl-b"] {
        let at = |what: &str| &state["resources"][format!("endpoints.{name}.{what}")];
        let pe_id = at("private_endpoint")["id"].as_str().unwrap();
        let ip = at("private_endpoint")["attributes"]["private_ip"]
            .as_str()
            .unwrap();
        let e = atlas_side
            .iter()
            .find(|e| Some(e.id.as_str()) == at("atlas_endpoint")["id"].as_str())
            .expect("the endpoint in Atlas");
        assert_eq!(e.status, "AVAILABLE", "{e:?}");
        assert_eq!(e.provider_name.as_deref(), Some("AZURE"), "{e:?}");
        assert_eq!(e.cloud_provider_endpoint_id.as_deref(), Some(pe_id));
        assert_eq!(e.private_endpoint_ip_address.as_deref(), Some(ip));
        let pe = pes
            .iter()
            .find(|p| p["id"].as_str() == Some(pe_id))
            .expect("the private endpoint in Azure");
        let c = &pe["properties"]["manualPrivateLinkServiceConnections"][0]["properties"];
        assert_eq!(
            c["privateLinkServiceId"].as_str(),
            e.private_link_service_resource_id.as_deref(),
            "{pe}"
        );
        assert_eq!(
            c["privateLinkServiceConnectionState"]["status"], "Approved",
            "{pe}"
        );
    }

    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(private_endpoints(&w).await.is_empty());
    let left = atlas(&w)
        .list_serverless_endpoints(PROJECT, "sl-east")
        .await
        .expect("list");
    assert!(left.is_empty(), "{left:?}");
}
