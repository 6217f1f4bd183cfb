//! The commands: one function per command, each taking the resolved
//! [`Settings`](crate::settings::Settings), the [`Output`](crate::output::Output)
//! and its own arguments, and returning an [`Outcome`] or a [`CommandError`].
//! [`exit_code`] turns that result into the process exit code.

pub mod apply;
pub mod common;
pub mod completions;
pub mod error;
pub mod import;
pub mod output;
pub mod plan;
pub mod schema;
pub mod show;
pub mod state;
pub mod unlock;
pub mod validate;
pub mod version;

pub use error::{CommandError, Outcome, Signal, exit_code};
