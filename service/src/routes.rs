//! The HTTP surface: router, per-request middleware (interaction id, log
//! span, metrics) and the small endpoints. Bundle validation and storage
//! are in [`crate::bundle`], interaction status in [`crate::status`].

use crate::app::AppState;
use crate::fhir::{fhir_response, json_response, ApiError};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// The OpenAPI document, checked in as `service/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Response header carrying the interaction id of every request.
pub const INTERACTION_HEADER: &str = "x-techbd-interaction-id";

/// The interaction id of a request: `X-Correlation-ID` when it is a UUID,
/// else a new random UUID.
#[derive(Debug, Clone)]
pub struct InteractionId(pub String);

/// Builds the router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/Bundle/$validate", post(crate::bundle::validate))
        .route("/Bundle", post(crate::bundle::submit))
        .route("/Bundle/$status", get(crate::status::list))
        .route("/Bundle/$status/{id}", get(crate::status::get_one))
        .route("/Bundle/$result/{id}", post(crate::forward::api::result))
        .route("/Bundle/$replay", post(crate::forward::api::replay))
        .route("/metadata", get(metadata))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            interaction_layer,
        ))
        .with_state(state)
}

/// A bounded label for metrics, from the request path.
fn route_label(path: &str) -> &'static str {
    match path {
        "/Bundle/$validate" => "/Bundle/$validate",
        "/Bundle" => "/Bundle",
        "/Bundle/$status" => "/Bundle/$status",
        "/metadata" => "/metadata",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/openapi.json" => "/openapi.json",
        "/Bundle/$replay" => "/Bundle/$replay",
        p if p.starts_with("/Bundle/$status/") => "/Bundle/$status/{id}",
        p if p.starts_with("/Bundle/$result/") => "/Bundle/$result/{id}",
        _ => "other",
    }
}

/// Gives every request its interaction id and a log span carrying it, and
/// counts it in the metrics.
async fn interaction_layer(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
        .unwrap_or_else(uuid::Uuid::new_v4)
        .hyphenated()
        .to_string();
    let route = route_label(req.uri().path());
    let span = tracing::info_span!(
        "request",
        interaction_id = %id,
        method = %req.method(),
        path = %req.uri().path()
    );
    req.extensions_mut().insert(InteractionId(id.clone()));
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    state.metrics.request(route, status);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(INTERACTION_HEADER, v);
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "request completed"
        )
    });
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "method not allowed on this endpoint; see /openapi.json",
    )
}

/// `GET /metadata`: the CapabilityStatement, branded with the tenant the
/// request addresses (by `Host` or `X-TechBD-Tenant-ID`) when there is one.
async fn metadata(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let tenant = state.tenants.identify(&headers).ok();
    let name = tenant
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_else(|| state.config.server.publisher.clone());
    let igs: Vec<&str> = state.contexts.names();
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": chrono::Utc::now().format("%Y-%m-%d").to_string(),
        "publisher": name,
        "name": "ShinnyValidationService",
        "title": format!("{name} FHIR validation service"),
        "kind": "instance",
        "software": { "name": "shinny-service", "version": env!("CARGO_PKG_VERSION") },
        "implementation": {
            "description": format!("{name} SHIN-NY HRSN bundle validation (IG versions: {})", igs.join(", "))
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "description": "Per-tenant API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`. Gateway mode also requires `X-TechBD-Tenant-ID`."
            },
            "resource": [{
                "type": "Bundle",
                "interaction": [{ "code": "create", "documentation": "Validate and store; returns the OperationOutcome and the interaction's status URL in Location." }],
                "operation": [{
                    "name": "validate",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                    "documentation": "Validate only; nothing is stored."
                }]
            }]
        }]
    });
    fhir_response(StatusCode::OK, &body)
}

/// `GET /healthz`: the process answers.
async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

/// `GET /readyz`: contexts are loaded and the database answers.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let store = state.store.clone();
    let ping = tokio::task::spawn_blocking(move || store.ping()).await;
    match ping {
        Ok(Ok(())) => json_response(
            StatusCode::OK,
            &json!({
                "status": "ready",
                "storage": state.store.backend(),
                "contexts": state.contexts.names(),
            }),
        ),
        Ok(Err(e)) => {
            tracing::warn!("readiness: storage: {e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "exception",
                "storage is not reachable",
            )
            .into_response()
        }
        Err(_) => ApiError::internal().into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut text = state.metrics.render();
    if state.forwarder.is_some() {
        let store = state.store.clone();
        match tokio::task::spawn_blocking(move || store.queue_depth()).await {
            Ok(Ok(depth)) => text.push_str(&crate::metrics::render_queue_depth(&depth)),
            // Metrics without the depth beat no metrics.
            Ok(Err(e)) => tracing::warn!("metrics: outbox depth: {e}"),
            Err(_) => {}
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// `GET /openapi.json`.
async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}
