//! `privlink show`: prints the state file.

use crate::output::Output;
use crate::settings::Settings;

use super::common::read_state;
use super::{CommandError, Outcome};

/// Prints the state as a table, or raw as JSON; says so when there is none.
pub async fn run(settings: &Settings, out: &Output, json: bool) -> Result<Outcome, CommandError> {
    let path = &settings.state_location();
    let Some(state) = read_state(settings).await? else {
        out.no_state(path);
        return Ok(Outcome::Done);
    };
    if json {
        out.json(&state)?;
    } else {
        out.state(path, &state);
    }
    Ok(Outcome::Done)
}
