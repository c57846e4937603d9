//! HTTPS and client-certificate (mTLS) authentication, with certificates
//! made for the test by rcgen.

mod common;

use common::{example_bundles, parse_response, Db, Resp, TestServer, KEY_A};
use rcgen::{ExtendedKeyUsagePurpose, KeyPair};
use rustls_pki_types::{PrivateKeyDer, ServerName};
use sha2::{Digest, Sha256};
use shinny_service::config::{Mode, TlsConfig};
use std::io::{Read, Write};
use std::sync::Arc;
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use common::certs::{ca, leaf, Ca};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends one request over TLS; `Err` when the TLS session fails.
fn send(
    addr: std::net::SocketAddr,
    ca: &Ca,
    client: Option<&(rcgen::Certificate, KeyPair)>,
    head: &str,
    body: &[u8],
) -> Result<Resp, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => b
            .with_client_auth_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let conn = ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
        .unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    let request = format!(
        "{head}Host: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    // The server may answer (401) and close before reading the body.
    let _ = tls.write_all(body);
    // Read without writing: after a failed body write (the server answered
    // early), rustls still holds unsent data that must not be flushed.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match tls.conn.reader().read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        match tls.conn.read_tls(&mut tls.sock) {
            Ok(0) => break,
            Ok(_) => {
                if let Err(e) = tls.conn.process_new_packets() {
                    if raw.is_empty() {
                        return Err(e.to_string());
                    }
                    break;
                }
            }
            Err(e) => {
                if raw.is_empty() {
                    return Err(e.to_string());
                }
                break;
            }
        }
    }
    if raw.is_empty() {
        return Err("no response".into());
    }
    Ok(parse_response(&raw))
}

#[test]
fn https_with_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = ca("shinny test CA");
    let other = ca("someone else's CA");
    let (server_cert, server_key) = leaf(
        &trusted,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let client_a = leaf(
        &trusted,
        &["qe-a client"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let stranger = leaf(
        &other,
        &["qe-a client"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let tls = TlsConfig {
        cert: write("server.pem", server_cert.pem()),
        key: write("server.key", server_key.serialize_pem()),
        client_ca: Some(write("ca.pem", trusted.cert.pem())),
    };
    let fingerprint = hex(&Sha256::digest(client_a.0.der().as_ref()));
    let s = TestServer::start_with(Mode::Gateway, Db::Sqlite, |c| {
        c.server.tls = Some(tls);
        c.tenants[0].client_cert_sha256 = vec![fingerprint];
    })
    .unwrap();
    let (_, good) = &example_bundles()[0];
    let post = |tenant: &str, extra: &str| {
        format!(
            "POST /Bundle HTTP/1.1\r\nContent-Type: application/fhir+json\r\nX-TechBD-Tenant-ID: {tenant}\r\n{extra}"
        )
    };

    // A's certificate is A's credential: no key needed.
    let r = send(s.addr, &trusted, Some(&client_a), &post("qe-a", ""), good).unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let loc = r.header("location").unwrap().to_string();
    let get = format!("GET {loc} HTTP/1.1\r\nX-TechBD-Tenant-ID: qe-a\r\n");
    let rec = send(s.addr, &trusted, Some(&client_a), &get, b"").unwrap();
    assert_eq!(rec.json()["tenantId"], "qe-a");
    // It is not B's.
    let r = send(s.addr, &trusted, Some(&client_a), &post("qe-b", ""), good).unwrap();
    r.assert_outcome(401);
    // Without a certificate, the API key still works; without either, 401.
    let with_key = post("qe-a", &format!("X-API-Key: {KEY_A}\r\n"));
    assert_eq!(
        send(s.addr, &trusted, None, &with_key, good)
            .unwrap()
            .status,
        201
    );
    send(s.addr, &trusted, None, &post("qe-a", ""), good)
        .unwrap()
        .assert_outcome(401);
    // A certificate from an untrusted CA ends the TLS session.
    match send(s.addr, &trusted, Some(&stranger), &post("qe-a", ""), good) {
        Err(_) => {}
        Ok(r) => panic!("untrusted client certificate accepted: {}", r.status),
    }
    // Plain HTTP on the TLS port gets nothing useful.
    let plain = s.request("GET", "/healthz").send_raw();
    assert!(!plain.starts_with(b"HTTP/1.1 200"));
}
