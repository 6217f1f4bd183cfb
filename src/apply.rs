//! The executor: walks the action graph concurrently.
//!
//! A node starts only when everything it depends on succeeded, and when one
//! of `parallelism` call slots ([`crate::wait::CallSlots`]) is free. A step
//! gives its slot back while it sleeps between polls, so `parallelism` bounds
//! the steps talking to the clouds, not the ones waiting on them: K endpoints
//! wait for Atlas side by side whatever K is. A failure skips the failed node's
//! dependents (reported once, as skipped, not as a second error) while
//! independent branches run to the end. One ledger owns the state file:
//! every completed step, and every create call the moment it returns (before
//! its wait), is written atomically, so a crash loses nothing and the next run
//! resumes the wait instead of creating a duplicate. Ctrl-C starts nothing
//! new, lets running steps finish, writes state and reports the interrupt.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::visit::Dfs;
use serde_json::Value;
use thiserror::Error;
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::JoinSet;

use crate::graph::{ActionGraph, GraphError, Phase};
use crate::model::{Address, Attrs, Reference};
use crate::plan::{Action, Change, Plan, resolve};
use crate::providers::{Op, Provider, ProviderError, RecordCreated, Start};
use crate::state::{ResourceState, StateError, StateFile, StateStore, Status};
use crate::wait::{CallSlot, CallSlots};

/// Receives the executor's events; implemented by the output module.
pub trait Events: crate::wait::Progress {
    fn started(&self, address: &Address, what: &str);
    fn finished(&self, address: &Address, what: &str, id: Option<&str>, took: Duration);
    fn failed(&self, address: &Address, what: &str, error: &str);
    fn skipped(&self, address: &Address, because: &Address);
    fn interrupted(&self, running: usize);
}

/// Executor settings.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Steps calling the clouds at once (steps sleeping in a wait not counted).
    pub parallelism: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { parallelism: 10 }
    }
}

/// What happened.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ApplyOutcome {
    pub applied: Vec<Address>,
    pub failed: Vec<(Address, String)>,
    pub skipped: Vec<Address>,
    pub interrupted: bool,
}

impl ApplyOutcome {
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

/// Errors that stop the executor itself.
#[derive(Debug, Error)]
pub enum ApplyError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(
        "the saved plan was made against state serial {plan_serial} (lineage {plan_lineage}), but the state is now at serial {state_serial} (lineage {state_lineage}); make a new plan"
    )]
    StalePlan {
        plan_serial: u64,
        plan_lineage: String,
        state_serial: u64,
        state_lineage: String,
    },
}

/// The single owner of the state during an apply: it writes through the
/// store's backend (any [`crate::state::StateBackend`]).
pub struct Ledger {
    store: StateStore,
    state: StateFile,
}

impl Ledger {
    pub fn new(store: StateStore, state: StateFile) -> Self {
        Ledger { store, state }
    }
    pub fn state(&self) -> &StateFile {
        &self.state
    }
    pub fn into_parts(self) -> (StateStore, StateFile) {
        (self.store, self.state)
    }
    async fn commit(&mut self) -> Result<(), StateError> {
        fail::fail_point!("state-write-before", |_| crash_here());
        self.store.write(&mut self.state).await?;
        fail::fail_point!("state-write-after", |_| crash_here());
        Ok(())
    }
}

/// The ledger shared by the steps; an async mutex, since it is held across
/// the state write.
type SharedLedger = Arc<Mutex<Ledger>>;

/// Ends the process at once, as `kill -9` would: no destructor, flush or
/// state write runs. Reached only through the failpoints that the
/// `failpoints` build feature compiles in (the crash tests use them).
#[allow(dead_code)]
pub(crate) fn crash_here() -> ! {
    std::process::abort()
}

async fn lock(ledger: &SharedLedger) -> MutexGuard<'_, Ledger> {
    ledger.lock().await
}

/// Refuses a saved plan once the state has moved on.
pub fn check_fresh(plan: &Plan, state: &StateFile) -> Result<(), ApplyError> {
    // A plan made when no state existed yet still fits while none exists.
    let both_new = plan.serial == 0 && state.serial == 0 && state.resources.is_empty();
    if !both_new && (plan.serial != state.serial || plan.lineage != state.lineage) {
        return Err(ApplyError::StalePlan {
            plan_serial: plan.serial,
            plan_lineage: plan.lineage.clone(),
            state_serial: state.serial,
            state_lineage: state.lineage.clone(),
        });
    }
    Ok(())
}

enum StepResult {
    Done,
    Failed(String),
}

/// Applies `plan`, writing state through `ledger` as it goes.
pub async fn apply<P: Provider>(
    plan: Arc<Plan>,
    provider: Arc<P>,
    ledger: Arc<Mutex<Ledger>>,
    options: ApplyOptions,
    events: Arc<dyn Events>,
) -> Result<ApplyOutcome, ApplyError> {
    let dag = ActionGraph::build(&plan)?;
    let g = &dag.graph;
    let mut remaining_deps: HashMap<NodeIndex, usize> = g
        .node_indices()
        .map(|n| (n, g.neighbors_directed(n, Direction::Incoming).count()))
        .collect();
    // Ready steps, the one holding up the longest chain first (then by
    // address, for a stable order).
    let queued = |n: NodeIndex| (dag.priority(n), Reverse(g[n].address.clone()), n);
    let mut ready: BinaryHeap<(u64, Reverse<Address>, NodeIndex)> = remaining_deps
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| queued(*n))
        .collect();
    let mut blocked: BTreeSet<NodeIndex> = BTreeSet::new();
    let mut outcome = ApplyOutcome::default();
    let mut running: JoinSet<(NodeIndex, StepResult)> = JoinSet::new();
    let slots = CallSlots::new(options.parallelism);
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let start = |n: NodeIndex, slot: CallSlot, running: &mut JoinSet<(NodeIndex, StepResult)>| {
        let node = g[n].clone();
        let change = plan.changes[node.change].clone();
        let provider = provider.clone();
        let ledger = ledger.clone();
        let events = events.clone();
        let stack = plan.stack.clone();
        let slots = slots.clone();
        running.spawn(async move {
            let step = run_step(&change, node.phase, &stack, provider, ledger, events);
            (n, slots.run(slot, step).await)
        });
    };

    loop {
        ready.retain(|(_, _, n)| !blocked.contains(n));
        while !interrupted && !ready.is_empty() {
            let Some(slot) = slots.try_take() else { break };
            let (_, _, n) = ready.pop().expect("not empty");
            start(n, slot, &mut running);
        }
        if running.is_empty() {
            break;
        }
        let want_slot = !interrupted && !ready.is_empty();
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { break };
                let (n, result) = match joined {
                    Ok(v) => v,
                    Err(e) => {
                        // A panicking step: nothing else is known about it.
                        outcome.failed.push((Address::new("?"), format!("step panicked: {e}")));
                        continue;
                    }
                };
                match result {
                    StepResult::Done => {
                        if g[n].phase == Phase::Apply || plan.changes[g[n].change].action == Action::Delete {
                            outcome.applied.push(g[n].address.clone());
                        }
                        for next in g.neighbors_directed(n, Direction::Outgoing) {
                            let d = remaining_deps.get_mut(&next).expect("node");
                            *d -= 1;
                            if *d == 0 {
                                ready.push(queued(next));
                            }
                        }
                    }
                    StepResult::Failed(msg) => {
                        outcome.failed.push((g[n].address.clone(), msg));
                        let mut dfs = Dfs::new(g, n);
                        dfs.next(g);
                        while let Some(d) = dfs.next(g) {
                            if blocked.insert(d)
                                && g[d].address != g[n].address
                                && !outcome.skipped.contains(&g[d].address)
                            {
                                events.skipped(&g[d].address, &g[n].address);
                                outcome.skipped.push(g[d].address.clone());
                            }
                        }
                    }
                }
            }
            // A running step went idle (or finished): start the next one.
            slot = slots.take(), if want_slot => {
                let (_, _, n) = ready.pop().expect("not empty");
                start(n, slot, &mut running);
            }
            _ = &mut ctrl_c, if !interrupted => {
                interrupted = true;
                events.interrupted(running.len());
            }
        }
    }
    outcome.interrupted = interrupted;
    outcome.skipped.sort();
    outcome.skipped.dedup();
    Ok(outcome)
}

fn resolve_after(change: &Change, state: &StateFile) -> Result<Attrs, String> {
    let after = change.after.clone().unwrap_or_default();
    let lookup = |r: &Reference| -> Option<Value> {
        state
            .resources
            .get(&r.address)
            .filter(|s| s.status == Status::Ready)
            .and_then(|s| s.attributes.get(&r.attribute).cloned())
    };
    let mut out = Attrs::new();
    for (k, v) in &after {
        let resolved = resolve(v, &lookup).ok_or_else(|| {
            format!("attribute {k} refers to a resource that is not ready in state")
        })?;
        out.insert(k.clone(), resolved);
    }
    Ok(out)
}

async fn run_step<P: Provider>(
    change: &Change,
    phase: Phase,
    stack: &str,
    provider: Arc<P>,
    ledger: SharedLedger,
    events: Arc<dyn Events>,
) -> StepResult {
    let address = &change.address;
    let started = Instant::now();
    let what = match (phase, change.action) {
        (Phase::Delete, Action::Replace) => "destroying (replace)",
        (Phase::Delete, _) => "destroying",
        (Phase::Apply, Action::Update) => "updating",
        (Phase::Apply, _) if change.resume => "resuming",
        (Phase::Apply, _) => "creating",
    };
    events.started(address, what);
    let result = match phase {
        Phase::Delete => delete_step(change, stack, &*provider, &ledger, events.clone()).await,
        Phase::Apply => apply_step(change, stack, &*provider, &ledger, events.clone()).await,
    };
    match result {
        Ok(id) => {
            events.finished(address, what, id.as_deref(), started.elapsed());
            StepResult::Done
        }
        Err(msg) => {
            events.failed(address, what, &msg);
            StepResult::Failed(msg)
        }
    }
}

fn op(change: &Change, stack: &str, events: Arc<dyn Events>) -> Op {
    Op {
        address: change.address.clone(),
        kind: change.kind,
        stack: stack.to_owned(),
        progress: events,
    }
}

async fn delete_step<P: Provider>(
    change: &Change,
    stack: &str,
    provider: &P,
    ledger: &SharedLedger,
    events: Arc<dyn Events>,
) -> Result<Option<String>, String> {
    let (id, attrs) = {
        let l = lock(ledger).await;
        match l.state.resources.get(&change.address) {
            Some(r) => {
                // What was read back, over what was asked for (a resource
                // whose create never finished has only the latter).
                let mut attrs = r.desired.clone();
                attrs.extend(r.attributes.clone());
                (r.id.clone(), attrs)
            }
            None => (change.id.clone(), change.before.clone().unwrap_or_default()),
        }
    };
    {
        let mut l = lock(ledger).await;
        if let Some(r) = l.state.resources.get_mut(&change.address) {
            r.status = Status::Deleting;
            l.commit().await.map_err(|e| e.to_string())?;
        }
    }
    provider
        .delete(&op(change, stack, events), id.as_deref(), &attrs)
        .await
        .map_err(|e| e.to_string())?;
    let mut l = lock(ledger).await;
    l.state.resources.remove(&change.address);
    l.commit().await.map_err(|e| e.to_string())?;
    Ok(id)
}

async fn apply_step<P: Provider>(
    change: &Change,
    stack: &str,
    provider: &P,
    ledger: &SharedLedger,
    events: Arc<dyn Events>,
) -> Result<Option<String>, String> {
    let (desired, prior) = {
        let l = lock(ledger).await;
        (
            resolve_after(change, &l.state)?,
            l.state.resources.get(&change.address).cloned(),
        )
    };
    let op = op(change, stack, events);
    let result = if change.action == Action::Update {
        let prior = prior.ok_or_else(|| format!("{} is not in state", change.address))?;
        let id = prior.id.clone().unwrap_or_default();
        provider
            .update(&op, &id, &prior.attributes, &desired)
            .await
            .map(|attributes| (id, attributes))
    } else {
        let prior_id = prior.as_ref().and_then(|p| p.id.clone());
        let intent_only = prior
            .as_ref()
            .is_some_and(|p| p.status == Status::Creating && p.id.is_none());
        let start = match (&prior_id, change.resume) {
            (Some(id), true) => Start::Resume(id),
            _ if intent_only => Start::Adopt,
            _ => {
                // Record the intent before the create call: if the process
                // dies between the call and the record of its id, the next
                // run knows to look for the object instead of duplicating it.
                let mut l = lock(ledger).await;
                l.state.resources.insert(
                    change.address.clone(),
                    ResourceState {
                        kind: change.kind,
                        id: None,
                        desired: desired.clone(),
                        attributes: Attrs::new(),
                        dependencies: change.depends_on.clone(),
                        status: Status::Creating,
                    },
                );
                l.commit().await.map_err(|e| e.to_string())?;
                Start::Fresh
            }
        };
        let record: RecordCreated<'_> = &{
            let ledger = ledger.clone();
            let address = change.address.clone();
            let kind = change.kind;
            let deps = change.depends_on.clone();
            let desired = desired.clone();
            move |id: String| {
                let (ledger, address) = (ledger.clone(), address.clone());
                let (deps, desired) = (deps.clone(), desired.clone());
                Box::pin(async move {
                    fail::fail_point!("create-returned", |_| crash_here());
                    let mut l = lock(&ledger).await;
                    l.state.resources.insert(
                        address,
                        ResourceState {
                            kind,
                            id: Some(id),
                            desired,
                            attributes: Attrs::new(),
                            dependencies: deps,
                            status: Status::Creating,
                        },
                    );
                    l.commit()
                        .await
                        .map_err(|e| ProviderError::State(e.to_string()))
                })
            }
        };
        provider.create(&op, &desired, start, record).await
    };
    let mut l = lock(ledger).await;
    match result {
        Ok((id, attributes)) => {
            l.state.resources.insert(
                change.address.clone(),
                ResourceState {
                    kind: change.kind,
                    id: Some(id.clone()),
                    desired,
                    attributes,
                    dependencies: change.depends_on.clone(),
                    status: Status::Ready,
                },
            );
            l.commit().await.map_err(|e| e.to_string())?;
            Ok(Some(id))
        }
        Err(e) => {
            if let Some(r) = l.state.resources.get_mut(&change.address)
                && r.status == Status::Creating
                && change.action != Action::Update
                && e.is_terminal()
            {
                r.status = Status::Tainted;
                l.commit().await.map_err(|e| e.to_string())?;
            }
            Err(e.to_string())
        }
    }
}
