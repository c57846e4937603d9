//! Forwarding over mTLS with certificates made for the test (rcgen): the
//! mock data lake requires a client certificate from its CA. Tenant A has
//! one and is delivered; tenant B has none, is refused at the handshake,
//! retried, then dead-lettered.

mod common;

use common::datalake::{wait_until, Fault, Lake};
use common::{example_bundles, Db, TestServer};
use rcgen::ExtendedKeyUsagePurpose;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use shinny_service::config::Mode;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::{self, server::WebPkiClientVerifier, RootCertStore, ServerConfig};

use common::certs::{ca, leaf};

#[test]
fn mtls_to_the_data_lake() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let lake_ca = ca("data lake CA");
    let (server_cert, server_key) = leaf(
        &lake_ca,
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client_cert, client_key) = leaf(&lake_ca, &["qe-a"], ExtendedKeyUsagePurpose::ClientAuth);
    let ca_file = write("lake-ca.pem", lake_ca.cert.pem());
    let cert_file = write("qe-a.pem", client_cert.pem());
    let key_file = write("qe-a.key", client_key.serialize_pem());

    // The lake: TLS, client certificate required (no anonymous clients).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(lake_ca.cert.der().clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(server_cert.der().to_vec())],
            PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap();
    let lake = Lake::start_on(
        "127.0.0.1:0".parse().unwrap(),
        Box::new(|_, _| Fault::Accept),
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(server))),
    );
    let url = lake.url("https");

    let s = TestServer::start_with(Mode::Gateway, Db::Sqlite, |c| {
        c.forwarding = Some(
            toml::from_str(&format!(
                r#"
default_destination = "lake"
poll_interval_ms = 50
max_attempts = 2
base_backoff_ms = 50
[[destinations]]
name = "lake"
url = "{url}"
ca = "{ca}"
timeout_ms = 2000
"#,
                ca = ca_file.display()
            ))
            .unwrap(),
        );
        c.tenants[0].forwarding = Some(
            toml::from_str(&format!(
                "select = \"all\"\nclient_cert = \"{}\"\nclient_key = \"{}\"",
                cert_file.display(),
                key_file.display()
            ))
            .unwrap(),
        );
        c.tenants[1].forwarding = Some(toml::from_str("select = \"all\"").unwrap());
    })
    .unwrap();
    let (_, bundle) = &example_bundles()[0];
    let a = s.as_a("POST", "/Bundle").fhir(bundle).send();
    assert_eq!(a.status, 201);
    let a_id = a.header("x-techbd-interaction-id").unwrap().to_string();
    let b = s.as_b("POST", "/Bundle").fhir(bundle).send();
    assert_eq!(b.status, 201);
    let b_id = b.header("x-techbd-interaction-id").unwrap().to_string();

    assert!(wait_until(Duration::from_secs(20), || {
        lake.state.delivered().contains_key(&a_id)
    }));
    let b_status = || {
        s.as_b("GET", &format!("/Bundle/$status/{b_id}"))
            .send()
            .json()["forwarding"]
            .clone()
    };
    assert!(wait_until(Duration::from_secs(20), || b_status()["state"]
        == "dead_letter"));
    let f = b_status();
    assert_eq!(f["attempts"], 2, "{f}");
    let err = f["history"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("TLS") || err.contains("HTTP") || err.contains("connection"),
        "{err}"
    );
    assert!(f["lastError"].as_str().unwrap().contains("gave up after 2"));
    // The lake never saw B's bundle: the handshake failed first.
    assert!(lake.state.requests().iter().all(|r| r.key != b_id));
}
