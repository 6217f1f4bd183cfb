//! `privlink schema`: prints the JSON Schema of the desired-state file, for
//! editors (`# yaml-language-server: $schema=…`) and checks.

use crate::config;
use crate::output::Output;

use super::{CommandError, Outcome};

/// Prints the file's JSON Schema as pretty JSON on standard output.
pub fn run(out: &Output) -> Result<Outcome, CommandError> {
    out.json(&config::file_schema())?;
    Ok(Outcome::Done)
}
