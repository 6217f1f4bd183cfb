//! The integration test binary: one module per area.

mod atlas_provider;
mod aws_provider;
mod azure;
mod cli_extras;
mod crash;
mod dedicated;
mod engine;
mod everyday;
mod interrupts;
mod json;
mod logging;
mod ownership;
mod ownership_state;
mod preflight;
mod real_atlas;
mod real_aws;
mod reliability;
mod s3_state;
mod shared_polls;
mod soak;
mod support;
mod targeting;
