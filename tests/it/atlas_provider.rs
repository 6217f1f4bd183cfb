//! The Atlas client against a real atlas-sandbox on loopback:
//! authentication (digest and service account), the serverless and
//! dedicated endpoint lifecycles, error envelopes, and retries under
//! injected faults.

use std::time::{Duration, SystemTime};

use privlink::providers::atlas::{
    AtlasClient, AtlasError, ClientOptions, Credentials, InterfaceTarget, ServerlessTarget,
    ServiceTarget,
};
use privlink::wait::{NoProgress, WaitPolicy};
use serde_json::{Value, json};

use crate::support::sandbox::Sandbox;

const PROJECT: &str = "5f7cac1adf5d6c6306f4b281";
const INSTANCE: &str = "orders-serverless";
const CLUSTER: &str = "orders-dedicated";
const PUBLIC_KEY: &str = "atlas-test-public-key";
const PRIVATE_KEY: &str = "atlas-test-private-key-5c1d9e";
const WRONG_PRIVATE_KEY: &str = "wrong-private-key-8b2f04";
const CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef01234567";
const CLIENT_SECRET: &str = "mdb_sa_sk_atlas-test-secret-93ae71";
const VPCE: &str = "vpce-0123456789abcdef0";
const VPCE_2: &str = "vpce-0fedcba9876543210";

/// Options for fast tests: short backoff, generous budget.
fn fast_options() -> ClientOptions {
    ClientOptions {
        max_retries: 10,
        requests_per_second: 200,
        burst: 3,
        min_retry_delay: Duration::from_millis(20),
        max_retry_delay: Duration::from_millis(200),
        ..ClientOptions::default()
    }
}

fn fast_wait() -> WaitPolicy {
    WaitPolicy {
        timeout: Duration::from_secs(30),
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(250),
    }
}

fn sandbox_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--public-key",
        PUBLIC_KEY,
        "--private-key",
        PRIVATE_KEY,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--project",
        PROJECT,
        "--serverless-instance",
        "5f7cac1adf5d6c6306f4b281/orders-serverless@US_EAST_1",
        "--cluster",
        "5f7cac1adf5d6c6306f4b281/orders-dedicated",
        "--reserve-delay",
        "300ms",
        "--connect-delay",
        "300ms",
        "--delete-delay",
        "300ms",
    ];
    args.extend_from_slice(extra);
    args
}

fn digest_client(sandbox: &Sandbox, private_key: &str) -> AtlasClient {
    digest_client_at(&sandbox.base_url, private_key, fast_options())
}

fn digest_client_at(base_url: &str, private_key: &str, options: ClientOptions) -> AtlasClient {
    AtlasClient::new(
        base_url,
        Credentials::Digest {
            public_key: PUBLIC_KEY.into(),
            private_key: private_key.into(),
        },
        options,
    )
    .expect("client")
}

fn service_account_client(sandbox: &Sandbox, secret: &str) -> AtlasClient {
    AtlasClient::new(
        &sandbox.base_url,
        Credentials::ServiceAccount {
            client_id: CLIENT_ID.into(),
            client_secret: secret.into(),
        },
        fast_options(),
    )
    .expect("client")
}

fn status_of(r: &Value) -> u64 {
    r["status"].as_u64().unwrap_or(0)
}

fn time_of(r: &Value) -> SystemTime {
    humantime::parse_rfc3339(r["time"].as_str().expect("time")).expect("RFC 3339 time")
}

#[tokio::test]
async fn digest_flow_reuses_the_challenge() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = digest_client(&sandbox, PRIVATE_KEY);
    assert_eq!(client.base_url(), sandbox.base_url);

    assert!(
        client
            .list_serverless_endpoints(PROJECT, INSTANCE)
            .await
            .unwrap()
            .is_empty()
    );
    for _ in 0..5 {
        client.list_endpoint_services(PROJECT).await.unwrap();
    }
    let instance = client
        .get_serverless_instance(PROJECT, INSTANCE)
        .await
        .unwrap()
        .expect("seeded instance");
    assert_eq!(instance.name, INSTANCE);
    assert_eq!(instance.region_name, "US_EAST_1");
    assert!(
        client
            .get_serverless_instance(PROJECT, "no-such-instance")
            .await
            .unwrap()
            .is_none()
    );

    let log = sandbox.requests().await;
    let unauthorized = log.iter().filter(|r| status_of(r) == 401).count();
    assert_eq!(
        unauthorized, 1,
        "only the first request should pay for the challenge: {log:#?}"
    );
    assert_eq!(log.len(), 9, "{log:#?}");
    assert!(log[1..].iter().all(|r| r["auth"] == "digest"), "{log:#?}");
}

#[tokio::test]
async fn concurrent_digest_requests_share_one_client() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = digest_client(&sandbox, PRIVATE_KEY);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                client.list_endpoint_services(PROJECT).await?;
            }
            Ok::<_, AtlasError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn wrong_digest_key_is_unauthorized_without_leaking_it() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = digest_client(&sandbox, WRONG_PRIVATE_KEY);
    let err = client
        .list_endpoint_services(PROJECT)
        .await
        .expect_err("wrong key must fail");
    assert!(matches!(err, AtlasError::Unauthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("not authorized"), "{text}");
    for shown in [text.clone(), format!("{err:?}"), format!("{client:?}")] {
        assert!(!shown.contains(WRONG_PRIVATE_KEY), "{shown}");
        assert!(!shown.contains(PRIVATE_KEY), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
    // One handshake, one real refusal: no retry storm.
    let log = sandbox.requests().await;
    assert_eq!(log.len(), 2, "{log:#?}");
}

#[tokio::test]
async fn service_account_flow_caches_the_token() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = service_account_client(&sandbox, CLIENT_SECRET);
    client.list_endpoint_services(PROJECT).await.unwrap();
    // Only what follows the first request is of interest here.
    sandbox.clear_requests().await;
    for _ in 0..4 {
        client.list_endpoint_services(PROJECT).await.unwrap();
    }
    client
        .list_serverless_endpoints(PROJECT, INSTANCE)
        .await
        .unwrap();
    let log = sandbox.requests().await;
    let token_requests: Vec<_> = log
        .iter()
        .filter(|r| r["path"] == "/api/oauth/token")
        .collect();
    assert!(token_requests.is_empty(), "the token is reused: {log:#?}");
    let api: Vec<_> = log
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").starts_with("/api/atlas/"))
        .collect();
    assert_eq!(api.len(), 5, "{log:#?}");
    assert!(
        api.iter()
            .all(|r| r["auth"] == "bearer" && status_of(r) == 200),
        "{log:#?}"
    );

    let bad = service_account_client(&sandbox, "not-the-secret-1f9e");
    let err = bad.list_endpoint_services(PROJECT).await.unwrap_err();
    assert!(matches!(err, AtlasError::Unauthorized { .. }), "{err:?}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("not-the-secret-1f9e"), "{shown}");
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    }
}

#[tokio::test]
async fn serverless_endpoint_lifecycle() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = digest_client(&sandbox, PRIVATE_KEY);
    let address = "endpoints.orders.atlas";

    let created = client
        .create_serverless_endpoint(PROJECT, INSTANCE, Some("privlink:orders"))
        .await
        .unwrap();
    assert_eq!(created.status, "RESERVATION_REQUESTED");
    assert_eq!(created.endpoint_service_name, None);
    assert_eq!(created.comment.as_deref(), Some("privlink:orders"));

    let reserved = client
        .wait_serverless_endpoint(
            PROJECT,
            INSTANCE,
            &created.id,
            ServerlessTarget::Reserved,
            address,
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap()
        .expect("endpoint");
    assert_eq!(reserved.status, "RESERVED");
    let service_name = reserved
        .endpoint_service_name
        .clone()
        .expect("service name");
    assert!(
        service_name.starts_with("com.amazonaws.vpce.us-east-1.vpce-svc-"),
        "{service_name}"
    );

    let listed = client
        .list_serverless_endpoints(PROJECT, INSTANCE)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);

    let patched = client
        .update_serverless_endpoint(PROJECT, INSTANCE, &created.id, Some(VPCE), None)
        .await
        .unwrap();
    assert_eq!(patched.cloud_provider_endpoint_id.as_deref(), Some(VPCE));

    let available = client
        .wait_serverless_endpoint(
            PROJECT,
            INSTANCE,
            &created.id,
            ServerlessTarget::Available,
            address,
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap()
        .expect("endpoint");
    assert_eq!(available.status, "AVAILABLE");
    assert_eq!(available.error_message, None);

    let instance = client
        .get_serverless_instance(PROJECT, INSTANCE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(instance.private_endpoint_srv.len(), 1, "{instance:?}");

    client
        .delete_serverless_endpoint(PROJECT, INSTANCE, &created.id)
        .await
        .unwrap();
    let gone = client
        .wait_serverless_endpoint(
            PROJECT,
            INSTANCE,
            &created.id,
            ServerlessTarget::Gone,
            address,
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(gone, None);
    assert_eq!(
        client
            .get_serverless_endpoint(PROJECT, INSTANCE, &created.id)
            .await
            .unwrap(),
        None
    );
    // Deleting again is not an error.
    client
        .delete_serverless_endpoint(PROJECT, INSTANCE, &created.id)
        .await
        .unwrap();

    // A missing instance is an error, not "endpoint gone".
    let err = client
        .get_serverless_endpoint(PROJECT, "no-such-instance", &created.id)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_code(),
        Some("SERVERLESS_INSTANCE_NOT_FOUND"),
        "{err}"
    );
    assert!(err.is_not_found());
    let err = client
        .list_serverless_endpoints(PROJECT, "no-such-instance")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn service_account_token_request_comes_first() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = service_account_client(&sandbox, CLIENT_SECRET);
    client.list_endpoint_services(PROJECT).await.unwrap();
    let log = sandbox.requests().await;
    let paths: Vec<(&str, u64)> = log
        .iter()
        .map(|r| (r["path"].as_str().unwrap_or(""), status_of(r)))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("/api/oauth/token", 200),
            (
                "/api/atlas/v2/groups/5f7cac1adf5d6c6306f4b281/privateEndpoint/AWS/endpointService",
                200
            )
        ]
    );
}

#[tokio::test]
async fn a_wait_times_out_with_the_last_state() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    sandbox.set_delays(json!({"reserve_ms": 600_000})).await;
    let client = digest_client(&sandbox, PRIVATE_KEY);
    let created = client
        .create_serverless_endpoint(PROJECT, INSTANCE, None)
        .await
        .unwrap();
    let policy = WaitPolicy {
        timeout: Duration::from_millis(400),
        ..fast_wait()
    };
    let err = client
        .wait_serverless_endpoint(
            PROJECT,
            INSTANCE,
            &created.id,
            ServerlessTarget::Reserved,
            "endpoints.slow.atlas",
            policy,
            &NoProgress,
        )
        .await
        .unwrap_err();
    match &err {
        AtlasError::TimedOut { last_state, .. } => {
            assert_eq!(last_state, "RESERVATION_REQUESTED")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn serverless_link_failure_carries_the_atlas_message() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let message = "Injected: VPC endpoint vpce-0123456789abcdef0 was not found in us-east-1.";
    sandbox
        .set_faults(json!({"link_failures": {"count": 1, "message": message}}))
        .await;
    let client = digest_client(&sandbox, PRIVATE_KEY);
    let created = client
        .create_serverless_endpoint(PROJECT, INSTANCE, None)
        .await
        .unwrap();
    client
        .wait_serverless_endpoint(
            PROJECT,
            INSTANCE,
            &created.id,
            ServerlessTarget::Reserved,
            "endpoints.billing.atlas",
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap();
    client
        .update_serverless_endpoint(PROJECT, INSTANCE, &created.id, Some(VPCE), Some("billing"))
        .await
        .unwrap();
    let err = client
        .wait_serverless_endpoint(
            PROJECT,
            INSTANCE,
            &created.id,
            ServerlessTarget::Available,
            "endpoints.billing.atlas",
            fast_wait(),
            &NoProgress,
        )
        .await
        .expect_err("the link must fail");
    assert!(matches!(err, AtlasError::Failed { .. }), "{err:?}");
    assert!(err.is_terminal());
    let text = err.to_string();
    assert!(text.contains(message), "{text}");
    assert!(text.starts_with("endpoints.billing.atlas: "), "{text}");
}

#[tokio::test]
async fn dedicated_endpoint_service_and_interface_endpoint() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = digest_client(&sandbox, PRIVATE_KEY);
    let address = "endpoint_services.aws.us-east-1";

    let service = client
        .create_endpoint_service(PROJECT, "us-east-1")
        .await
        .unwrap();
    assert_eq!(service.region_name, "US_EAST_1");
    assert!(service.interface_endpoints.is_empty());

    let ready = client
        .wait_endpoint_service(
            PROJECT,
            &service.id,
            ServiceTarget::Ready,
            address,
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap()
        .expect("service");
    assert!(matches!(
        ready.status.as_str(),
        "AVAILABLE" | "WAITING_FOR_USER"
    ));
    assert!(ready.endpoint_service_name.is_some());

    // A second service in the same region is refused with Atlas's errorCode.
    let err = client
        .create_endpoint_service(PROJECT, "us-east-1")
        .await
        .expect_err("duplicate");
    match &err {
        AtlasError::Api {
            status, error_code, ..
        } => {
            assert_eq!(*status, 409);
            assert_eq!(
                error_code,
                "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("409 PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION"),
        "{err}"
    );

    let listed = client.list_endpoint_services(PROJECT).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, service.id);

    let endpoint = client
        .create_interface_endpoint(PROJECT, &service.id, VPCE)
        .await
        .unwrap();
    assert_eq!(endpoint.interface_endpoint_id, VPCE);
    let available = client
        .wait_interface_endpoint(
            PROJECT,
            &service.id,
            VPCE,
            InterfaceTarget::Available,
            "endpoints.orders.atlas_interface",
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap()
        .expect("endpoint");
    assert_eq!(available.connection_status, "AVAILABLE");
    let service_now = client
        .get_endpoint_service(PROJECT, &service.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(service_now.interface_endpoints, vec![VPCE.to_owned()]);

    // A service with endpoints cannot be deleted.
    let err = client
        .delete_endpoint_service(PROJECT, &service.id)
        .await
        .unwrap_err();
    assert_eq!(
        err.error_code(),
        Some("CANNOT_DELETE_PRIVATELINK_WITH_ENDPOINTS")
    );

    let clusters = client.list_clusters(PROJECT).await.unwrap();
    let cluster = clusters
        .iter()
        .find(|c| c.name == CLUSTER)
        .expect("seeded cluster");
    assert!(
        cluster
            .private_endpoint_connection_strings
            .iter()
            .any(|s| s.endpoint_ids.iter().any(|id| id == VPCE)),
        "{cluster:?}"
    );

    client
        .delete_interface_endpoint(PROJECT, &service.id, VPCE)
        .await
        .unwrap();
    let gone = client
        .wait_interface_endpoint(
            PROJECT,
            &service.id,
            VPCE,
            InterfaceTarget::Gone,
            "endpoints.orders.atlas_interface",
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(gone, None);
    client
        .delete_interface_endpoint(PROJECT, &service.id, VPCE)
        .await
        .unwrap();

    // The service may go with its last endpoint; either way, delete it and
    // wait until it is gone.
    client
        .delete_endpoint_service(PROJECT, &service.id)
        .await
        .unwrap();
    let gone = client
        .wait_endpoint_service(
            PROJECT,
            &service.id,
            ServiceTarget::Gone,
            address,
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(gone, None);
    assert!(
        client
            .list_endpoint_services(PROJECT)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn rejected_interface_endpoint_fails_the_wait() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let message = "Injected: the VPC endpoint was rejected.";
    sandbox
        .set_faults(json!({"link_failures": {"count": 1, "message": message}}))
        .await;
    let client = digest_client(&sandbox, PRIVATE_KEY);
    let service = client
        .create_endpoint_service(PROJECT, "us-east-1")
        .await
        .unwrap();
    client
        .wait_endpoint_service(
            PROJECT,
            &service.id,
            ServiceTarget::Ready,
            "svc",
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap();
    client
        .create_interface_endpoint(PROJECT, &service.id, VPCE_2)
        .await
        .unwrap();
    let err = client
        .wait_interface_endpoint(
            PROJECT,
            &service.id,
            VPCE_2,
            InterfaceTarget::Available,
            "ie",
            fast_wait(),
            &NoProgress,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AtlasError::Failed { .. }), "{err:?}");
    assert!(err.to_string().contains(message), "{err}");
}

/// Runs `n` mixed operations one after the other and checks they succeed.
async fn run_operations(client: &AtlasClient, n: usize) {
    let mut endpoint_ids = Vec::new();
    for i in 0..n {
        match i % 5 {
            0 => {
                let e = client
                    .create_serverless_endpoint(PROJECT, INSTANCE, Some(&format!("op-{i}")))
                    .await
                    .unwrap_or_else(|e| panic!("operation {i}: {e}"));
                endpoint_ids.push(e.id);
            }
            1 => {
                client
                    .list_serverless_endpoints(PROJECT, INSTANCE)
                    .await
                    .unwrap_or_else(|e| panic!("operation {i}: {e}"));
            }
            2 => {
                let id = endpoint_ids.last().expect("created before");
                let e = client
                    .get_serverless_endpoint(PROJECT, INSTANCE, id)
                    .await
                    .unwrap_or_else(|e| panic!("operation {i}: {e}"));
                assert!(e.is_some(), "operation {i}");
            }
            3 => {
                client
                    .list_endpoint_services(PROJECT)
                    .await
                    .unwrap_or_else(|e| panic!("operation {i}: {e}"));
            }
            _ => {
                let id = endpoint_ids.last().expect("created before");
                client
                    .delete_serverless_endpoint(PROJECT, INSTANCE, id)
                    .await
                    .unwrap_or_else(|e| panic!("operation {i}: {e}"));
            }
        }
    }
}

#[tokio::test]
async fn retries_injected_faults_and_honours_retry_after() {
    let sandbox = Sandbox::start(&sandbox_args(&[
        "--fault-rate",
        "0.3",
        "--fault-statuses",
        "429,500,503",
    ]));
    let client = digest_client(&sandbox, PRIVATE_KEY);
    run_operations(&client, 30).await;
    // Make sure the Retry-After check below has a 429 to look at.
    let mut log = sandbox.requests().await;
    for _ in 0..20 {
        if log.iter().any(|r| status_of(r) == 429) {
            break;
        }
        run_operations(&client, 5).await;
        log = sandbox.requests().await;
    }
    assert!(
        log.iter().any(|r| status_of(r) == 429),
        "no 429 was injected"
    );

    let injected: Vec<&Value> = log.iter().filter(|r| r["injected"] == true).collect();
    assert!(
        !injected.is_empty(),
        "30 operations at a 30% fault rate should hit faults: {log:#?}"
    );
    // Every injected failure was retried: the next request is the same one,
    // but for a create answered 5xx, which Atlas may have carried out: it is
    // read back first (a GET of its collection), then sent again.
    for (i, r) in log.iter().enumerate() {
        if r["injected"] != true {
            continue;
        }
        let next = log
            .get(i + 1)
            .unwrap_or_else(|| panic!("injected fault #{i} was never retried"));
        let read_back = r["method"] == "POST"
            && status_of(r) >= 500
            && next["method"] == "GET"
            && next["path"] == r["path"];
        if read_back {
            assert!(
                log[i + 1..]
                    .iter()
                    .any(|n| (&n["method"], &n["path"]) == (&r["method"], &r["path"])),
                "the create of injected fault #{i} was sent again after the read"
            );
            continue;
        }
        assert_eq!(
            (&next["method"], &next["path"]),
            (&r["method"], &r["path"]),
            "request after injected fault #{i}"
        );
        if status_of(r) == 429 {
            let gap = time_of(next)
                .duration_since(time_of(r))
                .unwrap_or(Duration::ZERO);
            assert!(
                gap >= Duration::from_secs(1),
                "retry {gap:?} after a 429 with Retry-After: 1"
            );
        }
    }
    let last = log.last().expect("requests");
    assert!(status_of(last) < 300, "{last}");
}

#[tokio::test]
async fn a_429_pauses_every_task_of_the_client() {
    let sandbox = Sandbox::start(&sandbox_args(&[
        "--fault-rate",
        "0.1",
        "--fault-statuses",
        "429",
    ]));
    let client = digest_client_at(
        &sandbox.base_url,
        PRIVATE_KEY,
        ClientOptions {
            requests_per_second: 50,
            ..fast_options()
        },
    );
    // Four pollers keep the client busy for two seconds.
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < Duration::from_secs(2) {
                client.list_endpoint_services(PROJECT).await?;
            }
            Ok::<_, AtlasError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let log = sandbox.requests().await;
    let limited: Vec<SystemTime> = log
        .iter()
        .filter(|r| status_of(r) == 429)
        .map(time_of)
        .collect();
    assert!(!limited.is_empty(), "no 429 was injected: {log:#?}");
    // Requests already on the wire when a 429 arrived may still land just
    // after it; nothing new may start until Retry-After (1 s) has passed.
    let grace = Duration::from_millis(150);
    for t429 in &limited {
        for r in &log {
            let t = time_of(r);
            if let Ok(after) = t.duration_since(*t429)
                && after > grace
                && after < Duration::from_millis(950)
            {
                panic!("request {r} came {after:?} after a 429 with Retry-After: 1");
            }
        }
    }
}

#[tokio::test]
async fn a_429_after_the_last_retry_still_pauses_the_client() {
    let sandbox = Sandbox::start(&sandbox_args(&[
        "--fault-rate",
        "1.0",
        "--fault-statuses",
        "429",
    ]));
    let client = digest_client_at(
        &sandbox.base_url,
        PRIVATE_KEY,
        ClientOptions {
            max_retries: 0,
            ..fast_options()
        },
    );
    // Each call gets one answer, 429, and gives up; the second call (a
    // waiter polling again, say) must still wait out Retry-After (1 s).
    for _ in 0..2 {
        let err = client.list_endpoint_services(PROJECT).await.unwrap_err();
        assert!(err.to_string().contains("429"), "{err}");
    }
    let log = sandbox.requests().await;
    let limited: Vec<SystemTime> = log
        .iter()
        .filter(|r| status_of(r) == 429)
        .map(time_of)
        .collect();
    assert_eq!(limited.len(), 2, "{log:#?}");
    let gap = limited[1].duration_since(limited[0]).unwrap_or_default();
    assert!(
        gap >= Duration::from_millis(950),
        "the second call came {gap:?} after a final 429 with Retry-After: 1"
    );
}

#[tokio::test]
async fn unreachable_atlas_is_a_transport_error() {
    let client = digest_client_at(
        "http://127.0.0.1:9",
        PRIVATE_KEY,
        ClientOptions {
            max_retries: 1,
            ..fast_options()
        },
    );
    let err = client.list_endpoint_services(PROJECT).await.unwrap_err();
    assert!(matches!(err, AtlasError::Transport { .. }), "{err:?}");
    assert!(!err.to_string().contains(PRIVATE_KEY));
}

#[tokio::test]
async fn the_request_budget_is_shared_by_all_tasks() {
    let sandbox = Sandbox::start(&sandbox_args(&[]));
    let client = AtlasClient::new(
        &sandbox.base_url,
        Credentials::ServiceAccount {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        },
        ClientOptions {
            requests_per_second: 5,
            ..fast_options()
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..3 {
                client.list_endpoint_services(PROJECT).await?;
            }
            Ok::<_, AtlasError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    // 13 requests (one token request, 12 API calls) at 5 per second with a
    // burst of 3: at least 10 intervals of 200 ms.
    let log = sandbox.requests().await;
    assert_eq!(log.len(), 13, "{log:#?}");
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
}
