//! What several commands share: reading the file, finding the state (beside
//! the file, moving one an older build kept in the working directory) and
//! opening it for the file's stack (another stack's state is refused unless
//! `--force-stack`), connecting to the clouds, reading them and checking what a plan
//! would create (the preflight), asking for confirmation, and running the
//! executor, which SIGINT and SIGTERM interrupt.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Instant;
use tokio::sync::Mutex;

use crate::apply::{self, ApplyOptions, Ledger};
use crate::config::{self, Config};
use crate::model::{Address, DesiredResource};
use crate::output::json::JsonReporter;
use crate::output::{Output, Reporter};
use crate::plan::{Action, Live, LiveView, Plan};
use crate::providers::atlas::AtlasClient;
use crate::providers::clouds::EndpointConnection;
use crate::providers::preflight::PreflightError;
use crate::providers::{Clouds, Provider};
use crate::s3_state::{S3Backend, S3Timeouts};
use crate::settings::Settings;
use crate::state::{LocalBackend, LockMode, StateBackend, StateError, StateFile, StateStore};
use crate::wait::WaitPolicy;

use super::{CommandError, Outcome, Signal};

/// Reads the desired-state file and expands it into resources. The file
/// as read while locating the state is not read again.
pub fn load_config(settings: &Settings) -> Result<(Config, Vec<DesiredResource>), CommandError> {
    let config = match &settings.file_read {
        Some(read) if read.0 == settings.file => read.1.clone(),
        _ => config::load(&settings.file)?,
    };
    let desired = crate::providers::expand(&config);
    Ok((config, desired))
}

/// Where the state is kept: the one place that picks the backend (S3 when
/// the settings name an S3 state, else the local file).
pub fn state_backend(settings: &Settings) -> Arc<dyn StateBackend> {
    match &settings.state_s3 {
        Some(address) => Arc::new(s3_backend(settings, address)),
        None => Arc::new(LocalBackend::new(settings.state_path.clone())),
    }
}

/// The S3 state at `address`, with the settings' network timeouts.
pub fn s3_backend(settings: &Settings, address: &crate::state::S3Address) -> S3Backend {
    let timeouts = S3Timeouts {
        connect: settings.connect_timeout,
        attempt: settings.request_timeout,
    };
    S3Backend::new(address.clone(), settings.state_region.clone(), timeouts)
}

/// Gives every resource the current name of its kind (a state written by
/// an older build may name kinds otherwise).
fn current_kinds(state: &mut StateFile) {
    let catalog = crate::providers::registry::catalog();
    for r in state.resources.values_mut() {
        r.kind = catalog.canonical(r.kind);
    }
}

/// Reads the state without taking the lock (`plan`, `show`); `None` when
/// there is none yet.
pub async fn read_state(settings: &Settings) -> Result<Option<StateFile>, CommandError> {
    let mut state = state_backend(settings).load().await?;
    state.iter_mut().for_each(current_kinds);
    Ok(state)
}

/// Reads the state (without the lock) for a run on `stack`, the file's
/// stack; a fresh empty state when there is none. A state of another stack
/// is refused, unless `--force-stack` says to use it as it is.
pub async fn read_state_for(
    settings: &Settings,
    stack: &str,
    out: &Output,
) -> Result<StateFile, CommandError> {
    match read_state(settings).await? {
        Some(state) => {
            check_stack(settings, stack, &state.stack, out)?;
            Ok(state)
        }
        None => Ok(StateFile::new(stack)),
    }
}

/// Opens the state at the settings' state path for `stack`, the file's
/// stack, holding its lock for `operation` until the store is dropped: the
/// one place a command gets a state store from. A missing file yields a
/// fresh empty state. A state of another stack is refused before the lock
/// is taken, unless `--force-stack` says to use it as it is.
pub async fn lock_state(
    settings: &Settings,
    stack: &str,
    operation: &'static str,
    out: &Output,
) -> Result<(StateStore, StateFile), CommandError> {
    let recorded = match state_backend(settings).load().await? {
        Some(state) => {
            check_stack(settings, stack, &state.stack, out)?;
            state.stack
        }
        None => stack.to_owned(),
    };
    let lock = LockMode::Exclusive { operation };
    let (store, mut state) = StateStore::open(state_backend(settings), &recorded, lock).await?;
    current_kinds(&mut state);
    Ok((store, state))
}

/// Refuses a state that records `recorded` for a run on `stack`, unless
/// `--force-stack` was given (then only warns).
fn check_stack(
    settings: &Settings,
    stack: &str,
    recorded: &str,
    out: &Output,
) -> Result<(), CommandError> {
    if recorded == stack {
        return Ok(());
    }
    let location = settings.state_location();
    if settings.force_stack {
        out.stack_forced(&location, recorded, stack);
        return Ok(());
    }
    Err(CommandError::StackMismatch {
        location,
        file: settings.file.clone(),
        expected: stack.to_owned(),
        found: recorded.to_owned(),
    })
}

/// The settings with the state where it is for this run. An S3 state
/// named by `--state-s3` or `PRIVLINK_STATE`, or else (without `--state`)
/// by the file's `state:` block, is used; with `guide`, a local state left
/// beside the file while the S3 state is still empty stops the command,
/// pointing to `privlink state migrate`. Otherwise see [`locate_local`].
pub async fn locate_state(
    settings: &Settings,
    out: &Output,
    guide: bool,
) -> Result<Settings, CommandError> {
    let mut located = settings.clone();
    // A file that does not load is left for the command to report.
    let read = match settings.file.is_file() {
        true => config::load(&settings.file).ok(),
        false => None,
    };
    located.file_read = read.map(|c| Arc::new((settings.file.clone(), c)));
    let file_read = located.file_read.clone();
    let config = file_read.as_deref().map(|(_, c)| c);
    if let Some(c) = config {
        located.state_region = c.aws.as_ref().map(|a| a.region.clone());
        if located.state_s3.is_none() && !settings.state_given {
            located.state_s3 = c.state.clone();
        }
    }
    if located.state_s3.is_none() {
        return locate_local(located, config, out).await;
    }
    located.legacy_state_path = None;
    if guide && located.state_path.is_file() && state_backend(&located).load().await?.is_none() {
        return Err(CommandError::MigrateFirst {
            local: located.state_path.clone(),
            remote: located.state_location().to_string(),
        });
    }
    Ok(located)
}

/// The settings with the local state where it is for this run: moves the
/// state an older build kept for the file in the working directory (see
/// [`Settings::legacy_state_path`]) to the file's own default location,
/// when that holds none yet: a state of the file's stack only, under that
/// state's lock, with its backup, and saying so. While a live run holds
/// that older state, it is used where it is, this once. When both exist,
/// the one beside the file is used and the other is named.
async fn locate_local(
    mut located: Settings,
    config: Option<&Config>,
    out: &Output,
) -> Result<Settings, CommandError> {
    let Some(old) = located.legacy_state_path.clone() else {
        return Ok(located);
    };
    let new = located.state_path.clone();
    if !old.is_file() {
        return Ok(located);
    }
    let Some(config) = config else {
        return Ok(located);
    };
    let backend = LocalBackend::new(old.clone());
    match backend.load().await {
        Ok(Some(state)) if state.stack == config.stack => {}
        _ => return Ok(located),
    }
    if new.exists() {
        out.legacy_state_ignored(&old, &new);
        return Ok(located);
    }
    match backend.lock("move state").await {
        Ok(_) => {}
        Err(StateError::Locked { .. }) => {
            out.legacy_state_in_use(&old, &new);
            located.state_path = old.clone();
            return Ok(located);
        }
        Err(e) => return Err(e.into()),
    }
    let moved = move_state_files(&old, &new);
    backend.unlock().await?;
    moved?;
    // The folder an older build made, when nothing else is left in it.
    if let Some(dir) = old.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::remove_dir(dir);
    }
    out.state_moved(&located.file, &old, &new);
    Ok(located)
}

/// Moves the state file `from` (and its backup, if any) to `to`.
fn move_state_files(from: &Path, to: &Path) -> Result<(), CommandError> {
    let backup = |p: &Path| {
        let mut name = p.as_os_str().to_owned();
        name.push(".backup");
        PathBuf::from(name)
    };
    let error = |source| CommandError::MoveState {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    };
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(error)?;
    }
    if backup(from).is_file() {
        move_file(&backup(from), &backup(to)).map_err(error)?;
    }
    move_file(from, to).map_err(error)
}

/// Renames `from` to `to`, copying across file systems.
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            std::fs::copy(from, to)?;
            std::fs::File::open(to)?.sync_all()?;
            std::fs::remove_file(from)
        }
        other => other,
    }
}

/// The clouds, with waits bounded by the settings' wait timeout.
pub fn clouds(settings: &Settings) -> Result<Arc<Clouds>, CommandError> {
    let atlas = AtlasClient::new(
        &settings.atlas.base_url,
        settings.atlas.credentials()?,
        settings.atlas.client,
    )?;
    let policy = WaitPolicy {
        timeout: settings.wait_timeout,
        ..WaitPolicy::default()
    };
    Ok(Arc::new(Clouds::new(atlas, policy)))
}

/// Reads what Atlas and AWS hold of `state` and `desired`. When the read
/// fails because the file names something that does not exist (a project),
/// the error lists what the preflight finds missing instead.
pub async fn refresh(
    clouds: &Clouds,
    config: &Config,
    state: &StateFile,
    desired: &[DesiredResource],
) -> Result<LiveView, CommandError> {
    let err = match clouds.refresh(state, desired).await {
        Ok(live) => return Ok(live),
        Err(e) => e,
    };
    match clouds.preflight_desired(config, desired, |_| true).await {
        Ok(problems) if !problems.is_empty() => Err(PreflightError { problems }.into()),
        _ => Err(err.into()),
    }
}

/// Stops a plan that would create or change what needs something missing
/// (see [`crate::providers::preflight`]), before any create call. Only what
/// the plan creates or changes is checked.
pub async fn preflight(
    clouds: &Clouds,
    plan: &Plan,
    config: &Config,
    desired: &[DesiredResource],
) -> Result<(), CommandError> {
    if plan.destroy {
        return Ok(());
    }
    let problems = clouds.preflight_plan(plan, config, desired).await?;
    match problems.is_empty() {
        true => Ok(()),
        false => Err(PreflightError { problems }.into()),
    }
}

/// Says in the reasons of the plan's deletions of objects already gone
/// when they went with what contained them (a project, a serverless
/// instance): they are only removed from the state. Reads nothing when
/// nothing is gone; a failed read only leaves the reasons as they are.
pub async fn explain_gone(clouds: &Clouds, state: &StateFile, live: &LiveView, plan: &mut Plan) {
    let gone: Vec<Address> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .filter(|c| matches!(live.resources.get(&c.address), Some(Live::Gone)))
        .map(|c| c.address.clone())
        .collect();
    if gone.is_empty() {
        return;
    }
    let orphans = clouds
        .orphans(state, |a| gone.contains(a))
        .await
        .unwrap_or_default();
    for c in &mut plan.changes {
        if let Some(why) = orphans.get(&c.address) {
            c.reasons = vec![format!("{why}: treated as gone, only removed from state")];
        }
    }
}

/// Asks the user to confirm `verb` unless `--auto-approve` was given.
pub fn confirm(
    settings: &Settings,
    verb: &'static str,
    out: &Output,
) -> Result<bool, CommandError> {
    if settings.auto_approve {
        return Ok(true);
    }
    if !has_terminal() {
        return Err(CommandError::NoTerminal { verb });
    }
    out.confirm_prompt(verb);
    ask_yes(verb, out)
}

/// Whether there is somebody to ask: standard input is a terminal.
pub fn has_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Reads the answer to a prompt already printed: true for `yes`; anything
/// else says `verb` was cancelled.
pub fn ask_yes(verb: &str, out: &Output) -> Result<bool, CommandError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CommandError::Prompt)?;
    if line.trim() == "yes" {
        Ok(true)
    } else {
        out.cancelled(verb);
        Ok(false)
    }
}

/// `path` made absolute against the working directory (unchanged when it
/// cannot be), so that it still names the same file from elsewhere.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// How apply and destroy report: text for people (plan on standard output,
/// progress on standard error), or JSON lines on standard output.
pub enum Ui {
    /// Text for people.
    Text,
    /// One JSON object per line (`--json`).
    Json(Arc<JsonReporter>),
}

impl Ui {
    /// The reporting `json` asks for. JSON output cannot be answered at a
    /// prompt: unless a reviewed plan is applied (`saved`), it needs
    /// `--auto-approve`, and is refused before any API call otherwise.
    pub fn for_run(
        settings: &Settings,
        json: bool,
        verb: &'static str,
        saved: bool,
    ) -> Result<Ui, CommandError> {
        match (json, settings.auto_approve || saved) {
            (false, _) => Ok(Ui::Text),
            (true, true) => Ok(Ui::Json(Arc::new(JsonReporter::default()))),
            (true, false) => Err(CommandError::JsonNeedsAutoApprove { verb }),
        }
    }

    /// Shows the plan about to be carried out (as text, or as the `plan` event).
    pub fn plan(&self, out: &Output, plan: &Plan) {
        match self {
            Ui::Text => out.plan(plan),
            Ui::Json(r) => r.plan(plan),
        }
    }

    /// Ends a run that had nothing to do (JSON only: the text plan said so).
    pub fn nothing_to_do(&self, plan: &Plan) {
        if let Ui::Json(r) = self {
            r.summary(&apply::ApplyOutcome::default(), plan.destroy);
        }
    }

    /// Ends the run's report: the JSON `summary` event comes last.
    pub fn finish(&self) {
        if let Ui::Json(r) = self {
            r.finish();
        }
    }

    /// Shows the connection strings after a complete apply.
    pub fn connections(&self, out: &Output, conns: &[EndpointConnection]) {
        match self {
            Ui::Text => out.connections(conns),
            Ui::Json(r) => r.connections(conns),
        }
    }

    /// The executor's event sink.
    fn events(&self) -> Arc<dyn apply::Events> {
        match self {
            Ui::Text => Arc::new(Reporter::default()),
            Ui::Json(r) => r.clone(),
        }
    }
}

/// Runs the executor on `plan` and reports its summary through `ui`. The
/// first SIGINT or SIGTERM stops it (its waits stopped, the state recorded,
/// the lock released: [`Outcome::Interrupted`]); a second one ends the
/// process at once.
pub async fn execute(
    plan: Plan,
    clouds: &Arc<Clouds>,
    store: StateStore,
    state: StateFile,
    settings: &Settings,
    out: &Output,
    ui: &Ui,
) -> Result<Outcome, CommandError> {
    let started = Instant::now();
    let summary = plan.summary();
    let destroy = plan.destroy;
    let ledger = Arc::new(Mutex::new(Ledger::new(store, state)));
    let mut signal = listen_for_signals(*out);
    let interrupt = {
        let mut signal = signal.clone();
        async move {
            // A listener that could not start never interrupts.
            if signal.wait_for(Option::is_some).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let outcome = apply::apply_until(
        Arc::new(plan),
        clouds.clone(),
        ledger.clone(),
        ApplyOptions {
            parallelism: settings.parallelism,
        },
        ui.events(),
        interrupt,
    )
    .await?;
    apply::release(ledger).await?;
    match ui {
        Ui::Text => out.apply_summary(&outcome, summary, destroy, started.elapsed()),
        Ui::Json(r) => r.summary(&outcome, destroy),
    }
    let received = *signal.borrow_and_update();
    Ok(match received {
        Some(signal) if outcome.interrupted => Outcome::Interrupted(signal),
        _ if outcome.is_success() => Outcome::Done,
        _ => Outcome::Incomplete,
    })
}

/// Listens for SIGINT (Ctrl-C) and SIGTERM from now on: the first is
/// reported through the returned channel (the executor then stops, see
/// [`apply::apply_until`]); a second one, or a first one once nobody
/// listens any more, ends the process at once with the signal's exit code.
fn listen_for_signals(out: Output) -> tokio::sync::watch::Receiver<Option<Signal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = tokio::sync::watch::channel(None);
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // No handler: the signals keep their default effect.
        return rx;
    };
    tokio::spawn(async move {
        let mut next = async || {
            tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            }
        };
        let first = next().await;
        if tx.send(Some(first)).is_err() {
            std::process::exit(first.exit_code());
        }
        let second = next().await;
        out.interrupted_again();
        std::process::exit(second.exit_code());
    });
    rx
}

#[cfg(test)]
mod tests;
