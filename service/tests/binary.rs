//! The `shinny-service` binary: arguments, and `--config FILE` starting a
//! server that answers.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shinny-service"))
}

#[test]
fn usage_and_bad_arguments() {
    let help = bin().arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config"));
    let bad = bin().arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let missing = bin()
        .args(["--config", "/nonexistent/shinny.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/shinny.toml"));
}

#[test]
fn starts_from_a_config_file() {
    let (prod, _) = common::artifacts();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shinny.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
[storage]
sqlite_path = "{db}"
[[validation.contexts]]
name = "1.9.4"
rules = "{rules}"
[[tenants]]
id = "qe"
name = "QE"
api_key_sha256 = ["{hash}"]
"#,
            db = dir.path().join("s.db").display(),
            rules = prod.display(),
            hash = shinny_service::tenants::hash_key("k"),
        ),
    )
    .unwrap();
    /// Kills the server however the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(
        bin()
            .args(["--config", config.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("listening line").unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let ok = std::net::TcpStream::connect(addr).and_then(|mut s| {
        use std::io::{Read, Write};
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    });
    drop(child);
    let response = ok.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"ok\""));
}
