//! Ownership that cannot be confused, end to end against atlas-sandbox and
//! moto: two states of one file never adopt or delete each other's
//! objects (and the plan says why), an object another state owns is
//! imported only with `--force`, and two stacks with dedicated endpoints in
//! one region share that region's endpoint service, which goes with its
//! last user whatever the order of their destroys.

use privlink::providers::atlas::{AtlasClient, ClientOptions, Credentials};
use serde_json::Value;

use crate::support::world::{PRIVATE_KEY, PROJECT, Run, World};

/// One serverless endpoint with a security group privlink owns and client
/// egress: every kind of the serverless flow.
const FILE: &str = r#"
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
"#;

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

/// `privlink ARGS -f FILE --state STATE`, which must exit with `code`.
fn run(w: &World, code: i32, args: &[&str], file: &str, state: &str) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-f", file, "--state", state]);
    w.expect(code, &all)
}

fn read_state(w: &World, state: &str) -> Value {
    let text = std::fs::read_to_string(w.dir.path().join(state)).expect("state file");
    serde_json::from_str(&text).expect("state JSON")
}

fn id_of(state: &Value, address: &str) -> String {
    state["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{address} has no id: {state}"))
        .to_owned()
}

async fn group_exists(w: &World, id: &str) -> bool {
    let out = w
        .ec2()
        .await
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(id)
                .build(),
        )
        .send()
        .await
        .expect("describe groups");
    !out.security_groups().is_empty()
}

async fn serverless_ids(w: &World) -> Vec<String> {
    atlas(w)
        .list_serverless_endpoints(PROJECT, "orders-prod")
        .await
        .expect("list endpoints")
        .into_iter()
        .filter(|e| e.status != "DELETING")
        .map(|e| e.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_states_of_one_file_never_adopt_or_delete_each_others_objects() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("orders.yaml", FILE);
    let (a, b) = ("state/a.state.json", "state/b.state.json");
    run(&w, 0, &["apply", "--auto-approve"], "orders.yaml", a);
    let state_a = read_state(&w, a);
    let lineage_a = state_a["lineage"].as_str().unwrap().to_owned();
    let group_a = id_of(&state_a, "endpoints.orders.security_group");
    let vpce_a = id_of(&state_a, "endpoints.orders.vpc_endpoint");
    let endpoint_a = id_of(&state_a, "endpoints.orders.atlas_endpoint");
    // B: the group's create fails (its name is taken by A's group) and
    // leaves an entry without id.
    let failed = run(&w, 1, &["apply", "--auto-approve"], "orders.yaml", b);
    let state_b = read_state(&w, b);
    let entry = &state_b["resources"]["endpoints.orders.security_group"];
    assert!(entry["id"].is_null(), "{}\n{state_b}", failed.all());

    let plan = run(&w, 0, &["plan"], "orders.yaml", b);
    let destroy_plan = run(&w, 0, &["plan", "--destroy"], "orders.yaml", b);
    let destroyed = run(&w, 0, &["destroy", "--auto-approve"], "orders.yaml", b);

    // Nothing of A was adopted or deleted: A's plan has no changes.
    assert!(group_exists(&w, &group_a).await, "{}", destroyed.all());
    let vpces: Vec<String> = w
        .live_vpc_endpoints()
        .await
        .iter()
        .filter_map(|v| v.vpc_endpoint_id().map(str::to_owned))
        .collect();
    assert_eq!(vpces, vec![vpce_a.clone()]);
    assert_eq!(serverless_ids(&w).await, vec![endpoint_a.clone()]);
    let again = run(&w, 0, &["plan", "--detailed-exitcode"], "orders.yaml", a);
    assert!(again.stdout.contains("No changes."), "{}", again.all());

    // B's plans said whose the group carrying this address's tags is.
    let why = format!("{group_a} belongs to another privlink state (owner {lineage_a})");
    assert!(
        plan.stdout.contains(&format!("{why}: not adopted")),
        "{}",
        plan.all()
    );
    let left = format!("{why}: not deleted, only removed from state");
    assert!(
        destroy_plan.stdout.contains(&left),
        "{}",
        destroy_plan.all()
    );
    assert!(destroyed.stdout.contains(&left), "{}", destroyed.all());
    let group = w.group(&group_a).await;
    let owner = group
        .tags()
        .iter()
        .find(|t| t.key() == Some("privlink:owner"))
        .and_then(|t| t.value());
    assert_eq!(owner, Some(lineage_a.as_str()), "the group names its owner");

    run(&w, 0, &["destroy", "--auto-approve"], "orders.yaml", a);
    assert!(!group_exists(&w, &group_a).await);
    assert!(serverless_ids(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_made_before_owners_is_never_adopted_and_its_own_state_still_deletes_it() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("orders.yaml", FILE);
    let (a, b) = ("state/a.state.json", "state/b.state.json");
    run(&w, 0, &["apply", "--auto-approve"], "orders.yaml", a);
    let group_a = id_of(&read_state(&w, a), "endpoints.orders.security_group");
    // As an older build tagged it: stack and address, no owner.
    w.ec2()
        .await
        .delete_tags()
        .resources(&group_a)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("privlink:owner")
                .build(),
        )
        .send()
        .await
        .expect("delete tag");

    run(&w, 1, &["apply", "--auto-approve"], "orders.yaml", b);
    let destroyed = run(&w, 0, &["destroy", "--auto-approve"], "orders.yaml", b);
    assert!(group_exists(&w, &group_a).await, "{}", destroyed.all());
    assert!(
        destroyed.stdout.contains(&format!(
            "{group_a} carries this address's tags but no owner (made before owners were recorded): not deleted, only removed from state"
        )),
        "{}",
        destroyed.all()
    );
    // Its own state knows it by id: nothing changes, and its destroy deletes it.
    let again = run(&w, 0, &["plan", "--detailed-exitcode"], "orders.yaml", a);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    run(&w, 0, &["destroy", "--auto-approve"], "orders.yaml", a);
    assert!(!group_exists(&w, &group_a).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn importing_another_states_object_is_refused_unless_forced() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("orders.yaml", FILE);
    let (a, b) = ("state/a.state.json", "state/b.state.json");
    run(&w, 0, &["apply", "--auto-approve"], "orders.yaml", a);
    let state_a = read_state(&w, a);
    let lineage_a = state_a["lineage"].as_str().unwrap().to_owned();
    let group_a = id_of(&state_a, "endpoints.orders.security_group");
    let endpoint_a = id_of(&state_a, "endpoints.orders.atlas_endpoint");

    let address = "endpoints.orders.security_group";
    let refused = run(&w, 1, &["import", address, &group_a], "orders.yaml", b);
    assert!(
        refused.stderr.contains(&format!(
            "{group_a} belongs to another privlink state (owner {lineage_a})"
        )) && refused.stderr.contains("--force"),
        "{}",
        refused.all()
    );
    assert!(!w.dir.path().join(b).exists(), "nothing recorded");
    // The Atlas endpoint's marker names the owner by its first 8 hex digits.
    let endpoint = "endpoints.orders.atlas_endpoint";
    let refused = run(&w, 1, &["import", endpoint, &endpoint_a], "orders.yaml", b);
    let short = &lineage_a[..8];
    assert!(
        refused.stderr.contains(&format!("(owner {short})")),
        "{}",
        refused.all()
    );

    run(
        &w,
        0,
        &["import", address, &group_a, "--force"],
        "orders.yaml",
        b,
    );
    assert_eq!(id_of(&read_state(&w, b), address), group_a);
    // Imported anyway, it is still A's: B's destroy leaves it in place.
    let destroyed = run(&w, 0, &["destroy", "--auto-approve"], "orders.yaml", b);
    assert!(
        destroyed.stdout.contains(&format!(
            "{group_a} belongs to another privlink state (owner {lineage_a}): not deleted, only removed from state"
        )),
        "{}",
        destroyed.all()
    );
    assert!(group_exists(&w, &group_a).await, "{}", destroyed.all());
    let again = run(&w, 0, &["plan", "--detailed-exitcode"], "orders.yaml", a);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    run(&w, 0, &["destroy", "--auto-approve"], "orders.yaml", a);
    assert!(!group_exists(&w, &group_a).await);
}

fn dedicated(name: &str, subnet: &str) -> String {
    format!(
        "version: 1\natlas:\n  project_id: {PROJECT}\naws:\n  region: us-east-1\nendpoints:\n  {name}:\n    atlas: {{dedicated_clusters: true}}\n    aws:\n      vpc_id: \"${{PRIVLINK_VPC_ID}}\"\n      subnet_ids: [\"${{{subnet}}}\"]\n      security_group: {{allow_from: [10.0.0.0/16]}}\n"
    )
}

async fn service_ids(w: &World) -> Vec<String> {
    atlas(w)
        .list_endpoint_services(PROJECT)
        .await
        .expect("list services")
        .into_iter()
        .filter(|s| s.status != "DELETING")
        .map(|s| s.id)
        .collect()
}

const SERVICE: &str = "endpoint_services.aws.us-east-1";

/// Applies stack alpha, then stack beta, which uses alpha's service; both
/// end with the one service in their state.
async fn apply_both(w: &World) -> String {
    w.write("alpha.yaml", &dedicated("east-a", "PRIVLINK_SUBNET_A"));
    w.write("beta.yaml", &dedicated("east-b", "PRIVLINK_SUBNET_B"));
    let (alpha, beta) = ("state/alpha.state.json", "state/beta.state.json");
    run(w, 0, &["apply", "--auto-approve"], "alpha.yaml", alpha);
    let service = id_of(&read_state(w, alpha), SERVICE);
    let plan = run(w, 2, &["plan", "--detailed-exitcode"], "beta.yaml", beta);
    assert!(
        plan.stdout.contains(&format!(
            "(id {service}), shared with other stacks: used, not created"
        )),
        "{}",
        plan.all()
    );
    run(w, 0, &["apply", "--auto-approve"], "beta.yaml", beta);
    assert_eq!(id_of(&read_state(w, beta), SERVICE), service);
    assert_eq!(service_ids(w).await, vec![service.clone()]);
    for (file, state) in [("alpha.yaml", alpha), ("beta.yaml", beta)] {
        let again = run(w, 0, &["plan", "--detailed-exitcode"], file, state);
        assert!(again.stdout.contains("No changes."), "{}", again.all());
    }
    service
}

/// Destroys `first` then `second`: the first leaves the service to the
/// other, the second removes it; neither fails.
async fn destroy_in_order(w: &World, first: &str, second: &str) {
    let service = service_ids(w).await;
    let state = |stack: &str| format!("state/{stack}.state.json");
    let file = |stack: &str| format!("{stack}.yaml");
    let left = run(
        w,
        0,
        &["destroy", "--auto-approve"],
        &file(first),
        &state(first),
    );
    assert!(
        left.stdout
            .contains("left for its other users, only removed from state"),
        "{}",
        left.all()
    );
    assert_eq!(service_ids(w).await, service, "{}", left.all());
    let empty = read_state(w, &state(first));
    assert!(
        empty["resources"].as_object().unwrap().is_empty(),
        "{empty}"
    );
    let still = run(
        w,
        0,
        &["plan", "--detailed-exitcode"],
        &file(second),
        &state(second),
    );
    assert!(still.stdout.contains("No changes."), "{}", still.all());
    let last = run(
        w,
        0,
        &["destroy", "--auto-approve"],
        &file(second),
        &state(second),
    );
    assert!(service_ids(w).await.is_empty(), "{}", last.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_stacks_share_one_regions_endpoint_service_in_either_order() {
    let w = World::start(&[], &["main"], &[]).await;
    apply_both(&w).await;
    destroy_in_order(&w, "alpha", "beta").await;
    apply_both(&w).await;
    destroy_in_order(&w, "beta", "alpha").await;
}
