//! The preflight end to end: a file that names a serverless instance, a
//! cluster region, a project, a VPC, a subnet or a client security group
//! that does not exist stops `plan` and `apply` with an error naming it and
//! what is there instead, before any create call; a plan with nothing to
//! create reads nothing more; and a state left by a create that failed on
//! such a name (written here as an older privlink left it) is cleared by
//! `destroy`.

use serde_json::{Value, json};

use crate::support::moto;
use crate::support::world::{PROJECT, Run, World};

/// One serverless endpoint, with the world's network unless replaced.
fn serverless(project: &str, instance: &str, vpc: &str, subnets: &str, clients: &str) -> String {
    format!(
        "version: 1\natlas:\n  project_id: {project}\naws:\n  region: us-east-1\nendpoints:\n  orders:\n    atlas: {{serverless_instance: {instance}}}\n    aws:\n      vpc_id: \"{vpc}\"\n      subnet_ids: [{subnets}]\n      security_group: {{allow_from: [10.0.0.0/16]}}\n      client_security_groups: [{clients}]\n"
    )
}

const VPC: &str = "${PRIVLINK_VPC_ID}";
const SUBNETS: &str = "\"${PRIVLINK_SUBNET_A}\", \"${PRIVLINK_SUBNET_B}\"";
const CLIENTS: &str = "\"${PRIVLINK_CLIENT_SG}\"";

/// The world's own file for the serverless instance `orders-prod`.
fn good() -> String {
    serverless(PROJECT, "orders-prod", VPC, SUBNETS, CLIENTS)
}

/// `plan` and `apply` of `file` both fail naming every one of `wanted`;
/// Atlas saw no write and moto holds no VPC endpoint and no group of
/// privlink's; returns the plan's run.
async fn refused(w: &World, file: &str, wanted: &[&str]) -> Run {
    w.write("typo.yaml", file);
    w.sandbox.clear_requests().await;
    let plan = w.expect(1, &["plan", "-f", "typo.yaml"]);
    let apply = w.expect(1, &["apply", "-f", "typo.yaml", "--auto-approve"]);
    for run in [&plan, &apply] {
        for want in wanted {
            assert!(run.stderr.contains(want), "wanted {want:?}:\n{}", run.all());
        }
        assert!(
            !run.stdout.contains("to add"),
            "no plan is shown:\n{}",
            run.all()
        );
    }
    let log = w.sandbox.requests().await;
    let writes: Vec<&Value> = log.iter().filter(|r| r["method"] != "GET").collect();
    assert!(writes.is_empty(), "Atlas writes: {writes:?}");
    assert!(w.live_vpc_endpoints().await.is_empty(), "a VPC endpoint");
    assert!(w.privlink_groups().await.is_empty(), "a security group");
    let path = w.state_path("typo.yaml");
    if path.exists() {
        let state = w.state("typo.yaml");
        assert_eq!(state["resources"], json!({}), "state: {state}");
    }
    plan
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misspelt_serverless_instance_stops_the_plan() {
    let w = World::start(&["orders-prod", "billing-prod"], &[], &[]).await;
    let file = serverless(PROJECT, "orders-prdo", VPC, SUBNETS, CLIENTS);
    refused(
        &w,
        &file,
        &[&format!(
            "endpoints.orders: serverless instance 'orders-prdo' not found in project {PROJECT}; instances there: billing-prod, orders-prod"
        )],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_serverless_instance_in_another_region_stops_the_plan() {
    let seed = format!("{PROJECT}/eu-orders@EU_WEST_1");
    let w = World::start(&[], &[], &["--serverless-instance", &seed]).await;
    let file = serverless(PROJECT, "eu-orders", VPC, SUBNETS, CLIENTS);
    refused(
        &w,
        &file,
        &["endpoints.orders: serverless instance 'eu-orders' is in Atlas region EU_WEST_1, but the endpoint is in AWS region us-east-1 (US_EAST_1)"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_cluster_in_the_endpoint_region_stops_the_plan() {
    let seed = format!("{PROJECT}/eu-main@EU_WEST_1");
    let w = World::start(&[], &[], &["--cluster", &seed]).await;
    let file = format!(
        "version: 1\natlas:\n  project_id: {PROJECT}\naws:\n  region: us-east-1\nendpoints:\n  east:\n    atlas: {{dedicated_clusters: true}}\n    aws:\n      vpc_id: \"{VPC}\"\n      subnet_ids: [{SUBNETS}]\n      security_group: {{allow_from: [10.0.0.0/16]}}\n"
    );
    let plan = refused(
        &w,
        &file,
        &[&format!(
            "no cluster of project {PROJECT} is in AWS region us-east-1 (US_EAST_1); clusters there: eu-main (EU_WEST_1)"
        )],
    )
    .await;
    // The shared endpoint service and the endpoint's link: told once.
    assert_eq!(
        plan.stderr.matches("no cluster of project").count(),
        1,
        "{}",
        plan.all()
    );
    assert!(plan.stderr.contains("endpoints.east"), "{}", plan.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misspelt_project_stops_the_plan_in_both_flows() {
    let w = World::start(&["orders-prod"], &["main"], &[]).await;
    let typo = "5f7cac1adf5d6c6306f4b2ff";
    let want = format!("atlas.project_id: Atlas project {typo} not found");
    refused(
        &w,
        &serverless(typo, "orders-prod", VPC, SUBNETS, CLIENTS),
        &[&want],
    )
    .await;
    let dedicated = format!(
        "version: 1\natlas:\n  project_id: {typo}\naws:\n  region: us-east-1\nendpoints:\n  east:\n    atlas: {{dedicated_clusters: true}}\n    aws:\n      vpc_id: \"{VPC}\"\n      subnet_ids: [{SUBNETS}]\n      security_group: {{allow_from: [10.0.0.0/16]}}\n"
    );
    refused(&w, &dedicated, &[&want]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misspelt_vpc_stops_the_plan() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    let file = serverless(
        PROJECT,
        "orders-prod",
        "vpc-0123456789abcdef0",
        SUBNETS,
        CLIENTS,
    );
    let plan = refused(
        &w,
        &file,
        &["endpoints.orders: VPC 'vpc-0123456789abcdef0' not found in AWS region us-east-1; VPCs there: "],
    )
    .await;
    assert!(
        plan.stderr.contains(&w.vpc),
        "the VPCs there: {}",
        plan.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_subnet_and_a_misspelt_client_group_are_both_named() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    let ec2 = w.ec2().await;
    let other_vpc = moto::create_vpc(&ec2, "10.9.0.0/16").await;
    let foreign = moto::create_subnet(&ec2, &other_vpc, "10.9.1.0/24").await;
    let subnets = format!("\"${{PRIVLINK_SUBNET_A}}\", {foreign}");
    let file = serverless(
        PROJECT,
        "orders-prod",
        VPC,
        &subnets,
        "sg-0123456789abcdef0",
    );
    let plan = refused(
        &w,
        &file,
        &[
            &format!(
                "endpoints.orders: subnet '{foreign}' is not in VPC {} (it is in VPC {other_vpc})",
                w.vpc
            ),
            &format!(
                "endpoints.orders: client security group 'sg-0123456789abcdef0' is not in VPC {} (not found in AWS region us-east-1)",
                w.vpc
            ),
        ],
    )
    .await;
    assert!(
        plan.stderr.contains(&w.subnets[0]),
        "subnets there: {}",
        plan.all()
    );
    assert!(
        plan.stderr.contains(&w.client_sg),
        "groups there: {}",
        plan.all()
    );
}

/// The preflight's reads of the sandbox's lists of serverless instances
/// and clusters (answered, Digest challenges left out).
async fn list_reads(w: &World) -> Vec<Value> {
    w.sandbox
        .requests()
        .await
        .into_iter()
        .filter(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            (path.ends_with("/serverless") || path.ends_with("/clusters")) && r["status"] != 401
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_list_per_project_and_none_for_a_plan_with_nothing_to_create() {
    let w = World::start(&["orders-prod", "billing-prod"], &[], &[]).await;
    let billing = "  billing:\n    atlas: {serverless_instance: billing-prod}\n    aws:\n      vpc_id: \"${PRIVLINK_VPC_ID}\"\n      subnet_ids: [\"${PRIVLINK_SUBNET_B}\"]\n      security_group: {allow_from: [10.0.0.0/16]}\n";
    w.write("good.yaml", &format!("{}{billing}", good()));
    w.sandbox.clear_requests().await;
    w.expect(2, &["plan", "-f", "good.yaml", "--detailed-exitcode"]);
    let reads = list_reads(&w).await;
    assert_eq!(reads.len(), 1, "two instances, one project: {reads:?}");
    w.expect(0, &["apply", "-f", "good.yaml", "--auto-approve"]);
    w.sandbox.clear_requests().await;
    w.expect(0, &["plan", "-f", "good.yaml", "--detailed-exitcode"]);
    let reads = list_reads(&w).await;
    assert!(reads.is_empty(), "lists read for nothing: {reads:?}");
    w.expect(0, &["destroy", "-f", "good.yaml", "--auto-approve"]);
}

/// A state as a privlink without the preflight left it, holding
/// `resources`.
fn old_state(resources: Value) -> Value {
    json!({
        "version": 1,
        "serial": 3,
        "lineage": "0b8f9a3e-4c1d-4e2f-9a7b-3c5d6e7f8091",
        "stack": "failed",
        "resources": resources,
    })
}

const GONE_PROJECT: &str = "5f7cac1adf5d6c6306f4b2ff";

/// A serverless endpoint in state.
fn endpoint(project: &str, instance: &str, id: Value, status: &str) -> Value {
    json!({
        "kind": "atlas_serverless_endpoint",
        "id": id,
        "desired": {"project_id": project, "instance": instance, "comment": null},
        "attributes": {},
        "dependencies": [],
        "status": status,
    })
}

/// Writes `state` for `failed.yaml`, then: destroy succeeds, its plan says
/// why each object is only forgotten, the state is empty, and a second
/// destroy has nothing to do.
async fn cleared(w: &World, state: Value, reasons: &[&str]) {
    w.write(
        "failed.yaml",
        &serverless(PROJECT, "orders-prdo", VPC, SUBNETS, CLIENTS),
    );
    let path = w.state_path("failed.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let destroy = w.expect(0, &["destroy", "-f", "failed.yaml", "--auto-approve"]);
    for why in reasons
        .iter()
        .chain(&["treated as gone, only removed from state"])
    {
        assert!(
            destroy.stdout.contains(why),
            "wanted {why:?}:\n{}",
            destroy.all()
        );
    }
    assert_eq!(w.state("failed.yaml")["resources"], json!({}));
    let again = w.expect(0, &["destroy", "-f", "failed.yaml", "--auto-approve"]);
    assert!(!again.all().contains("FAILED"), "{}", again.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_forgets_serverless_endpoints_whose_instance_or_project_is_missing() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    // Creates that failed on a misspelt serverless instance and project
    // (intents, no id), and an endpoint whose instance was deleted since.
    let state = old_state(json!({
        "endpoints.orders.atlas_endpoint":
            endpoint(PROJECT, "orders-prdo", Value::Null, "creating"),
        "endpoints.lost.atlas_endpoint":
            endpoint(GONE_PROJECT, "orders-prod", Value::Null, "creating"),
        "endpoints.old.atlas_endpoint":
            endpoint(PROJECT, "deleted-since", json!("6a0b1c2d3e4f5a6b7c8d9e0f"), "ready"),
    }));
    let reasons = [
        "serverless instance 'orders-prdo' not found in project",
        "serverless instance 'deleted-since' not found in project",
        "Atlas project 5f7cac1adf5d6c6306f4b2ff not found",
    ];
    cleared(&w, state, &reasons).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_forgets_an_endpoint_service_whose_project_is_missing() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    let state = old_state(json!({
        "endpoint_services.aws.us-east-1": {
            "kind": "atlas_endpoint_service",
            "id": "6a0b1c2d3e4f5a6b7c8d9e01",
            "desired": {"project_id": GONE_PROJECT, "region": "us-east-1"},
            "attributes": {},
            "dependencies": [],
            "status": "ready",
        },
    }));
    cleared(
        &w,
        state,
        &["Atlas project 5f7cac1adf5d6c6306f4b2ff not found"],
    )
    .await;
}
