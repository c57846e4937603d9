//! The service configuration: one TOML file plus `SHINNY_*` environment
//! overrides.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"          # SHINNY_LISTEN
//! mode = "gateway"                   # or "white-label"; SHINNY_MODE
//! max_body_bytes = 16777216          # SHINNY_MAX_BODY_BYTES
//! max_concurrent_validations = 2     # SHINNY_MAX_CONCURRENT (default: cores)
//! max_queued = 64                    # SHINNY_MAX_QUEUED
//! retry_after_seconds = 1
//! body_read_timeout_seconds = 30     # SHINNY_BODY_READ_TIMEOUT (408 after it)
//! header_read_timeout_seconds = 30   # SHINNY_HEADER_READ_TIMEOUT (connection closed)
//!
//! [storage]
//! backend = "sqlite"                 # or "postgres"; SHINNY_STORAGE
//! sqlite_path = "shinny.db"          # SHINNY_SQLITE_PATH
//! postgres_url = "host=127.0.0.1 user=shinny dbname=shinny"  # SHINNY_PG_URL
//! postgres_pool = 8
//!
//! [validation]
//! package_dirs = []                  # else $FHIR_PACKAGE_CACHE, ~/.fhir/packages
//! policy = "ig/policies/java-hub-threshold.json"  # optional; SHINNY_POLICY
//! # Contexts, selectable with X-SHIN-NY-IG-Version; the first is the default.
//! [[validation.contexts]]
//! name = "1.9.4"
//! ig = "us.ny.hrsn#1.9.4"            # a package, with its dependencies
//! extra_packages = ["local.shinny.vsac-subset#0.0.1"]
//! # rules = "shinny.rules"           # or a compiled rules artifact
//!
//! # [server.tls]                   # HTTPS; client_ca enables mTLS
//! # cert = "server.pem"
//! # key = "server.key"
//! # client_ca = "clients-ca.pem"
//!
//! [[tenants]]
//! id = "healthix"
//! name = "Healthix"
//! hosts = ["healthix.fhir.example.org"]
//! api_key_sha256 = ["<hex SHA-256 of the key>"]
//! client_cert_sha256 = []            # hex SHA-256 of client certificates (DER)
//! # [tenants.forwarding]             # see crate::forward::config
//!
//! # [forwarding]                     # data lake forwarding; see crate::forward::config
//! ```

use serde::Deserialize;
use std::path::PathBuf;

/// How the tenant of a request is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// By the `X-TechBD-Tenant-ID` header (behind a gateway).
    Gateway,
    /// By the `Host` the service was called on (one host name per tenant).
    WhiteLabel,
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener and limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// Where interactions are stored.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Validation contexts and policy.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// The tenants (QEs). When empty, one tenant `local` is created with a
    /// random API key logged at startup (quickstart).
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// Forwarding to the data lake (off when absent); see
    /// [`crate::forward::config`].
    #[serde(default)]
    pub forwarding: Option<crate::forward::config::ForwardingConfig>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Socket address to listen on.
    pub listen: String,
    /// Tenant identification mode.
    pub mode: Mode,
    /// Largest accepted request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Validations running at once.
    pub max_concurrent_validations: usize,
    /// Requests allowed to wait for a validation slot; beyond, 503.
    pub max_queued: usize,
    /// `Retry-After` sent with 503, in seconds.
    pub retry_after_seconds: u64,
    /// Time allowed for a request body to arrive, in seconds, at least 1 (408 after
    /// it), so that a client that stops sending cannot hold an admission
    /// slot forever.
    pub body_read_timeout_seconds: u64,
    /// Time allowed for a request's headers to arrive, in seconds, at
    /// least 1; the connection is closed after it, so that clients that
    /// trickle headers (slowloris) cannot hold connections open.
    pub header_read_timeout_seconds: u64,
    /// Name used in the CapabilityStatement when no tenant brands it.
    pub publisher: String,
    /// HTTPS, and optionally client certificates; plain HTTP when absent.
    pub tls: Option<TlsConfig>,
}

/// `[server.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM CA certificates that sign client certificates. When set, clients
    /// may authenticate with a certificate instead of an API key (mTLS);
    /// clients without one are still accepted and need an API key.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            mode: Mode::Gateway,
            max_body_bytes: 16 << 20,
            max_concurrent_validations: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            max_queued: 64,
            retry_after_seconds: 1,
            body_read_timeout_seconds: 30,
            header_read_timeout_seconds: 30,
            publisher: "shinny".into(),
            tls: None,
        }
    }
}

/// Storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// `[storage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Which backend.
    pub backend: Backend,
    /// SQLite database file.
    pub sqlite_path: PathBuf,
    /// libpq-style connection string or `postgresql://` URL.
    pub postgres_url: Option<String>,
    /// PostgreSQL connections kept open.
    pub postgres_pool: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: Backend::Sqlite,
            sqlite_path: "shinny.db".into(),
            postgres_url: None,
            postgres_pool: 8,
        }
    }
}

/// `[validation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    /// Package folders; empty means `$FHIR_PACKAGE_CACHE` or `~/.fhir/packages`.
    pub package_dirs: Vec<PathBuf>,
    /// Diagnostics policy file applied to reported (not stored) issues.
    pub policy: Option<PathBuf>,
    /// Contexts; the first is the default.
    pub contexts: Vec<ContextConfig>,
    /// Maximum JSON nesting depth.
    pub max_depth: Option<usize>,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            package_dirs: Vec::new(),
            policy: None,
            contexts: vec![
                ContextConfig {
                    name: "1.9.4".into(),
                    ig: Some("us.ny.hrsn#1.9.4".into()),
                    extra_packages: vec!["local.shinny.vsac-subset#0.0.1".into()],
                    rules: None,
                    optional: false,
                },
                ContextConfig {
                    name: "1.9.4-test".into(),
                    ig: Some("us.ny.hrsn#1.9.4-test".into()),
                    extra_packages: vec!["local.shinny.vsac-subset#0.0.1".into()],
                    rules: None,
                    optional: true,
                },
            ],
            max_depth: None,
        }
    }
}

/// One validation context.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    /// The name clients pass in `X-SHIN-NY-IG-Version`.
    pub name: String,
    /// Package reference (`id#version`) compiled with its dependencies.
    #[serde(default)]
    pub ig: Option<String>,
    /// Packages added to the IG's (those it needs but does not declare).
    #[serde(default)]
    pub extra_packages: Vec<String>,
    /// A compiled rules artifact, used instead of `ig`.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// Skipped with a warning when its packages are absent.
    #[serde(default)]
    pub optional: bool,
}

/// `[[tenants]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Tenant id (as in `X-TechBD-Tenant-ID`).
    pub id: String,
    /// Display name, used to brand responses.
    pub name: String,
    /// Host names that identify the tenant in white-label mode.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Hex SHA-256 digests of the tenant's API keys.
    #[serde(default)]
    pub api_key_sha256: Vec<String>,
    /// Hex SHA-256 fingerprints (of the DER encoding) of client
    /// certificates that authenticate as this tenant (needs `server.tls`
    /// with `client_ca`).
    #[serde(default)]
    pub client_cert_sha256: Vec<String>,
    /// A diagnostics policy for this tenant, overriding the global one.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// How this tenant's bundles are forwarded (`[tenants.forwarding]`);
    /// defaults apply when `[forwarding]` is present and this is absent.
    #[serde(default)]
    pub forwarding: Option<crate::forward::config::TenantForwarding>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The TOML is malformed or has unknown keys.
    #[error("{0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    /// An environment override has a bad value.
    #[error("environment variable {0}: {1}")]
    Env(&'static str, String),
}

impl Config {
    /// Reads a TOML file (or the defaults when `None`), then applies the
    /// environment overrides.
    pub fn load(path: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| ConfigError::Read(p.into(), e))?;
                Config::from_toml(&text).map_err(|e| ConfigError::Parse(p.into(), e))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `SHINNY_*` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(k: &'static str, v: String) -> Result<T, ConfigError> {
            v.parse()
                .map_err(|_| ConfigError::Env(k, format!("not a number: {v:?}")))
        }
        if let Some(v) = get("SHINNY_LISTEN") {
            self.server.listen = v;
        }
        if let Some(v) = get("SHINNY_MODE") {
            self.server.mode = match v.as_str() {
                "gateway" => Mode::Gateway,
                "white-label" => Mode::WhiteLabel,
                _ => {
                    return Err(ConfigError::Env(
                        "SHINNY_MODE",
                        format!("unknown mode {v:?}"),
                    ))
                }
            };
        }
        if let Some(v) = get("SHINNY_MAX_BODY_BYTES") {
            self.server.max_body_bytes = num("SHINNY_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = get("SHINNY_MAX_CONCURRENT") {
            self.server.max_concurrent_validations = num("SHINNY_MAX_CONCURRENT", v)?;
        }
        if let Some(v) = get("SHINNY_BODY_READ_TIMEOUT") {
            self.server.body_read_timeout_seconds = num("SHINNY_BODY_READ_TIMEOUT", v)?;
        }
        if let Some(v) = get("SHINNY_HEADER_READ_TIMEOUT") {
            self.server.header_read_timeout_seconds = num("SHINNY_HEADER_READ_TIMEOUT", v)?;
        }
        if let Some(v) = get("SHINNY_MAX_QUEUED") {
            self.server.max_queued = num("SHINNY_MAX_QUEUED", v)?;
        }
        if let Some(v) = get("SHINNY_STORAGE") {
            self.storage.backend = match v.as_str() {
                "sqlite" => Backend::Sqlite,
                "postgres" => Backend::Postgres,
                _ => {
                    return Err(ConfigError::Env(
                        "SHINNY_STORAGE",
                        format!("unknown backend {v:?}"),
                    ))
                }
            };
        }
        if let Some(v) = get("SHINNY_SQLITE_PATH") {
            self.storage.sqlite_path = v.into();
        }
        if let Some(v) = get("SHINNY_PG_URL") {
            self.storage.postgres_url = Some(v);
        }
        if let Some(v) = get("SHINNY_POLICY") {
            self.validation.policy = Some(v.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_overrides() {
        let mut c = Config::from_toml(
            r#"
            [server]
            mode = "white-label"
            [storage]
            backend = "postgres"
            postgres_url = "host=127.0.0.1"
            [[tenants]]
            id = "a"
            name = "A"
            hosts = ["a.example"]
            "#,
        )
        .unwrap();
        assert_eq!(c.server.mode, Mode::WhiteLabel);
        assert_eq!(c.storage.backend, Backend::Postgres);
        assert_eq!(c.tenants[0].hosts, ["a.example"]);
        c.apply_env(|k| (k == "SHINNY_LISTEN").then(|| "127.0.0.1:0".to_string()))
            .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:0");
        assert!(c
            .apply_env(|k| (k == "SHINNY_MODE").then(|| "x".to_string()))
            .is_err());
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(Config::from_toml("[server]\nlisten_on = 1\n").is_err());
    }
}
