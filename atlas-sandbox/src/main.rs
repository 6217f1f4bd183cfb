//! `atlas-sandbox`: a local emulation of the MongoDB Atlas Administration API's private-endpoint
//! operations. This file only parses the command line and hands over to [`server::run`].

#![warn(missing_docs)]

mod api;
mod auth;
mod cli;
mod context;
mod control;
mod ec2;
mod errors;
mod gate;
mod ids;
mod model;
mod negotiation;
mod oauth;
mod query;
mod ratelimit;
mod record;
mod regions;
mod reply;
mod server;
mod state;
mod views;

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
