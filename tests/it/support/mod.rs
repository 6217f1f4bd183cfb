//! Helpers shared by the integration tests.

pub mod azure;
pub mod moto;
pub mod sandbox;
pub mod world;
