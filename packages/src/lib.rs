//! FHIR NPM package access for shinny: the disk and network side that the
//! I/O-free engine does not do.
//!
//! - [`PackageRef`]: `id#version` references, with wildcard versions.
//! - [`Package`]: one package from a folder or a `.tgz`; lists resource files
//!   by type and reads their raw bytes (in parallel) for the engine to parse.
//! - [`PackageCache`]: cache folders in the `<id>#<version>/package/` layout,
//!   discovered from `--package-dir`, `$FHIR_PACKAGE_CACHE` or
//!   `~/.fhir/packages`; [`PackageCache::resolve`] follows dependencies and
//!   reports the missing ones.
//! - [`install`] / [`Installer`]: download from a FHIR package registry into
//!   a cache folder, atomically and with size and path checks.
//! - [`context`]: resolve an IG (plus the extra packages `ig/contexts.json`
//!   adds) and compile it into an engine context; shared by the CLI and
//!   the C ABI.
//!
//! # Version matching
//!
//! A cache folder named exactly `id#version` always wins, so pre-release or
//! local variants such as `us.ny.hrsn#1.9.4-test` (whose manifest says
//! `1.9.4`) are found and can be loaded beside `us.ny.hrsn#1.9.4`. Otherwise
//! `4.0.x` / `4.x` / `*` select the highest matching release in the cache,
//! and `latest` / `current` the highest release; pre-releases (versions with
//! a `-`) only ever match exactly. [`Installer`] applies the same rules to
//! the registry's version list when the cache has no match.
//!
//! ```no_run
//! use shinny_packages::{PackageCache, PackageRef};
//!
//! let cache = PackageCache::discover(&[]);
//! let root = PackageRef::parse("us.ny.hrsn#1.9.4")?;
//! let resolution = cache.resolve(&[root])?;
//! for missing in &resolution.missing {
//!     eprintln!("missing {}#{}", missing.id, missing.version);
//! }
//! for loaded in resolution.load_resources(&["StructureDefinition", "ValueSet", "CodeSystem"])? {
//!     println!("{}: {} resources", loaded.package.reference(), loaded.resources.len());
//! }
//! # Ok::<(), shinny_packages::Error>(())
//! ```

mod archive;
mod cache;
pub mod context;
mod error;
mod install;
mod manifest;
mod package;
mod reference;
mod resolve;

pub use archive::ArchiveLimits;
pub use cache::{CacheEntry, CachedPackage, PackageCache, CACHE_ENV_VAR};
pub use error::{Error, Result};
pub use install::{
    install, FailedInstall, InstallEvent, InstallReport, Installer, DEFAULT_REGISTRY,
};
pub use manifest::Manifest;
pub use package::{Package, PackageSource, Resource, ResourceFile};
pub use reference::PackageRef;
pub use resolve::{MissingPackage, PackageResources, Resolution};
