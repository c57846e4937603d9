//! The outbox on PostgreSQL. Claims use `FOR UPDATE SKIP LOCKED`, so
//! several service instances can share one outbox without handing the same
//! job to two of them at once.

use super::outbox::{due_condition, state, AttemptInfo};
use super::postgres::db;
use super::{
    compress_json, decompress_json, rfc3339, AttemptRecord, ClaimedJob, ForwardingInfo, JobUpdate,
    StoreResult,
};
use postgres::{Client, GenericClient};

/// Appends a state change to an interaction and makes it current.
fn append_state(
    c: &mut impl GenericClient,
    tenant_id: &str,
    id: &str,
    st: &str,
    at: i64,
    detail: Option<&str>,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO interaction_state (tenant_id, id, seq, state, at, detail)
         SELECT $1::TEXT, $2::TEXT, COALESCE(MAX(seq), -1) + 1, $3::TEXT, $4::BIGINT, $5::TEXT
         FROM interaction_state WHERE tenant_id = $1 AND id = $2",
        &[&tenant_id, &id, &st, &at, &detail],
    )
    .map_err(db)?;
    c.execute(
        "UPDATE interaction SET state = $3 WHERE tenant_id = $1 AND id = $2",
        &[&tenant_id, &id, &st],
    )
    .map_err(db)?;
    Ok(())
}

pub(super) fn claim(
    c: &mut Client,
    destination: &str,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> StoreResult<Vec<ClaimedJob>> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let rows = c
        .query(
            &format!(
                "WITH due AS (
                    SELECT tenant_id, id FROM forward_job
                    WHERE destination = $1 AND {}
                    ORDER BY next_attempt_at LIMIT $3
                    FOR UPDATE SKIP LOCKED)
                 UPDATE forward_job j SET state = 'in_flight', attempts = j.attempts + 1,
                    attempt_seq = j.attempt_seq + 1, lease_until = $4, lease_token = $5,
                    updated_at = $2
                 FROM due WHERE j.tenant_id = due.tenant_id AND j.id = due.id
                 RETURNING j.tenant_id, j.id, j.attempts, j.attempt_seq, j.created_at",
                due_condition("$2")
            ),
            &[&destination, &now, &(limit as i64), &lease_until, &token],
        )
        .map_err(db)?;
    Ok(rows
        .iter()
        .map(|r| ClaimedJob {
            tenant_id: r.get(0),
            id: r.get(1),
            destination: destination.to_string(),
            attempts: r.get(2),
            seq: r.get(3),
            lease_token: token.clone(),
            created_micros: r.get(4),
        })
        .collect())
}

pub(super) fn finish(
    c: &mut Client,
    job: &ClaimedJob,
    a: &AttemptRecord,
    update: &JobUpdate,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = c.transaction().map_err(db)?;
    tx.execute(
        "INSERT INTO forward_attempt (tenant_id, id, seq, started_at, latency_micros, http_status,
            error, response_body, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        &[
            &job.tenant_id,
            &job.id,
            &job.seq,
            &a.started_micros,
            &a.latency_micros,
            &a.http_status,
            &a.error,
            &a.response_body,
            &a.outcome,
        ],
    )
    .map_err(db)?;
    let (next, last_error) = match update {
        JobUpdate::Retry(at) => (*at, a.error.clone()),
        JobUpdate::DeadLetter(why) => (now, Some(why.clone())),
        JobUpdate::Delivered => (now, None),
    };
    let changed = tx
        .execute(
            "UPDATE forward_job SET state = $3, next_attempt_at = $4, lease_until = NULL,
                lease_token = NULL, updated_at = $5, last_error = $6
             WHERE tenant_id = $1 AND id = $2 AND lease_token = $7",
            &[
                &job.tenant_id,
                &job.id,
                &update.state(),
                &next,
                &now,
                &last_error,
                &job.lease_token,
            ],
        )
        .map_err(db)?;
    if changed == 1 {
        if let Some((st, detail)) = update.interaction_state() {
            append_state(&mut tx, &job.tenant_id, &job.id, st, now, detail.as_deref())?;
        }
    }
    tx.commit().map_err(db)?;
    Ok(changed == 1)
}

pub(super) fn forwarding(
    c: &mut Client,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<ForwardingInfo>> {
    let row = c
        .query_opt(
            "SELECT state, destination, attempts, next_attempt_at, updated_at, last_error,
                result_gz, result_at
             FROM forward_job WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let history = c
        .query(
            "SELECT seq, started_at, latency_micros, http_status, error, response_body, outcome
             FROM forward_attempt WHERE tenant_id = $1 AND id = $2 ORDER BY seq",
            &[&tenant_id, &id],
        )
        .map_err(db)?
        .iter()
        .map(|r| {
            AttemptInfo::new(
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect();
    let st: String = row.get(0);
    let waiting = st == state::PENDING || st == state::RETRY_WAIT;
    let result_gz: Option<Vec<u8>> = row.get(6);
    let result_at: Option<i64> = row.get(7);
    Ok(Some(ForwardingInfo {
        destination: row.get(1),
        attempts: row.get(2),
        next_attempt_at: waiting.then(|| rfc3339(row.get(3))),
        updated_at: rfc3339(row.get(4)),
        last_error: row.get(5),
        result: result_gz.map(|g| decompress_json(&g)).transpose()?,
        result_at: result_at.map(rfc3339),
        state: st,
        history,
    }))
}

pub(super) fn record_result(
    c: &mut Client,
    id: &str,
    result: &serde_json::Value,
    now: i64,
) -> StoreResult<Option<String>> {
    let gz = compress_json(result);
    let row = c
        .query_opt(
            "UPDATE forward_job SET result_gz = $2, result_at = $3 WHERE id = $1 RETURNING tenant_id",
            &[&id, &gz, &now],
        )
        .map_err(db)?;
    Ok(row.map(|r| r.get(0)))
}

pub(super) fn requeue(
    c: &mut Client,
    tenant_id: &str,
    id: &str,
    destination: &str,
    now: i64,
) -> StoreResult<bool> {
    let mut tx = c.transaction().map_err(db)?;
    let exists = tx
        .query_opt(
            "SELECT 1 FROM interaction WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .map_err(db)?
        .is_some();
    if !exists {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO forward_job (tenant_id, id, destination, state, attempts, attempt_seq,
            next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'pending', 0, 0, $4, $4, $4)
         ON CONFLICT (tenant_id, id) DO UPDATE SET state = 'pending', attempts = 0,
            destination = excluded.destination, next_attempt_at = excluded.next_attempt_at,
            lease_until = NULL, lease_token = NULL, updated_at = excluded.updated_at",
        &[&tenant_id, &id, &destination, &now],
    )
    .map_err(db)?;
    append_state(&mut tx, tenant_id, id, "requeued", now, None)?;
    tx.commit().map_err(db)?;
    Ok(true)
}

pub(super) fn dead_letters(
    c: &mut Client,
    tenant_id: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<(String, String)>> {
    Ok(c.query(
        "SELECT tenant_id, id FROM forward_job
             WHERE state = 'dead_letter' AND ($1::TEXT IS NULL OR tenant_id = $1)
             ORDER BY updated_at LIMIT $2",
        &[&tenant_id, &(limit as i64)],
    )
    .map_err(db)?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

pub(super) fn queue_depth(c: &mut Client) -> StoreResult<Vec<(String, i64)>> {
    Ok(c.query(
        "SELECT state, COUNT(*) FROM forward_job WHERE state <> 'delivered' GROUP BY state",
        &[],
    )
    .map_err(db)?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}
