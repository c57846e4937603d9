//! The delivery worker: claims due jobs per destination as slots free up,
//! delivers each on its own task, and records every attempt.
//!
//! Nothing here holds state that a crash could lose: a job is leased in the
//! database before it is sent and finished after the answer, so after a
//! `kill -9` the restarted worker claims jobs whose lease ran out and sends
//! them again, with the same `Idempotency-Key`.

use super::backoff::{self, Verdict};
use super::transform::{self, Outcomes};
use super::Forwarder;
use crate::app::AppState;
use crate::storage::{now_micros, AttemptRecord, ClaimedJob, JobUpdate, StoreResult};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs until `stop` changes: claims and delivers.
pub async fn run(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(fwd) = state.forwarder.clone() else {
        return;
    };
    let poll = Duration::from_millis(fwd.config.poll_interval_ms);
    let lease = fwd.config.lease_seconds as i64 * 1_000_000;
    tracing::info!(
        destinations = fwd.destinations.len(),
        "forwarding worker started"
    );
    loop {
        for (di, d) in fwd.destinations.iter().enumerate() {
            let free = d.slots.available_permits();
            if free == 0 {
                continue;
            }
            let store = state.store.clone();
            let name = d.name.clone();
            let now = now_micros();
            let jobs = match blocking(move || store.claim_jobs(&name, now, now + lease, free)).await
            {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(destination = %d.name, "claiming jobs failed: {e}");
                    continue;
                }
            };
            for job in jobs {
                // Claimed no more than the free slots, and only this loop
                // takes slots, so this does not wait.
                let Ok(permit) = d.slots.clone().acquire_owned().await else {
                    return;
                };
                let st = state.clone();
                let f = fwd.clone();
                tokio::spawn(async move { deliver(st, f, di, job, permit).await });
            }
        }
        tokio::select! {
            _ = fwd.wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {
                tracing::info!("forwarding worker stopped");
                return;
            }
        }
    }
}

/// Loads the payload and builds the body: the stored bytes, or the
/// transformed bundle.
fn body(state: &AppState, fwd: &Forwarder, job: &ClaimedJob) -> Result<Vec<u8>, String> {
    let payload = state
        .store
        .payload(&job.tenant_id, &job.id)
        .map_err(|e| e.to_string())?
        .ok_or("the stored payload is missing")?;
    let transforms = match fwd.routes.get(&job.tenant_id) {
        Some(r) if !r.transforms.is_empty() => &r.transforms,
        _ => return Ok(payload),
    };
    let mut bundle: serde_json::Value = match serde_json::from_slice(&payload) {
        Ok(v) => v,
        Err(e) => {
            // Accepted by the engine's parser but not by serde_json: send
            // the bundle as received rather than not at all.
            tracing::warn!(id = %job.id, "transforms skipped, payload not parsed: {e}");
            return Ok(payload);
        }
    };
    let reported = state
        .store
        .get(&job.tenant_id, &job.id)
        .map_err(|e| e.to_string())?
        .and_then(|r| r.outcome)
        .unwrap_or_default();
    let full = state
        .store
        .full_outcome(&job.tenant_id, &job.id)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    transform::apply(
        transforms,
        &mut bundle,
        &Outcomes {
            reported: &reported,
            full: &full,
        },
    );
    serde_json::to_vec(&bundle).map_err(|e| e.to_string())
}

/// One attempt of one job, start to finish.
async fn deliver(
    state: Arc<AppState>,
    fwd: Arc<Forwarder>,
    dest: usize,
    job: ClaimedJob,
    permit: OwnedSemaphorePermit,
) {
    let m = &state.metrics.forward;
    m.in_flight.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("forward", interaction_id = %job.id, tenant = %job.tenant_id, attempt = job.attempts);
    let started_micros = now_micros();
    let started = Instant::now();
    // The tenant's own endpoint (URL, identity, headers) when the job is for
    // its current destination; else (tenant removed, or moved to another
    // destination since) the destination's.
    let endpoint = match fwd.routes.get(&job.tenant_id) {
        Some(r) if r.destination == job.destination => r.endpoint.clone(),
        _ => fwd.destinations[dest].endpoint.clone(),
    };
    let (st, f2, j2) = (state.clone(), fwd.clone(), job.clone());
    let built = tokio::task::spawn_blocking(move || body(&st, &f2, &j2))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let answer = match built {
        Ok(b) => Some(endpoint.post(&job.tenant_id, &job.id, b).await),
        Err(e) => {
            span.in_scope(|| tracing::error!("cannot build the bundle to forward: {e}"));
            None
        }
    };
    let latency = started.elapsed();
    let now = now_micros();
    let mut attempt = AttemptRecord {
        started_micros,
        latency_micros: latency.as_micros() as i64,
        ..Default::default()
    };
    let max = fwd.config.max_attempts as i64;
    let retry_in = |ra: Option<Duration>| {
        let d = backoff::delay(
            job.attempts.max(1) as u32,
            Duration::from_millis(fwd.config.base_backoff_ms),
            Duration::from_millis(fwd.config.max_backoff_ms),
            ra,
            backoff::random(),
        );
        now + d.as_micros() as i64
    };
    let update = match answer {
        None => JobUpdate::DeadLetter("the stored bundle could not be read".into()),
        Some(Err(e)) => {
            attempt.error = Some(e.clone());
            if job.attempts >= max {
                JobUpdate::DeadLetter(format!("gave up after {max} attempts; last: {e}"))
            } else {
                JobUpdate::Retry(retry_in(None))
            }
        }
        Some(Ok(a)) => {
            attempt.http_status = Some(a.status as i64);
            attempt.response_body = (!a.body.is_empty()).then(|| a.body.clone());
            match backoff::classify(a.status, a.retry_after) {
                Verdict::Delivered => JobUpdate::Delivered,
                Verdict::Retry(_) if job.attempts >= max => JobUpdate::DeadLetter(format!(
                    "gave up after {max} attempts; last: HTTP {}",
                    a.status
                )),
                Verdict::Retry(ra) => JobUpdate::Retry(retry_in(ra)),
                Verdict::Reject => {
                    JobUpdate::DeadLetter(format!("refused by the data lake: HTTP {}", a.status))
                }
            }
        }
    };
    attempt.outcome =
        crate::storage::outbox::attempt_outcome(&update, attempt.http_status).to_string();
    m.attempt(&attempt.outcome, latency);
    match &update {
        JobUpdate::Delivered => {
            m.deliveries.fetch_add(1, Ordering::Relaxed);
            let e2e = (now - job.created_micros).max(0) as u64;
            m.delivery_latency.observe(Duration::from_micros(e2e));
        }
        JobUpdate::DeadLetter(_) => {
            m.dead_letters.fetch_add(1, Ordering::Relaxed);
        }
        JobUpdate::Retry(_) => {}
    }
    span.in_scope(|| match &update {
        JobUpdate::Delivered => tracing::info!(
            status = attempt.http_status,
            latency_ms = latency.as_secs_f64() * 1e3,
            "forwarded"
        ),
        JobUpdate::Retry(at) => tracing::warn!(
            status = attempt.http_status,
            error = attempt.error.as_deref(),
            retry_in_ms = (at - now) / 1000,
            "forwarding failed; will retry"
        ),
        JobUpdate::DeadLetter(why) => tracing::error!("forwarding dead-lettered: {why}"),
    });
    let store = state.store.clone();
    let finished = blocking(move || store.finish_job(&job, &attempt, &update, now)).await;
    match finished {
        Ok(true) => {}
        Ok(false) => span.in_scope(|| {
            tracing::warn!("the job's lease ran out during the attempt; its new claim decides")
        }),
        // The lease will run out and the job be delivered again: at least
        // once, never lost.
        Err(e) => span.in_scope(|| tracing::error!("recording the attempt failed: {e}")),
    }
    m.in_flight.fetch_sub(1, Ordering::Relaxed);
    drop(permit);
    fwd.wake.notify_one();
}
