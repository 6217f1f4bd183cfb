//! The machine-readable progress of `apply --json` and `destroy --json`:
//! one JSON object per line on standard output, in the manner of
//! `terraform apply -json`. [`JsonEvent`] is the contract (documented in
//! docs/plan-json.md); [`JsonReporter`] is the executor's event sink that
//! writes it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apply::{ApplyOutcome, Events};
use crate::model::{Address, Kind};
use crate::plan::{Action, Plan, Summary};
use crate::providers::clouds::EndpointConnection;
use crate::wait::{Progress, WaitEvent};

use super::WaitThrottle;

/// One planned change, as the `plan` event lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedChange {
    /// The resource address.
    pub address: Address,
    /// Its kind.
    pub kind: Kind,
    /// What will happen to it (never `no_op`: unchanged addresses are left out).
    pub action: Action,
}

/// One line of `apply --json` or `destroy --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JsonEvent {
    /// What the run is about to do; always the first line.
    Plan {
        /// `apply` or `destroy`.
        operation: String,
        /// Objects the plan creates (a replacement creates one).
        add: usize,
        /// Objects the plan updates in place.
        change: usize,
        /// Objects the plan deletes (a replacement deletes one).
        destroy: usize,
        /// The changes other than `no_op`, in plan order.
        changes: Vec<PlannedChange>,
        /// The endpoints whose existing link the plan replaces (their
        /// connection strings change); omitted when none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        linked_endpoints_replaced: Vec<String>,
    },
    /// A step started.
    ApplyStart {
        /// The resource address.
        address: Address,
        /// The planned action of the address.
        action: Action,
        /// The step: `creating`, `resuming`, `updating`, `destroying` or
        /// `destroying (replace)`.
        step: String,
    },
    /// A step is waiting on Atlas or AWS: sent when the remote state changes
    /// and at least every 10 seconds while it does not.
    ApplyProgress {
        /// The resource address.
        address: String,
        /// What is awaited, e.g. `waiting for AVAILABLE`.
        step: String,
        /// The remote state seen last.
        state: String,
        /// Seconds since the wait started.
        elapsed_secs: u64,
    },
    /// A step finished.
    ApplyComplete {
        /// The resource address.
        address: Address,
        /// The planned action of the address.
        action: Action,
        /// The step, as in `apply_start`.
        step: String,
        /// The remote id after the step (absent after a delete).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Seconds the step took.
        elapsed_secs: f64,
    },
    /// A step failed; its dependents are reported as `skipped`.
    ApplyErrored {
        /// The resource address.
        address: Address,
        /// The planned action of the address.
        action: Action,
        /// The step, as in `apply_start`.
        step: String,
        /// The error.
        message: String,
    },
    /// A step was not started because a step it depends on failed.
    Skipped {
        /// The resource address.
        address: Address,
        /// The address whose step failed.
        because: Address,
    },
    /// An interrupt was received: nothing new starts.
    Interrupted {
        /// Steps running, stopped at their next wait.
        running: usize,
    },
    /// The private-endpoint connection strings, after a complete apply.
    Outputs {
        /// One entry per deployment, as `privlink output --json` prints them.
        connections: Value,
    },
    /// The end of the run; always the last line when the run got as far as
    /// planning.
    Summary {
        /// `apply` or `destroy`.
        operation: String,
        /// Objects created.
        add: usize,
        /// Objects updated in place.
        change: usize,
        /// Objects deleted.
        destroy: usize,
        /// Steps that failed.
        failed: usize,
        /// Steps skipped because a dependency failed.
        skipped: usize,
        /// True when an interrupt stopped the run.
        interrupted: bool,
        /// Steps the interrupt stopped at a wait (the next run resumes
        /// them); omitted when none.
        #[serde(default, skip_serializing_if = "is_zero")]
        stopped: usize,
        /// True when every planned change was made.
        complete: bool,
        /// Seconds the run took.
        elapsed_secs: f64,
    },
}

/// For `skip_serializing_if`: a count of zero is left out.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Writes the executor's events as [`JsonEvent`] lines on standard output.
pub struct JsonReporter {
    started: Instant,
    actions: Mutex<HashMap<Address, Action>>,
    done: Mutex<Summary>,
    /// The closing event, kept until [`JsonReporter::finish`] so that it
    /// comes last (after the `outputs`).
    closing: Mutex<Option<JsonEvent>>,
    throttle: WaitThrottle,
}

impl Default for JsonReporter {
    fn default() -> Self {
        JsonReporter {
            started: Instant::now(),
            actions: Mutex::new(HashMap::new()),
            done: Mutex::new(Summary::default()),
            closing: Mutex::new(None),
            throttle: WaitThrottle::default(),
        }
    }
}

/// Seconds, rounded to milliseconds.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `apply` or `destroy`.
fn operation(destroy: bool) -> String {
    if destroy { "destroy" } else { "apply" }.to_owned()
}

impl JsonReporter {
    /// Writes one event as a line on standard output.
    pub fn emit(&self, event: &JsonEvent) {
        if let Ok(line) = serde_json::to_string(event) {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{line}");
            let _ = o.flush();
        }
    }

    /// Announces the plan about to be carried out (the `plan` event) and
    /// remembers each address's action for the events that follow.
    pub fn plan(&self, plan: &Plan) {
        let summary = plan.summary();
        let changes: Vec<PlannedChange> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| PlannedChange {
                address: c.address.clone(),
                kind: c.kind,
                action: c.action,
            })
            .collect();
        {
            let mut actions = self.actions.lock().unwrap_or_else(|p| p.into_inner());
            actions.extend(changes.iter().map(|c| (c.address.clone(), c.action)));
        }
        self.emit(&JsonEvent::Plan {
            operation: operation(plan.destroy),
            add: summary.add,
            change: summary.change,
            destroy: summary.destroy,
            changes,
            linked_endpoints_replaced: plan.linked_endpoints_replaced(),
        });
    }

    /// Emits the connection strings (the `outputs` event).
    pub fn connections(&self, conns: &[EndpointConnection]) {
        let connections = serde_json::to_value(conns).unwrap_or(Value::Null);
        self.emit(&JsonEvent::Outputs { connections });
    }

    /// Prepares the closing `summary` event from the executor's outcome and
    /// the steps that completed; [`JsonReporter::finish`] emits it.
    pub fn summary(&self, outcome: &ApplyOutcome, destroy: bool) {
        let done = *self.done.lock().unwrap_or_else(|p| p.into_inner());
        let mut closing = self.closing.lock().unwrap_or_else(|p| p.into_inner());
        *closing = Some(JsonEvent::Summary {
            operation: operation(destroy),
            add: done.add,
            change: done.change,
            destroy: done.destroy,
            failed: outcome.failed.len(),
            skipped: outcome.skipped.len(),
            interrupted: outcome.interrupted,
            stopped: outcome.stopped.len(),
            complete: outcome.is_success(),
            elapsed_secs: secs(self.started.elapsed()),
        });
    }

    /// Emits the `summary` event prepared by [`JsonReporter::summary`], if any.
    pub fn finish(&self) {
        let closing = self
            .closing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(event) = closing {
            self.emit(&event);
        }
    }

    /// The planned action of `address` (`no_op` if the plan did not name it).
    fn action(&self, address: &Address) -> Action {
        let actions = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        actions.get(address).copied().unwrap_or(Action::NoOp)
    }

    /// Counts a completed step: the delete half of a replacement is one
    /// destroy, its create half one add.
    fn count(&self, action: Action, step: &str) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        match action {
            Action::Create => done.add += 1,
            Action::Update => done.change += 1,
            Action::Delete => done.destroy += 1,
            Action::Replace if step.starts_with("destroying") => done.destroy += 1,
            Action::Replace => done.add += 1,
            Action::NoOp => {}
        }
    }
}

impl Progress for JsonReporter {
    fn waiting(&self, ev: &WaitEvent<'_>) {
        if self.throttle.due(ev) {
            self.emit(&JsonEvent::ApplyProgress {
                address: ev.address.to_owned(),
                step: ev.step.to_owned(),
                state: ev.state.to_owned(),
                elapsed_secs: ev.elapsed.as_secs(),
            });
        }
    }
}

impl Events for JsonReporter {
    fn started(&self, address: &Address, what: &str) {
        self.emit(&JsonEvent::ApplyStart {
            address: address.clone(),
            action: self.action(address),
            step: what.to_owned(),
        });
    }
    fn finished(&self, address: &Address, what: &str, id: Option<&str>, took: Duration) {
        let action = self.action(address);
        self.count(action, what);
        self.emit(&JsonEvent::ApplyComplete {
            address: address.clone(),
            action,
            step: what.to_owned(),
            id: id.map(str::to_owned),
            elapsed_secs: secs(took),
        });
    }
    fn failed(&self, address: &Address, what: &str, error: &str) {
        self.emit(&JsonEvent::ApplyErrored {
            address: address.clone(),
            action: self.action(address),
            step: what.to_owned(),
            message: error.to_owned(),
        });
    }
    fn skipped(&self, address: &Address, because: &Address) {
        self.emit(&JsonEvent::Skipped {
            address: address.clone(),
            because: because.clone(),
        });
    }
    fn interrupted(&self, running: usize) {
        self.emit(&JsonEvent::Interrupted { running });
    }
}

#[cfg(test)]
mod tests;
