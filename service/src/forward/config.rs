//! `[forwarding]` and `[tenants.forwarding]`: where accepted bundles go,
//! which ones, how they are transformed and how deliveries are retried.
//!
//! ```toml
//! [forwarding]
//! default_destination = "datalake"
//! poll_interval_ms = 1000          # idle poll of the outbox (new jobs wake it at once)
//! lease_seconds = 60               # an in-flight job not finished by then is re-delivered
//! max_attempts = 10                # then the job is dead-lettered
//! base_backoff_ms = 1000           # first retry delay, doubled each attempt, jittered
//! max_backoff_ms = 600000
//! result_api_key_sha256 = ["<hex>"]  # the data lake's credential for POST /Bundle/$result/{id}
//! admin_api_key_sha256 = ["<hex>"]   # for POST /Bundle/$replay
//!
//! [[forwarding.destinations]]
//! name = "datalake"
//! url = "https://datalake.example.org/HRSNBundle"
//! timeout_ms = 30000
//! max_concurrent = 4               # deliveries in flight to this destination
//! ca = "datalake-ca.pem"           # optional; default: the web PKI roots
//! client_cert = "client.pem"       # optional mTLS identity (PEM chain)
//! client_key = "client.key"
//! headers = { "X-Api-Key" = "..." }
//! headers_from_env = { "X-Api-Key" = "DATALAKE_API_KEY" }  # value read from the environment at startup
//!
//! [[tenants]]
//! id = "healthix"
//! # ...
//! [tenants.forwarding]
//! select = "no-errors"             # or "all" or "none"
//! destination = "datalake"         # default: forwarding.default_destination
//! url = "https://datalake.example.org/other"  # optional, overrides the destination's URL
//! client_cert = "healthix.pem"     # optional, this tenant's own mTLS identity
//! client_key = "healthix.key"
//! headers = { "Authorization" = "Bearer ..." }
//! headers_from_env = { "Authorization" = "HEALTHIX_LAKE_AUTH" }
//! transforms = [
//!   { op = "attach-outcome", diagnostics = "reported" },
//!   { op = "set-tag", element = "security", system = "http://terminology.hl7.org/CodeSystem/v3-ActCode", code = "HTEST" },
//!   { op = "remove-tag", element = "tag", system = "http://shinny.org/fhir/CodeSystem/tenant" },
//!   { op = "remove", path = "Bundle.entry.resource.text" },
//! ]
//! ```

use crate::forward::transform::Transform;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[forwarding]`: present means forwarding is on for every tenant whose
/// `select` is not `none`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardingConfig {
    /// The destination of tenants that name none.
    pub default_destination: Option<String>,
    /// Data lake endpoints.
    pub destinations: Vec<DestinationConfig>,
    /// Idle poll interval of the outbox, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long a claimed job is reserved for one delivery attempt; past it,
    /// the job is claimed again (after a crash, or by another instance).
    pub lease_seconds: u64,
    /// Attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; doubled per attempt.
    pub base_backoff_ms: u64,
    /// Largest retry delay, in milliseconds (also caps `Retry-After`).
    pub max_backoff_ms: u64,
    /// Hex SHA-256 of the keys the data lake uses to post results.
    pub result_api_key_sha256: Vec<String>,
    /// Hex SHA-256 of the administrator keys (replay).
    pub admin_api_key_sha256: Vec<String>,
    /// Largest response body kept per attempt, in bytes.
    pub max_response_bytes: usize,
}

impl Default for ForwardingConfig {
    fn default() -> Self {
        ForwardingConfig {
            default_destination: None,
            destinations: Vec::new(),
            poll_interval_ms: 1000,
            lease_seconds: 60,
            max_attempts: 10,
            base_backoff_ms: 1000,
            max_backoff_ms: 600_000,
            result_api_key_sha256: Vec::new(),
            admin_api_key_sha256: Vec::new(),
            max_response_bytes: 64 << 10,
        }
    }
}

/// `[[forwarding.destinations]]`: one data lake endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// Name tenants refer to.
    pub name: String,
    /// `http://` or `https://` URL; `?processingAgent={tenant}` is added.
    pub url: String,
    /// Time allowed for one attempt (connect, send, response), in ms.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Deliveries in flight to this destination at once.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// PEM CA certificates trusted for the server; the web PKI when absent.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// PEM client certificate chain (mTLS).
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Extra request headers (credentials).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Extra request headers whose values are read from the named
    /// environment variables at startup, so that credentials need not be
    /// written in the file.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
}

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_max_concurrent() -> usize {
    4
}

/// Which of a tenant's accepted bundles are forwarded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Select {
    /// Only bundles with no error or fatal issue after the policy.
    #[default]
    NoErrors,
    /// Every stored bundle.
    All,
    /// None.
    None,
}

/// `[tenants.forwarding]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantForwarding {
    /// Which bundles.
    #[serde(default)]
    pub select: Select,
    /// Destination name; `forwarding.default_destination` when absent.
    #[serde(default)]
    pub destination: Option<String>,
    /// URL overriding the destination's (same TLS settings and limits).
    #[serde(default)]
    pub url: Option<String>,
    /// This tenant's own client certificate (mTLS), overriding the
    /// destination's.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Private key of `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Extra headers (this tenant's credentials), added to the destination's.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// As `headers`, values read from the named environment variables.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
    /// Applied in order before sending.
    #[serde(default)]
    pub transforms: Vec<Transform>,
}
