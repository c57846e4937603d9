//! Dependency resolution over the shared cache and synthetic caches, and
//! cache discovery.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::{shared_packages, write_folder_package};
use shinny_packages::{MissingPackage, PackageCache, PackageRef, Resolution};

fn r(s: &str) -> PackageRef {
    PackageRef::parse(s).unwrap()
}

fn missing(id: &str, version: &str, by: &[&str]) -> MissingPackage {
    MissingPackage {
        id: id.into(),
        version: version.into(),
        required_by: by.iter().map(|s| r(s)).collect(),
    }
}

fn names(resolution: &Resolution) -> Vec<String> {
    resolution
        .packages
        .iter()
        .map(|p| p.reference().to_string())
        .collect()
}

/// Every present dependency of a package comes before it.
fn assert_topological(resolution: &Resolution) {
    for (i, package) in resolution.packages.iter().enumerate() {
        for (id, _) in &package.manifest().dependencies {
            if let Some(j) = resolution
                .packages
                .iter()
                .position(|p| p.reference().id() == id)
            {
                assert!(j < i, "{id} after {}", package.reference());
            }
        }
    }
}

const HRSN_MISSING_BY: &str = "hl7.fhir.us.sdoh-clinicalcare#2.2.0";

fn expected_missing(root: &str) -> Vec<MissingPackage> {
    vec![
        missing("hl7.fhir.r4.examples", "4.0.1", &["hl7.fhir.uv.sdc#3.0.0"]),
        missing("hl7.fhir.uv.extensions.r4", "5.1.0", &[HRSN_MISSING_BY]),
        missing("hl7.fhir.uv.extensions.r4", "5.3.0", &[root]),
        missing("hl7.fhir.uv.subscriptions-backport", "0.1.0", &[root]),
        missing(
            "hl7.fhir.uv.subscriptions-backport.r4",
            "1.1.0",
            &[HRSN_MISSING_BY],
        ),
        missing("hl7.terminology.r4", "6.0.2", &[HRSN_MISSING_BY]),
        missing("hl7.terminology.r4", "7.3.0", &[root]),
        missing("us.nlm.vsac", "0.9.0", &[root]),
        missing("us.nlm.vsac", "0.19.0", &[HRSN_MISSING_BY]),
    ]
}

#[test]
fn hrsn_resolution_reports_exact_missing_list() {
    let cache = PackageCache::new(vec![shared_packages()]);
    let resolution = cache.resolve(&[r("us.ny.hrsn#1.9.4")]).unwrap();
    assert_eq!(
        names(&resolution),
        [
            "hl7.fhir.r4.core#4.0.1",
            "hl7.fhir.us.core#3.1.1",
            "hl7.fhir.uv.sdc#3.0.0",
            "hl7.fhir.us.sdoh-clinicalcare#2.2.0",
            "us.ny.hrsn#1.9.4",
        ]
    );
    assert_topological(&resolution);
    assert_eq!(resolution.missing, expected_missing("us.ny.hrsn#1.9.4"));
}

#[test]
fn test_package_resolves_the_same_way_and_both_load_together() {
    let cache = PackageCache::new(vec![shared_packages()]);
    let test = cache.resolve(&[r("us.ny.hrsn#1.9.4-test")]).unwrap();
    assert_eq!(test.missing, expected_missing("us.ny.hrsn#1.9.4-test"));
    assert_eq!(names(&test).last().unwrap(), "us.ny.hrsn#1.9.4-test");

    let both = cache
        .resolve(&[r("us.ny.hrsn#1.9.4"), r("us.ny.hrsn#1.9.4-test")])
        .unwrap();
    let got = names(&both);
    assert_eq!(got.len(), 6, "{got:?}"); // shared dependencies only once
    assert!(got.contains(&"us.ny.hrsn#1.9.4".to_string()));
    assert!(got.contains(&"us.ny.hrsn#1.9.4-test".to_string()));
    assert_topological(&both);
    let vsac = both
        .missing
        .iter()
        .find(|m| m.id == "us.nlm.vsac" && m.version == "0.9.0")
        .unwrap();
    assert_eq!(
        vsac.required_by,
        [r("us.ny.hrsn#1.9.4"), r("us.ny.hrsn#1.9.4-test")]
    );
}

#[test]
fn resolution_loads_requested_types_of_every_package() {
    let cache = PackageCache::new(vec![shared_packages()]);
    let resolution = cache.resolve(&[r("us.ny.hrsn#1.9.4")]).unwrap();
    let types = ["StructureDefinition", "ValueSet", "CodeSystem"];
    let loaded = resolution.load_resources(&types).unwrap();
    assert_eq!(loaded.len(), resolution.packages.len());
    for (entry, package) in loaded.iter().zip(&resolution.packages) {
        assert_eq!(entry.package.reference(), package.reference());
        assert_eq!(entry.resources.len(), package.files_of_type(&types).count());
    }
    let total: usize = loaded.iter().map(|l| l.resources.len()).sum();
    assert!(total > 3000, "{total}");
}

#[test]
fn missing_root_is_reported_not_an_error() {
    let cache = PackageCache::new(vec![shared_packages()]);
    let resolution = cache.resolve(&[r("no.such.package#1.0.0")]).unwrap();
    assert!(resolution.packages.is_empty());
    assert_eq!(
        resolution.missing,
        [missing("no.such.package", "1.0.0", &[])]
    );
}

#[test]
fn cycles_terminate_and_wildcards_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path();
    write_folder_package(cache_dir, "a#1.0.0", "a", "1.0.0", &[("b", "1.x")]);
    write_folder_package(cache_dir, "b#1.2.0", "b", "1.2.0", &[("c", "latest")]);
    write_folder_package(cache_dir, "b#1.10.0", "b", "1.10.0", &[("c", "latest")]);
    write_folder_package(cache_dir, "b#2.0.0", "b", "2.0.0", &[]);
    write_folder_package(
        cache_dir,
        "c#0.9.0",
        "c",
        "0.9.0",
        &[("a", "1.0.0"), ("d", "3.0.x")],
    );
    let cache = PackageCache::new(vec![cache_dir.to_path_buf()]);
    let resolution = cache.resolve(&[r("a#1.0.0")]).unwrap();
    assert_eq!(names(&resolution), ["c#0.9.0", "b#1.10.0", "a#1.0.0"]);
    assert_eq!(resolution.missing, [missing("d", "3.0.x", &["c#0.9.0"])]);
}

#[test]
fn corrupt_package_in_cache_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("bad#1.0.0/package");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("package.json"), b"{not json").unwrap();
    let cache = PackageCache::new(vec![dir.path().to_path_buf()]);
    let err = cache.resolve(&[r("bad#1.0.0")]).unwrap_err();
    assert!(
        err.to_string().contains("invalid package manifest"),
        "{err}"
    );
}

#[test]
fn earlier_cache_folder_wins() {
    let first = tempfile::tempdir().unwrap();
    write_folder_package(
        first.path(),
        "hl7.fhir.r4.core#4.0.1",
        "hl7.fhir.r4.core",
        "4.0.1",
        &[],
    );
    let cache = PackageCache::new(vec![first.path().to_path_buf(), shared_packages()]);
    let found = cache.find(&r("hl7.fhir.r4.core#4.0.1")).unwrap();
    assert!(found.folder.starts_with(first.path()));
    // Packages only in the second folder are still found.
    assert!(cache
        .find(&r("us.ny.hrsn#1.9.4"))
        .unwrap()
        .folder
        .starts_with(shared_packages()));
}

#[test]
fn discovery_order() {
    let home = Path::new("/home/someone");
    let explicit = vec![PathBuf::from("/a"), PathBuf::from("/b")];
    let env = OsStr::new("/from/env");

    let c = PackageCache::discover_from(&explicit, Some(env), Some(home));
    assert_eq!(c.folders(), explicit.as_slice());

    let c = PackageCache::discover_from(&[], Some(env), Some(home));
    assert_eq!(c.folders(), [PathBuf::from("/from/env")]);

    let joined = std::env::join_paths(["/x", "/y"]).unwrap();
    let c = PackageCache::discover_from(&[], Some(&joined), Some(home));
    assert_eq!(c.folders(), [PathBuf::from("/x"), PathBuf::from("/y")]);

    let c = PackageCache::discover_from(&[], Some(OsStr::new("")), Some(home));
    assert_eq!(c.folders(), [home.join(".fhir").join("packages")]);

    let c = PackageCache::discover_from(&[], None, Some(home));
    assert_eq!(c.folders(), [home.join(".fhir").join("packages")]);

    assert!(PackageCache::discover_from(&[], None, None)
        .folders()
        .is_empty());
}
