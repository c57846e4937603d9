//! Shared helpers for the workspace-level integration tests and benchmarks.
//! The product lives in `engine/`, `cli/` and `packages/`.

use std::path::PathBuf;

/// The read-only data folder that sits beside the repository (`../shared`).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The FHIR package cache inside [`shared_dir`].
pub fn package_cache() -> PathBuf {
    shared_dir().join("fhir-packages")
}
