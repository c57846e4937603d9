//! Helpers shared by the integration tests: the shared package folder,
//! building `.tgz` files, and a tiny loopback HTTP server.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use flate2::Compression;

/// `../shared/fhir-packages` seen from the workspace root.
pub fn shared_packages() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir-packages");
    assert!(dir.is_dir(), "test data missing: {}", dir.display());
    dir
}

/// One shared package folder, e.g. `us.ny.hrsn#1.9.4`.
pub fn shared(name: &str) -> PathBuf {
    shared_packages().join(name)
}

/// Names of the `*.json` files of a folder, for cross-checking listings
/// against the disk rather than against hard-coded numbers.
pub fn json_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && !n.starts_with('.') && n != "package.json")
        .collect();
    names.sort();
    names
}

/// Gzipped tar of `<folder>/package/` as an npm package (`package/…`).
pub fn tgz_of_folder(folder: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    builder
        .append_dir_all("package", folder.join("package"))
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

/// Gzipped tar of the given `(path, content)` entries. Paths are written
/// into the header raw, so unsafe ones (`../x`, `/x`) can be produced.
pub fn tgz_of_entries(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (path, content) in entries {
        let mut header = tar::Header::new_gnu();
        let name = &mut header.as_old_mut().name;
        assert!(path.len() < name.len());
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *content).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A minimal `package.json`, dependencies in the given order (built by hand
/// because serde_json's map would sort them).
pub fn manifest(name: &str, version: &str, deps: &[(&str, &str)]) -> Vec<u8> {
    let deps: Vec<String> = deps.iter().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
    format!(
        r#"{{"name": {name:?}, "version": {version:?}, "fhirVersions": ["4.0.1"], "dependencies": {{{}}}}}"#,
        deps.join(", ")
    )
    .into_bytes()
}

/// A small synthetic package archive with one CodeSystem.
pub fn synthetic_tgz(name: &str, version: &str, deps: &[(&str, &str)]) -> Vec<u8> {
    let cs = format!(
        r#"{{"resourceType":"CodeSystem","id":"{name}","url":"http://example.org/{name}"}}"#
    );
    tgz_of_entries(&[
        ("package/package.json", &manifest(name, version, deps)),
        (&format!("package/CodeSystem-{name}.json"), cs.as_bytes()),
    ])
}

/// Writes a minimal package folder `<cache>/<name>#<version>/package/`.
pub fn write_folder_package(
    cache: &Path,
    folder_name: &str,
    name: &str,
    version: &str,
    deps: &[(&str, &str)],
) {
    let dir = cache.join(folder_name).join("package");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("package.json"), manifest(name, version, deps)).unwrap();
}

/// A loopback HTTP/1.1 server answering GETs from a fixed route table
/// (unknown paths get 404). It records every requested path.
pub struct TestServer {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub fn start(routes: HashMap<String, (u16, Vec<u8>)>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        // The thread ends with the test process; it only ever serves loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if line == "\r\n" || line == "\n" => break,
                        Ok(_) => {}
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                log.lock().unwrap().push(path.clone());
                let (status, body) = routes
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, b"not found".to_vec()));
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
            }
        });
        TestServer { base_url, requests }
    }

    pub fn requested(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Recursively lists `root` as sorted relative paths (files only).
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            } else {
                out.push(
                    p.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
