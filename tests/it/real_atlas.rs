//! privlink against an Atlas that behaves as the real one does (the
//! sandbox's realism settings): interface endpoints stuck PENDING with an
//! error when too many are linked to one service at once, an interface
//! endpoint REJECTED after the apply, creates carried out but answered with
//! an error or not at all, clusters UPDATING after a link before their
//! connection strings appear, and deprecated API versions announcing their
//! sunset.

use std::time::{Duration, Instant};

use privlink::providers::atlas::{AtlasClient, ClientOptions, Credentials};
use serde_json::{Value, json};

use crate::support::world::{PRIVATE_KEY, PROJECT, Run, World};

/// A file with the dedicated-cluster endpoints `names`, all in the world's
/// VPC in us-east-1 (so on one endpoint service).
fn dedicated(names: &[&str]) -> String {
    let mut text = format!(
        "version: 1\natlas:\n  project_id: {PROJECT}\naws:\n  region: us-east-1\nendpoints:\n"
    );
    for n in names {
        text.push_str(&format!(
            "  {n}:\n    atlas: {{dedicated_clusters: true}}\n    aws:\n      vpc_id: \"${{PRIVLINK_VPC_ID}}\"\n      subnet_ids: [\"${{PRIVLINK_SUBNET_A}}\"]\n      security_group: {{allow_from: [10.0.0.0/16]}}\n"
        ));
    }
    text
}

/// One serverless endpoint on `orders-prod`.
fn serverless() -> String {
    format!(
        "version: 1\natlas:\n  project_id: {PROJECT}\naws:\n  region: us-east-1\nendpoints:\n  orders:\n    atlas: {{serverless_instance: orders-prod, comment: orders service}}\n    aws:\n      vpc_id: \"${{PRIVLINK_VPC_ID}}\"\n      subnet_ids: [\"${{PRIVLINK_SUBNET_A}}\"]\n      security_group: {{allow_from: [10.0.0.0/16]}}\n"
    )
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

/// POST on the sandbox's control API; the answer must be a success.
async fn control_post(w: &World, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", w.sandbox.base_url))
        .json(&body)
        .send()
        .await
        .expect("sandbox control");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {path}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The `/api` requests of the sandbox's log with this method whose path
/// ends with `suffix`, but for the Digest handshakes (401).
async fn logged(w: &World, method: &str, suffix: &str) -> Vec<Value> {
    w.sandbox
        .requests()
        .await
        .into_iter()
        .filter(|r| {
            r["method"] == method
                && r["status"] != 401
                && r["path"].as_str().is_some_and(|p| p.ends_with(suffix))
        })
        .collect()
}

fn apply(w: &World, file: &str, timeout: &str) -> Run {
    w.privlink(&["apply", "-f", file, "--auto-approve", "--timeout", timeout])
}

/// Item: an interface endpoint Atlas leaves PENDING with an errorMessage
/// (here: more links at once on one service than Atlas accepts) is shown
/// and fails its step within seconds, with Atlas's message; the next apply
/// replaces it and converges.
///
/// Before: privlink waited for AVAILABLE until `--timeout` (90 s here) and
/// reported only "timed out ... (last state: PENDING)", never the message.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_interface_endpoint_fails_fast_with_atlas_message() {
    let w = World::start(&[], &["main"], &[]).await;
    w.sandbox
        .set_realism(json!({"max_concurrent_links": 1}))
        .await;
    // A link takes 3 s: the two are pending at once, however late EC2 shows
    // the second VPC endpoint.
    w.sandbox.set_delays(json!({"connect_ms": 3000})).await;
    w.write("stuck.yaml", &dedicated(&["east-a", "east-b"]));
    let started = Instant::now();
    let run = apply(&w, "stuck.yaml", "90s");
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.all().contains("idempotent operation going on"),
        "Atlas's errorMessage is shown: {}",
        run.all()
    );
    assert!(
        took < Duration::from_secs(75),
        "the step failed fast, not at the timeout: {took:?}\n{}",
        run.all()
    );
    // One link at a time from now on: the stuck one is replaced and linked.
    let again = apply(&w, "stuck.yaml", "90s");
    assert_eq!(again.code, 0, "{}", again.all());
    let state = w.state("stuck.yaml");
    for n in ["east-a", "east-b"] {
        let link = &state["resources"][format!("endpoints.{n}.link")]["attributes"];
        assert_eq!(link["connection_status"], "AVAILABLE", "{n}: {state}");
    }
    w.expect(0, &["plan", "-f", "stuck.yaml", "--detailed-exitcode"]);
}

/// Item: privlink links at most a few interface endpoints to one service
/// at once, so that Atlas accepts them all; four endpoints on one service
/// that accepts two at a time all become AVAILABLE.
///
/// Before: the four were linked at once; two stayed PENDING with "idempotent
/// operation going on" and the apply failed.
#[tokio::test(flavor = "multi_thread")]
async fn links_to_one_service_are_bounded() {
    let w = World::start(&[], &["main"], &[]).await;
    w.sandbox
        .set_realism(json!({"max_concurrent_links": 2}))
        .await;
    w.write("crowd.yaml", &dedicated(&["e1", "e2", "e3", "e4"]));
    let run = apply(&w, "crowd.yaml", "60s");
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("idempotent operation"), "{}", run.all());
    let services = atlas(&w).list_endpoint_services(PROJECT).await.unwrap();
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(services[0].interface_endpoints.len(), 4, "{services:?}");
}

/// The EC2 state of the VPC endpoint `vpce`.
async fn vpc_endpoint_state(w: &World, vpce: &str) -> String {
    let out = w
        .ec2()
        .await
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(vpce)
        .send()
        .await
        .expect("describe the VPC endpoint");
    let state = out.vpc_endpoints()[0].state().expect("a state");
    state.as_str().to_owned()
}

/// Item: an interface endpoint Atlas REJECTED after the apply is a
/// connection its service owner rejected, which EC2 shows as the VPC
/// endpoint's state `rejected` (the sandbox rejects it there too): the plan
/// replaces that VPC endpoint and its link, and only them, and the next
/// apply converges. The refresh reads no interface endpoint on its own for
/// that: the service list and EC2's describe show it.
///
/// Before: refresh only checked that the service listed the id and copied
/// the recorded AVAILABLE, so the plan said "No changes".
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_interface_endpoint_is_replaced() {
    let w = World::start(&[], &["main"], &[]).await;
    w.write("reject.yaml", &dedicated(&["east-a", "east-b"]));
    w.expect(0, &["apply", "-f", "reject.yaml", "--auto-approve"]);
    let state = w.state("reject.yaml");
    let link = &state["resources"]["endpoints.east-a.link"];
    let service = link["attributes"]["endpoint_service_id"].as_str().unwrap();
    let vpce = link["id"].as_str().unwrap();
    let other = state["resources"]["endpoints.east-b.link"]["id"]
        .as_str()
        .unwrap();
    let rejection = "rejected by the endpoint owner";
    control_post(
        &w,
        &format!("/__sandbox/interface-endpoints/{PROJECT}/{service}/{vpce}/state"),
        json!({"connectionStatus": "REJECTED", "errorMessage": rejection}),
    )
    .await;
    assert_eq!(vpc_endpoint_state(&w, vpce).await, "rejected");

    let plan = w.expect(2, &["plan", "-f", "reject.yaml", "--detailed-exitcode"]);
    for replaced in ["endpoints.east-a.vpc_endpoint", "endpoints.east-a.link"] {
        assert!(
            plan.stdout
                .contains(&format!("{replaced} must be replaced")),
            "{replaced}\n{}",
            plan.all()
        );
    }
    assert!(
        plan.stdout
            .contains("EC2 reports the VPC endpoint rejected"),
        "{}",
        plan.all()
    );
    for kept in ["endpoints.east-b.vpc_endpoint", "endpoints.east-b.link"] {
        assert!(
            !plan.stdout.contains(&format!("{kept} must be replaced")),
            "{kept}\n{}",
            plan.all()
        );
    }
    w.expect(0, &["apply", "-f", "reject.yaml", "--auto-approve"]);
    w.expect(0, &["plan", "-f", "reject.yaml", "--detailed-exitcode"]);
    let state = w.state("reject.yaml");
    let new = state["resources"]["endpoints.east-a.link"]["id"]
        .as_str()
        .unwrap();
    assert_ne!(new, vpce, "a new VPC endpoint, linked");
    assert_eq!(
        state["resources"]["endpoints.east-b.link"]["id"], other,
        "the other endpoint stays"
    );
    let client = atlas(&w);
    let e = client
        .get_interface_endpoint(PROJECT, service, new)
        .await
        .unwrap()
        .expect("the new endpoint is linked");
    assert_eq!(e.connection_status, "AVAILABLE");
    let old = client
        .get_interface_endpoint(PROJECT, service, vpce)
        .await
        .unwrap();
    assert!(old.is_none(), "the rejected link is gone: {old:?}");
}

/// Item: a no-change plan of a dedicated file reads the project's service
/// list and no interface endpoint on its own: its Atlas calls are the same
/// for one endpoint as for four.
///
/// Before: the refresh read every interface endpoint its service listed
/// (one GET each, one after another under Digest), so a plan's Atlas calls
/// grew with the number of endpoints.
#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_plan_reads_no_interface_endpoint_on_its_own() {
    let w = World::start(&[], &["main"], &[]).await;
    let mut calls = Vec::new();
    for (file, names) in [
        ("one.yaml", &["solo"][..]),
        ("four.yaml", &["e1", "e2", "e3", "e4"][..]),
    ] {
        w.write(file, &dedicated(names));
        w.expect(0, &["apply", "-f", file, "--auto-approve"]);
        w.sandbox.clear_requests().await;
        w.expect(0, &["plan", "-f", file, "--detailed-exitcode"]);
        let log = w.sandbox.requests().await;
        let per_endpoint: Vec<&Value> = log
            .iter()
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/endpoint/vpce-"))
            })
            .collect();
        assert!(
            per_endpoint.is_empty(),
            "{file}: per-interface-endpoint reads {per_endpoint:?}"
        );
        let atlas_calls: Vec<String> = log
            .iter()
            .filter(|r| r["status"] != 401)
            .map(|r| format!("{} {}", r["method"], r["path"]))
            .collect();
        calls.push(atlas_calls);
    }
    assert_eq!(
        calls[0].len(),
        calls[1].len(),
        "Atlas calls of a plan do not grow with the endpoints: {calls:?}"
    );
}

/// The same for the serverless flow: a private endpoint Atlas reports
/// FAILED after the apply is planned for replacement (its link with it) and
/// the next apply converges. (Refresh already read the serverless status
/// from the instance's endpoint list: this guards that it stays so.)
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_serverless_endpoint_is_replaced() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("orders.yaml", &serverless());
    w.expect(0, &["apply", "-f", "orders.yaml", "--auto-approve"]);
    let state = w.state("orders.yaml");
    let id = state["resources"]["endpoints.orders.atlas_endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    control_post(
        &w,
        &format!("/__sandbox/serverless-endpoints/{PROJECT}/orders-prod/{id}/state"),
        json!({"status": "FAILED", "errorMessage": "the endpoint broke"}),
    )
    .await;
    let plan = w.expect(2, &["plan", "-f", "orders.yaml", "--detailed-exitcode"]);
    assert!(
        plan.stdout.contains("endpoints.orders.atlas_endpoint") && plan.stdout.contains("FAILED"),
        "{}",
        plan.all()
    );
    w.expect(0, &["apply", "-f", "orders.yaml", "--auto-approve"]);
    w.expect(0, &["plan", "-f", "orders.yaml", "--detailed-exitcode"]);
}

/// Item: every create (endpoint service, interface endpoint) is carried out
/// by Atlas and then answered 500/503. privlink reads back, adopts what
/// Atlas made and sends no create twice: one service, one interface
/// endpoint, one POST each.
///
/// Before: the transport sent each POST again; the service's second POST
/// drew 409 PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION (a code
/// privlink did not know) and the apply failed.
#[tokio::test(flavor = "multi_thread")]
async fn ghost_dedicated_creates_are_adopted() {
    let w = World::start(&[], &["main"], &[]).await;
    w.sandbox.set_realism(json!({"ghost_rate": 1.0})).await;
    w.write("ghost.yaml", &dedicated(&["east-a"]));
    let run = apply(&w, "ghost.yaml", "60s");
    assert_eq!(run.code, 0, "{}", run.all());
    let service_posts = logged(&w, "POST", "/privateEndpoint/endpointService").await;
    assert_eq!(service_posts.len(), 1, "{service_posts:?}");
    assert_eq!(service_posts[0]["ghost"], true, "{service_posts:?}");
    let link_posts = logged(&w, "POST", "/endpoint").await;
    assert_eq!(link_posts.len(), 1, "{link_posts:?}");
    let services = atlas(&w).list_endpoint_services(PROJECT).await.unwrap();
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(services[0].interface_endpoints.len(), 1, "{services:?}");
    w.sandbox.set_realism(json!({"ghost_rate": 0.0})).await;
    w.expect(0, &["plan", "-f", "ghost.yaml", "--detailed-exitcode"]);
    // The older ready state of a service (WAITING_FOR_USER) is ready too.
    w.sandbox
        .force_service(
            PROJECT,
            &services[0].id,
            json!({"status": "WAITING_FOR_USER"}),
        )
        .await;
    w.expect(0, &["plan", "-f", "ghost.yaml", "--detailed-exitcode"]);
}

/// Item: a serverless endpoint create and its link are carried out by Atlas
/// and then the connection is closed without an answer (and, for the
/// second file, answered 500/503). privlink adopts the endpoint it made:
/// one endpoint on the instance, one POST.
///
/// Before: the POST was sent again after the lost answer, leaving two
/// endpoints (one never linked).
#[tokio::test(flavor = "multi_thread")]
async fn ghost_serverless_creates_leave_one_endpoint() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.sandbox.set_realism(json!({"drop_rate": 1.0})).await;
    w.write("orders.yaml", &serverless());
    let run = apply(&w, "orders.yaml", "60s");
    assert_eq!(run.code, 0, "{}", run.all());
    let posts = logged(&w, "POST", "/instance/orders-prod/endpoint").await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    let list = atlas(&w)
        .list_serverless_endpoints(PROJECT, "orders-prod")
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].status, "AVAILABLE", "{list:?}");
    w.sandbox.set_realism(json!({"drop_rate": 0.0})).await;
    w.expect(0, &["plan", "-f", "orders.yaml", "--detailed-exitcode"]);
}

/// Item: the clusters go UPDATING after a link and show the endpoint's
/// connection string only once IDLE again; apply waits for that and prints
/// it. A cluster that stays UPDATING past the wait is reported as not ready,
/// with `privlink output` to get the strings later.
///
/// Before: apply read the clusters at once, while UPDATING, and printed
/// "not available yet" instead of the string.
#[tokio::test(flavor = "multi_thread")]
async fn connection_strings_after_the_cluster_update() {
    let w = World::start(&[], &["main"], &[]).await;
    w.sandbox
        .set_realism(json!({"cluster_update_ms": 4000}))
        .await;
    w.write("strings.yaml", &dedicated(&["east-a"]));
    let run = apply(&w, "strings.yaml", "60s");
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("cluster main: mongodb"),
        "the string through the new endpoint is printed: {}",
        run.all()
    );

    // A cluster that stays UPDATING: not ready, and how to get the strings.
    w.sandbox
        .set_realism(json!({"cluster_update_ms": 600_000}))
        .await;
    w.write("strings.yaml", &dedicated(&["east-a", "east-b"]));
    let run = apply(&w, "strings.yaml", "15s");
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("not ready yet") && run.stdout.contains("privlink output"),
        "{}",
        run.all()
    );
    w.sandbox
        .force_cluster(PROJECT, "main", json!({"stateName": "IDLE"}))
        .await;
    let out = w.expect(0, &["output", "-f", "strings.yaml"]);
    assert!(
        out.stdout.matches("cluster main: mongodb").count() >= 2,
        "{}",
        out.all()
    );
}

/// Item: the clusters list is read in a current version (no Sunset header,
/// no warning), and an answer that carries a Sunset header (the serverless
/// private endpoints' deprecated version) gets one warning per run.
///
/// Before: the clusters list was read in 2023-01-01, sunset on 2027-07-01,
/// and no Sunset header was ever reported.
#[tokio::test(flavor = "multi_thread")]
async fn sunset_headers_are_reported_once() {
    let w = World::start(&["orders-prod"], &["main"], &[]).await;
    w.write("main.yaml", &dedicated(&["east-a"]));
    let run = w.expect(0, &["apply", "-f", "main.yaml", "--auto-approve"]);
    assert!(!run.stderr.contains("Sunset"), "{}", run.all());
    let clusters = logged(&w, "GET", "/clusters").await;
    assert!(!clusters.is_empty());

    w.write("orders.yaml", &serverless());
    let run = w.expect(0, &["apply", "-f", "orders.yaml", "--auto-approve"]);
    let warnings = run.stderr.matches("(its Sunset header)").count();
    assert_eq!(warnings, 1, "one warning per run: {}", run.all());
    assert!(
        run.stderr.contains("warning: Atlas says ")
            && run
                .stderr
                .contains("(API version 2023-01-01) is deprecated"),
        "{}",
        run.all()
    );
}
