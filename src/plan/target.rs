//! Resource targeting (`-target ADDRESS`): narrows a plan to the targeted
//! resources and what they need, leaving everything else out of it.
//!
//! A target names one address, or a prefix of addresses: `endpoints.orders`
//! targets every resource of that endpoint (`endpoints.orders.vpc_endpoint`,
//! `endpoints.orders.client_egress[sg-…]`, …). A kept create, update or
//! replacement pulls in what it depends on (so that it can be made); a kept
//! deletion or replacement pulls in the changes of what depends on it (they
//! must go first, as in a destroy, where every dependent of a targeted
//! resource is destroyed with it).

use std::collections::BTreeSet;

use super::{Action, Change, Plan, PlanError};
use crate::model::Address;

/// True when `target` names `address` itself or a prefix of it that ends
/// at a part boundary (`.` or `[`).
pub fn matches(target: &Address, address: &Address) -> bool {
    let (t, a) = (target.as_str(), address.as_str());
    match a.strip_prefix(t) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with('['),
        None => false,
    }
}

/// The plan limited to the changes `targets` match and the changes they
/// pull in (see the module documentation), in the plan's order. A target
/// that matches no change of the plan is refused with
/// [`PlanError::UnknownTarget`].
pub fn target(plan: Plan, targets: &[Address]) -> Result<Plan, PlanError> {
    let mut queue: Vec<&Change> = Vec::new();
    for t in targets {
        let before = queue.len();
        queue.extend(plan.changes.iter().filter(|c| matches(t, &c.address)));
        if queue.len() == before {
            return Err(PlanError::UnknownTarget(t.clone()));
        }
    }
    let mut keep: BTreeSet<&Address> = BTreeSet::new();
    while let Some(c) = queue.pop() {
        if keep.insert(&c.address) {
            queue.extend(pulled_in(c, &plan.changes));
        }
    }
    let keep: BTreeSet<Address> = keep.into_iter().cloned().collect();
    Ok(Plan {
        changes: plan
            .changes
            .into_iter()
            .filter(|c| keep.contains(&c.address))
            .collect(),
        ..plan
    })
}

/// The changes that keeping `c` brings along: what it depends on unless it
/// is only deleted, and, when its object is deleted (delete or replace),
/// the changes of what depends on it.
fn pulled_in<'a>(c: &Change, changes: &'a [Change]) -> Vec<&'a Change> {
    let mut out: Vec<&Change> = Vec::new();
    if c.action != Action::Delete {
        out.extend(changes.iter().filter(|d| c.depends_on.contains(&d.address)));
    }
    if matches!(c.action, Action::Delete | Action::Replace) {
        out.extend(
            changes
                .iter()
                .filter(|d| d.action != Action::NoOp && d.depends_on.contains(&c.address)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn change(address: &str, action: Action, deps: &[&str]) -> Change {
        Change {
            address: Address::new(address),
            kind: Kind::new("test_kind"),
            action,
            reasons: vec![],
            id: None,
            before: None,
            after: None,
            changed: vec![],
            forces_replacement: vec![],
            depends_on: deps.iter().map(|d| Address::new(*d)).collect(),
            resume: false,
            drift: None,
        }
    }

    fn plan(destroy: bool, changes: Vec<Change>) -> Plan {
        Plan {
            format: super::super::PLAN_FORMAT,
            stack: "s".into(),
            lineage: "l".into(),
            serial: 3,
            destroy,
            changes,
            config_file: None,
            state_location: None,
        }
    }

    fn addresses(p: &Plan) -> Vec<&str> {
        p.changes.iter().map(|c| c.address.as_str()).collect()
    }

    const SERVICE: &str = "endpoint_services.aws.us-east-1";

    /// Two endpoints sharing one endpoint service, all to create.
    fn two_endpoints(action: Action) -> Vec<Change> {
        let mut out = vec![change(SERVICE, action, &[])];
        for e in ["billing", "orders"] {
            let a = |p: &str| format!("endpoints.{e}.{p}");
            out.push(change(&a("security_group"), action, &[]));
            out.push(change(
                &a("vpc_endpoint"),
                action,
                &[SERVICE, &a("security_group")],
            ));
            out.push(change(&a("link"), action, &[SERVICE, &a("vpc_endpoint")]));
            out.push(change(
                &a("client_egress[sg-0123456789abcdef0]"),
                action,
                &[&a("vpc_endpoint")],
            ));
        }
        out
    }

    #[test]
    fn prefixes_match_at_part_boundaries_only() {
        let t = Address::new("endpoints.orders");
        assert!(matches(&t, &Address::new("endpoints.orders.vpc_endpoint")));
        assert!(matches(&t, &Address::new("endpoints.orders")));
        assert!(!matches(
            &t,
            &Address::new("endpoints.orders2.vpc_endpoint")
        ));
        let egress = Address::new("endpoints.orders.client_egress");
        assert!(matches(
            &egress,
            &Address::new("endpoints.orders.client_egress[sg-1]")
        ));
    }

    #[test]
    fn a_targeted_create_pulls_in_its_dependencies_only() {
        let p = plan(false, two_endpoints(Action::Create));
        let t = target(p, &[Address::new("endpoints.orders.link")]).unwrap();
        assert_eq!(
            addresses(&t),
            vec![
                SERVICE,
                "endpoints.orders.security_group",
                "endpoints.orders.vpc_endpoint",
                "endpoints.orders.link",
            ]
        );
        assert_eq!(t.serial, 3, "the plan keeps the state it was made against");
    }

    #[test]
    fn an_endpoint_prefix_targets_all_its_resources_and_shared_dependencies() {
        let p = plan(false, two_endpoints(Action::Create));
        let t = target(p, &[Address::new("endpoints.orders")]).unwrap();
        assert_eq!(t.changes.len(), 5);
        assert!(addresses(&t).iter().all(|a| !a.contains("billing")));
        assert!(addresses(&t).contains(&SERVICE));
        assert_eq!(t.summary().add, 5);
    }

    #[test]
    fn a_targeted_destroy_pulls_in_dependents_not_dependencies() {
        let p = plan(true, two_endpoints(Action::Delete));
        let t = target(p, &[Address::new("endpoints.orders.vpc_endpoint")]).unwrap();
        assert_eq!(
            addresses(&t),
            vec![
                "endpoints.orders.vpc_endpoint",
                "endpoints.orders.link",
                "endpoints.orders.client_egress[sg-0123456789abcdef0]",
            ]
        );
        assert!(t.destroy);
        // The shared service goes only with everything that uses it.
        let p = plan(true, two_endpoints(Action::Delete));
        let t = target(p, &[Address::new(SERVICE)]).unwrap();
        assert_eq!(t.changes.len(), 7, "{:?}", addresses(&t));
    }

    #[test]
    fn a_targeted_replacement_brings_its_changing_dependents() {
        let mut changes = two_endpoints(Action::NoOp);
        for c in &mut changes {
            if c.address.as_str() == "endpoints.orders.vpc_endpoint" {
                c.action = Action::Replace;
            }
            if c.address.as_str() == "endpoints.orders.link" {
                c.action = Action::Replace;
            }
        }
        let t = target(
            plan(false, changes),
            &[Address::new("endpoints.orders.vpc_endpoint")],
        )
        .unwrap();
        let active: Vec<&str> = t
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| c.address.as_str())
            .collect();
        assert_eq!(
            active,
            vec!["endpoints.orders.vpc_endpoint", "endpoints.orders.link"]
        );
    }

    #[test]
    fn an_unknown_target_is_refused_by_name() {
        let p = plan(false, two_endpoints(Action::Create));
        let err = target(
            p,
            &[
                Address::new("endpoints.orders"),
                Address::new("endpoints.order"),
            ],
        )
        .unwrap_err();
        assert!(
            matches!(&err, PlanError::UnknownTarget(a) if a.as_str() == "endpoints.order"),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("endpoints.order"), "{text}");
        assert!(!text.contains("billing"), "lists nothing else: {text}");
    }
}
