//! docs/plan-json.md against real plans: every plan example in the document
//! reads back into a [`Plan`] and writes out identically (so its `summary`
//! and `replaces` agree with its changes, and it holds no field a plan does
//! not have), its shape is the shape of plans made from a known
//! configuration, and the kinds the document lists are the kinds those plans
//! use.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

/// The document under test.
const DOC: &str = include_str!("../../../docs/plan-json.md");

/// Every value of every ```json block of `doc` (a block may hold several
/// values, one JSON line each).
pub(crate) fn json_examples(doc: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + "```json\n".len()..];
        let end = body.find("```").expect("a closed json block");
        let values = serde_json::Deserializer::from_str(&body[..end]).into_iter::<Value>();
        for v in values {
            out.push(v.unwrap_or_else(|e| panic!("invalid JSON in a json block: {e}")));
        }
        rest = &body[end + 3..];
    }
    out
}

/// The key paths of `v`: array items merged under `[]`, attribute maps
/// (`before`, `after`) not entered, since their keys are each kind's.
fn shape(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, item) in m {
                let p = format!("{path}.{k}");
                out.insert(p.clone());
                if k != "before" && k != "after" {
                    shape(item, &p, out);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| shape(i, &format!("{path}[]"), out)),
        _ => {}
    }
}

fn shape_of(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    shape(v, "", &mut out);
    out
}

/// The plan of the documented example: the AWS VPC endpoint deleted outside
/// privlink, which replaces the Atlas endpoint and its link.
fn drift_plan() -> Plan {
    let (state, mut live) = applied();
    live.resources
        .insert(Address::new("endpoints.orders.vpc_endpoint"), Live::Gone);
    diff(&desired(FILE), &state, &live, &catalog()).unwrap()
}

/// The first plan of a dedicated-cluster endpoint.
fn dedicated_plan() -> Plan {
    let text = FILE.replace(
        "serverless_instance: orders-prod",
        "dedicated_clusters: true",
    );
    diff(
        &desired(&text),
        &StateFile::new("orders"),
        &LiveView::default(),
        &catalog(),
    )
    .unwrap()
}

fn plan_examples() -> Vec<Value> {
    let plans: Vec<Value> = json_examples(DOC)
        .into_iter()
        .filter(|v| v.get("format").is_some())
        .collect();
    assert!(!plans.is_empty(), "docs/plan-json.md has no plan example");
    plans
}

#[test]
fn every_plan_example_reads_back_into_a_plan_and_writes_out_identically() {
    for example in plan_examples() {
        let plan: Plan = serde_json::from_value(example.clone()).expect("a plan");
        assert_eq!(serde_json::to_value(&plan).unwrap(), example);
    }
}

#[test]
fn the_plan_examples_have_the_shape_of_real_plans() {
    let real = serde_json::to_value(drift_plan()).unwrap();
    let examples = plan_examples();
    assert_eq!(
        shape_of(&examples[0]),
        shape_of(&real),
        "the first example must have the shape of the drift plan"
    );
    let mut known = shape_of(&real);
    known.extend(shape_of(&serde_json::to_value(dedicated_plan()).unwrap()));
    for example in &examples {
        let unknown: Vec<_> = shape_of(example).difference(&known).cloned().collect();
        assert!(unknown.is_empty(), "fields no plan has: {unknown:?}");
    }
}

#[test]
fn the_first_plan_example_is_the_drift_plan() {
    let real = serde_json::to_value(drift_plan()).unwrap();
    assert_eq!(
        plan_examples()[0],
        real,
        "docs/plan-json.md's first example is the output of this plan:\n{}",
        serde_json::to_string_pretty(&real).unwrap()
    );
}

#[test]
fn the_documented_kinds_are_the_kinds_plans_use() {
    let row = DOC
        .lines()
        .find(|l| l.starts_with("| `changes[].kind` |"))
        .expect("a row for changes[].kind");
    let documented: BTreeSet<String> = row
        .split('`')
        .skip(3)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let used: BTreeSet<String> = drift_plan()
        .changes
        .iter()
        .chain(dedicated_plan().changes.iter())
        .map(|c| c.kind.to_string())
        .collect();
    assert_eq!(documented, used);
}

#[test]
fn a_plan_saved_without_summary_and_replaces_still_loads() {
    let mut saved = serde_json::to_value(drift_plan()).unwrap();
    let fields = saved.as_object_mut().unwrap();
    fields.remove("summary");
    fields.remove("replaces");
    let plan: Plan = serde_json::from_value(saved).expect("a format 1 plan");
    assert_eq!(plan, drift_plan());
    assert_eq!(plan.format, PLAN_FORMAT);
}
