//! End to end for today's dedicated-cluster flow: one Atlas endpoint service
//! per region shared by the interface endpoints in it, against
//! atlas-sandbox (checking links against moto) and moto_server.

use privlink::providers::atlas::{AtlasClient, ClientOptions, Credentials};
use serde_json::Value;

use crate::support::moto;
use crate::support::world::{PRIVATE_KEY, PROJECT, World};

fn file(endpoints: &str) -> String {
    format!(
        "version: 1\natlas:\n  project_id: {PROJECT}\naws:\n  region: us-east-1\nendpoints:\n{endpoints}"
    )
}

const EAST_A: &str = "  east-a:\n    atlas: {dedicated_clusters: true}\n    aws:\n      vpc_id: \"${PRIVLINK_VPC_ID}\"\n      subnet_ids: [\"${PRIVLINK_SUBNET_A}\", \"${PRIVLINK_SUBNET_B}\"]\n      security_group: {allow_from: [\"${PRIVLINK_CLIENT_SG}\"]}\n      client_security_groups: [\"${PRIVLINK_CLIENT_SG}\"]\n";
const EAST_B: &str = "  east-b:\n    atlas: {dedicated_clusters: true}\n    aws:\n      vpc_id: \"${PRIVLINK_VPC_ID}\"\n      subnet_ids: [\"${PRIVLINK_SUBNET_B}\"]\n      security_group: {allow_from: [10.0.0.0/16]}\n";

fn west(vpc: &str, subnet: &str) -> String {
    format!(
        "  west:\n    atlas: {{dedicated_clusters: true}}\n    aws:\n      region: eu-west-1\n      vpc_id: {vpc}\n      subnet_ids: [{subnet}]\n      security_group: {{allow_from: [172.16.0.0/16]}}\n"
    )
}

fn addresses(state: &Value) -> Vec<String> {
    state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

async fn services(w: &World) -> Vec<Value> {
    let client = atlas(w);
    let list = client
        .list_endpoint_services(PROJECT)
        .await
        .expect("list services");
    list.into_iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect()
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

#[tokio::test(flavor = "multi_thread")]
async fn two_regions_three_endpoints_one_shared_service() {
    let w = World::start(
        &[],
        &["main"],
        &["--cluster", &format!("{PROJECT}/eu-main@EU_WEST_1")],
    )
    .await;
    let west_ec2 = w.moto.ec2("eu-west-1").await;
    let west_vpc = moto::create_vpc(&west_ec2, "172.16.0.0/16").await;
    let west_subnet = moto::create_subnet(&west_ec2, &west_vpc, "172.16.1.0/24").await;
    let all = file(&format!(
        "{EAST_A}{EAST_B}{}",
        west(&west_vpc, &west_subnet)
    ));
    w.write("dedicated.yaml", &all);
    let f = ["-f", "dedicated.yaml"];

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        plan.stdout.contains("endpoint_services.aws.us-east-1"),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout.contains("endpoint_services.aws.eu-west-1"),
        "{}",
        plan.all()
    );
    let apply = w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(
        apply.stdout.contains("Apply complete! Resources: 12 added"),
        "{}",
        apply.all()
    );
    assert!(
        apply
            .stdout
            .contains("Private-endpoint connection strings:"),
        "{}",
        apply.all()
    );
    assert!(
        apply.stdout.contains("cluster main: mongodb"),
        "{}",
        apply.all()
    );

    let state = w.state("dedicated.yaml");
    let svc = services(&w).await;
    assert_eq!(svc.len(), 2, "one service per region: {svc:?}");
    let east_service = &state["resources"]["endpoint_services.aws.us-east-1"]["attributes"];
    for name in ["east-a", "east-b"] {
        let vpce = &state["resources"][format!("endpoints.{name}.vpc_endpoint")]["attributes"];
        assert_eq!(
            vpce["service_name"], east_service["endpoint_service_name"],
            "{name} uses the shared service"
        );
        let link = &state["resources"][format!("endpoints.{name}.link")]["attributes"];
        assert_eq!(link["connection_status"], "AVAILABLE");
    }
    assert_eq!(w.live_vpc_endpoints().await.len(), 2);
    let west_vpces = west_ec2.describe_vpc_endpoints().send().await.unwrap();
    assert_eq!(west_vpces.vpc_endpoints().len(), 1);

    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    let out = w.expect(0, &["output", f[0], f[1], "--json"]);
    let conns: Value = serde_json::from_str(&out.stdout).expect("output --json");
    assert!(
        conns
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["deployment"] == "cluster main"
                && !c["connection_strings"].as_array().unwrap().is_empty()),
        "{conns}"
    );

    // Removing one endpoint destroys only its own resources.
    w.write(
        "dedicated.yaml",
        &file(&format!("{EAST_A}{}", west(&west_vpc, &west_subnet))),
    );
    let shrink = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        shrink
            .stdout
            .contains("Plan: 0 to add, 0 to change, 3 to destroy."),
        "{}",
        shrink.all()
    );
    assert!(
        !shrink
            .stdout
            .contains("endpoint_services.aws.us-east-1 will be destroyed"),
        "{}",
        shrink.all()
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("dedicated.yaml");
    assert!(
        addresses(&state)
            .iter()
            .all(|a| !a.starts_with("endpoints.east-b."))
    );
    assert_eq!(services(&w).await.len(), 2, "the shared service stays");
    assert_eq!(w.live_vpc_endpoints().await.len(), 1);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());

    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(w.live_vpc_endpoints().await.is_empty());
    let west_left: Vec<_> = west_ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .unwrap()
        .vpc_endpoints()
        .iter()
        .filter(|e| !e.state().unwrap().as_str().eq_ignore_ascii_case("deleted"))
        .cloned()
        .collect();
    assert!(west_left.is_empty());
    assert!(w.privlink_groups().await.is_empty());
    assert!(services(&w).await.is_empty(), "no endpoint service left");
    assert!(
        w.state("dedicated.yaml")["resources"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pre_existing_endpoint_service_is_reported_imported_and_used() {
    let w = World::start(&[], &["main"], &[]).await;
    let existing = atlas(&w)
        .create_endpoint_service(PROJECT, "us-east-1")
        .await
        .expect("create");
    w.write("adopt.yaml", &file(EAST_A));
    let f = ["-f", "adopt.yaml"];
    // The region's service is shared: the plan uses it (and says so); it
    // can still be imported.
    let uses = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    let note = format!(
        "(id {}), shared with other stacks: used, not created",
        existing.id
    );
    assert!(uses.stdout.contains(&note), "{}", uses.all());

    w.expect(
        0,
        &[
            "import",
            "endpoint_services.aws.us-east-1",
            &existing.id,
            f[0],
            f[1],
        ],
    );
    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        !plan
            .stdout
            .contains("endpoint_services.aws.us-east-1 will be"),
        "{}",
        plan.all()
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("adopt.yaml");
    assert_eq!(
        state["resources"]["endpoint_services.aws.us-east-1"]["id"],
        existing.id.as_str()
    );
    assert_eq!(services(&w).await.len(), 1, "no duplicate service");
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(services(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_link_fails_the_apply_and_the_state_stays_truthful() {
    let w = World::start(&[], &["main"], &[]).await;
    w.write("reject.yaml", &file(EAST_A));
    let f = ["-f", "reject.yaml"];
    let message = "simulated: endpoint connection rejected by the service owner";
    w.control_put(
        "/__sandbox/faults",
        serde_json::json!({"link_failures": {"count": 1, "message": message}}),
    )
    .await;
    let failed = w.expect(1, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(failed.all().contains(message), "{}", failed.all());
    assert!(failed.all().contains("REJECTED"), "{}", failed.all());
    let state = w.state("reject.yaml");
    let r = &state["resources"];
    assert_eq!(r["endpoint_services.aws.us-east-1"]["status"], "ready");
    assert_eq!(r["endpoints.east-a.vpc_endpoint"]["status"], "ready");
    assert_eq!(r["endpoints.east-a.link"]["status"], "tainted", "{state}");
    // The next apply replaces the rejected link and converges.
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(services(&w).await.is_empty());
}
