//! Service state and startup: contexts, tenants, storage and the listener.

use crate::config::{Backend, Config, TenantConfig};
use crate::contexts::{self, Contexts};
use crate::forward::Forwarder;
use crate::metrics::Metrics;
use crate::pool::ValidationPool;
use crate::storage::{postgres::PgStore, sqlite::SqliteStore, Store};
use crate::tenants::{hash_key, Tenants};
use shinny_engine::policy::Policy;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Everything a request handler needs; shared behind an `Arc`.
pub struct AppState {
    /// The configuration in force.
    pub config: Config,
    /// Validation contexts.
    pub contexts: Contexts,
    /// Tenants and authentication.
    pub tenants: Tenants,
    /// Interaction storage.
    pub store: Arc<dyn Store>,
    /// The policy applied when a tenant has none of its own.
    pub policy: Arc<Policy>,
    /// Metrics.
    pub metrics: Metrics,
    /// Validation slots plus waiting places; when none is free, 503.
    pub admission: Arc<Semaphore>,
    /// The validation threads, one per slot (validations running at once).
    pub validators: Arc<ValidationPool>,
    /// Forwarding to the data lake, when configured.
    pub forwarder: Option<Arc<Forwarder>>,
}

/// The policy used when none is configured: reports everything.
pub fn default_policy() -> Policy {
    Policy {
        name: "none".into(),
        version: "0".into(),
        description: None,
        min_severity: None,
        empty_issue_text: None,
        rules: Vec::new(),
    }
}

fn load_policy(path: &std::path::Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Policy::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Opens the configured store (applying migrations).
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    Ok(match config.storage.backend {
        Backend::Sqlite => Arc::new(
            SqliteStore::open(&config.storage.sqlite_path)
                .map_err(|e| format!("sqlite {}: {e}", config.storage.sqlite_path.display()))?,
        ),
        Backend::Postgres => {
            let url = config
                .storage
                .postgres_url
                .as_deref()
                .ok_or("storage.backend = \"postgres\" needs storage.postgres_url")?;
            Arc::new(
                PgStore::connect(url, config.storage.postgres_pool, None)
                    .map_err(|e| format!("postgres: {e}"))?,
            )
        }
    })
}

/// The quickstart tenant, used when no tenant is configured: `local`, served
/// on localhost, with the key in `$SHINNY_API_KEY` or a random one that is
/// logged once.
fn quickstart_tenant() -> TenantConfig {
    let key = std::env::var("SHINNY_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| {
            let k = uuid::Uuid::new_v4().simple().to_string();
            tracing::warn!(
                "no tenant configured: tenant `local` accepts API key {k} (set SHINNY_API_KEY to choose it)"
            );
            k
        });
    TenantConfig {
        id: "local".into(),
        name: "Local".into(),
        hosts: vec!["localhost".into(), "127.0.0.1".into()],
        api_key_sha256: vec![hash_key(&key)],
        client_cert_sha256: vec![],
        policy: None,
        forwarding: None,
    }
}

impl AppState {
    /// Builds the state with the given contexts and store.
    pub fn new(
        mut config: Config,
        contexts: Contexts,
        store: Arc<dyn Store>,
    ) -> Result<AppState, String> {
        if config.tenants.is_empty() {
            config.tenants.push(quickstart_tenant());
        }
        let tenants = Tenants::new(config.server.mode, &config.tenants, load_policy)?;
        let policy = match &config.validation.policy {
            Some(p) => load_policy(p)?,
            None => default_policy(),
        };
        let forwarder = Forwarder::new(config.forwarding.as_ref(), &config.tenants)?.map(Arc::new);
        let slots = config.server.max_concurrent_validations.max(1);
        Ok(AppState {
            forwarder,
            admission: Arc::new(Semaphore::new(slots + config.server.max_queued)),
            validators: Arc::new(ValidationPool::new(slots)?),
            config,
            contexts,
            tenants,
            store,
            policy: Arc::new(policy),
            metrics: Metrics::default(),
        })
    }

    /// Loads contexts and opens the store as configured.
    pub fn from_config(config: Config) -> Result<AppState, String> {
        let contexts = contexts::load(&config.validation)?;
        let store = open_store(&config)?;
        AppState::new(config, contexts, store)
    }
}

/// A running server.
pub struct Server {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The shared state (tests use it to observe or saturate the service).
    pub state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Stops the forwarding worker (deliveries in flight keep their lease
    /// and are sent again after a restart if they do not finish).
    forward_stop: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// Stops accepting, finishes in-flight requests and waits.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        let _ = self.forward_stop.send(true);
        let served = self.task.await.unwrap_or(Ok(()));
        if let Some(f) = &self.state.forwarder {
            let limit = f.longest_timeout() + std::time::Duration::from_secs(1);
            if !f.drain(limit).await {
                tracing::warn!("deliveries still in flight at shutdown; they will be re-sent");
            }
        }
        served
    }

    /// Serves until `signal` completes, then shuts down gracefully
    /// (in-flight requests finish); returns early if the server fails.
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        tokio::select! {
            r = &mut self.task => return r.unwrap_or(Ok(())),
            _ = signal => {}
        }
        tracing::info!("shutting down");
        self.stop().await
    }
}

/// Binds `config.server.listen` and serves in a background task.
pub async fn start(state: AppState) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(&state.config.server.listen).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(state);
    let router = crate::routes::router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let acceptor = match &state.config.server.tls {
        Some(tls) => Some(crate::tls::acceptor(tls).map_err(std::io::Error::other)?),
        None => None,
    };
    let header_read_timeout =
        std::time::Duration::from_secs(state.config.server.header_read_timeout_seconds.max(1));
    let task = tokio::spawn(crate::listen::serve(
        listener,
        router,
        acceptor,
        header_read_timeout,
        rx,
    ));
    let scheme = if state.config.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let (forward_stop, stop_rx) = tokio::sync::watch::channel(false);
    if state.forwarder.is_some() {
        tokio::spawn(crate::forward::outbox::run(state.clone(), stop_rx));
    }
    tracing::info!(%addr, scheme, "listening");
    Ok(Server {
        addr,
        state,
        shutdown: Some(tx),
        task,
        forward_stop,
    })
}
