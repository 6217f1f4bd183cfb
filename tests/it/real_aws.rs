//! The real `privlink` binary against EC2 as it really behaves (moto behind
//! the EC2 realism layer, see ec2-realism/README.md): a new security group
//! or VPC endpoint is unknown to EC2 for a while, a new endpoint lists its
//! network interfaces one by one, a ClientToken seen before is answered
//! with the endpoint it first made (even a deleted one), a deleted
//! endpoint's interfaces keep its group in use for a while, and an endpoint
//! to Atlas's service is `pendingAcceptance`. Each test checks the layer's
//! counters to show the behaviour was met.

use std::time::Instant;

use serde_json::{Value, json};

use crate::support::world::World;

const EXAMPLE: &str = include_str!("../../examples/serverless-aws.yaml");
const FILE: &str = "real.yaml";

/// One endpoint to the project's dedicated clusters: its VPC endpoint
/// connects to the region's endpoint service, which outlives it.
const DEDICATED: &str = r#"
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  orders:
    atlas: { dedicated_clusters: true }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_A}", "${PRIVLINK_SUBNET_B}"]
      security_group: { allow_from: ["${PRIVLINK_CLIENT_SG}"] }
      client_security_groups: ["${PRIVLINK_CLIENT_SG}"]
"#;

/// Which Atlas flow a test drives.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Flow {
    /// [`EXAMPLE`]: a serverless instance's private endpoint.
    Serverless,
    /// [`DEDICATED`]: the dedicated clusters' shared endpoint service.
    Dedicated,
}

/// A world with EC2 behind the realism layer, the example written to
/// [`FILE`] and the layer's counters at zero.
async fn world() -> World {
    world_for(Flow::Serverless).await
}

/// [`world`] for `flow`.
async fn world_for(flow: Flow) -> World {
    let (w, text) = match flow {
        Flow::Serverless => (
            World::start_realistic(&["orders-prod"], &[], &[]).await,
            EXAMPLE,
        ),
        Flow::Dedicated => (World::start_realistic(&[], &["main"], &[]).await, DEDICATED),
    };
    w.write(FILE, text);
    w
}

/// The layer's counter `name`.
async fn counter(w: &World, name: &str) -> u64 {
    let realism = w.moto.realism().expect("a realistic world");
    realism.counters().await[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name}"))
}

/// `apply --auto-approve` of [`FILE`], which must succeed.
fn apply(w: &World) -> crate::support::world::Run {
    w.expect(0, &["apply", "-f", FILE, "--auto-approve"])
}

/// The id the state records at `address` (under `endpoints.orders.`).
fn id(w: &World, address: &str) -> String {
    w.state(FILE)["resources"][format!("endpoints.orders.{address}")]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id for {address}"))
        .to_owned()
}

/// `plan --detailed-exitcode`, which must find nothing to do.
fn no_changes(w: &World, after: &str) {
    let plan = w.privlink(&["plan", "-f", FILE, "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "no changes {after}:\n{}", plan.all());
    assert!(plan.stdout.contains("No changes"), "{}", plan.all());
    assert!(!plan.all().contains("outside privlink"), "{}", plan.all());
}

/// The private IP of each network interface of the VPC endpoint `vpce`, as
/// EC2 reports them once settled.
async fn endpoint_ips(w: &World, vpce: &str) -> Vec<String> {
    let ec2 = w.ec2().await;
    let v = ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(vpce)
        .send()
        .await
        .expect("describe endpoint");
    let enis = v.vpc_endpoints()[0].network_interface_ids().to_vec();
    let out = ec2
        .describe_network_interfaces()
        .set_network_interface_ids(Some(enis))
        .send()
        .await
        .expect("describe interfaces");
    let mut ips: Vec<String> = out
        .network_interfaces()
        .iter()
        .filter_map(|n| n.private_ip_address().map(str::to_owned))
        .collect();
    ips.sort();
    ips
}

/// The /32 egress rules on the client group.
async fn client_egress(w: &World) -> Vec<String> {
    let mut cidrs: Vec<String> = w
        .group(&w.client_sg)
        .await
        .ip_permissions_egress()
        .iter()
        .flat_map(|p| p.ip_ranges())
        .filter_map(|r| r.cidr_ip())
        .filter(|c| c.ends_with("/32"))
        .map(str::to_owned)
        .collect();
    cidrs.sort();
    cidrs
}

/// The Atlas link of the serverless endpoint in the sandbox's state.
async fn sandbox_link(w: &World, atlas_id: &str) -> Value {
    let dump = w.control_get("/__sandbox/state").await;
    dump["projects"][0]["serverlessEndpoints"]
        .as_array()
        .expect("serverless endpoints")
        .iter()
        .find(|e| e["_id"] == atlas_id)
        .cloned()
        .unwrap_or_else(|| panic!("no endpoint {atlas_id} in {dump}"))
}

/// Atlas links the VPC endpoint `vpce` AVAILABLE, in the sandbox.
async fn linked(w: &World, flow: Flow, vpce: &str) {
    match flow {
        Flow::Serverless => {
            let link = sandbox_link(w, &id(w, "atlas_endpoint")).await;
            assert_eq!(link["cloudProviderEndpointId"], json!(vpce), "{link}");
            assert_eq!(link["status"], "AVAILABLE", "{link}");
        }
        Flow::Dedicated => {
            let dump = w.control_get("/__sandbox/state").await;
            let links: Vec<&Value> = dump["projects"][0]["endpointServices"]
                .as_array()
                .expect("endpoint services")
                .iter()
                .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
                .collect();
            let link = links
                .iter()
                .find(|e| e["interfaceEndpointId"] == vpce)
                .unwrap_or_else(|| panic!("no link of {vpce} in {dump}"));
            assert_eq!(link["connectionStatus"], "AVAILABLE", "{link}");
            assert_eq!(links.len(), 1, "only the new endpoint is linked: {dump}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_right_after_a_security_group_create_does_not_fail_on_not_found() {
    let w = world().await;
    let run = apply(&w);
    assert!(!run.all().contains("FAILED"), "{}", run.all());
    // EC2 answered InvalidGroup.NotFound (or InvalidVpcEndpointId.NotFound)
    // for the new objects; privlink asked again.
    assert!(counter(&w, "consistency_not_found").await > 0);
    let sg = w.group(&id(&w, "security_group")).await;
    assert!(!sg.ip_permissions().is_empty(), "the group's ingress rules");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_right_after_an_apply_shows_no_changes() {
    let w = world().await;
    // The client group is older than what the apply makes.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let started = Instant::now();
    apply(&w);
    // EC2 is slower for this reader: everything the apply made is unknown
    // again for a few seconds, then the endpoint lists one interface only
    // for longer (the client group, made 5 s before, stays known).
    let window = started.elapsed().as_millis() as u64 + 3000;
    let realism = w.moto.realism().unwrap();
    realism
        .configure(json!({"consistency_ms": window, "eni_ms": window + 8000}))
        .await;
    realism.reset_counters().await;
    no_changes(&w, "right after the apply");
    let counters = realism.counters().await;
    assert!(
        counters["consistency_not_found"].as_u64().unwrap() > 0,
        "the plan met the young objects: {counters}"
    );
    assert!(counters["eni_partial"].as_u64().unwrap() > 0, "{counters}");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_egress_covers_every_subnet_though_interfaces_appear_late() {
    let w = world().await;
    // The interfaces come later than EC2 knows the endpoint itself.
    let realism = w.moto.realism().unwrap();
    realism.configure(json!({"eni_ms": 4000})).await;
    apply(&w);
    assert!(counter(&w, "eni_partial").await > 0, "interfaces came late");
    let vpce = id(&w, "vpc_endpoint");
    let ips = endpoint_ips(&w, &vpce).await;
    assert_eq!(ips.len(), w.subnets.len(), "one interface per subnet");
    let want: Vec<String> = ips.iter().map(|ip| format!("{ip}/32")).collect();
    assert_eq!(client_egress(&w).await, want, "egress to every interface");
    let recorded = &w.state(FILE)["resources"]["endpoints.orders.vpc_endpoint"]["attributes"]["private_ip_cidrs"];
    assert_eq!(recorded, &json!(want));
    no_changes(&w, "after the apply");
}

/// A VPC endpoint deleted outside privlink is planned as such and made
/// again: a new endpoint (a ClientToken seen before would bring the deleted
/// one back), linked, with egress rules towards its interfaces.
async fn drift_repair(flow: Flow) {
    let w = world_for(flow).await;
    apply(&w);
    let old = id(&w, "vpc_endpoint");
    w.ec2()
        .await
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&old)
        .send()
        .await
        .expect("delete outside privlink");
    let plan = w.privlink(&["plan", "-f", FILE, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.all().contains("outside privlink"), "{}", plan.all());
    apply(&w);
    let new = id(&w, "vpc_endpoint");
    assert_ne!(new, old, "a new endpoint, not the deleted one replayed");
    assert_eq!(counter(&w, "token_replay").await, 0);
    linked(&w, flow, &new).await;
    assert_eq!(w.live_vpc_endpoints().await.len(), 1);
    let ips = endpoint_ips(&w, &new).await;
    let want: Vec<String> = ips.iter().map(|ip| format!("{ip}/32")).collect();
    assert_eq!(
        client_egress(&w).await,
        want,
        "egress follows the new endpoint"
    );
    no_changes(&w, "after the repair");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vpc_endpoint_deleted_outside_privlink_is_made_again_and_linked() {
    drift_repair(Flow::Serverless).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dedicated_vpc_endpoint_deleted_outside_privlink_is_made_again_and_linked() {
    drift_repair(Flow::Dedicated).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_vpc_endpoint_is_replaced_by_a_new_one() {
    let w = world().await;
    apply(&w);
    assert!(
        counter(&w, "pending_acceptance").await > 0,
        "Atlas's service accepts"
    );
    let old = id(&w, "vpc_endpoint");
    let service =
        w.state(FILE)["resources"]["endpoints.orders.vpc_endpoint"]["attributes"]["service_name"]
            .as_str()
            .expect("service name")
            .rsplit('.')
            .next()
            .unwrap()
            .to_owned();
    w.ec2()
        .await
        .reject_vpc_endpoint_connections()
        .service_id(&service)
        .vpc_endpoint_ids(&old)
        .send()
        .await
        .expect("the service rejects the endpoint");
    assert_eq!(counter(&w, "rejected").await, 1);
    let plan = w.privlink(&["plan", "-f", FILE, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.stdout
            .contains("EC2 reports the VPC endpoint rejected"),
        "{}",
        plan.all()
    );
    assert!(plan.stdout.contains("replaced"), "{}", plan.all());
    apply(&w);
    let new = id(&w, "vpc_endpoint");
    assert_ne!(new, old, "a new endpoint, not the rejected one replayed");
    assert_eq!(counter(&w, "token_replay").await, 0);
    let live: Vec<String> = w
        .live_vpc_endpoints()
        .await
        .iter()
        .filter_map(|v| v.vpc_endpoint_id().map(str::to_owned))
        .collect();
    assert_eq!(live, vec![new.clone()], "the rejected one is deleted");
    linked(&w, Flow::Serverless, &new).await;
    no_changes(&w, "after the replacement");
}

/// Destroy waits until the deleted endpoint's interfaces let its group go,
/// and the same file then applies again with a new endpoint. The dedicated
/// flow destroys the endpoint only (`-target endpoints.orders`): the
/// region's endpoint service stays, so the new endpoint asks for exactly
/// what the destroyed one did.
async fn destroy_then_apply(flow: Flow) {
    let w = world_for(flow).await;
    apply(&w);
    let first = id(&w, "vpc_endpoint");
    let mut args = vec!["destroy", "-f", FILE, "--auto-approve"];
    if flow == Flow::Dedicated {
        args.extend(["-target", "endpoints.orders"]);
    }
    let destroy = w.expect(0, &args);
    assert!(
        counter(&w, "dependency_violation").await > 0,
        "interfaces lingered"
    );
    assert!(
        destroy.all().contains("DependencyViolation"),
        "the wait is reported:\n{}",
        destroy.all()
    );
    assert!(w.privlink_groups().await.is_empty(), "no group left behind");
    assert!(w.live_vpc_endpoints().await.is_empty());

    // The same file again: a new endpoint, not the deleted one replayed.
    apply(&w);
    let second = id(&w, "vpc_endpoint");
    assert_ne!(second, first);
    assert_eq!(counter(&w, "token_replay").await, 0);
    assert_eq!(w.live_vpc_endpoints().await.len(), 1);
    linked(&w, flow, &second).await;
    no_changes(&w, "after the second apply");
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_waits_out_lingering_interfaces_and_the_same_file_applies_again() {
    destroy_then_apply(Flow::Serverless).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dedicated_endpoint_destroyed_and_applied_again_is_a_new_one() {
    destroy_then_apply(Flow::Dedicated).await;
}

#[cfg(feature = "failpoints")]
mod with_failpoints {
    use super::*;

    /// Applies only `targets`, crashing right after the first create call
    /// returns and before its id is recorded; the run must die.
    fn crash_after_create(w: &World, targets: &[&str]) {
        let mut args = vec!["apply", "-f", FILE, "--auto-approve"];
        for t in targets {
            args.extend(["-target", t]);
        }
        let run = w.privlink_with(&args, &[("FAILPOINTS", "create-returned=return")], &[]);
        assert_eq!(
            run.code,
            -1,
            "the run died at the failpoint:\n{}",
            run.all()
        );
    }

    /// The VPC endpoints and privlink groups EC2 holds, deleted ones aside.
    async fn counts(w: &World) -> (usize, usize) {
        (
            w.live_vpc_endpoints().await.len(),
            w.privlink_groups().await.len(),
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_create_retried_after_a_crash_reuses_its_token_and_makes_nothing_twice() {
        let w = world().await;
        // The group's create returns, then the process dies before its id
        // is recorded; the next run, at once, finds it although EC2 does
        // not list it yet.
        crash_after_create(&w, &["endpoints.orders.security_group"]);
        let intent = &w.state(FILE)["resources"]["endpoints.orders.security_group"];
        assert!(
            intent["id"].is_null() && intent["attempt"].is_string(),
            "{intent}"
        );
        w.expect(
            0,
            &[
                "apply",
                "-f",
                FILE,
                "--auto-approve",
                "-target",
                "endpoints.orders.security_group",
                "-target",
                "endpoints.orders.atlas_endpoint",
            ],
        );
        assert_eq!(counts(&w).await, (0, 1), "one group");

        // The same for the VPC endpoint: the retry sends the same ClientToken
        // and EC2 answers with the endpoint the first run made.
        crash_after_create(&w, &["endpoints.orders.vpc_endpoint"]);
        let intent = w.state(FILE)["resources"]["endpoints.orders.vpc_endpoint"].clone();
        let attempt = intent["attempt"]
            .as_str()
            .expect("the intent's attempt")
            .to_owned();
        assert!(intent["id"].is_null(), "{intent}");
        let unlisted = counter(&w, "consistency_unlisted").await;
        apply(&w);
        assert_eq!(counts(&w).await, (1, 1), "one endpoint, one group");
        assert!(
            counter(&w, "token_replay").await > 0,
            "the token was replayed"
        );
        assert!(counter(&w, "consistency_unlisted").await > unlisted);
        let recorded = &w.state(FILE)["resources"]["endpoints.orders.vpc_endpoint"];
        assert_eq!(recorded["attempt"], json!(attempt), "the attempt is kept");
        no_changes(&w, "after converging");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_destroy_right_after_a_crash_finds_the_new_group_ec2_does_not_list_yet() {
        let w = world().await;
        crash_after_create(&w, &["endpoints.orders.security_group"]);
        let destroy = w.expect(0, &["destroy", "-f", FILE, "--auto-approve"]);
        assert!(
            counter(&w, "consistency_unlisted").await > 0,
            "EC2 did not list it at first"
        );
        // Past the time EC2 takes to list a new group: whatever is left shows.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert!(
            w.privlink_groups().await.is_empty(),
            "no group left behind:\n{}",
            destroy.all()
        );
    }
}
