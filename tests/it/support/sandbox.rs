//! Starts the `atlas-sandbox` binary on loopback for the integration tests,
//! and talks to its control API (request log, faults, delays, realism, forced
//! states).
//!
//! The binary is looked up next to the test executable
//! (`<target>/<profile>/deps/it-…` → `<target>/<profile>/atlas-sandbox`) and
//! built once per test process with `cargo build -p atlas-sandbox` when it is
//! missing. Each [`Sandbox`] is one server process, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// How long the sandbox may take to print its base URL.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running atlas-sandbox.
pub struct Sandbox {
    /// `http://127.0.0.1:PORT`, as printed by the sandbox.
    pub base_url: String,
    pub child: Child,
}

impl Sandbox {
    /// Starts a sandbox on a free loopback port with `args` (credentials,
    /// projects, deployments, delays, faults…) and waits for its base URL.
    /// Panics, failing the test, when the binary cannot be built or started.
    /// Set `ATLAS_SANDBOX_LOG=1` to see the sandbox's stderr.
    pub fn start(args: &[&str]) -> Sandbox {
        let bin = sandbox_binary();
        let stderr = if std::env::var_os("ATLAS_SANDBOX_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = Command::new(bin)
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
            // Keep draining so the sandbox never blocks on a full pipe.
            let mut sink = String::new();
            while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
                sink.clear();
            }
        });
        let base_url = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(url)) if url.starts_with("http") => url,
            other => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "atlas-sandbox {args:?} did not print its base URL (got {other:?}, exit {status:?}); \
                     rerun with ATLAS_SANDBOX_LOG=1 to see its stderr"
                );
            }
        };
        Sandbox { base_url, child }
    }

    /// The sandbox's log of `/api` requests, oldest first: objects with
    /// `method`, `path`, `query`, `status`, `time`, `auth`, `injected`.
    pub async fn requests(&self) -> Vec<Value> {
        let v = self
            .control(reqwest::Method::GET, "/__sandbox/requests", None)
            .await;
        match v {
            Value::Array(items) => items,
            other => panic!("request log is not an array: {other}"),
        }
    }

    /// Empties the request log.
    pub async fn clear_requests(&self) {
        self.control(reqwest::Method::DELETE, "/__sandbox/requests", None)
            .await;
    }

    /// `PUT /__sandbox/faults` with `{rate, statuses, latency_ms, link_failures}`
    /// (fields optional).
    pub async fn set_faults(&self, faults: Value) {
        self.control(reqwest::Method::PUT, "/__sandbox/faults", Some(faults))
            .await;
    }

    /// `PUT /__sandbox/delays` with `{reserve_ms, connect_ms, delete_ms}`.
    pub async fn set_delays(&self, delays: Value) {
        self.control(reqwest::Method::PUT, "/__sandbox/delays", Some(delays))
            .await;
    }

    /// `PUT /__sandbox/realism` with `{ghost_rate, drop_rate, seed, cluster_update_ms,
    /// max_concurrent_links}` (fields optional); returns the settings now in force.
    #[allow(dead_code)] // not every test binary drives the realistic world
    pub async fn set_realism(&self, realism: Value) -> Value {
        self.control(reqwest::Method::PUT, "/__sandbox/realism", Some(realism))
            .await
    }

    /// Forces the endpoint service `id` of `project` into a state:
    /// `{"status": "WAITING_FOR_USER"|"FAILED"|..., "errorMessage"?}`; returns the service.
    #[allow(dead_code)] // not every test binary drives the realistic world
    pub async fn force_service(&self, project: &str, id: &str, state: Value) -> Value {
        let path = format!("/__sandbox/endpoint-services/{project}/{id}/state");
        self.control(reqwest::Method::POST, &path, Some(state))
            .await
    }

    /// Forces the cluster `name` of `project` into `{"stateName": "UPDATING"|"IDLE"}`;
    /// returns the cluster.
    #[allow(dead_code)] // not every test binary drives the realistic world
    pub async fn force_cluster(&self, project: &str, name: &str, state: Value) -> Value {
        let path = format!("/__sandbox/clusters/{project}/{name}/state");
        self.control(reqwest::Method::POST, &path, Some(state))
            .await
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request =
            reqwest::Client::new().request(method.clone(), format!("{}{path}", self.base_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("sandbox control {method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "sandbox control {method} {path}: HTTP {status}: {text}"
        );
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("sandbox control {method} {path}: {e}: {text}"))
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sandbox binary, built once per test process if it is missing.
fn sandbox_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // ATLAS_SANDBOX_BIN runs another build (a copy kept apart from a
        // target directory that other builds write to).
        if let Some(bin) = std::env::var_os("ATLAS_SANDBOX_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("current test executable");
        // <target>/<profile>/deps/it-xxxx
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable lives in <target>/<profile>/deps");
        let bin = profile_dir.join(format!("atlas-sandbox{}", std::env::consts::EXE_SUFFIX));
        if bin.is_file() {
            return bin;
        }
        let target_dir = profile_dir.parent().expect("<target> directory");
        let manifest = super::package_dir().join("Cargo.toml");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "-p", "atlas-sandbox", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status();
        match status {
            Ok(s) if s.success() && bin.is_file() => bin,
            Ok(s) => panic!(
                "`cargo build -p atlas-sandbox` ({s}) did not produce {}; build it by hand to see why",
                bin.display()
            ),
            Err(e) => panic!("cannot run `cargo build -p atlas-sandbox`: {e}"),
        }
    })
}
