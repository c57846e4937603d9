//! The data-lake outbox: one `forward_job` row per interaction to forward,
//! written in the same transaction as the interaction itself
//! ([`super::Store::record`] with [`super::NewInteraction::forward`]), and
//! one `forward_attempt` row per delivery attempt.
//!
//! Job states: `pending` → `in_flight` → `delivered`, or → `retry_wait` →
//! `in_flight` → … → `dead_letter`. A claim puts a job `in_flight` with a
//! lease (`lease_until`, `lease_token`); a job whose lease ran out (the
//! process died mid-delivery) is due again, so no job is ever stranded.
//! Finishing an attempt only changes the job when the lease token still
//! matches, so a slow attempt that lost its lease cannot overwrite the
//! outcome of the attempt that replaced it.
//!
//! | table | columns |
//! |---|---|
//! | `forward_job` | pk (`tenant_id`, `id`), `destination`, `state`, `attempts` (since the last replay), `attempt_seq` (all time), `next_attempt_at`, `lease_until`, `lease_token`, `created_at`, `updated_at`, `last_error`, `result_gz`, `result_at` |
//! | `forward_attempt` | pk (`tenant_id`, `id`, `seq`), `started_at`, `latency_micros`, `http_status`, `error`, `response_body`, `outcome` |

use super::rfc3339;
use serde::Serialize;

/// Job states, as stored.
pub mod state {
    /// Waiting for its first attempt.
    pub const PENDING: &str = "pending";
    /// Claimed by a worker; leased until `lease_until`.
    pub const IN_FLIGHT: &str = "in_flight";
    /// The data lake answered 2xx.
    pub const DELIVERED: &str = "delivered";
    /// Failed transiently; due again at `next_attempt_at`.
    pub const RETRY_WAIT: &str = "retry_wait";
    /// Given up: refused by the data lake, or out of attempts. Only a
    /// replay sends it again.
    pub const DEAD_LETTER: &str = "dead_letter";
    /// Every state, for metrics.
    pub const ALL: [&str; 5] = [PENDING, IN_FLIGHT, DELIVERED, RETRY_WAIT, DEAD_LETTER];
}

/// SQL condition (both backends) selecting due jobs, with the current time
/// bound as `{now}`.
pub(crate) fn due_condition(now: &str) -> String {
    format!(
        "((state IN ('pending', 'retry_wait') AND next_attempt_at <= {now}) \
         OR (state = 'in_flight' AND lease_until <= {now}))"
    )
}

/// A job claimed for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Tenant.
    pub tenant_id: String,
    /// Interaction id (also the `Idempotency-Key`).
    pub id: String,
    /// Destination name.
    pub destination: String,
    /// Attempts since the last replay, this one included.
    pub attempts: i64,
    /// Number of this attempt over the job's whole life.
    pub seq: i64,
    /// Proves the lease when finishing.
    pub lease_token: String,
    /// When the job was created (micros).
    pub created_micros: i64,
}

/// One attempt, as recorded.
#[derive(Debug, Clone, Default)]
pub struct AttemptRecord {
    /// Start time (micros).
    pub started_micros: i64,
    /// Time to the end of the response (micros).
    pub latency_micros: i64,
    /// HTTP status, when a response came.
    pub http_status: Option<i64>,
    /// Connection error or timeout, when no response came.
    pub error: Option<String>,
    /// Response body (truncated).
    pub response_body: Option<String>,
    /// `delivered`, `retry` or `rejected`.
    pub outcome: String,
}

/// How an attempt changes its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobUpdate {
    /// To `delivered`.
    Delivered,
    /// To `retry_wait` until this time (micros).
    Retry(i64),
    /// To `dead_letter`, with the reason.
    DeadLetter(String),
}

impl JobUpdate {
    /// The state stored.
    pub fn state(&self) -> &'static str {
        match self {
            JobUpdate::Delivered => state::DELIVERED,
            JobUpdate::Retry(_) => state::RETRY_WAIT,
            JobUpdate::DeadLetter(_) => state::DEAD_LETTER,
        }
    }

    /// The interaction state change this update records, if any (retries
    /// are visible in the attempts, not as state changes).
    pub fn interaction_state(&self) -> Option<(&'static str, Option<String>)> {
        match self {
            JobUpdate::Delivered => Some(("forwarded", None)),
            JobUpdate::Retry(_) => None,
            JobUpdate::DeadLetter(why) => Some(("dead-letter", Some(why.clone()))),
        }
    }
}

/// One attempt, as `$status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptInfo {
    /// Attempt number over the job's life.
    pub seq: i64,
    /// Start (RFC 3339).
    pub at: String,
    /// Latency in milliseconds.
    pub latency_ms: f64,
    /// HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// Error without a response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Response body (truncated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// `delivered`, `retry` or `rejected`.
    pub outcome: String,
}

impl AttemptInfo {
    /// From stored columns.
    pub fn new(
        seq: i64,
        started: i64,
        latency: i64,
        status: Option<i64>,
        error: Option<String>,
        response_body: Option<String>,
        outcome: String,
    ) -> AttemptInfo {
        AttemptInfo {
            seq,
            at: rfc3339(started),
            latency_ms: latency as f64 / 1000.0,
            status,
            error,
            response_body,
            outcome,
        }
    }
}

/// The forwarding part of an interaction's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingInfo {
    /// Job state.
    pub state: String,
    /// Destination name.
    pub destination: String,
    /// Attempts since the last replay.
    pub attempts: i64,
    /// When the next attempt is due (pending and retry_wait).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// Last change.
    pub updated_at: String,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The data lake's processing result, when it posted one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// When it posted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_at: Option<String>,
    /// Every attempt, oldest first.
    pub history: Vec<AttemptInfo>,
}

/// Outcome text of an attempt row for an update.
pub fn attempt_outcome(update: &JobUpdate, http_status: Option<i64>) -> &'static str {
    match update {
        JobUpdate::Delivered => "delivered",
        JobUpdate::Retry(_) => "retry",
        JobUpdate::DeadLetter(_)
            if http_status.is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429) =>
        {
            "rejected"
        }
        JobUpdate::DeadLetter(_) => "retry-exhausted",
    }
}
