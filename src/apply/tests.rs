//! Executor tests on the in-memory [`FakeProvider`], on a paused clock:
//! scheduling, slots, ordering, failures, panics, interrupts and resuming.
//! Plans come from the real planner over what the fake reads back, and
//! state goes through a real state file, as `privlink apply` does it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::fake::{Begin, FakeProvider, Script, Stage, Verb, fake_kind};
use super::{ApplyOptions, ApplyOutcome, Events, Ledger, apply_until};
use crate::model::{Address, Attrs, DesiredResource, reference};
use crate::plan::{self, Action, Plan};
use crate::providers::Provider;
use crate::state::{LockMode, MemoryBackend, ResourceState, StateFile, StateStore, Status};
use crate::wait::{Progress, WaitEvent};

const STACK: &str = "executor-tests";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Records the executor's events as lines.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Progress for Recorder {
    fn waiting(&self, _event: &WaitEvent<'_>) {}
}

impl Events for Recorder {
    fn started(&self, address: &Address, what: &str) {
        self.push(format!("{address} {what}"));
    }
    fn finished(&self, address: &Address, what: &str, _id: Option<&str>, _took: Duration) {
        self.push(format!("{address} {what} done"));
    }
    fn failed(&self, address: &Address, what: &str, error: &str) {
        self.push(format!("{address} {what} failed: {error}"));
    }
    fn skipped(&self, address: &Address, because: &Address) {
        self.push(format!("{address} skipped because of {because}"));
    }
    fn interrupted(&self, running: usize) {
        self.push(format!("interrupted with {running} running"));
    }
}

/// A resource named `name` whose attributes refer to the ids of `deps`.
fn resource(name: &str, deps: &[&str]) -> DesiredResource {
    let mut attrs = Attrs::new();
    attrs.insert("label".into(), json!(name));
    for d in deps {
        attrs.insert(format!("{d}_id"), reference(&Address::new(*d), "id"));
    }
    DesiredResource {
        address: Address::new(name),
        kind: fake_kind(),
        attrs,
        depends_on: deps.iter().map(|d| Address::new(*d)).collect(),
    }
}

/// a -> b, a -> c, b -> d, c -> d.
fn diamond() -> Vec<DesiredResource> {
    vec![
        resource("a", &[]),
        resource("b", &["a"]),
        resource("c", &["a"]),
        resource("d", &["b", "c"]),
    ]
}

fn addresses(names: &[&str]) -> Vec<Address> {
    names.iter().map(|n| Address::new(*n)).collect()
}

/// A state file in a temporary directory, the fake provider and the events.
struct Harness {
    backend: Arc<MemoryBackend>,
    fake: Arc<FakeProvider>,
    events: Arc<Recorder>,
}

impl Harness {
    fn new(fake: FakeProvider) -> Self {
        Harness {
            backend: Arc::new(MemoryBackend::new()),
            fake: Arc::new(fake),
            events: Arc::default(),
        }
    }

    fn state(&self) -> StateFile {
        self.backend
            .stored()
            .unwrap_or_else(|| StateFile::new(STACK))
    }

    fn resource(&self, name: &str) -> Option<ResourceState> {
        self.state().resources.get(&Address::new(name)).cloned()
    }

    /// Writes `resource` into the state, as an earlier run would have.
    async fn seed(&self, name: &str, resource: ResourceState) {
        let lock = LockMode::Exclusive { operation: "apply" };
        let (mut store, mut state) = self.open(lock).await;
        state.upsert(Address::new(name), resource);
        store.write(&mut state).await.expect("write");
        store.close().await.expect("unlock");
    }

    async fn open(&self, lock: LockMode<'_>) -> (StateStore, StateFile) {
        StateStore::open(self.backend.clone(), STACK, lock)
            .await
            .expect("open")
    }

    /// Plans `desired` against the state and what the fake reads back.
    async fn plan(&self, desired: &[DesiredResource]) -> Plan {
        let state = self.state();
        let live = self.fake.refresh(&state, desired).await.expect("refresh");
        plan::diff(desired, &state, &live, self.fake.catalog()).expect("plan")
    }

    async fn destroy_plan(&self) -> Plan {
        let state = self.state();
        let live = self.fake.refresh(&state, &[]).await.expect("refresh");
        plan::destroy(&state, &live)
    }

    async fn apply(&self, plan: Plan, parallelism: usize) -> ApplyOutcome {
        self.apply_until(plan, parallelism, std::future::pending())
            .await
    }

    /// Applies as the CLI does (lock, ledger, executor), failing the test
    /// if the executor does not return within a day of the paused clock.
    async fn apply_until(
        &self,
        plan: Plan,
        parallelism: usize,
        interrupt: impl Future<Output = ()>,
    ) -> ApplyOutcome {
        let lock = LockMode::Exclusive { operation: "apply" };
        let (store, state) = self.open(lock).await;
        let ledger = Arc::new(tokio::sync::Mutex::new(Ledger::new(store, state)));
        let run = apply_until(
            Arc::new(plan),
            self.fake.clone(),
            ledger.clone(),
            ApplyOptions { parallelism },
            self.events.clone(),
            interrupt,
        );
        let outcome = tokio::time::timeout(secs(24 * 3600), run)
            .await
            .expect("the apply returns")
            .expect("the apply runs");
        super::release(ledger).await.expect("unlock");
        outcome
    }

    /// Where `line` is in the fake's history.
    fn at(&self, line: &str) -> usize {
        let history = self.fake.history();
        history
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line:?} not in {history:#?}"))
    }

    /// `first` happened before `then` in the fake's history.
    fn before(&self, first: &str, then: &str) {
        assert!(
            self.at(first) < self.at(then),
            "{first:?} before {then:?}: {:#?}",
            self.fake.history()
        );
    }

    fn event(&self, line: &str) -> bool {
        self.events.lines().iter().any(|l| l == line)
    }
}

fn sorted(mut v: Vec<Address>) -> Vec<Address> {
    v.sort();
    v
}

#[tokio::test(start_paused = true)]
async fn parallelism_bounds_the_calls_in_progress() {
    let desired: Vec<_> = ["r1", "r2", "r3", "r4"]
        .iter()
        .map(|n| resource(n, &[]))
        .collect();
    for parallelism in [1, 2, 4] {
        let h = Harness::new(FakeProvider::with_default(Script::new(secs(5), secs(0))));
        let started = Instant::now();
        let outcome = h.apply(h.plan(&desired).await, parallelism).await;
        assert!(outcome.is_success(), "{outcome:?}");
        assert_eq!(outcome.applied.len(), 4);
        assert_eq!(h.fake.max_calls_at_once(), parallelism);
        let rounds = 4u64.div_ceil(parallelism as u64);
        let took = started.elapsed();
        assert!(
            took >= secs(5 * rounds) && took < secs(5 * rounds + 1),
            "parallelism {parallelism}: {took:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_steps_give_their_slot_back_so_chains_run_side_by_side() {
    // Three chains x -> y, each step a 1s call and a 10s wait, one slot.
    let h = Harness::new(FakeProvider::with_default(Script::new(secs(1), secs(10))));
    let desired = vec![
        resource("a1", &[]),
        resource("b1", &["a1"]),
        resource("a2", &[]),
        resource("b2", &["a2"]),
        resource("a3", &[]),
        resource("b3", &["a3"]),
    ];
    let started = Instant::now();
    let outcome = h.apply(h.plan(&desired).await, 1).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(h.fake.max_calls_at_once(), 1);
    assert_eq!(
        h.fake.max_in_flight(),
        3,
        "the three chains wait side by side"
    );
    // One after the other would take 6 x 11s.
    let took = started.elapsed();
    assert!(took < secs(30), "{took:?}");
    for i in 1..=3 {
        h.before(&format!("create a{i} ends"), &format!("create b{i} begins"));
    }
    for r in ["a1", "b1", "a2", "b2", "a3", "b3"] {
        assert_eq!(h.resource(r).expect("in state").status, Status::Ready);
    }
}

#[tokio::test(start_paused = true)]
async fn a_step_starts_only_after_its_dependencies_finished() {
    let fake = FakeProvider::new();
    fake.script("b", Verb::Create, Script::new(secs(3), secs(0)))
        .script("c", Verb::Create, Script::new(secs(2), secs(5)));
    let h = Harness::new(fake);
    let outcome = h.apply(h.plan(&diamond()).await, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    for (dep, dependent) in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")] {
        h.before(
            &format!("create {dep} ends"),
            &format!("create {dependent} begins"),
        );
    }
    // b and c do not wait for each other.
    h.before("create c begins", "create b ends");
    // Ids flow along the edges.
    let state = h.state();
    let id = |n: &str| state.resources[&Address::new(n)].id.clone().unwrap();
    let d = &state.resources[&Address::new("d")];
    assert_eq!(d.desired["b_id"], Value::String(id("b")));
    assert_eq!(d.desired["c_id"], Value::String(id("c")));
    // What the state holds is what is wanted: nothing left to do.
    assert!(h.plan(&diamond()).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn destroy_runs_dependents_first() {
    let h = Harness::new(FakeProvider::new());
    assert!(h.apply(h.plan(&diamond()).await, 10).await.is_success());
    h.fake
        .script("c", Verb::Delete, Script::new(secs(1), secs(6)));
    let outcome = h.apply(h.destroy_plan().await, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(sorted(outcome.applied), addresses(&["a", "b", "c", "d"]));
    for (dependent, dep) in [("d", "b"), ("d", "c"), ("b", "a"), ("c", "a")] {
        h.before(
            &format!("delete {dependent} ends"),
            &format!("delete {dep} begins"),
        );
    }
    h.before("delete c begins", "delete b ends");
    assert!(h.state().is_empty());
    assert!(h.fake.remote().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failure_skips_the_dependents_and_independent_steps_finish() {
    let fake = FakeProvider::new();
    fake.script(
        "a",
        Verb::Create,
        Script::default().fails(Stage::Call, "API error 500"),
    )
    .script("x", Verb::Create, Script::new(secs(20), secs(0)));
    let h = Harness::new(fake);
    let desired = vec![
        resource("a", &[]),
        resource("b", &["a"]),
        resource("c", &["b"]),
        resource("x", &[]),
    ];
    let outcome = h.apply(h.plan(&desired).await, 10).await;
    assert_eq!(
        outcome.failed,
        vec![(Address::new("a"), "API error 500".to_owned())]
    );
    assert_eq!(outcome.skipped, addresses(&["b", "c"]));
    assert_eq!(outcome.applied, addresses(&["x"]));
    assert!(!outcome.is_success() && !outcome.interrupted);
    // The skipped steps never called the provider; x finished after a failed.
    assert_eq!(
        sorted(addresses_of(h.fake.order(Verb::Create))),
        addresses(&["a", "x"])
    );
    h.before("create a fails: API error 500", "create x ends");
    assert!(h.event("a creating failed: API error 500"));
    assert!(h.event("b skipped because of a"));
    assert!(h.event("c skipped because of a"));
    // The intent recorded before a's create call stays; x is ready.
    let a = h.resource("a").expect("the intent is recorded");
    assert_eq!((a.status, a.id), (Status::Creating, None));
    assert_eq!(h.resource("x").expect("x").status, Status::Ready);
    assert!(h.resource("b").is_none() && h.resource("c").is_none());

    // The next run carries on: it adopts a (nothing was made) and goes on.
    let outcome = h.apply(h.plan(&desired).await, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(h.fake.creations("a"), 1);
    assert!(h.plan(&desired).await.is_empty());
}

fn addresses_of(names: Vec<String>) -> Vec<Address> {
    names.into_iter().map(Address::new).collect()
}

#[tokio::test(start_paused = true)]
async fn a_terminal_failure_after_the_create_returned_taints_the_resource() {
    let fake = FakeProvider::new();
    fake.script(
        "a",
        Verb::Create,
        Script::new(secs(1), secs(30)).fails_terminally(Stage::Wait, "Atlas reports FAILED"),
    );
    let h = Harness::new(fake);
    let desired = vec![resource("a", &[])];
    let outcome = h.apply(h.plan(&desired).await, 10).await;
    assert_eq!(
        outcome.failed,
        vec![(Address::new("a"), "Atlas reports FAILED".to_owned())]
    );
    let a = h.resource("a").expect("a");
    assert_eq!(a.status, Status::Tainted);
    assert!(a.id.is_some(), "the id the create call returned is kept");
    let next = h.plan(&desired).await;
    assert_eq!(next.changes[0].action, Action::Replace);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_step_fails_alone_and_its_dependents_are_skipped() {
    for stage in [Stage::Call, Stage::Wait] {
        let fake = FakeProvider::new();
        fake.script(
            "a",
            Verb::Create,
            Script::new(secs(1), secs(5)).panics(stage),
        );
        let h = Harness::new(fake);
        let desired = vec![
            resource("a", &[]),
            resource("b", &["a"]),
            resource("x", &[]),
        ];
        // One slot: had the panicking step kept it, x could never run.
        let outcome = h.apply(h.plan(&desired).await, 1).await;
        let message = "step panicked: scripted panic in create a";
        assert_eq!(
            outcome.failed,
            vec![(Address::new("a"), message.to_owned())],
            "{stage:?}"
        );
        assert_eq!(outcome.skipped, addresses(&["b"]));
        assert_eq!(outcome.applied, addresses(&["x"]));
        assert!(h.event(&format!("a creating failed: {message}")));
        assert!(h.event("b skipped because of a"));
        if stage == Stage::Call {
            h.before("create a panics", "create x begins");
        }
        // The state is whole, and the next run converges.
        let a = h.resource("a").expect("a");
        assert_eq!(a.status, Status::Creating);
        assert_eq!(a.id.is_some(), stage == Stage::Wait, "{stage:?}");
        let outcome = h.apply(h.plan(&desired).await, 1).await;
        assert!(outcome.is_success(), "{stage:?}: {outcome:?}");
        assert_eq!(h.fake.creations("a"), 1, "{stage:?}");
        assert!(h.plan(&desired).await.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_delete_skips_what_waits_for_it() {
    let h = Harness::new(FakeProvider::new());
    assert!(h.apply(h.plan(&diamond()).await, 10).await.is_success());
    h.fake
        .script("b", Verb::Delete, Script::default().panics(Stage::Call));
    let outcome = h.apply(h.destroy_plan().await, 10).await;
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].0, Address::new("b"));
    assert_eq!(outcome.skipped, addresses(&["a"]));
    assert_eq!(sorted(outcome.applied), addresses(&["c", "d"]));
    assert_eq!(h.resource("b").expect("b").status, Status::Deleting);
    assert_eq!(h.resource("a").expect("a").status, Status::Ready);
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_starts_nothing_new_and_stops_running_steps_at_their_wait() {
    let fake = FakeProvider::new();
    fake.script("a", Verb::Create, Script::new(secs(1), secs(0)))
        .script(
            "c",
            Verb::Create,
            Script::new(Duration::from_millis(500), secs(28)),
        );
    let h = Harness::new(fake);
    // a heads the longest chain and c comes before e: a and c take the two
    // slots; e would start when c goes idle, b when a ends.
    let desired = vec![
        resource("a", &[]),
        resource("b", &["a"]),
        resource("c", &[]),
        resource("e", &[]),
    ];
    let started = Instant::now();
    let interrupt = tokio::time::sleep(Duration::from_millis(200));
    let outcome = h.apply_until(h.plan(&desired).await, 2, interrupt).await;
    assert!(outcome.interrupted);
    assert!(!outcome.is_success());
    // a's call was in flight: it ended and was recorded; c was stopped in
    // its wait, right after its create call returned.
    assert_eq!(sorted(outcome.applied), addresses(&["a"]));
    assert_eq!(outcome.stopped, addresses(&["c"]));
    assert!(outcome.failed.is_empty() && outcome.skipped.is_empty());
    assert!(h.event("interrupted with 2 running"));
    assert_eq!(h.fake.order(Verb::Create), vec!["a", "c"]);
    assert!(started.elapsed() < secs(2), "c's wait was not waited out");
    // The state holds what was done and c's id; the next plan resumes c.
    let state = h.state();
    assert_eq!(
        state.resources.keys().cloned().collect::<Vec<_>>(),
        addresses(&["a", "c"])
    );
    assert_eq!(h.resource("a").expect("a").status, Status::Ready);
    let c = h.resource("c").expect("c");
    assert_eq!(c.status, Status::Creating);
    assert!(c.id.is_some(), "c's id is recorded: {c:?}");
    let next = h.plan(&desired).await;
    let todo: Vec<_> = next
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.to_string(), c.action, c.resume))
        .collect();
    assert_eq!(
        todo,
        vec![
            ("b".to_owned(), Action::Create, false),
            ("c".to_owned(), Action::Create, true),
            ("e".to_owned(), Action::Create, false)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_stops_a_step_still_calling_once_the_grace_is_over() {
    let fake = FakeProvider::new();
    fake.script("a", Verb::Create, Script::new(secs(10), secs(0)));
    let h = Harness::new(fake);
    let desired = vec![resource("a", &[])];
    let started = Instant::now();
    let interrupt = tokio::time::sleep(Duration::from_millis(100));
    let outcome = h.apply_until(h.plan(&desired).await, 2, interrupt).await;
    assert!(outcome.interrupted);
    assert_eq!(outcome.stopped, addresses(&["a"]));
    assert!(started.elapsed() <= Duration::from_millis(100) + crate::limits::INTERRUPT_GRACE);
    // Only the intent is recorded: the next run looks for the object first.
    let a = h.resource("a").expect("a");
    assert_eq!((a.status, a.id.clone()), (Status::Creating, None));
}

#[tokio::test(start_paused = true)]
async fn a_create_recorded_before_a_crash_is_resumed_not_made_again() {
    let h = Harness::new(FakeProvider::new());
    let a = resource("a", &[]);
    h.fake.put_remote("a", "fake-41", {
        let mut attrs = a.attrs.clone();
        attrs.insert("id".into(), json!("fake-41"));
        attrs
    });
    h.seed(
        "a",
        ResourceState {
            kind: fake_kind(),
            id: Some("fake-41".into()),
            desired: a.attrs.clone(),
            attributes: Attrs::new(),
            dependencies: vec![],
            status: Status::Creating,
            attempt: None,
            pinned: Attrs::new(),
        },
    )
    .await;
    let desired = vec![a, resource("b", &["a"])];
    let plan = h.plan(&desired).await;
    assert!(plan.changes[0].resume, "{plan:?}");
    let outcome = h.apply(plan, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let calls = h.fake.calls();
    assert_eq!(calls[0].begin, Some(Begin::Resume("fake-41".into())));
    assert_eq!(h.fake.creations("a"), 0, "no second create");
    assert!(h.event("a resuming"));
    let a = h.resource("a").expect("a");
    assert_eq!(
        (a.status, a.id.as_deref()),
        (Status::Ready, Some("fake-41"))
    );
    assert_eq!(
        h.resource("b").expect("b").desired["a_id"],
        json!("fake-41")
    );
}

#[tokio::test(start_paused = true)]
async fn an_intent_without_an_id_is_adopted() {
    // Created by the earlier run, which died before recording the id.
    let h = Harness::new(FakeProvider::new());
    let a = resource("a", &[]);
    h.fake.put_remote("a", "fake-77", a.attrs.clone());
    let intent = ResourceState {
        kind: fake_kind(),
        id: None,
        desired: a.attrs.clone(),
        attributes: Attrs::new(),
        dependencies: vec![],
        status: Status::Creating,
        attempt: None,
        pinned: Attrs::new(),
    };
    h.seed("a", intent.clone()).await;
    let outcome = h.apply(h.plan(std::slice::from_ref(&a)).await, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(h.fake.calls()[0].begin, Some(Begin::Adopt));
    assert_eq!(h.fake.creations("a"), 0, "adopted, not made again");
    assert_eq!(h.resource("a").expect("a").id.as_deref(), Some("fake-77"));

    // Never made at all: the adopting create makes it, once.
    let h = Harness::new(FakeProvider::new());
    h.seed("b", intent).await;
    let b = resource("b", &[]);
    let outcome = h.apply(h.plan(std::slice::from_ref(&b)).await, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(h.fake.calls()[0].begin, Some(Begin::Adopt));
    assert_eq!(h.fake.creations("b"), 1);
    assert_eq!(h.resource("b").expect("b").status, Status::Ready);
}

#[tokio::test(start_paused = true)]
async fn a_create_retried_after_a_crash_keeps_its_attempt_and_a_new_create_gets_a_new_one() {
    // The first run records its intent and dies in the create call.
    let fake = FakeProvider::new();
    fake.script(
        "a",
        Verb::Create,
        Script::default().fails(Stage::Call, "connection reset"),
    );
    let h = Harness::new(fake);
    let desired = vec![resource("a", &[]), resource("b", &[])];
    let outcome = h.apply(h.plan(&desired).await, 10).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    let intent = h.resource("a").expect("the intent is recorded");
    let first = intent
        .attempt
        .clone()
        .expect("the intent carries its attempt");
    let calls = h.fake.calls();
    let create_a = calls.iter().find(|c| c.address.as_str() == "a").unwrap();
    assert_eq!(create_a.attempt.as_deref(), Some(first.as_str()));
    let create_b = calls.iter().find(|c| c.address.as_str() == "b").unwrap();
    let b_attempt = create_b.attempt.clone().expect("b has its own attempt");
    assert_ne!(b_attempt, first, "each create has its own attempt");
    assert_eq!(h.resource("b").unwrap().attempt, Some(b_attempt));

    // The retry adopts, with the same attempt (so the same idempotency token).
    let outcome = h.apply(h.plan(&desired).await, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let retry = h
        .fake
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.address.as_str() == "a")
        .unwrap();
    assert_eq!(retry.begin, Some(Begin::Adopt));
    assert_eq!(retry.attempt.as_deref(), Some(first.as_str()));
    let a = h.resource("a").unwrap();
    assert_eq!(
        (a.status, a.attempt.as_deref()),
        (Status::Ready, Some(first.as_str()))
    );

    // Destroyed and created again: a new attempt, never the old one.
    assert!(h.apply(h.destroy_plan().await, 10).await.is_success());
    assert!(h.apply(h.plan(&desired).await, 10).await.is_success());
    let again = h
        .fake
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.address.as_str() == "a")
        .unwrap();
    assert_eq!(again.begin, Some(Begin::Fresh));
    let new = again.attempt.expect("a fresh create has an attempt");
    assert_ne!(new, first);
    assert_eq!(h.resource("a").unwrap().attempt, Some(new));
}

#[tokio::test(start_paused = true)]
async fn an_update_changes_the_object_in_place() {
    let h = Harness::new(FakeProvider::new());
    let mut desired = vec![resource("a", &[]), resource("b", &["a"])];
    assert!(h.apply(h.plan(&desired).await, 10).await.is_success());
    let id = h.resource("a").expect("a").id;
    desired[0].attrs.insert("label".into(), json!("renamed"));
    let outcome = h.apply(h.plan(&desired).await, 10).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.applied, addresses(&["a"]));
    assert_eq!(h.fake.order(Verb::Update), vec!["a"]);
    assert!(h.event("a updating done"));
    let a = h.resource("a").expect("a");
    assert_eq!(
        (a.id, a.attributes["label"].clone()),
        (id, json!("renamed"))
    );
}
