//! `privlink plan`: shows what apply would change, reading live Atlas and AWS,
//! and can save the plan for `privlink apply FILE`; with `-target` limited to
//! some resources ([`targeted`], shared with apply and destroy), with
//! `-refresh-only` limited to what changed outside privlink. A plan that
//! would create what needs something missing stops at the preflight.

use std::path::{Path, PathBuf};

use crate::output::Output;
use crate::plan::{self, Plan};
use crate::providers::Provider;
use crate::settings::Settings;

use super::common::{
    absolute, clouds, explain_gone, load_config, preflight, read_state_for, refresh,
};
use super::{CommandError, Outcome};

/// The arguments of `plan` beyond the settings.
#[derive(Debug, Clone, Default)]
pub struct PlanArgs {
    /// Save the plan to this file.
    pub save: Option<PathBuf>,
    /// Print the plan as JSON.
    pub json: bool,
    /// Plan the destruction of everything in state.
    pub destroy: bool,
    /// Report changes through the exit code.
    pub detailed_exitcode: bool,
}

/// Plans, prints the plan and saves it when asked. Reads the state without
/// taking the lock.
pub async fn run(
    settings: &Settings,
    out: &Output,
    args: PlanArgs,
) -> Result<Outcome, CommandError> {
    let (config, desired) = load_config(settings)?;
    let clouds = clouds(settings)?;
    clouds.prepare(&desired);
    let state = read_state_for(settings, &config.stack, out).await?;
    let live = refresh(&clouds, &config, &state, &desired).await?;
    if settings.refresh_only {
        let plan = plan::refresh_only(&state, &live, clouds.catalog());
        if args.json {
            out.json(&plan)?;
        } else {
            out.refresh_plan(&plan);
        }
        return Ok(exit_outcome(&args, plan.is_empty()));
    }
    let mut plan = if args.destroy {
        plan::destroy(&state, &live)
    } else {
        plan::diff(&desired, &state, &live, clouds.catalog())?
    };
    explain_gone(&clouds, &state, &live, &mut plan).await;
    let plan = targeted(settings, out, plan)?;
    preflight(&clouds, &plan, &config, &desired).await?;
    if args.json {
        out.json(&plan)?;
    } else {
        out.plan(&plan);
    }
    if let Some(path) = &args.save {
        let mut plan = plan.clone();
        plan.config_file = Some(absolute(&settings.file));
        plan.state_location = Some(match &settings.state_s3 {
            // An S3 state is recorded by its address, which apply reads back.
            Some(a) => std::path::PathBuf::from(a.to_string()),
            None => absolute(&settings.state_path),
        });
        save(&plan, path)?;
        out.plan_saved(path);
    }
    Ok(exit_outcome(&args, plan.is_empty()))
}

/// What the exit code reports: changes only with `--detailed-exitcode`.
fn exit_outcome(args: &PlanArgs, empty: bool) -> Outcome {
    if args.detailed_exitcode && !empty {
        Outcome::ChangesPresent
    } else {
        Outcome::Done
    }
}

/// The plan limited to the settings' `-target` addresses, with Terraform's
/// warning that targeting is in effect; the plan as it is without targets.
pub fn targeted(settings: &Settings, out: &Output, plan: Plan) -> Result<Plan, CommandError> {
    if settings.targets.is_empty() {
        return Ok(plan);
    }
    let plan = plan::target(plan, &settings.targets)?;
    out.targeting_warning();
    Ok(plan)
}

/// Writes the plan as JSON, readable by its owner only.
fn save(plan: &Plan, path: &Path) -> Result<(), CommandError> {
    let text = serde_json::to_string_pretty(plan)?;
    write_private(path, text.as_bytes()).map_err(|source| CommandError::SavePlan {
        path: path.to_owned(),
        source,
    })
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Reads a plan saved by `plan --out`, checking its format.
pub fn load_saved(path: &Path) -> Result<Plan, CommandError> {
    let text = std::fs::read_to_string(path).map_err(|source| CommandError::ReadPlan {
        path: path.to_owned(),
        source,
    })?;
    let plan: Plan = serde_json::from_str(&text).map_err(|source| CommandError::NotAPlan {
        path: path.to_owned(),
        source,
    })?;
    if plan.format != plan::PLAN_FORMAT {
        return Err(CommandError::PlanFormat {
            path: path.to_owned(),
            found: plan.format,
            expected: plan::PLAN_FORMAT,
        });
    }
    Ok(plan)
}
