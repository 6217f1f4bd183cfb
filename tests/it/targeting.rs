//! Resource targeting (`-target`) and refresh-only runs (`-refresh-only`),
//! end to end against atlas-sandbox and moto_server.

use serde_json::Value;

use crate::support::world::World;

/// Two endpoints on two serverless instances.
const TWO: &str = r#"
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  orders:
    atlas: { serverless_instance: orders-prod, comment: orders }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_A}", "${PRIVLINK_SUBNET_B}"]
      security_group: { allow_from: ["${PRIVLINK_CLIENT_SG}"] }
      client_security_groups: ["${PRIVLINK_CLIENT_SG}"]
  billing:
    atlas: { serverless_instance: billing-prod, comment: billing }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_B}"]
      security_group: { allow_from: [10.0.0.0/16] }
"#;

const EXAMPLE: &str = include_str!("../../examples/serverless-aws.yaml");

/// The addresses recorded in the state of `config`.
fn addresses(w: &World, config: &str) -> Vec<String> {
    w.state(config)["resources"]
        .as_object()
        .expect("resources")
        .keys()
        .cloned()
        .collect()
}

/// How many requests that change something the sandbox has served.
async fn atlas_writes(w: &World) -> usize {
    let log = w.control_get("/__sandbox/requests").await;
    log.as_array()
        .expect("request log")
        .iter()
        .filter(|r| r["method"] != "GET")
        .count()
}

/// Every VPC endpoint and security group moto holds, rules included.
async fn moto_snapshot(w: &World) -> String {
    let ec2 = w.ec2().await;
    let vpces = ec2.describe_vpc_endpoints().send().await.expect("describe");
    let groups = ec2
        .describe_security_groups()
        .send()
        .await
        .expect("describe groups");
    format!(
        "{:?}\n{:?}",
        vpces.vpc_endpoints(),
        groups.security_groups()
    )
}

const WARNING: &str = "Warning: Resource targeting is in effect";

#[tokio::test(flavor = "multi_thread")]
async fn apply_with_target_creates_only_that_endpoint() {
    let w = World::start(&["orders-prod", "billing-prod"], &[], &[]).await;
    w.write("two.yaml", TWO);
    let f = ["-f", "two.yaml"];

    // An address that matches nothing is refused by name and changes nothing.
    let unknown = w.expect(
        1,
        &[
            "apply",
            f[0],
            f[1],
            "-target",
            "endpoints.nope",
            "--auto-approve",
        ],
    );
    assert!(
        unknown
            .stderr
            .contains("-target endpoints.nope: no resource"),
        "{}",
        unknown.all()
    );
    assert!(
        !unknown.all().contains("billing"),
        "lists nothing else:\n{}",
        unknown.all()
    );
    assert!(w.live_vpc_endpoints().await.is_empty());
    assert!(!w.state_path("two.yaml").exists(), "no state written");

    let plan = w.expect(
        2,
        &[
            "plan",
            f[0],
            f[1],
            "--target",
            "endpoints.orders",
            "--detailed-exitcode",
        ],
    );
    assert!(plan.stderr.contains(WARNING), "{}", plan.all());
    assert!(
        plan.stderr.contains("not for routine use"),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout
            .contains("Plan: 5 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.all()
    );
    assert!(!plan.stdout.contains("endpoints.billing"), "{}", plan.all());

    let apply = w.expect(
        0,
        &[
            "apply",
            f[0],
            f[1],
            "-target",
            "endpoints.orders",
            "--auto-approve",
        ],
    );
    assert!(apply.stderr.contains(WARNING), "{}", apply.all());
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 5 added, 0 changed, 0 destroyed."),
        "{}",
        apply.all()
    );
    let recorded = addresses(&w, "two.yaml");
    assert_eq!(recorded.len(), 5, "{recorded:?}");
    assert!(
        recorded.iter().all(|a| a.starts_with("endpoints.orders.")),
        "{recorded:?}"
    );
    assert_eq!(
        w.live_vpc_endpoints().await.len(),
        1,
        "one VPC endpoint in moto"
    );

    let next = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(!next.stderr.contains(WARNING), "{}", next.all());
    assert!(
        next.stdout
            .contains("# endpoints.billing.vpc_endpoint will be created"),
        "{}",
        next.all()
    );
    assert!(
        next.stdout
            .contains("Plan: 4 to add, 0 to change, 0 to destroy."),
        "{}",
        next.all()
    );
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(w.live_vpc_endpoints().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_with_target_removes_only_that_endpoint() {
    let w = World::start(&["orders-prod", "billing-prod"], &[], &[]).await;
    w.write("two.yaml", TWO);
    let f = ["-f", "two.yaml"];
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    assert_eq!(addresses(&w, "two.yaml").len(), 9);
    let billing_vpce = w.state("two.yaml")["resources"]["endpoints.billing.vpc_endpoint"]["id"]
        .as_str()
        .expect("billing's VPC endpoint id")
        .to_owned();

    let destroy = w.expect(
        0,
        &[
            "destroy",
            f[0],
            f[1],
            "-target=endpoints.orders",
            "--auto-approve",
        ],
    );
    assert!(destroy.stderr.contains(WARNING), "{}", destroy.all());
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 0 added, 0 changed, 5 destroyed."),
        "{}",
        destroy.all()
    );
    let recorded = addresses(&w, "two.yaml");
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    assert!(
        recorded.iter().all(|a| a.starts_with("endpoints.billing.")),
        "{recorded:?}"
    );
    let live: Vec<String> = w
        .live_vpc_endpoints()
        .await
        .iter()
        .filter_map(|v| v.vpc_endpoint_id().map(str::to_owned))
        .collect();
    assert_eq!(
        live,
        vec![billing_vpce],
        "only billing's VPC endpoint is left"
    );

    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(w.live_vpc_endpoints().await.is_empty());
    assert!(addresses(&w, "two.yaml").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_only_forgets_a_vpc_endpoint_deleted_in_aws() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("refresh.yaml", EXAMPLE);
    let f = ["-f", "refresh.yaml"];
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let quiet = w.expect(
        0,
        &["plan", f[0], f[1], "-refresh-only", "--detailed-exitcode"],
    );
    assert!(
        quiet
            .stdout
            .contains("No changes. Your infrastructure still matches the configuration."),
        "{}",
        quiet.all()
    );

    let state = w.state("refresh.yaml");
    let vpce = state["resources"]["endpoints.orders.vpc_endpoint"]["id"]
        .as_str()
        .expect("VPC endpoint id")
        .to_owned();
    w.ec2()
        .await
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&vpce)
        .send()
        .await
        .expect("delete in moto");

    let plan = w.expect(
        2,
        &["plan", f[0], f[1], "--refresh-only", "--detailed-exitcode"],
    );
    assert!(
        plan.stdout
            .contains("Note: Objects have changed outside of privlink"),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout
            .contains("# endpoints.orders.vpc_endpoint has been deleted (AWS no longer has it)"),
        "{}",
        plan.all()
    );
    assert!(!plan.stdout.contains("will be created"), "{}", plan.all());
    let json = w.expect(0, &["plan", f[0], f[1], "-refresh-only", "--json"]);
    let parsed: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(parsed["refresh_only"], true);

    let moto_before = moto_snapshot(&w).await;
    let atlas_before = atlas_writes(&w).await;
    let serial = w.state("refresh.yaml")["serial"].as_u64().unwrap();
    let apply = w.expect(0, &["apply", f[0], f[1], "-refresh-only", "--auto-approve"]);
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed."),
        "{}",
        apply.all()
    );
    let after = w.state("refresh.yaml");
    assert_eq!(
        after["serial"].as_u64().unwrap(),
        serial + 1,
        "one state write"
    );
    assert!(
        after["resources"]
            .get("endpoints.orders.vpc_endpoint")
            .is_none(),
        "{after}"
    );
    assert_eq!(moto_snapshot(&w).await, moto_before, "moto is unchanged");
    assert_eq!(atlas_writes(&w).await, atlas_before, "no Atlas write");

    let again = w.expect(
        0,
        &["plan", f[0], f[1], "-refresh-only", "--detailed-exitcode"],
    );
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    let next = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        next.stdout
            .contains("# endpoints.orders.vpc_endpoint will be created"),
        "{}",
        next.all()
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    assert_eq!(w.live_vpc_endpoints().await.len(), 1);
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(w.live_vpc_endpoints().await.is_empty());
}

/// Two dedicated-cluster endpoints sharing the region's endpoint service.
const SHARED: &str = r#"
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  east-a:
    atlas: { dedicated_clusters: true }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_A}"]
      security_group: { allow_from: [10.0.0.0/16] }
  east-b:
    atlas: { dedicated_clusters: true }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_B}"]
      security_group: { allow_from: [10.0.0.0/16] }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_targeted_endpoint_brings_the_shared_service_and_destroy_leaves_it() {
    let w = World::start(&[], &["main"], &[]).await;
    w.write("shared.yaml", SHARED);
    let f = ["-f", "shared.yaml"];
    w.expect(
        0,
        &[
            "apply",
            f[0],
            f[1],
            "-target",
            "endpoints.east-a",
            "--auto-approve",
        ],
    );
    let recorded = addresses(&w, "shared.yaml");
    assert!(
        recorded.contains(&"endpoint_services.aws.us-east-1".to_owned()),
        "the shared dependency is created: {recorded:?}"
    );
    assert!(
        !recorded.iter().any(|a| a.starts_with("endpoints.east-b.")),
        "{recorded:?}"
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let all = addresses(&w, "shared.yaml").len();

    w.expect(
        0,
        &[
            "destroy",
            f[0],
            f[1],
            "-target",
            "endpoints.east-a",
            "--auto-approve",
        ],
    );
    let left = addresses(&w, "shared.yaml");
    assert!(
        left.contains(&"endpoint_services.aws.us-east-1".to_owned()),
        "a dependency is not a dependent: {left:?}"
    );
    assert!(
        !left.iter().any(|a| a.starts_with("endpoints.east-a.")),
        "{left:?}"
    );
    assert!(left.len() < all);
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    assert!(addresses(&w, "shared.yaml").is_empty());
    assert!(w.live_vpc_endpoints().await.is_empty());
}
