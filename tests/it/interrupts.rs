//! Ctrl-C and SIGTERM during an apply: the run stops its waits at once,
//! keeps the ids of what it created in the state, releases the lock and
//! exits with 130 (143 for SIGTERM) within two seconds; the next apply
//! resumes the waits instead of creating anything twice.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::world::World;

const SERVERLESS: &str = include_str!("../../examples/serverless-aws.yaml");

/// How long the first interrupt alone gives a step in a call (the
/// product's grace): a run that ends sooner was ended by the second.
const GRACE: Duration = Duration::from_millis(1500);

/// The Atlas endpoint's address in the example.
const ATLAS_ENDPOINT: &str = "endpoints.orders.atlas_endpoint";

/// Standard output and error of a running privlink, line by line.
struct Watched {
    rx: mpsc::Receiver<(bool, String)>,
    stdout: String,
    stderr: String,
}

impl Watched {
    fn new(child: &mut Child) -> Watched {
        let (tx, rx) = mpsc::channel();
        let pump = |r: Box<dyn std::io::Read + Send>, is_err: bool, tx: mpsc::Sender<_>| {
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send((is_err, line)).is_err() {
                        break;
                    }
                }
            });
        };
        pump(Box::new(child.stdout.take().unwrap()), false, tx.clone());
        pump(Box::new(child.stderr.take().unwrap()), true, tx);
        Watched {
            rx,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    fn keep(&mut self, (is_err, line): (bool, String)) -> String {
        let to = if is_err {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        to.push_str(&line);
        to.push('\n');
        line
    }

    /// Waits for a line on standard error that `wanted` accepts.
    fn wait_for(&mut self, timeout: Duration, wanted: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(item) => {
                    let is_err = item.0;
                    let line = self.keep(item);
                    if is_err && wanted(&line) {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no such line within {timeout:?}:\n{}\n{}",
            self.stdout, self.stderr
        );
    }

    /// Everything printed, once the process has ended.
    fn finish(mut self) -> String {
        while let Ok(item) = self.rx.recv_timeout(Duration::from_secs(5)) {
            self.keep(item);
        }
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// The exit code, waiting at most `timeout` (-1 when a signal killed it).
fn exit_within(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Serverless endpoints created (`201` answers to their create call) in the
/// sandbox's request log.
async fn endpoint_creates(w: &World) -> usize {
    w.sandbox
        .requests()
        .await
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && r["status"] == 201
                && r["path"].as_str().is_some_and(|p| {
                    p.contains("/privateEndpoint/serverless/") && p.ends_with("/endpoint")
                })
        })
        .count()
}

/// Starts an apply whose Atlas waits last 15 s, sends `signal` once it
/// waits, and checks the exit (`code`, within two seconds), the state and
/// the lock; then the next apply resumes and converges without a second
/// create.
async fn interrupted_apply_resumes(signal: &str, code: i32) {
    // Plain moto: the one wait running when the signal comes is Atlas's
    // (behind the realism layer, EC2's group may still be settling too).
    let w = World::start_ideal(&["orders-prod"], &[], &[]).await;
    w.write("int.yaml", SERVERLESS);
    w.sandbox
        .set_delays(json!({"reserve_ms": 15_000, "connect_ms": 15_000}))
        .await;
    let mut child = w.spawn(&["apply", "-f", "int.yaml", "--auto-approve"]);
    let mut lines = Watched::new(&mut child);
    lines.wait_for(Duration::from_secs(60), |l| {
        l.contains(ATLAS_ENDPOINT) && l.contains("(state ")
    });
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let exit = exit_within(&mut child, Duration::from_secs(10));
    let took = sent.elapsed();
    if exit.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let all = lines.finish();
    assert_eq!(exit, Some(code), "exit after {signal}\n{all}");
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after {signal}\n{all}"
    );
    assert!(
        all.contains("Interrupted: 1 wait stopped; the next `privlink apply` resumes it."),
        "{all}"
    );

    // The state holds the Atlas endpoint as creating, with its id, and the
    // lock is released.
    let state = w.state("int.yaml");
    let endpoint = &state["resources"][ATLAS_ENDPOINT];
    assert_eq!(endpoint["status"], "creating", "{state}");
    let id = endpoint["id"]
        .as_str()
        .expect("the id is recorded")
        .to_owned();
    for (address, r) in state["resources"].as_object().unwrap() {
        if r["status"] == "creating" {
            assert!(r["id"].is_string(), "{address} has no id: {state}");
        }
    }
    let lock = w.state_path("int.yaml").with_extension("json.lock");
    assert!(!lock.exists(), "the lock file is left: {lock:?}");
    assert_eq!(
        endpoint_creates(&w).await,
        1,
        "{:#?}",
        w.sandbox.requests().await
    );

    // The next apply resumes the wait: no second endpoint.
    w.sandbox
        .set_delays(json!({"reserve_ms": 300, "connect_ms": 300}))
        .await;
    let next = w.expect(0, &["apply", "-f", "int.yaml", "--auto-approve"]);
    assert!(
        next.stdout.contains("will finish being created"),
        "{}",
        next.all()
    );
    assert_eq!(endpoint_creates(&w).await, 1, "{}", next.all());
    let state: Value = w.state("int.yaml");
    assert_eq!(state["resources"][ATLAS_ENDPOINT]["id"], id.as_str());
    assert_eq!(state["resources"][ATLAS_ENDPOINT]["status"], "ready");
    assert_eq!(w.live_vpc_endpoints().await.len(), 1);
    let again = w.expect(0, &["plan", "-f", "int.yaml"]);
    assert!(again.stdout.contains("No changes."), "{}", again.all());
    w.expect(0, &["destroy", "-f", "int.yaml", "--auto-approve"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_waits_exits_130_and_the_next_apply_resumes() {
    interrupted_apply_resumes("-INT", 130).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_waits_exits_143_and_the_next_apply_resumes() {
    interrupted_apply_resumes("-TERM", 143).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_exits_at_once_and_leaves_a_valid_state() {
    // Plain moto: the one wait running when the signal comes is Atlas's
    // (behind the realism layer, EC2's group may still be settling too).
    let w = World::start_ideal(&["orders-prod"], &[], &[]).await;
    w.write("int.yaml", SERVERLESS);
    // Every Atlas request takes 4 s: the create call is still in flight
    // when the first Ctrl-C comes, so the run would give it the grace.
    w.sandbox.set_faults(json!({"latency_ms": 4000})).await;
    let mut child = w.spawn(&["apply", "-f", "int.yaml", "--auto-approve"]);
    let mut lines = Watched::new(&mut child);
    lines.wait_for(Duration::from_secs(60), |l| {
        l.contains(&format!("{ATLAS_ENDPOINT}: creating..."))
    });
    let pid = child.id().to_string();
    let sent = Instant::now();
    for _ in 0..2 {
        let kill = Command::new("kill").args(["-INT", &pid]).status();
        assert!(kill.expect("kill").success());
        std::thread::sleep(Duration::from_millis(200));
    }
    let exit = exit_within(&mut child, Duration::from_secs(10));
    let took = sent.elapsed();
    let all = lines.finish();
    assert_eq!(exit, Some(130), "{all}");
    assert!(
        took < GRACE,
        "the second Ctrl-C did not end the run at once: {took:?}\n{all}"
    );
    assert!(all.contains("Interrupted again: exiting at once"), "{all}");
    // The state written so far is whole: the intent of the create is there.
    let state = w.state("int.yaml");
    assert_eq!(state["resources"][ATLAS_ENDPOINT]["status"], "creating");

    // The next apply finds what the create call may have made: one endpoint.
    w.sandbox.set_faults(json!({"latency_ms": 0})).await;
    w.expect(0, &["apply", "-f", "int.yaml", "--auto-approve"]);
    let atlas = w.control_get("/__sandbox/state").await;
    let endpoints = atlas["projects"][0]["serverlessEndpoints"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(endpoints, 1, "{atlas}");
    w.expect(0, &["destroy", "-f", "int.yaml", "--auto-approve"]);
}
