//! What several commands share: reading the file, opening the state,
//! connecting to the clouds, asking for confirmation and running the
//! executor.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Instant;
use tokio::sync::Mutex;

use crate::apply::{self, ApplyOptions, Ledger};
use crate::config::{self, Config};
use crate::model::DesiredResource;
use crate::output::{Output, Reporter};
use crate::plan::Plan;
use crate::providers::Clouds;
use crate::providers::atlas::AtlasClient;
use crate::settings::Settings;
use crate::state::{LocalBackend, LockMode, StateBackend, StateFile, StateStore};
use crate::wait::WaitPolicy;

use super::{CommandError, Outcome};

/// Reads the desired-state file and expands it into resources.
pub fn load_config(settings: &Settings) -> Result<(Config, Vec<DesiredResource>), CommandError> {
    let config = config::load(&settings.file)?;
    let desired = crate::providers::expand(&config);
    Ok((config, desired))
}

/// Where the state is kept: the one place that picks the backend.
pub fn state_backend(settings: &Settings) -> Arc<dyn StateBackend> {
    Arc::new(LocalBackend::new(settings.state_path.clone()))
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

/// Opens the state at the settings' state path for `stack`, holding its lock
/// for `operation` until the store is dropped: the one place a command gets
/// a state store from. A missing file yields a fresh empty state.
pub async fn lock_state(
    settings: &Settings,
    stack: &str,
    operation: &'static str,
) -> Result<(StateStore, StateFile), CommandError> {
    let lock = LockMode::Exclusive { operation };
    let (store, mut state) = StateStore::open(state_backend(settings), stack, lock).await?;
    current_kinds(&mut state);
    Ok((store, state))
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

/// Runs the executor on `plan` and prints its summary.
pub async fn execute(
    plan: Plan,
    clouds: &Arc<Clouds>,
    store: StateStore,
    state: StateFile,
    settings: &Settings,
    out: &Output,
) -> Result<Outcome, CommandError> {
    let started = Instant::now();
    let summary = plan.summary();
    let destroy = plan.destroy;
    let ledger = Arc::new(Mutex::new(Ledger::new(store, state)));
    let outcome = apply::apply(
        Arc::new(plan),
        clouds.clone(),
        ledger.clone(),
        ApplyOptions {
            parallelism: settings.parallelism,
        },
        Arc::new(Reporter::default()),
    )
    .await?;
    apply::release(ledger).await?;
    out.apply_summary(&outcome, summary, destroy, started.elapsed());
    Ok(if outcome.is_success() {
        Outcome::Done
    } else {
        Outcome::Incomplete
    })
}
