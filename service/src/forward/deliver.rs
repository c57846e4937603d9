//! One delivery attempt over HTTP/1.1, plain or TLS (rustls, optional
//! client certificate), on hyper's connection-level client: a connection
//! per attempt, so every attempt has its own timeout and a dead connection
//! can never be reused. Deliveries are seconds apart per job and bounded
//! per destination, so the handshake cost is not what limits throughput.

use axum::body::Bytes;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// Where and how one tenant's bundles are posted.
pub struct Endpoint {
    scheme_https: bool,
    host: String,
    port: u16,
    /// Path and query of the configured URL.
    path: String,
    tls: Option<Arc<ClientConfig>>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Time allowed for one whole attempt.
    pub timeout: Duration,
    max_response_bytes: usize,
}

/// TLS settings of an endpoint.
pub struct TlsFiles<'a> {
    /// Trusted CA certificates (PEM); the web PKI when absent.
    pub ca: Option<&'a Path>,
    /// Client certificate chain and key (PEM), for mTLS.
    pub identity: Option<(&'a Path, &'a Path)>,
}

/// The data lake's answer to one attempt.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, parsed.
    pub retry_after: Option<Duration>,
    /// Body (truncated to the configured size, lossy UTF-8).
    pub body: String,
}

/// Checks a destination URL: `http` or `https`, a host, no fragment.
pub fn check_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("URL {url:?} is not valid: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(format!("URL {url:?} must start with http:// or https://")),
    }
    if uri.host().unwrap_or_default().is_empty() {
        return Err(format!("URL {url:?} has no host"));
    }
    if url.contains('#') {
        return Err(format!("URL {url:?} must not have a fragment"));
    }
    Ok(uri)
}

fn client_tls(files: &TlsFiles<'_>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    match files.ca {
        Some(ca) => {
            for c in crate::tls::certs(ca)? {
                roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match files.identity {
        Some((cert, key)) => {
            let chain = crate::tls::certs(cert)?;
            let key =
                PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("{}: {e}", cert.display()))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Endpoint {
    /// Builds an endpoint, reading the certificate files (errors name them).
    pub fn new(
        url: &str,
        files: &TlsFiles<'_>,
        headers: &[(String, String)],
        timeout: Duration,
        max_response_bytes: usize,
    ) -> Result<Endpoint, String> {
        let uri = check_url(url)?;
        let https = uri.scheme_str() == Some("https");
        let tls = if https {
            Some(Arc::new(client_tls(files)?))
        } else {
            if files.identity.is_some() || files.ca.is_some() {
                return Err(format!(
                    "URL {url:?}: ca and client certificates need an https:// URL"
                ));
            }
            None
        };
        let headers = headers
            .iter()
            .map(|(k, v)| {
                let name = HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| format!("header name {k:?} is not valid"))?;
                let value = HeaderValue::from_str(v)
                    .map_err(|_| format!("header {k}: the value is not valid"))?;
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Endpoint {
            scheme_https: https,
            host: uri.host().unwrap_or_default().to_string(),
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            path: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            tls,
            headers,
            timeout,
            max_response_bytes,
        })
    }

    /// The request target for a tenant: the URL's path and query plus
    /// `processingAgent={tenant}`.
    pub fn target(&self, tenant: &str) -> String {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}processingAgent={}",
            self.path,
            crate::status::encode(tenant)
        )
    }

    /// Posts a bundle once; `Err` on connection failure or timeout.
    pub async fn post(&self, tenant: &str, key: &str, body: Vec<u8>) -> Result<Answer, String> {
        match tokio::time::timeout(self.timeout, self.post_inner(tenant, key, body)).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {} ms", self.timeout.as_millis())),
        }
    }

    async fn post_inner(&self, tenant: &str, key: &str, body: Vec<u8>) -> Result<Answer, String> {
        let bare_host = self.host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::net::TcpStream::connect((bare_host, self.port))
            .await
            .map_err(|e| format!("connect {}:{}: {e}", self.host, self.port))?;
        let _ = tcp.set_nodelay(true);
        let authority =
            if (self.port == 443 && self.scheme_https) || (self.port == 80 && !self.scheme_https) {
                self.host.clone()
            } else {
                format!("{}:{}", self.host, self.port)
            };
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(self.target(tenant))
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, crate::fhir::FHIR_JSON)
            .header("idempotency-key", key)
            .header("x-techbd-interaction-id", key)
            .header("x-techbd-tenant-id", tenant)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request: {e}"))?;
        for (k, v) in &self.headers {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        match &self.tls {
            Some(config) => {
                let name = ServerName::try_from(bare_host.to_string())
                    .map_err(|e| format!("server name {bare_host:?}: {e}"))?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS: {e}"))?;
                self.exchange(tls, req).await
            }
            None => self.exchange(tcp, req).await,
        }
    }

    async fn exchange<S>(&self, io: S, req: Request<Full<Bytes>>) -> Result<Answer, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        // The connection task ends with the exchange (or with the timeout
        // that drops this future, which drops the sender).
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| super::backoff::parse_retry_after(v, SystemTime::now()));
        let mut body = resp.into_body();
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("reading the response: {e}"))?;
            if let Some(data) = frame.data_ref() {
                let room = self.max_response_bytes.saturating_sub(kept.len());
                kept.extend_from_slice(&data[..data.len().min(room)]);
                if room < data.len() {
                    // Enough kept; the rest is not worth waiting for.
                    break;
                }
            }
        }
        Ok(Answer {
            status,
            retry_after,
            body: String::from_utf8_lossy(&kept).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_urls_and_builds_targets() {
        assert!(check_url("ftp://x/y").is_err());
        assert!(check_url("http:///y").is_err());
        assert!(check_url("not a url").is_err());
        assert!(check_url("https://lake.example/a#b").is_err());
        let files = TlsFiles {
            ca: None,
            identity: None,
        };
        let e = Endpoint::new(
            "http://127.0.0.1:9/lake?x=1",
            &files,
            &[],
            Duration::from_secs(1),
            10,
        )
        .unwrap();
        assert_eq!(e.target("qe a"), "/lake?x=1&processingAgent=qe%20a");
        let e = Endpoint::new("http://h", &files, &[], Duration::from_secs(1), 10).unwrap();
        assert_eq!(
            (e.port, e.target("q").as_str()),
            (80, "/?processingAgent=q")
        );
        let bad_header = [("bad header".to_string(), "v".to_string())];
        assert!(Endpoint::new("http://h", &files, &bad_header, Duration::ZERO, 1).is_err());
        let missing = TlsFiles {
            ca: Some(Path::new("/nonexistent/ca.pem")),
            identity: None,
        };
        let err = Endpoint::new("https://h", &missing, &[], Duration::ZERO, 1)
            .err()
            .unwrap();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
