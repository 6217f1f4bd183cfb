//! The sandbox behaving as real Atlas does rather than ideally: the realism control
//! (`/__sandbox/realism`), forced endpoint service and cluster states, stuck interface
//! endpoints, clusters UPDATING after a link, ghost and dropped writes, the recorded 401 and
//! 409 answers, the versions of the clusters resource, a rate-limit bucket per endpoint set,
//! and the EC2 acceptance of links. Every Atlas answer is validated against the OpenAPI spec.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn services_path() -> String {
    format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/AWS/endpointService")
}

fn create_service_path() -> String {
    format!("/api/atlas/v2/groups/{PROJECT}/privateEndpoint/endpointService")
}

fn cluster_path() -> String {
    format!("/api/atlas/v2/groups/{PROJECT}/clusters/{CLUSTER}")
}

async fn control_json(sandbox: &Sandbox, method: &str, path: &str, body: Option<Value>) -> Value {
    let r = sandbox.control(method, path, body).await;
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text);
    r.json()
}

async fn set_realism(sandbox: &Sandbox, body: Value) -> Value {
    control_json(sandbox, "PUT", "/__sandbox/realism", Some(body)).await
}

/// Creates the us-east-1 service and waits until it is AVAILABLE; returns its id and its
/// endpoint service name.
async fn available_service(client: &Client, region: &str) -> (String, String) {
    let r = client
        .post(
            &create_service_path(),
            json!({"providerName": "AWS", "region": region}),
        )
        .await;
    r.expect(201);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let path = format!("{}/{id}", services_path());
    let body = poll("service AVAILABLE", WAIT, || async {
        let r = client.get(&path).await;
        r.expect(200);
        let body = r.json();
        (body["status"] == "AVAILABLE").then_some(body)
    })
    .await;
    let name = body["endpointServiceName"].as_str().unwrap().to_string();
    (id, name)
}

fn link_path(service: &str, vpce: &str) -> String {
    format!("{}/{service}/endpoint/{vpce}", services_path())
}

async fn link(client: &Client, service: &str, vpce: &str) -> Value {
    let r = client
        .post(
            &format!("{}/{service}/endpoint", services_path()),
            json!({"id": vpce}),
        )
        .await;
    r.expect(200);
    r.json()
}

async fn wait_link(client: &Client, service: &str, vpce: &str, status: &str) -> Value {
    let path = link_path(service, vpce);
    poll(&format!("{vpce} {status}"), WAIT, || async {
        let r = client.get(&path).await;
        r.expect(200);
        let body = r.json();
        (body["connectionStatus"] == status).then_some(body)
    })
    .await
}

const VPCE_A: &str = "vpce-0a0a0a0a0a0a0a0a0";
const VPCE_B: &str = "vpce-0b0b0b0b0b0b0b0b0";
const VPCE_C: &str = "vpce-0c0c0c0c0c0c0c0c0";

#[tokio::test]
async fn realism_settings_default_to_ideal_and_update_field_by_field() {
    let sandbox = Sandbox::start(&["--seed", "9"]);
    let got = control_json(&sandbox, "GET", "/__sandbox/realism", None).await;
    assert_eq!(
        got,
        json!({"ghost_rate": 0.0, "drop_rate": 0.0, "seed": 9, "cluster_update_ms": 0,
               "max_concurrent_links": null})
    );
    let put = set_realism(
        &sandbox,
        json!({"ghost_rate": 0.25, "cluster_update_ms": 1500, "max_concurrent_links": 2}),
    )
    .await;
    assert_eq!(put["ghost_rate"], 0.25);
    assert_eq!(put["drop_rate"], 0.0);
    assert_eq!(put["cluster_update_ms"], 1500);
    assert_eq!(put["max_concurrent_links"], 2);
    let put = set_realism(
        &sandbox,
        json!({"drop_rate": 0.5, "max_concurrent_links": null, "seed": 3}),
    )
    .await;
    assert_eq!(put["ghost_rate"], 0.25, "absent fields keep their value");
    assert_eq!(put["drop_rate"], 0.5);
    assert_eq!(put["max_concurrent_links"], Value::Null);
    assert_eq!(put["seed"], 3);
    assert_eq!(
        control_json(&sandbox, "GET", "/__sandbox/realism", None).await,
        put
    );
    for bad in [
        json!({"ghost_rate": 1.5}),
        json!({"drop_rate": "x"}),
        json!({"cluster_update_ms": -1}),
        json!({"max_concurrent_links": "two"}),
    ] {
        let r = sandbox
            .control("PUT", "/__sandbox/realism", Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn duplicate_service_answers_the_recorded_409() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    available_service(&client, "us-east-1").await;
    let r = client
        .post(
            &create_service_path(),
            json!({"providerName": "AWS", "region": "US_EAST_1"}),
        )
        .await;
    let body = r.expect_error(409, "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION");
    assert_eq!(
        body["detail"],
        "A private endpoint service already exists for AWS region US_EAST_1"
    );
    assert_eq!(body["parameters"], json!(["AWS", "US_EAST_1"]));
    assert_eq!(body["reason"], "Conflict");
}

#[tokio::test]
async fn endpoint_service_forced_waiting_for_user_and_failed() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    let (id, name) = available_service(&client, "us-east-1").await;
    let state = format!("/__sandbox/endpoint-services/{PROJECT}/{id}/state");
    let force = |status: Value| sandbox.control("POST", &state, Some(status));

    let r = force(json!({"status": "WAITING_FOR_USER"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "WAITING_FOR_USER");
    let r = client.get(&format!("{}/{id}", services_path())).await;
    let body = r.expect(200).json();
    assert_eq!(body["status"], "WAITING_FOR_USER");
    assert_eq!(body["endpointServiceName"], name.as_str());
    // WAITING_FOR_USER waits for an interface endpoint: it accepts one.
    link(&client, &id, VPCE_A).await;

    let message = "Failed to create the endpoint service in AWS.";
    let r = force(json!({"status": "FAILED", "errorMessage": message})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = client.get(&format!("{}/{id}", services_path())).await;
    let body = r.expect(200).json();
    assert_eq!(body["status"], "FAILED", "FAILED stays: {body}");
    assert_eq!(body["errorMessage"], message);
    assert_eq!(body["endpointServiceName"], Value::Null);
    let r = client
        .post(
            &format!("{}/{id}/endpoint", services_path()),
            json!({"id": VPCE_B}),
        )
        .await;
    r.expect_error(409, "PRIVATELINK_CANNOT_ACCEPT_ENDPOINTS");
    // The list shows the same.
    let r = client.get(&services_path()).await;
    assert_eq!(r.expect(200).json()[0]["status"], "FAILED");

    let r = force(json!({"status": "BROKEN"})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = sandbox
        .control(
            "POST",
            &format!("/__sandbox/endpoint-services/{PROJECT}/{OTHER_PROJECT}/state"),
            Some(json!({"status": "FAILED"})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn interface_endpoint_forced_pending_with_a_message_is_stuck() {
    let sandbox = Sandbox::start(&["--connect-delay", "200ms"]);
    let client = sandbox.digest();
    let (id, _) = available_service(&client, "us-east-1").await;
    link(&client, &id, VPCE_A).await;
    let message = format!(
        "Failed to accept interface endpoint {VPCE_A} for endpoint service {id} : idempotent operation going on"
    );
    let state = format!("/__sandbox/interface-endpoints/{PROJECT}/{id}/{VPCE_A}/state");
    let forced = control_json(
        &sandbox,
        "POST",
        &state,
        Some(json!({"connectionStatus": "PENDING", "errorMessage": message})),
    )
    .await;
    assert_eq!(forced["connectionStatus"], "PENDING");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = client.get(&link_path(&id, VPCE_A)).await;
    let body = r.expect(200).json();
    assert_eq!(body["connectionStatus"], "PENDING", "stuck: {body}");
    assert_eq!(body["errorMessage"], message.as_str());
    // Forced without a message it moves on again.
    control_json(
        &sandbox,
        "POST",
        &state,
        Some(json!({"connectionStatus": "PENDING"})),
    )
    .await;
    let body = wait_link(&client, &id, VPCE_A, "AVAILABLE").await;
    assert_eq!(body["errorMessage"], Value::Null);
}

#[tokio::test]
async fn clusters_are_updating_after_a_link_and_list_it_once_idle() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    set_realism(&sandbox, json!({"cluster_update_ms": 2000})).await;
    let (id, _) = available_service(&client, "us-east-1").await;
    let r = client.get(&cluster_path()).await;
    assert_eq!(r.expect(200).json()["stateName"], "IDLE");

    link(&client, &id, VPCE_A).await;
    wait_link(&client, &id, VPCE_A, "AVAILABLE").await;
    let r = client.get(&cluster_path()).await;
    let body = r.expect(200).json();
    assert_eq!(body["stateName"], "UPDATING", "{body}");
    assert!(
        body["connectionStrings"].get("privateEndpoint").is_none(),
        "no private endpoint string while UPDATING: {body}"
    );
    let body = poll("cluster IDLE", WAIT, || async {
        let body = client.get(&cluster_path()).await.expect(200).json();
        (body["stateName"] == "IDLE").then_some(body)
    })
    .await;
    let private = &body["connectionStrings"]["privateEndpoint"];
    assert_eq!(private[0]["endpoints"][0]["endpointId"], VPCE_A, "{body}");
    assert!(body["connectionStrings"]["awsPrivateLink"][VPCE_A].is_string());
    // The current version lists it the same way (and conforms to its schema).
    let current = sandbox
        .digest()
        .with_accept(Some("application/vnd.atlas.2024-08-05+json"));
    let body = current.get(&cluster_path()).await.expect(200).json();
    assert_eq!(
        body["connectionStrings"]["privateEndpoint"][0]["endpoints"][0]["endpointId"],
        VPCE_A
    );

    // Forced UPDATING lasts until forced IDLE; a link meanwhile waits for it.
    let forced = sandbox
        .control(
            "POST",
            &format!("/__sandbox/clusters/{PROJECT}/{CLUSTER}/state"),
            Some(json!({"stateName": "UPDATING"})),
        )
        .await;
    assert_eq!(forced.status, 200, "{}", forced.text);
    assert_eq!(forced.json()["stateName"], "UPDATING");
    set_realism(&sandbox, json!({"cluster_update_ms": 0})).await;
    link(&client, &id, VPCE_B).await;
    wait_link(&client, &id, VPCE_B, "AVAILABLE").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = client.get(&cluster_path()).await.expect(200).json();
    assert_eq!(body["stateName"], "UPDATING");
    let listed = |body: &Value| {
        body["connectionStrings"]["privateEndpoint"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(listed(&body), 1, "only the first endpoint: {body}");
    control_json(
        &sandbox,
        "POST",
        &format!("/__sandbox/clusters/{PROJECT}/{CLUSTER}/state"),
        Some(json!({"stateName": "IDLE"})),
    )
    .await;
    let body = client.get(&cluster_path()).await.expect(200).json();
    assert_eq!(body["stateName"], "IDLE");
    assert_eq!(listed(&body), 2, "{body}");

    let r = sandbox
        .control(
            "POST",
            &format!("/__sandbox/clusters/{PROJECT}/nope/state"),
            Some(json!({"stateName": "IDLE"})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = sandbox
        .control(
            "POST",
            &format!("/__sandbox/clusters/{PROJECT}/{CLUSTER}/state"),
            Some(json!({"stateName": "REPAIRING"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn links_beyond_the_bound_are_stuck_pending_with_atlas_message() {
    let sandbox = Sandbox::start(&["--connect-delay", "30s"]);
    let client = sandbox.digest();
    set_realism(&sandbox, json!({"max_concurrent_links": 1})).await;
    let (id, _) = available_service(&client, "us-east-1").await;
    let first = link(&client, &id, VPCE_A).await;
    assert_eq!(first["connectionStatus"], "PENDING_ACCEPTANCE");
    assert_eq!(first["errorMessage"], Value::Null);
    let second = link(&client, &id, VPCE_B).await;
    assert_eq!(second["connectionStatus"], "PENDING");
    assert_eq!(
        second["errorMessage"],
        format!(
            "Failed to accept interface endpoint {VPCE_B} for endpoint service {id} : idempotent operation going on"
        )
    );
    // It stays so until forced.
    let forced = control_json(
        &sandbox,
        "POST",
        &format!("/__sandbox/interface-endpoints/{PROJECT}/{id}/{VPCE_B}/state"),
        Some(json!({"connectionStatus": "AVAILABLE"})),
    )
    .await;
    assert_eq!(forced["connectionStatus"], "AVAILABLE");
    let r = client.get(&link_path(&id, VPCE_B)).await;
    assert_eq!(r.expect(200).json()["errorMessage"], Value::Null);
}

/// Creates one serverless private endpoint and returns the status of the answer.
async fn create_tenant_endpoint(client: &Client) -> u16 {
    let r = client
        .post(&serverless_base(PROJECT, INSTANCE), json!({"comment": "c"}))
        .await;
    if r.status < 300 {
        r.expect(201);
    } else {
        r.expect_error(
            r.status,
            if r.status == 500 {
                "UNEXPECTED_ERROR"
            } else {
                "SERVICE_UNAVAILABLE"
            },
        );
    }
    r.status
}

#[tokio::test]
async fn ghost_writes_do_their_work_and_replay_with_their_seed() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest();
    set_realism(&sandbox, json!({"ghost_rate": 1.0})).await;
    let r = client
        .post(
            &create_service_path(),
            json!({"providerName": "AWS", "region": "us-east-1"}),
        )
        .await;
    r.expect_error(500, "UNEXPECTED_ERROR");
    // The work was done: the service exists, and a retry conflicts.
    let listed = client.get(&services_path()).await.expect(200).json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let r = client
        .post(
            &create_service_path(),
            json!({"providerName": "AWS", "region": "us-east-1"}),
        )
        .await;
    r.expect_error(409, "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION");
    let r = client
        .post(
            &create_service_path(),
            json!({"providerName": "AWS", "region": "eu-west-1"}),
        )
        .await;
    r.expect_error(503, "SERVICE_UNAVAILABLE");
    let log = sandbox.requests_log().await;
    let ghosts: Vec<&Value> = log.iter().filter(|e| e["ghost"] == true).collect();
    assert_eq!(ghosts.len(), 2, "{log:?}");
    assert!(
        ghosts
            .iter()
            .all(|e| e["method"] == "POST" && e["dropped"] == false)
    );
    // Reads are never ghosts.
    assert!(
        log.iter()
            .filter(|e| e["method"] == "GET")
            .all(|e| e["ghost"] == false)
    );

    // The same seed gives the same fates.
    set_realism(&sandbox, json!({"ghost_rate": 0.5, "seed": 42})).await;
    let mut first = Vec::new();
    for _ in 0..10 {
        first.push(create_tenant_endpoint(&client).await);
    }
    assert!(
        first.contains(&201) && first.iter().any(|s| *s >= 500),
        "{first:?}"
    );
    set_realism(&sandbox, json!({"seed": 42})).await;
    let mut again = Vec::new();
    for _ in 0..10 {
        again.push(create_tenant_endpoint(&client).await);
    }
    assert_eq!(first, again);
    let listed = client
        .get(&serverless_base(PROJECT, INSTANCE))
        .await
        .expect(200)
        .json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        20,
        "every create did its work"
    );
}

#[tokio::test]
async fn dropped_writes_close_the_connection_without_an_answer() {
    // No credentials configured: requests are not authenticated.
    let sandbox = Sandbox::start_raw(&["--project", PROJECT, "--reserve-delay", "0s"]);
    set_realism(&sandbox, json!({"drop_rate": 1.0})).await;
    let path = create_service_path();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        reqwest::Client::new()
            .post(sandbox.url(&path))
            .header("Accept", V2_MEDIA)
            .header("Content-Type", "application/json")
            .body(json!({"providerName": "AWS", "region": "us-east-1"}).to_string())
            .send(),
    )
    .await
    .expect("the dropped request ends at once");
    let err = outcome.expect_err("no answer to a dropped write");
    assert!(!err.is_timeout(), "{err}");
    // The work was done; reads are answered.
    let client = Client::new(&sandbox.base, Auth::None);
    let listed = client.get(&services_path()).await.expect(200).json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let log = sandbox.requests_log().await;
    let dropped: Vec<&Value> = log.iter().filter(|e| e["dropped"] == true).collect();
    assert_eq!(dropped.len(), 1, "{log:?}");
    assert_eq!(dropped[0]["ghost"], true);
    assert_eq!(dropped[0]["status"], 201, "the answer that was lost");
}

#[tokio::test]
async fn refused_authentication_is_atlas_own_401() {
    let sandbox = Sandbox::start(&[]);
    let client = Client::new(&sandbox.base, Auth::None);
    let r = client.get(&services_path()).await;
    r.expect_error(401, "UNEXPECTED_ERROR");
    assert_eq!(
        r.text,
        "{\n  \"error\" : 401,\n  \"reason\" : \"Unauthorized\",\n  \"detail\" : \"You are not authorized for this resource.\",\n  \"errorCode\" : \"UNEXPECTED_ERROR\"\n}"
    );
    assert!(r.header("www-authenticate").is_some());
    assert_eq!(r.header("ratelimit-limit"), None);
    assert_eq!(r.header("ratelimit-remaining"), None);
}

#[tokio::test]
async fn clusters_are_served_in_the_current_version_and_the_old_one_is_deprecated() {
    let sandbox = Sandbox::start(&[]);
    let legacy = sandbox.digest();
    let r = legacy.get(&cluster_path()).await;
    r.expect(200);
    assert!(
        r.content_type()
            .starts_with("application/vnd.atlas.2023-01-01+json")
    );
    assert_eq!(
        r.header("deprecation").as_deref(),
        Some("Mon, 05 Aug 2024 00:00:00 GMT")
    );
    assert_eq!(
        r.header("sunset").as_deref(),
        Some("Thu, 01 Jul 2027 00:00:00 GMT")
    );
    let list = legacy
        .get(&format!("/api/atlas/v2/groups/{PROJECT}/clusters"))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(list.header("deprecation").is_some() && list.header("sunset").is_some());
    assert_eq!(list.json()["results"][0]["name"], CLUSTER);

    let current = sandbox
        .digest()
        .with_accept(Some("application/vnd.atlas.2024-08-05+json"));
    let r = current.get(&cluster_path()).await;
    r.expect(200);
    assert!(
        r.content_type()
            .starts_with("application/vnd.atlas.2024-08-05+json"),
        "{}",
        r.content_type()
    );
    assert_eq!(r.header("deprecation"), None);
    assert_eq!(r.header("sunset"), None);
    let body = r.json();
    assert_eq!(
        body["replicationSpecs"][0]["regionConfigs"][0]["regionName"],
        "US_EAST_1"
    );
    let list = current
        .get(&format!("/api/atlas/v2/groups/{PROJECT}/clusters"))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(
        list.content_type()
            .starts_with("application/vnd.atlas.2024-08-05+json")
    );
    assert_eq!(list.header("deprecation"), None);
    assert_eq!(list.json()["results"][0], body);

    // v1.0 is not versioned: no deprecation headers.
    let v1 = sandbox.digest().with_accept(Some("application/json"));
    let r = v1
        .get(&format!(
            "/api/atlas/v1.0/groups/{PROJECT}/clusters/{CLUSTER}"
        ))
        .await;
    r.expect(200);
    assert_eq!(r.header("deprecation"), None);
}

#[tokio::test]
async fn private_endpoint_services_have_their_own_rate_limit_bucket() {
    let sandbox = Sandbox::start(&["--rate-limit-capacity", "2", "--rate-limit-refill", "1/1h"]);
    let client = sandbox.digest();
    for _ in 0..2 {
        client.get(&cluster_path()).await.expect(200);
    }
    client
        .get(&cluster_path())
        .await
        .expect_error(429, "RATE_LIMITED_TOKEN_BUCKET");
    // Serverless private endpoints share the project's other bucket.
    client
        .get(&serverless_base(PROJECT, INSTANCE))
        .await
        .expect_error(429, "RATE_LIMITED_TOKEN_BUCKET");
    // The documented "Private Endpoint Services" set has a bucket of its own.
    let r = client.get(&services_path()).await;
    r.expect(200);
    assert_eq!(r.header("ratelimit-remaining").as_deref(), Some("1"));
    client.get(&services_path()).await.expect(200);
    client
        .get(&services_path())
        .await
        .expect_error(429, "RATE_LIMITED_TOKEN_BUCKET");
}

/// A stand-in EC2 endpoint that knows one VPC endpoint per id and records every action.
struct FakeEc2 {
    url: String,
    calls: Arc<Mutex<Vec<String>>>,
    endpoints: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeEc2 {
    async fn start() -> FakeEc2 {
        let calls: Arc<Mutex<Vec<String>>> = Arc::default();
        let endpoints: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (c, e) = (calls.clone(), endpoints.clone());
        let app = axum::Router::new().fallback(move |body: String| {
            let (calls, endpoints) = (c.clone(), e.clone());
            async move { fake_ec2_answer(&body, &calls, &endpoints) }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeEc2 {
            url,
            calls,
            endpoints,
        }
    }

    fn add_endpoint(&self, vpce: &str, service_name: &str) {
        self.endpoints
            .lock()
            .unwrap()
            .push((vpce.to_string(), service_name.to_string()));
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn fake_ec2_answer(
    body: &str,
    calls: &Mutex<Vec<String>>,
    endpoints: &Mutex<Vec<(String, String)>>,
) -> String {
    calls.lock().unwrap().push(body.to_string());
    let param = |name: &str| {
        body.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    if param("Action") != "DescribeVpcEndpoints" {
        return format!(
            "<{0}Response><unsuccessful/></{0}Response>",
            param("Action")
        );
    }
    let vpce = param("VpcEndpointId.1");
    let known = endpoints.lock().unwrap().clone();
    match known.iter().find(|(id, _)| *id == vpce) {
        Some((id, service)) => format!(
            "<DescribeVpcEndpointsResponse><vpcEndpointSet><item><vpcEndpointId>{id}</vpcEndpointId><serviceName>{service}</serviceName><state>pendingAcceptance</state></item></vpcEndpointSet></DescribeVpcEndpointsResponse>"
        ),
        None => "<Response><Errors><Error><Code>InvalidVpcEndpointId.NotFound</Code></Error></Errors></Response>".to_string(),
    }
}

/// Waits until `ec2` has seen `action` for `vpce` on service `svc`.
async fn decided(ec2: &FakeEc2, action: &str, svc: &str, vpce: &str) {
    let expected =
        format!("Action={action}&Version=2016-11-15&ServiceId={svc}&VpcEndpointId.1={vpce}");
    poll(&format!("{action} {vpce}"), WAIT, || async {
        ec2.calls().contains(&expected).then_some(())
    })
    .await
}

#[tokio::test]
async fn links_are_accepted_or_rejected_in_ec2() {
    let ec2 = FakeEc2::start().await;
    let sandbox = Sandbox::start(&["--ec2-endpoint", &ec2.url]);
    let client = sandbox.digest();
    let (id, name) = available_service(&client, "us-east-1").await;
    let svc = name.rsplit('.').next().unwrap().to_string();
    assert!(svc.starts_with("vpce-svc-"), "{svc}");
    ec2.add_endpoint(VPCE_A, &name);
    ec2.add_endpoint(
        VPCE_B,
        "com.amazonaws.vpce.us-east-1.vpce-svc-0fffffffffffffff0",
    );

    link(&client, &id, VPCE_A).await;
    wait_link(&client, &id, VPCE_A, "AVAILABLE").await;
    link(&client, &id, VPCE_B).await;
    let rejected = wait_link(&client, &id, VPCE_B, "REJECTED").await;
    assert!(
        rejected["errorMessage"]
            .as_str()
            .unwrap()
            .contains("is for service")
    );

    decided(&ec2, "AcceptVpcEndpointConnections", &svc, VPCE_A).await;
    decided(&ec2, "RejectVpcEndpointConnections", &svc, VPCE_B).await;

    // Serverless links are accepted the same way.
    let r = client
        .post(&serverless_base(PROJECT, INSTANCE), json!({}))
        .await;
    let endpoint = r.expect(201).json()["_id"].as_str().unwrap().to_string();
    let path = format!("{}/{endpoint}", serverless_base(PROJECT, INSTANCE));
    let reserved = poll("serverless endpoint RESERVED", WAIT, || async {
        let body = client.get(&path).await.expect(200).json();
        (body["status"] == "RESERVED").then_some(body)
    })
    .await;
    let tenant_name = reserved["endpointServiceName"]
        .as_str()
        .unwrap()
        .to_string();
    ec2.add_endpoint(VPCE_C, &tenant_name);
    client
        .patch(
            &path,
            json!({"providerName": "AWS", "cloudProviderEndpointId": VPCE_C}),
        )
        .await
        .expect(200);
    let tenant_svc = tenant_name.rsplit('.').next().unwrap().to_string();
    decided(&ec2, "AcceptVpcEndpointConnections", &tenant_svc, VPCE_C).await;

    let calls = ec2.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("RejectVpcEndpointConnections") && c.contains(VPCE_A))
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("AcceptVpcEndpointConnections") && c.contains(VPCE_B))
    );
}
