//! Interaction storage behind one trait, [`Store`], with two
//! implementations: embedded SQLite ([`sqlite::SqliteStore`]) and
//! PostgreSQL ([`postgres::PgStore`]).
//!
//! One interaction is written in one transaction ([`Store::record`]): its
//! row, its compressed payload, its full and policy-filtered diagnostics and
//! its state changes. Forwarding to the data lake will add a durable outbox
//! row inside that same transaction ([`outbox`]), so a stored interaction
//! can never miss its outbox entry.
//!
//! Schema (both backends; timestamps are microseconds since the Unix epoch,
//! UTC, so that both sort and compare them identically):
//!
//! | table | columns |
//! |---|---|
//! | `schema_migrations` | `version` (pk), `name`, `applied_at` |
//! | `interaction` | pk (`tenant_id`, `id`), `received_at`, `state`, `correlation_id`, `ig_version`, `profile_uri`, `severity_level`, `payload_bytes`, `payload_sha256`, `valid`, `fatal_count`, `error_count`, `warning_count`, `information_count`, `reported_count`, `policy_name`, `policy_version`, `validation_micros` |
//! | `interaction_payload` | pk (`tenant_id`, `id`), `payload_gz` (gzip) |
//! | `interaction_diagnostics` | pk (`tenant_id`, `id`), `full_gz`, `reported_gz` (gzip OperationOutcome JSON) |
//! | `interaction_state` | pk (`tenant_id`, `id`, `seq`), `state`, `at`, `detail` |
//! | `forward_job`, `forward_attempt` | see [`outbox`] (migration 2) |

pub mod conformance;
pub mod outbox;
mod outbox_pg;
mod outbox_sqlite;
pub mod postgres;
pub mod sqlite;

pub use outbox::{AttemptRecord, ClaimedJob, ForwardingInfo, JobUpdate};

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(String),
    /// An interaction with this id already exists for the tenant.
    #[error("interaction {0} already exists")]
    Duplicate(String),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Result of storage operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// One state change of an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// `received`, `validated`, `stored`; with forwarding `forwarded`,
    /// `dead-letter`, `requeued`.
    pub state: String,
    /// When, in microseconds since the Unix epoch (UTC).
    #[serde(skip)]
    pub at_micros: i64,
    /// When, as RFC 3339 (filled when read).
    pub at: String,
    /// Optional free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl StateChange {
    /// A state change at a time.
    pub fn new(state: &str, at_micros: i64, detail: Option<String>) -> StateChange {
        StateChange {
            state: state.into(),
            at_micros,
            at: rfc3339(at_micros),
            detail,
        }
    }
}

/// Counts that summarize a validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationSummary {
    /// No error or fatal issue in the full diagnostics.
    pub valid: bool,
    /// Fatal issues (full diagnostics).
    pub fatal: i64,
    /// Error issues (full diagnostics).
    pub error: i64,
    /// Warning issues (full diagnostics).
    pub warning: i64,
    /// Information issues (full diagnostics).
    pub information: i64,
    /// Issues reported after the policy.
    pub reported: i64,
    /// The policy applied to the reported issues.
    pub policy_name: Option<String>,
    /// Its version.
    pub policy_version: Option<String>,
    /// Time spent validating, in microseconds.
    pub validation_micros: i64,
}

/// What the client asked for, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestInfo {
    /// `X-Correlation-ID` as sent.
    pub correlation_id: Option<String>,
    /// `X-SHIN-NY-IG-Version` as sent.
    pub ig_version: Option<String>,
    /// `X-TechBD-FHIR-Profile-URI` as sent.
    pub profile_uri: Option<String>,
    /// `X-TechBD-Validation-Severity-Level` as sent.
    pub severity_level: Option<String>,
    /// Size of the payload in bytes.
    pub payload_bytes: i64,
    /// Hex SHA-256 of the payload.
    pub payload_sha256: String,
}

/// An interaction to store.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    /// Interaction id (a UUID).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Receipt time, microseconds since the epoch.
    pub received_micros: i64,
    /// Request metadata.
    pub request: RequestInfo,
    /// The payload as received.
    pub payload: Vec<u8>,
    /// The full OperationOutcome (FHIR JSON).
    pub full_outcome: serde_json::Value,
    /// The policy-filtered OperationOutcome (FHIR JSON), as returned.
    pub reported_outcome: serde_json::Value,
    /// Counts.
    pub summary: ValidationSummary,
    /// State changes, in order; the last is the current state.
    pub states: Vec<StateChange>,
    /// When set, a forwarding job to this destination is created in the
    /// same transaction (the durable outbox).
    pub forward: Option<String>,
}

/// One stored interaction, as `GET /Bundle/$status/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionRecord {
    /// Interaction id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Receipt time (RFC 3339, UTC).
    pub received_at: String,
    /// Current state.
    pub state: String,
    /// Request metadata.
    pub request: RequestInfo,
    /// Validation counts.
    pub validation: ValidationSummary,
    /// The OperationOutcome returned to the client (policy applied); only
    /// in single-record reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<serde_json::Value>,
    /// The full, unfiltered OperationOutcome; only when asked for
    /// (`?diagnostics=full`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub full_outcome: Option<serde_json::Value>,
    /// Every state change, in order; only in single-record reads.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub states: Vec<StateChange>,
    /// Forwarding to the data lake: job state, attempts, result; only in
    /// single-record reads of forwarded interactions.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub forwarding: Option<ForwardingInfo>,
}

/// Filter and page for listing a tenant's interactions, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only interactions received at or after this time (micros).
    pub since_micros: Option<i64>,
    /// Only interactions currently in this state.
    pub state: Option<String>,
    /// Continue after this (received_micros, id).
    pub after: Option<(i64, String)>,
    /// Page size.
    pub limit: usize,
}

/// A page of interactions (summaries, without outcome and states).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The records.
    pub items: Vec<InteractionRecord>,
    /// Where the next page starts, if there is one.
    pub next: Option<(i64, String)>,
}

/// Interaction storage. Implementations are synchronous and are called from
/// blocking threads, never from the async runtime's workers.
pub trait Store: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Checks that the database answers.
    fn ping(&self) -> StoreResult<()>;
    /// Stores one interaction in one transaction; an existing (tenant, id)
    /// is [`StoreError::Duplicate`].
    fn record(&self, interaction: &NewInteraction) -> StoreResult<()>;
    /// One interaction of a tenant, with outcome and states; `None` when the
    /// tenant has no such interaction.
    fn get(&self, tenant_id: &str, id: &str) -> StoreResult<Option<InteractionRecord>>;
    /// The stored payload, decompressed.
    fn payload(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Vec<u8>>>;
    /// The full (unfiltered) OperationOutcome.
    fn full_outcome(&self, tenant_id: &str, id: &str) -> StoreResult<Option<serde_json::Value>>;
    /// A page of a tenant's interactions.
    fn list(&self, tenant_id: &str, query: &ListQuery) -> StoreResult<Page>;
    /// The schema version applied.
    fn schema_version(&self) -> StoreResult<i64>;

    /// Claims up to `limit` due jobs of a destination for one attempt each,
    /// leasing them until `lease_until` (micros). Due: `pending` or
    /// `retry_wait` whose time has come, or `in_flight` whose lease ran out.
    fn claim_jobs(
        &self,
        destination: &str,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedJob>>;
    /// Records an attempt and, if the job's lease is still this claim's,
    /// applies `update` (and the interaction's state change) in one
    /// transaction. Returns false when the lease was lost.
    fn finish_job(
        &self,
        job: &ClaimedJob,
        attempt: &AttemptRecord,
        update: &JobUpdate,
        now: i64,
    ) -> StoreResult<bool>;
    /// The forwarding job of an interaction with its attempts.
    fn forwarding(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ForwardingInfo>>;
    /// Stores the data lake's processing result for the interaction with
    /// this id; returns its tenant, or `None` when no job has this id.
    fn record_result(
        &self,
        id: &str,
        result: &serde_json::Value,
        now: i64,
    ) -> StoreResult<Option<String>>;
    /// Puts an interaction's job (created if missing) back to `pending`
    /// with a fresh attempt budget; false when there is no such interaction.
    fn requeue(&self, tenant_id: &str, id: &str, destination: &str, now: i64) -> StoreResult<bool>;
    /// Dead-lettered jobs, oldest first, of one tenant or all.
    fn dead_letters(
        &self,
        tenant_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Jobs per state, delivered ones excepted (they are history, and
    /// counting them would grow with the table; see the deliveries counter).
    fn queue_depth(&self) -> StoreResult<Vec<(String, i64)>>;
}

/// Gzip at the fast level: payloads are JSON and shrink well even so.
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

/// Inverse of [`compress`].
pub fn decompress(bytes: &[u8]) -> StoreResult<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(out)
}

/// Compresses a JSON value.
pub fn compress_json(v: &serde_json::Value) -> Vec<u8> {
    compress(&serde_json::to_vec(v).unwrap_or_default())
}

/// Decompresses a JSON value.
pub fn decompress_json(bytes: &[u8]) -> StoreResult<serde_json::Value> {
    serde_json::from_slice(&decompress(bytes)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Microseconds since the epoch as RFC 3339 UTC with microseconds.
pub fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// The current time in microseconds since the epoch.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Parses RFC 3339 into microseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// Encodes a page position as an opaque cursor.
pub fn encode_cursor(pos: &(i64, String)) -> String {
    format!("{}.{}", pos.0, pos.1)
}

/// Decodes [`encode_cursor`].
pub fn decode_cursor(s: &str) -> Option<(i64, String)> {
    let (t, id) = s.split_once('.')?;
    Some((t.parse().ok()?, id.to_string()))
}

/// The columns of `interaction` that make a summary record, in the order
/// both backends select them.
pub(crate) const SUMMARY_COLUMNS: &str = "id, tenant_id, received_at, state, correlation_id, ig_version, profile_uri, severity_level, payload_bytes, payload_sha256, valid, fatal_count, error_count, warning_count, information_count, reported_count, policy_name, policy_version, validation_micros";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_round_trips() {
        let data = br#"{"resourceType":"Bundle","entry":[]}"#.repeat(100);
        let c = compress(&data);
        assert!(c.len() < data.len() / 5);
        assert_eq!(decompress(&c).unwrap(), data);
        assert!(decompress(b"not gzip").is_err());
    }

    #[test]
    fn times_and_cursors() {
        let t = parse_rfc3339("2026-01-02T03:04:05.123456Z").unwrap();
        assert_eq!(rfc3339(t), "2026-01-02T03:04:05.123456Z");
        assert_eq!(
            parse_rfc3339("2026-01-02T04:04:05+01:00").unwrap() / 1000000,
            t / 1000000
        );
        let c = (t, "abc-def".to_string());
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        assert_eq!(decode_cursor("x.y"), None);
    }
}
