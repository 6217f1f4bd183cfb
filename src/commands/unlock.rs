//! `privlink force-unlock`: removes a lock left by a run that is gone, or,
//! once confirmed (or with `--force`), one whose holder is still alive.

use crate::output::Output;
use crate::settings::Settings;
use crate::state::LockHolder;

use super::common::{ask_yes, has_terminal, state_backend};
use super::{CommandError, Outcome};

/// Removes the lock `lock_id` from the settings' state. A lock whose holder
/// is alive is named and removed only after a `yes` (or with `force`);
/// without a terminal and without `force` it is left alone.
pub async fn run(
    settings: &Settings,
    out: &Output,
    lock_id: &str,
    force: bool,
) -> Result<Outcome, CommandError> {
    let backend = state_backend(settings);
    if let LockHolder::Live(Some(holder)) = backend.lock_holder().await? {
        // A live holder under another id is refused by the backend below,
        // naming it; only the holder's own id needs the confirmation.
        if holder.id == lock_id {
            let who = holder.describe();
            out.live_lock(lock_id, &who);
            if !force {
                if !has_terminal() {
                    return Err(CommandError::LiveLock {
                        lock_id: lock_id.to_owned(),
                        location: backend.location().to_string(),
                        holder: who,
                    });
                }
                out.force_unlock_prompt();
                if !ask_yes("force-unlock", out)? {
                    return Ok(Outcome::Declined);
                }
            }
        }
    }
    backend.force_unlock(lock_id).await?;
    out.unlocked(lock_id, &settings.state_location());
    Ok(Outcome::Done)
}
