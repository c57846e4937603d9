//! Downloading packages from a FHIR package registry into a cache folder.

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;

use crate::archive::{self, ArchiveFile, ArchiveLimits};
use crate::cache::PackageCache;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::reference::{compare_versions, PackageRef, VersionReq};

/// The public FHIR package registry.
pub const DEFAULT_REGISTRY: &str = "https://packages.fhir.org";

/// Progress of [`Installer::install`], reported as it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallEvent<'a> {
    /// A download is starting.
    Downloading {
        /// The package being fetched (exact version).
        package: &'a PackageRef,
        /// The URL requested.
        url: &'a str,
    },
    /// Download progress, reported about every MiB and once at the end.
    Progress {
        /// The package being fetched.
        package: &'a PackageRef,
        /// Bytes received so far.
        received: u64,
        /// The announced size (`Content-Length`), when known.
        total: Option<u64>,
    },
    /// A package was downloaded and placed in the cache.
    Installed {
        /// The package installed.
        package: &'a PackageRef,
        /// Its new folder, `<cache>/<id>#<version>`.
        folder: &'a Path,
        /// Size of the downloaded archive.
        bytes: u64,
    },
    /// A package was already in the cache; it was not downloaded.
    AlreadyInstalled {
        /// The package, as found in the cache.
        package: &'a PackageRef,
    },
    /// A dependency could not be installed (see [`InstallReport::failed`]).
    Failed {
        /// The dependency, as required.
        package: &'a str,
        /// Why.
        error: &'a Error,
    },
}

/// The outcome of an install whose root package is in the cache.
#[derive(Debug, Default)]
pub struct InstallReport {
    /// Packages downloaded by this call, in install order.
    pub installed: Vec<PackageRef>,
    /// Packages (root or dependencies) that were already in the cache.
    pub already_installed: Vec<PackageRef>,
    /// Dependencies that could not be installed, with the reason.
    pub failed: Vec<FailedInstall>,
}

/// A dependency that could not be installed.
#[derive(Debug)]
pub struct FailedInstall {
    /// The dependency as required, `id#version`.
    pub package: String,
    /// The package whose manifest requires it.
    pub required_by: PackageRef,
    /// Why it failed (HTTP status, network error, bad archive, …).
    pub error: Error,
}

impl InstallReport {
    /// True when every dependency was installed or already present.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Installs packages from a registry into one cache folder.
///
/// Downloads `{registry}/{id}/{version}` (the FHIR registry convention),
/// checks that it is a gzip tar holding the requested package within
/// [`ArchiveLimits`], and moves it into `<cache>/<id>#<version>/` in one
/// rename, so a failed install never leaves a partial package behind.
#[derive(Debug)]
pub struct Installer {
    registry: String,
    cache_dir: PathBuf,
    limits: ArchiveLimits,
    agent: ureq::Agent,
}

impl Installer {
    /// An installer for `registry_url` (e.g. [`DEFAULT_REGISTRY`]) writing
    /// into `cache_dir` (created when missing). Connecting times out after
    /// 30 s, and a read stalled for 120 s aborts the download.
    pub fn new(registry_url: &str, cache_dir: impl Into<PathBuf>) -> Installer {
        Installer {
            registry: registry_url.trim_end_matches('/').to_string(),
            cache_dir: cache_dir.into(),
            limits: ArchiveLimits::default(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(30))
                .timeout_read(Duration::from_secs(120))
                .build(),
        }
    }

    /// Replaces the default archive size limits.
    pub fn with_limits(mut self, limits: ArchiveLimits) -> Installer {
        self.limits = limits;
        self
    }

    /// Installs `root` and, transitively, its dependencies; packages already
    /// in the cache are not downloaded again (their dependencies are still
    /// checked). A wildcard, `latest` or `current` version is first matched
    /// against the cache, then against the registry's version list.
    ///
    /// Returns an error only when `root` itself cannot be installed; failed
    /// dependencies are listed in [`InstallReport::failed`].
    pub fn install(
        &self,
        root: &PackageRef,
        progress: &mut dyn FnMut(&InstallEvent),
    ) -> Result<InstallReport> {
        let mut report = InstallReport::default();
        let root_folder = self.ensure(root, progress, &mut report)?;
        let mut queue: VecDeque<PathBuf> = VecDeque::from([root_folder]);
        let mut seen: HashSet<String> = HashSet::from([root.to_string()]);
        while let Some(folder) = queue.pop_front() {
            // An unreadable manifest can only be one that was already in the
            // cache (downloads are checked); `PackageCache::resolve` reports it.
            let manifest_path = folder.join("package").join("package.json");
            let Ok(bytes) = fs::read(&manifest_path) else {
                continue;
            };
            let Ok(manifest) = Manifest::from_json(&bytes, &manifest_path.display().to_string())
            else {
                continue;
            };
            let Ok(parent) = PackageRef::new(&manifest.name, &manifest.version) else {
                continue;
            };
            for (id, version) in &manifest.dependencies {
                if !seen.insert(format!("{id}#{version}")) {
                    continue;
                }
                let outcome = PackageRef::new(id, version)
                    .and_then(|dep| self.ensure(&dep, progress, &mut report));
                match outcome {
                    Ok(dep_folder) => queue.push_back(dep_folder),
                    Err(error) => {
                        let package = format!("{id}#{version}");
                        progress(&InstallEvent::Failed {
                            package: &package,
                            error: &error,
                        });
                        report.failed.push(FailedInstall {
                            package,
                            required_by: parent.clone(),
                            error,
                        });
                    }
                }
            }
        }
        Ok(report)
    }

    /// Makes sure one package is in the cache; returns its folder.
    fn ensure(
        &self,
        wanted: &PackageRef,
        progress: &mut dyn FnMut(&InstallEvent),
        report: &mut InstallReport,
    ) -> Result<PathBuf> {
        let cache = PackageCache::new(vec![self.cache_dir.clone()]);
        if let Some(found) = cache.find(wanted) {
            progress(&InstallEvent::AlreadyInstalled {
                package: &found.reference,
            });
            if !report.already_installed.contains(&found.reference) {
                report.already_installed.push(found.reference);
            }
            return Ok(found.folder);
        }
        let exact = if wanted.is_exact() {
            wanted.clone()
        } else {
            let pinned = self.pin_version(wanted)?;
            if let Some(found) = cache.find(&pinned) {
                progress(&InstallEvent::AlreadyInstalled {
                    package: &found.reference,
                });
                if !report.already_installed.contains(&found.reference) {
                    report.already_installed.push(found.reference);
                }
                return Ok(found.folder);
            }
            pinned
        };
        let url = format!("{}/{}/{}", self.registry, exact.id(), exact.version());
        progress(&InstallEvent::Downloading {
            package: &exact,
            url: &url,
        });
        let bytes = self.get(
            &url,
            self.limits.max_compressed_bytes,
            &mut |received, total| {
                progress(&InstallEvent::Progress {
                    package: &exact,
                    received,
                    total,
                })
            },
        )?;
        let files = archive::unpack(&bytes, &url, &self.limits)?;
        check_manifest(&files, &exact, &url)?;
        let folder = write_atomically(&self.cache_dir, &exact, &files)?;
        progress(&InstallEvent::Installed {
            package: &exact,
            folder: &folder,
            bytes: bytes.len() as u64,
        });
        report.installed.push(exact);
        Ok(folder)
    }

    /// Chooses an exact version from the registry's `{registry}/{id}`
    /// listing (npm style: `versions` and `dist-tags.latest`).
    fn pin_version(&self, wanted: &PackageRef) -> Result<PackageRef> {
        #[derive(Deserialize)]
        struct Listing {
            #[serde(default)]
            versions: serde_json::Map<String, serde_json::Value>,
            #[serde(rename = "dist-tags", default)]
            dist_tags: std::collections::HashMap<String, String>,
        }
        let url = format!("{}/{}", self.registry, wanted.id());
        let body = self.get(&url, 64 << 20, &mut |_, _| {})?;
        let not_exact = |reason: String| Error::VersionNotExact {
            reference: wanted.to_string(),
            reason,
        };
        let listing: Listing = serde_json::from_slice(&body)
            .map_err(|e| not_exact(format!("unreadable version list from {url}: {e}")))?;
        let req = VersionReq::parse(wanted.version());
        let tagged = listing
            .dist_tags
            .get("latest")
            .filter(|_| req == VersionReq::Latest);
        let chosen = match tagged {
            Some(v) => Some(v.clone()),
            None => listing
                .versions
                .keys()
                .filter(|v| req.matches(v))
                .max_by(|a, b| compare_versions(a, b))
                .cloned(),
        };
        let chosen = chosen.ok_or_else(|| not_exact(format!("no matching version at {url}")))?;
        PackageRef::new(wanted.id(), chosen)
    }

    /// GETs `url` into memory, refusing bodies over `limit` bytes;
    /// `on_chunk(received, content_length)` is called about every MiB.
    fn get(
        &self,
        url: &str,
        limit: u64,
        on_chunk: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Vec<u8>> {
        let network = |message: String| Error::Network {
            url: url.to_string(),
            message,
        };
        let response = self.agent.get(url).call().map_err(|e| match e {
            ureq::Error::Status(status, _) => Error::HttpStatus {
                url: url.to_string(),
                status,
            },
            ureq::Error::Transport(t) => network(t.to_string()),
        })?;
        let total = response
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if total.is_some_and(|t| t > limit) {
            return Err(Error::archive(
                url,
                format!("larger than the {limit}-byte limit"),
            ));
        }
        let mut reader = response.into_reader().take(limit + 1);
        let mut body = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut reported = 0u64;
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(network(e.to_string())),
            };
            body.extend_from_slice(&chunk[..n]);
            let received = body.len() as u64;
            if received > limit {
                return Err(Error::archive(
                    url,
                    format!("larger than the {limit}-byte limit"),
                ));
            }
            if received - reported >= 1 << 20 {
                reported = received;
                on_chunk(received, total);
            }
        }
        if body.len() as u64 != reported || reported == 0 {
            on_chunk(body.len() as u64, total);
        }
        Ok(body)
    }
}

/// Installs `package` and its dependencies from `registry_url` into
/// `cache_dir` with default limits; see [`Installer::install`].
pub fn install(
    registry_url: &str,
    package: &PackageRef,
    cache_dir: &Path,
    progress: &mut dyn FnMut(&InstallEvent),
) -> Result<InstallReport> {
    Installer::new(registry_url, cache_dir).install(package, progress)
}

fn check_manifest(files: &[ArchiveFile], wanted: &PackageRef, origin: &str) -> Result<()> {
    let manifest = files
        .iter()
        .rev() // tar semantics: a later duplicate entry wins
        .find(|f| f.path == "package/package.json")
        .ok_or_else(|| Error::NotAPackage {
            origin: origin.to_string(),
        })?;
    let manifest = Manifest::from_json(&manifest.bytes, &format!("{origin}:package/package.json"))?;
    if manifest.name != wanted.id() || manifest.version != wanted.version() {
        return Err(Error::Mismatch {
            requested: wanted.to_string(),
            delivered: format!("{}#{}", manifest.name, manifest.version),
        });
    }
    Ok(())
}

/// Writes into a temporary sibling folder, then renames it into place, so
/// that readers see either no package or a complete one.
fn write_atomically(
    cache_dir: &Path,
    reference: &PackageRef,
    files: &[ArchiveFile],
) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(cache_dir).map_err(|e| Error::io(cache_dir, e))?;
    let target = cache_dir.join(reference.folder_name());
    // A leading dot keeps the folder out of cache listings (ids cannot start with one).
    let temp = cache_dir.join(format!(
        ".shinny-tmp-{}-{}-{}",
        reference.folder_name(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_tree(&temp, files)
        .and_then(|()| fs::rename(&temp, &target).map_err(|e| Error::io(&target, e)));
    match written {
        Ok(()) => Ok(target),
        Err(error) => {
            let _ = fs::remove_dir_all(&temp);
            // Another process may have installed the same package meanwhile.
            if target.join("package").join("package.json").is_file() {
                Ok(target)
            } else {
                Err(error)
            }
        }
    }
}

fn write_tree(root: &Path, files: &[ArchiveFile]) -> Result<()> {
    fs::create_dir(root).map_err(|e| Error::io(root, e))?;
    for file in files {
        // Paths were validated by `archive::unpack`: relative, no `..`.
        let path = root.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        fs::write(&path, &file.bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
