//! The outbox on SQLite. Every write goes through the one writer
//! connection, so a claim (select then update) is atomic without row locks.

use super::outbox::{due_condition, state, AttemptInfo};
use super::sqlite::{db, SqliteStore};
use super::{
    compress_json, decompress_json, rfc3339, AttemptRecord, ClaimedJob, ForwardingInfo, JobUpdate,
    StoreResult,
};
use rusqlite::{params, Connection, OptionalExtension};

fn writer(store: &SqliteStore) -> std::sync::MutexGuard<'_, Connection> {
    store.writer.lock().unwrap_or_else(|p| p.into_inner())
}

/// Appends a state change to an interaction and makes it current.
fn append_state(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    st: &str,
    at: i64,
    detail: Option<&str>,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO interaction_state (tenant_id, id, seq, state, at, detail)
         SELECT ?1, ?2, COALESCE(MAX(seq), -1) + 1, ?3, ?4, ?5
         FROM interaction_state WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, id, st, at, detail],
    )
    .map_err(db)?;
    c.execute(
        "UPDATE interaction SET state = ?3 WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, id, st],
    )
    .map_err(db)?;
    Ok(())
}

pub(super) fn claim(
    store: &SqliteStore,
    destination: &str,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> StoreResult<Vec<ClaimedJob>> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut conn = writer(store);
    let tx = conn.transaction().map_err(db)?;
    let due: Vec<(String, String)> = {
        let mut st = tx
            .prepare_cached(&format!(
                "SELECT tenant_id, id FROM forward_job WHERE destination = ?1 AND {}
                 ORDER BY next_attempt_at LIMIT ?3",
                due_condition("?2")
            ))
            .map_err(db)?;
        let rows = st
            .query_map(params![destination, now, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    let mut out = Vec::with_capacity(due.len());
    for (tenant_id, id) in due {
        let (attempts, seq, created): (i64, i64, i64) = tx
            .query_row(
                "UPDATE forward_job SET state = 'in_flight', attempts = attempts + 1,
                    attempt_seq = attempt_seq + 1, lease_until = ?3, lease_token = ?4, updated_at = ?5
                 WHERE tenant_id = ?1 AND id = ?2
                 RETURNING attempts, attempt_seq, created_at",
                params![tenant_id, id, lease_until, token, now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(db)?;
        out.push(ClaimedJob {
            tenant_id,
            id,
            destination: destination.to_string(),
            attempts,
            seq,
            lease_token: token.clone(),
            created_micros: created,
        });
    }
    tx.commit().map_err(db)?;
    Ok(out)
}

pub(super) fn finish(
    store: &SqliteStore,
    job: &ClaimedJob,
    a: &AttemptRecord,
    update: &JobUpdate,
    now: i64,
) -> StoreResult<bool> {
    let mut conn = writer(store);
    let tx = conn.transaction().map_err(db)?;
    tx.execute(
        "INSERT INTO forward_attempt (tenant_id, id, seq, started_at, latency_micros, http_status,
            error, response_body, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        params![
            job.tenant_id,
            job.id,
            job.seq,
            a.started_micros,
            a.latency_micros,
            a.http_status,
            a.error,
            a.response_body,
            a.outcome
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
            "UPDATE forward_job SET state = ?3, next_attempt_at = ?4, lease_until = NULL,
                lease_token = NULL, updated_at = ?5, last_error = ?6
             WHERE tenant_id = ?1 AND id = ?2 AND lease_token = ?7",
            params![
                job.tenant_id,
                job.id,
                update.state(),
                next,
                now,
                last_error,
                job.lease_token
            ],
        )
        .map_err(db)?;
    if changed == 1 {
        if let Some((st, detail)) = update.interaction_state() {
            append_state(&tx, &job.tenant_id, &job.id, st, now, detail.as_deref())?;
        }
    }
    tx.commit().map_err(db)?;
    Ok(changed == 1)
}

pub(super) fn forwarding(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<ForwardingInfo>> {
    type JobRow = (
        String,
        String,
        i64,
        i64,
        i64,
        Option<String>,
        Option<Vec<u8>>,
        Option<i64>,
    );
    let row: Option<JobRow> = c
        .query_row(
            "SELECT state, destination, attempts, next_attempt_at, updated_at, last_error,
                result_gz, result_at
             FROM forward_job WHERE tenant_id = ?1 AND id = ?2",
            params![tenant_id, id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()
        .map_err(db)?;
    let Some((st, destination, attempts, next, updated, last_error, result_gz, result_at)) = row
    else {
        return Ok(None);
    };
    let mut q = c
        .prepare_cached(
            "SELECT seq, started_at, latency_micros, http_status, error, response_body, outcome
             FROM forward_attempt WHERE tenant_id = ?1 AND id = ?2 ORDER BY seq",
        )
        .map_err(db)?;
    let history = q
        .query_map(params![tenant_id, id], |r| {
            Ok(AttemptInfo::new(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let waiting = st == state::PENDING || st == state::RETRY_WAIT;
    Ok(Some(ForwardingInfo {
        state: st,
        destination,
        attempts,
        next_attempt_at: waiting.then(|| rfc3339(next)),
        updated_at: rfc3339(updated),
        last_error,
        result: result_gz.map(|g| decompress_json(&g)).transpose()?,
        result_at: result_at.map(rfc3339),
        history,
    }))
}

pub(super) fn record_result(
    store: &SqliteStore,
    id: &str,
    result: &serde_json::Value,
    now: i64,
) -> StoreResult<Option<String>> {
    let gz = compress_json(result);
    let conn = writer(store);
    conn.query_row(
        "UPDATE forward_job SET result_gz = ?2, result_at = ?3 WHERE id = ?1 RETURNING tenant_id",
        params![id, gz, now],
        |r| r.get(0),
    )
    .optional()
    .map_err(db)
}

pub(super) fn requeue(
    store: &SqliteStore,
    tenant_id: &str,
    id: &str,
    destination: &str,
    now: i64,
) -> StoreResult<bool> {
    let mut conn = writer(store);
    let tx = conn.transaction().map_err(db)?;
    let exists = tx
        .query_row(
            "SELECT 1 FROM interaction WHERE tenant_id = ?1 AND id = ?2",
            params![tenant_id, id],
            |_| Ok(()),
        )
        .optional()
        .map_err(db)?
        .is_some();
    if !exists {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO forward_job (tenant_id, id, destination, state, attempts, attempt_seq,
            next_attempt_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'pending', 0, 0, ?4, ?4, ?4)
         ON CONFLICT (tenant_id, id) DO UPDATE SET state = 'pending', attempts = 0,
            destination = excluded.destination, next_attempt_at = excluded.next_attempt_at,
            lease_until = NULL, lease_token = NULL, updated_at = excluded.updated_at",
        params![tenant_id, id, destination, now],
    )
    .map_err(db)?;
    append_state(&tx, tenant_id, id, "requeued", now, None)?;
    tx.commit().map_err(db)?;
    Ok(true)
}

pub(super) fn dead_letters(
    c: &Connection,
    tenant_id: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<(String, String)>> {
    let mut q = c
        .prepare_cached(
            "SELECT tenant_id, id FROM forward_job
             WHERE state = 'dead_letter' AND (?1 IS NULL OR tenant_id = ?1)
             ORDER BY updated_at LIMIT ?2",
        )
        .map_err(db)?;
    let rows = q
        .query_map(params![tenant_id, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub(super) fn queue_depth(c: &Connection) -> StoreResult<Vec<(String, i64)>> {
    let mut q = c
        .prepare_cached(
            "SELECT state, COUNT(*) FROM forward_job WHERE state <> 'delivered' GROUP BY state",
        )
        .map_err(db)?;
    let rows = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}
