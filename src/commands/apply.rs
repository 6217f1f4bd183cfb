//! `privlink apply` and `privlink destroy`: converge Atlas and AWS to the file
//! (or carry out a saved plan), or delete everything in state.

use std::path::{Path, PathBuf};

use crate::apply::check_fresh;
use crate::output::Output;
use crate::plan;
use crate::providers::Provider;
use crate::settings::Settings;

use super::common::{Ui, clouds, confirm, execute, load_config, lock_state};
use super::output::connections;
use super::plan::load_saved;
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
    let (config, desired) = load_config(settings)?;
    let (store, state) = lock_state(settings, &config.stack, "apply").await?;
    let clouds = clouds(settings)?;
    let live = clouds.refresh(&state, &desired).await?;
    let plan = plan::diff(&desired, &state, &live, clouds.catalog())?;
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
    if outcome == Outcome::Done {
        match connections(&clouds, &config).await {
            Ok(conns) => ui.connections(out, &conns),
            Err(e) => out.note(&format!("could not read connection strings: {e}")),
        }
    }
    ui.finish();
    Ok(outcome)
}

/// Carries out a saved plan: it was reviewed already, so it needs no
/// confirmation, but the state must not have moved since it was made.
async fn apply_saved(
    settings: &Settings,
    out: &Output,
    plan_file: &Path,
    ui: &Ui,
) -> Result<Outcome, CommandError> {
    let plan = load_saved(plan_file)?;
    let (store, state) = lock_state(settings, &plan.stack, "apply").await?;
    check_fresh(&plan, &state)?;
    let clouds = clouds(settings)?;
    if let Ui::Json(r) = ui {
        r.plan(&plan);
    }
    let outcome = execute(plan, &clouds, store, state, settings, out, ui).await?;
    ui.finish();
    Ok(outcome)
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
    let (store, state) = lock_state(settings, &config.stack, "destroy").await?;
    let clouds = clouds(settings)?;
    let live = clouds.refresh(&state, &[]).await?;
    let plan = plan::destroy(&state, &live);
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
    ui.finish();
    Ok(outcome)
}
