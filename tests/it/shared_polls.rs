//! Waits on one Atlas list share its poller, against a real atlas-sandbox:
//! a change the list shows is acted on by every wait on it after one read.
//! Counted from the sandbox's request log (order; for the Azure waits, the
//! number of reads against the time they took).

use std::time::Duration;

use privlink::providers::atlas::azure::Target;
use privlink::providers::atlas::{AtlasClient, ClientOptions, Credentials, ServerlessTarget};
use privlink::wait::{NoProgress, WaitPolicy};
use serde_json::{Value, json};

use crate::support::azure::encode;
use crate::support::sandbox::Sandbox;

const PROJECT: &str = "5f7cac1adf5d6c6306f4b2a1";
const INSTANCE: &str = "shared-serverless";
const PUBLIC_KEY: &str = "shared-poll-public-key";
const PRIVATE_KEY: &str = "shared-poll-private-key-41c9";
const WAITS: usize = 5;

fn client(sandbox: &Sandbox) -> AtlasClient {
    AtlasClient::new(
        &sandbox.base_url,
        Credentials::Digest {
            public_key: PUBLIC_KEY.into(),
            private_key: PRIVATE_KEY.into(),
        },
        ClientOptions {
            requests_per_second: 200,
            burst: 20,
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

/// What a logged request did: `list`, `get <id>` (one endpoint) or other.
fn kind(r: &Value) -> String {
    let path = r["path"].as_str().unwrap_or_default();
    let list = format!(
        "/api/atlas/v2/groups/{PROJECT}/privateEndpoint/serverless/instance/{INSTANCE}/endpoint"
    );
    if r["method"] != "GET" || r["status"] != 200 {
        return format!("{} {} {}", r["method"], path, r["status"]);
    }
    match path.strip_prefix(&list) {
        Some("") => "list".into(),
        Some(rest) => format!("get {}", rest.trim_start_matches('/')),
        None => format!("GET {path}"),
    }
}

async fn list_reads(sandbox: &Sandbox) -> usize {
    let log = sandbox.requests().await;
    log.iter().filter(|r| kind(r) == "list").count()
}

#[tokio::test]
async fn one_list_read_moves_every_wait_on_the_instance() {
    let instance = format!("{PROJECT}/{INSTANCE}@US_EAST_1");
    let sandbox = Sandbox::start(&[
        "--public-key",
        PUBLIC_KEY,
        "--private-key",
        PRIVATE_KEY,
        "--project",
        PROJECT,
        "--serverless-instance",
        &instance,
        "--reserve-delay",
        "1h",
    ]);
    let atlas = client(&sandbox);
    let mut ids = Vec::new();
    for _ in 0..WAITS {
        let e = atlas
            .create_serverless_endpoint(PROJECT, INSTANCE, None)
            .await
            .expect("create");
        ids.push(e.id);
    }
    sandbox.clear_requests().await;
    // Every wait, once its endpoint is RESERVED, reads that endpoint: its
    // next action, which the request log shows.
    let waits: Vec<_> = ids
        .iter()
        .map(|id| {
            let (atlas, id) = (atlas.clone(), id.clone());
            tokio::spawn(async move {
                let policy = WaitPolicy {
                    timeout: Duration::from_secs(60),
                    ..WaitPolicy::default()
                };
                let address = format!("endpoints.{id}.atlas");
                let reserved = atlas
                    .wait_serverless_endpoint(
                        PROJECT,
                        INSTANCE,
                        &id,
                        ServerlessTarget::Reserved,
                        &address,
                        policy,
                        &NoProgress,
                    )
                    .await
                    .expect("reserved");
                assert!(reserved.is_some());
                atlas
                    .get_serverless_endpoint(PROJECT, INSTANCE, &id)
                    .await
                    .expect("read after the wait")
            })
        })
        .collect();
    // A few rounds with every endpoint pending: one list read per round for
    // all five waits.
    while list_reads(&sandbox).await < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Right after a round's read, flip them all: the next read sees it.
    let before = list_reads(&sandbox).await;
    while list_reads(&sandbox).await == before {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let http = reqwest::Client::new();
    for id in &ids {
        let url = format!(
            "{}/__sandbox/serverless-endpoints/{PROJECT}/{INSTANCE}/{id}/state",
            sandbox.base_url
        );
        let r = http
            .post(url)
            .json(&json!({"status": "RESERVED"}))
            .send()
            .await
            .expect("force");
        assert!(r.status().is_success(), "{}", r.status());
    }
    let flipped = list_reads(&sandbox).await;
    for w in waits {
        w.await.expect("wait task");
    }
    let log: Vec<String> = sandbox.requests().await.iter().map(kind).collect();
    let reads: Vec<usize> = (0..log.len()).filter(|i| log[*i] == "list").collect();
    // Pending rounds: one list read each, nothing else (no per-endpoint poll).
    assert!(
        log.iter()
            .all(|k| k == "list" || k.starts_with("get ") || k.contains(" 401")),
        "{log:?}"
    );
    // The read after the flip is followed by every wait's action, with no
    // list read in between.
    let deciding = reads[flipped];
    let after: Vec<&String> = log[deciding + 1..].iter().collect();
    let acted: Vec<&&String> = after.iter().filter(|k| k.starts_with("get ")).collect();
    assert_eq!(acted.len(), WAITS, "{log:?}");
    let last_action = deciding + after.iter().rposition(|k| k.starts_with("get ")).unwrap() + 1;
    assert!(
        log[deciding + 1..=last_action].iter().all(|k| k != "list"),
        "a second list read came before every wait acted: {log:?}"
    );
    let mut got: Vec<String> = acted.iter().map(|k| k[4..].to_owned()).collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    // Once every wait is over, nobody listens and the reads stop.
    assert_eq!(reads.len(), flipped + 1, "{log:?}");
}

/// The reads answered 200 whose path ends with `suffix`.
async fn reads_of(sandbox: &Sandbox, suffix: &str) -> usize {
    let log = sandbox.requests().await;
    log.iter()
        .filter(|r| r["method"] == "GET" && r["status"] == 200)
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
        .count()
}

/// Runs `WAITS` copies of `wait` at once until the object whose reads end
/// with `suffix` has been read three times, then `force`s it ready; every
/// wait must end with the object, and the reads must be one per round of
/// the shared poller (at most one per 500 ms, plus the first), not one per
/// wait.
async fn shared_rounds<W, Fut, T>(sandbox: &Sandbox, suffix: &str, wait: W, force: (String, Value))
where
    W: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>> + Send + 'static,
    T: Send + 'static,
{
    sandbox.clear_requests().await;
    let began = std::time::Instant::now();
    let waits: Vec<_> = (0..WAITS).map(|_| tokio::spawn(wait())).collect();
    while reads_of(sandbox, suffix).await < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (path, body) = force;
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url))
        .json(&body)
        .send()
        .await
        .expect("force");
    assert!(r.status().is_success(), "{}", r.status());
    for w in waits {
        assert!(w.await.expect("wait task").is_some());
    }
    let elapsed = began.elapsed();
    let reads = reads_of(sandbox, suffix).await;
    let rounds = elapsed.as_millis() / 500 + 2;
    assert!(
        reads as u128 <= rounds,
        "{reads} reads of {suffix} by {WAITS} waits in {elapsed:?}: more than one a round"
    );
}

#[tokio::test]
async fn waits_on_one_azure_service_or_link_share_their_reads() {
    let sandbox = Sandbox::start(&[
        "--public-key",
        PUBLIC_KEY,
        "--private-key",
        PRIVATE_KEY,
        "--project",
        PROJECT,
        "--reserve-delay",
        "1h",
        "--connect-delay",
        "1h",
    ]);
    let atlas = client(&sandbox);
    let policy = WaitPolicy {
        timeout: Duration::from_secs(60),
        ..WaitPolicy::default()
    };
    let service = atlas
        .create_azure_service(PROJECT, "US_EAST_2")
        .await
        .expect("create the service")
        .id;
    let wait_service = || {
        let (atlas, id) = (atlas.clone(), service.clone());
        async move {
            atlas
                .wait_azure_service(PROJECT, &id, Target::Ready, ("s", policy, &NoProgress))
                .await
                .expect("the service is ready")
        }
    };
    let force = format!("/__sandbox/endpoint-services/{PROJECT}/{service}/state");
    let suffix = format!("/endpointService/{service}");
    shared_rounds(
        &sandbox,
        &suffix,
        wait_service,
        (force, json!({"status": "AVAILABLE"})),
    )
    .await;

    let pe = "/subscriptions/0b1c2d3e-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-shared";
    atlas
        .create_azure_link(PROJECT, &service, pe, "10.0.1.4")
        .await
        .expect("register the private endpoint");
    let wait_link = || {
        let (atlas, id) = (atlas.clone(), service.clone());
        async move {
            atlas
                .wait_azure_link(PROJECT, &id, pe, Target::Ready, ("l", policy, &NoProgress))
                .await
                .expect("the link is available")
        }
    };
    let force = format!(
        "/__sandbox/interface-endpoints/{PROJECT}/{service}/{}/state",
        encode(pe)
    );
    let body = json!({"connectionStatus": "AVAILABLE"});
    // However the client encodes the id, the path ends with its last part.
    shared_rounds(&sandbox, "pe-shared", wait_link, (force, body)).await;
}
