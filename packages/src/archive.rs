//! Reading `.tgz` package archives safely, in memory.

use std::fs;
use std::io::Read;
use std::path::{Component, Path};

use flate2::read::GzDecoder;

use crate::error::{Error, Result};

/// Size bounds applied when reading a `.tgz`, so that a hostile or broken
/// archive cannot exhaust memory or disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Largest accepted compressed archive (bytes).
    pub max_compressed_bytes: u64,
    /// Largest accepted total of unpacked file contents (bytes).
    pub max_unpacked_bytes: u64,
    /// Largest accepted number of archive entries.
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    /// 512 MiB compressed, 2 GiB unpacked, 200,000 entries: well above the
    /// largest published FHIR packages, well below harm.
    fn default() -> Self {
        ArchiveLimits {
            max_compressed_bytes: 512 << 20,
            max_unpacked_bytes: 2 << 30,
            max_entries: 200_000,
        }
    }
}

/// One regular file of an archive, with a validated relative path.
pub(crate) struct ArchiveFile {
    /// `/`-separated path with only normal components, e.g. `package/package.json`.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Reads a whole file, refusing anything larger than `limit` bytes.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::archive(
            path.display().to_string(),
            format!("larger than the {limit}-byte limit"),
        ));
    }
    Ok(bytes)
}

/// Unpacks a gzip-compressed tar held in memory. Only regular files are
/// kept; directories are implied by paths, and links or devices are skipped
/// since a package never needs them and they are a classic escape route.
/// Absolute paths and `..` components reject the whole archive.
pub(crate) fn unpack(
    bytes: &[u8],
    origin: &str,
    limits: &ArchiveLimits,
) -> Result<Vec<ArchiveFile>> {
    let bad = |reason: String| Error::archive(origin, reason);
    if bytes.len() as u64 > limits.max_compressed_bytes {
        return Err(bad(format!(
            "{} bytes exceeds the {}-byte limit",
            bytes.len(),
            limits.max_compressed_bytes
        )));
    }
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err(bad("not a gzip file".into()));
    }
    // The tar reader sees at most max_unpacked (+ headers) decompressed
    // bytes, so a gzip bomb stops at the limit instead of filling memory.
    let header_allowance = (limits.max_entries as u64 + 2) * 1024;
    let budget = limits.max_unpacked_bytes.saturating_add(header_allowance);
    let decoder = GzDecoder::new(bytes).take(budget);
    let mut archive = tar::Archive::new(decoder);
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a tar archive: {e}")))?;
    let mut files = Vec::new();
    let mut unpacked: u64 = 0;
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            return Err(bad(format!("more than {} entries", limits.max_entries)));
        }
        let mut entry = entry.map_err(|e| bad(format!("corrupt archive: {e}")))?;
        let raw_path = entry
            .path()
            .map_err(|e| bad(format!("unreadable entry name: {e}")))?
            .into_owned();
        let path = safe_relative_path(&raw_path).map_err(bad)?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        let size = entry.size();
        if unpacked.saturating_add(size) > limits.max_unpacked_bytes {
            return Err(bad(format!(
                "unpacked contents exceed the {}-byte limit",
                limits.max_unpacked_bytes
            )));
        }
        let mut contents = Vec::with_capacity(size.min(64 << 20) as usize);
        entry
            .read_to_end(&mut contents)
            .map_err(|e| bad(format!("corrupt entry {}: {e}", raw_path.display())))?;
        if contents.len() as u64 != size {
            return Err(bad(format!("truncated entry {}", raw_path.display())));
        }
        unpacked += size;
        if let Some(path) = path {
            files.push(ArchiveFile {
                path,
                bytes: contents,
            });
        }
    }
    if files.is_empty() {
        return Err(bad("archive holds no files".into()));
    }
    Ok(files)
}

/// Normalizes an entry path to `a/b/c`; `Ok(None)` for the archive root.
fn safe_relative_path(path: &Path) -> std::result::Result<Option<String>, String> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                let part = part
                    .to_str()
                    .ok_or_else(|| format!("non-UTF-8 entry name {}", path.display()))?;
                // On Unix a backslash is an ordinary character, but such a
                // name would become a path on Windows.
                if part.contains('\\') || part.contains(':') {
                    return Err(format!("unsafe entry name {}", path.display()));
                }
                parts.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!("unsafe entry path {}", path.display()));
            }
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_normalization() {
        let ok = |p: &str| safe_relative_path(Path::new(p));
        assert_eq!(
            ok("./package/a.json").unwrap().as_deref(),
            Some("package/a.json")
        );
        assert!(ok("package/../../etc/passwd").is_err());
        assert!(ok("/etc/passwd").is_err());
        assert!(ok("package/a\\..\\b").is_err());
        assert_eq!(ok(".").unwrap(), None);
    }
}
