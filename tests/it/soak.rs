//! The soak test: rounds of apply → plan → destroy of six endpoints
//! (three serverless, three dedicated) in the realistic world, with one
//! Atlas request in five failing (429, 500, 503), creates that Atlas carries
//! out before failing or dropping the connection ("ghost creates"), and EC2's
//! eventual consistency, token replays, lingering interfaces and
//! pendingAcceptance. Every round must converge with no duplicate and leave
//! no orphan in moto or the sandbox.
//!
//! `PRIVLINK_SOAK_ROUNDS` sets the number of rounds (3 by default, so that
//! the whole suite stays quick; `scripts/reliability.sh` runs 10 and writes
//! the figures to RELIABILITY.md).

use std::time::Instant;

use serde_json::{Value, json};

use crate::support::world::World;

const FILE: &str = "soak.yaml";

const CONFIG: &str = r#"version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  orders:
    atlas: { serverless_instance: orders-prod }
    aws: &net
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_A}", "${PRIVLINK_SUBNET_B}"]
      security_group:
        allow_from: ["${PRIVLINK_CLIENT_SG}", 10.0.0.0/16]
      client_security_groups: ["${PRIVLINK_CLIENT_SG}"]
  billing:
    atlas: { serverless_instance: billing-prod }
    aws: *net
  users:
    atlas: { serverless_instance: users-prod }
    aws: *net
  app:
    atlas: { dedicated_clusters: true }
    aws: *net
  analytics:
    atlas: { dedicated_clusters: true }
    aws: *net
  reports:
    atlas: { dedicated_clusters: true }
    aws:
      vpc_id: "${PRIVLINK_VPC_ID}"
      subnet_ids: ["${PRIVLINK_SUBNET_B}"]
      security_group:
        allow_from: [10.0.0.0/16]
"#;

fn rounds() -> usize {
    std::env::var("PRIVLINK_SOAK_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// What moto and the sandbox hold of what privlink makes: VPC endpoints,
/// privlink security groups, serverless endpoints, endpoint services and
/// interface endpoints; with a description for failure messages.
async fn census(w: &World) -> ([usize; 5], String) {
    let a = crate::reliability::atlas_objects(w).await;
    let counts = [
        w.live_vpc_endpoints().await.len(),
        w.privlink_groups().await.len(),
        a.serverless_endpoints,
        a.endpoint_services,
        a.interface_endpoints,
    ];
    let seen = format!(
        "VPC endpoints {}, groups {}, serverless endpoints {}, services {}, \
         interface endpoints {}",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
    (counts, seen)
}

/// What one apply of the six endpoints should leave, in [`census`] order.
const CONVERGED: [usize; 5] = [6, 6, 3, 1, 3];

/// What a round left beyond [`CONVERGED`] after its apply (duplicates).
async fn duplicates(w: &World) -> (usize, String) {
    let (counts, seen) = census(w).await;
    let excess = counts
        .iter()
        .zip(CONVERGED)
        .map(|(n, want)| n.saturating_sub(want))
        .sum();
    (excess, seen)
}

/// What a round left after its destroy (orphans).
async fn orphans(w: &World) -> (usize, String) {
    let (counts, seen) = census(w).await;
    (counts.iter().sum(), seen)
}

/// The injected faults and ghost creates in the sandbox's request log.
async fn injected(w: &World) -> (usize, usize) {
    let log = w.control_get("/__sandbox/requests").await;
    let log = log.as_array().expect("request log");
    let faults = log.iter().filter(|r| r["injected"] == json!(true)).count();
    let ghosts = log.iter().filter(|r| r["ghost"] == json!(true)).count();
    (faults, ghosts)
}

#[tokio::test(flavor = "multi_thread")]
async fn soak_rounds_of_apply_and_destroy_converge_with_faults_and_ghost_creates() {
    let w = World::start_realistic(
        &["orders-prod", "billing-prod", "users-prod"],
        &["main"],
        &["--fault-rate", "0.2", "--fault-statuses", "429,500,503"],
    )
    .await;
    w.sandbox
        .set_realism(json!({"ghost_rate": 0.1, "drop_rate": 0.05}))
        .await;
    w.write(FILE, CONFIG);
    let started = Instant::now();
    let n = rounds();
    let (mut extra, mut left) = (0, 0);
    let mut notes = Vec::new();
    for round in 1..=n {
        let apply = w.privlink(&["apply", "-f", FILE, "--auto-approve"]);
        assert_eq!(apply.code, 0, "round {round}: apply\n{}", apply.all());
        let (excess, seen) = duplicates(&w).await;
        if excess > 0 {
            notes.push(format!("round {round} after apply: {seen}"));
        }
        extra += excess;
        let plan = w.privlink(&["plan", "-f", FILE, "--detailed-exitcode"]);
        assert_eq!(
            plan.code,
            0,
            "round {round}: plan after apply\n{}",
            plan.all()
        );
        let destroy = w.privlink(&["destroy", "-f", FILE, "--auto-approve"]);
        assert_eq!(destroy.code, 0, "round {round}: destroy\n{}", destroy.all());
        let (orphaned, seen) = orphans(&w).await;
        if orphaned > 0 {
            notes.push(format!("round {round} after destroy: {seen}"));
        }
        left += orphaned;
    }
    let (faults, ghosts) = injected(&w).await;
    let realism = w.moto.realism().expect("realistic EC2").counters().await;
    record(
        n,
        (faults, ghosts),
        (extra, left),
        &realism,
        started.elapsed().as_secs(),
    );
    assert!(
        notes.is_empty(),
        "duplicates or orphans:\n{}",
        notes.join("\n")
    );
    assert!(faults > 0, "faults were injected");
    assert!(ghosts > 0, "ghost creates happened");
}

/// Records the round's figures, each EC2 behaviour's counter among them.
fn record(
    rounds: usize,
    (faults, ghosts): (usize, usize),
    (duplicates, orphans): (usize, usize),
    ec2: &Value,
    secs: u64,
) {
    let mut figures = json!({
        "rounds": rounds,
        "endpoints_per_round": 6,
        "atlas_faults_injected": faults,
        "ghost_creates": ghosts,
        "duplicates": duplicates,
        "orphans": orphans,
        "seconds": secs,
    });
    for (name, count) in ec2.as_object().into_iter().flatten() {
        figures[format!("ec2_{name}")] = count.clone();
    }
    crate::reliability::record_figures("soak", figures);
}
