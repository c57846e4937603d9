//! Loading packages from `.tgz` archives, and rejecting unsafe ones.

mod common;

use common::{shared, synthetic_tgz, tgz_of_entries, tgz_of_folder};
use shinny_packages::{ArchiveLimits, Error, Package, PackageSource};

#[test]
fn tgz_matches_folder() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["us.ny.hrsn#1.9.4-test", "local.shinny.vsac-subset#0.0.1"] {
        let folder = Package::from_folder(shared(name)).unwrap();
        let path = dir.path().join(format!("{name}.tgz"));
        std::fs::write(&path, tgz_of_folder(&shared(name))).unwrap();
        let tgz = Package::open(&path).unwrap();
        assert_eq!(tgz.source(), &PackageSource::Tgz(path.clone()));
        assert_eq!(tgz.manifest(), folder.manifest());
        assert_eq!(tgz.files(), folder.files(), "{name}");
        assert_eq!(tgz.examples(), folder.examples(), "{name}");
        let from_tgz = tgz
            .load_resources(&["StructureDefinition", "ValueSet"])
            .unwrap();
        let from_dir = folder
            .load_resources(&["StructureDefinition", "ValueSet"])
            .unwrap();
        assert_eq!(from_tgz.len(), from_dir.len());
        for (a, b) in from_tgz.iter().zip(&from_dir) {
            assert_eq!(a.file, b.file);
            assert_eq!(a.bytes, b.bytes, "{}", a.file.path);
        }
        let examples = tgz.load_examples().unwrap();
        assert_eq!(examples.len(), folder.examples().len());
    }
}

#[test]
fn tgz_with_dot_slash_prefix_and_peeked_types() {
    let bytes = tgz_of_entries(&[
        (
            "./package/package.json",
            br#"{"name":"x.y","version":"1.0.0"}"#,
        ),
        (
            "./package/odd-name.json",
            br#"{"resourceType":"ValueSet","id":"v"}"#,
        ),
        ("./package/notes.txt", b"ignored"),
        (
            "./package/other/Deep-file.json",
            br#"{"resourceType":"Basic"}"#,
        ),
        ("./other/outside.json", b"{}"),
    ]);
    let p = Package::from_tgz_bytes(&bytes, "mem", &ArchiveLimits::default()).unwrap();
    assert_eq!(p.reference().to_string(), "x.y#1.0.0");
    let listed: Vec<(&str, &str)> = p
        .files()
        .iter()
        .map(|f| (f.path.as_str(), f.resource_type.as_str()))
        .collect();
    assert_eq!(listed, [("odd-name.json", "ValueSet")]);
}

fn expect_archive_error(result: Result<Package, Error>, needle: &str) {
    match result {
        Err(Error::Archive { reason, .. }) => assert!(reason.contains(needle), "{reason}"),
        other => panic!("expected an archive error containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn path_traversal_is_rejected() {
    let limits = ArchiveLimits::default();
    for evil in ["package/../../evil.json", "../evil.json", "/etc/evil.json"] {
        let bytes = tgz_of_entries(&[
            ("package/package.json", br#"{"name":"x","version":"1"}"#),
            (evil, b"{}"),
        ]);
        expect_archive_error(Package::from_tgz_bytes(&bytes, evil, &limits), "unsafe");
    }
}

#[test]
fn corrupt_archives_are_rejected() {
    let limits = ArchiveLimits::default();
    expect_archive_error(
        Package::from_tgz_bytes(b"<html>nope</html>", "html", &limits),
        "not a gzip",
    );
    expect_archive_error(Package::from_tgz_bytes(b"", "empty", &limits), "not a gzip");

    let good = synthetic_tgz("x", "1.0.0", &[]);
    let truncated = &good[..good.len() / 2];
    assert!(matches!(
        Package::from_tgz_bytes(truncated, "trunc", &limits),
        Err(Error::Archive { .. })
    ));

    // Valid gzip, not a tar.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &[7u8; 3000]).unwrap();
    let not_tar = enc.finish().unwrap();
    assert!(matches!(
        Package::from_tgz_bytes(&not_tar, "gz", &limits),
        Err(Error::Archive { .. })
    ));

    // A tar without package/package.json.
    let no_manifest = tgz_of_entries(&[("package/CodeSystem-a.json", b"{}")]);
    assert!(matches!(
        Package::from_tgz_bytes(&no_manifest, "nomanifest", &limits),
        Err(Error::NotAPackage { .. })
    ));

    let bad_manifest = tgz_of_entries(&[("package/package.json", b"{\"version\":\"1\"}")]);
    assert!(matches!(
        Package::from_tgz_bytes(&bad_manifest, "badmanifest", &limits),
        Err(Error::Manifest { .. })
    ));
}

#[test]
fn size_limits_are_enforced() {
    let big = vec![b' '; 100_000];
    let bytes = tgz_of_entries(&[
        ("package/package.json", br#"{"name":"x","version":"1"}"#),
        ("package/Basic-big.json", &big),
    ]);
    let tight = ArchiveLimits {
        max_unpacked_bytes: 50_000,
        ..ArchiveLimits::default()
    };
    expect_archive_error(Package::from_tgz_bytes(&bytes, "big", &tight), "exceed");
    let few = ArchiveLimits {
        max_entries: 1,
        ..ArchiveLimits::default()
    };
    expect_archive_error(Package::from_tgz_bytes(&bytes, "many", &few), "entries");
    let small = ArchiveLimits {
        max_compressed_bytes: 10,
        ..ArchiveLimits::default()
    };
    expect_archive_error(
        Package::from_tgz_bytes(&bytes, "compressed", &small),
        "limit",
    );
    assert!(Package::from_tgz_bytes(&bytes, "ok", &ArchiveLimits::default()).is_ok());
}

#[test]
fn index_is_preferred_and_a_corrupt_index_is_ignored() {
    let manifest: &[u8] = br#"{"name":"x.y","version":"1.0.0"}"#;
    let index: &[u8] = br#"{"index-version":2,"files":[
        {"filename":"weird.json","resourceType":"Questionnaire","id":"q","url":"http://x/q"}]}"#;
    let with_index = tgz_of_entries(&[
        ("package/package.json", manifest),
        ("package/.index.json", index),
        (
            "package/weird.json",
            br#"{"resourceType":"Questionnaire","id":"q"}"#,
        ),
        (
            "package/ValueSet-v.json",
            br#"{"resourceType":"ValueSet","id":"v"}"#,
        ),
    ]);
    let p = Package::from_tgz_bytes(&with_index, "idx", &ArchiveLimits::default()).unwrap();
    let q = p.files_of_type(&["Questionnaire"]).next().unwrap();
    assert_eq!(
        (q.path.as_str(), q.id.as_deref(), q.url.as_deref()),
        ("weird.json", Some("q"), Some("http://x/q"))
    );
    assert_eq!(p.resource_counts().get("ValueSet"), Some(&1));

    let corrupt = tgz_of_entries(&[
        ("package/package.json", manifest),
        ("package/.index.json", b"{\"files\": 7"),
        (
            "package/ValueSet-v.json",
            br#"{"resourceType":"ValueSet","id":"v"}"#,
        ),
    ]);
    let p = Package::from_tgz_bytes(&corrupt, "corrupt-index", &ArchiveLimits::default()).unwrap();
    assert_eq!(p.files().len(), 1);
    assert_eq!(p.files()[0].resource_type, "ValueSet");
    assert_eq!(p.files()[0].id, None);
}
