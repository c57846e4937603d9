//! The behaviour every [`Store`] must have, as one function the tests run
//! against each backend. It panics on the first deviation.

use super::{ListQuery, NewInteraction, RequestInfo, StateChange, Store, StoreError};
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
    }
}

/// Runs every check against `store`, which must be empty. Tenant ids are
/// prefixed with `prefix` so that one database can serve several runs.
pub fn run(store: &dyn Store, prefix: &str) {
    let a = format!("{prefix}a");
    let b = format!("{prefix}b");
    store.ping().expect("ping");
    assert_eq!(store.schema_version().expect("schema version"), 1);

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
}
