//! Shared helpers for the atlas-sandbox integration tests: process
//! management for the sandbox and for moto, an HTTP client that speaks the
//! Atlas authentication schemes, and polling.
#![allow(dead_code)]

pub mod azure;
pub mod openapi;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const V2_MEDIA: &str = "application/vnd.atlas.2023-01-01+json";
pub const PUBLIC_KEY: &str = "testpublickey";
pub const PRIVATE_KEY: &str = "0f2a7c1e-5b64-4f3e-9c8d-1a2b3c4d5e6f";
pub const CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef01234567";
pub const CLIENT_SECRET: &str = "mdb_sa_sk_secretsecretsecret";
pub const PROJECT: &str = "5f7cac1adf5d6c6306f4b280";
pub const OTHER_PROJECT: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
pub const INSTANCE: &str = "serverless-1";
pub const CLUSTER: &str = "cluster-1";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The OpenAPI spec, loaded once per test binary.
pub fn spec() -> &'static openapi::Spec {
    static SPEC: OnceLock<openapi::Spec> = OnceLock::new();
    SPEC.get_or_init(openapi::Spec::load)
}

/// This package's directory: the one cargo names when it runs the tests,
/// else the one they were built from. Asked at run time, so that a test
/// binary cargo judged fresh does not read another checkout's files when
/// two checkouts share a target directory.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn workspace_root() -> PathBuf {
    package_dir()
        .parent()
        .expect("crate has a parent directory")
        .to_path_buf()
}

fn collect_stream<R: Read + Send + 'static>(stream: R, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let reader = BufReader::new(stream);
        for line in reader.lines() {
            let Ok(line) = line else { break };
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

/// A running `atlas-sandbox` process, killed on drop.
pub struct Sandbox {
    child: Child,
    pub base: String,
    stderr: Arc<Mutex<String>>,
}

impl Sandbox {
    /// Start with the standard test credentials, project, serverless instance
    /// and cluster, zero delays, plus `extra` flags.
    pub fn start(extra: &[&str]) -> Sandbox {
        let serverless = format!("{PROJECT}/{INSTANCE}");
        let cluster = format!("{PROJECT}/{CLUSTER}");
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
            &serverless,
            "--cluster",
            &cluster,
        ];
        let has = |flag: &str| extra.contains(&flag);
        for (flag, value) in [
            ("--reserve-delay", "0s"),
            ("--connect-delay", "0s"),
            ("--delete-delay", "0s"),
        ] {
            if !has(flag) {
                args.push(flag);
                args.push(value);
            }
        }
        args.extend_from_slice(extra);
        Self::start_raw(&args)
    }

    /// Start with exactly these flags (plus `--listen 127.0.0.1:0`).
    pub fn start_raw(args: &[&str]) -> Sandbox {
        let bin = env!("CARGO_BIN_EXE_atlas-sandbox");
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        collect_stream(child.stderr.take().unwrap(), stderr.clone());
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = tx.send(first);
            // Keep draining so the child never blocks on a full pipe.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let first = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "atlas-sandbox printed no base URL within {STARTUP_TIMEOUT:?}; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        let base = first.trim().to_string();
        if !base.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "first stdout line of atlas-sandbox is not the base URL: {first:?}; args {args:?}; stderr:\n{}",
                stderr.lock().unwrap()
            );
        }
        Sandbox {
            child,
            base,
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn digest(&self) -> Client {
        Client::new(
            &self.base,
            Auth::Digest(PUBLIC_KEY.into(), PRIVATE_KEY.into()),
        )
    }

    /// Control API: JSON request without authentication.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let client = Client::new(&self.base, Auth::None);
        client
            .raw(
                method,
                path,
                body.map(|b| b.to_string()),
                Some("application/json"),
                &[],
            )
            .await
    }

    pub async fn requests_log(&self) -> Vec<Value> {
        let r = self.control("GET", "/__sandbox/requests", None).await;
        assert_eq!(r.status, 200, "GET /__sandbox/requests: {}", r.text);
        r.json()
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("request log is not an array: {}", r.text))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().unwrap().port()
}

/// A running `moto_server`, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    stderr: Arc<Mutex<String>>,
}

pub fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    workspace_root().join(".venv/bin/moto_server")
}

impl Moto {
    pub async fn start() -> Moto {
        let bin = moto_binary();
        if !bin.exists() {
            panic!(
                "moto_server not found at {} (set MOTO_SERVER to override). Install it from the \
                 workspace root with: python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5' \
                 (or run the test command from the README, which installs it)",
                bin.display()
            );
        }
        let port = free_port();
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        collect_stream(child.stderr.take().unwrap(), stderr.clone());
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(r) = http.get(format!("{endpoint}/moto-api/")).send().await
                && r.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto_server exited with {status}; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "moto_server did not answer GET /moto-api/ within {STARTUP_TIMEOUT:?}; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Moto {
            child,
            endpoint,
            stderr,
        }
    }

    /// Call one EC2 Query API action and return the XML response.
    pub async fn ec2(&self, action: &str, params: &[(&str, &str)]) -> String {
        let mut form = format!("Action={action}&Version=2016-11-15");
        for (k, v) in params {
            form.push('&');
            form.push_str(&form_encode(k));
            form.push('=');
            form.push_str(&form_encode(v));
        }
        let r = reqwest::Client::new()
            .post(format!("{}/", self.endpoint))
            .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto {action}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "moto {action} -> {status}: {text}");
        text
    }

    pub async fn create_vpc(&self, cidr: &str) -> String {
        let xml = self.ec2("CreateVpc", &[("CidrBlock", cidr)]).await;
        xml_value(&xml, "vpcId").unwrap_or_else(|| panic!("no vpcId in {xml}"))
    }

    pub async fn create_subnet(&self, vpc: &str, cidr: &str) -> String {
        let xml = self
            .ec2(
                "CreateSubnet",
                &[
                    ("VpcId", vpc),
                    ("CidrBlock", cidr),
                    ("AvailabilityZone", "us-east-1a"),
                ],
            )
            .await;
        xml_value(&xml, "subnetId").unwrap_or_else(|| panic!("no subnetId in {xml}"))
    }

    /// `aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface`.
    pub async fn create_interface_endpoint(
        &self,
        vpc: &str,
        subnet: &str,
        service: &str,
    ) -> String {
        let xml = self
            .ec2(
                "CreateVpcEndpoint",
                &[
                    ("VpcId", vpc),
                    ("ServiceName", service),
                    ("VpcEndpointType", "Interface"),
                    ("SubnetId.1", subnet),
                ],
            )
            .await;
        let id =
            xml_value(&xml, "vpcEndpointId").unwrap_or_else(|| panic!("no vpcEndpointId in {xml}"));
        assert!(id.starts_with("vpce-"), "unexpected endpoint id {id}");
        id
    }

    /// VPC, subnet and interface endpoint on `service`; returns the vpce id.
    pub async fn interface_endpoint_for(&self, service: &str) -> String {
        let vpc = self.create_vpc("10.20.0.0/16").await;
        let subnet = self.create_subnet(&vpc, "10.20.1.0/24").await;
        self.create_interface_endpoint(&vpc, &subnet, service).await
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Text of the first `<tag>…</tag>` element.
pub fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].trim().to_string())
}

/// application/x-www-form-urlencoded encoding of one component.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn base64(input: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(input)
}

#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Digest(String, String),
    Bearer(String),
}

#[derive(Debug)]
pub struct Response {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "{} {} -> {}: body is not JSON ({e}): {:?}",
                self.method, self.path, self.status, self.text
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }

    /// Validate the body against the spec for this operation and status.
    pub fn conforms(&self) -> &Self {
        if let Err(e) = spec().validate_response(
            &self.method,
            &self.path,
            self.status,
            &self.content_type(),
            &self.text,
        ) {
            panic!("response does not conform to the OpenAPI spec: {e}");
        }
        self
    }

    /// Assert the status, then validate against the spec.
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "{} {}: expected {status}, got {} with body {}",
            self.method, self.path, self.status, self.text
        );
        self.conforms()
    }

    /// Assert an error status and error code (body, `X-Error-Code`), and
    /// validate the body against the spec.
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        self.expect(status);
        let body = self.json();
        assert_eq!(body["error"], status, "error field: {}", self.text);
        assert_eq!(body["errorCode"], code, "errorCode: {}", self.text);
        assert_eq!(
            self.header("x-error-code").as_deref(),
            Some(code),
            "X-Error-Code header of {} {}",
            self.method,
            self.path
        );
        let media = self.content_type();
        assert!(
            media.starts_with("application/json"),
            "error Content-Type {media:?}"
        );
        body
    }
}

/// HTTP client for the sandbox's Atlas API.
pub struct Client {
    base: String,
    auth: Auth,
    pub accept: Option<String>,
    http: reqwest::Client,
    challenge: Mutex<Option<digest_auth::WwwAuthenticateHeader>>,
}

impl Client {
    pub fn new(base: &str, auth: Auth) -> Client {
        Client {
            base: base.to_string(),
            auth,
            accept: Some(V2_MEDIA.to_string()),
            http: reqwest::Client::new(),
            challenge: Mutex::new(None),
        }
    }

    pub fn with_accept(mut self, accept: Option<&str>) -> Client {
        self.accept = accept.map(str::to_string);
        self
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.call("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.call("PATCH", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.call("DELETE", path, None).await
    }

    /// A request with the configured Accept header and authentication.
    /// Request bodies are sent with the same media type as `Accept`.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        self.call_text(method, path, body.map(|b| b.to_string()))
            .await
    }

    /// Like `call`, with a raw request body.
    pub async fn call_text(&self, method: &str, path: &str, body: Option<String>) -> Response {
        let accept = self.accept.clone();
        let content_type = accept.as_deref().or(Some("application/json"));
        match &self.auth {
            Auth::None => self.raw(method, path, body, content_type, &[]).await,
            Auth::Bearer(token) => {
                let value = format!("Bearer {token}");
                self.raw(
                    method,
                    path,
                    body,
                    content_type,
                    &[("Authorization", &value)],
                )
                .await
            }
            Auth::Digest(user, pass) => {
                let cached = self.challenge.lock().unwrap().clone();
                if let Some(mut challenge) = cached {
                    let header =
                        digest_header(&mut challenge, user, pass, method, path, body.as_deref());
                    *self.challenge.lock().unwrap() = Some(challenge);
                    let r = self
                        .raw(
                            method,
                            path,
                            body.clone(),
                            content_type,
                            &[("Authorization", &header)],
                        )
                        .await;
                    if r.status != 401 {
                        return r;
                    }
                }
                let first = self
                    .raw(method, path, body.clone(), content_type, &[])
                    .await;
                if first.status != 401 {
                    return first;
                }
                let www = first.header("www-authenticate").unwrap_or_else(|| {
                    panic!(
                        "401 without WWW-Authenticate for {method} {path}: {}",
                        first.text
                    )
                });
                let mut challenge = digest_auth::parse(&www)
                    .unwrap_or_else(|e| panic!("unparsable challenge {www:?}: {e}"));
                let header =
                    digest_header(&mut challenge, user, pass, method, path, body.as_deref());
                *self.challenge.lock().unwrap() = Some(challenge);
                self.raw(
                    method,
                    path,
                    body,
                    content_type,
                    &[("Authorization", &header)],
                )
                .await
            }
        }
    }

    /// A single HTTP exchange with explicit headers (no authentication logic).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Response {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
        let mut req = self.http.request(m, format!("{}{}", self.base, path));
        if let Some(accept) = &self.accept {
            req = req.header("Accept", accept);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req
                .header("Content-Type", content_type.unwrap_or("application/json"))
                .body(body);
        }
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        Response {
            method: method.to_string(),
            path: path.to_string(),
            status,
            headers,
            text,
        }
    }
}

fn digest_header(
    challenge: &mut digest_auth::WwwAuthenticateHeader,
    user: &str,
    pass: &str,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> String {
    let context = digest_auth::AuthContext::new_with_method(
        user,
        pass,
        uri,
        body.map(str::as_bytes),
        digest_auth::HttpMethod(method.to_string().into()),
    );
    challenge
        .respond(&context)
        .unwrap_or_else(|e| panic!("cannot answer digest challenge: {e}"))
        .to_header_string()
}

/// Poll `f` every `interval` until it yields `Some`, failing after `timeout`.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub const WAIT: Duration = Duration::from_secs(20);

pub fn serverless_base(group: &str, instance: &str) -> String {
    format!("/api/atlas/v2/groups/{group}/privateEndpoint/serverless/instance/{instance}/endpoint")
}
