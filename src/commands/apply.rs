//! `privlink apply` and `privlink destroy`: converge Atlas and AWS to the file
//! (or carry out a saved plan), or delete everything in state; either limited
//! to `-target` addresses, and `apply -refresh-only`, which only records in
//! the state what changed outside privlink.

use std::path::Path;

use crate::apply::check_fresh;
use crate::output::Output;
use crate::plan;
use crate::providers::Provider;
use crate::settings::Settings;

use super::common::{clouds, confirm, execute, load_config, lock_state};
use super::output::connections;
use super::plan::{load_saved, targeted};
use super::{CommandError, Outcome};

/// Applies a saved plan when one is given, or plans against the file, asks
/// for confirmation and applies; prints the connection strings after a
/// complete apply.
pub async fn apply(
    settings: &Settings,
    out: &Output,
    plan_file: Option<&Path>,
) -> Result<Outcome, CommandError> {
    if let Some(plan_file) = plan_file {
        return apply_saved(settings, out, plan_file).await;
    }
    if settings.refresh_only {
        return apply_refresh_only(settings, out).await;
    }
    let (config, desired) = load_config(settings)?;
    let (store, state) = lock_state(settings, &config.stack, "apply").await?;
    let clouds = clouds(settings)?;
    let live = clouds.refresh(&state, &desired).await?;
    let plan = plan::diff(&desired, &state, &live, clouds.catalog())?;
    let plan = targeted(settings, out, plan)?;
    out.plan(&plan);
    if plan.is_empty() {
        return Ok(Outcome::Done);
    }
    if !confirm(settings, "apply", out)? {
        return Ok(Outcome::Declined);
    }
    let outcome = execute(plan, &clouds, store, state, settings, out).await?;
    if !settings.targets.is_empty() {
        out.targeted_apply_warning();
    }
    if outcome == Outcome::Done {
        match connections(&clouds, &config).await {
            Ok(conns) => out.connections(&conns),
            Err(e) => out.note(&format!("could not read connection strings: {e}")),
        }
    }
    Ok(outcome)
}

/// Carries out a saved plan: it was reviewed already, so it needs no
/// confirmation, but the state must not have moved since it was made.
async fn apply_saved(
    settings: &Settings,
    out: &Output,
    plan_file: &Path,
) -> Result<Outcome, CommandError> {
    let plan = load_saved(plan_file)?;
    let (store, state) = lock_state(settings, &plan.stack, "apply").await?;
    check_fresh(&plan, &state)?;
    let clouds = clouds(settings)?;
    execute(plan, &clouds, store, state, settings, out).await
}

/// Plans the deletion of everything in state, asks for confirmation and
/// carries it out.
pub async fn destroy(settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    let (config, _) = load_config(settings)?;
    let (store, state) = lock_state(settings, &config.stack, "destroy").await?;
    let clouds = clouds(settings)?;
    let live = clouds.refresh(&state, &[]).await?;
    let plan = targeted(settings, out, plan::destroy(&state, &live))?;
    out.plan(&plan);
    if plan.is_empty() {
        return Ok(Outcome::Done);
    }
    if !confirm(settings, "destroy", out)? {
        return Ok(Outcome::Declined);
    }
    let outcome = execute(plan, &clouds, store, state, settings, out).await?;
    if !settings.targets.is_empty() {
        out.targeted_apply_warning();
    }
    Ok(outcome)
}

/// `apply -refresh-only`: shows what changed outside privlink, asks for
/// confirmation and records it in the state in one write, without any
/// create, update or delete call.
async fn apply_refresh_only(settings: &Settings, out: &Output) -> Result<Outcome, CommandError> {
    let (config, desired) = load_config(settings)?;
    let (mut store, mut state) = lock_state(settings, &config.stack, "apply").await?;
    let clouds = clouds(settings)?;
    let live = clouds.refresh(&state, &desired).await?;
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
