//! Tenants (QEs) and authentication.
//!
//! A request names its tenant by the `Host` it was sent to (white-label
//! mode) or by `X-TechBD-Tenant-ID` (gateway mode), and proves it with an
//! API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`) whose SHA-256
//! digest is listed for that tenant, or with a TLS client certificate
//! (mTLS) whose SHA-256 fingerprint is listed for that tenant. Keys are
//! never stored in clear.

use crate::config::{Mode, TenantConfig};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use shinny_engine::policy::Policy;
use std::sync::Arc;

/// A configured tenant.
#[derive(Debug)]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// White-label host names (lower case, without port).
    pub hosts: Vec<String>,
    /// SHA-256 digests of the API keys.
    key_digests: Vec<[u8; 32]>,
    /// SHA-256 fingerprints of client certificates.
    cert_digests: Vec<[u8; 32]>,
    /// The tenant's own policy, if any.
    pub policy: Option<Arc<Policy>>,
}

/// Why a request was not authenticated; each maps to 401 except where noted.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No tenant could be determined from the request.
    NoTenant(&'static str),
    /// No API key was sent.
    NoCredentials,
    /// The key is not one of the tenant's.
    BadCredentials,
}

impl AuthError {
    /// Human text for the OperationOutcome.
    pub fn text(&self) -> String {
        match self {
            AuthError::NoTenant(why) => why.to_string(),
            AuthError::NoCredentials => {
                "credentials required: send `Authorization: Bearer <API key>` or `X-API-Key`".into()
            }
            AuthError::BadCredentials => "the API key is not valid for this tenant".into(),
        }
    }
}

/// All tenants and the identification mode.
#[derive(Debug)]
pub struct Tenants {
    mode: Mode,
    tenants: Vec<Arc<Tenant>>,
}

/// The SHA-256 fingerprint of the client certificate the TLS connection
/// presented (DER), put in request extensions by the TLS listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCert(pub [u8; 32]);

/// Hex SHA-256 of a key, as written in the configuration.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses 64 hex digits.
pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Compares digests in time independent of where they differ.
fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The API key a request presents (`Authorization: Bearer` or `X-API-Key`).
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// Whether the request presents a key whose SHA-256 is one of `digests`
/// (service credentials: the data lake's, the administrator's).
pub(crate) fn key_matches(headers: &HeaderMap, digests: &[[u8; 32]]) -> bool {
    let Some(key) = presented_key(headers) else {
        return false;
    };
    let d: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    digests.iter().any(|x| digest_eq(x, &d))
}

/// Strips the port and lower-cases a `Host` value.
fn host_name(h: &str) -> String {
    let h = h.trim();
    let without_port = if h.starts_with('[') {
        h.split(']')
            .next()
            .map(|s| format!("{s}]"))
            .unwrap_or_default()
    } else {
        h.rsplit_once(':')
            .map(|(a, _)| a.to_string())
            .unwrap_or_else(|| h.to_string())
    };
    without_port.to_ascii_lowercase()
}

impl Tenants {
    /// Builds the tenant table; `policies` loads a tenant's policy file.
    pub fn new(
        mode: Mode,
        configs: &[TenantConfig],
        load_policy: impl Fn(&std::path::Path) -> Result<Policy, String>,
    ) -> Result<Tenants, String> {
        let mut tenants = Vec::new();
        for c in configs {
            if tenants.iter().any(|t: &Arc<Tenant>| t.id == c.id) {
                return Err(format!("tenant {} is configured twice", c.id));
            }
            let key_digests = c
                .api_key_sha256
                .iter()
                .map(|h| {
                    parse_hex32(h).ok_or_else(|| {
                        format!("tenant {}: api_key_sha256 {h:?} is not 64 hex digits", c.id)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let cert_digests = c
                .client_cert_sha256
                .iter()
                .map(|h| {
                    parse_hex32(&h.replace(':', "")).ok_or_else(|| {
                        format!(
                            "tenant {}: client_cert_sha256 {h:?} is not 64 hex digits",
                            c.id
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let policy = match &c.policy {
                Some(p) => Some(Arc::new(
                    load_policy(p).map_err(|e| format!("tenant {}: {e}", c.id))?,
                )),
                None => None,
            };
            tenants.push(Arc::new(Tenant {
                id: c.id.clone(),
                name: c.name.clone(),
                hosts: c.hosts.iter().map(|h| host_name(h)).collect(),
                key_digests,
                cert_digests,
                policy,
            }));
        }
        Ok(Tenants { mode, tenants })
    }

    /// The identification mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The tenant a request addresses, without checking credentials (used
    /// to brand public responses such as `/metadata`).
    pub fn identify(&self, headers: &HeaderMap) -> Result<Arc<Tenant>, AuthError> {
        match self.mode {
            Mode::Gateway => {
                let id = headers
                    .get("x-techbd-tenant-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .ok_or(AuthError::NoTenant(
                        "the X-TechBD-Tenant-ID header is required",
                    ))?;
                self.tenants
                    .iter()
                    .find(|t| t.id == id)
                    .cloned()
                    // An unknown tenant gets the same answer as a wrong key,
                    // so tenant ids cannot be probed.
                    .ok_or(AuthError::BadCredentials)
            }
            Mode::WhiteLabel => {
                let host = headers
                    .get(axum::http::header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .map(host_name)
                    .ok_or(AuthError::NoTenant("the Host header is required"))?;
                self.tenants
                    .iter()
                    .find(|t| t.hosts.contains(&host))
                    .cloned()
                    .ok_or(AuthError::NoTenant("no tenant is served on this host"))
            }
        }
    }

    /// Identifies the tenant and checks its credentials: the client
    /// certificate of the connection if it is one of the tenant's, else
    /// the API key.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        cert: Option<ClientCert>,
    ) -> Result<Arc<Tenant>, AuthError> {
        let tenant = self.identify(headers)?;
        if let Some(ClientCert(d)) = cert {
            if tenant.cert_digests.iter().any(|c| digest_eq(c, &d)) {
                return Ok(tenant);
            }
        }
        let key = presented_key(headers).ok_or(AuthError::NoCredentials)?;
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        if tenant.key_digests.iter().any(|d| digest_eq(d, &digest)) {
            Ok(tenant)
        } else {
            Err(AuthError::BadCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Tenants {
        fn authenticate_key(&self, h: &HeaderMap) -> Result<Arc<Tenant>, AuthError> {
            self.authenticate(h, None)
        }
    }

    fn tenants(mode: Mode) -> Tenants {
        let cfg = vec![
            TenantConfig {
                id: "a".into(),
                name: "A".into(),
                hosts: vec!["a.example".into()],
                api_key_sha256: vec![hash_key("key-a")],
                client_cert_sha256: vec!["07".repeat(32)],
                policy: None,
                forwarding: None,
            },
            TenantConfig {
                id: "b".into(),
                name: "B".into(),
                hosts: vec!["B.example".into()],
                api_key_sha256: vec![hash_key("key-b")],
                client_cert_sha256: vec![],
                policy: None,
                forwarding: None,
            },
        ];
        Tenants::new(mode, &cfg, |_| Err("no".into())).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn gateway_mode() {
        let t = tenants(Mode::Gateway);
        let ok = t.authenticate_key(&headers(&[
            ("x-techbd-tenant-id", "b"),
            ("authorization", "Bearer key-b"),
        ]));
        assert_eq!(ok.unwrap().id, "b");
        let wrong = t.authenticate_key(&headers(&[
            ("x-techbd-tenant-id", "a"),
            ("x-api-key", "key-b"),
        ]));
        assert_eq!(wrong.unwrap_err(), AuthError::BadCredentials);
        let none = t.authenticate_key(&headers(&[("x-techbd-tenant-id", "a")]));
        assert_eq!(none.unwrap_err(), AuthError::NoCredentials);
        assert!(matches!(
            t.authenticate_key(&headers(&[("x-api-key", "key-a")])),
            Err(AuthError::NoTenant(_))
        ));
    }

    #[test]
    fn white_label_mode() {
        let t = tenants(Mode::WhiteLabel);
        // A's certificate authenticates on A's host only, without a key.
        let cert = Some(ClientCert([7u8; 32]));
        assert_eq!(
            t.authenticate(&headers(&[("host", "a.example")]), cert)
                .unwrap()
                .id,
            "a"
        );
        assert!(t
            .authenticate(&headers(&[("host", "b.example")]), cert)
            .is_err());
        assert!(t
            .authenticate(
                &headers(&[("host", "a.example")]),
                Some(ClientCert([8u8; 32]))
            )
            .is_err());
        let ok = t.authenticate_key(&headers(&[
            ("host", "b.example:8080"),
            ("x-api-key", "key-b"),
        ]));
        assert_eq!(ok.unwrap().name, "B");
        assert!(t
            .authenticate_key(&headers(&[("host", "c.example"), ("x-api-key", "key-b")]))
            .is_err());
    }

    #[test]
    fn bad_digest_is_rejected() {
        let cfg = vec![TenantConfig {
            id: "a".into(),
            name: "A".into(),
            hosts: vec![],
            api_key_sha256: vec!["zz".into()],
            client_cert_sha256: vec![],
            policy: None,
            forwarding: None,
        }];
        assert!(Tenants::new(Mode::Gateway, &cfg, |_| Err("no".into())).is_err());
    }
}
