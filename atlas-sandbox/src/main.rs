//! `atlas-sandbox`: a local emulation of the MongoDB Atlas Administration API's private-endpoint
//! operations. This file only parses the command line and hands over to [`server::run`].

#![warn(missing_docs)]

// The modules are public so that `missing_docs` checks every item they export.
pub mod api;
pub mod auth;
pub mod azure;
pub mod cli;
pub mod conn;
pub mod context;
pub mod control;
pub mod ec2;
pub mod errors;
pub mod gate;
pub mod ids;
pub mod model;
pub mod negotiation;
pub mod oauth;
pub mod query;
pub mod ratelimit;
pub mod realism;
pub mod record;
pub mod regions;
pub mod reply;
pub mod server;
pub mod state;
pub mod transitions;
pub mod views;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match cli::Args::parse().into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
