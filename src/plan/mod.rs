//! Plans: the diff between what the configuration wants and what is live.
//!
//! [`diff`] compares the desired resources (expanded from the configuration
//! by the providers) with the state file and the live view the providers
//! read, and yields one [`Change`] per address with an [`Action`] and the
//! reasons for it, following each kind's [`rules`]; [`render`] prints a plan
//! for people, and the plan serialises to JSON for machines (`plan --json`,
//! `plan --out`). [`target()`] narrows a plan to `-target` addresses and
//! [`refresh_only`] builds the plan of `-refresh-only`.

pub mod refresh;
pub mod render;
pub mod rules;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::model::{Address, Attrs, DesiredResource, Kind, Reference, visit_refs};
use crate::state::{StateFile, Status};

pub use refresh::{RefreshPlan, refresh_only};
pub use rules::{
    Catalog, IdFormat, KindRules, RemoteState, ResourceRules, always_ready, any_change,
    never_forced,
};
pub use target::target;

/// The part of an endpoint's addresses that hands its cloud endpoint to
/// Atlas (`endpoints.<name>.link`), whatever the flow.
pub const LINK_PART: &str = "link";

/// The format version of saved and JSON plans.
pub const PLAN_FORMAT: u32 = 1;

/// What will happen to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do: the object matches the configuration.
    NoOp,
    /// Create an object that does not exist yet.
    Create,
    /// Change the existing object in place.
    Update,
    /// Delete the old object, then create the new one.
    Replace,
    /// Delete an object the configuration no longer declares.
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
    Present {
        /// The attributes read from the cloud.
        attributes: Attrs,
    },
    /// The object no longer exists.
    Gone,
}

/// Everything read from the clouds for one plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveView {
    /// What was found for each address read.
    pub resources: BTreeMap<Address, Live>,
    /// Objects that exist remotely, are not in state, and that a create would
    /// collide with: address → (remote id, why). The plan refuses to create
    /// them, unless the kind is shared: then the create uses the object.
    pub conflicts: BTreeMap<Address, (String, String)>,
    /// Objects found at state addresses that a delete leaves in place (see
    /// [`Kept`]): address → the object and whose it is.
    pub kept: BTreeMap<Address, Kept>,
}

/// An object found at a state address that this state must not delete or
/// adopt: another state owns it, or it is shared and others still use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The object's remote id.
    pub id: String,
    /// Whose it is.
    pub holder: Holder,
}

/// Whose an object privlink must leave alone is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Another privlink state owns it: that state's owner as the cloud
    /// records it (its lineage, or the lineage's first 8 hex digits).
    Owner(String),
    /// It carries this stack's and address's tags or marker but no owner:
    /// made before owners were recorded, by whichever state.
    NoOwner,
    /// Shared by several stacks: what other stacks still have on it.
    Users(String),
}

impl Kept {
    /// Says, for people, what the object is and whose.
    pub fn describe(&self) -> String {
        match &self.holder {
            Holder::Owner(owner) => format!(
                "{} belongs to another privlink state (owner {owner})",
                self.id
            ),
            Holder::NoOwner => format!(
                "{} carries this address's tags but no owner (made before owners were recorded)",
                self.id
            ),
            Holder::Users(users) => format!("{} is shared: {users} still use it", self.id),
        }
    }

    /// The reason a delete of it shows.
    pub fn delete_reason(&self) -> String {
        match self.holder {
            Holder::Users(_) => format!(
                "{}: left for its other users, only removed from state",
                self.describe()
            ),
            _ => format!("{}: not deleted, only removed from state", self.describe()),
        }
    }
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The resource the change is about.
    pub address: Address,
    /// The resource's kind.
    pub kind: Kind,
    /// What will happen to it.
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
    /// Which cloud changed the object outside privlink, if any ("AWS").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<String>,
}

/// A complete plan, as shown and as saved with `plan --out`.
///
/// It serialises with two derived fields besides its own, `summary` and
/// `replaces` (see [`PlanDocument`]); reading a plan ignores them, so a plan
/// saved before they existed still loads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Plan {
    /// The plan format version ([`PLAN_FORMAT`]).
    pub format: u32,
    /// The stack of the state the plan was made against.
    pub stack: String,
    /// Lineage and serial of the state the plan was made against; a saved
    /// plan is refused once the state has moved on.
    pub lineage: String,
    /// See `lineage`.
    pub serial: u64,
    /// True for a plan made with `--destroy` (everything in state deleted).
    pub destroy: bool,
    /// The planned changes, no-ops included.
    pub changes: Vec<Change>,
    /// The configuration file the plan was made from (absolute), recorded
    /// by `plan --out` so that `apply PLANFILE` needs no `-f`; absent in
    /// plans saved by older builds and in `plan --json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<PathBuf>,
    /// The state location the plan was made against (absolute), recorded
    /// by `plan --out`; absent in plans saved by older builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_location: Option<PathBuf>,
}

/// Counts of changes by kind of action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creates and replacements.
    pub add: usize,
    /// In-place updates.
    pub change: usize,
    /// Deletions and replacements.
    pub destroy: usize,
}

/// One address whose replacement the plan forces, and what forces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replacement {
    /// The address replaced.
    pub address: Address,
    /// Its kind.
    pub kind: Kind,
    /// The changed attributes that cannot be changed in place; empty when
    /// something else forces it (see `reasons`).
    pub attributes: Vec<String>,
    /// Why, for people: a dependency replaced, a remote FAILED state, a taint.
    pub reasons: Vec<String>,
}

/// The JSON document of a plan (`plan --json`, `plan --out`): the plan's own
/// fields, with the `summary` and `replaces` derived from its changes.
#[derive(Serialize)]
pub struct PlanDocument<'a> {
    /// [`PLAN_FORMAT`] when made by this privlink.
    pub format: u32,
    /// The stack the plan is for.
    pub stack: &'a str,
    /// Lineage of the state the plan was made against.
    pub lineage: &'a str,
    /// Serial of the state the plan was made against.
    pub serial: u64,
    /// True for a plan of `destroy`.
    pub destroy: bool,
    /// Counts as Terraform gives them.
    pub summary: Summary,
    /// The changes with action replace.
    pub replaces: Vec<Replacement>,
    /// The endpoints whose existing link the plan replaces: each gets a new
    /// cloud endpoint, so its private connection string changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked_endpoints_replaced: Vec<String>,
    /// Every change.
    pub changes: &'a [Change],
    /// See [`Plan::config_file`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<&'a PathBuf>,
    /// See [`Plan::state_location`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_location: Option<&'a PathBuf>,
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PlanDocument {
            format: self.format,
            stack: &self.stack,
            lineage: &self.lineage,
            serial: self.serial,
            destroy: self.destroy,
            summary: self.summary(),
            replaces: self.replaces(),
            linked_endpoints_replaced: self.linked_endpoints_replaced(),
            changes: &self.changes,
            config_file: self.config_file.as_ref(),
            state_location: self.state_location.as_ref(),
        }
        .serialize(serializer)
    }
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
    /// The names of the endpoints whose existing link (`endpoints.<name>.link`)
    /// the plan replaces: the endpoint is reached through a new cloud
    /// endpoint afterwards, so its private connection string changes.
    pub fn linked_endpoints_replaced(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Replace && c.before.is_some())
            .filter_map(|c| {
                let name = c.address.endpoint_name()?;
                (c.address == Address::endpoint(name, LINK_PART)).then(|| name.to_owned())
            })
            .collect()
    }
    /// The changes with action replace, each with what forces it.
    pub fn replaces(&self) -> Vec<Replacement> {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Replace)
            .map(|c| Replacement {
                address: c.address.clone(),
                kind: c.kind,
                attributes: c.forces_replacement.clone(),
                reasons: c.reasons.clone(),
            })
            .collect()
    }
}

/// Why a plan cannot be made.
#[derive(Debug, Error)]
pub enum PlanError {
    /// A create would collide with an object that exists remotely but is
    /// not in the state.
    #[error(
        "{address} would collide with {what} that already exists (id {id}) but is not in this state; adopt it with: privlink import {address} {id}"
    )]
    Conflict {
        /// The address the configuration gives the object.
        address: Address,
        /// The remote id of the existing object.
        id: String,
        /// What the existing object is, e.g. "the Atlas endpoint service for AWS us-east-1".
        what: String,
    },
    /// The dependencies loop back on themselves, or the replacement rules
    /// never settle; holds a resource in the loop or the explanation.
    #[error("dependency cycle between: {0}")]
    Cycle(String),
    /// A `-target` address that names no resource of the plan.
    #[error("-target {0}: no resource has this address or an address under it")]
    UnknownTarget(Address),
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

/// Orders desired resources so that every resource comes after its
/// dependencies: depth first from each resource in address order, each
/// resource's dependencies in the order it lists them.
fn topo_order(desired: &[DesiredResource]) -> Result<Vec<&DesiredResource>, PlanError> {
    use petgraph::graph::{DiGraph, NodeIndex};
    use petgraph::visit::DfsPostOrder;
    let mut graph = DiGraph::<&DesiredResource, ()>::new();
    let nodes: BTreeMap<&Address, NodeIndex> = desired
        .iter()
        .map(|d| (&d.address, graph.add_node(d)))
        .collect();
    for d in desired {
        // petgraph walks the newest edge first: add them in reverse.
        for dep in d.depends_on.iter().rev() {
            if let Some(&to) = nodes.get(dep) {
                graph.add_edge(nodes[&d.address], to, ());
            }
        }
    }
    if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
        return Err(PlanError::Cycle(graph[cycle.node_id()].address.to_string()));
    }
    let mut out = Vec::with_capacity(desired.len());
    let mut dfs = DfsPostOrder::empty(&graph);
    for d in desired {
        dfs.move_to(nodes[&d.address]);
        while let Some(n) = dfs.next(&graph) {
            out.push(graph[n]);
        }
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

/// Plans convergence from `state` + `live` to `desired`, following the
/// kinds' rules in `catalog`.
pub fn diff(
    desired: &[DesiredResource],
    state: &StateFile,
    live: &LiveView,
    catalog: &Catalog,
) -> Result<Plan, PlanError> {
    let order = topo_order(desired)?;
    let mut forced: BTreeMap<Address, String> = BTreeMap::new();
    // The replacement of one resource can force the replacement of another
    // (each kind's rules say when): iterate until nothing new is forced.
    for _ in 0..8 {
        let mut changes = diff_once(&order, state, live, &forced, catalog)?;
        changes.extend(deletions(desired, state, live));
        let mut more = false;
        for c in &changes {
            if !matches!(c.action, Action::NoOp | Action::Update) || forced.contains_key(&c.address)
            {
                continue;
            }
            if let Some(why) = catalog.rules(c.kind).forced_by(c, &changes) {
                forced.insert(c.address.clone(), why);
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
                config_file: None,
                state_location: None,
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
    catalog: &Catalog,
) -> Result<Vec<Change>, PlanError> {
    let mut actions: BTreeMap<Address, Action> = BTreeMap::new();
    let mut resumed: BTreeSet<Address> = BTreeSet::new();
    let mut out = Vec::with_capacity(order.len());
    for d in order {
        let mut after = resolved_after(d, state, live, &actions, &resumed);
        pin(&mut after, state.resources.get(&d.address));
        let change = change_for(d, after, state, live, forced, catalog.rules(d.kind))?;
        if change.resume {
            resumed.insert(d.address.clone());
        }
        actions.insert(d.address.clone(), change.action);
        out.push(change);
    }
    Ok(out)
}

/// Gives the attributes `recorded` pins (see
/// [`ResourceState::pinned`](crate::state::ResourceState::pinned)) their
/// recorded values.
fn pin(after: &mut Attrs, recorded: Option<&crate::state::ResourceState>) {
    for (k, v) in recorded.map(|r| &r.pinned).into_iter().flatten() {
        if let Some(slot) = after.get_mut(k) {
            *slot = v.clone();
        }
    }
}

/// The desired attributes of `d` with every reference resolved that the
/// changes planned so far (`actions`) leave known.
fn resolved_after(
    d: &DesiredResource,
    state: &StateFile,
    live: &LiveView,
    actions: &BTreeMap<Address, Action>,
    resumed: &BTreeSet<Address>,
) -> Attrs {
    let lookup = |r: &Reference| -> Option<Value> {
        match actions.get(&r.address) {
            // A resumed create keeps the id its create call returned.
            Some(Action::Create) if r.attribute == "id" && resumed.contains(&r.address) => state
                .resources
                .get(&r.address)
                .and_then(|s| s.id.clone())
                .map(Value::String),
            Some(Action::Create | Action::Replace) => None,
            Some(Action::Update) if r.attribute != "id" => None,
            _ => live_attrs(live, state, &r.address)?
                .get(&r.attribute)
                .cloned(),
        }
    };
    d.attrs
        .iter()
        .map(|(k, v)| (k.clone(), resolve_partial(v, &lookup)))
        .collect()
}

/// The change for one desired resource.
fn change_for(
    d: &DesiredResource,
    after: Attrs,
    state: &StateFile,
    live: &LiveView,
    forced: &BTreeMap<Address, String>,
    rules: &dyn ResourceRules,
) -> Result<Change, PlanError> {
    let recorded = state.resources.get(&d.address);
    let now = live_attrs(live, state, &d.address);
    let mut change = Change {
        address: d.address.clone(),
        kind: d.kind,
        action: Action::NoOp,
        reasons: vec![],
        id: recorded.and_then(|r| r.id.clone()),
        before: now.cloned(),
        after: Some(after),
        changed: vec![],
        forces_replacement: vec![],
        depends_on: d.depends_on.clone(),
        resume: false,
        drift: None,
    };
    match (recorded, now) {
        (None, _) => {
            if let Some((id, what)) = live.conflicts.get(&d.address) {
                if !rules.shared() {
                    return Err(PlanError::Conflict {
                        address: d.address.clone(),
                        id: id.clone(),
                        what: what.clone(),
                    });
                }
                change.reasons.push(format!(
                    "{what} exists already (id {id}), shared with other stacks: used, not created"
                ));
            }
            change.action = Action::Create;
            change.before = None;
            change.id = None;
        }
        (Some(r), None) => {
            change.action = Action::Create;
            change.before = None;
            change.id = None;
            if let Some(k) = live.kept.get(&d.address) {
                change
                    .reasons
                    .push(format!("{}: not adopted", k.describe()));
            } else if r.status != Status::Creating {
                change.drift = Some(rules.cloud().to_owned());
                change.reasons.push(format!(
                    "deleted outside privlink ({} no longer has it)",
                    rules.cloud()
                ));
            }
        }
        (Some(r), Some(before)) => {
            existing_change(&mut change, r, before, forced.get(&d.address), rules);
            if let Some(k) = live.kept.get(&d.address)
                && change.action == Action::Replace
            {
                change.reasons.push(k.delete_reason());
            }
        }
    }
    Ok(change)
}

/// Decides the action for an object that exists in state and remotely.
fn existing_change(
    change: &mut Change,
    r: &crate::state::ResourceState,
    before: &Attrs,
    forced: Option<&String>,
    rules: &dyn ResourceRules,
) {
    let after = change.after.clone().unwrap_or_default();
    let changed: Vec<String> = after
        .iter()
        .filter(|(k, v)| has_unknown(v) || before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    let forcing: Vec<String> = changed
        .iter()
        .filter(|k| rules.forces_replacement(k))
        .cloned()
        .collect();
    let (action, resume, reason) = match (r.status, rules.remote_state(before)) {
        (Status::Creating, _) => (
            if forcing.is_empty() {
                Action::Create
            } else {
                Action::Replace
            },
            forcing.is_empty(),
            Some(format!(
                "an earlier run created it (id {}) but did not finish waiting: the wait resumes",
                r.id.as_deref().unwrap_or("?")
            )),
        ),
        (Status::Tainted, _) => (
            Action::Replace,
            false,
            Some("tainted: an earlier apply failed part-way".into()),
        ),
        (Status::Deleting, _) => (
            Action::Replace,
            false,
            Some("an earlier run started deleting it and did not finish".into()),
        ),
        (_, RemoteState::Pending(why)) => (Action::Create, true, Some(why)),
        (_, RemoteState::Failed(why)) => {
            change.drift = Some(rules.cloud().to_owned());
            (Action::Replace, false, Some(why))
        }
        _ => match forced {
            Some(why) => (Action::Replace, false, Some(why.clone())),
            None if !forcing.is_empty() => (Action::Replace, false, None),
            None if !changed.is_empty() => (Action::Update, false, None),
            None => (Action::NoOp, false, None),
        },
    };
    change.action = action;
    change.resume = resume;
    change.reasons.extend(reason);
    // Drift: live differs from what privlink last recorded.
    if change.drift.is_none()
        && r.status == Status::Ready
        && changed.iter().any(|k| {
            before.get(k) != r.attributes.get(k)
                && !has_unknown(after.get(k).unwrap_or(&Value::Null))
        })
    {
        change.drift = Some(rules.cloud().to_owned());
        change
            .reasons
            .push(format!("changed outside privlink ({})", rules.cloud()));
    }
    change.changed = changed;
    change.forces_replacement = forcing;
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
    let reason = match live.kept.get(a) {
        Some(k) => Some(k.delete_reason()),
        None if gone && r.id.is_none() => Some(
            "its create recorded no id: only an object this state owns that carries its tags is deleted, if there is one"
                .to_owned(),
        ),
        None if gone => {
            Some("already deleted outside privlink: only removed from state".to_owned())
        }
        None => None,
    };
    Change {
        address: a.clone(),
        kind: r.kind,
        action: Action::Delete,
        reasons: reason.into_iter().collect(),
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
        config_file: None,
        state_location: None,
    }
}

#[cfg(test)]
mod tests;
