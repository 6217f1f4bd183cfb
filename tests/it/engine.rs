//! End to end: the real `privlink` binary against atlas-sandbox (which checks
//! every link against moto) and moto_server, for the seed's serverless flow.

use serde_json::Value;

use crate::support::world::{PRIVATE_KEY, World};

const EXAMPLE: &str = include_str!("../../examples/serverless-aws.yaml");

/// Three endpoints over two serverless instances.
const THREE: &str = r#"
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
  reports:
    atlas: { serverless_instance: orders-prod }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_A}"]
      security_group: { allow_from: [10.0.0.0/16] }
  billing:
    atlas: { serverless_instance: billing-prod, comment: billing }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_B}"]
      client_security_groups: ["${PRIVLINK_CLIENT_SG}"]
"#;

fn resources(state: &Value) -> &serde_json::Map<String, Value> {
    state["resources"].as_object().expect("resources")
}

fn id_of<'a>(state: &'a Value, address: &str) -> &'a str {
    state["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{address} has no id in state"))
}

/// Checks moto and the sandbox against a state after a successful apply of
/// `endpoints` (name, subnets, expects client egress).
async fn check_applied(w: &World, config: &str, endpoints: &[(&str, usize, bool)]) {
    let state = w.state(config);
    let atlas = w.control_get("/__sandbox/state").await;
    let vpces = w.live_vpc_endpoints().await;
    assert_eq!(
        vpces.len(),
        endpoints.len(),
        "one VPC endpoint per endpoint"
    );
    let client = w.group(&w.client_sg).await;
    for (name, subnets, egress) in endpoints {
        let vpce_id = id_of(&state, &format!("endpoints.{name}.vpc_endpoint"));
        let sg_id = id_of(&state, &format!("endpoints.{name}.security_group"));
        let atlas_id = id_of(&state, &format!("endpoints.{name}.atlas_endpoint"));
        let v = vpces
            .iter()
            .find(|v| v.vpc_endpoint_id() == Some(vpce_id))
            .expect("the VPC endpoint in state exists in moto");
        // The sandbox issued the service name; moto's endpoint uses it.
        let text = atlas.to_string();
        assert!(text.contains(atlas_id), "sandbox knows {atlas_id}");
        let service = state["resources"][format!("endpoints.{name}.atlas_endpoint")]["attributes"]
            ["endpoint_service_name"]
            .as_str()
            .unwrap();
        assert_eq!(v.service_name(), Some(service));
        assert_eq!(v.subnet_ids().len(), *subnets);
        let groups: Vec<&str> = v.groups().iter().filter_map(|g| g.group_id()).collect();
        assert_eq!(groups, vec![sg_id], "the endpoint uses privlink's group");
        assert_eq!(v.network_interface_ids().len(), *subnets);
        // Link: AVAILABLE with this VPC endpoint id.
        let link = &state["resources"][format!("endpoints.{name}.link")]["attributes"];
        assert_eq!(link["status"], "AVAILABLE");
        assert_eq!(link["vpc_endpoint_id"], vpce_id);
        // Seed step 6: the endpoint group admits traffic.
        let sg = w.group(sg_id).await;
        assert!(!sg.ip_permissions().is_empty(), "ingress rules on {sg_id}");
        // Seed step 5: egress from the client group to each endpoint IP.
        let cidrs = state["resources"][format!("endpoints.{name}.vpc_endpoint")]["attributes"]
            ["private_ip_cidrs"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(cidrs.len(), *subnets);
        for c in cidrs {
            let c = c.as_str().unwrap();
            let found = client
                .ip_permissions_egress()
                .iter()
                .any(|p| p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(c)));
            assert_eq!(found, *egress, "client egress rule to {c}");
        }
    }
}

async fn check_destroyed(w: &World, config: &str) {
    assert!(
        w.live_vpc_endpoints().await.is_empty(),
        "no VPC endpoint left in moto"
    );
    assert!(
        w.privlink_groups().await.is_empty(),
        "no privlink security group left in moto"
    );
    let client = w.group(&w.client_sg).await;
    for p in client.ip_permissions_egress() {
        for r in p.ip_ranges() {
            assert!(
                !r.cidr_ip().unwrap_or("").ends_with("/32"),
                "egress rule left on the client group: {r:?}"
            );
        }
    }
    let atlas = w.control_get("/__sandbox/state").await;
    let text = atlas.to_string();
    assert!(
        !text.contains("\"_id\"") && !text.contains("RESERVED") && !text.contains("AVAILABLE\""),
        "no Atlas endpoint left: {text}"
    );
    let state = w.state(config);
    assert!(resources(&state).is_empty(), "state is empty: {state}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serverless_example_applies_settles_and_destroys() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("serverless-aws.yaml", EXAMPLE);
    let f = ["-f", "serverless-aws.yaml"];

    w.expect(0, &["validate", f[0], f[1]]);
    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        plan.stdout
            .contains("Plan: 5 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout.contains("(known after apply)"),
        "{}",
        plan.all()
    );

    let apply = w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(apply.stdout.contains("Apply complete!"), "{}", apply.all());
    assert!(
        apply.stderr.contains("waiting"),
        "progress while waiting:\n{}",
        apply.all()
    );
    check_applied(&w, "serverless-aws.yaml", &[("orders", 2, true)]).await;

    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());

    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    check_destroyed(&w, "serverless-aws.yaml").await;

    for run in [&plan, &apply, &again] {
        assert!(!run.all().contains(PRIVATE_KEY), "the private key leaked");
    }
    let state_text = std::fs::read_to_string(w.state_path("serverless-aws.yaml")).unwrap();
    assert!(!state_text.contains(PRIVATE_KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn three_endpoints_over_two_instances() {
    let w = World::start(&["orders-prod", "billing-prod"], &[], &[]).await;
    w.write("three.yaml", THREE);
    let f = ["-f", "three.yaml"];
    let apply = w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(
        apply.stdout.contains("Apply complete! Resources: 14 added"),
        "{}",
        apply.all()
    );
    check_applied(
        &w,
        "three.yaml",
        &[
            ("orders", 2, true),
            ("reports", 1, false),
            ("billing", 1, true),
        ],
    )
    .await;
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    check_destroyed(&w, "three.yaml").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vpc_endpoint_deleted_in_aws_is_planned_and_repaired() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("drift.yaml", EXAMPLE);
    let f = ["-f", "drift.yaml"];
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("drift.yaml");
    let vpce = id_of(&state, "endpoints.orders.vpc_endpoint").to_owned();
    w.ec2()
        .await
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&vpce)
        .send()
        .await
        .expect("delete in moto");

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        plan.stdout.contains(
            "# endpoints.orders.vpc_endpoint will be created (deleted outside privlink (AWS"
        ),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout.contains("endpoints.orders.vpc_endpoint (AWS)"),
        "drift names the side:\n{}",
        plan.all()
    );

    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    check_applied(&w, "drift.yaml", &[("orders", 2, true)]).await;
    let state = w.state("drift.yaml");
    assert_ne!(id_of(&state, "endpoints.orders.vpc_endpoint"), vpce);
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    check_destroyed(&w, "drift.yaml").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_egress_rule_revoked_in_aws_is_repaired() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("egress.yaml", EXAMPLE);
    let f = ["-f", "egress.yaml"];
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("egress.yaml");
    let address = format!("endpoints.orders.client_egress[{}]", w.client_sg);
    let cidrs: Vec<String> = state["resources"][&address]["attributes"]["cidrs"]
        .as_array()
        .expect("recorded cidrs")
        .iter()
        .map(|c| c.as_str().expect("a cidr").to_owned())
        .collect();
    assert!(!cidrs.is_empty(), "{state}");
    let revoked = &cidrs[0];
    w.ec2()
        .await
        .revoke_security_group_egress()
        .group_id(&w.client_sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip(revoked)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("revoke in moto");
    let has_rule = |g: &aws_sdk_ec2::types::SecurityGroup| {
        g.ip_permissions_egress().iter().any(|p| {
            p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some(revoked.as_str()))
        })
    };
    assert!(!has_rule(&w.group(&w.client_sg).await), "revoked in moto");

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(plan.stdout.contains(&address), "{}", plan.all());
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(has_rule(&w.group(&w.client_sg).await), "authorized again");
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    check_destroyed(&w, "egress.yaml").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_rule_in_privlinks_group_is_removed() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("foreign.yaml", EXAMPLE);
    let f = ["-f", "foreign.yaml"];
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("foreign.yaml");
    let sg = id_of(&state, "endpoints.orders.security_group").to_owned();
    let ingress_before = w.group(&sg).await.ip_permissions().len();
    w.ec2()
        .await
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("authorize in moto");
    let ssh = |g: &aws_sdk_ec2::types::SecurityGroup| {
        g.ip_permissions().iter().any(|p| {
            p.from_port() == Some(22)
                && p.ip_ranges()
                    .iter()
                    .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
        })
    };
    assert!(ssh(&w.group(&sg).await), "added in moto");

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        plan.stdout.contains("endpoints.orders.security_group"),
        "{}",
        plan.all()
    );
    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let group = w.group(&sg).await;
    assert!(!ssh(&group), "the foreign rule is revoked: {group:?}");
    assert_eq!(group.ip_permissions().len(), ingress_before, "{group:?}");
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    check_destroyed(&w, "foreign.yaml").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_link_is_reported_recorded_and_converges_next_time() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("fail.yaml", EXAMPLE);
    let f = ["-f", "fail.yaml"];
    let message = "simulated: the interface endpoint could not be accepted";
    w.control_put(
        "/__sandbox/faults",
        serde_json::json!({"link_failures": {"count": 1, "message": message}}),
    )
    .await;

    let failed = w.expect(1, &["apply", f[0], f[1], "--auto-approve"]);
    assert!(
        failed.all().contains(message),
        "Atlas's errorMessage is shown:\n{}",
        failed.all()
    );
    assert!(
        failed
            .stdout
            .contains("skipped: endpoints.orders.client_egress"),
        "{}",
        failed.all()
    );
    let state = w.state("fail.yaml");
    let r = resources(&state);
    for a in ["atlas_endpoint", "security_group", "vpc_endpoint"] {
        assert_eq!(
            r[&format!("endpoints.orders.{a}")]["status"],
            "ready",
            "{a}: {state}"
        );
    }
    assert_eq!(r["endpoints.orders.link"]["status"], "tainted", "{state}");
    assert!(!r.contains_key(&format!("endpoints.orders.client_egress[{}]", w.client_sg)));

    let plan = w.expect(2, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(
        plan.stdout.contains("FAILED"),
        "the plan says why it replaces:\n{}",
        plan.all()
    );

    w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    check_applied(&w, "fail.yaml", &[("orders", 2, true)]).await;
    let again = w.expect(0, &["plan", f[0], f[1], "--detailed-exitcode"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
    check_destroyed(&w, "fail.yaml").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_makes_no_api_call_and_changes_nothing() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write(
        "bad.yaml",
        "version: 1\natlas:\n  project_id: 5f7cac1adf5d6c6306f4b280\naws:\n  region: us-east-1\nendpoints:\n  orders:\n    atlas: { serverless_instance: orders-prod }\n    aws:\n      vpc_id: vpc-nothex\n      subnet_ids: [subnet-0a1b2c3d]\n",
    );
    for args in [
        vec!["validate", "-f", "bad.yaml"],
        vec!["plan", "-f", "bad.yaml"],
        vec!["apply", "-f", "bad.yaml", "--auto-approve"],
        vec!["destroy", "-f", "bad.yaml", "--auto-approve"],
    ] {
        let run = w.expect(1, &args);
        assert!(
            run.stderr.contains("bad.yaml:10:"),
            "file and line:\n{}",
            run.all()
        );
        assert!(run.stderr.contains("vpc-nothex"), "{}", run.all());
    }
    let log = w.control_get("/__sandbox/requests").await;
    assert_eq!(
        log.as_array().map(Vec::len),
        Some(0),
        "no Atlas call: {log}"
    );
    assert!(!w.state_path("bad.yaml").exists(), "no state written");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_terminal_or_approval_refuses() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("ask.yaml", EXAMPLE);
    let run = w.expect(1, &["apply", "-f", "ask.yaml"]);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.all());
    assert!(w.live_vpc_endpoints().await.is_empty());
    let log = w.control_get("/__sandbox/requests").await;
    let writes = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET")
        .count();
    assert_eq!(writes, 0, "nothing changed in Atlas: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_plan_applies_once_and_is_refused_when_stale() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("saved.yaml", EXAMPLE);
    let f = ["-f", "saved.yaml"];
    w.expect(0, &["plan", f[0], f[1], "--out", "saved.plan"]);
    let json = w.expect(0, &["plan", f[0], f[1], "--json"]);
    let parsed: Value = serde_json::from_str(&json.stdout).expect("plan --json is JSON");
    assert_eq!(parsed["format"], 1);
    assert_eq!(parsed["changes"].as_array().unwrap().len(), 5);
    w.expect(0, &["apply", "saved.plan", f[0], f[1]]);
    let stale = w.expect(1, &["apply", "saved.plan", f[0], f[1]]);
    assert!(stale.stderr.contains("make a new plan"), "{}", stale.all());
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
}
