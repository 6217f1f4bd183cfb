//! Plans: the diff between what the configuration wants and what is live.
//!
//! [`expand`] turns the configuration into typed resources; [`diff`] compares
//! them with the state file and the live view read from Atlas and AWS, and
//! yields one [`Change`] per address with an [`Action`] and the reasons for
//! it; [`render`] prints a plan for people, and the plan serialises to JSON
//! for machines (`plan --json`, `plan --out`).

pub mod expand;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::model::{Address, Attrs, DesiredResource, Kind, Reference, Side, visit_refs};
use crate::state::{StateFile, Status};

pub use expand::{expand, forces_replacement};

/// The format version of saved and JSON plans.
pub const PLAN_FORMAT: u32 = 1;

/// What will happen to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete the old object, then create the new one.
    Replace,
    Delete,
}

impl Action {
    /// The symbol shown in plan output.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// What the live clouds report for one address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "live", rename_all = "snake_case")]
pub enum Live {
    /// The object exists; its attributes as read back.
    Present { attributes: Attrs },
    /// The object no longer exists.
    Gone,
}

/// Everything read from the clouds for one plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveView {
    pub resources: BTreeMap<Address, Live>,
    /// Objects that exist remotely, are not in state, and that a create would
    /// collide with: address → (remote id, why). The plan refuses to create them.
    pub conflicts: BTreeMap<Address, (String, String)>,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub kind: Kind,
    pub action: Action,
    /// Why, for display only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The remote id the change starts from (update, replace, delete, resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Attributes now (live, else as recorded in state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Attrs>,
    /// Desired attributes; unknown values are references `{"$ref": "address#attribute"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Attrs>,
    /// Attribute names that differ between before and after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// Attribute names whose change forces the replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forces_replacement: Vec<String>,
    /// Addresses this resource depends on (desired for creates and updates,
    /// recorded for deletes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
    /// The create call already returned in an earlier run: resume its wait.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
    /// Which side changed the object outside privlink, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Side>,
}

/// A complete plan, as shown and as saved with `plan --out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub stack: String,
    /// Lineage and serial of the state the plan was made against; a saved
    /// plan is refused once the state has moved on.
    pub lineage: String,
    pub serial: u64,
    pub destroy: bool,
    pub changes: Vec<Change>,
}

/// Counts of changes by kind of action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::NoOp)
    }
    /// Counts as Terraform does: a replacement counts as one add and one destroy.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => {}
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }
}

/// Why a plan cannot be made.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error(
        "{address} would collide with {what} that already exists in Atlas (id {id}) but is not in this state; adopt it with: privlink import {address} {id}"
    )]
    Conflict {
        address: Address,
        id: String,
        what: String,
    },
    #[error("dependency cycle between: {0}")]
    Cycle(String),
}

/// Resolves every reference in `v` with `lookup`; `None` means unknown.
pub fn resolve(v: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Option<Value> {
    if let Some(r) = Reference::from_value(v) {
        return lookup(&r);
    }
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| resolve(i, lookup))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, i) in m {
                out.insert(k.clone(), resolve(i, lookup)?);
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

/// Resolves what can be resolved, keeping unknown references in place.
fn resolve_partial(v: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    if let Some(r) = Reference::from_value(v) {
        return lookup(&r).unwrap_or_else(|| v.clone());
    }
    match v {
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| resolve_partial(i, lookup)).collect())
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, i)| (k.clone(), resolve_partial(i, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// True if `v` still holds an unresolved reference.
pub fn has_unknown(v: &Value) -> bool {
    let mut found = false;
    visit_refs(v, &mut |_| found = true);
    found
}

/// Orders desired resources so that every resource comes after its dependencies.
fn topo_order(desired: &[DesiredResource]) -> Result<Vec<&DesiredResource>, PlanError> {
    let by_addr: BTreeMap<&Address, &DesiredResource> =
        desired.iter().map(|d| (&d.address, d)).collect();
    let mut out = Vec::with_capacity(desired.len());
    let mut done: BTreeSet<&Address> = BTreeSet::new();
    let mut visiting: Vec<&Address> = Vec::new();
    fn visit<'a>(
        d: &'a DesiredResource,
        by_addr: &BTreeMap<&'a Address, &'a DesiredResource>,
        done: &mut BTreeSet<&'a Address>,
        visiting: &mut Vec<&'a Address>,
        out: &mut Vec<&'a DesiredResource>,
    ) -> Result<(), PlanError> {
        if done.contains(&d.address) {
            return Ok(());
        }
        if let Some(pos) = visiting.iter().position(|a| *a == &d.address) {
            let cycle: Vec<String> = visiting[pos..].iter().map(|a| a.to_string()).collect();
            return Err(PlanError::Cycle(format!(
                "{} -> {}",
                cycle.join(" -> "),
                d.address
            )));
        }
        visiting.push(&d.address);
        for dep in &d.depends_on {
            if let Some(dd) = by_addr.get(dep) {
                visit(dd, by_addr, done, visiting, out)?;
            }
        }
        visiting.pop();
        done.insert(&d.address);
        out.push(d);
        Ok(())
    }
    for d in desired {
        visit(d, &by_addr, &mut done, &mut visiting, &mut out)?;
    }
    Ok(out)
}

fn live_attrs<'a>(live: &'a LiveView, state: &'a StateFile, a: &Address) -> Option<&'a Attrs> {
    match live.resources.get(a) {
        Some(Live::Present { attributes }) => Some(attributes),
        Some(Live::Gone) => None,
        None => state.resources.get(a).map(|r| &r.attributes),
    }
}

/// Plans convergence from `state` + `live` to `desired`.
pub fn diff(
    desired: &[DesiredResource],
    state: &StateFile,
    live: &LiveView,
) -> Result<Plan, PlanError> {
    let order = topo_order(desired)?;
    let mut forced: BTreeMap<Address, String> = BTreeMap::new();
    // The replacement of one resource can force the replacement of a resource
    // it depends on (a linked Atlas endpoint cannot take a new VPC endpoint id):
    // iterate until no new replacement is forced.
    for _ in 0..8 {
        let mut changes = diff_once(&order, state, live, &forced)?;
        changes.extend(deletions(desired, state, live));
        let mut more = false;
        // Atlas removes an endpoint service together with its last interface
        // endpoint: if this plan removes them all, the service is replaced.
        for svc in changes.iter().filter(|c| {
            c.kind == Kind::EndpointService && matches!(c.action, Action::NoOp | Action::Update)
        }) {
            let listed: Vec<&str> = svc
                .before
                .as_ref()
                .and_then(|b| b.get("interface_endpoints"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let removed = changes
                .iter()
                .filter(|c| {
                    c.kind == Kind::InterfaceEndpoint
                        && matches!(c.action, Action::Replace | Action::Delete)
                        && c.id.as_deref().is_some_and(|id| listed.contains(&id))
                })
                .count();
            if !listed.is_empty() && removed >= listed.len() && !forced.contains_key(&svc.address) {
                forced.insert(
                    svc.address.clone(),
                    "Atlas removes an endpoint service together with its last interface endpoint"
                        .into(),
                );
                more = true;
            }
        }
        for c in &changes {
            if c.kind != Kind::ServerlessLink || c.action != Action::Replace {
                continue;
            }
            let Some(endpoint) = c
                .depends_on
                .iter()
                .find(|a| a.as_str().ends_with(".atlas_endpoint"))
            else {
                continue;
            };
            let endpoint_action = changes
                .iter()
                .find(|x| &x.address == endpoint)
                .map(|x| x.action);
            if matches!(endpoint_action, Some(Action::NoOp | Action::Update))
                && !forced.contains_key(endpoint)
            {
                forced.insert(
                    endpoint.clone(),
                    "its link must change, and Atlas cannot change cloudProviderEndpointId once set"
                        .into(),
                );
                more = true;
            }
        }
        if !more {
            return Ok(Plan {
                format: PLAN_FORMAT,
                stack: state.stack.clone(),
                lineage: state.lineage.clone(),
                serial: state.serial,
                destroy: false,
                changes,
            });
        }
    }
    Err(PlanError::Cycle("replacement rules did not settle".into()))
}

fn diff_once(
    order: &[&DesiredResource],
    state: &StateFile,
    live: &LiveView,
    forced: &BTreeMap<Address, String>,
) -> Result<Vec<Change>, PlanError> {
    let mut actions: BTreeMap<Address, Action> = BTreeMap::new();
    let mut resumed: BTreeSet<Address> = BTreeSet::new();
    let mut out = Vec::with_capacity(order.len());
    for d in order {
        let recorded = state.resources.get(&d.address);
        let now = live_attrs(live, state, &d.address);
        let lookup = |r: &Reference| -> Option<Value> {
            match actions.get(&r.address) {
                // A resumed create keeps the id its create call returned.
                Some(Action::Create) if r.attribute == "id" && resumed.contains(&r.address) => {
                    state
                        .resources
                        .get(&r.address)
                        .and_then(|s| s.id.clone())
                        .map(Value::String)
                }
                Some(Action::Create | Action::Replace) => None,
                Some(Action::Update) if r.attribute != "id" => None,
                _ => live_attrs(live, state, &r.address)?
                    .get(&r.attribute)
                    .cloned(),
            }
        };
        let after: Attrs = d
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), resolve_partial(v, &lookup)))
            .collect();
        let mut change = Change {
            address: d.address.clone(),
            kind: d.kind,
            action: Action::NoOp,
            reasons: vec![],
            id: recorded.and_then(|r| r.id.clone()),
            before: now.cloned(),
            after: Some(after.clone()),
            changed: vec![],
            forces_replacement: vec![],
            depends_on: d.depends_on.clone(),
            resume: false,
            drift: None,
        };
        match (recorded, now) {
            (None, _) => {
                if let Some((id, what)) = live.conflicts.get(&d.address) {
                    return Err(PlanError::Conflict {
                        address: d.address.clone(),
                        id: id.clone(),
                        what: what.clone(),
                    });
                }
                change.action = Action::Create;
                change.before = None;
                change.id = None;
            }
            (Some(r), None) => {
                change.action = Action::Create;
                change.before = None;
                change.id = None;
                if r.status != Status::Creating {
                    change.drift = Some(d.kind.side());
                    change.reasons.push(format!(
                        "deleted outside privlink ({} no longer has it)",
                        d.kind.side()
                    ));
                }
            }
            (Some(r), Some(before)) => {
                let mut changed = Vec::new();
                for (k, v) in &after {
                    if has_unknown(v) || before.get(k) != Some(v) {
                        changed.push(k.clone());
                    }
                }
                let forcing: Vec<String> = changed
                    .iter()
                    .filter(|k| forces_replacement(d.kind, k))
                    .cloned()
                    .collect();
                if r.status == Status::Creating {
                    change.action = Action::Create;
                    change.resume = true;
                    change.reasons.push(format!(
                        "an earlier run created it (id {}) but did not finish waiting: the wait resumes",
                        r.id.as_deref().unwrap_or("?")
                    ));
                    if !forcing.is_empty() {
                        change.action = Action::Replace;
                        change.resume = false;
                    }
                } else if r.status == Status::Tainted {
                    change.action = Action::Replace;
                    change
                        .reasons
                        .push("tainted: an earlier apply failed part-way".into());
                } else if r.status == Status::Deleting {
                    change.action = Action::Replace;
                    change
                        .reasons
                        .push("an earlier run started deleting it and did not finish".into());
                } else if let Some(why) = pending_remotely(d.kind, before) {
                    change.action = Action::Create;
                    change.resume = true;
                    change.reasons.push(why);
                } else if let Some(why) = failed_remotely(d.kind, before) {
                    change.action = Action::Replace;
                    change.drift = Some(d.kind.side());
                    change.reasons.push(why);
                } else if let Some(why) = forced.get(&d.address) {
                    change.action = Action::Replace;
                    change.reasons.push(why.clone());
                } else if !forcing.is_empty() {
                    change.action = Action::Replace;
                } else if !changed.is_empty() {
                    change.action = Action::Update;
                }
                // Drift: live differs from what privlink last recorded.
                if change.drift.is_none()
                    && r.status == Status::Ready
                    && changed.iter().any(|k| {
                        let live_v = before.get(k);
                        let rec_v = r.attributes.get(k);
                        live_v != rec_v && !has_unknown(after.get(k).unwrap_or(&Value::Null))
                    })
                {
                    change.drift = Some(d.kind.side());
                    change
                        .reasons
                        .push(format!("changed outside privlink ({})", d.kind.side()));
                }
                change.changed = changed;
                change.forces_replacement = forcing;
            }
        }
        if change.resume {
            resumed.insert(d.address.clone());
        }
        actions.insert(d.address.clone(), change.action);
        out.push(change);
    }
    Ok(out)
}

/// A remote object that exists but is not ready yet (an imported endpoint
/// service still INITIATING, say): the apply waits for it.
fn pending_remotely(kind: Kind, live: &Attrs) -> Option<String> {
    let status = live.get("status").and_then(Value::as_str).unwrap_or("");
    let named = live
        .get("endpoint_service_name")
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
    let waiting = match kind {
        Kind::EndpointService => status == "INITIATING",
        Kind::ServerlessEndpoint => status == "RESERVATION_REQUESTED",
        _ => return None,
    };
    match kind {
        _ if waiting || (!named && !matches!(status, "FAILED" | "DELETING")) => Some(format!(
            "Atlas reports it {status}, not ready yet: the apply waits for it"
        )),
        _ => None,
    }
}

/// A remote object in a terminal failure state must be replaced.
fn failed_remotely(kind: Kind, live: &Attrs) -> Option<String> {
    let status = live.get("status").and_then(Value::as_str).unwrap_or("");
    let message = live
        .get("error_message")
        .and_then(Value::as_str)
        .unwrap_or("no errorMessage");
    match kind {
        Kind::ServerlessEndpoint | Kind::EndpointService if status == "FAILED" => {
            Some(format!("Atlas reports it FAILED: {message}"))
        }
        Kind::InterfaceEndpoint if status == "REJECTED" || status == "FAILED" => {
            Some(format!("Atlas reports it {status}: {message}"))
        }
        _ => None,
    }
}

fn deletions(desired: &[DesiredResource], state: &StateFile, live: &LiveView) -> Vec<Change> {
    let wanted: BTreeSet<&Address> = desired.iter().map(|d| &d.address).collect();
    state
        .resources
        .iter()
        .filter(|(a, _)| !wanted.contains(a))
        .map(|(a, r)| delete_change(a, r, live))
        .collect()
}

fn delete_change(a: &Address, r: &crate::state::ResourceState, live: &LiveView) -> Change {
    let gone = matches!(live.resources.get(a), Some(Live::Gone));
    Change {
        address: a.clone(),
        kind: r.kind,
        action: Action::Delete,
        reasons: if gone {
            vec!["already deleted outside privlink: only removed from state".into()]
        } else {
            vec![]
        },
        id: r.id.clone(),
        before: Some(match live.resources.get(a) {
            Some(Live::Present { attributes }) => attributes.clone(),
            _ => r.attributes.clone(),
        }),
        after: None,
        changed: vec![],
        forces_replacement: vec![],
        depends_on: r.dependencies.clone(),
        resume: false,
        drift: None,
    }
}

/// Plans the removal of everything in state.
pub fn destroy(state: &StateFile, live: &LiveView) -> Plan {
    Plan {
        format: PLAN_FORMAT,
        stack: state.stack.clone(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        destroy: true,
        changes: state
            .resources
            .iter()
            .map(|(a, r)| delete_change(a, r, live))
            .collect(),
    }
}

#[cfg(test)]
mod tests;
