//! Starts the `azure-sandbox` binary on loopback for the integration tests
//! and talks to it as a client would: a token from its Entra ID endpoint,
//! then Resource Manager calls (fixtures: resource groups, virtual networks
//! and subnets; reads and deletes of private endpoints).
//!
//! The binary is `AZURE_SANDBOX_BIN`, else `azure-sandbox` next to the test
//! executable's profile directory (built by `cargo build --workspace
//! --bins`). Each [`AzureSandbox`] is one server process, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

/// The sandbox's default tenant, client and secret.
pub const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub const CLIENT: &str = "privlink-test";
pub const SECRET: &str = "sandbox-secret";
/// The subscription the tests' networks live in.
pub const SUBSCRIPTION: &str = "6c1f0a2e-0000-4000-8000-00000000a2e1";
/// api-versions.
pub const NETWORK_API: &str = "2024-05-01";
const GROUPS_API: &str = "2021-04-01";

/// A running azure-sandbox.
pub struct AzureSandbox {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    child: Child,
}

fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("AZURE_SANDBOX_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("current test executable");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in <target>/<profile>/deps");
    let bin = profile.join(format!("azure-sandbox{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first",
        bin.display()
    );
    bin
}

impl AzureSandbox {
    /// Starts a sandbox with `args` and waits for its base URL. Set
    /// `AZURE_SANDBOX_LOG=1` to see its stderr.
    pub fn start(args: &[&str]) -> AzureSandbox {
        let bin = binary();
        let stderr = if std::env::var_os("AZURE_SANDBOX_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = Command::new(&bin)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let first = reader.read_line(&mut line).map(|_| line.trim().to_owned());
            let _ = tx.send(first);
            let mut sink = String::new();
            while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
                sink.clear();
            }
        });
        let base_url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(url)) if url.starts_with("http") => url,
            other => {
                let _ = child.kill();
                panic!("azure-sandbox did not print its base URL (got {other:?})");
            }
        };
        AzureSandbox { base_url, child }
    }

    /// The variables that point privlink at this sandbox.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_TENANT_ID", TENANT.to_owned()),
            ("AZURE_CLIENT_ID", CLIENT.to_owned()),
            ("AZURE_CLIENT_SECRET", SECRET.to_owned()),
            ("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION.to_owned()),
            ("AZURE_AUTHORITY_HOST", self.base_url.clone()),
            ("AZURE_RESOURCE_MANAGER_ENDPOINT", self.base_url.clone()),
        ]
    }

    async fn token(&self) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "https://management.azure.com/.default"),
        ];
        let v: Value = reqwest::Client::new()
            .post(format!("{}/{TENANT}/oauth2/v2.0/token", self.base_url))
            .form(&form)
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token JSON");
        v["access_token"].as_str().expect("access_token").to_owned()
    }

    /// An ARM call; returns the status and the body (null when empty).
    pub async fn arm(
        &self,
        method: Method,
        path: &str,
        api: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}?api-version={api}", self.base_url);
        let mut request = reqwest::Client::new()
            .request(method.clone(), url)
            .bearer_auth(self.token().await);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let r = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        let v = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, v)
    }

    /// Creates a resource group.
    pub async fn resource_group(&self, group: &str, location: &str) {
        let path = format!("/subscriptions/{SUBSCRIPTION}/resourcegroups/{group}");
        let (s, v) = self
            .arm(
                Method::PUT,
                &path,
                GROUPS_API,
                Some(json!({"location": location})),
            )
            .await;
        assert!(s < 300, "PUT {path}: {s} {v}");
    }

    /// Creates a virtual network with one subnet; returns the subnet's id.
    pub async fn subnet(&self, group: &str, vnet: &str, location: &str, prefix: &str) -> String {
        let vnet_path = format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
        );
        let body = json!({
            "location": location,
            "properties": {"addressSpace": {"addressPrefixes": [prefix]}},
        });
        let (s, v) = self
            .arm(Method::PUT, &vnet_path, NETWORK_API, Some(body))
            .await;
        assert!(s < 300, "PUT {vnet_path}: {s} {v}");
        let subnet_path = format!("{vnet_path}/subnets/default");
        let body = json!({"properties": {"addressPrefix": prefix}});
        let (s, v) = self
            .arm(Method::PUT, &subnet_path, NETWORK_API, Some(body))
            .await;
        assert!(s < 300, "PUT {subnet_path}: {s} {v}");
        subnet_path
    }

    /// Every private endpoint of the subscription.
    pub async fn private_endpoints(&self) -> Vec<Value> {
        let path =
            format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Network/privateEndpoints");
        let (s, v) = self.arm(Method::GET, &path, NETWORK_API, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v["value"].as_array().cloned().unwrap_or_default()
    }

    /// Deletes a private endpoint through ARM and waits until it is gone.
    pub async fn delete_private_endpoint(&self, id: &str) {
        let (s, v) = self.arm(Method::DELETE, id, NETWORK_API, None).await;
        assert!(s < 300, "DELETE {id}: {s} {v}");
        for _ in 0..200 {
            let (s, _) = self.arm(Method::GET, id, NETWORK_API, None).await;
            if s == 404 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{id} is still there after its DELETE");
    }

    /// Creates a private endpoint through ARM (not by privlink), connected
    /// to `pls`, and waits until it is provisioned; returns its id.
    pub async fn create_private_endpoint(
        &self,
        group: &str,
        name: &str,
        location: &str,
        subnet: &str,
        pls: &str,
        connection: &str,
    ) -> String {
        let path = format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/privateEndpoints/{name}"
        );
        let body = json!({
            "location": location,
            "properties": {
                "subnet": {"id": subnet},
                "manualPrivateLinkServiceConnections": [{"name": connection, "properties": {"privateLinkServiceId": pls}}],
            },
        });
        let (s, v) = self.arm(Method::PUT, &path, NETWORK_API, Some(body)).await;
        assert!(s < 300, "PUT {path}: {s} {v}");
        for _ in 0..200 {
            let (_, v) = self.arm(Method::GET, &path, NETWORK_API, None).await;
            if v["properties"]["provisioningState"] == "Succeeded" {
                return v["id"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} was not provisioned");
    }
}

impl Drop for AzureSandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A resource id as one URL path segment.
pub fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
