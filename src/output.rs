//! Everything privlink prints goes through this module: plans, apply
//! progress, results, errors and connection strings.
//!
//! Progress lines go to standard error (so `plan --json` and `output` stay
//! clean on standard output) with the elapsed time of the whole run; while an
//! asynchronous wait goes on, a line is printed when the remote state changes
//! and at least every 10 seconds otherwise.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::apply::{ApplyOutcome, Events};
use crate::model::Address;
use crate::plan::render::{Style, render_plan, render_refresh};
use crate::plan::{Plan, RefreshPlan, Summary};
use crate::providers::clouds::Connection;
use crate::state::StateFile;
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
    pub fn no_state(&self, path: &Path) {
        self.out(&format!("No state at {}.\n", path.display()));
    }

    /// Prints a state file as a table.
    pub fn state(&self, path: &Path, state: &StateFile) {
        let mut text = format!(
            "state {} (stack \"{}\", serial {}, lineage {})\n",
            path.display(),
            state.stack,
            state.serial,
            state.lineage
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

    /// Says that lock `lock_id` was removed from the state at `path`.
    pub fn unlocked(&self, lock_id: &str, path: &Path) {
        self.out(&format!(
            "Removed lock {lock_id} from {}.\n",
            path.display()
        ));
    }

    /// Prints the private-endpoint connection strings (nothing when there
    /// are no deployments).
    pub fn connections(&self, conns: &[Connection]) {
        self.out(&render_connections(conns));
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
            text.push_str(
                "The state file records what exists; run the command again to carry on.\n",
            );
        }
        self.out(&text);
    }
}

fn render_connections(conns: &[Connection]) -> String {
    let mut text = String::new();
    if conns.is_empty() {
        return text;
    }
    text.push_str("\nPrivate-endpoint connection strings:\n");
    for c in conns {
        if c.connection_strings.is_empty() {
            text.push_str(&format!(
                "  {}: not available yet (Atlas adds them once an endpoint is AVAILABLE and the deployment is configured; run privlink output later)\n",
                c.deployment
            ));
        }
        for s in &c.connection_strings {
            text.push_str(&format!("  {}: {s}\n", c.deployment));
        }
    }
    text
}

/// Prints apply progress; implements the executor's and the waits' sinks.
pub struct Reporter {
    started: Instant,
    waits: Mutex<HashMap<String, (String, Instant)>>,
}

impl Default for Reporter {
    fn default() -> Self {
        Reporter {
            started: Instant::now(),
            waits: Mutex::new(HashMap::new()),
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
        let mut waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        let key = format!("{}/{}", ev.address, ev.step);
        let now = Instant::now();
        let print = match waits.get(&key) {
            Some((state, at)) => state != ev.state || now.duration_since(*at) >= HEARTBEAT,
            None => true,
        };
        if print {
            waits.insert(key, (ev.state.to_owned(), now));
            drop(waits);
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
            "interrupt received: starting nothing new, waiting for {running} running step(s) to reach a safe point"
        ));
    }
}
