//! A mock SHIN-NY Data Lake on 127.0.0.1: records every request (its
//! `Idempotency-Key`, `processingAgent`, body, time) and answers as a
//! programmable script says: 500s, 429 with `Retry-After`, hangs (client
//! timeouts), slow answers, or success. Plain HTTP or TLS that requires a
//! client certificate. Runs on its own runtime thread.

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

/// What the lake does with one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// 201 at once.
    Accept,
    /// 201 after this long.
    Slow(Duration),
    /// This status (a 5xx, or a 4xx that must not be retried).
    Status(u16),
    /// 429 with `Retry-After: secs`.
    TooMany(u64),
    /// No answer for a long time (the client times out).
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub agent: String,
    pub body: Vec<u8>,
    pub at: Instant,
    /// What was answered (0 for a hang).
    pub status: u16,
    /// Index of the key in order of first arrival, and attempt number.
    pub key_index: usize,
    pub attempt: u32,
}

/// Decides a fault from (key index in order of first arrival, attempt
/// number of that key starting at 1).
pub type Script = Box<dyn Fn(usize, u32) -> Fault + Send + Sync>;

pub struct LakeState {
    /// Answered requests (and hangs).
    pub received: Mutex<Vec<Received>>,
    /// Keys of every request on arrival, answered or not.
    pub arrived: Mutex<Vec<String>>,
    seen: Mutex<HashMap<String, (usize, u32)>>,
    script: Mutex<Script>,
    pub in_progress: std::sync::atomic::AtomicUsize,
    /// Requests wait while this is false.
    gate: tokio::sync::watch::Sender<bool>,
}

impl LakeState {
    /// Holds every request (after reading it) until [`Self::open_gate`].
    pub fn close_gate(&self) {
        self.gate.send_replace(false);
    }

    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    pub fn set_script(&self, s: Script) {
        *self.script.lock().unwrap() = s;
    }

    /// Keys answered 2xx, with how many times.
    pub fn delivered(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for r in self.received.lock().unwrap().iter() {
            if (200..300).contains(&r.status) {
                *out.entry(r.key.clone()).or_default() += 1;
            }
        }
        out
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

pub struct Lake {
    pub addr: SocketAddr,
    pub state: Arc<LakeState>,
    rt: Option<tokio::runtime::Runtime>,
}

/// A free port on 127.0.0.1 (nothing listens there until a lake starts).
pub fn reserve_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

impl Lake {
    pub fn start(script: Script) -> Lake {
        Lake::start_on("127.0.0.1:0".parse().unwrap(), script, None)
    }

    /// Starts on `addr` (port 0 for any), with TLS when an acceptor is given.
    pub fn start_on(addr: SocketAddr, script: Script, tls: Option<TlsAcceptor>) -> Lake {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(LakeState {
            received: Mutex::new(Vec::new()),
            arrived: Mutex::new(Vec::new()),
            seen: Mutex::new(HashMap::new()),
            script: Mutex::new(script),
            in_progress: Default::default(),
            gate: tokio::sync::watch::channel(true).0,
        });
        let listener = rt.block_on(tokio::net::TcpListener::bind(addr)).unwrap();
        let addr = listener.local_addr().unwrap();
        let st = state.clone();
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(st, req).await) }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            // A client without a certificate fails here.
                            if let Ok(s) = acceptor.accept(tcp).await {
                                let _ = builder.serve_connection(TokioIo::new(s), service).await;
                            }
                        }
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        Lake {
            addr,
            state,
            rt: Some(rt),
        }
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}/lake/bundles", self.addr)
    }
}

impl Drop for Lake {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

async fn handle(st: Arc<LakeState>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let agent = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("processingAgent="))
        .unwrap_or("")
        .to_string();
    st.arrived.lock().unwrap().push(key.clone());
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default();
    let mut gate = st.gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;
    let (key_index, attempt) = {
        let mut seen = st.seen.lock().unwrap();
        let n = seen.len();
        let e = seen.entry(key.clone()).or_insert((n, 0));
        e.1 += 1;
        *e
    };
    let fault = (st.script.lock().unwrap())(key_index, attempt);
    let mut rec = Received {
        key,
        agent,
        body,
        at: Instant::now(),
        status: 0,
        key_index,
        attempt,
    };
    use std::sync::atomic::Ordering::Relaxed;
    st.in_progress.fetch_add(1, Relaxed);
    let resp = |status: u16| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(format!(
                "{{\"status\":{status},\"message\":\"mock data lake\"}}"
            ))))
            .unwrap()
    };
    let out = match fault {
        Fault::Accept => resp(201),
        Fault::Slow(d) => {
            tokio::time::sleep(d).await;
            resp(201)
        }
        Fault::Status(s) => resp(s),
        Fault::TooMany(secs) => {
            let mut r = resp(429);
            r.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
            r
        }
        Fault::Hang => {
            st.received.lock().unwrap().push(rec.clone());
            tokio::time::sleep(Duration::from_secs(30)).await;
            st.in_progress.fetch_sub(1, Relaxed);
            return resp(504);
        }
    };
    rec.status = out.status().as_u16();
    st.received.lock().unwrap().push(rec);
    st.in_progress.fetch_sub(1, Relaxed);
    out
}

/// Polls `cond` every 50 ms until true or `timeout`; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}
