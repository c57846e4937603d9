//! Building the validation contexts: from a compiled rules artifact, or from
//! package folders with `shinny-packages` and the engine's `ContextBuilder`.

use crate::config::{ContextConfig, ValidationConfig};
use shinny_engine::model::MissingPackage;
use shinny_engine::{Context, ContextBuilder, ContextSet, PackageInfo};
use shinny_packages::{PackageCache, PackageRef};

/// The resource types a validation context needs from packages.
const RESOURCE_TYPES: &[&str] = &[
    "StructureDefinition",
    "ValueSet",
    "CodeSystem",
    "Questionnaire",
];

/// The loaded contexts: all of them as one [`ContextSet`] (chosen by
/// `meta.profile`), and each by the name clients pass in
/// `X-SHIN-NY-IG-Version`.
pub struct Contexts {
    /// Every context, the first being the default.
    pub all: ContextSet,
    /// Each context alone, by name.
    pub named: Vec<(String, ContextSet)>,
}

impl Contexts {
    /// The contexts to validate with for a requested IG version.
    pub fn get(&self, name: Option<&str>) -> Option<&ContextSet> {
        match name {
            None => Some(&self.all),
            Some(n) => self.named.iter().find(|(k, _)| k == n).map(|(_, s)| s),
        }
    }

    /// The names, in configuration order.
    pub fn names(&self) -> Vec<&str> {
        self.named.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// Loads every configured context. A context marked `optional` whose
/// packages are absent is skipped with a warning.
pub fn load(config: &ValidationConfig) -> Result<Contexts, String> {
    let cache = PackageCache::discover(&config.package_dirs);
    let mut loaded: Vec<(String, Context)> = Vec::new();
    for c in &config.contexts {
        match load_one(&cache, c) {
            Ok(ctx) => {
                let r = ctx.report();
                if !r.missing_packages.is_empty() {
                    tracing::warn!(
                        context = %c.name,
                        missing = r.missing_packages.len(),
                        unresolved = r.unresolved.len(),
                        "context is incomplete: package dependencies are missing"
                    );
                }
                loaded.push((c.name.clone(), ctx));
            }
            Err(e) if c.optional => {
                tracing::warn!(context = %c.name, "optional context skipped: {e}")
            }
            Err(e) => return Err(format!("context {}: {e}", c.name)),
        }
    }
    if loaded.is_empty() {
        return Err("no validation context is configured".into());
    }
    // A Context is not Clone; the per-name sets are rebuilt from artifacts,
    // which is cheap (milliseconds) and happens once at startup.
    let mut named = Vec::new();
    for (name, ctx) in &loaded {
        let copy = Context::from_artifact(&ctx.to_artifact()).map_err(|e| e.to_string())?;
        named.push((name.clone(), single(copy)));
    }
    let all = ContextSet::new(loaded.into_iter().map(|(_, c)| c).collect())
        .ok_or("no validation context")?;
    Ok(Contexts { all, named })
}

fn single(c: Context) -> ContextSet {
    // `new` only fails on an empty list.
    ContextSet::new(vec![c]).expect("one context")
}

/// One context from its artifact or its packages.
pub fn load_one(cache: &PackageCache, c: &ContextConfig) -> Result<Context, String> {
    if let Some(path) = &c.rules {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return Context::from_artifact(&bytes).map_err(|e| format!("{}: {e}", path.display()));
    }
    let ig = c.ig.as_deref().ok_or("neither `ig` nor `rules` is set")?;
    compile(cache, ig, &c.extra_packages)
}

/// Compiles the package `ig` (`id#version`), its dependencies and the extra
/// packages present in the cache.
pub fn compile(cache: &PackageCache, ig: &str, extra: &[String]) -> Result<Context, String> {
    let root = PackageRef::parse(ig).map_err(|e| format!("{ig}: {e}"))?;
    if cache.find(&root).is_none() {
        let folders: Vec<String> = cache
            .folders()
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        return Err(format!(
            "package {ig} is not in the package cache ({})",
            folders.join(", ")
        ));
    }
    let mut roots = Vec::new();
    for e in extra {
        let r = PackageRef::parse(e).map_err(|err| format!("{e}: {err}"))?;
        if cache.find(&r).is_some() {
            roots.push(r);
        }
    }
    roots.push(root);
    let resolution = cache.resolve(&roots).map_err(|e| e.to_string())?;
    let mut b = ContextBuilder::new();
    for m in &resolution.missing {
        b.add_missing_package(MissingPackage {
            id: m.id.clone(),
            version: m.version.clone(),
            required_by: m.required_by.iter().map(|r| r.to_string()).collect(),
        });
    }
    for loaded in resolution
        .load_resources(RESOURCE_TYPES)
        .map_err(|e| e.to_string())?
    {
        let p = loaded.package;
        b.add_package(
            PackageInfo {
                id: p.reference().id().to_string(),
                version: p.reference().version().to_string(),
                canonical: p.manifest().canonical.clone(),
            },
            loaded
                .resources
                .into_iter()
                .map(|r| (r.file.path, r.bytes))
                .collect(),
        );
    }
    Ok(b.build())
}
