//! Logging end to end: the log lines at each level (`-v`, `-vv`,
//! `PRIVLINK_LOG`, `PRIVLINK_LOG_PATH`), and the progress lines without `-v`
//! while Atlas answers 503 and while a server accepts and never answers.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::world::World;

const SERVERLESS: &str = include_str!("../../examples/serverless-aws.yaml");

/// The log lines of one level, as the log prints them.
const INFO: &str = " INFO ";
const DEBUG: &str = " DEBUG ";

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_at_each_level_name_atlas_requests_and_ec2_calls() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("log.yaml", SERVERLESS);
    let f = ["-f", "log.yaml"];

    // -v: every Atlas request and EC2 call at info, nothing at debug.
    let apply = w.expect(0, &["apply", f[0], f[1], "--auto-approve", "-v"]);
    let e = &apply.stderr;
    assert!(e.contains(INFO) && e.contains("Atlas request"), "{e}");
    assert!(e.contains("method=POST") && e.contains("status=20"), "{e}");
    assert!(e.contains("path=\"/api/atlas/v2/groups/"), "{e}");
    assert!(e.contains("duration_ms=") && e.contains("attempt=1"), "{e}");
    assert!(
        e.contains("EC2 call") && e.contains("region=\"us-east-1\""),
        "{e}"
    );
    assert!(e.contains("operation=\"CreateVpcEndpoint\""), "{e}");
    assert!(e.contains("outcome=\"ok\""), "{e}");
    assert!(!e.contains(DEBUG), "no debug line with -v:\n{e}");

    // -vv: the debug lines too.
    let plan = w.expect(0, &["plan", f[0], f[1], "-vv"]);
    let e = &plan.stderr;
    assert!(e.contains(DEBUG) && e.contains("Atlas request sent"), "{e}");
    assert!(e.contains("EC2 call sent") && e.contains(INFO), "{e}");

    // PRIVLINK_LOG=debug works like -vv.
    let env = w.privlink_with(&["plan", f[0], f[1]], &[("PRIVLINK_LOG", "debug")], &[]);
    assert_eq!(env.code, 0, "{}", env.all());
    assert!(env.stderr.contains(DEBUG) && env.stderr.contains("Atlas request sent"));

    // PRIVLINK_LOG=info with PRIVLINK_LOG_PATH: the file has the log,
    // standard error has none of it.
    let path = w.dir.path().join("privlink.log");
    let path_text = path.to_str().unwrap();
    let to_file = w.privlink_with(
        &["plan", f[0], f[1]],
        &[("PRIVLINK_LOG", "info"), ("PRIVLINK_LOG_PATH", path_text)],
        &[],
    );
    assert_eq!(to_file.code, 0, "{}", to_file.all());
    assert!(!to_file.stderr.contains(INFO), "{}", to_file.all());
    let log = std::fs::read_to_string(&path).expect("the log file");
    assert!(log.contains(INFO) && log.contains("Atlas request"), "{log}");
    assert!(log.contains("EC2 call") && !log.contains(DEBUG), "{log}");
    // One line per request: the end of a paginated read sends none.
    for op in ["DescribeVpcEndpoints", "DescribeSecurityGroups"] {
        let operation = format!("operation=\"{op}\"");
        let lines = log
            .lines()
            .filter(|l| l.contains("EC2 call") && l.contains(&operation))
            .count();
        assert_eq!(lines, 1, "{op}:\n{log}");
    }

    // Without -v or PRIVLINK_LOG: no log line at all.
    let quiet = w.expect(0, &["plan", f[0], f[1]]);
    assert!(!quiet.stderr.contains(INFO) && !quiet.stderr.contains("Atlas request"));

    // A PRIVLINK_LOG that is not a level is named, and ignored.
    let odd = w.privlink_with(&["validate", f[0], f[1]], &[("PRIVLINK_LOG", "loud")], &[]);
    assert_eq!(odd.code, 0, "{}", odd.all());
    assert!(odd.stderr.contains("PRIVLINK_LOG=\"loud\" is not a level"));

    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
}

/// The lines of a child's standard error as they come, each with when it
/// came.
struct StderrLines {
    rx: mpsc::Receiver<(Instant, String)>,
    seen: Vec<(Instant, String)>,
}

impl StderrLines {
    fn watch(child: &mut Child) -> StderrLines {
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        StderrLines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits up to `timeout` for a line that `pred` accepts.
    fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((at, line)) => {
                    let hit = pred(&line);
                    self.seen.push((at, line));
                    if hit {
                        return at;
                    }
                }
                Err(_) => panic!("no such line in {timeout:?}:\n{}", self.text()),
            }
        }
    }

    /// Reads the rest, until the child closes its standard error.
    fn finish(&mut self) {
        while let Ok(l) = self.rx.recv_timeout(Duration::from_secs(120)) {
            self.seen.push(l);
        }
    }

    fn text(&self) -> String {
        let lines: Vec<&str> = self.seen.iter().map(|(_, l)| l.as_str()).collect();
        lines.join("\n")
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("privlink did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn(w: &World, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = w.command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start privlink")
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_show_one_progress_line_at_most_every_ten_seconds() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("retry.yaml", SERVERLESS);
    w.control_put("/__sandbox/faults", json!({"rate": 1.0, "statuses": [503]}))
        .await;
    let mut child = spawn(&w, &["apply", "-f", "retry.yaml", "--auto-approve"], &[]);
    let mut lines = StderrLines::watch(&mut child);
    let is_retry = |l: &str| l.starts_with("Atlas: 503, retrying in ") && l.contains(" of 6)");
    let first = lines.wait_for(Duration::from_secs(30), is_retry);
    // Several retries go by, most of them in silence. The backoff doubles
    // from 2 s with jitter: within 30 s at least one more attempt fails
    // more than 10 s after the first line, whatever the jitter.
    std::thread::sleep(Duration::from_secs(30));
    w.control_put("/__sandbox/faults", json!({"rate": 0.0}))
        .await;
    let code = wait_exit(&mut child, Duration::from_secs(180));
    lines.finish();
    let text = lines.text();
    assert_eq!(code, 0, "{text}");
    let retries: Vec<Instant> = lines
        .seen
        .iter()
        .filter(|(_, l)| is_retry(l))
        .map(|(at, _)| *at)
        .collect();
    assert!(retries[0] == first && retries.len() >= 2, "{text}");
    for pair in retries.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(9_500),
            "two progress lines within 10 s:\n{text}"
        );
    }
    let log = w.control_get("/__sandbox/requests").await;
    let injected = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["injected"] == true)
        .count();
    assert!(injected > retries.len(), "{injected} faults, {text}");
    w.expect(0, &["destroy", "-f", "retry.yaml", "--auto-approve"]);
}

/// A server that accepts connections and never answers; it lives as long
/// as the test process.
fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_ec2_is_reported_and_ends_in_a_timeout_error() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("slow.yaml", SERVERLESS);
    let silent = black_hole();
    let started = Instant::now();
    let mut child = spawn(
        &w,
        &["apply", "-f", "slow.yaml", "--auto-approve"],
        &[
            ("AWS_ENDPOINT_URL_EC2", &silent),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("PRIVLINK_REQUEST_TIMEOUT", "12s"),
        ],
    );
    let mut lines = StderrLines::watch(&mut child);
    lines.wait_for(Duration::from_secs(60), |l| {
        l.starts_with("still waiting for an answer from EC2 us-east-1 (") && l.ends_with(" s")
    });
    let code = wait_exit(&mut child, Duration::from_secs(120));
    lines.finish();
    let text = lines.text();
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("timeout"),
        "the error names the timeout:\n{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(90), "{text}");
    w.expect(0, &["destroy", "-f", "slow.yaml", "--auto-approve"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_atlas_is_reported_while_it_does_not_answer() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("slow.yaml", SERVERLESS);
    // `output` reads Atlas only for what the state holds.
    w.expect(0, &["apply", "-f", "slow.yaml", "--auto-approve"]);
    let silent = black_hole();
    let started = Instant::now();
    let mut child = spawn(
        &w,
        &["output", "-f", "slow.yaml"],
        &[
            ("MONGODB_ATLAS_BASE_URL", &silent),
            ("PRIVLINK_REQUEST_TIMEOUT", "30s"),
        ],
    );
    let mut lines = StderrLines::watch(&mut child);
    let waited = lines.wait_for(Duration::from_secs(25), |l| {
        l.starts_with("still waiting for an answer from Atlas (GET /api/atlas/v2/groups/")
            && l.ends_with(") after 10 s")
    });
    assert!(
        waited.duration_since(started) < Duration::from_secs(15),
        "{}",
        lines.text()
    );
    child.kill().expect("stop privlink");
    let _ = child.wait();
    w.expect(0, &["destroy", "-f", "slow.yaml", "--auto-approve"]);
}
