//! privlink: MongoDB Atlas private endpoints on AWS, declared in one YAML
//! file and converged by plan, apply and destroy.
//!
//! Modules by concern: [`config`] reads the desired-state file, [`model`] is
//! the shared vocabulary, [`state`] owns the state and its local file,
//! [`s3_state`] keeps it in S3 for teams, [`plan`] diffs
//! desired against live, [`graph`] orders actions, [`apply`] executes them,
//! [`providers`] talk to Atlas and EC2, [`output`] is the only place that
//! prints, [`wait`] owns polling. [`cli`] parses the command line into
//! [`settings`] and hands it to one of the [`commands`]; [`limits`] names
//! every fixed timeout and delay; [`logging`] sets up the log and the
//! progress lines about retries and slow calls; [`tls`] holds the root
//! certificates every HTTPS client trusts.

#![warn(missing_docs)]

pub mod apply;
pub mod cli;
pub mod commands;
pub mod config;
mod crash;
pub mod graph;
pub mod import;
pub mod limits;
pub mod logging;
pub mod model;
pub mod output;
pub mod plan;
pub mod providers;
pub mod s3_state;
pub mod settings;
pub mod shared_poll;
pub mod state;
pub mod tls;
pub mod wait;
