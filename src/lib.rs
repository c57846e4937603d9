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

use shinny_engine::{Context, ContextBuilder, PackageInfo};

/// Reads the conformance resources of one cached package folder
/// (`<cache>/<id>#<version>/package`). A deliberately simple loader for
/// tests; the product uses `shinny-packages`.
pub fn package_files(folder: &str) -> Vec<(String, Vec<u8>)> {
    let dir = package_cache().join(folder).join("package");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if ["StructureDefinition-", "ValueSet-", "CodeSystem-"]
            .iter()
            .any(|p| name.starts_with(p))
            && name.ends_with(".json")
        {
            out.push((name, std::fs::read(&path).expect("read")));
        }
    }
    // Questionnaires ship as examples in IG packages (SHIN-NY's do).
    if let Ok(examples) = std::fs::read_dir(dir.join("example")) {
        for entry in examples {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("Questionnaire-") && name.ends_with(".json") {
                out.push((
                    format!("example/{name}"),
                    std::fs::read(&path).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A context from cached package folders, dependencies first.
pub fn context_from_folders(folders: &[&str]) -> Context {
    builder_from_folders(folders).build()
}

/// A builder holding cached package folders, dependencies first, for
/// tests that add definitions of their own before building.
pub fn builder_from_folders(folders: &[&str]) -> ContextBuilder {
    let mut b = ContextBuilder::new();
    for f in folders {
        let (id, version) = f.split_once('#').expect("id#version");
        b.add_package(
            PackageInfo {
                id: id.into(),
                version: version.into(),
                canonical: None,
            },
            package_files(f),
        );
    }
    b
}

/// The package folders of the SHIN-NY context, dependencies first, with
/// the IG itself (`us.ny.hrsn#1.9.4` or `us.ny.hrsn#1.9.4-test`) last.
pub fn shinny_folders(ig: &str) -> Vec<&str> {
    vec![
        "hl7.fhir.r4.core#4.0.1",
        "hl7.fhir.us.core#3.1.1",
        "hl7.fhir.uv.sdc#3.0.0",
        "hl7.fhir.us.sdoh-clinicalcare#2.2.0",
        "local.shinny.vsac-subset#0.0.1",
        ig,
    ]
}

/// The SHIN-NY context (prod canonical) with every dependency in `../shared`.
pub fn shinny_context() -> Context {
    context_from_folders(&shinny_folders("us.ny.hrsn#1.9.4"))
}

/// The SHIN-NY context with the test canonical (`us.ny.hrsn#1.9.4-test`).
pub fn shinny_test_context() -> Context {
    context_from_folders(&shinny_folders("us.ny.hrsn#1.9.4-test"))
}

/// The plain R4 context.
pub fn r4_context() -> Context {
    context_from_folders(&["hl7.fhir.r4.core#4.0.1"])
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

/// The SHIN-NY Bundle profile's StructureDefinition (production canonical).
pub fn shinny_bundle_profile_path() -> PathBuf {
    package_cache().join("us.ny.hrsn#1.9.4/package/StructureDefinition-SHINNYBundleProfile.json")
}

/// `(key, expression)` of every constraint on the SHIN-NY Bundle profile's
/// root element, in snapshot order. The `invariants` bench and the
/// side-by-side with the JS engine (`benches/fhirpath-vs-js`) read the same
/// list the same way.
pub fn bundle_root_constraints() -> Vec<(String, String)> {
    let p = shinny_bundle_profile_path();
    let sd: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&p).expect("Bundle profile")).expect("json");
    sd["snapshot"]["element"][0]["constraint"]
        .as_array()
        .expect("constraints")
        .iter()
        .filter_map(|c| Some((c["key"].as_str()?.into(), c["expression"].as_str()?.into())))
        .collect()
}

/// The largest SHIN-NY example bundle (by file size; the 40-entry
/// AHC HRSN screening response).
pub fn largest_shinny_bundle() -> PathBuf {
    let dir = package_cache().join("us.ny.hrsn#1.9.4/package/example");
    std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("Bundle-") && n.ends_with(".json")
        })
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a Bundle example")
}

/// [`bundle_root_constraints`] compiled once against `ctx`'s model with
/// `Bundle` as the context type, as the validator compiles them.
pub fn compile_bundle_root_constraints(
    ctx: &Context,
) -> Vec<(String, shinny_engine::fhirpath::Expression)> {
    use shinny_engine::fhirpath::{compile, CompileOptions, ModelInfo};
    let model: std::sync::Arc<dyn ModelInfo> = ctx.fhirpath_model().clone();
    let opts = CompileOptions {
        model: Some(model),
        context_type: Some("Bundle".into()),
        // One group, evaluated with one cache (as the validator compiles
        // them, with its context's registry).
        shared_subexpressions: Some(Default::default()),
        ..Default::default()
    };
    bundle_root_constraints()
        .into_iter()
        .map(|(key, src)| {
            let e = compile(&src, &opts).unwrap_or_else(|e| panic!("{key}: {e}"));
            (key, e)
        })
        .collect()
}
