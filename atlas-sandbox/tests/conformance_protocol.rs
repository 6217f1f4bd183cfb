//! Cross-cutting protocol behaviour: Digest and service-account
//! authentication, resource versioning, rate limiting, the legacy v1.0 API,
//! fault injection and the control API's request log. Error bodies are
//! validated against the spec's ApiError schema for the operation.

mod support;

use std::collections::HashMap;

use serde_json::{Value, json};
use support::*;

/// Parse `Digest k=v, k="v", …` into a map (keys lower-cased).
fn challenge_params(header: &str) -> HashMap<String, String> {
    let rest = header
        .strip_prefix("Digest ")
        .unwrap_or_else(|| panic!("not a Digest challenge: {header:?}"));
    let mut out = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let value: String = if chars.peek() == Some(&'"') {
            chars.next();
            chars.by_ref().take_while(|c| *c != '"').collect()
        } else {
            chars.by_ref().take_while(|c| *c != ',').collect()
        };
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

#[tokio::test]
async fn digest_challenge_and_wrong_key() {
    let sandbox = Sandbox::start(&[]);
    let path = serverless_base(PROJECT, INSTANCE);

    // No credentials: 401 with the Atlas challenge.
    let anonymous = Client::new(&sandbox.base, Auth::None);
    let r = anonymous.get(&path).await;
    let body = r.expect_error(401, "UNEXPECTED_ERROR");
    assert_eq!(body["reason"], "Unauthorized");
    let www = r.header("www-authenticate").expect("WWW-Authenticate");
    let params = challenge_params(&www);
    assert_eq!(
        params.get("realm").map(String::as_str),
        Some("MMS Public API"),
        "{www}"
    );
    assert_eq!(params.get("qop").map(String::as_str), Some("auth"), "{www}");
    assert_eq!(
        params.get("algorithm").map(String::as_str),
        Some("MD5"),
        "{www}"
    );
    assert_eq!(
        params.get("stale").map(String::as_str),
        Some("false"),
        "{www}"
    );
    assert!(params.get("nonce").is_some_and(|n| !n.is_empty()), "{www}");
    digest_auth::parse(&www).expect("challenge parses as RFC 7616");

    // Wrong private key, wrong public key: 401 again, new challenge.
    for (user, pass) in [(PUBLIC_KEY, "wrong-secret"), ("someoneelse", PRIVATE_KEY)] {
        let client = Client::new(&sandbox.base, Auth::Digest(user.into(), pass.into()));
        let r = client.get(&path).await;
        r.expect_error(401, "UNEXPECTED_ERROR");
        let www = r
            .header("www-authenticate")
            .expect("challenge on a refused answer");
        assert_eq!(
            challenge_params(&www).get("realm").map(String::as_str),
            Some("MMS Public API")
        );
    }

    // Right key: 200, and the nonce can be reused with increasing nc.
    let client = sandbox.digest();
    client.get(&path).await.expect(200);
    client.get(&path).await.expect(200);
    client.post(&path, json!({})).await.expect(201);

    // The request log records which scheme was used.
    let log = sandbox.requests_log().await;
    assert!(
        log.iter()
            .any(|e| e["status"] == 401 && e["path"] == path.as_str()),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|e| e["status"] == 200 && e["auth"] == "digest"),
        "{log:?}"
    );
    for entry in &log {
        for key in ["method", "path", "status", "time", "auth", "injected"] {
            assert!(
                entry.get(key).is_some(),
                "request log entry without {key}: {entry}"
            );
        }
    }
}

#[tokio::test]
async fn digest_response_for_another_uri_is_refused() {
    let sandbox = Sandbox::start(&[]);
    let path = serverless_base(PROJECT, INSTANCE);
    let anonymous = Client::new(&sandbox.base, Auth::None);
    let r = anonymous.get(&path).await;
    let www = r.header("www-authenticate").unwrap();
    let mut challenge = digest_auth::parse(&www).unwrap();
    let context =
        digest_auth::AuthContext::new(PUBLIC_KEY, PRIVATE_KEY, "/api/atlas/v2/groups/other");
    let header = challenge.respond(&context).unwrap().to_header_string();
    let r = anonymous
        .raw("GET", &path, None, None, &[("Authorization", &header)])
        .await;
    r.expect_error(401, "UNEXPECTED_ERROR");
}

#[tokio::test]
async fn missing_or_unknown_version_is_406() {
    let sandbox = Sandbox::start(&[]);
    let path = serverless_base(PROJECT, INSTANCE);
    for accept in [
        None,
        Some("application/json"),
        Some("application/vnd.atlas.2020-01-01+json"),
        Some("application/vnd.atlas.garbage+json"),
    ] {
        let client = sandbox.digest().with_accept(accept);
        let r = client.get(&path).await;
        let body = r.expect_error(406, "INVALID_VERSION_DATE");
        assert_eq!(body["reason"], "Not Acceptable", "{accept:?}");
    }
    // A later date resolves to the 2023-01-01 resource.
    let client = sandbox
        .digest()
        .with_accept(Some("application/vnd.atlas.2025-03-12+json"));
    let r = client.get(&path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.content_type().starts_with(V2_MEDIA),
        "Content-Type {:?}",
        r.content_type()
    );
    r.conforms();
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let sandbox = Sandbox::start(&["--rate-limit-capacity", "3", "--rate-limit-refill", "1/1h"]);
    let client = sandbox.digest();
    let path = serverless_base(PROJECT, INSTANCE);
    let mut remaining = Vec::new();
    let limited = loop {
        let r = client.get(&path).await;
        if r.status == 429 {
            break r;
        }
        r.expect(200);
        assert_eq!(r.header("ratelimit-limit").as_deref(), Some("3"));
        remaining.push(
            r.header("ratelimit-remaining")
                .expect("RateLimit-Remaining")
                .parse::<u64>()
                .expect("numeric RateLimit-Remaining"),
        );
        assert!(
            remaining.len() <= 3,
            "capacity 3 but no 429 after {remaining:?}"
        );
    };
    assert_eq!(remaining, vec![2, 1, 0], "one token per request");
    let body = limited.expect_error(429, "RATE_LIMITED_TOKEN_BUCKET");
    assert_eq!(body["reason"], "Too Many Requests");
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After on 429")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry > 0 && retry <= 3600, "Retry-After {retry}");
    assert_eq!(limited.header("ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(limited.header("ratelimit-limit").as_deref(), Some("3"));

    // The limit is per project: another project has its own bucket.
    let r = sandbox
        .control(
            "POST",
            "/__sandbox/projects",
            Some(json!({"id": OTHER_PROJECT})),
        )
        .await;
    assert!(r.status < 300, "{} {}", r.status, r.text);
    let r = client
        .get(&format!(
            "/api/atlas/v2/groups/{OTHER_PROJECT}/privateEndpoint/AWS/endpointService"
        ))
        .await;
    r.expect(200);
    assert_eq!(r.json(), json!([]));
    // The control API is never limited.
    assert_eq!(
        sandbox
            .control("GET", "/__sandbox/state", None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn service_account_token_flow() {
    let sandbox = Sandbox::start(&[]);
    let http = Client::new(&sandbox.base, Auth::None).with_accept(Some("application/json"));
    let basic = format!(
        "Basic {}",
        base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())
    );
    let r = http
        .raw(
            "POST",
            "/api/oauth/token",
            Some("grant_type=client_credentials".into()),
            Some("application/x-www-form-urlencoded"),
            &[("Authorization", &basic)],
        )
        .await;
    assert_eq!(r.status, 200, "token: {}", r.text);
    let token = r.json();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let access = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    assert!(!access.is_empty());

    // Use it.
    let client = Client::new(&sandbox.base, Auth::Bearer(access.clone()));
    let path = serverless_base(PROJECT, INSTANCE);
    client.get(&path).await.expect(200);
    let r = client
        .post(&path, json!({"comment": "via service account"}))
        .await;
    r.expect(201);
    let log = sandbox.requests_log().await;
    assert!(
        log.iter()
            .any(|e| e["auth"] == "bearer" && e["status"] == 201),
        "{log:?}"
    );

    // A made-up token is refused.
    let forged = Client::new(&sandbox.base, Auth::Bearer("not-a-token".into()));
    forged
        .get(&path)
        .await
        .expect_error(401, "UNEXPECTED_ERROR");

    // Wrong secret, wrong grant type.
    let bad = format!("Basic {}", base64(format!("{CLIENT_ID}:nope").as_bytes()));
    let r = http
        .raw(
            "POST",
            "/api/oauth/token",
            Some("grant_type=client_credentials".into()),
            Some("application/x-www-form-urlencoded"),
            &[("Authorization", &bad)],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.json().get("access_token").is_none());
    let r = http
        .raw(
            "POST",
            "/api/oauth/token",
            Some("grant_type=password".into()),
            Some("application/x-www-form-urlencoded"),
            &[("Authorization", &basic)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // Revoke, then the token no longer works.
    let r = http
        .raw(
            "POST",
            "/api/oauth/revoke",
            Some(format!(
                "token={}&token_type_hint=access_token",
                form_encode(&access)
            )),
            Some("application/x-www-form-urlencoded"),
            &[("Authorization", &basic)],
        )
        .await;
    assert_eq!(r.status, 200, "revoke: {}", r.text);
    client
        .get(&path)
        .await
        .expect_error(401, "UNEXPECTED_ERROR");
}

#[tokio::test]
async fn legacy_v1_paths_use_plain_json() {
    let sandbox = Sandbox::start(&[]);
    let client = sandbox.digest().with_accept(Some("application/json"));
    let list = format!(
        "/api/atlas/v1.0/groups/{PROJECT}/privateEndpoint/serverless/instance/{INSTANCE}/endpoint"
    );
    let r = client.post(&list, json!({"comment": "legacy"})).await;
    r.expect(201);
    assert!(
        r.content_type().starts_with("application/json"),
        "{}",
        r.content_type()
    );
    let id = r.json()["_id"].as_str().unwrap().to_string();
    let r = client.get(&format!("{list}/{id}?pretty=true")).await;
    r.expect(200);
    assert!(
        r.text.contains('\n'),
        "pretty=true should pretty-print: {}",
        r.text
    );
    assert_eq!(r.json()["_id"], id.as_str());
    // v1.0 does not need a versioned Accept header, and the same endpoint is
    // visible through v2.
    let v2 = sandbox.digest();
    let r = v2
        .get(&format!("{}/{id}", serverless_base(PROJECT, INSTANCE)))
        .await;
    r.expect(200);
    assert_eq!(r.json()["comment"], "legacy");
    let r = client
        .get(&format!(
            "/api/atlas/v1.0/groups/{PROJECT}/serverless/{INSTANCE}"
        ))
        .await;
    r.expect(200);
    let r = client
        .get(&format!(
            "/api/atlas/v1.0/groups/{PROJECT}/privateEndpoint/AWS/endpointService"
        ))
        .await;
    r.expect(200);
    // Errors on v1.0 have the same envelope.
    client
        .get(&format!("{list}/0123456789abcdef01234567"))
        .await
        .expect_error(404, "TENANT_PRIVATE_ENDPOINT_NOT_FOUND");
}

#[tokio::test]
async fn injected_faults_are_well_formed_errors() {
    let sandbox = Sandbox::start(&["--fault-rate", "1.0", "--fault-statuses", "500,503"]);
    let client = sandbox.digest();
    let path = serverless_base(PROJECT, INSTANCE);
    for _ in 0..4 {
        let r = client.get(&path).await;
        assert!(
            r.status == 500 || r.status == 503,
            "{} {}",
            r.status,
            r.text
        );
        r.conforms();
        let body = r.json();
        assert_eq!(body["error"], r.status);
        assert_eq!(
            r.header("x-error-code").as_deref(),
            body["errorCode"].as_str()
        );
    }
    let log = sandbox.requests_log().await;
    // Every authenticated request was answered by the fault injector.
    let injected: Vec<&Value> = log.iter().filter(|e| e["injected"] == true).collect();
    assert_eq!(injected.len(), 4, "{log:?}");
    assert!(
        injected
            .iter()
            .all(|e| e["status"] == 500 || e["status"] == 503),
        "{log:?}"
    );
    // Turn faults off at run time.
    let r = sandbox
        .control("PUT", "/__sandbox/faults", Some(json!({"rate": 0.0})))
        .await;
    assert!(r.status < 300, "{} {}", r.status, r.text);
    client.get(&path).await.expect(200);
    let r = sandbox.control("DELETE", "/__sandbox/requests", None).await;
    assert!(r.status < 300);
    assert_eq!(sandbox.requests_log().await, Vec::<Value>::new());
}

#[tokio::test]
async fn delays_can_be_changed_at_run_time() {
    let sandbox = Sandbox::start(&["--reserve-delay", "1h"]);
    let client = sandbox.digest();
    let path = serverless_base(PROJECT, INSTANCE);
    let r = client.post(&path, json!({})).await;
    r.expect(201);
    let one = format!("{path}/{}", r.json()["_id"].as_str().unwrap());
    let r = client.get(&one).await;
    r.expect(200);
    assert_eq!(r.json()["status"], "RESERVATION_REQUESTED");
    let r = sandbox
        .control("PUT", "/__sandbox/delays", Some(json!({"reserve_ms": 0})))
        .await;
    assert!(r.status < 300, "{} {}", r.status, r.text);
    // New endpoints use the new delay.
    let r = client.post(&path, json!({})).await;
    r.expect(201);
    let two = format!("{path}/{}", r.json()["_id"].as_str().unwrap());
    poll("second endpoint RESERVED", WAIT, || async {
        let r = client.get(&two).await;
        r.expect(200);
        (r.json()["status"] == "RESERVED").then_some(())
    })
    .await;
    let state = sandbox.control("GET", "/__sandbox/state", None).await;
    assert_eq!(state.status, 200);
    assert_eq!(state.json()["delays"]["reserve_ms"], 0, "{}", state.text);
}
