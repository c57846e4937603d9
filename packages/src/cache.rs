//! The local package cache: folders in the `<id>#<version>/package/` layout.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::package::Package;
use crate::reference::{compare_versions, PackageRef, VersionReq};

/// Environment variable naming the package cache folder(s); several folders
/// are separated as in `PATH` (`:` on Unix, `;` on Windows).
pub const CACHE_ENV_VAR: &str = "FHIR_PACKAGE_CACHE";

/// One or more package cache folders, searched in order.
///
/// Each folder holds packages in the standard layout
/// `<folder>/<id>#<version>/package/package.json`. Folder names are matched
/// as written, so `us.ny.hrsn#1.9.4-test` is found as such even though its
/// manifest says version `1.9.4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCache {
    folders: Vec<PathBuf>,
}

/// A package located in the cache (not yet loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPackage {
    /// The reference given by the folder name (`id#version`).
    pub reference: PackageRef,
    /// The package folder, `<cache>/<id>#<version>`.
    pub folder: PathBuf,
}

/// One entry of [`PackageCache::list`].
#[derive(Debug)]
pub struct CacheEntry {
    /// The reference given by the folder name.
    pub reference: PackageRef,
    /// The package folder.
    pub folder: PathBuf,
    /// The loaded package (manifest, file listing, resource counts), or why
    /// it could not be loaded.
    pub package: Result<Package>,
}

impl PackageCache {
    /// A cache made of exactly these folders, searched in order. Folders that
    /// do not exist are treated as empty.
    pub fn new(folders: Vec<PathBuf>) -> PackageCache {
        PackageCache { folders }
    }

    /// The standard discovery: `explicit` folders if any (the CLI's repeatable
    /// `--package-dir`), else `$FHIR_PACKAGE_CACHE`, else `~/.fhir/packages`.
    pub fn discover(explicit: &[PathBuf]) -> PackageCache {
        let env = std::env::var_os(CACHE_ENV_VAR);
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from);
        PackageCache::discover_from(explicit, env.as_deref(), home.as_deref())
    }

    /// [`PackageCache::discover`] with the environment passed in: `env_cache`
    /// is the value of `$FHIR_PACKAGE_CACHE`, `home` the home folder. An empty
    /// variable counts as unset.
    pub fn discover_from(
        explicit: &[PathBuf],
        env_cache: Option<&OsStr>,
        home: Option<&Path>,
    ) -> PackageCache {
        if !explicit.is_empty() {
            return PackageCache::new(explicit.to_vec());
        }
        if let Some(value) = env_cache.filter(|v| !v.is_empty()) {
            let folders: Vec<PathBuf> = std::env::split_paths(value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            if !folders.is_empty() {
                return PackageCache::new(folders);
            }
        }
        let folders = home
            .map(|h| vec![h.join(".fhir").join("packages")])
            .unwrap_or_default();
        PackageCache::new(folders)
    }

    /// The folders searched, in order.
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    /// Finds a package folder.
    ///
    /// A folder named exactly `id#version` wins (the first in folder order);
    /// this is how `1.9.4-test` or a literal `#current` folder are found.
    /// Otherwise a wildcard version (`4.0.x`, `4.x`, `*`), `latest` or
    /// `current` picks the highest matching version across all folders;
    /// pre-release versions (with a `-`) are only ever matched exactly.
    pub fn find(&self, reference: &PackageRef) -> Option<CachedPackage> {
        let name = reference.folder_name();
        for dir in &self.folders {
            let folder = dir.join(&name);
            if folder.join("package").join("package.json").is_file() {
                return Some(CachedPackage {
                    reference: reference.clone(),
                    folder,
                });
            }
        }
        let req = VersionReq::parse(reference.version());
        if req == VersionReq::Exact {
            return None;
        }
        let mut best: Option<CachedPackage> = None;
        for found in self.entries() {
            if found.reference.id() != reference.id() || !req.matches(found.reference.version()) {
                continue;
            }
            if !found.folder.join("package").join("package.json").is_file() {
                continue;
            }
            let better = match &best {
                None => true,
                Some(b) => {
                    compare_versions(found.reference.version(), b.reference.version()).is_gt()
                }
            };
            if better {
                best = Some(found);
            }
        }
        best
    }

    /// Loads a package, or [`Error::NotFound`]. The loaded package's
    /// [`Package::reference`] is the cache folder name.
    pub fn load(&self, reference: &PackageRef) -> Result<Package> {
        let found = self.find(reference).ok_or_else(|| Error::NotFound {
            reference: reference.to_string(),
            folders: self
                .folders
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let mut package = Package::from_folder(&found.folder)?;
        package.set_reference(found.reference);
        Ok(package)
    }

    /// Every `id#version` folder of every cache folder, in folder order and
    /// then by reference, each loaded (for `shinny packages list`).
    pub fn list(&self) -> Vec<CacheEntry> {
        self.entries()
            .into_iter()
            .map(|found| {
                let package = Package::from_folder(&found.folder).map(|mut p| {
                    p.set_reference(found.reference.clone());
                    p
                });
                CacheEntry {
                    reference: found.reference,
                    folder: found.folder,
                    package,
                }
            })
            .collect()
    }

    /// All `id#version` sub-folders; unreadable or missing cache folders
    /// and names that are not valid references are skipped.
    fn entries(&self) -> Vec<CachedPackage> {
        let mut all = Vec::new();
        for dir in &self.folders {
            let Ok(read) = fs::read_dir(dir) else {
                continue;
            };
            let mut here: Vec<CachedPackage> = read
                .filter_map(|e| e.ok())
                // `Path::is_dir` follows symlinks: linked package folders count.
                .filter(|e| e.path().is_dir())
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_string();
                    let (id, version) = name.split_once('#')?;
                    let reference = PackageRef::new(id, version).ok()?;
                    Some(CachedPackage {
                        reference,
                        folder: e.path(),
                    })
                })
                .collect();
            here.sort_by(|a, b| a.reference.cmp(&b.reference));
            all.extend(here);
        }
        all
    }
}
