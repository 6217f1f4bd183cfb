//! An in-memory [`Provider`] for executor tests.
//!
//! [`FakeProvider`] keeps its "remote" objects in a map and plays each
//! create, update or delete from a [`Script`]: a call that holds the step's
//! call slot for a while (a plain sleep), then a wait that gives the slot
//! back (through [`crate::wait::idle`], as real waits do), then success, a
//! failure or a panic at either stage. Durations are on tokio's clock, so a
//! test on a paused clock (`#[tokio::test(start_paused = true)]`) runs in no
//! time and always the same way. The fake records every call (what, when,
//! how it ended), the order of beginnings and ends, and how many calls were
//! in progress at once.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::model::{Address, Attrs, DesiredResource, Kind};
use crate::plan::{Catalog, IdFormat, Live, LiveView, ResourceRules};
use crate::providers::{Op, Provider, ProviderError, RecordCreated, Start};
use crate::state::StateFile;

/// The kind of every resource in the executor tests: the executor does not
/// look at kinds, so tests refer to them through here only.
pub fn fake_kind() -> Kind {
    FAKE
}

const FAKE: Kind = Kind::new("fake_thing");

/// The rules of the fake kind: every attribute changes in place.
struct FakeRules;

impl ResourceRules for FakeRules {
    fn kind(&self) -> Kind {
        FAKE
    }
    fn cloud(&self) -> &'static str {
        "the fake cloud"
    }
    fn weight(&self) -> u64 {
        1
    }
    fn forces_replacement(&self, _attribute: &str) -> bool {
        false
    }
    fn id_format(&self) -> IdFormat {
        IdFormat {
            expected: "any id",
            check: |_| true,
        }
    }
}

/// The catalog of the fake kind.
fn fake_catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::new([&FakeRules as &'static dyn ResourceRules]))
}

/// A provider error as a scripted failure returns it; `terminal` marks the
/// remote object unusable (a create's resource is then tainted).
pub fn fake_error(message: &str, terminal: bool) -> ProviderError {
    if terminal {
        ProviderError::Terminal(message.into())
    } else {
        ProviderError::Cloud(message.into())
    }
}

/// Which provider method a call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// [`Provider::create`].
    Create,
    /// [`Provider::update`].
    Update,
    /// [`Provider::delete`].
    Delete,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
        }
    }
}

/// Where in an operation a scripted failure or panic strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In the call itself, holding the call slot. A create failing here
    /// leaves nothing behind remotely and records no id.
    Call,
    /// In the wait after the call, slot given back. A create has made its
    /// object and reported its id by then.
    Wait,
}

/// How a scripted operation ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The operation succeeds.
    Succeed,
    /// It returns [`fake_error`] of `message` at `stage`.
    Fail {
        /// Where it fails: in the call or in the wait.
        stage: Stage,
        /// True for a terminal failure (the remote object is unusable).
        terminal: bool,
        /// The error message.
        message: String,
    },
    /// It panics at `stage`.
    Panic {
        /// Where it panics: in the call or in the wait.
        stage: Stage,
    },
}

/// What one operation does: its call holds a call slot for `call`, its wait
/// then lasts `wait` without one, and it ends as `ending` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// How long the call holds its call slot.
    pub call: Duration,
    /// How long the wait after it lasts, without a slot.
    pub wait: Duration,
    /// How the operation ends.
    pub ending: Ending,
}

impl Default for Script {
    /// A one-second call, no wait, success.
    fn default() -> Self {
        Script::new(Duration::from_secs(1), Duration::ZERO)
    }
}

impl Script {
    /// A successful operation with these durations.
    pub fn new(call: Duration, wait: Duration) -> Self {
        Script {
            call,
            wait,
            ending: Ending::Succeed,
        }
    }

    /// The same, failing (not terminally) at `stage` with `message`.
    pub fn fails(self, stage: Stage, message: &str) -> Self {
        self.ending(Ending::Fail {
            stage,
            terminal: false,
            message: message.to_owned(),
        })
    }

    /// The same, failing terminally at `stage` with `message`.
    pub fn fails_terminally(self, stage: Stage, message: &str) -> Self {
        self.ending(Ending::Fail {
            stage,
            terminal: true,
            message: message.to_owned(),
        })
    }

    /// The same, panicking at `stage`.
    pub fn panics(self, stage: Stage) -> Self {
        self.ending(Ending::Panic { stage })
    }

    fn ending(self, ending: Ending) -> Self {
        Script { ending, ..self }
    }
}

/// How a create was asked to start: an owned [`Start`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// [`Start::Fresh`].
    Fresh,
    /// [`Start::Resume`] with the recorded id.
    Resume(String),
    /// [`Start::Adopt`].
    Adopt,
}

impl From<Start<'_>> for Begin {
    fn from(start: Start<'_>) -> Self {
        match start {
            Start::Fresh => Begin::Fresh,
            Start::Resume(id) => Begin::Resume(id.to_owned()),
            Start::Adopt => Begin::Adopt,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// It succeeded.
    Ok,
    /// It returned this error message.
    Failed(String),
    /// It panicked.
    Panicked,
}

/// One provider call as the fake saw it; times are since the fake was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Which provider method was called.
    pub verb: Verb,
    /// The resource it was called for.
    pub address: Address,
    /// For a create, how it was asked to start.
    pub begin: Option<Begin>,
    /// For a create, the attempt it was given ([`Op::attempt`]).
    pub attempt: Option<String>,
    /// When it began.
    pub began: Duration,
    /// When and how it ended; `None` while it runs.
    pub ended: Option<(Duration, End)>,
}

/// An object in the fake's remote side.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    /// The object's remote id.
    pub id: String,
    /// Its attributes, as a read returns them.
    pub attributes: Attrs,
}

/// The in-memory provider; see the module documentation.
#[derive(Debug)]
pub struct FakeProvider {
    epoch: Instant,
    default: Script,
    scripts: Mutex<HashMap<(Verb, Address), VecDeque<Script>>>,
    remote: Mutex<BTreeMap<Address, Remote>>,
    made: Mutex<HashMap<Address, usize>>,
    next_id: AtomicUsize,
    calls: Mutex<Vec<Call>>,
    history: Mutex<Vec<String>>,
    calling: Gauge,
    in_flight: Gauge,
}

impl Default for FakeProvider {
    fn default() -> Self {
        FakeProvider::new()
    }
}

/// A count of things in progress and the most there were at once.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// One thing in progress on a [`Gauge`], until dropped (a panic included).
struct Entered<'a>(&'a Gauge);

impl Gauge {
    fn enter(&self) -> Entered<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        Entered(self)
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeProvider {
    /// A fake with nothing remote, whose operations all play
    /// [`Script::default`] unless scripted otherwise.
    pub fn new() -> Self {
        FakeProvider::with_default(Script::default())
    }

    /// A fake whose unscripted operations all play `default`.
    pub fn with_default(default: Script) -> Self {
        FakeProvider {
            epoch: Instant::now(),
            default,
            scripts: Mutex::default(),
            remote: Mutex::default(),
            made: Mutex::default(),
            next_id: AtomicUsize::new(1),
            calls: Mutex::default(),
            history: Mutex::default(),
            calling: Gauge::default(),
            in_flight: Gauge::default(),
        }
    }

    /// The next `verb` on `address` plays `script` (scripts for one
    /// operation play in the order given, then the default again).
    pub fn script(&self, address: &str, verb: Verb, script: Script) -> &Self {
        locked(&self.scripts)
            .entry((verb, Address::new(address)))
            .or_default()
            .push_back(script);
        self
    }

    /// Puts an object on the remote side, as an earlier run's create would
    /// have (found by an adopting create through its address).
    pub fn put_remote(&self, address: &str, id: &str, attributes: Attrs) {
        locked(&self.remote).insert(
            Address::new(address),
            Remote {
                id: id.to_owned(),
                attributes,
            },
        );
    }

    /// The remote side now.
    pub fn remote(&self) -> BTreeMap<Address, Remote> {
        locked(&self.remote).clone()
    }

    /// How many objects the fake has created for `address` (adopting or
    /// resuming creates none).
    pub fn creations(&self, address: &str) -> usize {
        locked(&self.made)
            .get(&Address::new(address))
            .copied()
            .unwrap_or(0)
    }

    /// Every call so far, in the order they began.
    pub fn calls(&self) -> Vec<Call> {
        locked(&self.calls).clone()
    }

    /// The calls of `verb`, their addresses in the order they began.
    pub fn order(&self, verb: Verb) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.verb == verb)
            .map(|c| c.address.to_string())
            .collect()
    }

    /// Beginnings and ends in the order they happened, as lines such as
    /// `create a begins`, `create a ends`, `create a fails: ...`,
    /// `create a panics`.
    pub fn history(&self) -> Vec<String> {
        locked(&self.history).clone()
    }

    /// The most calls holding a call slot (in their call stage) at once.
    pub fn max_calls_at_once(&self) -> usize {
        self.calling.max.load(Ordering::SeqCst)
    }

    /// The most operations in progress (calling or waiting) at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.max.load(Ordering::SeqCst)
    }

    fn begin(&self, verb: Verb, address: &Address, begin: Option<Begin>) -> (usize, Script) {
        let script = locked(&self.scripts)
            .get_mut(&(verb, address.clone()))
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| self.default.clone());
        locked(&self.history).push(format!("{} {address} begins", verb.as_str()));
        let mut calls = locked(&self.calls);
        calls.push(Call {
            verb,
            address: address.clone(),
            begin,
            attempt: None,
            began: self.epoch.elapsed(),
            ended: None,
        });
        (calls.len() - 1, script)
    }

    fn end<T>(&self, call: usize, result: &Result<T, ProviderError>) {
        self.ended(
            call,
            match result {
                Ok(_) => End::Ok,
                Err(e) => End::Failed(e.to_string()),
            },
        );
    }

    fn ended(&self, call: usize, end: End) {
        let mut calls = locked(&self.calls);
        let c = &mut calls[call];
        let line = match &end {
            End::Ok => "ends".to_owned(),
            End::Failed(message) => format!("fails: {message}"),
            End::Panicked => "panics".to_owned(),
        };
        locked(&self.history).push(format!("{} {} {line}", c.verb.as_str(), c.address));
        c.ended = Some((self.epoch.elapsed(), end));
    }

    /// Plays the scripted ending if it strikes at `stage`.
    fn strike(&self, call: usize, script: &Script, stage: Stage) -> Result<(), ProviderError> {
        match &script.ending {
            Ending::Fail {
                stage: s,
                terminal,
                message,
            } if *s == stage => Err(fake_error(message, *terminal)),
            Ending::Panic { stage: s } if *s == stage => {
                self.ended(call, End::Panicked);
                let c = locked(&self.calls)[call].clone();
                panic!("scripted panic in {} {}", c.verb.as_str(), c.address);
            }
            _ => Ok(()),
        }
    }

    /// The call stage: holds the step's call slot.
    async fn call_stage(&self, call: usize, script: &Script) -> Result<(), ProviderError> {
        let _calling = self.calling.enter();
        tokio::time::sleep(script.call).await;
        self.strike(call, script, Stage::Call)
    }

    /// The wait stage: gives the step's call slot back while it lasts.
    async fn wait_stage(&self, call: usize, script: &Script) -> Result<(), ProviderError> {
        if !script.wait.is_zero() {
            crate::wait::idle(script.wait).await;
        }
        self.strike(call, script, Stage::Wait)
    }

    /// The create call: makes the remote object and reports its id.
    async fn create_call(
        &self,
        call: usize,
        script: &Script,
        address: &Address,
        desired: &Attrs,
        record: RecordCreated<'_>,
    ) -> Result<String, ProviderError> {
        self.call_stage(call, script).await?;
        let id = format!("fake-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let remote = Remote {
            id: id.clone(),
            attributes: read_back(&id, desired),
        };
        locked(&self.remote).insert(address.clone(), remote);
        *locked(&self.made).entry(address.clone()).or_default() += 1;
        record(id.clone()).await?;
        Ok(id)
    }

    /// The id of the object an earlier run created for `address`, if any.
    fn find(&self, address: &Address) -> Option<String> {
        locked(&self.remote).get(address).map(|r| r.id.clone())
    }
}

/// The attributes the fake reads back: the desired ones and the id.
fn read_back(id: &str, desired: &Attrs) -> Attrs {
    let mut attributes = desired.clone();
    attributes.insert("id".into(), Value::String(id.to_owned()));
    attributes
}

impl Provider for FakeProvider {
    fn catalog(&self) -> &Catalog {
        fake_catalog()
    }

    async fn refresh(
        &self,
        state: &StateFile,
        desired: &[DesiredResource],
    ) -> Result<LiveView, ProviderError> {
        let remote = locked(&self.remote);
        let mut live = LiveView::default();
        for (address, r) in &state.resources {
            let Some(id) = &r.id else { continue };
            let found = remote.get(address).filter(|o| &o.id == id);
            live.resources.insert(
                address.clone(),
                match found {
                    Some(o) => Live::Present {
                        attributes: o.attributes.clone(),
                    },
                    None => Live::Gone,
                },
            );
        }
        for d in desired {
            if let Some(o) = remote.get(&d.address)
                && !state.resources.contains_key(&d.address)
            {
                let why = "an object of the fake provider".to_owned();
                live.conflicts
                    .insert(d.address.clone(), (o.id.clone(), why));
            }
        }
        Ok(live)
    }

    async fn create(
        &self,
        op: &Op,
        desired: &Attrs,
        start: Start<'_>,
        record: RecordCreated<'_>,
    ) -> Result<(String, Attrs), ProviderError> {
        let _in_flight = self.in_flight.enter();
        let (call, script) = self.begin(Verb::Create, &op.address, Some(start.into()));
        locked(&self.calls)[call].attempt = op.attempt.clone();
        let result = async {
            let existing = match start {
                Start::Resume(id) => Some(id.to_owned()),
                Start::Adopt => self.find(&op.address),
                Start::Fresh => None,
            };
            let id = match existing {
                Some(id) => {
                    if start == Start::Adopt {
                        record(id.clone()).await?;
                    }
                    id
                }
                None => {
                    self.create_call(call, &script, &op.address, desired, record)
                        .await?
                }
            };
            self.wait_stage(call, &script).await?;
            Ok((id.clone(), read_back(&id, desired)))
        }
        .await;
        self.end(call, &result);
        result
    }

    async fn update(
        &self,
        op: &Op,
        id: &str,
        _before: &Attrs,
        desired: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let _in_flight = self.in_flight.enter();
        let (call, script) = self.begin(Verb::Update, &op.address, None);
        let result = async {
            self.call_stage(call, &script).await?;
            let attributes = read_back(id, desired);
            if let Some(o) = locked(&self.remote).get_mut(&op.address) {
                o.attributes = attributes.clone();
            }
            self.wait_stage(call, &script).await?;
            Ok(attributes)
        }
        .await;
        self.end(call, &result);
        result
    }

    async fn delete(&self, op: &Op, id: Option<&str>, _attrs: &Attrs) -> Result<(), ProviderError> {
        let _in_flight = self.in_flight.enter();
        let (call, script) = self.begin(Verb::Delete, &op.address, None);
        let result = async {
            self.call_stage(call, &script).await?;
            {
                let mut remote = locked(&self.remote);
                // Without an id, the object is found by its address.
                if remote
                    .get(&op.address)
                    .is_some_and(|o| id.is_none_or(|id| o.id == id))
                {
                    remote.remove(&op.address);
                }
            }
            self.wait_stage(call, &script).await
        }
        .await;
        self.end(call, &result);
        result
    }
}
