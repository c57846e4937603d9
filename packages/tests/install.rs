//! `install` against a loopback HTTP server serving archives built from
//! `../shared` and synthetic ones.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use common::{
    shared, synthetic_tgz, tgz_of_entries, tgz_of_folder, tree, write_folder_package, TestServer,
};
use shinny_packages::{
    install, ArchiveLimits, Error, InstallEvent, Installer, Package, PackageCache, PackageRef,
};

fn r(s: &str) -> PackageRef {
    PackageRef::parse(s).unwrap()
}

fn route(path: &str, status: u16, body: Vec<u8>) -> (String, (u16, Vec<u8>)) {
    (path.to_string(), (status, body))
}

/// No temporary folders or half-written packages are left behind.
fn cache_names(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(cache) {
        Ok(read) => read
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn installs_a_dependency_chain_and_reports_failures() {
    let routes: HashMap<_, _> = [
        route(
            "/test.a/1.0.0",
            200,
            synthetic_tgz(
                "test.a",
                "1.0.0",
                &[
                    ("hl7.fhir.r4.core", "4.0.1"),
                    ("test.b", "1.0.0"),
                    ("test.gone", "2.0.0"),
                    ("test.broken", "1.0.0"),
                ],
            ),
        ),
        route(
            "/test.b/1.0.0",
            200,
            synthetic_tgz(
                "test.b",
                "1.0.0",
                &[
                    ("local.shinny.vsac-subset", "0.0.1"),
                    ("test.c", "1.x"),
                    ("test.a", "1.0.0"), // a cycle back to the root
                ],
            ),
        ),
        route(
            "/test.c",
            200,
            br#"{"name":"test.c","versions":{"1.2.0":{},"1.10.0":{},"2.0.0":{}}}"#.to_vec(),
        ),
        route(
            "/test.c/1.10.0",
            200,
            synthetic_tgz("test.c", "1.10.0", &[]),
        ),
        route("/test.broken/1.0.0", 500, b"oops".to_vec()),
        route(
            "/local.shinny.vsac-subset/0.0.1",
            200,
            tgz_of_folder(&shared("local.shinny.vsac-subset#0.0.1")),
        ),
    ]
    .into_iter()
    .collect();
    let server = TestServer::start(routes);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache"); // created by install
                                          // Already present: must not be downloaded.
    fs::create_dir_all(&cache).unwrap();
    write_folder_package(
        &cache,
        "hl7.fhir.r4.core#4.0.1",
        "hl7.fhir.r4.core",
        "4.0.1",
        &[],
    );

    let mut events = Vec::new();
    let report = install(&server.base_url, &r("test.a#1.0.0"), &cache, &mut |e| {
        events.push(match e {
            InstallEvent::Downloading { package, .. } => format!("get {package}"),
            InstallEvent::Installed { package, .. } => format!("installed {package}"),
            InstallEvent::AlreadyInstalled { package } => format!("present {package}"),
            InstallEvent::Failed { package, .. } => format!("failed {package}"),
            _ => "other".to_string(),
        })
    })
    .unwrap();

    let installed: Vec<String> = report.installed.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        installed,
        [
            "test.a#1.0.0",
            "test.b#1.0.0",
            "local.shinny.vsac-subset#0.0.1",
            "test.c#1.10.0"
        ]
    );
    let present: Vec<String> = report
        .already_installed
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(present, ["hl7.fhir.r4.core#4.0.1"]);
    assert!(!report.is_complete());
    let failed: Vec<(String, String)> = report
        .failed
        .iter()
        .map(|f| (f.package.clone(), f.required_by.to_string()))
        .collect();
    assert_eq!(
        failed,
        [
            ("test.gone#2.0.0".into(), "test.a#1.0.0".into()),
            ("test.broken#1.0.0".into(), "test.a#1.0.0".into())
        ]
    );
    assert!(matches!(
        report.failed[0].error,
        Error::HttpStatus { status: 404, .. }
    ));
    assert!(matches!(
        report.failed[1].error,
        Error::HttpStatus { status: 500, .. }
    ));
    assert!(report.failed[1]
        .error
        .to_string()
        .contains("/test.broken/1.0.0"));
    assert!(events.contains(&"failed test.broken#1.0.0".to_string()));
    assert!(events.contains(&"present hl7.fhir.r4.core#4.0.1".to_string()));
    assert!(!server
        .requested()
        .iter()
        .any(|p| p.starts_with("/hl7.fhir.r4.core")));

    assert_eq!(
        cache_names(&cache),
        [
            "hl7.fhir.r4.core#4.0.1",
            "local.shinny.vsac-subset#0.0.1",
            "test.a#1.0.0",
            "test.b#1.0.0",
            "test.c#1.10.0",
        ]
    );
    // The installed real package is byte-identical to its source.
    let installed_dir = cache.join("local.shinny.vsac-subset#0.0.1");
    let source_dir = shared("local.shinny.vsac-subset#0.0.1");
    assert_eq!(tree(&installed_dir), tree(&source_dir));
    for rel in tree(&source_dir) {
        assert_eq!(
            fs::read(installed_dir.join(&rel)).unwrap(),
            fs::read(source_dir.join(&rel)).unwrap()
        );
    }
    // And the cache now resolves the whole chain.
    let resolution = PackageCache::new(vec![cache.clone()])
        .resolve(&[r("test.a#1.0.0")])
        .unwrap();
    assert_eq!(resolution.packages.len(), 5);
    let missing: Vec<String> = resolution
        .missing
        .iter()
        .map(|m| format!("{}#{}", m.id, m.version))
        .collect();
    assert_eq!(missing, ["test.broken#1.0.0", "test.gone#2.0.0"]);

    // A second run downloads nothing that is already there.
    let before = server.requested().len();
    let again = install(&server.base_url, &r("test.a#1.0.0"), &cache, &mut |_| {}).unwrap();
    assert!(again.installed.is_empty());
    let new_requests = &server.requested()[before..];
    assert_eq!(new_requests, ["/test.gone/2.0.0", "/test.broken/1.0.0"]);
}

#[test]
fn installs_a_real_package_from_shared() {
    let name = "hl7.fhir.us.core#3.1.1";
    let archive = tgz_of_folder(&shared(name));
    let size = archive.len() as u64;
    let routes = [route("/hl7.fhir.us.core/3.1.1", 200, archive)]
        .into_iter()
        .collect();
    let server = TestServer::start(routes);
    let dir = tempfile::tempdir().unwrap();
    let mut progress = Vec::new();
    let report = install(&server.base_url, &r(name), dir.path(), &mut |e| {
        if let InstallEvent::Progress {
            received, total, ..
        } = e
        {
            progress.push((*received, *total));
        }
    })
    .unwrap();
    assert_eq!(progress.last(), Some(&(size, Some(size))));
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0), "{progress:?}");
    assert_eq!(report.installed, [r(name)]);
    // Its dependency hl7.fhir.r4.core is not on this server.
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].package, "hl7.fhir.r4.core#4.0.1");
    let folder = dir.path().join(name);
    assert_eq!(tree(&folder), tree(&shared(name)));
    let installed = Package::from_folder(&folder).unwrap();
    let original = Package::from_folder(shared(name)).unwrap();
    assert_eq!(installed.files(), original.files());
    assert_eq!(installed.examples(), original.examples());
}

#[test]
fn root_failures_are_errors_and_leave_no_trace() {
    let good = synthetic_tgz("ok.pkg", "1.0.0", &[]);
    let routes = [
        route("/err.pkg/1.0.0", 500, b"internal".to_vec()),
        route("/html.pkg/1.0.0", 200, b"<html>login page</html>".to_vec()),
        route(
            "/evil.pkg/1.0.0",
            200,
            tgz_of_entries(&[
                (
                    "package/package.json",
                    br#"{"name":"evil.pkg","version":"1.0.0"}"#,
                ),
                ("package/../../escaped.json", b"{}"),
            ]),
        ),
        route("/wrong.pkg/1.0.0", 200, good.clone()),
        route("/trunc.pkg/1.0.0", 200, good[..good.len() / 2].to_vec()),
        route("/nover.pkg", 200, br#"{"versions":{"2.0.0":{}}}"#.to_vec()),
    ]
    .into_iter()
    .collect();
    let server = TestServer::start(routes);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |s: &str| install(&server.base_url, &r(s), &cache, &mut |_| {});

    assert!(matches!(
        run("none.pkg#1.0.0"),
        Err(Error::HttpStatus { status: 404, .. })
    ));
    assert!(matches!(
        run("err.pkg#1.0.0"),
        Err(Error::HttpStatus { status: 500, .. })
    ));
    match run("html.pkg#1.0.0") {
        Err(Error::Archive { reason, .. }) => assert!(reason.contains("not a gzip"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match run("evil.pkg#1.0.0") {
        Err(Error::Archive { reason, .. }) => assert!(reason.contains("unsafe"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        run("wrong.pkg#1.0.0"),
        Err(Error::Mismatch { .. })
    ));
    assert!(matches!(run("trunc.pkg#1.0.0"), Err(Error::Archive { .. })));
    assert!(matches!(
        run("nover.pkg#1.x"),
        Err(Error::VersionNotExact { .. })
    ));

    let tiny = ArchiveLimits {
        max_compressed_bytes: 100,
        ..ArchiveLimits::default()
    };
    let limited = Installer::new(&server.base_url, &cache).with_limits(tiny);
    match limited.install(&r("wrong.pkg#1.0.0"), &mut |_| {}) {
        Err(Error::Archive { reason, .. }) => assert!(reason.contains("limit"), "{reason}"),
        other => panic!("{other:?}"),
    }

    assert!(cache_names(&cache).is_empty(), "{:?}", cache_names(&cache));
    assert!(!dir.path().join("escaped.json").exists());
}

#[test]
fn unreachable_registry_is_a_network_error() {
    // Bind then drop to get a loopback port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let err = install(
        &format!("http://127.0.0.1:{port}"),
        &r("a.b#1.0.0"),
        dir.path(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("/a.b/1.0.0"), "{err}");
}
