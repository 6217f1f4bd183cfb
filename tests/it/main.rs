//! The integration test binary: one module per area.

mod atlas_provider;
mod aws_provider;
mod crash;
mod dedicated;
mod engine;
mod logging;
mod reliability;
mod support;
