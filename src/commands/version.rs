//! `privlink version` (and `--version`): the crate version and the git
//! commit the binary was built from (`unknown` when it was not built from a
//! git checkout; see build.rs).

use crate::output::Output;

use super::{CommandError, Outcome};

/// The version as `--version` shows it after the program name:
/// `0.1.0 (commit 1a2b3c4)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PRIVLINK_GIT_COMMIT"),
    ")"
);

/// Prints `privlink <version> (commit <commit>)` on standard output.
pub fn run(out: &Output) -> Result<Outcome, CommandError> {
    out.out(&format!("{} {VERSION}\n", env!("CARGO_PKG_NAME")));
    Ok(Outcome::Done)
}
