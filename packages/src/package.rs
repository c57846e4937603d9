//! One FHIR package, loaded from a folder or a `.tgz`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;

use crate::archive::{self, ArchiveLimits};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::reference::PackageRef;

/// Largest single resource file read from a package folder. Real resources
/// are at most a few MiB; this only stops reading a mistaken huge file.
const MAX_FILE_BYTES: u64 = 256 << 20;

/// Where a package was loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageSource {
    /// A folder; the path is the `package/` folder holding `package.json`.
    Folder(PathBuf),
    /// A `.tgz` archive file, read into memory.
    Tgz(PathBuf),
    /// A `.tgz` given as bytes; the text is the caller's label for it.
    Bytes(String),
}

/// One resource file of a package, as listed (its content is not read).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceFile {
    /// Path relative to the `package/` folder: `X.json` or `example/X.json`.
    pub path: String,
    /// The resource type, from `.index.json`, else the `Type-….json` file
    /// name, else the file's own `resourceType`.
    pub resource_type: String,
    /// The resource id, when `.index.json` gives it.
    pub id: Option<String>,
    /// The canonical URL, when `.index.json` gives it.
    pub url: Option<String>,
    /// The resource version, when `.index.json` gives it.
    pub version: Option<String>,
}

/// A resource file together with its raw bytes (the engine parses them).
#[derive(Debug, Clone)]
pub struct Resource {
    /// What was read.
    pub file: ResourceFile,
    /// The file content, unparsed.
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
enum Storage {
    Folder(PathBuf),
    Memory(HashMap<String, Vec<u8>>),
}

/// A loaded FHIR package: its manifest and the list of its resource files.
///
/// Loading reads only `package.json`, `.index.json` and folder listings (plus
/// the rare file whose type cannot be told from its name); resource contents
/// are read on demand with [`Package::read`] or [`Package::load_resources`].
#[derive(Debug)]
pub struct Package {
    reference: PackageRef,
    manifest: Manifest,
    source: PackageSource,
    files: Vec<ResourceFile>,
    examples: Vec<ResourceFile>,
    storage: Storage,
}

impl Package {
    /// Loads a package folder: either the folder holding `package/package.json`
    /// (the cache layout `<id>#<version>/`) or the `package/` folder itself.
    pub fn from_folder(path: impl AsRef<Path>) -> Result<Package> {
        let path = path.as_ref();
        let package_dir = if path.join("package").join("package.json").is_file() {
            path.join("package")
        } else if path.join("package.json").is_file() {
            path.to_path_buf()
        } else {
            return Err(Error::NotAPackage {
                origin: path.display().to_string(),
            });
        };
        let manifest_path = package_dir.join("package.json");
        let manifest_bytes = archive::read_bounded(&manifest_path, MAX_FILE_BYTES)?;
        let manifest = Manifest::from_json(&manifest_bytes, &manifest_path.display().to_string())?;
        let reference = manifest_reference(&manifest, &manifest_path.display().to_string())?;

        let files = list_folder(&package_dir, "")?;
        let example_dir = package_dir.join("example");
        let examples = if example_dir.is_dir() {
            list_folder(&example_dir, "example/")?
        } else {
            Vec::new()
        };
        Ok(Package {
            reference,
            manifest,
            source: PackageSource::Folder(package_dir.clone()),
            files,
            examples,
            storage: Storage::Folder(package_dir),
        })
    }

    /// Loads a package from a path that is either a `.tgz` file or a package
    /// folder (see [`Package::from_folder`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Package> {
        let path = path.as_ref();
        if path.is_file() {
            Package::from_tgz(path)
        } else {
            Package::from_folder(path)
        }
    }

    /// Loads a `.tgz` package file into memory, with default [`ArchiveLimits`].
    pub fn from_tgz(path: impl AsRef<Path>) -> Result<Package> {
        Package::from_tgz_with_limits(path, &ArchiveLimits::default())
    }

    /// Loads a `.tgz` package file into memory within the given limits.
    pub fn from_tgz_with_limits(path: impl AsRef<Path>, limits: &ArchiveLimits) -> Result<Package> {
        let path = path.as_ref();
        let bytes = archive::read_bounded(path, limits.max_compressed_bytes)?;
        let mut package = Package::from_tgz_bytes(&bytes, &path.display().to_string(), limits)?;
        package.source = PackageSource::Tgz(path.to_path_buf());
        Ok(package)
    }

    /// Loads a `.tgz` held in memory; `label` names it in errors.
    pub fn from_tgz_bytes(bytes: &[u8], label: &str, limits: &ArchiveLimits) -> Result<Package> {
        let files = archive::unpack(bytes, label, limits)?;
        Package::from_archive_files(files, label)
    }

    pub(crate) fn from_archive_files(
        files: Vec<archive::ArchiveFile>,
        label: &str,
    ) -> Result<Package> {
        // Keep only `package/…`, keyed relative to it like folder packages.
        let contents: HashMap<String, Vec<u8>> = files
            .into_iter()
            .filter_map(|f| {
                f.path
                    .strip_prefix("package/")
                    .map(|rel| (rel.to_string(), f.bytes))
            })
            .collect();
        let manifest_bytes = contents
            .get("package.json")
            .ok_or_else(|| Error::NotAPackage {
                origin: label.to_string(),
            })?;
        let origin = format!("{label}:package/package.json");
        let manifest = Manifest::from_json(manifest_bytes, &origin)?;
        let reference = manifest_reference(&manifest, &origin)?;

        let mut top = Vec::new();
        let mut example = Vec::new();
        for name in contents.keys() {
            match name.split_once('/') {
                None => top.push(name.clone()),
                Some(("example", rest)) if !rest.contains('/') => example.push(rest.to_string()),
                Some(_) => {}
            }
        }
        let peek = |rel: &str| contents.get(rel).and_then(|b| peek_type(b));
        let files = list_names(top, contents.get(".index.json").map(|b| &b[..]), "", &peek);
        let examples = list_names(
            example,
            contents.get("example/.index.json").map(|b| &b[..]),
            "example/",
            &peek,
        );
        Ok(Package {
            reference,
            manifest,
            source: PackageSource::Bytes(label.to_string()),
            files,
            examples,
            storage: Storage::Memory(contents),
        })
    }

    /// The reference this package is known by: its cache folder name when it
    /// was found in a [`crate::PackageCache`] (so `us.ny.hrsn#1.9.4-test`),
    /// else the manifest's `name#version`.
    pub fn reference(&self) -> &PackageRef {
        &self.reference
    }

    pub(crate) fn set_reference(&mut self, reference: PackageRef) {
        self.reference = reference;
    }

    /// The parsed `package.json`.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Where the package was loaded from.
    pub fn source(&self) -> &PackageSource {
        &self.source
    }

    /// The resource files directly in `package/`, sorted by path. Files whose
    /// resource type cannot be determined (non-resources) are not listed.
    pub fn files(&self) -> &[ResourceFile] {
        &self.files
    }

    /// The example resource files in `package/example/`, sorted by path.
    pub fn examples(&self) -> &[ResourceFile] {
        &self.examples
    }

    /// The files of `package/` whose resource type is one of `types`
    /// (all of them when `types` is empty).
    pub fn files_of_type<'a>(
        &'a self,
        types: &'a [&str],
    ) -> impl Iterator<Item = &'a ResourceFile> + 'a {
        self.files
            .iter()
            .filter(move |f| types.is_empty() || types.contains(&f.resource_type.as_str()))
    }

    /// Number of files in `package/` per resource type.
    pub fn resource_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for f in &self.files {
            *counts.entry(f.resource_type.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// The raw bytes of one listed file (borrowed for in-memory packages).
    pub fn read(&self, file: &ResourceFile) -> Result<Cow<'_, [u8]>> {
        match &self.storage {
            Storage::Folder(dir) => {
                let path = dir.join(&file.path);
                archive::read_bounded(&path, MAX_FILE_BYTES).map(Cow::Owned)
            }
            Storage::Memory(contents) => contents
                .get(&file.path)
                .map(|b| Cow::Borrowed(&b[..]))
                .ok_or_else(|| {
                    Error::io(
                        &file.path,
                        std::io::Error::new(std::io::ErrorKind::NotFound, "not in this package"),
                    )
                }),
        }
    }

    /// Reads the files of `package/` of the given types (all when empty),
    /// in parallel, in [`Package::files`] order.
    pub fn load_resources(&self, types: &[&str]) -> Result<Vec<Resource>> {
        let wanted: Vec<&ResourceFile> = self.files_of_type(types).collect();
        self.load_all(&wanted)
    }

    /// Reads all example files, in parallel, in [`Package::examples`] order.
    pub fn load_examples(&self) -> Result<Vec<Resource>> {
        let wanted: Vec<&ResourceFile> = self.examples.iter().collect();
        self.load_all(&wanted)
    }

    fn load_all(&self, files: &[&ResourceFile]) -> Result<Vec<Resource>> {
        files
            .par_iter()
            .map(|f| {
                Ok(Resource {
                    file: (*f).clone(),
                    bytes: self.read(f)?.into_owned(),
                })
            })
            .collect()
    }
}

fn manifest_reference(manifest: &Manifest, origin: &str) -> Result<PackageRef> {
    PackageRef::new(&manifest.name, &manifest.version).map_err(|e| Error::Manifest {
        origin: origin.to_string(),
        reason: e.to_string(),
    })
}

fn list_folder(dir: &Path, prefix: &str) -> Result<Vec<ResourceFile>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let is_file = match entry.file_type() {
            Ok(t) if t.is_symlink() => entry.path().is_file(),
            Ok(t) => t.is_file(),
            Err(_) => false,
        };
        if let (true, Some(name)) = (is_file, entry.file_name().to_str()) {
            names.push(name.to_string());
        }
    }
    let index = fs::read(dir.join(".index.json")).ok();
    let peek_file = |name: &str| {
        archive::read_bounded(
            &dir.join(name.strip_prefix(prefix).unwrap_or(name)),
            MAX_FILE_BYTES,
        )
        .ok()
        .and_then(|b| peek_type(&b))
    };
    Ok(list_names(names, index.as_deref(), prefix, &peek_file))
}

#[derive(Deserialize)]
struct Index {
    files: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    filename: String,
    #[serde(rename = "resourceType")]
    resource_type: String,
    id: Option<String>,
    url: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct Peek {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
}

fn peek_type(bytes: &[u8]) -> Option<String> {
    serde_json::from_slice::<Peek>(bytes).ok()?.resource_type
}

/// Builds the sorted file list of one folder from its file names, its
/// `.index.json` (a corrupt index is ignored, names still work) and, as a
/// last resort, `peek` (given the path relative to `package/`).
fn list_names(
    names: Vec<String>,
    index: Option<&[u8]>,
    prefix: &str,
    peek: &dyn Fn(&str) -> Option<String>,
) -> Vec<ResourceFile> {
    let mut indexed: HashMap<String, IndexEntry> = index
        .and_then(|b| serde_json::from_slice::<Index>(b).ok())
        .map(|i| {
            i.files
                .into_iter()
                .map(|e| (e.filename.clone(), e))
                .collect()
        })
        .unwrap_or_default();
    let mut files: Vec<ResourceFile> = names
        .into_iter()
        .filter(|n| n.ends_with(".json") && !n.starts_with('.') && n != "package.json")
        .filter_map(|name| {
            let path = format!("{prefix}{name}");
            if let Some(e) = indexed.remove(&name) {
                return Some(ResourceFile {
                    path,
                    resource_type: e.resource_type,
                    id: e.id,
                    url: e.url,
                    version: e.version,
                });
            }
            let resource_type = type_from_name(&name).or_else(|| peek(&path))?;
            Some(ResourceFile {
                path,
                resource_type,
                id: None,
                url: None,
                version: None,
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// `StructureDefinition-us-core-patient.json` → `StructureDefinition`.
fn type_from_name(name: &str) -> Option<String> {
    let (prefix, _) = name.split_once('-')?;
    let mut chars = prefix.chars();
    let plausible = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric());
    plausible.then(|| prefix.to_string())
}
