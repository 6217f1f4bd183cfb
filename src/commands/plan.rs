//! `privlink plan`: shows what apply would change, reading live Atlas and AWS,
//! and can save the plan for `privlink apply FILE`.

use std::path::{Path, PathBuf};

use crate::output::Output;
use crate::plan::{self, Plan};
use crate::providers::Provider;
use crate::settings::Settings;
use crate::state::StateFile;

use super::common::{absolute, clouds, load_config, read_state};
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
    let state = read_state(settings)
        .await?
        .unwrap_or_else(|| StateFile::new(config.stack.clone()));
    let clouds = clouds(settings)?;
    let live = clouds.refresh(&state, &desired).await?;
    let plan = if args.destroy {
        plan::destroy(&state, &live)
    } else {
        plan::diff(&desired, &state, &live, clouds.catalog())?
    };
    if args.json {
        out.json(&plan)?;
    } else {
        out.plan(&plan);
    }
    if let Some(path) = &args.save {
        let mut plan = plan.clone();
        plan.config_file = Some(absolute(&settings.file));
        plan.state_location = Some(absolute(&settings.state_path));
        save(&plan, path)?;
        out.plan_saved(path);
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        Outcome::ChangesPresent
    } else {
        Outcome::Done
    })
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
