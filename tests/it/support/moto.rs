//! A moto_server on loopback for the EC2 tests, plus fixtures (VPCs,
//! subnets, security groups) created through the SDK.
//!
//! [`Moto::shared`] starts one server per test process, lazily; tests keep
//! apart by working in VPCs of their own. [`Moto::start`] starts a private
//! one (for tests that count requests). moto_server runs under a small shell
//! that stops it when its stdin closes, so a server outlives neither its
//! [`Moto`] nor the test process.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::Credentials;

/// How long moto_server may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto_server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    log: PathBuf,
}

static SHARED: OnceLock<Moto> = OnceLock::new();

impl Moto {
    /// One server for the whole test process, started on first use.
    pub fn shared() -> &'static Moto {
        SHARED.get_or_init(Moto::start)
    }

    /// Starts a server on a free loopback port and waits until it answers.
    /// Panics (failing the test) when moto_server is missing or never
    /// becomes ready.
    pub fn start() -> Moto {
        let bin = moto_binary();
        if !bin.is_file() {
            panic!(
                "moto_server not found at {} (set MOTO_SERVER to override): install with \
                 `python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'` in the \
                 workspace root, or run the README's test command",
                bin.display()
            );
        }
        let port = free_port();
        let dir = std::env::temp_dir();
        let log = dir.join(format!("privlink-moto-{port}.log"));
        let recording = dir.join(format!("privlink-moto-{port}.recording"));
        // The shell stops moto_server when our end of its stdin closes:
        // on drop, or when the test process exits however it exits.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 & m=$!; cat >/dev/null; kill $m 2>/dev/null; wait $m"#)
            .arg(&bin)
            .arg(port.to_string())
            .arg(&log)
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdin = child.stdin.take();
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            stdin,
            port,
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = moto.http("GET", "/moto-api/") {
                return moto;
            }
            if started.elapsed() > READY_TIMEOUT {
                let log = std::fs::read_to_string(&moto.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!(
                    "moto_server on port {port} not ready after {}s; log tail:\n{}",
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
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"),
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
    out.group_id().expect("GroupId").to_owned()
}
