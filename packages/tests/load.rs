//! Loading the shared packages from folders and from the cache layout.

mod common;

use std::collections::BTreeMap;

use common::{json_files, shared, shared_packages};
use shinny_packages::{Package, PackageCache, PackageRef, PackageSource};

const ALL: [&str; 7] = [
    "hl7.fhir.r4.core#4.0.1",
    "hl7.fhir.us.core#3.1.1",
    "hl7.fhir.us.sdoh-clinicalcare#2.2.0",
    "hl7.fhir.uv.sdc#3.0.0",
    "local.shinny.vsac-subset#0.0.1",
    "us.ny.hrsn#1.9.4",
    "us.ny.hrsn#1.9.4-test",
];

#[test]
fn every_shared_package_loads_and_lists_its_files() {
    for name in ALL {
        let folder = shared(name);
        let package = Package::from_folder(&folder).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (id, version) = name.split_once('#').unwrap();
        assert_eq!(package.manifest().name, id);
        assert!(version.starts_with(&package.manifest().version), "{name}");
        assert!(
            package
                .manifest()
                .fhir_versions
                .contains(&"4.0.1".to_string()),
            "{name}"
        );

        // Every JSON file on disk is listed (all of them are resources here).
        let listed: Vec<String> = package.files().iter().map(|f| f.path.clone()).collect();
        assert_eq!(listed, json_files(&folder.join("package")), "{name}");

        // The listed type agrees with the file's own resourceType.
        for file in package.files().iter().step_by(97) {
            let bytes = package.read(file).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(
                json["resourceType"],
                file.resource_type.as_str(),
                "{}",
                file.path
            );
        }

        let example_dir = folder.join("package/example");
        let expected_examples: Vec<String> = if example_dir.is_dir() {
            json_files(&example_dir)
                .into_iter()
                .map(|n| format!("example/{n}"))
                .collect()
        } else {
            Vec::new()
        };
        let examples: Vec<String> = package.examples().iter().map(|f| f.path.clone()).collect();
        assert_eq!(examples, expected_examples, "{name}");
    }
}

#[test]
fn early_r4_core_manifest_without_index() {
    let folder = shared("hl7.fhir.r4.core#4.0.1");
    assert!(!folder.join("package/.index.json").exists());
    let core = Package::from_folder(&folder).unwrap();
    let m = core.manifest();
    assert_eq!(m.name, "hl7.fhir.r4.core");
    assert_eq!(m.version, "4.0.1");
    assert_eq!(m.fhir_versions, ["4.0.1"]);
    assert_eq!(m.canonical.as_deref(), Some("http://hl7.org/fhir"));
    assert_eq!(m.package_type.as_deref(), Some("fhir.core"));
    assert!(m.dependencies.is_empty());

    // Types come from file names; count them independently from the disk.
    let mut on_disk: BTreeMap<String, usize> = BTreeMap::new();
    for name in json_files(&folder.join("package")) {
        let ty = name.split_once('-').unwrap().0.to_string();
        *on_disk.entry(ty).or_default() += 1;
    }
    assert_eq!(core.resource_counts(), on_disk);
    assert!(core
        .files_of_type(&["StructureDefinition"])
        .all(|f| f.path.starts_with("StructureDefinition-")));
}

#[test]
fn index_metadata_is_used_and_examples_are_separate() {
    let hrsn = Package::from_folder(shared("us.ny.hrsn#1.9.4")).unwrap();
    let patient = hrsn
        .files()
        .iter()
        .find(|f| f.path == "StructureDefinition-shinny-patient.json")
        .unwrap();
    assert_eq!(patient.id.as_deref(), Some("shinny-patient"));
    assert_eq!(
        patient.url.as_deref(),
        Some("http://shinny.org/us/ny/hrsn/StructureDefinition/shinny-patient")
    );
    assert_eq!(
        hrsn.examples().len(),
        json_files(&shared("us.ny.hrsn#1.9.4/package/example")).len()
    );
    assert_eq!(hrsn.examples().len(), 119);
    assert!(hrsn.files().iter().all(|f| !f.path.starts_with("example/")));
    let examples = hrsn.load_examples().unwrap();
    assert_eq!(examples.len(), 119);
    assert!(examples.iter().all(|r| !r.bytes.is_empty()));
}

#[test]
fn ig_file_without_type_prefix_is_peeked() {
    // us.core's ig-r4.json is in neither .index.json nor named Type-….json.
    let us_core = Package::from_folder(shared("hl7.fhir.us.core#3.1.1")).unwrap();
    let ig = us_core
        .files()
        .iter()
        .find(|f| f.path == "ig-r4.json")
        .unwrap();
    assert_eq!(ig.resource_type, "ImplementationGuide");
}

#[test]
fn package_subfolder_itself_can_be_given() {
    let from_root = Package::from_folder(shared("us.ny.hrsn#1.9.4")).unwrap();
    let from_sub = Package::open(shared("us.ny.hrsn#1.9.4/package")).unwrap();
    assert_eq!(from_root.files(), from_sub.files());
    assert_eq!(from_root.source(), from_sub.source());
    assert!(matches!(from_sub.source(), PackageSource::Folder(p) if p.ends_with("package")));
    let err = Package::from_folder(shared_packages()).unwrap_err();
    assert!(err.to_string().contains("not a FHIR package"), "{err}");
}

#[test]
fn load_resources_reads_only_requested_types() {
    let hrsn = Package::from_folder(shared("us.ny.hrsn#1.9.4")).unwrap();
    let types = ["StructureDefinition", "ValueSet"];
    let loaded = hrsn.load_resources(&types).unwrap();
    let expected = hrsn.files_of_type(&types).count();
    assert_eq!(loaded.len(), expected);
    assert!(expected > 0 && expected < hrsn.files().len());
    for r in &loaded {
        let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
        assert_eq!(json["resourceType"], r.file.resource_type.as_str());
        assert!(types.contains(&r.file.resource_type.as_str()));
    }
    assert_eq!(hrsn.load_resources(&[]).unwrap().len(), hrsn.files().len());
}

#[test]
fn prod_and_test_hrsn_side_by_side() {
    let cache = PackageCache::new(vec![shared_packages()]);
    let prod = cache
        .load(&PackageRef::parse("us.ny.hrsn#1.9.4").unwrap())
        .unwrap();
    let test = cache
        .load(&PackageRef::parse("us.ny.hrsn#1.9.4-test").unwrap())
        .unwrap();
    assert_eq!(prod.reference().to_string(), "us.ny.hrsn#1.9.4");
    assert_eq!(test.reference().to_string(), "us.ny.hrsn#1.9.4-test");
    // Same manifest identity, different canonicals.
    assert_eq!(prod.manifest().version, test.manifest().version);
    assert_eq!(
        prod.manifest().canonical.as_deref(),
        Some("http://shinny.org/us/ny/hrsn")
    );
    assert_eq!(
        test.manifest().canonical.as_deref(),
        Some("http://test.shinny.org/us/ny/hrsn")
    );
    let url_of = |p: &Package| {
        p.files()
            .iter()
            .find(|f| f.path == "StructureDefinition-shinny-patient.json")
            .and_then(|f| f.url.clone())
            .unwrap()
    };
    assert_ne!(url_of(&prod), url_of(&test));
    assert!(url_of(&test).starts_with("http://test.shinny.org/"));
}

#[test]
fn cache_list_reports_every_folder() {
    let cache = PackageCache::new(vec![shared_packages()]);
    let list = cache.list();
    let names: Vec<String> = list.iter().map(|e| e.reference.to_string()).collect();
    assert_eq!(names, ALL);
    for entry in &list {
        let package = entry.package.as_ref().unwrap();
        assert_eq!(entry.folder, shared(&entry.reference.to_string()));
        let total: usize = package.resource_counts().values().sum();
        assert_eq!(total, json_files(&entry.folder.join("package")).len());
    }
    let hrsn = list
        .iter()
        .find(|e| e.reference.version() == "1.9.4-test")
        .unwrap();
    assert_eq!(
        hrsn.package
            .as_ref()
            .unwrap()
            .manifest()
            .canonical
            .as_deref(),
        Some("http://test.shinny.org/us/ny/hrsn")
    );
}

#[test]
fn cache_find_matches_wildcards_and_latest() {
    let cache = PackageCache::new(vec![shared_packages()]);
    let find = |s: &str| {
        cache
            .find(&PackageRef::parse(s).unwrap())
            .map(|f| f.reference.to_string())
    };
    assert_eq!(
        find("hl7.fhir.r4.core#4.0.x").as_deref(),
        Some("hl7.fhir.r4.core#4.0.1")
    );
    assert_eq!(
        find("hl7.fhir.r4.core#4.x").as_deref(),
        Some("hl7.fhir.r4.core#4.0.1")
    );
    assert_eq!(
        find("hl7.fhir.r4.core#latest").as_deref(),
        Some("hl7.fhir.r4.core#4.0.1")
    );
    // The release wins over the -test pre-release for `latest`.
    assert_eq!(
        find("us.ny.hrsn#latest").as_deref(),
        Some("us.ny.hrsn#1.9.4")
    );
    assert_eq!(
        find("us.ny.hrsn#1.9.4-test").as_deref(),
        Some("us.ny.hrsn#1.9.4-test")
    );
    assert_eq!(find("hl7.fhir.r4.core#4.1.x"), None);
    assert_eq!(find("hl7.fhir.r4.core#4.0.2"), None);
    let err = cache
        .load(&PackageRef::parse("no.such#1.0.0").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("no.such#1.0.0"), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinked_cache_entries_are_found() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        shared("us.ny.hrsn#1.9.4"),
        dir.path().join("us.ny.hrsn#1.9.4"),
    )
    .unwrap();
    let cache = PackageCache::new(vec![dir.path().to_path_buf()]);
    let list = cache.list();
    assert_eq!(list.len(), 1);
    assert!(list[0].package.is_ok());
    let latest = cache
        .find(&PackageRef::parse("us.ny.hrsn#1.x").unwrap())
        .unwrap();
    assert_eq!(latest.reference.to_string(), "us.ny.hrsn#1.9.4");
}
