//! The behaviour every [`Store`] must have, as one function the tests run
//! against each backend. It panics on the first deviation.

use super::outbox::state;
use super::{
    AttemptRecord, JobUpdate, ListQuery, NewInteraction, RequestInfo, StateChange, Store,
    StoreError,
};
use serde_json::json;

fn interaction(tenant: &str, id: &str, received: i64, state: &str) -> NewInteraction {
    let payload = format!(r#"{{"resourceType":"Bundle","id":"{id}","type":"transaction"}}"#);
    NewInteraction {
        id: id.into(),
        tenant_id: tenant.into(),
        received_micros: received,
        request: RequestInfo {
            correlation_id: Some(id.into()),
            ig_version: Some("1.9.4".into()),
            profile_uri: None,
            severity_level: Some("error".into()),
            payload_bytes: payload.len() as i64,
            payload_sha256: "00".repeat(32),
        },
        payload: payload.into_bytes(),
        full_outcome: json!({"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "invariant"}]}),
        reported_outcome: json!({"resourceType": "OperationOutcome", "issue": []}),
        summary: super::ValidationSummary {
            valid: true,
            warning: 1,
            reported: 0,
            policy_name: Some("p".into()),
            policy_version: Some("1".into()),
            validation_micros: 1234,
            ..Default::default()
        },
        states: vec![
            StateChange::new("received", received, None),
            StateChange::new("validated", received + 10, Some("1 warning".into())),
            StateChange::new(state, received + 20, None),
        ],
        forward: None,
    }
}

/// Runs every check against `store`, which must be empty. Tenant ids are
/// prefixed with `prefix` so that one database can serve several runs.
pub fn run(store: &dyn Store, prefix: &str) {
    let a = format!("{prefix}a");
    let b = format!("{prefix}b");
    store.ping().expect("ping");
    assert_eq!(store.schema_version().expect("schema version"), 2);

    // Write and read back, including compressed parts.
    let t0 = 1_700_000_000_000_000;
    let first = interaction(&a, "id-1", t0, "stored");
    store.record(&first).expect("record");
    let got = store.get(&a, "id-1").expect("get").expect("present");
    assert_eq!(got.id, "id-1");
    assert_eq!(got.tenant_id, a);
    assert_eq!(got.received_at, "2023-11-14T22:13:20.000000Z");
    assert_eq!(got.state, "stored");
    assert_eq!(got.request, first.request);
    assert_eq!(got.validation, first.summary);
    assert_eq!(got.outcome.as_ref(), Some(&first.reported_outcome));
    let states: Vec<(&str, i64, Option<&str>)> = got
        .states
        .iter()
        .map(|s| (s.state.as_str(), s.at_micros, s.detail.as_deref()))
        .collect();
    assert_eq!(
        states,
        [
            ("received", t0, None),
            ("validated", t0 + 10, Some("1 warning")),
            ("stored", t0 + 20, None)
        ]
    );
    assert_eq!(store.payload(&a, "id-1").unwrap().unwrap(), first.payload);
    assert_eq!(
        store.full_outcome(&a, "id-1").unwrap().unwrap(),
        first.full_outcome
    );

    // Duplicates are refused and leave the first intact.
    let mut dup = interaction(&a, "id-1", t0 + 5, "stored");
    dup.payload = b"{}".to_vec();
    assert!(matches!(store.record(&dup), Err(StoreError::Duplicate(_))));
    assert_eq!(store.payload(&a, "id-1").unwrap().unwrap(), first.payload);

    // Tenants are isolated, even with the same interaction id.
    assert!(store.get(&b, "id-1").unwrap().is_none());
    assert!(store.payload(&b, "id-1").unwrap().is_none());
    assert!(store.full_outcome(&b, "id-1").unwrap().is_none());
    store
        .record(&interaction(&b, "id-1", t0, "failed"))
        .expect("same id, other tenant");
    assert_eq!(store.get(&b, "id-1").unwrap().unwrap().state, "failed");
    assert_eq!(store.get(&a, "id-1").unwrap().unwrap().state, "stored");

    // Listing: order, since, state filter, paging without gaps or repeats.
    for n in 2..=7 {
        let state = if n % 2 == 0 { "stored" } else { "failed" };
        store
            .record(&interaction(&a, &format!("id-{n}"), t0 + n * 1000, state))
            .expect("record");
    }
    // Same timestamp as id-7: the id breaks the tie.
    store
        .record(&interaction(&a, "id-8", t0 + 7000, "stored"))
        .unwrap();
    let all = |q: ListQuery| -> Vec<String> {
        let mut q = q;
        let mut out = Vec::new();
        loop {
            let page = store.list(&a, &q).expect("list");
            assert!(page.items.len() <= q.limit);
            out.extend(page.items.iter().map(|r| r.id.clone()));
            for r in &page.items {
                assert!(r.outcome.is_none() && r.states.is_empty());
            }
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
        out
    };
    let ids: Vec<String> = (1..=8).map(|n| format!("id-{n}")).collect();
    for limit in [1, 2, 3, 100] {
        let got = all(ListQuery {
            limit,
            ..Default::default()
        });
        assert_eq!(got, ids, "limit {limit}");
    }
    assert_eq!(
        all(ListQuery {
            since_micros: Some(t0 + 5000),
            limit: 2,
            ..Default::default()
        }),
        ["id-5", "id-6", "id-7", "id-8"]
    );
    assert_eq!(
        all(ListQuery {
            state: Some("failed".into()),
            limit: 1,
            ..Default::default()
        }),
        ["id-3", "id-5", "id-7"]
    );
    let other = store
        .list(
            &b,
            &ListQuery {
                limit: 50,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(other.items.len(), 1);
    assert!(other.next.is_none());

    // Concurrent writers all land.
    std::thread::scope(|s| {
        for w in 0..4 {
            let a = &a;
            s.spawn(move || {
                for n in 0..10 {
                    let id = format!("c-{w}-{n}");
                    store
                        .record(&interaction(a, &id, t0 + 100_000 + n, "stored"))
                        .expect("concurrent record");
                }
            });
        }
    });
    let count = all(ListQuery {
        since_micros: Some(t0 + 100_000),
        limit: 7,
        ..Default::default()
    })
    .len();
    assert_eq!(count, 40);
    outbox(store, prefix, t0);
}

/// The forwarding outbox: jobs written with their interaction, claims with
/// leases, stale leases, retries, dead letters, replays and results.
fn outbox(store: &dyn Store, prefix: &str, t0: i64) {
    let a = format!("{prefix}oa");
    let dest = format!("{prefix}lake");
    let attempt = |outcome: &str, status: Option<i64>| AttemptRecord {
        started_micros: t0,
        latency_micros: 1500,
        http_status: status,
        error: status.is_none().then(|| "connection refused".to_string()),
        response_body: status.map(|s| format!("body {s}")),
        outcome: outcome.into(),
    };
    for n in 1..=3 {
        let mut i = interaction(&a, &format!("f-{n}"), t0 + n, "stored");
        i.forward = Some(dest.clone());
        store.record(&i).expect("record with job");
    }
    // Not forwarded: no job.
    store
        .record(&interaction(&a, "f-none", t0, "stored"))
        .unwrap();
    assert!(store.forwarding(&a, "f-none").unwrap().is_none());
    let f1 = store.forwarding(&a, "f-1").unwrap().expect("job");
    assert_eq!(f1.state, state::PENDING);
    assert!(f1.history.is_empty() && f1.next_attempt_at.is_some());

    // Nothing is due before its time; then each job is claimed once.
    assert!(store.claim_jobs(&dest, 0, 10, 10).unwrap().is_empty());
    let now = t0 + 1_000_000;
    let lease = now + 1_000_000;
    let jobs = store.claim_jobs(&dest, now, lease, 2).unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!((jobs[0].attempts, jobs[0].seq), (1, 1));
    let more = store.claim_jobs(&dest, now, lease, 10).unwrap();
    assert_eq!(more.len(), 1);
    assert!(store.claim_jobs(&dest, now, lease, 10).unwrap().is_empty());
    assert_eq!(
        store.forwarding(&a, &jobs[0].id).unwrap().unwrap().state,
        state::IN_FLIGHT
    );

    // Delivered: attempt recorded, interaction state `forwarded`.
    let d = &jobs[0];
    assert!(store
        .finish_job(
            d,
            &attempt("delivered", Some(201)),
            &JobUpdate::Delivered,
            now + 5
        )
        .unwrap());
    let f = store.forwarding(&a, &d.id).unwrap().unwrap();
    assert_eq!(f.state, state::DELIVERED);
    assert_eq!(f.history.len(), 1);
    assert_eq!(f.history[0].status, Some(201));
    assert_eq!(f.history[0].latency_ms, 1.5);
    assert_eq!(store.get(&a, &d.id).unwrap().unwrap().state, "forwarded");

    // A retry waits; a lease that runs out makes an in-flight job due again,
    // and the stale claim can no longer finish it.
    let r = &jobs[1];
    assert!(store
        .finish_job(r, &attempt("retry", None), &JobUpdate::Retry(now + 50), now)
        .unwrap());
    assert!(store
        .claim_jobs(&dest, now + 10, lease, 10)
        .unwrap()
        .is_empty());
    let stale = &more[0];
    let again = store.claim_jobs(&dest, lease + 1, lease + 100, 10).unwrap();
    let mut ids: Vec<&str> = again.iter().map(|j| j.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, [r.id.as_str(), stale.id.as_str()]);
    assert!(!store
        .finish_job(
            stale,
            &attempt("delivered", Some(200)),
            &JobUpdate::Delivered,
            lease + 2
        )
        .unwrap());
    let r2 = again.iter().find(|j| j.id == r.id).unwrap();
    assert_eq!((r2.attempts, r2.seq), (2, 2));
    assert!(store
        .finish_job(
            r2,
            &attempt("rejected", Some(400)),
            &JobUpdate::DeadLetter("HTTP 400".into()),
            lease + 3
        )
        .unwrap());
    let f = store.forwarding(&a, &r.id).unwrap().unwrap();
    assert_eq!(f.state, state::DEAD_LETTER);
    assert_eq!(f.attempts, 2);
    assert_eq!(f.history.len(), 2);
    assert_eq!(f.last_error.as_deref(), Some("HTTP 400"));
    assert_eq!(store.get(&a, &r.id).unwrap().unwrap().state, "dead-letter");
    let dead = store.dead_letters(Some(&a), 10).unwrap();
    assert_eq!(dead, [(a.clone(), r.id.clone())]);
    assert!(store
        .dead_letters(None, 1000)
        .unwrap()
        .contains(&(a.clone(), r.id.clone())));

    // Replay: a fresh budget, history kept; also creates a missing job.
    assert!(store.requeue(&a, &r.id, &dest, lease + 4).unwrap());
    assert!(store.requeue(&a, "f-none", &dest, lease + 4).unwrap());
    assert!(!store.requeue(&a, "nope", &dest, lease + 4).unwrap());
    let f = store.forwarding(&a, &r.id).unwrap().unwrap();
    assert_eq!(
        (f.state.as_str(), f.attempts, f.history.len()),
        ("pending", 0, 2)
    );
    let replayed = store.claim_jobs(&dest, lease + 5, lease + 100, 10).unwrap();
    let r3 = replayed
        .iter()
        .find(|j| j.id == r.id)
        .expect("replayed job due");
    assert_eq!((r3.attempts, r3.seq), (1, 3));
    assert!(store.dead_letters(Some(&a), 10).unwrap().is_empty());

    // The data lake's result.
    let result = json!({"resourceType": "OperationOutcome", "issue": []});
    assert_eq!(
        store.record_result(&d.id, &result, now + 9).unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.record_result("nope", &result, now).unwrap(), None);
    let f = store.forwarding(&a, &d.id).unwrap().unwrap();
    assert_eq!(f.result, Some(result));
    assert!(f.result_at.is_some());

    let depth = store.queue_depth().unwrap();
    assert!(depth.iter().any(|(s, n)| s == state::IN_FLIGHT && *n >= 2));
}
