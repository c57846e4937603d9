//! `POST /Bundle/$validate` and `POST /Bundle`: authenticate, check the
//! request, wait for a validation slot (or 503), validate on a blocking
//! thread, apply the diagnostics policy, and for `POST /Bundle` store the
//! interaction.

use crate::app::AppState;
use crate::fhir::{fhir_response, is_json_content_type, ApiError};
use crate::metrics::Metrics;
use crate::routes::InteractionId;
use crate::storage::{
    now_micros, NewInteraction, RequestInfo, StateChange, StoreError, ValidationSummary,
};
use crate::tenants::{AuthError, ClientCert, Tenant};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};
use shinny_engine::policy::Policy;
use shinny_engine::{json, validate::parse_issue, OperationOutcome, Severity};
use shinny_engine::{ContextSet, ValidationOptions};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `POST /Bundle/$validate`: validate only, store nothing.
pub async fn validate(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<InteractionId>,
    cert: Option<Extension<ClientCert>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    process(state, id, cert.map(|c| c.0), headers, body, false).await
}

/// `POST /Bundle`: validate and store, unless `X-TechBD-HealthCheck: true`.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<InteractionId>,
    cert: Option<Extension<ClientCert>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let health_check = header_str(&headers, "x-techbd-healthcheck")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    process(state, id, cert.map(|c| c.0), headers, body, !health_check).await
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Maps an authentication failure to 401.
pub fn auth_error(e: AuthError) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "security", e.text())
        .with_header(header::WWW_AUTHENTICATE, "Bearer")
}

/// Tags a response resource with the tenant it was served for.
pub fn brand(resource: &mut serde_json::Value, tenant: &Tenant) {
    resource["meta"] = serde_json::json!({ "tag": [{
        "system": "http://shinny.org/fhir/CodeSystem/tenant",
        "code": tenant.id,
        "display": tenant.name
    }]});
}

/// The request headers that steer validation, checked.
struct Steering {
    correlation_id: Option<String>,
    ig_version: Option<String>,
    profile: Option<String>,
    severity_text: Option<String>,
    severity: Option<Severity>,
}

fn steering(state: &AppState, headers: &HeaderMap) -> Result<Steering, ApiError> {
    let ig_version = header_str(headers, "x-shin-ny-ig-version").map(str::to_string);
    if let Some(v) = &ig_version {
        if state.contexts.get(Some(v)).is_none() {
            return Err(ApiError::bad_request(format!(
                "X-SHIN-NY-IG-Version {v:?} is not served here; known versions: {}",
                state.contexts.names().join(", ")
            )));
        }
    }
    let severity_text =
        header_str(headers, "x-techbd-validation-severity-level").map(str::to_string);
    let severity = match &severity_text {
        Some(s) => Some(Severity::from_code(&s.to_ascii_lowercase()).ok_or_else(|| {
            ApiError::bad_request(format!(
                "X-TechBD-Validation-Severity-Level {s:?} is not one of information, warning, error, fatal"
            ))
        })?),
        None => None,
    };
    Ok(Steering {
        correlation_id: header_str(headers, "x-correlation-id").map(str::to_string),
        ig_version,
        profile: header_str(headers, "x-techbd-fhir-profile-uri").map(str::to_string),
        severity_text,
        severity,
    })
}

/// Reads the body up to the configured limit (413 beyond it) and within
/// the configured time (408 after it), every error an OperationOutcome.
pub(crate) async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, ApiError> {
    let limit = state.config.server.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-costly",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = header_str(headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let secs = state.config.server.body_read_timeout_seconds.max(1);
    let read = Limited::new(body, limit).collect();
    match tokio::time::timeout(Duration::from_secs(secs), read).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request body did not arrive within {secs} s"),
        )),
        Ok(Ok(c)) => Ok(c.to_bytes().to_vec()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(ApiError::bad_request(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// Holds one count of a metrics gauge (validations queued, in flight)
/// until dropped, whichever way its holder ends: done, panicked, or
/// dropped unrun because its client went away.
struct Gauge(Arc<AppState>, fn(&Metrics) -> &AtomicI64);

impl Gauge {
    fn new(state: &Arc<AppState>, gauge: fn(&Metrics) -> &AtomicI64) -> Gauge {
        gauge(&state.metrics).fetch_add(1, Ordering::Relaxed);
        Gauge(state.clone(), gauge)
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        (self.1)(&self.0.metrics).fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the blocking part hands back.
struct Done {
    outcome: serde_json::Value,
    validate_time: Duration,
    /// The interaction to store (`POST /Bundle`).
    interaction: Option<NewInteraction>,
}

async fn process(
    state: Arc<AppState>,
    InteractionId(id): InteractionId,
    cert: Option<ClientCert>,
    headers: HeaderMap,
    body: Body,
    store: bool,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let received_micros = now_micros();
    let tenant = state
        .tenants
        .authenticate(&headers, cert)
        .map_err(auth_error)?;
    tracing::debug!(tenant = %tenant.id, "authenticated");
    match header_str(&headers, "content-type") {
        Some(ct) if is_json_content_type(ct) => {}
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not-supported",
                format!(
                    "Content-Type {} is not supported; send application/fhir+json",
                    other.unwrap_or("(none)")
                ),
            ))
        }
    }
    let steer = steering(&state, &headers)?;
    // Admission: a bounded number of requests may be read and wait for a
    // slot (which also bounds the memory held by bodies); beyond that the
    // client is told to come back rather than piling up latency.
    let Ok(_admitted) = state.admission.clone().try_acquire_owned() else {
        state
            .metrics
            .rejected_saturated
            .fetch_add(1, Ordering::Relaxed);
        let retry = state.config.server.retry_after_seconds.to_string();
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "transient",
            "the service is saturated; retry later",
        )
        .with_header(header::RETRY_AFTER, &retry));
    };
    let bytes = read_body(&state, &headers, body).await?;

    let queued = Gauge::new(&state, |m| &m.validations_queued);
    let span = tracing::Span::current();
    let st = state.clone();
    let tenant2 = tenant.clone();
    let id2 = id.clone();
    let done = state
        .validators
        .run(move || {
            let _enter = span.enter();
            let queue_time = started.elapsed();
            drop(queued);
            let _running = Gauge::new(&st, |m| &m.validations_in_flight);
            run(&st, &tenant2, &id2, received_micros, &steer, bytes, store).map(|d| (d, queue_time))
        })
        .await
        .map_err(|e| {
            tracing::error!("validation task failed: {e}");
            ApiError::internal()
        })?;
    let (done, queue_time) = done?;

    // Stored after the validation slot is released: a slow commit must not
    // hold back validations. The admission permit still bounds the total.
    let store_time = match done.interaction {
        Some(interaction) => {
            let span = tracing::Span::current();
            let st = state.clone();
            Some(
                tokio::task::spawn_blocking(move || {
                    let _enter = span.enter();
                    save(&st, interaction)
                })
                .await
                .map_err(|e| {
                    tracing::error!("storage task failed: {e}");
                    ApiError::internal()
                })??,
            )
        }
        None => None,
    };

    let total = started.elapsed();
    let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1e3);
    let mut timing = format!(
        "queue;dur={}, validate;dur={}",
        ms(queue_time),
        ms(done.validate_time)
    );
    if let Some(s) = store_time {
        timing.push_str(&format!(", store;dur={}", ms(s)));
    }
    timing.push_str(&format!(", total;dur={}", ms(total)));
    let status = if store {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = fhir_response(status, &done.outcome);
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&timing) {
        h.insert("server-timing", v);
    }
    if store {
        if let Ok(v) = HeaderValue::from_str(&format!("/Bundle/$status/{id}")) {
            h.insert(header::LOCATION, v);
        }
    }
    Ok(response)
}

/// The blocking part: parse, validate, apply the policy, prepare the
/// interaction record.
fn run(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
    received_micros: i64,
    steer: &Steering,
    bytes: Vec<u8>,
    store: bool,
) -> Result<Done, ApiError> {
    let options = ValidationOptions {
        profiles: steer.profile.iter().cloned().collect(),
        max_depth: state.config.validation.max_depth,
        ..Default::default()
    };
    let set: &ContextSet = state
        .contexts
        .get(steer.ig_version.as_deref())
        .ok_or_else(ApiError::internal)?;
    let t = Instant::now();
    let node = json::parse_with_limits(&bytes, options.limits()).map_err(|e| {
        let mut err = ApiError::bad_request(format!("The JSON is not valid: {}", e.message));
        err.outcome = Some(
            OperationOutcome {
                issues: vec![parse_issue(&e)],
                ..Default::default()
            }
            .to_fhir(),
        );
        err
    })?;
    if node.get("resourceType").and_then(json::Node::as_str) != Some("Bundle") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "the body must be a FHIR Bundle (resourceType \"Bundle\")",
        ));
    }
    let outcome = set.validate_node(&node, &options);
    drop(node);
    let validate_time = t.elapsed();
    let validated_micros = now_micros();
    state.metrics.validation_seconds.observe(validate_time);

    let base = tenant.policy.as_ref().unwrap_or(&state.policy);
    let policy: Arc<Policy> = match steer.severity {
        Some(sev) => {
            let mut p = (**base).clone();
            p.min_severity = Some(p.min_severity.map_or(sev, |m| m.max(sev)));
            Arc::new(p)
        }
        None => base.clone(),
    };
    let result = policy.apply(&outcome.issues);
    let mut reported = result.to_fhir();
    if store {
        reported["id"] = serde_json::Value::String(id.to_string());
    }
    brand(&mut reported, tenant);

    let mut summary = ValidationSummary {
        valid: outcome.is_valid(),
        reported: result.stats.reported as i64,
        policy_name: Some(result.policy_name.clone()),
        policy_version: Some(result.policy_version.clone()),
        validation_micros: validate_time.as_micros() as i64,
        ..Default::default()
    };
    for i in &outcome.issues {
        let (field, slot) = match i.severity {
            Severity::Fatal => (&mut summary.fatal, 0),
            Severity::Error => (&mut summary.error, 1),
            Severity::Warning => (&mut summary.warning, 2),
            Severity::Information => (&mut summary.information, 3),
        };
        *field += 1;
        state.metrics.issues[slot].fetch_add(1, Ordering::Relaxed);
    }
    tracing::info!(
        tenant = %tenant.id,
        valid = summary.valid,
        errors = summary.error + summary.fatal,
        warnings = summary.warning,
        reported = summary.reported,
        bytes = bytes.len(),
        validate_ms = validate_time.as_secs_f64() * 1e3,
        "validated"
    );
    if !store {
        return Ok(Done {
            outcome: reported,
            validate_time,
            interaction: None,
        });
    }

    // Decided now and written with the interaction: the outbox job can
    // never be missing. Judged after the tenant's policy but without the
    // request's severity level, which only trims what the submitter sees
    // (a submitter asking for `fatal` must not get errors forwarded).
    let forward = state.forwarder.as_ref().and_then(|f| {
        let is_error = |s: Severity| s >= Severity::Error;
        let errors = match steer.severity {
            None => result.issues.iter().any(|i| is_error(i.issue.severity)),
            Some(_) => base
                .apply(&outcome.issues)
                .issues
                .iter()
                .any(|i| is_error(i.issue.severity)),
        };
        f.route_for(&tenant.id, errors)
    });
    let interaction = NewInteraction {
        forward,
        id: id.to_string(),
        tenant_id: tenant.id.clone(),
        received_micros,
        request: RequestInfo {
            correlation_id: steer.correlation_id.clone(),
            ig_version: steer.ig_version.clone(),
            profile_uri: steer.profile.clone(),
            severity_level: steer.severity_text.clone(),
            payload_bytes: bytes.len() as i64,
            payload_sha256: Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        },
        payload: bytes,
        full_outcome: outcome.to_fhir(),
        reported_outcome: reported.clone(),
        states: vec![
            StateChange::new("received", received_micros, None),
            StateChange::new(
                "validated",
                validated_micros,
                Some(format!(
                    "{} error(s), {} warning(s)",
                    summary.error + summary.fatal,
                    summary.warning
                )),
            ),
        ],
        summary,
    };
    Ok(Done {
        outcome: reported,
        validate_time,
        interaction: Some(interaction),
    })
}

/// Stores an interaction (on a blocking thread); returns the time taken.
fn save(state: &AppState, mut interaction: NewInteraction) -> Result<Duration, ApiError> {
    let t = Instant::now();
    interaction
        .states
        .push(StateChange::new("stored", now_micros(), None));
    let id = interaction.id.clone();
    match state.store.record(&interaction) {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                format!("interaction {id} already exists (X-Correlation-ID reused)"),
            ))
        }
        Err(e) => {
            tracing::error!("storing the interaction failed: {e}");
            return Err(ApiError::internal());
        }
    }
    let store_time = t.elapsed();
    state.metrics.storage_seconds.observe(store_time);
    state
        .metrics
        .interactions_stored
        .fetch_add(1, Ordering::Relaxed);
    tracing::info!(store_ms = store_time.as_secs_f64() * 1e3, "stored");
    if let (Some(f), Some(_)) = (&state.forwarder, &interaction.forward) {
        f.wake.notify_one();
    }
    Ok(store_time)
}
