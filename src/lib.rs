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

/// The FHIR R4 core model for FHIRPath, built once from the core package's
/// StructureDefinitions.
pub fn r4_model() -> std::sync::Arc<shinny_engine::fhirpath::SnapshotModel> {
    use std::sync::{Arc, OnceLock};
    static MODEL: OnceLock<Arc<shinny_engine::fhirpath::SnapshotModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = shared_dir().join("fhir-packages/hl7.fhir.r4.core#4.0.1/package");
            let mut defs = Vec::new();
            for e in std::fs::read_dir(&dir).expect("r4 core package") {
                let p = e.expect("dir entry").path();
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                if name.starts_with("StructureDefinition-") && name.ends_with(".json") {
                    let bytes = std::fs::read(&p).expect("readable");
                    defs.push(serde_json::from_slice::<serde_json::Value>(&bytes).expect("json"));
                }
            }
            Arc::new(shinny_engine::fhirpath::SnapshotModel::from_structure_definitions(&defs))
        })
        .clone()
}
