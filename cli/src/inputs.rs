//! What to validate: files, `.ndjson` files (one resource per line),
//! folders (recursively) and standard input.

use std::io::Read;
use std::path::{Path, PathBuf};

/// One source to read.
pub enum Source {
    /// A JSON file holding one resource or Bundle.
    Json(PathBuf),
    /// An NDJSON file: one resource per line.
    Ndjson(PathBuf),
    /// Standard input (one JSON document).
    Stdin,
}

/// One document to validate.
pub struct Document {
    /// `path`, `path:line` for NDJSON, `-` for stdin.
    pub label: String,
    pub bytes: Vec<u8>,
}

/// Expands the command-line paths into sources.
pub fn sources(paths: &[String]) -> Result<Vec<Source>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let path = Path::new(p);
        if !path.exists() {
            return Err(format!("{p}: no such file or folder"));
        }
        let mut files = Vec::new();
        collect_files(path, &["json", "ndjson"], &mut files).map_err(|e| format!("{p}: {e}"))?;
        if path.is_dir() && files.is_empty() {
            return Err(format!("{p}: no .json or .ndjson files in this folder"));
        }
        for f in files {
            if f.extension().is_some_and(|e| e == "ndjson") {
                out.push(Source::Ndjson(f));
            } else {
                out.push(Source::Json(f));
            }
        }
    }
    Ok(out)
}

/// Collects files under `path` with one of `exts` (a file given directly is
/// taken whatever its extension), sorted for stable output.
pub fn collect_files(path: &Path, exts: &[&str], out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            collect_files(&e, exts, out)?;
        } else if e
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| exts.contains(&x))
        {
            out.push(e);
        }
    }
    Ok(())
}

/// Reads a source into documents.
pub fn read(source: &Source) -> Result<Vec<Document>, String> {
    match source {
        Source::Json(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(vec![Document {
                label: p.display().to_string(),
                bytes,
            }])
        }
        Source::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("stdin: {e}"))?;
            Ok(vec![Document {
                label: "-".into(),
                bytes,
            }])
        }
        Source::Ndjson(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(bytes
                .split(|b| *b == b'\n')
                .enumerate()
                .filter(|(_, line)| line.iter().any(|b| !b.is_ascii_whitespace()))
                .map(|(i, line)| Document {
                    label: format!("{}:{}", p.display(), i + 1),
                    bytes: line.to_vec(),
                })
                .collect())
        }
    }
}
