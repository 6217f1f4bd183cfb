//! Helpers shared by the integration tests.

pub mod azure;
pub mod moto;
pub mod s3;
pub mod sandbox;
pub mod world;
