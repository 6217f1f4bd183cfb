//! The executor: walks the action graph concurrently.
//!
//! A node starts only when everything it depends on succeeded, and when one
//! of `parallelism` call slots ([`crate::wait::CallSlots`]) is free. A step
//! gives its slot back while it sleeps between polls, so `parallelism` bounds
//! the steps talking to the clouds, not the ones waiting on them: K endpoints
//! wait for the clouds side by side whatever K is. A failure skips the failed node's
//! dependents (reported once, as skipped, not as a second error) while
//! independent branches run to the end; a step that panics is such a
//! failure too, and the others go on. One ledger owns the state file:
//! every completed step, and every create call the moment it returns (before
//! its wait), is written atomically, so a crash loses nothing and the next run
//! resumes the wait instead of creating a duplicate. Ctrl-C (or whatever
//! [`apply_until`] is given) starts nothing new and stops the waits: each
//! running step is let reach its next wait (a safe point: nothing in flight,
//! its state written) and is stopped there, or at the latest after
//! [`crate::limits::INTERRUPT_GRACE`]; a stopped create stays `creating`
//! with its id, for the next run to resume.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::visit::Dfs;
use serde_json::Value;
use thiserror::Error;
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::{Id as TaskId, JoinError, JoinSet};

// The failpoints that use it are compiled in by the `failpoints` feature only.
#[cfg_attr(not(feature = "failpoints"), allow(unused_imports))]
use crate::crash::crash_here;
use crate::graph::{ActionGraph, GraphError, Node, Phase};
use crate::model::{Address, Attrs, Reference};
use crate::plan::{Action, Change, Plan, resolve};
use crate::providers::{Op, Provider, ProviderError, RecordCreated, Start};
use crate::state::{ResourceState, StateError, StateFile, StateStore, Status};
use crate::wait::{CallSlot, CallSlots};

/// Receives the executor's events; implemented by the output module.
pub trait Events: crate::wait::Progress {
    /// A step on `address` started; `what` names it (e.g. "creating").
    fn started(&self, address: &Address, what: &str);
    /// A step succeeded after `took`; `id` is the remote id it produced, if any.
    fn finished(&self, address: &Address, what: &str, id: Option<&str>, took: Duration);
    /// A step failed with the one-line message `error`.
    fn failed(&self, address: &Address, what: &str, error: &str);
    /// A step will not run because the step on `because` failed.
    fn skipped(&self, address: &Address, because: &Address);
    /// An interrupt arrived: no new step starts, `running` steps are let finish.
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
    /// Resources whose change completed (their apply step, or their deletion).
    pub applied: Vec<Address>,
    /// Failed steps with their error message.
    pub failed: Vec<(Address, String)>,
    /// Resources not touched because a step they depend on failed (sorted).
    pub skipped: Vec<Address>,
    /// True when an interrupt stopped the apply before every step ran.
    pub interrupted: bool,
    /// Steps an interrupt stopped while they ran (at a wait, sorted): the
    /// next run resumes them.
    pub stopped: Vec<Address>,
}

impl ApplyOutcome {
    /// True when nothing failed, was skipped or was interrupted.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

/// Errors that stop the executor itself.
#[derive(Debug, Error)]
pub enum ApplyError {
    /// The plan's changes do not form a valid action graph.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Reading or writing the state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A saved plan no longer matches the state it was made against.
    #[error(
        "the saved plan was made against state serial {plan_serial} (lineage {plan_lineage}), but the state is now at serial {state_serial} (lineage {state_lineage}); make a new plan"
    )]
    StalePlan {
        /// The state serial recorded in the plan.
        plan_serial: u64,
        /// The state lineage recorded in the plan.
        plan_lineage: String,
        /// The current state's serial.
        state_serial: u64,
        /// The current state's lineage.
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
    /// A ledger writing `state` through `store` (which holds its lock).
    pub fn new(store: StateStore, state: StateFile) -> Self {
        Ledger { store, state }
    }
    /// The state as last recorded.
    pub fn state(&self) -> &StateFile {
        &self.state
    }
    /// The store and the state, once the apply is over.
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

/// Releases the state's lock once the executor has returned and no step
/// holds the ledger any more (a step still unwinding keeps it until it
/// ends, and the backend then releases the lock as it is dropped).
pub async fn release(ledger: Arc<Mutex<Ledger>>) -> Result<(), StateError> {
    match Arc::try_unwrap(ledger) {
        Ok(ledger) => ledger.into_inner().into_parts().0.close().await,
        Err(_) => Ok(()),
    }
}

/// The ledger shared by the steps; an async mutex, since it is held across
/// the state write.
type SharedLedger = Arc<Mutex<Ledger>>;

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

/// Why one step failed. Its message is what the outcome and the progress
/// output report for the step.
#[derive(Debug, Error)]
pub enum StepError {
    /// A desired attribute refers to a resource that is not ready in state.
    #[error("attribute {attribute} refers to a resource that is not ready in state")]
    Unresolved {
        /// The name of the desired attribute that could not be resolved.
        attribute: String,
    },
    /// An update of a resource the state does not hold.
    #[error("{0} is not in state")]
    NotInState(Address),
    /// Writing the state file failed.
    #[error("{0}")]
    State(#[from] StateError),
    /// The provider's call or wait failed.
    #[error("{0}")]
    Provider(#[from] ProviderError),
    /// The step panicked; the text is the panic's message.
    #[error("step panicked: {0}")]
    Panicked(String),
}

/// Applies `plan`, writing state through `ledger` as it goes; Ctrl-C
/// interrupts it (see [`apply_until`]).
pub async fn apply<P: Provider>(
    plan: Arc<Plan>,
    provider: Arc<P>,
    ledger: Arc<Mutex<Ledger>>,
    options: ApplyOptions,
    events: Arc<dyn Events>,
) -> Result<ApplyOutcome, ApplyError> {
    let ctrl_c = async {
        // An error setting up the handler ends the apply as Ctrl-C would.
        let _ = tokio::signal::ctrl_c().await;
    };
    apply_until(plan, provider, ledger, options, events, ctrl_c).await
}

/// Applies `plan` until done or until `interrupt` completes: from then on no
/// step starts, the running ones are stopped at their next wait (see
/// [`CallSlots::stop_waits`]), and the outcome says it was interrupted and
/// which steps were stopped.
pub async fn apply_until<P: Provider>(
    plan: Arc<Plan>,
    provider: Arc<P>,
    ledger: Arc<Mutex<Ledger>>,
    options: ApplyOptions,
    events: Arc<dyn Events>,
    interrupt: impl Future<Output = ()>,
) -> Result<ApplyOutcome, ApplyError> {
    let dag = ActionGraph::build(&plan, provider.catalog())?;
    let mut schedule = Schedule::new(&dag, &plan);
    let slots = CallSlots::new(options.parallelism);
    let mut steps = Steps {
        plan: plan.clone(),
        provider,
        ledger,
        events: events.clone(),
        slots: slots.clone(),
        tasks: JoinSet::new(),
        nodes: HashMap::new(),
    };
    let mut interrupted = false;
    let mut grace_ends: Option<tokio::time::Instant> = None;
    let mut stopped = Vec::new();
    tokio::pin!(interrupt);
    loop {
        while !interrupted && schedule.has_ready() {
            let Some(slot) = slots.try_take() else { break };
            let n = schedule.pop_ready();
            steps.start(n, &dag.graph[n], slot);
        }
        if steps.tasks.is_empty() {
            break;
        }
        let want_slot = !interrupted && schedule.has_ready();
        tokio::select! {
            joined = steps.join_next() => {
                let Some((n, result)) = joined else { break };
                schedule.finished(n, result, &*events);
            }
            // A running step went idle (or finished): start the next one.
            slot = slots.take(), if want_slot => {
                let n = schedule.pop_ready();
                steps.start(n, &dag.graph[n], slot);
            }
            () = &mut interrupt, if !interrupted => {
                interrupted = true;
                slots.stop_waits();
                grace_ends = Some(tokio::time::Instant::now() + crate::limits::INTERRUPT_GRACE);
                events.interrupted(steps.tasks.len());
            }
            () = slots.parked_changed(), if interrupted => {}
            () = tokio::time::sleep_until(grace_ends.unwrap_or_else(tokio::time::Instant::now)),
                if grace_ends.is_some() => grace_ends = Some(tokio::time::Instant::now()),
        }
        let grace_over = grace_ends.is_some_and(|t| t <= tokio::time::Instant::now());
        if interrupted && (slots.parked() >= steps.tasks.len() || grace_over) {
            stopped = steps.stop_all(&mut schedule, &*events).await;
            break;
        }
    }
    let mut outcome = schedule.outcome;
    outcome.interrupted = interrupted;
    outcome.stopped = stopped;
    outcome.skipped.sort();
    outcome.skipped.dedup();
    Ok(outcome)
}

/// A ready step's place in the queue: the one holding up the longest chain
/// first, then by address (for a stable order).
type Queued = (u64, Reverse<Address>, NodeIndex);

/// The bookkeeping of one apply: how many unfinished dependencies each step
/// waits on, which steps are ready, which can no longer run, and the outcome.
struct Schedule<'a> {
    dag: &'a ActionGraph,
    plan: &'a Plan,
    remaining_deps: HashMap<NodeIndex, usize>,
    ready: BinaryHeap<Queued>,
    blocked: BTreeSet<NodeIndex>,
    outcome: ApplyOutcome,
}

impl<'a> Schedule<'a> {
    fn new(dag: &'a ActionGraph, plan: &'a Plan) -> Self {
        let g = &dag.graph;
        let remaining_deps: HashMap<NodeIndex, usize> = g
            .node_indices()
            .map(|n| (n, g.neighbors_directed(n, Direction::Incoming).count()))
            .collect();
        let mut schedule = Schedule {
            dag,
            plan,
            remaining_deps,
            ready: BinaryHeap::new(),
            blocked: BTreeSet::new(),
            outcome: ApplyOutcome::default(),
        };
        let roots: Vec<NodeIndex> = g
            .node_indices()
            .filter(|n| schedule.remaining_deps[n] == 0)
            .collect();
        for n in roots {
            schedule.push_ready(n);
        }
        schedule
    }

    fn push_ready(&mut self, n: NodeIndex) {
        let address = self.dag.graph[n].address.clone();
        self.ready.push((self.dag.priority(n), Reverse(address), n));
    }

    /// True if a step can start (once a call slot is free).
    fn has_ready(&mut self) -> bool {
        let blocked = &self.blocked;
        self.ready.retain(|(_, _, n)| !blocked.contains(n));
        !self.ready.is_empty()
    }

    /// The next step to start; only after [`Schedule::has_ready`] said so.
    fn pop_ready(&mut self) -> NodeIndex {
        self.ready.pop().expect("a ready step").2
    }

    /// Records a step's end: a success frees its dependents, a failure
    /// skips them all.
    fn finished(&mut self, n: NodeIndex, result: Result<(), StepError>, events: &dyn Events) {
        let dag = self.dag;
        let g = &dag.graph;
        match result {
            Ok(()) => {
                let change = &self.plan.changes[g[n].change];
                if g[n].phase == Phase::Apply || change.action == Action::Delete {
                    self.outcome.applied.push(g[n].address.clone());
                }
                for next in g.neighbors_directed(n, Direction::Outgoing) {
                    let d = self.remaining_deps.get_mut(&next).expect("node");
                    *d -= 1;
                    if *d == 0 {
                        self.push_ready(next);
                    }
                }
            }
            Err(error) => {
                let failed = &g[n].address;
                self.outcome
                    .failed
                    .push((failed.clone(), error.to_string()));
                let mut dfs = Dfs::new(g, n);
                dfs.next(g);
                while let Some(d) = dfs.next(g) {
                    if self.blocked.insert(d)
                        && g[d].address != *failed
                        && !self.outcome.skipped.contains(&g[d].address)
                    {
                        events.skipped(&g[d].address, failed);
                        self.outcome.skipped.push(g[d].address.clone());
                    }
                }
            }
        }
    }
}

/// The running steps, one task each, and what each needs to run.
struct Steps<P> {
    plan: Arc<Plan>,
    provider: Arc<P>,
    ledger: SharedLedger,
    events: Arc<dyn Events>,
    slots: CallSlots,
    tasks: JoinSet<Result<(), StepError>>,
    /// The step each task runs.
    nodes: HashMap<TaskId, (NodeIndex, Node)>,
}

impl<P: Provider> Steps<P> {
    /// Starts the step of node `n` holding `slot`.
    fn start(&mut self, n: NodeIndex, node: &Node, slot: CallSlot) {
        let change = self.plan.changes[node.change].clone();
        let phase = node.phase;
        let provider = self.provider.clone();
        let ledger = self.ledger.clone();
        let events = self.events.clone();
        let stack = self.plan.stack.clone();
        let slots = self.slots.clone();
        let task = self.tasks.spawn(async move {
            let step = run_step(&change, phase, &stack, provider, ledger, events);
            slots.run(slot, step).await
        });
        self.nodes.insert(task.id(), (n, node.clone()));
    }

    /// Stops every running step (parked at a wait, or still running once
    /// the grace is over) and returns their addresses, sorted; a step that
    /// ended meanwhile is handed to `schedule` as it ended.
    async fn stop_all(&mut self, schedule: &mut Schedule<'_>, events: &dyn Events) -> Vec<Address> {
        self.tasks.abort_all();
        let mut stopped = Vec::new();
        while let Some(joined) = self.tasks.join_next_with_id().await {
            let (id, result) = match joined {
                Ok((id, result)) => (id, result),
                Err(e) if e.is_cancelled() => {
                    let (_, node) = self.nodes.remove(&e.id()).expect("every task runs a step");
                    stopped.push(node.address);
                    continue;
                }
                Err(e) => (e.id(), Err(StepError::Panicked(panic_message(e)))),
            };
            let (n, _) = self.nodes.remove(&id).expect("every task runs a step");
            schedule.finished(n, result, events);
        }
        stopped.sort();
        stopped.dedup();
        stopped
    }

    /// The next step to end and its result; a step that panicked failed
    /// (reported as such), and the others go on.
    async fn join_next(&mut self) -> Option<(NodeIndex, Result<(), StepError>)> {
        let (id, result) = match self.tasks.join_next_with_id().await? {
            Ok((id, result)) => (id, result),
            Err(e) => (e.id(), Err(StepError::Panicked(panic_message(e)))),
        };
        let (n, node) = self.nodes.remove(&id).expect("every task runs a step");
        if let Err(error @ StepError::Panicked(_)) = &result {
            let change = &self.plan.changes[node.change];
            let what = describe(change, node.phase);
            self.events
                .failed(&change.address, what, &error.to_string());
        }
        Some((n, result))
    }
}

/// The message a panicking step's task ended with.
fn panic_message(error: JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned()),
        Err(error) => error.to_string(),
    }
}

fn resolve_after(change: &Change, state: &StateFile) -> Result<Attrs, StepError> {
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
        let resolved = resolve(v, &lookup).ok_or_else(|| StepError::Unresolved {
            attribute: k.clone(),
        })?;
        out.insert(k.clone(), resolved);
    }
    Ok(out)
}

/// What the progress output calls a step.
fn describe(change: &Change, phase: Phase) -> &'static str {
    match (phase, change.action) {
        (Phase::Delete, Action::Replace) => "destroying (replace)",
        (Phase::Delete, _) => "destroying",
        (Phase::Apply, Action::Update) => "updating",
        (Phase::Apply, _) if change.resume => "resuming",
        (Phase::Apply, _) => "creating",
    }
}

async fn run_step<P: Provider>(
    change: &Change,
    phase: Phase,
    stack: &str,
    provider: Arc<P>,
    ledger: SharedLedger,
    events: Arc<dyn Events>,
) -> Result<(), StepError> {
    let address = &change.address;
    let started = Instant::now();
    let what = describe(change, phase);
    events.started(address, what);
    let result = match phase {
        Phase::Delete => delete_step(change, stack, &*provider, &ledger, events.clone()).await,
        Phase::Apply => apply_step(change, stack, &*provider, &ledger, events.clone()).await,
    };
    match result {
        Ok(id) => {
            events.finished(address, what, id.as_deref(), started.elapsed());
            Ok(())
        }
        Err(error) => {
            events.failed(address, what, &error.to_string());
            Err(error)
        }
    }
}

async fn op(change: &Change, stack: &str, ledger: &SharedLedger, events: Arc<dyn Events>) -> Op {
    Op {
        address: change.address.clone(),
        kind: change.kind,
        stack: stack.to_owned(),
        owner: lock(ledger).await.state.lineage.clone(),
        progress: events,
        attempt: None,
    }
}

async fn delete_step<P: Provider>(
    change: &Change,
    stack: &str,
    provider: &P,
    ledger: &SharedLedger,
    events: Arc<dyn Events>,
) -> Result<Option<String>, StepError> {
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
    let mut op = op(change, stack, ledger, events).await;
    {
        let mut l = lock(ledger).await;
        if let Some(r) = l.state.resources.get_mut(&change.address) {
            op.attempt = r.attempt.clone();
            r.status = Status::Deleting;
            l.commit().await?;
        }
    }
    provider.delete(&op, id.as_deref(), &attrs).await?;
    let mut l = lock(ledger).await;
    l.state.resources.remove(&change.address);
    l.commit().await?;
    Ok(id)
}

async fn apply_step<P: Provider>(
    change: &Change,
    stack: &str,
    provider: &P,
    ledger: &SharedLedger,
    events: Arc<dyn Events>,
) -> Result<Option<String>, StepError> {
    let (desired, prior) = {
        let l = lock(ledger).await;
        (
            resolve_after(change, &l.state)?,
            l.state.resources.get(&change.address).cloned(),
        )
    };
    let mut op = op(change, stack, ledger, events).await;
    let result = if change.action == Action::Update {
        let prior = prior.ok_or_else(|| StepError::NotInState(change.address.clone()))?;
        let id = prior.id.clone().unwrap_or_default();
        // The update starts from what the plan read live, not from what the
        // state last recorded: drift made outside privlink is repaired too.
        let before = change.before.as_ref().unwrap_or(&prior.attributes);
        provider
            .update(&op, &id, before, &desired)
            .await
            .map(|attributes| (id, attributes))
    } else {
        let (start, attempt) = create_start(change, prior.as_ref(), &desired, ledger).await?;
        op.attempt = attempt.clone();
        let record: RecordCreated<'_> = &{
            let ledger = ledger.clone();
            let address = change.address.clone();
            let kind = change.kind;
            let deps = change.depends_on.clone();
            let desired = desired.clone();
            move |id: String| {
                let (ledger, address) = (ledger.clone(), address.clone());
                let (deps, desired) = (deps.clone(), desired.clone());
                let attempt = attempt.clone();
                Box::pin(async move {
                    fail::fail_point!("create-returned", |_| crash_here());
                    let mut l = lock(&ledger).await;
                    let pinned = l.state.get(&address).map(|r| r.pinned.clone());
                    l.state.resources.insert(
                        address,
                        ResourceState {
                            kind,
                            id: Some(id),
                            desired,
                            attributes: Attrs::new(),
                            dependencies: deps,
                            status: Status::Creating,
                            attempt,
                            pinned: pinned.unwrap_or_default(),
                        },
                    );
                    l.commit()
                        .await
                        .map_err(|e| ProviderError::State(Box::new(e)))
                })
            }
        };
        provider.create(&op, &desired, start, record).await
    };
    settle(change, desired, result, ledger).await
}

/// How a create starts: resuming the wait of a create call an earlier run
/// recorded, adopting what an earlier run may have created without
/// recording its id, or creating afresh (recording the intent, with a new
/// attempt id, first); with the attempt the create belongs to.
async fn create_start<'p>(
    change: &Change,
    prior: Option<&'p ResourceState>,
    desired: &Attrs,
    ledger: &SharedLedger,
) -> Result<(Start<'p>, Option<String>), StepError> {
    let prior_id = prior.and_then(|p| p.id.as_deref());
    let intent_only = prior.is_some_and(|p| p.status == Status::Creating && p.id.is_none());
    let prior_attempt = prior.and_then(|p| p.attempt.clone());
    Ok(match (prior_id, change.resume) {
        (Some(id), true) => (Start::Resume(id), prior_attempt),
        _ if intent_only => (Start::Adopt, prior_attempt),
        _ => {
            let attempt = crate::state::new_attempt();
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
                    attempt: Some(attempt.clone()),
                    pinned: prior.map(|p| p.pinned.clone()).unwrap_or_default(),
                },
            );
            l.commit().await?;
            (Start::Fresh, Some(attempt))
        }
    })
}

/// Records how a create or update ended: ready with what was read back, or,
/// after a terminal failure of a create, tainted.
async fn settle(
    change: &Change,
    desired: Attrs,
    result: Result<(String, Attrs), ProviderError>,
    ledger: &SharedLedger,
) -> Result<Option<String>, StepError> {
    let mut l = lock(ledger).await;
    match result {
        Ok((id, attributes)) => {
            let attempt = l.state.get(&change.address).and_then(|r| r.attempt.clone());
            let pinned = l.state.get(&change.address).map(|r| r.pinned.clone());
            l.state.resources.insert(
                change.address.clone(),
                ResourceState {
                    kind: change.kind,
                    id: Some(id.clone()),
                    desired,
                    attributes,
                    dependencies: change.depends_on.clone(),
                    status: Status::Ready,
                    attempt,
                    pinned: pinned.unwrap_or_default(),
                },
            );
            l.commit().await?;
            Ok(Some(id))
        }
        Err(e) => {
            if let Some(r) = l.state.resources.get_mut(&change.address)
                && r.status == Status::Creating
                && change.action != Action::Update
                && e.is_terminal()
            {
                r.status = Status::Tainted;
                l.commit().await?;
            }
            Err(e.into())
        }
    }
}

#[cfg(test)]
pub mod fake;
#[cfg(test)]
mod tests;
