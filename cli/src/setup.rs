//! Building validation contexts from packages, definitions or an artifact,
//! with a cache of compiled artifacts keyed by the packages' content.

use crate::{ContextArgs, Failure};
use shinny_engine::model::MissingPackage;
use shinny_engine::{Context, ContextBuilder, ContextSet, PackageInfo};
use shinny_packages::{Package, PackageCache, PackageRef, Resolution};
use std::path::{Path, PathBuf};

/// The project's description of known contexts (`ig/contexts.json`).
const CONTEXTS_JSON: &str = include_str!("../../ig/contexts.json");

struct Contexts {
    default_ig: String,
    extra: Vec<(String, Vec<String>)>,
    resource_types: Vec<String>,
}

fn contexts() -> Contexts {
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
    Contexts {
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

/// A loaded context and what was missing while building it.
pub struct Loaded {
    pub context: Context,
    pub label: String,
    pub from_cache: bool,
}

/// Builds one context per `--ig` (or the default IG).
pub fn load_contexts(args: &ContextArgs) -> Result<Vec<Loaded>, Failure> {
    let known = contexts();
    let cache = PackageCache::discover(&args.package_dirs);
    let igs = if args.igs.is_empty() {
        vec![known.default_ig.clone()]
    } else {
        args.igs.clone()
    };
    let definitions = read_definitions(&args.definitions)?;
    igs.iter()
        .map(|ig| load_one(&cache, ig, &known, &definitions, args.no_cache))
        .collect()
}

/// Loads contexts and puts them in a [`ContextSet`].
pub fn context_set(args: &ContextArgs, rules: Option<&Path>) -> Result<ContextSet, Failure> {
    let contexts = match rules {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Failure(format!(
                    "cannot read rules artifact {}: {e}",
                    path.display()
                ))
            })?;
            vec![Context::from_artifact(&bytes)
                .map_err(|e| Failure(format!("{}: {e}", path.display())))?]
        }
        None => {
            let loaded = load_contexts(args)?;
            for l in &loaded {
                warn_incomplete(l);
            }
            loaded.into_iter().map(|l| l.context).collect()
        }
    };
    ContextSet::new(contexts).ok_or_else(|| Failure("no validation context".into()))
}

fn warn_incomplete(l: &Loaded) {
    let r = l.context.report();
    if !r.missing_packages.is_empty() {
        let names: Vec<String> = r
            .missing_packages
            .iter()
            .map(|m| format!("{}#{}", m.id, m.version))
            .collect();
        eprintln!(
            "note: {}: {} package dependencies are not available ({}); {} canonicals are unresolved. Run `shinny packages check` for details.",
            l.label,
            names.len(),
            names.join(", "),
            r.unresolved.len()
        );
    }
}

fn load_one(
    cache: &PackageCache,
    ig: &str,
    known: &Contexts,
    definitions: &[(String, Vec<u8>)],
    no_cache: bool,
) -> Result<Loaded, Failure> {
    let resolution = resolve_ig(cache, ig, known)?;
    let types: Vec<&str> = known.resource_types.iter().map(String::as_str).collect();
    let key = cache_key(&resolution, definitions);
    let cache_file = (!no_cache)
        .then(|| artifact_cache_dir().map(|d| d.join(format!("{key:016x}.rules"))))
        .flatten();
    if let Some(file) = &cache_file {
        if let Ok(bytes) = std::fs::read(file) {
            if let Ok(context) = Context::from_artifact(&bytes) {
                return Ok(Loaded {
                    context,
                    label: ig.to_string(),
                    from_cache: true,
                });
            }
        }
    }
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
    let context = b.build();
    if let Some(file) = &cache_file {
        // Best effort: a cache that cannot be written only costs time.
        let _ = write_atomically(file, &context.to_artifact());
    }
    Ok(Loaded {
        context,
        label: ig.to_string(),
        from_cache: false,
    })
}

/// Resolves an IG given as a cache name or a path, plus the extra packages
/// `ig/contexts.json` lists for it.
fn resolve_ig(cache: &PackageCache, ig: &str, known: &Contexts) -> Result<Resolution, Failure> {
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
        let r = PackageRef::parse(ig).map_err(|e| Failure(format!("--ig {ig}: {e}")))?;
        if cache.find(&r).is_none() {
            return Err(Failure(format!(
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

/// FNV-1a over what identifies the compiled result: engine format, the
/// packages (manifest, file list and sizes) and the definitions' bytes.
fn cache_key(res: &Resolution, definitions: &[(String, Vec<u8>)]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    };
    feed(env!("CARGO_PKG_VERSION").as_bytes());
    feed(&shinny_engine::model::artifact::FORMAT_VERSION.to_le_bytes());
    feed(CONTEXTS_JSON.as_bytes());
    for p in &res.packages {
        feed(p.reference().to_string().as_bytes());
        feed(format!("{:?}", p.source()).as_bytes());
        feed(format!("{:?}", p.manifest()).as_bytes());
        for f in p.files() {
            feed(f.path.as_bytes());
            if let shinny_packages::PackageSource::Folder(dir) = p.source() {
                let meta = std::fs::metadata(dir.join(&f.path)).ok();
                let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
                let mtime = meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                feed(&size.to_le_bytes());
                feed(&mtime.to_le_bytes());
            }
        }
    }
    for m in &res.missing {
        feed(m.id.as_bytes());
        feed(m.version.as_bytes());
    }
    for (name, bytes) in definitions {
        feed(name.as_bytes());
        feed(bytes);
    }
    h
}

/// `$SHINNY_CACHE_DIR`, else `$XDG_CACHE_HOME/shinny`, else `~/.cache/shinny`.
fn artifact_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SHINNY_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("shinny"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shinny"))
}

/// Writes through a temporary file and a rename, so readers never see a
/// half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Reads `--definitions` files and folders (recursively, `*.json`).
fn read_definitions(paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut out = Vec::new();
    for p in paths {
        let mut files = Vec::new();
        crate::inputs::collect_files(p, &["json"], &mut files)
            .map_err(|e| Failure(format!("--definitions {}: {e}", p.display())))?;
        for f in files {
            let bytes = std::fs::read(&f).map_err(|e| Failure(format!("{}: {e}", f.display())))?;
            out.push((f.display().to_string(), bytes));
        }
    }
    Ok(out)
}
