//! The JSON events against the examples in docs/plan-json.md: every event
//! line there reads back into a [`JsonEvent`] and writes out identically,
//! and every kind of event is shown at least once.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

/// The document under test.
const DOC: &str = include_str!("../../../docs/plan-json.md");

/// Every value of every ```json block of the document.
fn json_examples() -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = DOC;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + "```json\n".len()..];
        let end = body.find("```").expect("a closed json block");
        for v in serde_json::Deserializer::from_str(&body[..end]).into_iter::<Value>() {
            out.push(v.unwrap_or_else(|e| panic!("invalid JSON in a json block: {e}")));
        }
        rest = &body[end + 3..];
    }
    out
}

#[test]
fn every_event_example_reads_back_and_writes_out_identically() {
    let mut types = BTreeSet::new();
    for example in json_examples()
        .into_iter()
        .filter(|v| v.get("type").is_some())
    {
        let event: JsonEvent = serde_json::from_value(example.clone())
            .unwrap_or_else(|e| panic!("not an event ({e}): {example}"));
        assert_eq!(serde_json::to_value(&event).unwrap(), example);
        types.insert(example["type"].as_str().unwrap().to_owned());
    }
    let all: BTreeSet<String> = [
        "plan",
        "apply_start",
        "apply_progress",
        "apply_complete",
        "apply_errored",
        "skipped",
        "interrupted",
        "outputs",
        "summary",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(types, all, "docs/plan-json.md shows every event");
}

#[test]
fn a_replacement_counts_one_destroy_and_one_add() {
    let reporter = JsonReporter::default();
    let a = Address::new("endpoints.orders.link");
    reporter
        .actions
        .lock()
        .unwrap()
        .insert(a.clone(), Action::Replace);
    reporter.finished(&a, "destroying (replace)", None, Duration::from_secs(1));
    reporter.finished(&a, "creating", Some("x"), Duration::from_secs(1));
    let done = *reporter.done.lock().unwrap();
    assert_eq!(
        done,
        Summary {
            add: 1,
            change: 0,
            destroy: 1
        }
    );
}
