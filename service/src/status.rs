//! `GET /Bundle/$status/{id}` and `GET /Bundle/$status`: a tenant's stored
//! interactions. Another tenant's interaction is answered exactly like one
//! that does not exist (404), so ids cannot be probed.

use crate::app::AppState;
use crate::bundle::auth_error;
use crate::fhir::{json_response, ApiError};
use crate::storage::{
    decode_cursor, encode_cursor, parse_rfc3339, InteractionRecord, ListQuery, StoreResult,
};
use crate::tenants::ClientCert;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Default and largest page sizes of the listing.
const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 500;

/// One page of the listing.
#[derive(Debug, Serialize)]
pub struct StatusPage {
    /// Interactions, oldest first, without outcome and state history.
    pub items: Vec<InteractionRecord>,
    /// URL of the next page, absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _e = span.enter();
        f()
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|e| {
        tracing::error!("storage: {e}");
        ApiError::internal()
    })
}

/// `GET /Bundle/$status/{id}[?diagnostics=full]`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    cert: Option<Extension<ClientCert>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = state
        .tenants
        .authenticate(&headers, cert.map(|c| c.0))
        .map_err(auth_error)?;
    let Path(id) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Query(params) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut full = false;
    for (k, v) in &params {
        match (k.as_str(), v.as_str()) {
            ("diagnostics", "full") => full = true,
            ("diagnostics", "reported") => full = false,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {k}={v}; known: diagnostics=full|reported"
                )))
            }
        }
    }
    let store = state.store.clone();
    let tenant_id = tenant.id.clone();
    let key = id.clone();
    let rec = blocking(move || {
        let mut rec = store.get(&tenant_id, &key)?;
        if let (Some(r), true) = (rec.as_mut(), full) {
            r.full_outcome = store.full_outcome(&tenant_id, &key)?;
        }
        if let Some(r) = rec.as_mut() {
            r.forwarding = store.forwarding(&tenant_id, &key)?;
        }
        Ok(rec)
    })
    .await?;
    match rec {
        Some(r) => Ok(json_response(StatusCode::OK, &r)),
        None => Err(ApiError::not_found(format!("no interaction {id}"))),
    }
}

/// `GET /Bundle/$status?since=RFC3339&state=S&_count=N&cursor=C`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    cert: Option<Extension<ClientCert>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = state
        .tenants
        .authenticate(&headers, cert.map(|c| c.0))
        .map_err(auth_error)?;
    let Query(params) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut q = ListQuery {
        limit: DEFAULT_COUNT,
        ..Default::default()
    };
    for (k, v) in &params {
        match k.as_str() {
            "since" => {
                q.since_micros = Some(parse_rfc3339(v).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "since {v:?} is not an RFC 3339 date-time (e.g. 2026-01-31T00:00:00Z)"
                    ))
                })?)
            }
            "state" => q.state = Some(v.clone()),
            "_count" => {
                q.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_COUNT).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("_count must be 1 to {MAX_COUNT}"))
                    })?
            }
            "cursor" => {
                q.after =
                    Some(decode_cursor(v).ok_or_else(|| ApiError::bad_request("invalid cursor"))?)
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; known: since, state, _count, cursor"
                )))
            }
        }
    }
    let store = state.store.clone();
    let tenant_id = tenant.id.clone();
    let q2 = q.clone();
    let page = blocking(move || store.list(&tenant_id, &q2)).await?;
    let next = page.next.map(|pos| {
        let mut url = String::from("/Bundle/$status?");
        let mut parts: Vec<String> = Vec::new();
        if let Some(s) = params.get("since") {
            parts.push(format!("since={}", encode(s)));
        }
        if let Some(s) = &q.state {
            parts.push(format!("state={}", encode(s)));
        }
        parts.push(format!("_count={}", q.limit));
        parts.push(format!("cursor={}", encode(&encode_cursor(&pos))));
        url.push_str(&parts.join("&"));
        url
    });
    Ok(json_response(
        StatusCode::OK,
        &StatusPage {
            items: page.items,
            next,
        },
    ))
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
