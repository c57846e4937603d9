//! Forwarding accepted bundles to the SHIN-NY Data Lake without losing one.
//!
//! A stored interaction that its tenant forwards gets an outbox job in the
//! same transaction ([`crate::storage::outbox`]); a background worker
//! ([`outbox::run`]) claims due jobs per destination (bounded concurrency),
//! applies the tenant's [`transform`]s and posts the bundle
//! ([`deliver`]) with the interaction id as `Idempotency-Key`, retrying
//! transient failures with [`backoff`] until delivered or dead-lettered.
//! Configuration: [`config`].

pub mod api;
pub mod backoff;
pub mod config;
pub mod deliver;
pub mod outbox;
pub mod transform;

use crate::config::TenantConfig;
use config::{ForwardingConfig, Select};
use deliver::{Endpoint, TlsFiles};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use transform::Transform;

/// A destination at run time.
pub struct Destination {
    /// Its name.
    pub name: String,
    /// Deliveries in flight to it.
    pub slots: Arc<Semaphore>,
    /// Its own endpoint (for jobs of tenants no longer configured).
    pub endpoint: Arc<Endpoint>,
    /// The size of `slots`.
    pub max_concurrent: usize,
}

/// How one tenant's bundles are forwarded.
pub struct Route {
    /// Which bundles.
    pub select: Select,
    /// Destination name.
    pub destination: String,
    /// URL, TLS identity and headers in force for this tenant.
    pub endpoint: Arc<Endpoint>,
    /// Applied before sending.
    pub transforms: Vec<Transform>,
}

/// Forwarding, ready to run: destinations, tenant routes, credentials.
pub struct Forwarder {
    /// The numbers in force (backoff, lease, attempts).
    pub config: ForwardingConfig,
    /// Destinations, in configuration order.
    pub destinations: Vec<Destination>,
    /// Routes by tenant id.
    pub routes: HashMap<String, Route>,
    /// Wakes the worker: a new job, or a free delivery slot.
    pub wake: Notify,
    result_keys: Vec<[u8; 32]>,
    admin_keys: Vec<[u8; 32]>,
}

fn digests(what: &str, hex: &[String]) -> Result<Vec<[u8; 32]>, String> {
    hex.iter()
        .map(|h| {
            crate::tenants::parse_hex32(h)
                .ok_or_else(|| format!("{what} {h:?} is not 64 hex digits"))
        })
        .collect()
}

/// The headers written in the file, then those read from the environment
/// (`env` looks a variable up).
fn headers(
    written: &std::collections::BTreeMap<String, String>,
    from_env: &std::collections::BTreeMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = written
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, var) in from_env {
        let v = env(var).ok_or_else(|| {
            format!("header {k}: environment variable {var} is not set (headers_from_env)")
        })?;
        out.push((k.clone(), v));
    }
    Ok(out)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn identity<'a>(
    cert: &'a Option<std::path::PathBuf>,
    key: &'a Option<std::path::PathBuf>,
) -> Result<Option<(&'a std::path::Path, &'a std::path::Path)>, String> {
    match (cert, key) {
        (Some(c), Some(k)) => Ok(Some((c.as_path(), k.as_path()))),
        (None, None) => Ok(None),
        _ => Err("client_cert and client_key go together".into()),
    }
}

impl Forwarder {
    /// Checks the configuration and builds the forwarder; `None` when there
    /// is no `[forwarding]` section. Errors name what is wrong (bad URL,
    /// unknown destination, missing certificate file, bad transform path).
    pub fn new(
        config: Option<&ForwardingConfig>,
        tenants: &[TenantConfig],
    ) -> Result<Option<Forwarder>, String> {
        let Some(config) = config else {
            if let Some(t) = tenants.iter().find(|t| t.forwarding.is_some()) {
                return Err(format!(
                    "tenant {}: [tenants.forwarding] needs a [forwarding] section",
                    t.id
                ));
            }
            return Ok(None);
        };
        let err = |e: String| format!("forwarding: {e}");
        if config.max_attempts == 0 {
            return Err(err("max_attempts must be at least 1".into()));
        }
        if config.poll_interval_ms == 0 || config.lease_seconds == 0 {
            return Err(err(
                "poll_interval_ms and lease_seconds must be positive".into()
            ));
        }
        let mut destinations: Vec<Destination> = Vec::new();
        let mut by_name = HashMap::new();
        for d in &config.destinations {
            let e = |m: String| err(format!("destination {:?}: {m}", d.name));
            if d.name.is_empty() || by_name.contains_key(&d.name) {
                return Err(e("names must be non-empty and unique".into()));
            }
            if d.max_concurrent == 0 || d.timeout_ms == 0 {
                return Err(e("max_concurrent and timeout_ms must be positive".into()));
            }
            // An attempt that outlives its lease is claimed again while it
            // is still running: a needless duplicate.
            if d.timeout_ms >= config.lease_seconds.saturating_mul(1000) {
                return Err(e(format!(
                    "timeout_ms ({}) must be shorter than forwarding.lease_seconds ({} s)",
                    d.timeout_ms, config.lease_seconds
                )));
            }
            let files = TlsFiles {
                ca: d.ca.as_deref(),
                identity: identity(&d.client_cert, &d.client_key).map_err(e)?,
            };
            let endpoint = Endpoint::new(
                &d.url,
                &files,
                &headers(&d.headers, &d.headers_from_env, env_var).map_err(e)?,
                Duration::from_millis(d.timeout_ms),
                config.max_response_bytes,
            )
            .map_err(e)?;
            by_name.insert(d.name.clone(), d);
            destinations.push(Destination {
                name: d.name.clone(),
                slots: Arc::new(Semaphore::new(d.max_concurrent)),
                endpoint: Arc::new(endpoint),
                max_concurrent: d.max_concurrent,
            });
        }
        if let Some(def) = &config.default_destination {
            if !by_name.contains_key(def) {
                return Err(err(format!(
                    "default_destination {def:?} is not configured"
                )));
            }
        }
        let mut routes = HashMap::new();
        for t in tenants {
            let e = |m: String| err(format!("tenant {}: {m}", t.id));
            let tf = t.forwarding.clone().unwrap_or_default();
            let Some(dest_name) = tf
                .destination
                .clone()
                .or_else(|| config.default_destination.clone())
            else {
                if tf.select == Select::None {
                    continue;
                }
                return Err(e(
                    "no destination (set destination, or forwarding.default_destination)".into(),
                ));
            };
            let d = by_name
                .get(&dest_name)
                .ok_or_else(|| e(format!("destination {dest_name:?} is not configured")))?;
            for (i, tr) in tf.transforms.iter().enumerate() {
                tr.validate()
                    .map_err(|m| e(format!("transform {}: {m}", i + 1)))?;
            }
            let mut h = headers(&d.headers, &d.headers_from_env, env_var).map_err(e)?;
            h.extend(headers(&tf.headers, &tf.headers_from_env, env_var).map_err(e)?);
            let own = identity(&tf.client_cert, &tf.client_key).map_err(e)?;
            let files = TlsFiles {
                ca: d.ca.as_deref(),
                identity: own.or(identity(&d.client_cert, &d.client_key).map_err(e)?),
            };
            let endpoint = Endpoint::new(
                tf.url.as_deref().unwrap_or(&d.url),
                &files,
                &h,
                Duration::from_millis(d.timeout_ms),
                config.max_response_bytes,
            )
            .map_err(e)?;
            routes.insert(
                t.id.clone(),
                Route {
                    select: tf.select,
                    destination: dest_name,
                    endpoint: Arc::new(endpoint),
                    transforms: tf.transforms,
                },
            );
        }
        Ok(Some(Forwarder {
            result_keys: digests("result_api_key_sha256", &config.result_api_key_sha256)
                .map_err(err)?,
            admin_keys: digests("admin_api_key_sha256", &config.admin_api_key_sha256)
                .map_err(err)?,
            config: config.clone(),
            destinations,
            routes,
            wake: Notify::new(),
        }))
    }

    /// The destination a newly accepted interaction is forwarded to, if
    /// any, by the tenant's `select`; `errors` tells whether an error or
    /// fatal issue remains after the tenant's policy.
    pub fn route_for(&self, tenant_id: &str, errors: bool) -> Option<String> {
        let route = self.routes.get(tenant_id)?;
        let forward = match route.select {
            Select::All => true,
            Select::None => false,
            Select::NoErrors => !errors,
        };
        forward.then(|| route.destination.clone())
    }

    /// The destination a replay of the tenant's interaction goes to.
    pub fn replay_destination(&self, tenant_id: &str) -> Option<String> {
        self.routes.get(tenant_id).map(|r| r.destination.clone())
    }

    /// Waits until no delivery is in flight, at most `limit`: a graceful
    /// stop lets attempts finish rather than leaving them to be re-sent
    /// when their lease runs out. Returns whether all finished.
    pub async fn drain(&self, limit: Duration) -> bool {
        let all = async {
            for d in &self.destinations {
                // Every slot free means no attempt runs; closing the
                // semaphore then keeps the worker from starting another.
                let _ = d.slots.acquire_many(d.max_concurrent as u32).await;
                d.slots.close();
            }
        };
        tokio::time::timeout(limit, all).await.is_ok()
    }

    /// The longest attempt timeout of any destination.
    pub fn longest_timeout(&self) -> Duration {
        self.destinations
            .iter()
            .map(|d| d.endpoint.timeout)
            .max()
            .unwrap_or_default()
    }

    /// Whether the request carries a data-lake result key.
    pub fn is_result_key(&self, headers: &axum::http::HeaderMap) -> bool {
        crate::tenants::key_matches(headers, &self.result_keys)
    }

    /// Whether the request carries an administrator key.
    pub fn is_admin_key(&self, headers: &axum::http::HeaderMap) -> bool {
        crate::tenants::key_matches(headers, &self.admin_keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str, forwarding: Option<&str>) -> TenantConfig {
        let mut t: TenantConfig =
            toml::from_str(&format!("id = \"{id}\"\nname = \"{id}\"\n")).unwrap();
        t.forwarding = forwarding.map(|f| toml::from_str(f).unwrap());
        t
    }

    fn fwd(text: &str) -> ForwardingConfig {
        toml::from_str(text).unwrap()
    }

    const BASE: &str = r#"
default_destination = "lake"
[[destinations]]
name = "lake"
url = "http://127.0.0.1:9/lake"
"#;

    #[test]
    fn headers_come_from_the_file_then_the_environment() {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let env = |name: &str| (name == "LAKE_KEY").then(|| "s3cret".to_string());
        let h = headers(
            &map(&[("X-Plain", "p")]),
            &map(&[("X-Api-Key", "LAKE_KEY")]),
            env,
        )
        .unwrap();
        assert_eq!(
            h,
            vec![
                ("X-Plain".to_string(), "p".to_string()),
                ("X-Api-Key".to_string(), "s3cret".to_string())
            ]
        );
        let err = headers(&map(&[]), &map(&[("X-Api-Key", "NOT_SET_ANYWHERE")]), env).unwrap_err();
        assert!(
            err.contains("NOT_SET_ANYWHERE") && err.contains("X-Api-Key"),
            "{err}"
        );
        // At startup, a missing variable is a configuration error naming it.
        let cfg = format!(
            "{BASE}headers_from_env = {{ \"X-Api-Key\" = \"SHINNY_TEST_UNSET_{}\" }}\n",
            std::process::id()
        );
        let err = Forwarder::new(Some(&fwd(&cfg)), &[tenant("a", None)])
            .err()
            .expect("an unset variable is refused");
        assert!(
            err.contains("destination \"lake\"") && err.contains("SHINNY_TEST_UNSET_"),
            "{err}"
        );
    }

    #[test]
    fn routes_by_select() {
        let tenants = [
            tenant("a", None),
            tenant("b", Some("select = \"all\"")),
            tenant("c", Some("select = \"none\"")),
        ];
        let f = Forwarder::new(Some(&fwd(BASE)), &tenants).unwrap().unwrap();
        assert_eq!(f.route_for("a", false).as_deref(), Some("lake"));
        assert_eq!(f.route_for("a", true), None);
        assert_eq!(f.route_for("b", true).as_deref(), Some("lake"));
        assert_eq!(f.route_for("c", false), None);
        assert_eq!(f.route_for("zz", false), None);
        assert!(Forwarder::new(None, &[tenant("a", None)])
            .unwrap()
            .is_none());
    }

    #[test]
    fn rejects_bad_configuration_clearly() {
        let cases: [(&str, Option<&str>, &str); 7] = [
            ("default_destination = \"nope\"", None, "nope"),
            (
                "[[destinations]]\nname = \"lake\"\nurl = \"ftp://x\"",
                Some("destination = \"lake\""),
                "http://",
            ),
            (BASE, Some("destination = \"other\""), "other"),
            (
                BASE,
                Some("transforms = [{ op = \"remove\", path = \"entry.x\" }]"),
                "transform 1",
            ),
            (
                "[[destinations]]\nname = \"lake\"\nurl = \"https://x\"\nclient_cert = \"/nonexistent/c.pem\"\nclient_key = \"/nonexistent/c.key\"",
                Some("destination = \"lake\""),
                "/nonexistent/c.pem",
            ),
            ("", Some("select = \"all\""), "no destination"),
            (
                "lease_seconds = 1\n[[destinations]]\nname = \"lake\"\nurl = \"http://x\"\ntimeout_ms = 1000",
                None,
                "shorter than",
            ),
        ];
        for (forwarding, t, expect) in cases {
            let e = Forwarder::new(Some(&fwd(forwarding)), &[tenant("a", t)])
                .err()
                .unwrap_or_else(|| panic!("accepted {forwarding} / {t:?}"));
            assert!(e.contains(expect), "{e} (expected {expect})");
        }
        // Tenant forwarding without [forwarding].
        assert!(Forwarder::new(None, &[tenant("a", Some("select = \"all\""))]).is_err());
        // Unknown keys are refused by the parser.
        assert!(toml::from_str::<ForwardingConfig>("retries = 3").is_err());
    }
}
