//! PostgreSQL storage: a small pool of synchronous connections (the store is
//! called from blocking threads), the same schema as SQLite in PostgreSQL
//! types.

use super::{
    compress, compress_json, decompress, decompress_json, now_micros, parse_rfc3339, rfc3339,
    InteractionRecord, ListQuery, NewInteraction, Page, RequestInfo, StateChange, Store,
    StoreError, StoreResult, ValidationSummary, SUMMARY_COLUMNS,
};
use super::{outbox_pg, AttemptRecord, ClaimedJob, ForwardingInfo, JobUpdate};
use postgres::{Client, NoTls};
use std::sync::{Condvar, Mutex};

/// Versioned migrations, applied in order, each once.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "interactions",
        r#"
CREATE TABLE interaction (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    correlation_id TEXT,
    ig_version TEXT,
    profile_uri TEXT,
    severity_level TEXT,
    payload_bytes BIGINT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    valid BOOLEAN NOT NULL,
    fatal_count BIGINT NOT NULL,
    error_count BIGINT NOT NULL,
    warning_count BIGINT NOT NULL,
    information_count BIGINT NOT NULL,
    reported_count BIGINT NOT NULL,
    policy_name TEXT,
    policy_version TEXT,
    validation_micros BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX interaction_by_time ON interaction (tenant_id, received_at, id);
CREATE TABLE interaction_payload (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    payload_gz BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, id) REFERENCES interaction (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE interaction_diagnostics (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    full_gz BYTEA NOT NULL,
    reported_gz BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, id) REFERENCES interaction (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE interaction_state (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    at BIGINT NOT NULL,
    detail TEXT,
    PRIMARY KEY (tenant_id, id, seq),
    FOREIGN KEY (tenant_id, id) REFERENCES interaction (tenant_id, id) ON DELETE CASCADE
);
"#,
    ),
    (
        2,
        "forward outbox",
        r#"
CREATE TABLE forward_job (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    destination TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    attempt_seq BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    lease_token TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_error TEXT,
    result_gz BYTEA,
    result_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, id) REFERENCES interaction (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX forward_job_due ON forward_job (state, destination, next_attempt_at);
CREATE INDEX forward_job_by_id ON forward_job (id);
CREATE TABLE forward_attempt (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    latency_micros BIGINT NOT NULL,
    http_status BIGINT,
    error TEXT,
    response_body TEXT,
    outcome TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id, seq),
    FOREIGN KEY (tenant_id, id) REFERENCES forward_job (tenant_id, id) ON DELETE CASCADE
);
"#,
    ),
];

/// Serializes concurrent migrations (several service instances starting).
const MIGRATION_LOCK: i64 = 0x5348_494e_4e59;

/// PostgreSQL-backed [`Store`].
pub struct PgStore {
    url: String,
    schema: Option<String>,
    max_idle: usize,
    pool: Mutex<Vec<Client>>,
    /// Connections in use; at most `max_idle`, so the server never sees
    /// more than the configured pool size from one service.
    in_use: Mutex<usize>,
    freed: Condvar,
}

pub(super) fn db(e: postgres::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

impl PgStore {
    /// Connects and applies migrations. `schema`, when given, is created if
    /// needed and used as the search path (tests use one schema each).
    pub fn connect(url: &str, pool_size: usize, schema: Option<&str>) -> StoreResult<PgStore> {
        if let Some(s) = schema {
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(StoreError::Db(format!("invalid schema name {s:?}")));
            }
        }
        let store = PgStore {
            url: url.to_string(),
            schema: schema.map(str::to_string),
            max_idle: pool_size.max(1),
            pool: Mutex::new(Vec::new()),
            in_use: Mutex::new(0),
            freed: Condvar::new(),
        };
        let mut c = store.new_client()?;
        migrate(&mut c)?;
        store.release(c);
        Ok(store)
    }

    fn new_client(&self) -> StoreResult<Client> {
        let mut c = Client::connect(&self.url, NoTls).map_err(db)?;
        if let Some(s) = &self.schema {
            c.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{s}\"; SET search_path TO \"{s}\""
            ))
            .map_err(db)?;
        }
        Ok(c)
    }

    fn release(&self, c: Client) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < self.max_idle && !c.is_closed() {
            pool.push(c);
        }
    }

    pub(super) fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> StoreResult<T>,
    ) -> StoreResult<T> {
        {
            let mut n = self.in_use.lock().unwrap_or_else(|p| p.into_inner());
            while *n >= self.max_idle {
                n = self.freed.wait(n).unwrap_or_else(|p| p.into_inner());
            }
            *n += 1;
        }
        let out = self.with_client_unbounded(f);
        *self.in_use.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.freed.notify_one();
        out
    }

    fn with_client_unbounded<T>(
        &self,
        f: impl FnOnce(&mut Client) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut c = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.new_client()?,
        };
        let out = f(&mut c);
        self.release(c);
        out
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // A synchronous client closes its connection with a `block_on` of
        // its own, which panics on a thread that drives an async runtime
        // (where the service's state is dropped): close them elsewhere.
        let clients = std::mem::take(self.pool.get_mut().unwrap_or_else(|p| p.into_inner()));
        if !clients.is_empty() {
            let _ = std::thread::spawn(move || drop(clients)).join();
        }
    }
}

fn migrate(c: &mut Client) -> StoreResult<()> {
    let mut tx = c.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .map_err(db)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(db)?
        .get(0);
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[version, name, &now_micros()],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

fn summary_row(r: &postgres::Row) -> InteractionRecord {
    InteractionRecord {
        id: r.get(0),
        tenant_id: r.get(1),
        received_at: rfc3339(r.get(2)),
        state: r.get(3),
        request: RequestInfo {
            correlation_id: r.get(4),
            ig_version: r.get(5),
            profile_uri: r.get(6),
            severity_level: r.get(7),
            payload_bytes: r.get(8),
            payload_sha256: r.get(9),
        },
        validation: ValidationSummary {
            valid: r.get(10),
            fatal: r.get(11),
            error: r.get(12),
            warning: r.get(13),
            information: r.get(14),
            reported: r.get(15),
            policy_name: r.get(16),
            policy_version: r.get(17),
            validation_micros: r.get(18),
        },
        outcome: None,
        full_outcome: None,
        states: Vec::new(),
        forwarding: None,
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn ping(&self) -> StoreResult<()> {
        self.with_client(|c| c.simple_query("SELECT 1").map(|_| ()).map_err(db))
    }

    fn record(&self, i: &NewInteraction) -> StoreResult<()> {
        let payload_gz = compress(&i.payload);
        let full_gz = compress_json(&i.full_outcome);
        let reported_gz = compress_json(&i.reported_outcome);
        let state = i
            .states
            .last()
            .map(|s| s.state.as_str())
            .unwrap_or("received");
        self.with_client(|c| {
            let mut tx = c.transaction().map_err(db)?;
            let s = &i.summary;
            let q = &i.request;
            let inserted = tx
                .execute(
                    "INSERT INTO interaction (tenant_id, id, received_at, state, correlation_id,
                        ig_version, profile_uri, severity_level, payload_bytes, payload_sha256, valid,
                        fatal_count, error_count, warning_count, information_count, reported_count,
                        policy_name, policy_version, validation_micros)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                     ON CONFLICT DO NOTHING",
                    &[
                        &i.tenant_id, &i.id, &i.received_micros, &state, &q.correlation_id,
                        &q.ig_version, &q.profile_uri, &q.severity_level, &q.payload_bytes,
                        &q.payload_sha256, &s.valid, &s.fatal, &s.error, &s.warning,
                        &s.information, &s.reported, &s.policy_name, &s.policy_version,
                        &s.validation_micros,
                    ],
                )
                .map_err(db)?;
            if inserted == 0 {
                return Err(StoreError::Duplicate(i.id.clone()));
            }
            tx.execute(
                "INSERT INTO interaction_payload (tenant_id, id, payload_gz) VALUES ($1, $2, $3)",
                &[&i.tenant_id, &i.id, &payload_gz],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO interaction_diagnostics (tenant_id, id, full_gz, reported_gz) VALUES ($1, $2, $3, $4)",
                &[&i.tenant_id, &i.id, &full_gz, &reported_gz],
            )
            .map_err(db)?;
            let st = tx
                .prepare(
                    "INSERT INTO interaction_state (tenant_id, id, seq, state, at, detail) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .map_err(db)?;
            for (seq, ch) in i.states.iter().enumerate() {
                tx.execute(
                    &st,
                    &[&i.tenant_id, &i.id, &(seq as i32), &ch.state, &ch.at_micros, &ch.detail],
                )
                .map_err(db)?;
            }
            if let Some(dest) = &i.forward {
                let now = i.states.last().map_or(i.received_micros, |s| s.at_micros);
                tx.execute(
                    "INSERT INTO forward_job (tenant_id, id, destination, state, attempts,
                        attempt_seq, next_attempt_at, created_at, updated_at)
                     VALUES ($1, $2, $3, 'pending', 0, 0, $4, $4, $4)",
                    &[&i.tenant_id, &i.id, dest, &now],
                )
                .map_err(db)?;
            }
            tx.commit().map_err(db)
        })
    }

    fn get(&self, tenant_id: &str, id: &str) -> StoreResult<Option<InteractionRecord>> {
        self.with_client(|c| {
            let row = c
                .query_opt(
                    &format!(
                        "SELECT {SUMMARY_COLUMNS} FROM interaction WHERE tenant_id = $1 AND id = $2"
                    ),
                    &[&tenant_id, &id],
                )
                .map_err(db)?;
            let Some(row) = row else { return Ok(None) };
            let mut rec = summary_row(&row);
            let reported: Vec<u8> = c
                .query_one(
                    "SELECT reported_gz FROM interaction_diagnostics WHERE tenant_id = $1 AND id = $2",
                    &[&tenant_id, &id],
                )
                .map_err(db)?
                .get(0);
            rec.outcome = Some(decompress_json(&reported)?);
            rec.states = c
                .query(
                    "SELECT state, at, detail FROM interaction_state WHERE tenant_id = $1 AND id = $2 ORDER BY seq",
                    &[&tenant_id, &id],
                )
                .map_err(db)?
                .iter()
                .map(|r| StateChange::new(r.get(0), r.get(1), r.get(2)))
                .collect();
            Ok(Some(rec))
        })
    }

    fn payload(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
        self.with_client(|c| {
            let row = c
                .query_opt(
                    "SELECT payload_gz FROM interaction_payload WHERE tenant_id = $1 AND id = $2",
                    &[&tenant_id, &id],
                )
                .map_err(db)?;
            row.map(|r| decompress(r.get(0))).transpose()
        })
    }

    fn full_outcome(&self, tenant_id: &str, id: &str) -> StoreResult<Option<serde_json::Value>> {
        self.with_client(|c| {
            let row = c
                .query_opt(
                    "SELECT full_gz FROM interaction_diagnostics WHERE tenant_id = $1 AND id = $2",
                    &[&tenant_id, &id],
                )
                .map_err(db)?;
            row.map(|r| decompress_json(r.get(0))).transpose()
        })
    }

    fn list(&self, tenant_id: &str, q: &ListQuery) -> StoreResult<Page> {
        let (after_t, after_id) = q.after.clone().unwrap_or((i64::MIN, String::new()));
        let limit = q.limit.max(1);
        self.with_client(|c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {SUMMARY_COLUMNS} FROM interaction
                         WHERE tenant_id = $1 AND received_at >= $2
                           AND ($3::TEXT IS NULL OR state = $3)
                           AND (received_at, id) > ($4, $5)
                         ORDER BY received_at, id LIMIT $6"
                    ),
                    &[
                        &tenant_id,
                        &q.since_micros.unwrap_or(i64::MIN),
                        &q.state,
                        &after_t,
                        &after_id,
                        &((limit + 1) as i64),
                    ],
                )
                .map_err(db)?;
            let mut items: Vec<InteractionRecord> = rows.iter().map(summary_row).collect();
            let next = if items.len() > limit {
                items.truncate(limit);
                items
                    .last()
                    .and_then(|r| parse_rfc3339(&r.received_at).map(|t| (t, r.id.clone())))
            } else {
                None
            };
            Ok(Page { items, next })
        })
    }

    fn schema_version(&self) -> StoreResult<i64> {
        self.with_client(|c| {
            Ok(
                c.query_one("SELECT MAX(version) FROM schema_migrations", &[])
                    .map_err(db)?
                    .get(0),
            )
        })
    }

    fn claim_jobs(
        &self,
        destination: &str,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedJob>> {
        self.with_client(|c| outbox_pg::claim(c, destination, now, lease_until, limit))
    }

    fn finish_job(
        &self,
        job: &ClaimedJob,
        attempt: &AttemptRecord,
        update: &JobUpdate,
        now: i64,
    ) -> StoreResult<bool> {
        self.with_client(|c| outbox_pg::finish(c, job, attempt, update, now))
    }

    fn forwarding(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ForwardingInfo>> {
        self.with_client(|c| outbox_pg::forwarding(c, tenant_id, id))
    }

    fn record_result(
        &self,
        id: &str,
        result: &serde_json::Value,
        now: i64,
    ) -> StoreResult<Option<String>> {
        self.with_client(|c| outbox_pg::record_result(c, id, result, now))
    }

    fn requeue(&self, tenant_id: &str, id: &str, destination: &str, now: i64) -> StoreResult<bool> {
        self.with_client(|c| outbox_pg::requeue(c, tenant_id, id, destination, now))
    }

    fn dead_letters(
        &self,
        tenant_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, String)>> {
        self.with_client(|c| outbox_pg::dead_letters(c, tenant_id, limit))
    }

    fn queue_depth(&self) -> StoreResult<Vec<(String, i64)>> {
        self.with_client(outbox_pg::queue_depth)
    }
}
