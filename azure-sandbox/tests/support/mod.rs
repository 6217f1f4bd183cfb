//! Shared helpers of the azure-sandbox tests: the sandbox process (killed on drop), a client
//! with a token, the control API, polling, and the spec (see [`swagger`]).
#![allow(dead_code)]

pub mod swagger;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// This package's directory: the one cargo names when it runs the tests,
/// else the one they were built from. Asked at run time, so that a test
/// binary cargo judged fresh does not read another checkout's files when
/// two checkouts share a target directory.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub const SUB: &str = "0b5b8a9c-1d2e-4f30-8a4b-5c6d7e8f9a0b";
pub const NET: &str = "api-version=2024-05-01";
pub const WAIT: Duration = Duration::from_secs(20);

/// The spec, loaded once per test binary.
pub fn spec() -> &'static swagger::Spec {
    static SPEC: OnceLock<swagger::Spec> = OnceLock::new();
    SPEC.get_or_init(swagger::Spec::load)
}

/// One answer.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }

    /// Asserts the status and checks the body against the definition `key`.
    pub fn conforms(&self, status: u16, key: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        if let Err(e) = spec().check(key, &self.body) {
            panic!("answer does not conform to the ARM spec: {e}");
        }
        &self.body
    }

    /// Asserts an ARM error: status, `error.code`, and the envelope's schema.
    pub fn arm_error(&self, status: u16, code: &str) {
        self.conforms(status, "network.CloudError");
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

/// A running azure-sandbox with a token, killed on drop.
pub struct Sandbox {
    child: Child,
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    pub async fn start(provision_ms: u64) -> Sandbox {
        let bin = env!("CARGO_BIN_EXE_azure-sandbox");
        let mut child = Command::new(bin)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--provision-ms",
                &provision_ms.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = tx.send(first);
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let base = rx
            .recv_timeout(WAIT)
            .expect("a base URL")
            .trim()
            .to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
        let mut sandbox = Sandbox {
            child,
            base,
            token: String::new(),
            http: reqwest::Client::new(),
        };
        let answer = sandbox.token("sandbox-secret").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        sandbox.token = answer.body["access_token"].as_str().unwrap().to_string();
        sandbox
    }

    /// Asks Entra ID for a token with `secret`.
    pub async fn token(&self, secret: &str) -> Answer {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "privlink-test"),
            ("client_secret", secret),
            ("scope", "https://management.azure.com/.default"),
        ];
        let r = self
            .http
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    /// An ARM call with the token (or `bearer` when given).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.http.request(method, url);
        match bearer {
            Some("") => {}
            Some(t) => req = req.bearer_auth(t),
            None => req = req.bearer_auth(&self.token),
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    pub async fn arm(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call(method, path, body, None).await
    }

    pub async fn control(&self, method: &str, path: &str, body: Value) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self
            .http
            .request(method, format!("{}/__sandbox{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    /// A resource group with a virtual network `vnet` and subnet `prefix` in `location`.
    pub async fn network(
        &self,
        group: &str,
        vnet: &str,
        subnet: &str,
        space: &str,
        prefix: &str,
        location: &str,
    ) -> String {
        let r = self
            .arm(
                "PUT",
                &format!("/subscriptions/{SUB}/resourcegroups/{group}?api-version=2021-04-01"),
                Some(json!({"location": location})),
            )
            .await;
        assert!(r.status == 201 || r.status == 200, "{}", r.body);
        let id = format!(
            "/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
        );
        let body = json!({"location": location, "properties": {
            "addressSpace": {"addressPrefixes": [space]},
            "subnets": [{"name": subnet, "properties": {"addressPrefix": prefix}}],
        }});
        let r = self.arm("PUT", &format!("{id}?{NET}"), Some(body)).await;
        assert!(r.status == 201 || r.status == 200, "{}", r.body);
        format!("{id}/subnets/{subnet}")
    }

    /// Registers a Private Link Service (as its owner).
    pub async fn service(&self, id: &str) {
        let r = self
            .control("PUT", "/privateLinkServices", json!({"id": id}))
            .await;
        assert!(r.status == 201 || r.status == 200, "{}", r.body);
    }
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Polls `f` until it yields `Some`, failing after `timeout`.
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

/// The key paths of a JSON value (`properties.subnet.id`, arrays by their first element).
pub fn shape(value: &Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    fn walk(v: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    out.insert(path.clone());
                    walk(child, &path, out);
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    walk(first, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }
    walk(value, "", &mut out);
    out
}
