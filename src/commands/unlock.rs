//! `privlink force-unlock`: removes a lock left by a run that is gone.

use crate::output::Output;
use crate::settings::Settings;
use crate::state;

use super::{CommandError, Outcome};

/// Removes the lock `lock_id` from the settings' state file.
pub fn run(settings: &Settings, out: &Output, lock_id: &str) -> Result<Outcome, CommandError> {
    state::force_unlock(&settings.state_path, lock_id)?;
    out.unlocked(lock_id, &settings.state_path);
    Ok(Outcome::Done)
}
