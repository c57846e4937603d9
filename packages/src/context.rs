//! Building engine [`Context`]s from cached packages: the IG resolution and
//! compilation shared by the CLI and the C ABI, so both load an IG the same
//! way (same extra packages, same resource types, same error texts).

use crate::{Package, PackageCache, PackageRef, Resolution};
use shinny_engine::model::MissingPackage;
use shinny_engine::{Context, ContextBuilder, PackageInfo};
use std::path::Path;

/// The project's description of known contexts (`ig/contexts.json`).
pub const CONTEXTS_JSON: &str = include_str!("../../ig/contexts.json");

/// The known contexts from [`CONTEXTS_JSON`].
#[derive(Debug, Clone)]
pub struct KnownContexts {
    /// The IG loaded when the caller names none.
    pub default_ig: String,
    /// Per package id, packages it needs but does not declare.
    pub extra: Vec<(String, Vec<String>)>,
    /// The resource types compiled into a context.
    pub resource_types: Vec<String>,
}

impl KnownContexts {
    /// The contexts this build embeds.
    pub fn builtin() -> KnownContexts {
        // The file is part of the build, so a parse failure is a build defect
        // caught by the tests, not a user error.
        let v: serde_json::Value = serde_json::from_str(CONTEXTS_JSON).unwrap_or_default();
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        KnownContexts {
            default_ig: v["defaultIg"]
                .as_str()
                .unwrap_or("us.ny.hrsn#1.9.4")
                .to_string(),
            extra: v["extraPackages"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), strings(v)))
                .collect(),
            resource_types: strings(&v["resourceTypes"]),
        }
    }
}

/// Why an IG could not be resolved or loaded; the text is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IgError(pub String);

impl From<crate::Error> for IgError {
    fn from(e: crate::Error) -> Self {
        IgError(e.to_string())
    }
}

/// Resolves an IG given as a cache name (`id#version`) or a path to a
/// package folder or `.tgz`, plus the extra packages `known` lists for it.
pub fn resolve_ig(
    cache: &PackageCache,
    ig: &str,
    known: &KnownContexts,
) -> Result<Resolution, IgError> {
    let path = Path::new(ig);
    let (root, mut roots) = if path.exists() {
        let p = Package::open(path)?;
        let deps: Vec<PackageRef> = p
            .manifest()
            .dependencies
            .iter()
            .filter_map(|(id, v)| PackageRef::new(id.clone(), v.clone()).ok())
            .collect();
        (Some(p), deps)
    } else {
        let r = PackageRef::parse(ig).map_err(|e| IgError(format!("--ig {ig}: {e}")))?;
        if cache.find(&r).is_none() {
            return Err(IgError(format!(
                "package {ig} is not in the package cache ({}); install it with `shinny packages install {ig}` or pass --package-dir",
                cache
                    .folders()
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        (None, vec![r])
    };
    let id = match &root {
        Some(p) => p.manifest().name.clone(),
        None => roots[0].id().to_string(),
    };
    for (pkg, extras) in &known.extra {
        if *pkg == id {
            for e in extras {
                if let Ok(r) = PackageRef::parse(e) {
                    if cache.find(&r).is_some() {
                        roots.insert(0, r);
                    }
                }
            }
        }
    }
    let mut res = cache.resolve(&roots)?;
    if let Some(p) = root {
        res.packages.push(p);
    }
    Ok(res)
}

/// Compiles a resolved IG (and extra definition files, as `(name, bytes)`)
/// into a context; missing packages are recorded in its load report.
/// `code_lists` are `(code system URL, text)` pairs: one code per line
/// (optionally `code<TAB>display`), for licensed code systems (LOINC,
/// SNOMED CT, ...) that are then checked instead of "not checked".
pub fn build_context(
    resolution: &Resolution,
    known: &KnownContexts,
    definitions: &[(String, Vec<u8>)],
    code_lists: &[(String, String)],
) -> Result<Context, IgError> {
    let types: Vec<&str> = known.resource_types.iter().map(String::as_str).collect();
    let mut b = ContextBuilder::new();
    for m in &resolution.missing {
        b.add_missing_package(MissingPackage {
            id: m.id.clone(),
            version: m.version.clone(),
            required_by: m.required_by.iter().map(|r| r.to_string()).collect(),
        });
    }
    for loaded in resolution.load_resources(&types)? {
        let p = loaded.package;
        let mut files: Vec<(String, Vec<u8>)> = loaded
            .resources
            .into_iter()
            .map(|r| (r.file.path, r.bytes))
            .collect();
        // IGs ship their Questionnaires as examples (SHIN-NY does).
        for f in p
            .examples()
            .iter()
            .filter(|f| f.resource_type == "Questionnaire")
        {
            files.push((f.path.clone(), p.read(f)?.into_owned()));
        }
        b.add_package(
            PackageInfo {
                id: p.reference().id().to_string(),
                version: p.reference().version().to_string(),
                canonical: p.manifest().canonical.clone(),
            },
            files,
        );
    }
    if !definitions.is_empty() {
        b.add_definitions("--definitions", definitions.to_vec());
    }
    for (system, text) in code_lists {
        b.add_code_list(system, text);
    }
    Ok(b.build())
}

/// Resolves and compiles one IG from the package cache, without any
/// artifact cache: the simple path for embedders.
pub fn load_ig(cache: &PackageCache, ig: &str) -> Result<Context, IgError> {
    let known = KnownContexts::builtin();
    let resolution = resolve_ig(cache, ig, &known)?;
    build_context(&resolution, &known, &[], &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_contexts_parse() {
        let k = KnownContexts::builtin();
        let v: serde_json::Value = serde_json::from_str(CONTEXTS_JSON).unwrap();
        assert_eq!(k.default_ig, v["defaultIg"].as_str().unwrap());
        assert!(k.resource_types.iter().any(|t| t == "StructureDefinition"));
        assert_eq!(k.extra.len(), v["extraPackages"].as_object().unwrap().len());
    }

    #[test]
    fn unknown_ig_names_the_cache_folders() {
        let cache = PackageCache::new(vec!["/nonexistent/cache".into()]);
        let e = resolve_ig(&cache, "no.such#1.0.0", &KnownContexts::builtin()).unwrap_err();
        assert_eq!(
            e.0,
            "package no.such#1.0.0 is not in the package cache (/nonexistent/cache); install it with `shinny packages install no.such#1.0.0` or pass --package-dir"
        );
        let e = resolve_ig(&cache, "not a reference", &KnownContexts::builtin()).unwrap_err();
        assert!(e.0.starts_with("--ig not a reference: "), "{e}");
    }
}
