//! The seed document's AWS PrivateLink sequence for a serverless instance,
//! run with the real `curl` binary: steps 1, 2, 4 and 7 exactly as printed
//! (v1.0 paths, `Accept`/`Content-Type: application/json`, `?pretty=true`,
//! Digest credentials), with only the host replaced by the sandbox's. Step 3
//! (the AWS interface endpoint) is done against moto, which the sandbox
//! consults to decide whether the link becomes AVAILABLE.

mod support;

use serde_json::Value;
use support::*;

const CURL: &str = "/usr/bin/curl";

struct Seed<'a> {
    sandbox: &'a Sandbox,
    user: String,
}

impl Seed<'_> {
    /// Run curl with the given arguments; returns stdout.
    async fn curl(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new(CURL)
            .args(args)
            .env("NO_PROXY", "127.0.0.1")
            .env("no_proxy", "127.0.0.1")
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run {CURL}: {e}"));
        assert!(
            out.status.success(),
            "curl {args:?} failed: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 body")
    }

    /// The status of the last request the sandbox saw for `method path`,
    /// checking that curl went through the Digest handshake to get there.
    async fn last_status(&self, method: &str, path: &str) -> u16 {
        let log = self.sandbox.requests_log().await;
        let hits: Vec<&Value> = log
            .iter()
            .filter(|e| e["method"] == method && e["path"] == path)
            .collect();
        let last = hits
            .last()
            .unwrap_or_else(|| panic!("no {method} {path} in the request log: {log:?}"));
        assert_eq!(last["auth"], "digest", "{last}");
        let challenged = hits
            .iter()
            .rev()
            .nth(1)
            .expect("curl --digest sends a challenge request first");
        assert_eq!(challenged["status"], 401, "{challenged}");
        last["status"].as_u64().expect("status") as u16
    }

    /// Step 1: create the private endpoint in Atlas.
    async fn step1(&self, base: &str, group: &str, instance: &str) -> String {
        let url = format!(
            "{base}/api/atlas/v1.0/groups/{group}/privateEndpoint/serverless/instance/{instance}/endpoint?pretty=true"
        );
        self.curl(&[
            "--user",
            &self.user,
            "--digest",
            "--header",
            "Accept: application/json",
            "--header",
            "Content-Type: application/json",
            "--request",
            "POST",
            &url,
            "--data",
            "\n   {\n     \"comment\" : \"example comment\"\n   }",
        ])
        .await
    }

    /// Steps 2 and 7: get one private endpoint.
    async fn get_one(&self, base: &str, group: &str, instance: &str, id: &str) -> String {
        let url = format!(
            "{base}/api/atlas/v1.0/groups/{group}/privateEndpoint/serverless/instance/{instance}/endpoint/{id}?pretty=true"
        );
        self.curl(&[
            "--user",
            &self.user,
            "--digest",
            "--header",
            "Accept: application/json",
            "--request",
            "GET",
            &url,
        ])
        .await
    }

    /// Step 4: update the private endpoint with the VPC endpoint id.
    async fn step4(&self, base: &str, group: &str, instance: &str, id: &str, vpce: &str) -> String {
        let url = format!(
            "{base}/api/atlas/v1.0/groups/{group}/privateEndpoint/serverless/instance/{instance}/endpoint/{id}"
        );
        let data = format!(
            "\n        {{\n          \"cloudProviderEndpointId\" : \"{vpce}\",\n          \"providerName\" : \"AWS\"\n        }}"
        );
        self.curl(&[
            "--user",
            &self.user,
            "--digest",
            "--header",
            "Accept: application/json",
            "--header",
            "Content-Type: application/json",
            "--request",
            "PATCH",
            &url,
            "--data",
            &data,
        ])
        .await
    }
}

fn is_object_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_spec(method: &str, path: &str, status: u16, body: &str) {
    spec()
        .validate_response(method, path, status, "application/json", body)
        .unwrap_or_else(|e| panic!("seed step response does not conform: {e}"));
}

#[tokio::test]
async fn seed_serverless_privatelink_sequence_with_curl() {
    assert!(
        std::path::Path::new(CURL).exists(),
        "{CURL} is required for the seed test"
    );
    let moto = Moto::start().await;
    let sandbox = Sandbox::start(&[
        "--ec2-endpoint",
        &moto.endpoint,
        "--reserve-delay",
        "500ms",
        "--connect-delay",
        "500ms",
    ]);
    let seed = Seed {
        sandbox: &sandbox,
        user: format!("{PUBLIC_KEY}:{PRIVATE_KEY}"),
    };
    let base = sandbox.base.as_str();
    let list_path = format!(
        "/api/atlas/v1.0/groups/{PROJECT}/privateEndpoint/serverless/instance/{INSTANCE}/endpoint"
    );

    // Step 1.
    let text = seed.step1(base, PROJECT, INSTANCE).await;
    assert_eq!(seed.last_status("POST", &list_path).await, 201);
    check_spec("POST", &list_path, 201, &text);
    assert!(
        text.trim_start().starts_with('{') && text.contains("\n"),
        "pretty=true output expected: {text}"
    );
    let created: Value = serde_json::from_str(&text).expect("JSON");
    let id = created["_id"].as_str().expect("_id").to_string();
    assert!(is_object_id(&id), "{id}");
    assert_eq!(created["cloudProviderEndpointId"], Value::Null);
    assert_eq!(created["comment"], "example comment");
    assert_eq!(created["endpointServiceName"], Value::Null);
    assert_eq!(created["errorMessage"], Value::Null);
    assert_eq!(created["status"], "RESERVATION_REQUESTED");
    let one_path = format!("{list_path}/{id}");

    // Step 2, repeated while endpointServiceName is null.
    let reserved = poll("step 2 to show endpointServiceName", WAIT, || async {
        let text = seed.get_one(base, PROJECT, INSTANCE, &id).await;
        let status = seed.last_status("GET", &one_path).await;
        assert_eq!(status, 200, "{text}");
        check_spec("GET", &one_path, 200, &text);
        let body: Value = serde_json::from_str(&text).expect("JSON");
        if body["endpointServiceName"].is_null() {
            assert_eq!(body["status"], "RESERVATION_REQUESTED", "{body}");
            None
        } else {
            Some(body)
        }
    })
    .await;
    assert_eq!(reserved["_id"], id.as_str());
    assert_eq!(reserved["comment"], "example comment");
    assert_eq!(reserved["errorMessage"], Value::Null);
    assert_eq!(reserved["status"], "RESERVED");
    let service = reserved["endpointServiceName"]
        .as_str()
        .unwrap()
        .to_string();
    let suffix = service
        .strip_prefix("com.amazonaws.vpce.us-east-1.vpce-svc-")
        .unwrap_or_else(|| panic!("unexpected endpointServiceName {service}"));
    assert!(
        suffix.len() == 17
            && suffix
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{service}"
    );

    // Step 3: aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface
    // --service-name <endpointServiceName> --subnet-ids <subnet>.
    let vpc = moto.create_vpc("10.0.0.0/16").await;
    let subnet = moto.create_subnet(&vpc, "10.0.1.0/24").await;
    let vpce = moto
        .create_interface_endpoint(&vpc, &subnet, &service)
        .await;
    assert_eq!(vpce.len(), "vpce-".len() + 17, "VpcEndpointId {vpce}");

    // Step 4.
    let text = seed.step4(base, PROJECT, INSTANCE, &id, &vpce).await;
    assert_eq!(seed.last_status("PATCH", &one_path).await, 200, "{text}");
    check_spec("PATCH", &one_path, 200, &text);
    let patched: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(patched["cloudProviderEndpointId"], vpce.as_str());
    assert!(
        patched["status"] == "INITIATING" || patched["status"] == "AVAILABLE",
        "{patched}"
    );

    // Step 7, repeated until AVAILABLE.
    let available = poll("step 7 to show AVAILABLE", WAIT, || async {
        let text = seed.get_one(base, PROJECT, INSTANCE, &id).await;
        assert_eq!(seed.last_status("GET", &one_path).await, 200, "{text}");
        check_spec("GET", &one_path, 200, &text);
        let body: Value = serde_json::from_str(&text).expect("JSON");
        match body["status"].as_str() {
            Some("AVAILABLE") => Some(body),
            Some("INITIATING") => None,
            other => panic!("unexpected status {other:?} in step 7: {body}"),
        }
    })
    .await;
    assert_eq!(available["_id"], id.as_str());
    assert_eq!(available["cloudProviderEndpointId"], vpce.as_str());
    assert_eq!(available["comment"], "example comment");
    assert_eq!(available["endpointServiceName"], service.as_str());
    assert_eq!(available["errorMessage"], Value::Null);
    assert_eq!(available["status"], "AVAILABLE");
}
