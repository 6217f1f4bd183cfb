//! `azure-sandbox`: a local emulation of Microsoft Entra ID client-credentials tokens and of the
//! Azure Resource Manager operations privlink needs (resource groups, virtual networks and
//! subnets as fixtures, private endpoints, network interfaces, asynchronous operations). This
//! file only parses the command line and hands over to [`server::run`].

#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod control;
pub mod entra;
pub mod errors;
pub mod guards;
pub mod model;
pub mod record;
pub mod server;
pub mod state;
pub mod tokens;
pub mod views;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let config = cli::Args::parse().into_config();
    match server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
