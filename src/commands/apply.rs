//! `privlink apply` and `privlink destroy`: converge Atlas and AWS to the file
//! (or carry out a saved plan), or delete everything in state; either limited
//! to `-target` addresses, and `apply -refresh-only`, which only records in
//! the state what changed outside privlink. An apply checks what its plan
//! would create before asking (the preflight); a destroy says which objects
//! went with a missing project or serverless instance and only forgets them.

use std::path::{Path, PathBuf};

use crate::apply::check_fresh;
use crate::config::Config;
use crate::output::Output;
use crate::plan::{self, Plan};
use crate::providers::{Clouds, Provider};
use crate::settings::Settings;
use crate::state::StateFile;

use super::common::{
    Ui, clouds, confirm, execute, explain_gone, load_config, lock_state, preflight, read_state,
    refresh,
};
use super::output::connections;
use super::plan::{load_saved, targeted};
use super::{CommandError, Outcome};

/// The arguments of `apply` beyond the settings.
#[derive(Debug, Clone, Default)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`, to carry out exactly.
    pub plan_file: Option<PathBuf>,
    /// Report as JSON lines on standard output (needs `--auto-approve`
    /// unless `plan_file` is given).
    pub json: bool,
}

/// Applies a saved plan when one is given, or plans against the file, asks
/// for confirmation and applies; prints the connection strings after a
/// complete apply.
pub async fn apply(
    settings: &Settings,
    out: &Output,
    args: ApplyArgs,
) -> Result<Outcome, CommandError> {
    let ui = Ui::for_run(settings, args.json, "apply", args.plan_file.is_some())?;
    if let Some(plan_file) = &args.plan_file {
        return apply_saved(settings, out, plan_file, &ui).await;
    }
    if settings.refresh_only {
        return apply_refresh_only(settings, out).await;
    }
    let (config, desired) = load_config(settings)?;
    let (store, state) = lock_state(settings, &config.stack, "apply", out).await?;
    let clouds = clouds(settings)?;
    clouds.prepare(&desired);
    let live = refresh(&clouds, &config, &state, &desired).await?;
    let mut plan = plan::diff(&desired, &state, &live, clouds.catalog())?;
    explain_gone(&clouds, &state, &live, &mut plan).await;
    let plan = targeted(settings, out, plan)?;
    preflight(&clouds, &plan, &config, &desired).await?;
    ui.plan(out, &plan);
    if plan.is_empty() {
        ui.nothing_to_do(&plan);
        ui.finish();
        return Ok(Outcome::Done);
    }
    if !confirm(settings, "apply", out)? {
        return Ok(Outcome::Declined);
    }
    let outcome = execute(plan, &clouds, store, state, settings, out, &ui).await?;
    if !settings.targets.is_empty() {
        out.targeted_apply_warning();
    }
    if outcome == Outcome::Done {
        print_connections(settings, out, &ui, &clouds, &config).await;
    }
    ui.finish();
    Ok(outcome)
}

/// Prints the connection strings by endpoint after a complete apply; a
/// failure to read them is only a note.
async fn print_connections(
    settings: &Settings,
    out: &Output,
    ui: &Ui,
    clouds: &Clouds,
    config: &Config,
) {
    let state = match read_state(settings).await {
        Ok(state) => state.unwrap_or_else(|| StateFile::new(config.stack.clone())),
        Err(e) => return out.note(&format!("could not read connection strings: {e}")),
    };
    match connections(clouds, config, &state).await {
        Ok(rows) => ui.connections(out, &rows),
        Err(e) => out.note(&format!("could not read connection strings: {e}")),
    }
}

/// Carries out a saved plan: it was reviewed already, so it needs no
/// confirmation, but the state must not have moved since it was made.
async fn apply_saved(
    settings: &Settings,
    out: &Output,
    plan_file: &Path,
    ui: &Ui,
) -> Result<Outcome, CommandError> {
    let plan = read_plan(plan_file)?;
    let settings = &recorded_settings(settings, &plan);
    let (store, state) = lock_state(settings, &plan.stack, "apply", out).await?;
    check_fresh(&plan, &state)?;
    let clouds = clouds(settings)?;
    let destroy = plan.destroy;
    if let Ui::Json(r) = ui {
        r.plan(&plan);
    }
    let outcome = execute(plan, &clouds, store, state, settings, out, ui).await?;
    if outcome == Outcome::Done
        && !destroy
        && let Ok((config, _)) = load_config(settings)
    {
        print_connections(settings, out, ui, &clouds, &config).await;
    }
    ui.finish();
    Ok(outcome)
}

/// Reads the saved plan at `path`, refusing a configuration file given in
/// its place (by its extension, or because it reads as one) with a hint.
fn read_plan(path: &Path) -> Result<Plan, CommandError> {
    let config_as_plan = || CommandError::ConfigAsPlan {
        path: path.to_owned(),
    };
    let ext = path.extension().and_then(|e| e.to_str());
    if matches!(ext, Some("yaml" | "yml")) {
        return Err(config_as_plan());
    }
    match load_saved(path) {
        Err(CommandError::NotAPlan { .. }) if crate::config::load(path).is_ok() => {
            Err(config_as_plan())
        }
        other => other,
    }
}

/// The settings with the configuration file and the state location the
/// plan was made with, when it records them (plans saved by older builds
/// do not).
fn recorded_settings(settings: &Settings, plan: &Plan) -> Settings {
    let mut recorded = settings.clone();
    if let Some(file) = &plan.config_file {
        recorded.file = file.clone();
    }
    if let Some(state) = &plan.state_location {
        match state.to_str().map(crate::state::S3Address::parse) {
            Some(Ok(address)) => recorded.state_s3 = Some(address),
            _ => {
                recorded.state_path = state.clone();
                recorded.state_s3 = None;
            }
        }
    }
    recorded
}

/// Plans the deletion of everything in state, asks for confirmation and
/// carries it out; with `json`, reports as JSON lines (needs
/// `--auto-approve`).
pub async fn destroy(
    settings: &Settings,
    out: &Output,
    json: bool,
) -> Result<Outcome, CommandError> {
    let ui = Ui::for_run(settings, json, "destroy", false)?;
    let (config, _) = load_config(settings)?;
    let (store, state) = lock_state(settings, &config.stack, "destroy", out).await?;
    let clouds = clouds(settings)?;
    let live = clouds.refresh(&state, &[]).await?;
    let mut plan = plan::destroy(&state, &live);
    explain_gone(&clouds, &state, &live, &mut plan).await;
    let plan = targeted(settings, out, plan)?;
    ui.plan(out, &plan);
    if plan.is_empty() {
        ui.nothing_to_do(&plan);
        ui.finish();
        return Ok(Outcome::Done);
    }
    if !confirm(settings, "destroy", out)? {
        return Ok(Outcome::Declined);
    }
    let outcome = execute(plan, &clouds, store, state, settings, out, &ui).await?;
    if !settings.targets.is_empty() {
        out.targeted_apply_warning();
    }
    ui.finish();
    Ok(outcome)
}

/// `apply -refresh-only`: shows what changed outside privlink, asks for
/// confirmation and records it in the state in one write, without any
/// create, update or delete call.
async fn apply_refresh_only(settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    let (config, desired) = load_config(settings)?;
    let (mut store, mut state) = lock_state(settings, &config.stack, "apply", out).await?;
    let clouds = clouds(settings)?;
    clouds.prepare(&desired);
    let live = refresh(&clouds, &config, &state, &desired).await?;
    let plan = plan::refresh_only(&state, &live, clouds.catalog());
    out.refresh_plan(&plan);
    let outcome = if plan.is_empty() {
        Outcome::Done
    } else if !confirm(settings, "apply", out)? {
        Outcome::Declined
    } else {
        plan.record(&mut state);
        store.write(&mut state).await?;
        let (changed, gone) = plan.counts();
        out.refresh_recorded(changed, gone, state.serial);
        Outcome::Done
    };
    store.close().await?;
    Ok(outcome)
}
