//! Machine-readable output end to end: `plan --json` (counts, replacements,
//! kinds) and `apply --json` / `destroy --json` (one JSON event per line on
//! standard output, a start and a completion per address, a closing
//! summary), and `--json` refused without `--auto-approve` before any call.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::support::world::{Run, World};

const EXAMPLE: &str = include_str!("../../examples/serverless-aws.yaml");

/// The kinds one serverless endpoint expands to.
const SERVERLESS_KINDS: [&str; 5] = [
    "atlas_serverless_endpoint",
    "atlas_serverless_link",
    "aws_client_egress",
    "aws_security_group",
    "aws_vpc_endpoint",
];

/// Every line of standard output, each of which must be a JSON object with
/// a `type`.
fn events(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{}", run.all()));
            assert!(v.is_object(), "not an object: {line}");
            assert!(v["type"].is_string(), "no type: {line}");
            v
        })
        .collect()
}

/// Checks the event stream of a complete run of `operation` over the plan's
/// changes: the plan first, a start then a completion for every step of
/// every planned address, no error, the summary last with `counts`.
fn check_stream(events: &[Value], operation: &str, counts: (u64, u64, u64)) -> Vec<String> {
    let first = &events[0];
    assert_eq!(first["type"], "plan", "{first}");
    assert_eq!(first["operation"], operation);
    let (add, change, destroy) = counts;
    assert_eq!(
        (&first["add"], &first["change"], &first["destroy"]),
        (&json!(add), &json!(change), &json!(destroy))
    );
    let planned: Vec<String> = first["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap().to_owned())
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "summary", "{last}");
    assert_eq!(last["operation"], operation);
    assert_eq!(last["complete"], true);
    assert_eq!(
        (&last["add"], &last["change"], &last["destroy"]),
        (&json!(add), &json!(change), &json!(destroy))
    );
    // Per address: every start is followed by its completion.
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut completed: BTreeSet<String> = BTreeSet::new();
    for e in &events[1..events.len() - 1] {
        let address = e["address"].as_str().unwrap_or_default().to_owned();
        match e["type"].as_str().unwrap() {
            "apply_start" => *open.entry(address).or_default() += 1,
            "apply_complete" => {
                let n = open
                    .get_mut(&address)
                    .expect("a completion after its start");
                assert!(*n > 0, "{address} completed twice: {e}");
                *n -= 1;
                assert!(e["elapsed_secs"].is_number(), "{e}");
                if operation == "apply" {
                    assert!(e["id"].is_string(), "a created object has an id: {e}");
                }
                completed.insert(address);
            }
            "apply_progress" => assert!(e["state"].is_string(), "{e}"),
            "outputs" => assert!(e["connections"].is_array(), "{e}"),
            other => panic!("unexpected {other} event: {e}"),
        }
    }
    assert!(open.values().all(|n| *n == 0), "unfinished steps: {open:?}");
    let planned_set: BTreeSet<String> = planned.iter().cloned().collect();
    assert_eq!(completed, planned_set, "a completion per planned address");
    planned
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_apply_and_destroy_speak_json() {
    let w = World::start(&["orders-prod"], &[], &[]).await;
    w.write("orders.yaml", EXAMPLE);

    // --json cannot answer a prompt: refused before any call.
    w.sandbox.clear_requests().await;
    for verb in ["apply", "destroy"] {
        let run = w.expect(1, &[verb, "-f", "orders.yaml", "--json"]);
        assert_eq!(run.stdout, "", "nothing on standard output: {}", run.all());
        assert!(run.stderr.contains("--auto-approve"), "{}", run.all());
    }
    let log = w.sandbox.requests().await;
    assert!(log.is_empty(), "API calls were made: {log:?}");
    assert!(!w.state_path("orders.yaml").exists(), "no state written");

    // plan --json: the counts, no replacement, the kinds of a serverless endpoint.
    let run = w.expect(
        2,
        &["plan", "-f", "orders.yaml", "--json", "--detailed-exitcode"],
    );
    let plan: Value = serde_json::from_str(&run.stdout).expect("the plan is JSON");
    assert_eq!(
        plan["summary"],
        json!({"add": 5, "change": 0, "destroy": 0})
    );
    assert_eq!(plan["replaces"], json!([]));
    let kinds: BTreeSet<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, SERVERLESS_KINDS.into_iter().collect());

    // apply --json --auto-approve: only JSON lines on standard output.
    let run = w.expect(
        0,
        &["apply", "-f", "orders.yaml", "--json", "--auto-approve"],
    );
    let applied = events(&run);
    let planned = check_stream(&applied, "apply", (5, 0, 0));
    assert_eq!(planned.len(), 5, "{planned:?}");
    assert!(
        applied.iter().any(|e| e["type"] == "outputs"),
        "the connection strings follow a complete apply"
    );

    // Nothing left to do: the plan and the summary only.
    let run = w.expect(
        0,
        &["apply", "-f", "orders.yaml", "--json", "--auto-approve"],
    );
    let again = events(&run);
    let types: Vec<&str> = again.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["plan", "summary"], "{}", run.all());

    // destroy --json --auto-approve.
    let run = w.expect(
        0,
        &["destroy", "-f", "orders.yaml", "--json", "--auto-approve"],
    );
    let destroyed = events(&run);
    let planned = check_stream(&destroyed, "destroy", (0, 0, 5));
    assert_eq!(planned.len(), 5, "{planned:?}");
    assert!(
        w.live_vpc_endpoints().await.is_empty(),
        "nothing left in moto"
    );

    // A saved plan was reviewed already: apply --json FILE needs no --auto-approve.
    w.expect(
        2,
        &[
            "plan",
            "-f",
            "orders.yaml",
            "--out",
            "saved.json",
            "--detailed-exitcode",
        ],
    );
    let run = w.expect(0, &["apply", "saved.json", "-f", "orders.yaml", "--json"]);
    let saved = events(&run);
    check_stream(&saved, "apply", (5, 0, 0));
    w.expect(
        0,
        &["destroy", "-f", "orders.yaml", "--json", "--auto-approve"],
    );
}
