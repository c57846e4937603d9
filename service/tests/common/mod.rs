//! Test support: a rules artifact compiled once per test binary, servers on
//! 127.0.0.1 port 0, and a minimal HTTP/1.1 client that can send any header
//! (Host included) and any body.
#![allow(dead_code)]

pub mod certs;
pub mod datalake;

use shinny_packages::PackageCache;
use shinny_service::config::{Backend, Config, ContextConfig, Mode, TenantConfig};
use shinny_service::tenants::hash_key;
use shinny_service::{AppState, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The shared FHIR packages.
pub fn packages() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir-packages")
}

/// The SHIN-NY example bundles.
pub fn example_bundles() -> Vec<(String, Vec<u8>)> {
    let dir = packages().join("us.ny.hrsn#1.9.4/package/example");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("Bundle-") && n.ends_with(".json")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the SHIN-NY example bundles in {dir:?}"
    );
    out
}

/// Rules artifacts for the production and test IG, compiled once.
pub fn artifacts() -> &'static (PathBuf, PathBuf) {
    static ARTIFACTS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        // In the target folder, one pair per test binary, rewritten each run.
        let exe = std::env::current_exe().unwrap();
        let stem = exe.file_stem().unwrap().to_string_lossy().to_string();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shinny-service-rules");
        std::fs::create_dir_all(&dir).unwrap();
        let cache = PackageCache::new(vec![packages()]);
        let extra = vec!["local.shinny.vsac-subset#0.0.1".to_string()];
        let mut paths = Vec::new();
        for (ig, file) in [
            ("us.ny.hrsn#1.9.4", "prod.rules"),
            ("us.ny.hrsn#1.9.4-test", "test.rules"),
        ] {
            let ctx = shinny_service::contexts::compile(&cache, ig, &extra).unwrap();
            let path = dir.join(format!("{stem}-{file}"));
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, ctx.to_artifact()).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
            paths.push(path);
        }
        (paths[0].clone(), paths[1].clone())
    })
}

/// `SHINNY_TEST_PG_URL`, or `None` with a "not run" line; under CI a missing
/// URL fails the test.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var("SHINNY_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: SHINNY_TEST_PG_URL is not set, and CI is: run service/ci-postgres.sh and export its URL");
            }
            eprintln!("{test}: PostgreSQL test not run (SHINNY_TEST_PG_URL is not set; see service/ci-postgres.sh)");
            None
        }
    }
}

/// A schema name unique to this test run.
pub fn unique_schema() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Drops a test schema.
pub fn drop_schema(url: &str, schema: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
}

pub const KEY_A: &str = "key-of-tenant-a";
pub const KEY_B: &str = "key-of-tenant-b";

/// Storage for a test server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A server on 127.0.0.1 with its runtime.
pub struct TestServer {
    pub rt: tokio::runtime::Runtime,
    pub server: Option<Server>,
    pub addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestServer {
    pub fn config(mode: Mode, db: Db, dir: &Path) -> Option<(Config, Option<(String, String)>)> {
        let (prod, test) = artifacts();
        let mut c = Config::default();
        c.server.listen = "127.0.0.1:0".into();
        c.server.mode = mode;
        c.server.max_body_bytes = 4 << 20;
        c.validation.contexts = vec![
            ContextConfig {
                name: "1.9.4".into(),
                ig: None,
                extra_packages: vec![],
                rules: Some(prod.clone()),
                optional: false,
            },
            ContextConfig {
                name: "1.9.4-test".into(),
                ig: None,
                extra_packages: vec![],
                rules: Some(test.clone()),
                optional: false,
            },
        ];
        c.tenants = vec![
            TenantConfig {
                id: "qe-a".into(),
                name: "Alpha QE".into(),
                hosts: vec!["a.example".into()],
                api_key_sha256: vec![hash_key(KEY_A)],
                client_cert_sha256: vec![],
                policy: None,
                forwarding: None,
            },
            TenantConfig {
                id: "qe-b".into(),
                name: "Beta QE".into(),
                hosts: vec!["b.example".into()],
                api_key_sha256: vec![hash_key(KEY_B)],
                client_cert_sha256: vec![],
                policy: None,
                forwarding: None,
            },
        ];
        let mut pg = None;
        match db {
            Db::Sqlite => c.storage.sqlite_path = dir.join("shinny.db"),
            Db::Postgres => {
                let url = pg_url("postgres server")?;
                c.storage.backend = Backend::Postgres;
                c.storage.postgres_url = Some(url.clone());
                pg = Some((url, unique_schema()));
            }
        }
        Some((c, pg))
    }

    /// Starts a server; `None` when the backend is not available here.
    pub fn start(mode: Mode, db: Db) -> Option<TestServer> {
        Self::start_with(mode, db, |_| {})
    }

    pub fn start_with(mode: Mode, db: Db, tweak: impl FnOnce(&mut Config)) -> Option<TestServer> {
        let dir = tempfile::tempdir().unwrap();
        let (mut config, pg) = Self::config(mode, db, dir.path())?;
        tweak(&mut config);
        let contexts = shinny_service::contexts::load(&config.validation).unwrap();
        let store: std::sync::Arc<dyn shinny_service::storage::Store> = match &pg {
            None => shinny_service::app::open_store(&config).unwrap(),
            Some((url, schema)) => std::sync::Arc::new(
                shinny_service::storage::postgres::PgStore::connect(url, 4, Some(schema)).unwrap(),
            ),
        };
        let state = AppState::new(config, contexts, store).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(shinny_service::start(state)).unwrap();
        let addr = server.addr;
        Some(TestServer {
            rt,
            server: Some(server),
            addr,
            dir,
            pg,
        })
    }

    pub fn request(&self, method: &str, path: &str) -> Req {
        Req {
            addr: self.addr,
            method: method.into(),
            path: path.into(),
            headers: vec![],
            body: vec![],
        }
    }

    /// A gateway-mode request of tenant A with its key.
    pub fn as_a(&self, method: &str, path: &str) -> Req {
        self.request(method, path)
            .header("X-TechBD-Tenant-ID", "qe-a")
            .header("Authorization", &format!("Bearer {KEY_A}"))
    }

    pub fn as_b(&self, method: &str, path: &str) -> Req {
        self.request(method, path)
            .header("X-TechBD-Tenant-ID", "qe-b")
            .header("X-API-Key", KEY_B)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.rt.block_on(s.stop());
        }
        if let Some((url, schema)) = &self.pg {
            drop_schema(url, schema);
        }
    }
}

/// A request being built.
pub struct Req {
    addr: std::net::SocketAddr,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an OperationOutcome error response with FHIR content type.
    pub fn assert_outcome(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("content-type"), Some("application/fhir+json"));
        let v = self.json();
        assert_eq!(v["resourceType"], "OperationOutcome");
        assert!(!v["issue"].as_array().unwrap().is_empty());
        v
    }
}

impl Req {
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn fhir(self, body: &[u8]) -> Req {
        let mut r = self.header("Content-Type", "application/fhir+json");
        r.body = body.to_vec();
        r
    }

    pub fn body(mut self, body: &[u8]) -> Req {
        self.body = body.to_vec();
        self
    }

    /// Sends and returns the raw bytes received (empty when none).
    pub fn send_raw(self) -> Vec<u8> {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let head = format!(
            "{} {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            self.method, self.path
        );
        let _ = s.write_all(head.as_bytes());
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        raw
    }

    pub fn send(self) -> Resp {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        s.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) before reading a large body.
        let _ = s.write_all(&self.body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        parse_response(&raw)
    }
}

pub fn parse_response(raw: &[u8]) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[nl + 2 + size + 2..];
        }
        body = out;
    }
    Resp {
        status,
        headers,
        body,
    }
}
