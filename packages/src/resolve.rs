//! Dependency resolution over a [`PackageCache`].

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::cache::PackageCache;
use crate::error::Result;
use crate::package::{Package, Resource};
use crate::reference::{compare_versions, PackageRef};

/// The packages needed by some root packages, as far as the cache has them.
#[derive(Debug)]
pub struct Resolution {
    /// Found packages, dependencies before dependents, each folder once.
    pub packages: Vec<Package>,
    /// Packages required but absent from the cache, sorted by id then version.
    pub missing: Vec<MissingPackage>,
}

/// A required package that is not in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPackage {
    /// The package id.
    pub id: String,
    /// The version as required (exact, wildcard, `latest`, …).
    pub version: String,
    /// The packages whose manifests require it, in discovery order; empty
    /// when it was one of the roots.
    pub required_by: Vec<PackageRef>,
}

/// Resources of one package, read by [`Resolution::load_resources`].
#[derive(Debug)]
pub struct PackageResources<'a> {
    /// The package they come from.
    pub package: &'a Package,
    /// The resources, in [`Package::files`] order.
    pub resources: Vec<Resource>,
}

impl PackageCache {
    /// Resolves `roots` and their dependencies, transitively.
    ///
    /// Versions match as in [`PackageCache::find`]. Two versions of the same
    /// id that are both required are both loaded: which one wins for a given
    /// canonical URL is the engine's decision. A missing package is reported
    /// in [`Resolution::missing`], not an error; a package that is present but
    /// unreadable is an error. Dependency cycles are broken, not followed.
    pub fn resolve(&self, roots: &[PackageRef]) -> Result<Resolution> {
        let mut state = State::default();
        for root in roots {
            self.visit(root.id(), root.version(), None, &mut state)?;
        }
        let mut missing = state.missing;
        missing.sort_by(|a, b| {
            a.id.cmp(&b.id)
                .then_with(|| compare_versions(&a.version, &b.version))
        });
        Ok(Resolution {
            packages: state.packages,
            missing,
        })
    }

    fn visit(
        &self,
        id: &str,
        version: &str,
        required_by: Option<&PackageRef>,
        state: &mut State,
    ) -> Result<()> {
        let found = PackageRef::new(id, version)
            .ok()
            .and_then(|r| self.find(&r));
        let Some(found) = found else {
            state.add_missing(id, version, required_by);
            return Ok(());
        };
        // Keyed by folder: `us.ny.hrsn#1.9.4` and `#1.9.4-test` are distinct
        // packages although their manifests say the same name and version.
        if !state.seen.insert(found.folder.clone()) {
            return Ok(());
        }
        let mut package = Package::from_folder(&found.folder)?;
        package.set_reference(found.reference);
        let me = package.reference().clone();
        for (dep_id, dep_version) in &package.manifest().dependencies {
            self.visit(dep_id, dep_version, Some(&me), state)?;
        }
        state.packages.push(package);
        Ok(())
    }
}

#[derive(Default)]
struct State {
    packages: Vec<Package>,
    /// Folders entered; checked on entry so that a cycle stops at once.
    seen: HashSet<PathBuf>,
    missing: Vec<MissingPackage>,
    missing_index: HashMap<(String, String), usize>,
}

impl State {
    fn add_missing(&mut self, id: &str, version: &str, required_by: Option<&PackageRef>) {
        let key = (id.to_string(), version.to_string());
        let index = *self.missing_index.entry(key).or_insert_with(|| {
            self.missing.push(MissingPackage {
                id: id.to_string(),
                version: version.to_string(),
                required_by: Vec::new(),
            });
            self.missing.len() - 1
        });
        if let Some(by) = required_by {
            let list = &mut self.missing[index].required_by;
            if !list.contains(by) {
                list.push(by.clone());
            }
        }
    }
}

impl Resolution {
    /// Reads the files of the given resource types (all when empty) of every
    /// package, in parallel across all files, in package order.
    pub fn load_resources(&self, types: &[&str]) -> Result<Vec<PackageResources<'_>>> {
        let wanted: Vec<(usize, &crate::ResourceFile)> = self
            .packages
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.files_of_type(types).map(move |f| (i, f)))
            .collect();
        let loaded: Vec<(usize, Resource)> = wanted
            .par_iter()
            .map(|&(i, f)| {
                let bytes = self.packages[i].read(f)?.into_owned();
                Ok((
                    i,
                    Resource {
                        file: f.clone(),
                        bytes,
                    },
                ))
            })
            .collect::<Result<_>>()?;
        let mut out: Vec<PackageResources<'_>> = self
            .packages
            .iter()
            .map(|package| PackageResources {
                package,
                resources: Vec::new(),
            })
            .collect();
        for (i, resource) in loaded {
            out[i].resources.push(resource);
        }
        Ok(out)
    }
}
