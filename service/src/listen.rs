//! The accept loop, for plain HTTP and HTTPS alike: one task per
//! connection, HTTP/1.1 with keep-alive, and a limit on how long a client
//! may take to send a request's headers. Without that limit a client that
//! trickles header bytes (slowloris) holds a connection and its task for
//! as long as it likes; the body has its own limit
//! (`server.body_read_timeout_seconds`, enforced by the handlers).

use crate::tenants::ClientCert;
use axum::Router;
use hyper::rt::{Read, Write};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Accepts connections until `shutdown` fires; in-flight connections
/// finish on their own. With `tls`, each connection is a TLS handshake
/// first (and a client certificate, if presented, goes into the requests'
/// extensions as a [`ClientCert`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    header_read_timeout: Duration,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Responses are written whole; waiting to coalesce small writes
        // only adds latency.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection(TokioIo::new(tcp), router, header_read_timeout, peer).await,
                Some(acceptor) => {
                    let Some((stream, cert)) = crate::tls::handshake(&acceptor, tcp, peer).await
                    else {
                        return;
                    };
                    let app = match cert {
                        Some(c) => router.layer(axum::Extension::<ClientCert>(c)),
                        None => router,
                    };
                    connection(TokioIo::new(stream), app, header_read_timeout, peer).await
                }
            }
        });
    }
}

/// Serves the requests of one connection.
async fn connection<I>(
    io: I,
    app: Router,
    header_read_timeout: Duration,
    peer: std::net::SocketAddr,
) where
    I: Read + Write + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(io, service)
        .await
    {
        tracing::debug!(%peer, "connection ended with an error: {e}");
    }
}
