//! The forwarding endpoints: `POST /Bundle/$result/{id}` (the data lake
//! posts its processing result, with its own credential) and
//! `POST /Bundle/$replay` (an administrator re-queues dead letters or
//! chosen interactions).

use crate::app::AppState;
use crate::fhir::{json_response, ApiError};
use crate::storage::{now_micros, StoreResult};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Largest number of interactions one replay re-queues.
const MAX_REPLAY: usize = 10_000;

fn unauthorized(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "security",
        format!("{what} credentials required"),
    )
    .with_header(header::WWW_AUTHENTICATE, "Bearer")
}

fn forwarder(state: &AppState) -> Result<&crate::forward::Forwarder, ApiError> {
    state
        .forwarder
        .as_deref()
        .ok_or_else(|| ApiError::not_found("forwarding is not configured"))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!("storage: {e}");
            ApiError::internal()
        })
}

/// `POST /Bundle/$result/{id}`: stores the data lake's processing result
/// (any JSON, typically an OperationOutcome) with the interaction's job.
pub async fn result(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let fwd = forwarder(&state)?;
    if !fwd.is_result_key(&headers) {
        return Err(unauthorized("data lake"));
    }
    let Path(id) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    // Read only once the caller is known, within the configured limit.
    let body = crate::bundle::read_body(&state, &headers, body).await?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the result is not JSON: {e}")))?;
    let store = state.store.clone();
    let key = id.clone();
    let tenant = blocking(move || store.record_result(&key, &value, now_micros())).await?;
    match tenant {
        Some(t) => Ok(json_response(
            StatusCode::OK,
            &json!({ "id": id, "tenantId": t, "stored": true }),
        )),
        None => Err(ApiError::not_found(format!(
            "no forwarded interaction {id}"
        ))),
    }
}

/// The body of `POST /Bundle/$replay`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReplayRequest {
    /// Limits dead letters to one tenant; required with `ids`.
    #[serde(default)]
    tenant: Option<String>,
    /// Interactions to re-queue, whatever their state.
    #[serde(default)]
    ids: Vec<String>,
    /// Re-queue every dead letter (of `tenant`, or of all tenants).
    #[serde(default)]
    dead_letters: bool,
}

/// `POST /Bundle/$replay`: `{"deadLetters": true[, "tenant": T]}` or
/// `{"tenant": T, "ids": [...]}`; answers what was re-queued.
pub async fn replay(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let fwd = forwarder(&state)?;
    if !fwd.is_admin_key(&headers) {
        return Err(unauthorized("administrator"));
    }
    let body = crate::bundle::read_body(&state, &headers, body).await?;
    let req: ReplayRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"deadLetters\": true, \"tenant\": ...}} or {{\"tenant\": ..., \"ids\": [...]}}: {e}"
        ))
    })?;
    if req.dead_letters != req.ids.is_empty() {
        return Err(ApiError::bad_request(
            "give either deadLetters: true or a non-empty ids list",
        ));
    }
    if !req.ids.is_empty() && req.tenant.is_none() {
        return Err(ApiError::bad_request("ids need the tenant they belong to"));
    }
    if req.ids.len() > MAX_REPLAY {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_REPLAY} ids per replay"
        )));
    }
    let targets: Vec<(String, String)> = if req.dead_letters {
        let store = state.store.clone();
        let tenant = req.tenant.clone();
        blocking(move || store.dead_letters(tenant.as_deref(), MAX_REPLAY)).await?
    } else {
        let t = req.tenant.clone().unwrap_or_default();
        req.ids.iter().map(|id| (t.clone(), id.clone())).collect()
    };
    let mut requeued = Vec::new();
    let mut not_found = Vec::new();
    let mut jobs = Vec::new();
    for (tenant, id) in targets {
        match fwd.replay_destination(&tenant) {
            Some(dest) => jobs.push((tenant, id, dest)),
            None => not_found.push(json!({ "tenantId": tenant, "id": id })),
        }
    }
    let store = state.store.clone();
    let results = blocking(move || {
        let now = now_micros();
        jobs.into_iter()
            .map(|(t, id, dest)| Ok((store.requeue(&t, &id, &dest, now)?, t, id)))
            .collect::<StoreResult<Vec<_>>>()
    })
    .await?;
    for (ok, tenant, id) in results {
        let entry = json!({ "tenantId": tenant, "id": id });
        if ok {
            requeued.push(entry);
        } else {
            not_found.push(entry);
        }
    }
    tracing::info!(
        requeued = requeued.len(),
        not_found = not_found.len(),
        "replay"
    );
    if !requeued.is_empty() {
        fwd.wake.notify_one();
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "requeued": requeued, "notFound": not_found }),
    ))
}
