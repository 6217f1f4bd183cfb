//! A running `azure-sandbox` for the AZURE tests: started from the workspace's build (or
//! `AZURE_SANDBOX_BIN`), with a client-credentials token, the fixtures (resource group,
//! virtual network, subnet) and private endpoints made through its Resource Manager API.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{WAIT, poll};

pub const SUBSCRIPTION: &str = "0b5b8a9c-1d2e-4f30-8a4b-5c6d7e8f9a0b";
pub const LOCATION: &str = "eastus2";
const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const NETWORK: &str = "2024-05-01";

/// The azure-sandbox binary: `AZURE_SANDBOX_BIN`, or next to the atlas-sandbox under test.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AZURE_SANDBOX_BIN") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_BIN_EXE_atlas-sandbox")).with_file_name("azure-sandbox")
}

/// A running azure-sandbox, killed on drop.
pub struct AzureSandbox {
    child: Child,
    pub base: String,
    token: String,
    http: reqwest::Client,
}

impl Drop for AzureSandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AzureSandbox {
    pub async fn start() -> AzureSandbox {
        let bin = binary();
        assert!(
            bin.exists(),
            "azure-sandbox not found at {} (build it with `cargo build -p azure-sandbox` or set \
             AZURE_SANDBOX_BIN)",
            bin.display()
        );
        let mut child = Command::new(&bin)
            .args(["--listen", "127.0.0.1:0", "--provision-ms", "200"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
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
            .recv_timeout(Duration::from_secs(30))
            .expect("azure-sandbox printed its base URL")
            .trim()
            .to_string();
        let http = reqwest::Client::new();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "privlink-test"),
            ("client_secret", "sandbox-secret"),
            ("scope", "https://management.azure.com/.default"),
        ];
        let answer: Value = http
            .post(format!("{base}/{TENANT}/oauth2/v2.0/token"))
            .form(&form)
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token answer");
        let token = answer["access_token"]
            .as_str()
            .expect("a token")
            .to_string();
        AzureSandbox {
            child,
            base,
            token,
            http,
        }
    }

    /// An ARM call with the token; `path` carries its `api-version`.
    pub async fn arm(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("ARM request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Resource group `group` with virtual network `vnet` (10.0.0.0/16) and subnet `default`
    /// (10.0.1.0/24) in [`LOCATION`]; the subnet's id.
    pub async fn network(&self, group: &str) -> String {
        let rg = format!("/subscriptions/{SUBSCRIPTION}/resourcegroups/{group}");
        let (s, _) = self
            .arm(
                "PUT",
                &format!("{rg}?api-version=2021-04-01"),
                Some(json!({"location": LOCATION})),
            )
            .await;
        assert!(s == 200 || s == 201, "resource group: {s}");
        let vnet = format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/vnet"
        );
        let body = json!({"location": LOCATION, "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.1.0/24"}}],
        }});
        let (s, _) = self
            .arm("PUT", &format!("{vnet}?api-version={NETWORK}"), Some(body))
            .await;
        assert!(s == 200 || s == 201, "virtual network: {s}");
        format!("{vnet}/subnets/default")
    }

    /// Creates the private endpoint `name` in `subnet` with a manual connection to `pls`,
    /// waits until it is provisioned, and answers its id and private IP.
    pub async fn private_endpoint(
        &self,
        group: &str,
        name: &str,
        subnet: &str,
        pls: &str,
    ) -> (String, String) {
        let id = format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/privateEndpoints/{name}"
        );
        let body = json!({"location": LOCATION, "properties": {
            "subnet": {"id": subnet},
            "manualPrivateLinkServiceConnections": [
                {"name": name, "properties": {"privateLinkServiceId": pls}}
            ],
        }});
        let path = format!("{id}?api-version={NETWORK}");
        let (s, answer) = self.arm("PUT", &path, Some(body)).await;
        assert_eq!(s, 201, "private endpoint PUT: {answer}");
        let pe = poll(&format!("{name} provisioned"), WAIT, || async {
            let (_, pe) = self.arm("GET", &path, None).await;
            (pe["properties"]["provisioningState"] == "Succeeded").then_some(pe)
        })
        .await;
        let nic = pe["properties"]["networkInterfaces"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, nic) = self
            .arm("GET", &format!("{nic}?api-version={NETWORK}"), None)
            .await;
        let ip = nic["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
            .as_str()
            .unwrap()
            .to_string();
        (id, ip)
    }

    /// `privateLinkServiceConnectionState.status` of the private endpoint `id`.
    pub async fn connection_status(&self, id: &str) -> String {
        let (_, pe) = self
            .arm("GET", &format!("{id}?api-version={NETWORK}"), None)
            .await;
        pe["properties"]["manualPrivateLinkServiceConnections"][0]["properties"]
            ["privateLinkServiceConnectionState"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The Private Link Services registered in the sandbox.
    pub async fn services(&self) -> Vec<String> {
        let state: Value = self
            .http
            .get(format!("{}/__sandbox/state", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        serde_json::from_value(state["privateLinkServices"].clone()).unwrap()
    }
}

/// A path segment holding a resource id.
pub fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
