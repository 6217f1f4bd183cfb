//! `privlink force-unlock`: removes a lock left by a run that is gone.

use crate::output::Output;
use crate::settings::Settings;

use super::{CommandError, Outcome};

/// Removes the lock `lock_id` from the settings' state file.
pub async fn run(
    settings: &Settings,
    out: &Output,
    lock_id: &str,
) -> Result<Outcome, CommandError> {
    super::common::state_backend(settings)
        .force_unlock(lock_id)
        .await?;
    out.unlocked(lock_id, &settings.state_path);
    Ok(Outcome::Done)
}
