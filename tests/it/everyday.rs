//! Everyday use end to end: applying a saved plan without `-f`, a
//! configuration file given where a plan is expected, `force-unlock` of a
//! lock whose holder is alive, a state written by a newer privlink, and
//! `output` grouped by endpoint.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::world::World;

const SERVERLESS: &str = include_str!("../../examples/serverless-aws.yaml");
const DEDICATED: &str = include_str!("../../examples/dedicated-aws.yaml");

/// The VPC endpoint id the state records for endpoint `name`.
fn vpce_id(state: &Value, name: &str) -> String {
    state["resources"][format!("endpoints.{name}.vpc_endpoint")]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no VPC endpoint for {name} in {state}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_from_elsewhere_and_a_config_is_no_plan() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("app.yaml", SERVERLESS);
    w.expect(0, &["plan", "-f", "app.yaml", "--out", "app.plan"]);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(w.dir.path().join("app.plan")).unwrap())
            .unwrap();
    assert!(
        PathBuf::from(saved["config_file"].as_str().expect("config_file")).is_absolute(),
        "{saved}"
    );

    // A configuration file given as the plan: a hint, and no API call.
    w.sandbox.clear_requests().await;
    let wrong = w.privlink(&["apply", "app.yaml"]);
    assert_eq!(wrong.code, 1, "{}", wrong.all());
    assert!(
        wrong
            .stderr
            .contains("that is a configuration file; did you mean `privlink apply -f app.yaml`?"),
        "{}",
        wrong.all()
    );
    let log = w.sandbox.requests().await;
    assert!(log.is_empty(), "API calls after a refused apply: {log:?}");

    // Applied from another working directory, without -f: the plan's file
    // and state location are used.
    let elsewhere = w.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = w
        .command(&["apply", "../app.plan"])
        .current_dir(&elsewhere)
        .output()
        .expect("run privlink");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply complete!"), "{stdout}\n{stderr}");
    assert!(!elsewhere.join("state").exists(), "no state made elsewhere");
    let state = w.state("app.yaml");
    let vpce = vpce_id(&state, "orders");
    // The same plan again is stale.
    let stale = w.privlink(&["apply", "app.plan"]);
    assert_eq!(stale.code, 1, "{}", stale.all());

    // output: the endpoint, its VPC endpoint, its instance and strings.
    let text = w.expect(0, &["output", "-f", "app.yaml"]);
    assert!(
        text.stdout.contains(&format!("  orders ({vpce}):\n")),
        "{}",
        text.all()
    );
    assert!(
        text.stdout
            .contains("    serverless instance orders-prod: mongodb+srv://"),
        "{}",
        text.all()
    );
    let out = w.expect(0, &["output", "-f", "app.yaml", "--json"]);
    let rows: Value = serde_json::from_str(&out.stdout).expect("output --json");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["endpoint"], "orders");
    assert_eq!(rows[0]["vpc_endpoint_id"], json!(vpce));
    assert_eq!(rows[0]["deployment"], "serverless instance orders-prod");
    assert!(!rows[0]["connection_strings"].as_array().unwrap().is_empty());

    // output with no state for the file's stack.
    w.write("fresh.yaml", SERVERLESS);
    let none = w.expect(0, &["output", "-f", "fresh.yaml"]);
    assert!(
        none.stdout.contains("No state for stack \"")
            && none
                .stdout
                .contains("at state/fresh.state.json: nothing applied yet"),
        "{}",
        none.all()
    );
    assert!(!none.stdout.contains("mongodb"), "{}", none.all());

    w.expect(0, &["destroy", "-f", "app.yaml", "--auto-approve"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_of_a_newer_format_asks_for_an_upgrade() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("newer.yaml", SERVERLESS);
    let path = w.state_path("newer.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let body = json!({"version": 99, "serial": 3, "lineage": "x", "stack": "newer", "resources": {}, "future": true});
    std::fs::write(&path, body.to_string()).unwrap();
    for args in [
        vec!["plan", "-f", "newer.yaml"],
        vec!["apply", "-f", "newer.yaml", "--auto-approve"],
    ] {
        let run = w.privlink(&args);
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stderr
                .contains("written by a newer privlink (format 99); upgrade privlink"),
            "{}",
            run.all()
        );
        assert!(!run.stderr.contains("corrupt"), "{}", run.all());
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), body.to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn force_unlock_of_a_live_holder_needs_yes_or_force() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("lock.yaml", SERVERLESS);
    w.control_put(
        "/__sandbox/delays",
        json!({"reserve_ms": 8000, "connect_ms": 8000}),
    )
    .await;
    let mut holder = w.spawn(&["apply", "-f", "lock.yaml", "--auto-approve"]);
    let pid = holder.id();
    let lock_path = PathBuf::from(format!("{}.lock", w.state_path("lock.yaml").display()));
    let started = Instant::now();
    let lock_id = loop {
        let info: Option<Value> = std::fs::read_to_string(&lock_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if let Some(id) = info.as_ref().and_then(|i| i["id"].as_str()) {
            break id.to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no lock taken");
        std::thread::sleep(Duration::from_millis(100));
    };

    // No terminal, no --force: refused, naming the holder; nothing changes.
    let refused = w.privlink(&["force-unlock", "-f", "lock.yaml", &lock_id]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    for part in [
        "held by a live run",
        "apply",
        &format!("pid {pid}"),
        "since",
        "--force",
    ] {
        assert!(refused.all().contains(part), "{part:?}:\n{}", refused.all());
    }
    assert!(lock_path.exists(), "a refused force-unlock leaves the lock");
    assert!(
        holder.try_wait().unwrap().is_none(),
        "the holder still runs"
    );

    // --force removes it, still saying who held it.
    let forced = w.expect(0, &["force-unlock", "-f", "lock.yaml", &lock_id, "--force"]);
    assert!(
        forced.stdout.contains(&format!("pid {pid}"))
            && forced.stdout.contains(&format!("Removed lock {lock_id}")),
        "{}",
        forced.all()
    );
    assert!(!lock_path.exists(), "the lock was removed");

    holder.kill().expect("kill the holder");
    holder.wait().expect("reap");
    // A lock left by a run that is gone is removed without asking.
    std::fs::write(&lock_path, "{}").unwrap();
    w.expect(0, &["force-unlock", "-f", "lock.yaml", "any-id"]);
    assert!(!lock_path.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn output_groups_dedicated_strings_by_endpoint() {
    let w = World::start(&[], &["main"], &[]).await;
    w.write("dedicated.yaml", DEDICATED);
    let f = ["-f", "dedicated.yaml"];
    let apply = w.expect(0, &["apply", f[0], f[1], "--auto-approve"]);
    let state = w.state("dedicated.yaml");
    let ids: Vec<(String, String)> = ["analytics", "app"]
        .iter()
        .map(|n| ((*n).to_owned(), vpce_id(&state, n)))
        .collect();
    assert_ne!(ids[0].1, ids[1].1);
    for (name, id) in &ids {
        assert!(
            apply.stdout.contains(&format!("  {name} ({id}):\n")),
            "{}",
            apply.all()
        );
    }

    let out = w.expect(0, &["output", f[0], f[1], "--json"]);
    let rows: Value = serde_json::from_str(&out.stdout).expect("output --json");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "one row per endpoint and cluster: {rows:?}");
    let mut seen = Vec::new();
    for ((name, id), row) in ids.iter().zip(rows) {
        assert_eq!(row["endpoint"], json!(name), "{row}");
        assert_eq!(row["vpc_endpoint_id"], json!(id), "{row}");
        assert_eq!(row["deployment"], "cluster main", "{row}");
        let strings = row["connection_strings"].as_array().unwrap();
        assert_eq!(strings.len(), 1, "only its own endpoint's string: {row}");
        seen.push(strings[0].as_str().unwrap().to_owned());
    }
    assert_ne!(seen[0], seen[1], "each endpoint has its own string");

    let text = w.expect(0, &["output", f[0], f[1]]);
    for ((name, id), s) in ids.iter().zip(&seen) {
        let block = format!("  {name} ({id}):\n    cluster main: {s}\n");
        assert!(text.stdout.contains(&block), "{block:?}:\n{}", text.all());
    }
    w.expect(0, &["destroy", f[0], f[1], "--auto-approve"]);
}
