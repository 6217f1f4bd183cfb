//! Helpers shared by the integration tests.

pub mod azure;
pub mod moto;
pub mod s3;
pub mod sandbox;
pub mod world;

use std::path::PathBuf;

/// This package's directory: the one cargo names when it runs the tests,
/// else the one they were built from. Asked at run time, so that a test
/// binary cargo judged fresh does not read another checkout's files when
/// two checkouts share a target directory.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
