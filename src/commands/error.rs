//! The error of every command, and the one mapping from a command's result to
//! the process exit code.

use std::path::PathBuf;

use thiserror::Error;

use crate::apply::ApplyError;
use crate::config::ConfigError;
use crate::graph::GraphError;
use crate::import::ImportError;
use crate::plan::PlanError;
use crate::providers::ProviderError;
use crate::providers::atlas::AtlasError;
use crate::providers::preflight::PreflightError;
use crate::state::StateError;

/// Why a command failed. Errors of the layers below pass through unchanged
/// (their message and causes are printed as they are).
#[derive(Debug, Error)]
pub enum CommandError {
    /// The tokio runtime could not be built.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The desired-state file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The state file could not be read, locked or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// No plan can be made from the file, the state and the live objects.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The resources' dependencies form a cycle.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The executor could not run.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// An import was refused or failed.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Atlas or AWS failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The Atlas client could not be built.
    #[error(transparent)]
    Atlas(#[from] AtlasError),
    /// The file names what Atlas or AWS does not have: every problem.
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    /// A saved plan could not be read.
    #[error("reading the plan {}", path.display())]
    ReadPlan {
        /// The plan file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// A saved plan is not JSON of a plan.
    #[error("{} is not a privlink plan", path.display())]
    NotAPlan {
        /// The plan file.
        path: PathBuf,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A saved plan was written by a privlink with another plan format.
    #[error("{} has plan format {found}, this privlink reads {expected}", path.display())]
    PlanFormat {
        /// The plan file.
        path: PathBuf,
        /// The format the file has.
        found: u32,
        /// The format this privlink reads.
        expected: u32,
    },
    /// A configuration file was given where a saved plan was expected.
    #[error(
        "that is a configuration file; did you mean `privlink apply -f {}`?",
        path.display()
    )]
    ConfigAsPlan {
        /// The file given as the plan.
        path: PathBuf,
    },
    /// `force-unlock` of a lock whose holder is alive, with nobody to
    /// confirm and no `--force`.
    #[error(
        "lock {lock_id} of state {location} is held by a live run ({holder}); there is no terminal to confirm, so nothing was changed; pass --force to remove it anyway"
    )]
    LiveLock {
        /// The lock id given.
        lock_id: String,
        /// The state.
        location: String,
        /// Who holds it (operation, pid, host, since when).
        holder: String,
    },
    /// A plan could not be saved.
    #[error("saving the plan to {}", path.display())]
    SavePlan {
        /// The plan file.
        path: PathBuf,
        /// The write error.
        #[source]
        source: std::io::Error,
    },
    /// A plan or state could not be encoded as JSON.
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    /// A change needs confirmation and there is nobody to ask.
    #[error(
        "{verb} needs confirmation, and there is no terminal to ask: nothing was changed; pass --auto-approve to {verb} without asking"
    )]
    NoTerminal {
        /// `apply` or `destroy`.
        verb: &'static str,
    },
    /// `--json` was given to a run that would have to ask for confirmation.
    #[error(
        "{verb} --json cannot ask for confirmation: nothing was changed; pass --auto-approve (or apply a plan saved with plan --out)"
    )]
    JsonNeedsAutoApprove {
        /// `apply` or `destroy`.
        verb: &'static str,
    },
    /// The state records another stack than the file's.
    #[error(
        "state file {location} belongs to stack {found:?}, not {expected:?} (the stack of {}); nothing was changed; pass --state to use another state, or --force-stack to use this one anyway",
        file.display()
    )]
    StackMismatch {
        /// The state file.
        location: crate::state::Location,
        /// The desired-state file.
        file: PathBuf,
        /// The file's stack.
        expected: String,
        /// The stack the state records.
        found: String,
    },
    /// The state is configured in S3, which holds none yet, while a local
    /// state is left beside the file: it must be migrated first.
    #[error(
        "the state is configured at {remote}, which holds no state yet, but a local state exists at {}; nothing was changed; \
         run `privlink state migrate` to move it there (or pass --state {} to keep using the local file)",
        local.display(),
        local.display()
    )]
    MigrateFirst {
        /// The local state file.
        local: PathBuf,
        /// The S3 state.
        remote: String,
    },
    /// A `privlink state` command was refused; the message says why and
    /// what to do.
    #[error("{0}")]
    StateCommand(String),
    /// The state kept where older builds kept it could not be moved beside
    /// the file.
    #[error("moving the state {} to {}", from.display(), to.display())]
    MoveState {
        /// Where it is.
        from: PathBuf,
        /// Where it belongs.
        to: PathBuf,
        /// The file-system error.
        #[source]
        source: std::io::Error,
    },
    /// The answer to the confirmation could not be read.
    #[error(transparent)]
    Prompt(std::io::Error),
}

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked (or there was nothing to do).
    Done,
    /// `plan --detailed-exitcode` found changes.
    ChangesPresent,
    /// The user did not confirm: nothing was changed.
    Declined,
    /// An apply or destroy did not finish: a step failed or was skipped.
    Incomplete,
    /// An apply or destroy was stopped by a signal.
    Interrupted(Signal),
}

/// A signal that interrupts an apply or destroy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The exit code of a run the signal stopped, as shells report it:
    /// 128 + the signal's number.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

/// The process exit code of a command's result, as Terraform users expect
/// it: 0 success, 1 error (or declined, or an apply that did not finish, or
/// an interrupted one), 2 changes present with `plan --detailed-exitcode`,
/// 130 after Ctrl-C and 143 after SIGTERM.
pub fn exit_code(result: &Result<Outcome, CommandError>) -> i32 {
    match result {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::ChangesPresent) => 2,
        Ok(Outcome::Interrupted(signal)) => signal.exit_code(),
        Ok(Outcome::Declined | Outcome::Incomplete) | Err(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_terraforms() {
        assert_eq!(exit_code(&Ok(Outcome::Done)), 0);
        assert_eq!(exit_code(&Ok(Outcome::ChangesPresent)), 2);
        assert_eq!(exit_code(&Ok(Outcome::Declined)), 1);
        assert_eq!(exit_code(&Ok(Outcome::Incomplete)), 1);
        assert_eq!(exit_code(&Ok(Outcome::Interrupted(Signal::Interrupt))), 130);
        assert_eq!(exit_code(&Ok(Outcome::Interrupted(Signal::Terminate))), 143);
        let err = CommandError::NoTerminal { verb: "apply" };
        assert_eq!(exit_code(&Err(err)), 1);
    }

    #[test]
    fn wrapped_errors_keep_their_message_and_causes() {
        let io = std::io::Error::other("disk full");
        let err = CommandError::SavePlan {
            path: PathBuf::from("p.json"),
            source: io,
        };
        assert_eq!(err.to_string(), "saving the plan to p.json");
        let cause = std::error::Error::source(&err).map(|c| c.to_string());
        assert_eq!(cause.as_deref(), Some("disk full"));
        let plan = CommandError::from(PlanError::Cycle("a -> a".into()));
        assert_eq!(plan.to_string(), "dependency cycle between: a -> a");
    }
}
