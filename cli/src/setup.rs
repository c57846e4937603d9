//! Building validation contexts from packages, definitions or an artifact,
//! with a cache of compiled artifacts keyed by the packages' content.

use crate::{ContextArgs, Failure};
use shinny_engine::{Context, ContextSet};
use shinny_packages::context::{build_context, resolve_ig, KnownContexts, CONTEXTS_JSON};
use shinny_packages::{PackageCache, Resolution};
use std::path::{Path, PathBuf};

/// A loaded context and what was missing while building it.
pub struct Loaded {
    pub context: Context,
    pub label: String,
    pub from_cache: bool,
}

/// Builds one context per `--ig` (or the default IG).
pub fn load_contexts(args: &ContextArgs) -> Result<Vec<Loaded>, Failure> {
    let known = KnownContexts::builtin();
    let cache = PackageCache::discover(&args.package_dirs);
    let igs = if args.igs.is_empty() {
        vec![known.default_ig.clone()]
    } else {
        args.igs.clone()
    };
    let definitions = read_definitions(&args.definitions)?;
    let code_lists = read_code_lists(&args.code_lists)?;
    igs.iter()
        .map(|ig| load_one(&cache, ig, &known, &definitions, &code_lists, args.no_cache))
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
    known: &KnownContexts,
    definitions: &[(String, Vec<u8>)],
    code_lists: &[(String, String)],
    no_cache: bool,
) -> Result<Loaded, Failure> {
    let resolution = resolve_ig(cache, ig, known)?;
    let key = cache_key(&resolution, definitions, code_lists);
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
    let context = build_context(&resolution, known, definitions, code_lists)?;
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

/// FNV-1a over what identifies the compiled result: engine format, the
/// packages (manifest, file list and sizes) and the definitions' bytes.
fn cache_key(
    res: &Resolution,
    definitions: &[(String, Vec<u8>)],
    code_lists: &[(String, String)],
) -> u64 {
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
    for (system, text) in code_lists {
        feed(system.as_bytes());
        feed(text.as_bytes());
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

/// Reads `--code-list SYSTEM=FILE` arguments.
fn read_code_lists(args: &[String]) -> Result<Vec<(String, String)>, Failure> {
    args.iter()
        .map(|a| {
            let (system, file) = a
                .split_once('=')
                .ok_or_else(|| Failure(format!("--code-list {a}: expected SYSTEM=FILE")))?;
            let text = std::fs::read_to_string(file)
                .map_err(|e| Failure(format!("--code-list {file}: {e}")))?;
            Ok((system.to_string(), text))
        })
        .collect()
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
