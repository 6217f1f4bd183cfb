//! Plan diffs and their rendering, without any network: configurations are
//! parsed from text, state and live views are built by hand.

use std::path::Path;

use serde_json::json;

use super::render::{Style, render_plan};
use super::*;
use crate::config;
use crate::state::{ResourceState, StateFile, Status};

const FILE: &str = r#"
version: 1
atlas:
  project_id: 5f7cac1adf5d6c6306f4b280
aws:
  region: us-east-1
endpoints:
  orders:
    atlas:
      serverless_instance: orders-prod
      comment: orders service
    aws:
      vpc_id: vpc-0a1b2c3d4e5f60718
      subnet_ids: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
      security_group:
        allow_from: [sg-0123456789abcdef0, 10.0.0.0/16]
      client_security_groups: [sg-0123456789abcdef0]
"#;

fn desired(text: &str) -> Vec<DesiredResource> {
    let c = config::load_str(text, Path::new("orders.yaml"), &|_| None).expect("valid config");
    crate::providers::expand(&c)
}

fn catalog() -> Catalog {
    crate::providers::registry::catalog()
}

fn obj(v: serde_json::Value) -> Attrs {
    v.as_object().unwrap().clone()
}

/// A state and live view as they are after a successful apply of FILE.
fn applied() -> (StateFile, LiveView) {
    let mut state = StateFile::new("orders");
    state.lineage = "00000000-0000-4000-8000-000000000000".into();
    state.serial = 7;
    let mut live = LiveView::default();
    let mut put = |addr: &str, kind: Kind, id: &str, attrs: serde_json::Value, deps: &[&str]| {
        let a = Address::new(addr);
        let attrs = obj(attrs);
        state.resources.insert(
            a.clone(),
            ResourceState {
                kind,
                id: Some(id.into()),
                desired: attrs.clone(),
                attributes: attrs.clone(),
                dependencies: deps.iter().map(|d| Address::new(*d)).collect(),
                status: Status::Ready,
                attempt: None,
                pinned: Default::default(),
            },
        );
        live.resources
            .insert(a, Live::Present { attributes: attrs });
    };
    let svc = "com.amazonaws.vpce.us-east-1.vpce-svc-0afd34ee97e30d43f";
    put(
        "endpoints.orders.atlas_endpoint",
        Kind::new("atlas_serverless_endpoint"),
        "5f7cac1adf5d6c6306f4b283",
        json!({"project_id": "5f7cac1adf5d6c6306f4b280", "instance": "orders-prod", "comment": "orders service",
               "id": "5f7cac1adf5d6c6306f4b283", "endpoint_service_name": svc, "status": "AVAILABLE",
               "error_message": null, "cloud_provider_endpoint_id": "vpce-0123456789abcdef0"}),
        &[],
    );
    put(
        "endpoints.orders.security_group",
        Kind::new("aws_security_group"),
        "sg-0aaaaaaaaaaaaaaaa",
        json!({"region": "us-east-1", "vpc_id": "vpc-0a1b2c3d4e5f60718", "name": "privlink-orders-orders",
               "description": "privlink orders: interface endpoint orders",
               "ingress": ["10.0.0.0/16", "sg-0123456789abcdef0"], "id": "sg-0aaaaaaaaaaaaaaaa"}),
        &[],
    );
    put(
        "endpoints.orders.vpc_endpoint",
        Kind::new("aws_vpc_endpoint"),
        "vpce-0123456789abcdef0",
        json!({"region": "us-east-1", "vpc_id": "vpc-0a1b2c3d4e5f60718", "service_name": svc,
               "subnet_ids": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
               "security_group_ids": ["sg-0aaaaaaaaaaaaaaaa"], "id": "vpce-0123456789abcdef0", "state": "available",
               "network_interface_ids": ["eni-1", "eni-2"], "private_ip_cidrs": ["10.0.1.10/32", "10.0.2.10/32"]}),
        &[
            "endpoints.orders.atlas_endpoint",
            "endpoints.orders.security_group",
        ],
    );
    put(
        "endpoints.orders.link",
        Kind::new("atlas_serverless_link"),
        "5f7cac1adf5d6c6306f4b283",
        json!({"project_id": "5f7cac1adf5d6c6306f4b280", "instance": "orders-prod",
               "endpoint_id": "5f7cac1adf5d6c6306f4b283", "vpc_endpoint_id": "vpce-0123456789abcdef0",
               "status": "AVAILABLE", "error_message": null}),
        &[
            "endpoints.orders.atlas_endpoint",
            "endpoints.orders.vpc_endpoint",
        ],
    );
    put(
        "endpoints.orders.client_egress[sg-0123456789abcdef0]",
        Kind::new("aws_client_egress"),
        "sg-0123456789abcdef0",
        json!({"region": "us-east-1", "group_id": "sg-0123456789abcdef0",
               "cidrs": ["10.0.1.10/32", "10.0.2.10/32"], "id": "sg-0123456789abcdef0"}),
        &["endpoints.orders.vpc_endpoint", "endpoints.orders.link"],
    );
    (state, live)
}

#[test]
fn empty_state_plans_five_creates_in_dependency_order() {
    let mut state = StateFile::new("orders");
    state.lineage = "00000000-0000-4000-8000-000000000000".into();
    let plan = diff(&desired(FILE), &state, &LiveView::default(), &catalog()).unwrap();
    assert_eq!(
        plan.summary(),
        Summary {
            add: 5,
            change: 0,
            destroy: 0
        }
    );
    insta::assert_snapshot!("create_plan", render_plan(&plan, Style::plain()));
    let graph = crate::graph::ActionGraph::build(&plan, &catalog()).unwrap();
    insta::assert_snapshot!("create_graph", graph.to_text());

    // The Atlas endpoint heads the longest chain (reserve, link, wait):
    // among the two steps ready at the start it goes first.
    let priority = |a: &str| {
        let n = graph
            .graph
            .node_indices()
            .find(|n| graph.graph[*n].address.as_str() == a)
            .unwrap();
        graph.priority(n)
    };
    let order = [
        "endpoints.orders.atlas_endpoint",
        "endpoints.orders.security_group",
        "endpoints.orders.vpc_endpoint",
        "endpoints.orders.link",
        "endpoints.orders.client_egress[sg-0123456789abcdef0]",
    ];
    let ranks: Vec<u64> = order.iter().map(|a| priority(a)).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] > w[1]),
        "{order:?}: {ranks:?}"
    );
}

#[test]
fn applied_state_plans_no_changes() {
    let (state, live) = applied();
    let plan = diff(&desired(FILE), &state, &live, &catalog()).unwrap();
    assert!(plan.is_empty(), "{}", render_plan(&plan, Style::plain()));
    assert_eq!(
        render_plan(&plan, Style::plain()),
        "No changes. The clouds match the configuration.\n"
    );
}

#[test]
fn a_changed_attribute_is_updated_in_place_with_a_diff() {
    let (state, live) = applied();
    let text = FILE.replace(
        "allow_from: [sg-0123456789abcdef0, 10.0.0.0/16]",
        "allow_from: [sg-0123456789abcdef0, 10.1.0.0/16]",
    );
    let plan = diff(&desired(&text), &state, &live, &catalog()).unwrap();
    assert_eq!(
        plan.summary(),
        Summary {
            add: 0,
            change: 1,
            destroy: 0
        }
    );
    insta::assert_snapshot!("update_plan", render_plan(&plan, Style::plain()));
}

#[test]
fn drift_in_aws_recreates_and_replaces_the_linked_chain() {
    let (state, mut live) = applied();
    live.resources
        .insert(Address::new("endpoints.orders.vpc_endpoint"), Live::Gone);
    let plan = diff(&desired(FILE), &state, &live, &catalog()).unwrap();
    let action = |a: &str| {
        plan.changes
            .iter()
            .find(|c| c.address.as_str() == a)
            .unwrap()
            .action
    };
    assert_eq!(action("endpoints.orders.vpc_endpoint"), Action::Create);
    // Atlas cannot take a new VPC endpoint id once linked: the endpoint is replaced too.
    assert_eq!(action("endpoints.orders.atlas_endpoint"), Action::Replace);
    assert_eq!(action("endpoints.orders.link"), Action::Replace);
    assert_eq!(action("endpoints.orders.security_group"), Action::NoOp);
    insta::assert_snapshot!("drift_plan", render_plan(&plan, Style::plain()));
    let graph = crate::graph::ActionGraph::build(&plan, &catalog()).unwrap();
    insta::assert_snapshot!("drift_graph", graph.to_text());
}

#[test]
fn removing_the_file_entry_destroys_dependents_first() {
    let (state, live) = applied();
    let text = FILE.split("endpoints:").next().unwrap().to_owned() + "endpoints: {}\n";
    let plan = diff(&desired(&text), &state, &live, &catalog()).unwrap();
    assert_eq!(
        plan.summary(),
        Summary {
            add: 0,
            change: 0,
            destroy: 5
        }
    );
    let graph = crate::graph::ActionGraph::build(&plan, &catalog()).unwrap();
    insta::assert_snapshot!("destroy_graph", graph.to_text());
}

#[test]
fn a_failed_atlas_endpoint_is_replaced_with_its_message() {
    let (state, mut live) = applied();
    if let Some(Live::Present { attributes }) = live
        .resources
        .get_mut(&Address::new("endpoints.orders.atlas_endpoint"))
    {
        attributes.insert("status".into(), json!("FAILED"));
        attributes.insert("error_message".into(), json!("VPC endpoint not found"));
    }
    let plan = diff(&desired(FILE), &state, &live, &catalog()).unwrap();
    let c = plan
        .changes
        .iter()
        .find(|c| c.address.as_str() == "endpoints.orders.atlas_endpoint")
        .unwrap();
    assert_eq!(c.action, Action::Replace);
    assert!(c.reasons.join(" ").contains("VPC endpoint not found"));
}

#[test]
fn a_creating_resource_resumes_its_wait() {
    let (mut state, mut live) = applied();
    let a = Address::new("endpoints.orders.vpc_endpoint");
    state.resources.get_mut(&a).unwrap().status = Status::Creating;
    if let Some(Live::Present { attributes }) = live.resources.get_mut(&a) {
        attributes.insert("state".into(), json!("pending"));
    }
    let plan = diff(&desired(FILE), &state, &live, &catalog()).unwrap();
    let c = plan.changes.iter().find(|c| c.address == a).unwrap();
    assert_eq!(c.action, Action::Create);
    assert!(c.resume);
}

#[test]
fn an_existing_unmanaged_object_is_refused_with_the_import_command() {
    let mut live = LiveView::default();
    live.conflicts.insert(
        Address::new("endpoints.orders.vpc_endpoint"),
        (
            "vpce-0123456789abcdef0".into(),
            "a VPC endpoint of another stack".into(),
        ),
    );
    let err = diff(&desired(FILE), &StateFile::new("orders"), &live, &catalog())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("privlink import endpoints.orders.vpc_endpoint vpce-0123456789abcdef0"),
        "{err}"
    );
}

#[test]
fn an_existing_shared_endpoint_service_is_used_not_refused() {
    let text = FILE.replace(
        "serverless_instance: orders-prod",
        "dedicated_clusters: true",
    );
    let mut live = LiveView::default();
    let service = Address::new("endpoint_services.aws.us-east-1");
    live.conflicts.insert(
        service.clone(),
        (
            "6a793f68c0eb9e7a17715835".into(),
            "the Atlas endpoint service for AWS us-east-1".into(),
        ),
    );
    let plan = diff(
        &desired(&text),
        &StateFile::new("orders"),
        &live,
        &catalog(),
    )
    .unwrap();
    let c = plan.changes.iter().find(|c| c.address == service).unwrap();
    assert_eq!(c.action, Action::Create);
    assert!(
        c.reasons[0].contains("6a793f68c0eb9e7a17715835")
            && c.reasons[0].contains("shared with other stacks: used, not created"),
        "{:?}",
        c.reasons
    );
}

#[test]
fn a_delete_leaves_what_another_state_owns_or_others_use_and_says_why() {
    let (state, mut live) = applied();
    let group = Address::new("endpoints.orders.security_group");
    let vpce = Address::new("endpoints.orders.vpc_endpoint");
    live.kept.insert(
        group.clone(),
        crate::plan::Kept {
            id: "sg-0123456789abcdef0".into(),
            holder: crate::plan::Holder::Owner("99aa88bb".into()),
        },
    );
    live.kept.insert(
        vpce.clone(),
        crate::plan::Kept {
            id: "vpce-0123456789abcdef0".into(),
            holder: crate::plan::Holder::Users(
                "the interface endpoints vpce-1 of other stacks".into(),
            ),
        },
    );
    let plan = crate::plan::destroy(&state, &live);
    let reason = |a: &Address| {
        plan.changes
            .iter()
            .find(|c| &c.address == a)
            .unwrap()
            .reasons
            .join("; ")
    };
    assert_eq!(
        reason(&group),
        "sg-0123456789abcdef0 belongs to another privlink state (owner 99aa88bb): not deleted, only removed from state"
    );
    assert!(
        reason(&vpce).ends_with("still use it: left for its other users, only removed from state"),
        "{}",
        reason(&vpce)
    );
}

#[test]
fn a_delete_of_a_create_that_recorded_no_id_says_what_it_looks_for() {
    let (mut state, mut live) = applied();
    let group = Address::new("endpoints.orders.security_group");
    state.resources.get_mut(&group).unwrap().id = None;
    live.resources.insert(group.clone(), Live::Gone);
    let plan = crate::plan::destroy(&state, &live);
    let c = plan.changes.iter().find(|c| c.address == group).unwrap();
    assert!(
        c.reasons[0].starts_with("its create recorded no id: only an object this state owns"),
        "{:?}",
        c.reasons
    );
}

mod doc_examples;

#[test]
fn refresh_only_of_an_unchanged_world_finds_nothing() {
    let (state, live) = applied();
    let plan = refresh_only(&state, &live, &catalog());
    assert!(plan.is_empty());
    let text = super::render::render_refresh(&plan, Style::plain());
    assert!(
        text.starts_with("No changes. Your infrastructure still matches the configuration."),
        "{text}"
    );
}

#[test]
fn refresh_only_forgets_deleted_objects_and_records_changed_ones() {
    let (mut state, mut live) = applied();
    let vpce = Address::new("endpoints.orders.vpc_endpoint");
    let sg = Address::new("endpoints.orders.security_group");
    live.resources.insert(vpce.clone(), Live::Gone);
    let mut changed = state.resources[&sg].attributes.clone();
    changed.insert("ingress".into(), json!(["10.9.0.0/16"]));
    live.resources.insert(
        sg.clone(),
        Live::Present {
            attributes: changed.clone(),
        },
    );
    let plan = refresh_only(&state, &live, &catalog());
    assert_eq!(plan.counts(), (1, 1));
    assert_eq!(
        (plan.serial, plan.lineage.as_str()),
        (7, state.lineage.as_str())
    );
    let gone = plan.drifts.iter().find(|d| d.address == vpce).unwrap();
    assert!(gone.deleted());
    assert_eq!(gone.cloud, "AWS");
    let moved = plan.drifts.iter().find(|d| d.address == sg).unwrap();
    assert_eq!(moved.changed, vec!["ingress".to_owned()]);

    let text = super::render::render_refresh(&plan, Style::plain());
    assert!(
        text.starts_with("Note: Objects have changed outside of privlink"),
        "{text}"
    );
    assert!(
        text.contains("# endpoints.orders.vpc_endpoint has been deleted (AWS no longer has it)"),
        "{text}"
    );
    assert!(
        text.contains("# endpoints.orders.security_group has changed (AWS)"),
        "{text}"
    );
    assert!(
        text.contains("Refresh: 1 to record, 1 to forget."),
        "{text}"
    );

    // Recording touches the state only: the other objects are as they were.
    let before = state.clone();
    plan.record(&mut state);
    assert!(
        state.get(&vpce).is_none(),
        "the deleted object is forgotten"
    );
    assert_eq!(state.resources[&sg].attributes, changed);
    assert_eq!(state.resources[&sg].desired, before.resources[&sg].desired);
    assert_eq!(state.resources.len(), before.resources.len() - 1);
    assert_eq!(state.serial, 7, "the serial is the store's to bump");
    // Afterwards the next refresh finds nothing, and a full plan creates it again.
    live.resources.remove(&vpce);
    assert!(refresh_only(&state, &live, &catalog()).is_empty());
    let next = diff(&desired(FILE), &state, &live, &catalog()).unwrap();
    let c = next.changes.iter().find(|c| c.address == vpce).unwrap();
    assert_eq!(c.action, Action::Create);
}

#[test]
fn refresh_only_leaves_out_status_moved_along_by_privlink_itself() {
    let (state, mut live) = applied();
    let ep = Address::new("endpoints.orders.atlas_endpoint");
    let mut reserved = state.resources[&ep].attributes.clone();
    reserved.insert("status".into(), json!("RESERVED"));
    let mut state = state;
    let recorded = state.resources.get_mut(&ep).unwrap();
    recorded.attributes = reserved;
    // What privlink sets on an Atlas endpoint; the rest is read back.
    recorded
        .desired
        .retain(|k, _| ["project_id", "instance", "comment"].contains(&k.as_str()));
    assert!(refresh_only(&state, &live, &catalog()).is_empty());
    // A failure is drift, whatever attribute carries it.
    let mut failed = state.resources[&ep].attributes.clone();
    failed.insert("status".into(), json!("FAILED"));
    failed.insert("error_message".into(), json!("gone wrong"));
    live.resources
        .insert(ep.clone(), Live::Present { attributes: failed });
    let plan = refresh_only(&state, &live, &catalog());
    assert_eq!(plan.counts(), (1, 0));
    assert_eq!(plan.drifts[0].changed, vec!["error_message", "status"]);
}

#[test]
fn a_targeted_diff_keeps_the_target_and_its_dependencies() {
    let mut state = StateFile::new("orders");
    state.lineage = "00000000-0000-4000-8000-000000000000".into();
    let plan = diff(&desired(FILE), &state, &LiveView::default(), &catalog()).unwrap();
    let plan = target(plan, &[Address::new("endpoints.orders.vpc_endpoint")]).unwrap();
    let kept: Vec<&str> = plan.changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(
        kept,
        vec![
            "endpoints.orders.atlas_endpoint",
            "endpoints.orders.security_group",
            "endpoints.orders.vpc_endpoint",
        ]
    );
    let err = target(plan, &[Address::new("endpoints.billing")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "-target endpoints.billing: no resource has this address or an address under it"
    );
}
