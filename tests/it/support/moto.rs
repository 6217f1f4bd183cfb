//! A moto server on loopback for the EC2 tests, plus fixtures (VPCs,
//! subnets, security groups) created through the SDK.
//!
//! [`Moto::start`] starts a private server behind the EC2 realism layer
//! (`ec2-realism/ec2_realism.py`: eventual consistency, ClientToken replay,
//! lingering network interfaces, pendingAcceptance), reachable through
//! [`Moto::realism`]; `PRIVLINK_TEST_WORLD=ideal` makes it plain moto.
//! [`Moto::start_ideal`] starts plain moto_server, and [`Moto::shared`] one
//! plain server per test process, lazily; tests keep apart by working in
//! VPCs of their own. Each server runs under a small shell that stops it
//! when its stdin closes, so a server outlives neither its [`Moto`] nor the
//! test process.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::Credentials;
use serde_json::Value;

/// How long moto may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How to get moto and its Python.
const INSTALL_HINT: &str = "install with `python3 -m venv .venv && .venv/bin/pip install \
     'moto[server]==5.2.5'` in the workspace root, or run the README's test command";

/// A running moto server, plain or behind the EC2 realism layer.
pub struct Moto {
    /// `http://127.0.0.1:PORT` (the layer's, when there is one).
    pub endpoint: String,
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    log: PathBuf,
    realistic: bool,
}

/// The control API of a running EC2 realism layer.
#[derive(Clone, Debug)]
pub struct Realism {
    base: String,
}

impl Realism {
    /// What the layer did so far: `{"consistency_not_found": n,
    /// "consistency_unlisted": n, "eni_partial": n, "token_replay": n,
    /// "token_mismatch": n, "dependency_violation": n,
    /// "pending_acceptance": n, "accepted": n, "rejected": n}`.
    pub async fn counters(&self) -> Value {
        self.call(reqwest::Method::GET, "/_realism/counters", None)
            .await
    }

    /// Changes some of the settings (`consistency_ms`, `eni_ms`,
    /// `linger_ms`, `auto_accept_ms`: milliseconds, `null` turns
    /// auto-accept off); the others keep their values.
    pub async fn configure(&self, v: Value) {
        self.call(reqwest::Method::PUT, "/_realism/config", Some(v))
            .await;
    }

    /// The current settings.
    pub async fn config(&self) -> Value {
        self.call(reqwest::Method::GET, "/_realism/config", None)
            .await
    }

    /// Sets every counter back to zero.
    pub async fn reset_counters(&self) {
        self.call(reqwest::Method::POST, "/_realism/reset-counters", None)
            .await;
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req =
            reqwest::Client::new().request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("realism {method} {path}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "realism {method} {path}: HTTP {status}: {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

static SHARED: OnceLock<Moto> = OnceLock::new();

impl Moto {
    /// One plain moto_server for the whole test process, started on first
    /// use.
    pub fn shared() -> &'static Moto {
        SHARED.get_or_init(Moto::start_ideal)
    }

    /// Starts a private server behind the EC2 realism layer with its
    /// default settings (plain moto when `PRIVLINK_TEST_WORLD=ideal`), on a
    /// free loopback port, and waits until it answers. Panics (failing the
    /// test) when moto, its Python or the layer is missing, or when the
    /// server never becomes ready.
    pub fn start() -> Moto {
        if std::env::var("PRIVLINK_TEST_WORLD").is_ok_and(|w| w == "ideal") {
            return Moto::start_ideal();
        }
        let bin = moto_binary();
        let python = bin.with_file_name("python");
        let layer = super::package_dir().join("ec2-realism/ec2_realism.py");
        if !bin.is_file() || !python.is_file() {
            panic!(
                "moto's Python not found at {} (beside MOTO_SERVER={}): {INSTALL_HINT}",
                python.display(),
                bin.display()
            );
        }
        if !layer.is_file() {
            panic!(
                "the EC2 realism layer is missing at {}: it is part of the repository \
                 (ec2-realism/ec2_realism.py); restore it with `git checkout -- ec2-realism`, \
                 or set PRIVLINK_TEST_WORLD=ideal to test against plain moto",
                layer.display()
            );
        }
        Moto::launch(&python, &[layer.as_os_str(), "--host".as_ref()], true)
    }

    /// Starts a private plain moto_server on a free loopback port and waits
    /// until it answers. Panics (failing the test) when moto_server is
    /// missing or never becomes ready.
    pub fn start_ideal() -> Moto {
        let bin = moto_binary();
        if !bin.is_file() {
            panic!(
                "moto_server not found at {} (set MOTO_SERVER to override): {INSTALL_HINT}",
                bin.display()
            );
        }
        Moto::launch(&bin, &["-H".as_ref()], false)
    }

    /// The realism layer's control API; `None` for plain moto.
    pub fn realism(&self) -> Option<Realism> {
        self.realistic.then(|| Realism {
            base: self.endpoint.clone(),
        })
    }

    /// Runs `program args 127.0.0.1 -p PORT` (both moto_server and the
    /// layer take these flags) under the stopping shell, then waits until
    /// it answers.
    fn launch(program: &Path, args: &[&OsStr], realistic: bool) -> Moto {
        let port = free_port();
        let dir = std::env::temp_dir();
        let log = dir.join(format!("privlink-moto-{port}.log"));
        let recording = dir.join(format!("privlink-moto-{port}.recording"));
        // The shell stops the server when our end of its stdin closes:
        // on drop, or when the test process exits however it exits.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"p=$1; l=$2; shift 2; "$@" 127.0.0.1 -p "$p" >"$l" 2>&1 & m=$!; cat >/dev/null; kill $m 2>/dev/null; wait $m"#)
            .arg("sh")
            .arg(port.to_string())
            .arg(&log)
            .arg(program)
            .args(args)
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdin = child.stdin.take();
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            stdin,
            port,
            log,
            realistic,
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = self.http("GET", "/moto-api/") {
                return;
            }
            if started.elapsed() > READY_TIMEOUT {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!(
                    "moto on port {} not ready after {}s; log tail:\n{}",
                    self.port,
                    READY_TIMEOUT.as_secs(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SDK configuration pointing at this server, with test credentials.
    pub async fn sdk_config(&self, region: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// A plain EC2 client for fixtures and checks.
    pub async fn ec2(&self, region: &str) -> Client {
        Client::new(&self.sdk_config(region).await)
    }

    /// Forgets every resource on the server.
    pub fn reset(&self) {
        self.expect_ok("POST", "/moto-api/reset");
    }

    /// Clears the request log and starts recording.
    pub fn start_recording(&self) {
        self.expect_ok("POST", "/moto-api/recorder/reset-recording");
        self.expect_ok("POST", "/moto-api/recorder/start-recording");
    }

    /// Stops recording; returns how many AWS requests were recorded since
    /// [`Moto::start_recording`].
    pub fn requests_count(&self) -> usize {
        self.expect_ok("POST", "/moto-api/recorder/stop-recording");
        let log = self.expect_ok("GET", "/moto-api/recorder/download-recording");
        log.lines().filter(|l| !l.trim().is_empty()).count()
    }

    fn expect_ok(&self, method: &str, path: &str) -> String {
        match self.http(method, path) {
            Ok((200, body)) => body,
            Ok((status, body)) => panic!("moto {method} {path}: HTTP {status}: {body}"),
            Err(e) => panic!("moto {method} {path}: {e}"),
        }
    }

    /// A minimal HTTP/1.0 exchange with the server.
    fn http(&self, method: &str, path: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> PathBuf {
    match std::env::var_os("MOTO_SERVER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => super::package_dir().join(".venv/bin/moto_server"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Creates a VPC; returns its id.
pub async fn create_vpc(ec2: &Client, cidr: &str) -> String {
    let out = ec2
        .create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("CreateVpc");
    out.vpc()
        .and_then(|v| v.vpc_id())
        .expect("VpcId")
        .to_owned()
}

/// Creates a subnet; returns its id.
pub async fn create_subnet(ec2: &Client, vpc_id: &str, cidr: &str) -> String {
    let out = ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(cidr)
        .send()
        .await
        .expect("CreateSubnet");
    out.subnet()
        .and_then(|s| s.subnet_id())
        .expect("SubnetId")
        .to_owned()
}

/// Creates an untagged security group (a "client" group); returns its id.
pub async fn create_security_group(ec2: &Client, vpc_id: &str, name: &str) -> String {
    let out = ec2
        .create_security_group()
        .vpc_id(vpc_id)
        .group_name(name)
        .description(format!("test group {name}"))
        .send()
        .await
        .expect("CreateSecurityGroup");
    let id = out.group_id().expect("GroupId").to_owned();
    visible(ec2, &id).await;
    id
}

/// Waits until EC2 (behind the realism layer, eventually consistent)
/// describes the new group `id`: a user's group exists well before privlink
/// is run against it.
async fn visible(ec2: &Client, id: &str) {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let seen = ec2.describe_security_groups().group_ids(id).send().await;
        match seen {
            Ok(_) => return,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("security group {id} never became visible: {e:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::error::ProvideErrorMetadata;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn the_default_world_is_realistic_and_configurable() {
        let moto = Moto::start();
        let Some(realism) = moto.realism() else {
            // PRIVLINK_TEST_WORLD=ideal.
            return;
        };
        realism.reset_counters().await;
        let ec2 = moto.ec2("us-east-1").await;
        let vpc = create_vpc(&ec2, "10.9.0.0/16").await;
        let sg = ec2
            .create_security_group()
            .vpc_id(&vpc)
            .group_name("young")
            .description("a young group")
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("GroupId")
            .to_owned();
        let err = ec2
            .describe_security_groups()
            .group_ids(&sg)
            .send()
            .await
            .expect_err("a group just created is not found yet");
        assert_eq!(err.code(), Some("InvalidGroup.NotFound"));
        assert_eq!(realism.counters().await["consistency_not_found"], 1);

        realism.configure(json!({"consistency_ms": 0})).await;
        let config = realism.config().await;
        assert_eq!(config["consistency_ms"], 0);
        assert_eq!(
            config["linger_ms"], 3000,
            "other settings keep their values"
        );
        let found = ec2
            .describe_security_groups()
            .group_ids(&sg)
            .send()
            .await
            .expect("found once consistent");
        assert_eq!(found.security_groups().len(), 1);
    }

    #[test]
    fn the_ideal_world_has_no_realism() {
        assert!(Moto::start_ideal().realism().is_none());
    }
}
