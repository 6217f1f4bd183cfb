//! Which state a run uses, and what a plan says it will replace: the
//! default state is tied to the file wherever privlink runs from, a state
//! of another stack is refused before any API call, the state an older
//! build kept beside the working directory is moved to the file, and a
//! change that forces a replacement of a linked endpoint says so.

use serde_json::Value;

use crate::support::world::World;

const SERVERLESS: &str = include_str!("../../examples/serverless-aws.yaml");

/// The number of `/api` requests the sandbox has logged.
async fn api_calls(w: &World) -> usize {
    w.sandbox.requests().await.len()
}

/// Runs `privlink ARGS` with the working directory `dir`.
fn run_in(w: &World, dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = w
        .command(args)
        .current_dir(dir)
        .output()
        .expect("run privlink");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn one_file_has_one_state_wherever_privlink_runs_from() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    let a = w.dir.path().join("a");
    let b = w.dir.path().join("b");
    std::fs::create_dir_all(a.join("conf")).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("conf/orders.yaml"), SERVERLESS).unwrap();

    let (code, stdout, stderr) = run_in(
        &w,
        &a,
        &["apply", "-f", "conf/orders.yaml", "--auto-approve"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        a.join("conf/state/orders.state.json").is_file(),
        "the state lies beside the file"
    );

    // The same file named from another directory: the same state.
    let (code, stdout, stderr) = run_in(
        &w,
        &b,
        &["plan", "-f", "../a/conf/orders.yaml", "--detailed-exitcode"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("No changes."), "{stdout}\n{stderr}");
    assert!(!b.join("state").exists(), "no second state in {b:?}");

    let (code, stdout, stderr) = run_in(
        &w,
        &b,
        &["destroy", "-f", "../a/conf/orders.yaml", "--auto-approve"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(w.live_vpc_endpoints().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_of_another_stack_is_refused_before_any_api_call() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("orders.yaml", SERVERLESS);
    w.write("billing.yaml", SERVERLESS);
    w.expect(0, &["apply", "-f", "orders.yaml", "--auto-approve"]);
    let orders_state = w.state_path("orders.yaml");
    let state = orders_state.to_str().unwrap();

    w.sandbox.clear_requests().await;
    for command in [
        vec!["plan", "-f", "billing.yaml", "--state", state],
        vec![
            "apply",
            "-f",
            "billing.yaml",
            "--state",
            state,
            "--auto-approve",
        ],
        vec![
            "destroy",
            "-f",
            "billing.yaml",
            "--state",
            state,
            "--auto-approve",
        ],
    ] {
        let run = w.privlink(&command);
        assert_ne!(run.code, 0, "{}", run.all());
        assert!(
            run.stderr
                .contains("belongs to stack \"orders\", not \"billing\"")
                && run.stderr.contains("--force-stack"),
            "{}",
            run.all()
        );
        assert_eq!(api_calls(&w).await, 0, "API calls after {command:?}");
    }
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(&orders_state).unwrap()).unwrap();
    assert_eq!(after["resources"].as_object().unwrap().len(), 5);

    // With --force-stack the state is used as it is: its objects are
    // planned against (nothing created anew), with a warning.
    let forced = w.privlink(&[
        "plan",
        "-f",
        "billing.yaml",
        "--state",
        state,
        "--force-stack",
    ]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert!(
        forced.stdout.contains("on stack \"orders\"") && !forced.stdout.contains("will be created"),
        "{}",
        forced.all()
    );
    assert!(forced.stderr.contains("--force-stack"), "{}", forced.all());
    w.expect(0, &["destroy", "-f", "orders.yaml", "--auto-approve"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_of_an_older_build_beside_the_working_directory_is_moved_to_the_file() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    std::fs::create_dir_all(w.dir.path().join("conf")).unwrap();
    w.write("conf/orders.yaml", SERVERLESS);
    // Where an older build kept it: state/<stem>.state.json in the
    // working directory.
    let old = w.dir.path().join("state/orders.state.json");
    let old_arg = old.to_str().unwrap();
    w.expect(
        0,
        &[
            "apply",
            "-f",
            "conf/orders.yaml",
            "--state",
            old_arg,
            "--auto-approve",
        ],
    );
    let plan = w.expect(0, &["plan", "-f", "conf/orders.yaml"]);
    assert!(plan.stdout.contains("No changes."), "{}", plan.all());
    assert!(plan.stderr.contains("moved"), "{}", plan.all());
    assert!(!old.exists(), "the old state is moved away");
    let new = w.dir.path().join("conf/state/orders.state.json");
    assert!(new.is_file(), "{}", plan.all());
    w.expect(0, &["destroy", "-f", "conf/orders.yaml", "--auto-approve"]);
    assert!(w.live_vpc_endpoints().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_change_says_it_replaces_the_linked_endpoint() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("orders.yaml", SERVERLESS);
    w.expect(0, &["apply", "-f", "orders.yaml", "--auto-approve"]);
    w.write(
        "orders.yaml",
        &SERVERLESS.replace("comment: orders service", "comment: orders, renamed"),
    );
    let plan = w.expect(0, &["plan", "-f", "orders.yaml"]);
    let comment_line = plan
        .stdout
        .lines()
        .find(|l| l.contains("comment") && l.contains("->"))
        .unwrap_or_else(|| panic!("no comment change shown:\n{}", plan.all()));
    assert!(
        comment_line.ends_with("# forces replacement"),
        "{comment_line}\n{}",
        plan.all()
    );
    let summary = plan
        .stdout
        .lines()
        .find(|l| l.starts_with("Plan: "))
        .unwrap_or_else(|| panic!("no summary:\n{}", plan.all()));
    assert!(
        summary.contains("replaces 1 linked endpoint: its connection string changes"),
        "{summary}\n{}",
        plan.all()
    );

    let json = w.expect(0, &["plan", "-f", "orders.yaml", "--json"]);
    let v: Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let endpoint = v["replaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "endpoints.orders.atlas_endpoint")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        endpoint["attributes"],
        serde_json::json!(["comment"]),
        "{v}"
    );
    assert_eq!(
        v["linked_endpoints_replaced"],
        serde_json::json!(["orders"]),
        "{v}"
    );
    w.expect(0, &["destroy", "-f", "orders.yaml", "--auto-approve"]);
}
