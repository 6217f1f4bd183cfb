//! Everything privlink prints goes through this module: plans, apply
//! progress, results, errors and connection strings.
//!
//! Progress lines go to standard error (so `plan --json` and `output` stay
//! clean on standard output) with the elapsed time of the whole run; while an
//! asynchronous wait goes on, a line is printed when the remote state changes
//! and at least every 10 seconds otherwise. [`json`] writes the same
//! progress as JSON lines on standard output (`apply --json`).

pub mod json;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::apply::{ApplyOutcome, Events};
use crate::model::Address;
use crate::plan::render::{Style, render_plan, render_refresh};
use crate::plan::{Plan, RefreshPlan, Summary};
use crate::providers::clouds::EndpointConnection;
use crate::state::{Location, StateFile};
use crate::wait::{Progress, WaitEvent};

/// How often an unchanged wait reports that it is still waiting.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Output settings resolved from the command line and environment.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// How plans are rendered (colour or not).
    pub style: Style,
}

impl Output {
    /// Colour exactly when `color` says so (see
    /// [`Settings::color`](crate::settings::Settings::color)).
    pub fn with_color(color: bool) -> Self {
        Output {
            style: Style { color },
        }
    }

    /// Prints to standard output.
    pub fn out(&self, text: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(text.as_bytes());
        let _ = o.flush();
    }

    /// Prints a line to standard error.
    pub fn note(&self, text: &str) {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{text}");
    }

    /// Prints an error with its causes and an optional hint.
    pub fn error(&self, message: &str, causes: &[String], hint: Option<&str>) {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "error: {message}");
        for c in causes {
            let _ = writeln!(e, "  caused by: {c}");
        }
        if let Some(h) = hint {
            let _ = writeln!(e, "hint: {h}");
        }
    }

    /// Prints an error with the chain of its causes.
    pub fn failure(&self, error: &dyn std::error::Error) {
        let causes: Vec<String> = std::iter::successors(error.source(), |e| e.source())
            .map(|c| c.to_string())
            .collect();
        self.error(&error.to_string(), &causes, None);
    }

    /// Prints `value` as pretty JSON on standard output.
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<(), serde_json::Error> {
        self.out(&format!("{}\n", serde_json::to_string_pretty(value)?));
        Ok(())
    }

    /// Prints the result of a successful `validate`.
    pub fn validated(&self, file: &Path, stack: &str, endpoints: usize, resources: usize) {
        self.out(&format!(
            "{} is valid: stack \"{stack}\", {endpoints} endpoint(s), {resources} resource(s).\n",
            file.display()
        ));
    }

    /// Says where a plan was saved and how to apply it.
    pub fn plan_saved(&self, path: &Path) {
        self.note(&format!(
            "Saved the plan to {}; apply exactly this plan with: privlink apply {}",
            path.display(),
            path.display()
        ));
    }

    /// Asks to confirm `verb` ("apply" or "destroy").
    pub fn confirm_prompt(&self, verb: &str) {
        self.out(&format!(
            "\nDo you want to {verb} these changes? Only 'yes' will be accepted.\n  Enter a value: "
        ));
    }

    /// Says that `verb` was not confirmed.
    pub fn cancelled(&self, verb: &str) {
        self.out(&format!("{verb} cancelled: nothing was changed.\n"));
    }

    /// Says that there is no state file at `path`.
    pub fn no_state(&self, path: &Location) {
        self.out(&format!("No state at {path}.\n"));
    }

    /// Prints a state file as a table.
    pub fn state(&self, path: &Location, state: &StateFile) {
        let mut text = format!(
            "state {path} (stack \"{}\", serial {}, lineage {})\n",
            state.stack, state.serial, state.lineage
        );
        for (a, r) in &state.resources {
            text.push_str(&format!(
                "  {a}  {}  {}  {:?}\n",
                r.kind,
                r.id.as_deref().unwrap_or("-"),
                r.status
            ));
        }
        self.out(&text);
    }

    /// Says that `id` was imported as `address`.
    pub fn imported(&self, id: &str, address: &Address) {
        self.out(&format!(
            "Imported {id} as {address}. Run privlink plan to see what differs from the file.\n"
        ));
    }

    /// Says that lock `lock_id` is held by a live run, `holder` (operation,
    /// pid, host, since when).
    pub fn live_lock(&self, lock_id: &str, holder: &str) {
        self.out(&format!(
            "Lock {lock_id} is held by a live run: {holder}.\n\
             Removing it lets another run write the state while that one still works.\n"
        ));
    }

    /// Asks to confirm removing the lock of a live run.
    pub fn force_unlock_prompt(&self) {
        self.out(
            "\nDo you really want to force-unlock? Only 'yes' will be accepted.\n  Enter a value: ",
        );
    }

    /// Says that there is no state for `stack` at `location` yet.
    pub fn nothing_applied(&self, stack: &str, location: &Location) {
        self.out(&format!(
            "No state for stack \"{stack}\" at {location}: nothing applied yet\n"
        ));
    }

    /// Warns that `--force-stack` makes a run on `stack` use the state at
    /// `location`, which records `recorded`.
    pub fn stack_forced(&self, location: &Location, recorded: &str, stack: &str) {
        self.note(&format!(
            "Warning: state file {location} belongs to stack \"{recorded}\", not \"{stack}\"; \
             --force-stack: using it as it is (stack \"{recorded}\")"
        ));
    }

    /// Says that the state of `file` was moved from `from`, where older
    /// builds kept it (in the working directory), to `to`, beside the file.
    pub fn state_moved(&self, file: &Path, from: &Path, to: &Path) {
        self.note(&format!(
            "Note: moved the state of {} from {} (where older privlink kept it, in the \
             working directory) to {} (beside the file, found from any directory)",
            file.display(),
            from.display(),
            to.display()
        ));
    }

    /// Warns that a state of the file's stack at `old`, where older builds
    /// kept it, is not used, since the file's own state at `new` exists.
    pub fn legacy_state_ignored(&self, old: &Path, new: &Path) {
        self.note(&format!(
            "Warning: {} (where older privlink kept this file's state) is not used: the \
             state beside the file, {}, is; remove the other one once it is no longer needed",
            old.display(),
            new.display()
        ));
    }

    /// Says that the state at `old`, where older builds kept it, is used
    /// where it is this once, since a live run holds its lock; it is moved
    /// to `new` by a later run.
    pub fn legacy_state_in_use(&self, old: &Path, new: &Path) {
        self.note(&format!(
            "Note: {} (where older privlink kept this file's state) is locked by a running \
             privlink: using it where it is this time; a later run moves it to {}",
            old.display(),
            new.display()
        ));
    }

    /// Says that lock `lock_id` was removed from the state at `path`.
    pub fn unlocked(&self, lock_id: &str, path: &Location) {
        self.out(&format!("Removed lock {lock_id} from {path}.\n"));
    }

    /// Prints the private-endpoint connection strings, grouped by the
    /// file's endpoints (nothing when there are none).
    pub fn connections(&self, rows: &[EndpointConnection]) {
        self.out(&render_connections(rows));
    }

    /// Prints a plan.
    pub fn plan(&self, plan: &Plan) {
        self.out(&render_plan(plan, self.style));
    }

    /// Prints a refresh-only plan.
    pub fn refresh_plan(&self, plan: &RefreshPlan) {
        self.out(&render_refresh(plan, self.style));
    }

    /// Says what `apply -refresh-only` recorded in the state.
    pub fn refresh_recorded(&self, changed: usize, gone: usize, serial: u64) {
        self.out(&format!(
            "\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.\n\
             The state now records what Atlas and AWS hold: {changed} object(s) updated, \
             {gone} forgotten (serial {serial}).\n"
        ));
    }

    /// Warns, before a plan, that `-target` is in effect.
    pub fn targeting_warning(&self) {
        self.note(
            "Warning: Resource targeting is in effect\n\n\
             You are creating a plan with the -target option, which means that the result \
             of this plan may not represent all of the changes requested by the current \
             configuration.\n\n\
             The -target option is not for routine use, and is provided only for exceptional \
             situations such as recovering from errors or mistakes, or when privlink \
             specifically suggests to use it as part of an error message.\n",
        );
    }

    /// Warns, after a targeted apply or destroy, that other changes may be
    /// pending.
    pub fn targeted_apply_warning(&self) {
        self.note(
            "\nWarning: Applied changes may be incomplete\n\n\
             The plan was created with the -target option in effect, so some changes \
             requested in the configuration may have been ignored. Run the following \
             command to verify that no other changes are pending:\n    privlink plan\n",
        );
    }

    /// Prints the closing line of an apply or destroy.
    pub fn apply_summary(
        &self,
        outcome: &ApplyOutcome,
        planned: Summary,
        destroy: bool,
        took: Duration,
    ) {
        let verb = if destroy { "Destroy" } else { "Apply" };
        let mut text = String::new();
        if outcome.is_success() {
            text.push_str(&format!(
                "\n{verb} complete! Resources: {} added, {} changed, {} destroyed. ({:.1}s)\n",
                planned.add,
                planned.change,
                planned.destroy,
                took.as_secs_f64()
            ));
        } else {
            text.push_str(&format!(
                "\n{verb} did not finish ({:.1}s):\n",
                took.as_secs_f64()
            ));
            for (a, e) in &outcome.failed {
                text.push_str(&format!("  failed:  {a}: {e}\n"));
            }
            for a in &outcome.skipped {
                text.push_str(&format!("  skipped: {a} (a dependency failed)\n"));
            }
            if outcome.interrupted {
                text.push_str(
                    "  interrupted: no new step was started; state holds what was done.\n",
                );
            }
            for a in &outcome.stopped {
                text.push_str(&format!("  stopped: {a} (the next run resumes it)\n"));
            }
            text.push_str(
                "The state file records what exists; run the command again to carry on.\n",
            );
            if outcome.interrupted {
                text.push_str(&interrupted_line(outcome.stopped.len(), destroy));
            }
        }
        self.out(&text);
    }

    /// Says that a second interrupt ends the run at once.
    pub fn interrupted_again(&self) {
        self.note(
            "Interrupted again: exiting at once; the state written so far stays valid \
             (every write is atomic).",
        );
    }
}

/// The closing line of an interrupted apply or destroy: what the next run
/// resumes.
fn interrupted_line(stopped: usize, destroy: bool) -> String {
    let next = if destroy { "destroy" } else { "apply" };
    match stopped {
        0 => format!("Interrupted: no step was running; the next `privlink {next}` carries on.\n"),
        1 => format!("Interrupted: 1 wait stopped; the next `privlink {next}` resumes it.\n"),
        n => format!("Interrupted: {n} waits stopped; the next `privlink {next}` resumes them.\n"),
    }
}

/// Why an endpoint shows no connection string for a deployment.
const NOT_YET: &str = "not available yet (Atlas adds them once an endpoint is AVAILABLE and the deployment is configured; run privlink output later)";

fn render_connections(rows: &[EndpointConnection]) -> String {
    let mut text = String::new();
    if rows.is_empty() {
        return text;
    }
    text.push_str("\nPrivate-endpoint connection strings:\n");
    let mut current: Option<&str> = None;
    for r in rows {
        if current != Some(r.endpoint.as_str()) {
            current = Some(r.endpoint.as_str());
            let vpce = r
                .vpc_endpoint_id
                .as_deref()
                .unwrap_or("no VPC endpoint yet");
            text.push_str(&format!("  {} ({vpce}):\n", r.endpoint));
        }
        let Some(deployment) = &r.deployment else {
            text.push_str("    no cluster in the project yet\n");
            continue;
        };
        match (&r.deployment_state, r.connection_strings.is_empty()) {
            (Some(state), true) => text.push_str(&format!(
                "    {deployment}: not ready yet (Atlas reports it {state}; the connection strings through this endpoint appear once it is IDLE: run privlink output then)\n"
            )),
            (None, true) => text.push_str(&format!("    {deployment}: {NOT_YET}\n")),
            _ => {}
        }
        for s in &r.connection_strings {
            text.push_str(&format!("    {deployment}: {s}\n"));
        }
    }
    text
}

/// Decides which wait reports are worth printing: a change of remote state,
/// or [`HEARTBEAT`] since the last line about the same wait.
#[derive(Default)]
pub struct WaitThrottle {
    waits: Mutex<HashMap<String, (String, Instant)>>,
}

impl WaitThrottle {
    /// True when `ev` should be reported (and remembered as reported).
    pub fn due(&self, ev: &WaitEvent<'_>) -> bool {
        let mut waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        let key = format!("{}/{}", ev.address, ev.step);
        let now = Instant::now();
        let due = match waits.get(&key) {
            Some((state, at)) => state != ev.state || now.duration_since(*at) >= HEARTBEAT,
            None => true,
        };
        if due {
            waits.insert(key, (ev.state.to_owned(), now));
        }
        due
    }
}

/// Prints apply progress; implements the executor's and the waits' sinks.
pub struct Reporter {
    started: Instant,
    throttle: WaitThrottle,
}

impl Default for Reporter {
    fn default() -> Self {
        Reporter {
            started: Instant::now(),
            throttle: WaitThrottle::default(),
        }
    }
}

impl Reporter {
    fn line(&self, text: &str) {
        let t = self.started.elapsed().as_secs_f64();
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "[{t:>6.1}s] {text}");
    }
}

impl Progress for Reporter {
    fn waiting(&self, ev: &WaitEvent<'_>) {
        if self.throttle.due(ev) {
            self.line(&format!(
                "{}: {} (state {}, {}s so far)",
                ev.address,
                ev.step,
                ev.state,
                ev.elapsed.as_secs()
            ));
        }
    }
}

impl Events for Reporter {
    fn started(&self, address: &Address, what: &str) {
        self.line(&format!("{address}: {what}..."));
    }
    fn finished(&self, address: &Address, what: &str, id: Option<&str>, took: Duration) {
        let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
        self.line(&format!(
            "{address}: {what} done after {:.1}s{id}",
            took.as_secs_f64()
        ));
    }
    fn failed(&self, address: &Address, what: &str, error: &str) {
        self.line(&format!("{address}: {what} FAILED: {error}"));
    }
    fn skipped(&self, address: &Address, because: &Address) {
        self.line(&format!("{address}: skipped because {because} failed"));
    }
    fn interrupted(&self, running: usize) {
        self.line(&format!(
            "interrupt received: starting nothing new, stopping {running} running step(s) at their next wait (interrupt again to exit at once)"
        ));
    }
}
