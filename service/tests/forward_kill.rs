//! The real binary is killed with SIGKILL while deliveries to a (slow)
//! mock data lake are in flight, then started again on the same database:
//! every accepted bundle is delivered at least once, each with its original
//! `Idempotency-Key`; on SQLite and on PostgreSQL.

mod common;

use common::datalake::{wait_until, Fault, Lake};
use common::{example_bundles, parse_response, KEY_A};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Kills the server however the test ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary; returns it and its address. Its log is drained on a
/// thread (a full pipe would block it).
fn launch(config: &Path) -> (Service, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shinny-service"))
        .args(["--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("addr=").nth(1) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(rest.split_whitespace().next().unwrap().to_string());
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the service did not start");
    (Service(child), addr.parse().unwrap())
}

fn post(addr: SocketAddr, body: &[u8]) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /Bundle HTTP/1.1\r\nHost: x\r\nX-TechBD-Tenant-ID: qe-a\r\nX-API-Key: {KEY_A}\r\n\
         Content-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let r = parse_response(&raw);
    assert_eq!(r.status, 201, "{}", r.text());
    r.header("x-techbd-interaction-id").map(str::to_string)
}

fn write_config(dir: &Path, storage: &str, lake: &str) -> std::path::PathBuf {
    let (prod, _) = common::artifacts();
    let path = dir.join("shinny.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
{storage}
[[validation.contexts]]
name = "1.9.4"
rules = "{rules}"
[forwarding]
default_destination = "lake"
poll_interval_ms = 50
lease_seconds = 2
base_backoff_ms = 50
max_backoff_ms = 500
[[forwarding.destinations]]
name = "lake"
url = "{lake}"
timeout_ms = 1500
max_concurrent = 4
[[tenants]]
id = "qe-a"
name = "QE A"
api_key_sha256 = ["{hash}"]
[tenants.forwarding]
select = "all"
"#,
            rules = prod.display(),
            hash = shinny_service::tenants::hash_key(KEY_A),
        ),
    )
    .unwrap();
    path
}

fn kill_and_restart(storage: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Slow answers keep deliveries in flight when the process dies.
    let lake = Lake::start(Box::new(|_, _| Fault::Slow(Duration::from_millis(300))));
    let config = write_config(dir.path(), storage, &lake.url("http"));
    let bundles = example_bundles();
    let mut accepted = Vec::new();

    let (mut first, addr) = launch(&config);
    for i in 0..16 {
        accepted.extend(post(addr, &bundles[i % bundles.len()].1));
    }
    assert!(wait_until(Duration::from_secs(20), || {
        lake.state.received.lock().unwrap().len() >= 4
            && lake.state.in_progress.load(Ordering::SeqCst) > 0
    }));
    // SIGKILL: no shutdown code runs.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let delivered_before = lake.state.delivered();
    let before = delivered_before.len();
    // Sent but not answered when the process died.
    let cut_off: std::collections::HashSet<String> = lake
        .state
        .arrived
        .lock()
        .unwrap()
        .iter()
        .filter(|k| !delivered_before.contains_key(*k))
        .cloned()
        .collect();
    eprintln!(
        "killed with {before} of {} delivered and {} in flight",
        accepted.len(),
        lake.state.in_progress.load(Ordering::SeqCst)
    );
    assert!(before < accepted.len(), "the kill came too late to matter");
    assert!(!cut_off.is_empty(), "no delivery was in flight at the kill");

    let (_second, addr) = launch(&config);
    for i in 0..8 {
        accepted.extend(post(addr, &bundles[i % bundles.len()].1));
    }
    let t = Instant::now();
    let ok = wait_until(Duration::from_secs(60), || {
        let d = lake.state.delivered();
        accepted.iter().all(|id| d.contains_key(id))
    });
    let delivered = lake.state.delivered();
    let missing: Vec<_> = accepted
        .iter()
        .filter(|id| !delivered.contains_key(*id))
        .collect();
    assert!(ok, "lost: {missing:?}");
    let extra: usize = delivered.values().map(|n| n - 1).sum();
    eprintln!(
        "all {} delivered {:.1} s after the restart; {extra} duplicate delivery(ies) for the data lake to drop by Idempotency-Key",
        accepted.len(),
        t.elapsed().as_secs_f64()
    );
    // Those cut off were sent again under the same key.
    for k in &cut_off {
        assert!(delivered.contains_key(k), "in-flight {k} lost");
    }
    eprintln!(
        "{} deliveries cut off by the kill were redelivered",
        cut_off.len()
    );
    // Every key the lake saw is one of ours.
    for r in lake.state.requests() {
        assert!(accepted.contains(&r.key), "unknown key {}", r.key);
        assert_eq!(r.agent, "qe-a");
    }
}

#[test]
fn sigkill_during_delivery_loses_nothing_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    kill_and_restart(&format!("sqlite_path = \"{}\"", db.display()));
}

#[test]
fn sigkill_during_delivery_loses_nothing_postgres() {
    let Some(url) = common::pg_url("sigkill_during_delivery_loses_nothing_postgres") else {
        return;
    };
    let schema = common::unique_schema();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .unwrap();
    drop(c);
    kill_and_restart(&format!(
        "backend = \"postgres\"\npostgres_url = \"{url} options='-c search_path={schema}'\""
    ));
    common::drop_schema(&url, &schema);
}

#[test]
fn bad_forwarding_configuration_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let config = write_config(
        dir.path(),
        &format!("sqlite_path = \"{}\"", db.display()),
        "https://127.0.0.1:9/lake",
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "max_concurrent = 4\n",
        "max_concurrent = 4\nclient_cert = \"/nonexistent/client.pem\"\nclient_key = \"/nonexistent/client.key\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shinny-service"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("destination \"lake\"") && err.contains("/nonexistent/client.pem"),
        "{err}"
    );
    // Unknown keys too.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("poll_interval_ms = 50", "poll_interval = 50");
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shinny-service"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("poll_interval"));
}
