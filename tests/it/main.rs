//! The integration test binary: one module per area.

mod atlas_provider;
mod aws_provider;
mod cli_extras;
mod crash;
mod dedicated;
mod engine;
mod everyday;
mod json;
mod logging;
mod ownership;
mod reliability;
mod support;
mod targeting;
