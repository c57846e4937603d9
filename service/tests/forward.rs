//! Forwarding to a mock data lake that injects faults: refused connections,
//! 500s, 429 with `Retry-After`, timeouts and slow answers; then a refused
//! bundle that dead-letters and is replayed, and the data lake's result.
//! Every accepted bundle must arrive with its interaction id as
//! `Idempotency-Key`; on SQLite and on PostgreSQL.

mod common;

use common::datalake::{reserve_addr, wait_until, Fault, Lake};
use common::{example_bundles, Db, TestServer};
use shinny_service::config::Mode;
use shinny_service::forward::config::{ForwardingConfig, TenantForwarding};
use shinny_service::tenants::hash_key;
use std::collections::HashMap;
use std::time::Duration;

const ADMIN_KEY: &str = "admin-key";
const LAKE_KEY: &str = "lake-result-key";

fn forwarding(url: &str) -> ForwardingConfig {
    toml::from_str(&format!(
        r#"
default_destination = "lake"
poll_interval_ms = 50
lease_seconds = 5
max_attempts = 12
base_backoff_ms = 50
max_backoff_ms = 1500
admin_api_key_sha256 = ["{admin}"]
result_api_key_sha256 = ["{lake}"]
[[destinations]]
name = "lake"
url = "{url}"
timeout_ms = 500
max_concurrent = 4
"#,
        admin = hash_key(ADMIN_KEY),
        lake = hash_key(LAKE_KEY),
    ))
    .unwrap()
}

fn start(db: Db, url: &str) -> Option<TestServer> {
    let url = url.to_string();
    TestServer::start_with(Mode::Gateway, db, move |c| {
        c.forwarding = Some(forwarding(&url));
        c.tenants[0].forwarding = Some(toml::from_str("select = \"all\"").unwrap());
        // B asks for the Java hub's shape: the OperationOutcome attached,
        // a security label, narrative removed.
        let b: TenantForwarding = toml::from_str(
            r#"
select = "all"
transforms = [
  { op = "attach-outcome" },
  { op = "set-tag", element = "security", system = "http://terminology.hl7.org/CodeSystem/v3-ActCode", code = "HTEST" },
  { op = "remove", path = "Bundle.entry.resource.text" },
]
"#,
        )
        .unwrap();
        c.tenants[1].forwarding = Some(b);
    })
}

/// Submits bundles alternately as A and B; returns (tenant, interaction id).
fn submit(s: &TestServer, n: usize) -> Vec<(String, String)> {
    let bundles = example_bundles();
    (0..n)
        .map(|i| {
            let (_, body) = &bundles[i % bundles.len()];
            let (tenant, req) = if i % 2 == 0 {
                ("qe-a", s.as_a("POST", "/Bundle"))
            } else {
                ("qe-b", s.as_b("POST", "/Bundle"))
            };
            let r = req.fhir(body).send();
            assert_eq!(r.status, 201, "{}", r.text());
            let id = r.header("x-techbd-interaction-id").unwrap().to_string();
            (tenant.to_string(), id)
        })
        .collect()
}

fn status(s: &TestServer, tenant: &str, id: &str) -> serde_json::Value {
    let req = if tenant == "qe-a" {
        s.as_a("GET", &format!("/Bundle/$status/{id}"))
    } else {
        s.as_b("GET", &format!("/Bundle/$status/{id}"))
    };
    let r = req.send();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn faults_replay_and_results(db: Db) {
    // The data lake is down at first: connections are refused.
    let addr = reserve_addr();
    let url = format!("http://{addr}/lake/bundles");
    let Some(s) = start(db, &url) else { return };
    let accepted = submit(&s, 12);
    std::thread::sleep(Duration::from_millis(400));
    let refused = status(&s, &accepted[0].0, &accepted[0].1);
    let history = refused["forwarding"]["history"].as_array().unwrap();
    assert!(!history.is_empty(), "{refused}");
    assert!(
        history[0]["error"].as_str().unwrap().contains("connect"),
        "{refused}"
    );

    // Up, but faulty: each bundle meets another fault on its first attempt
    // and some on their second.
    let lake = Lake::start_on(
        addr,
        Box::new(|key, attempt| match (attempt, key % 6) {
            (1, 0) => Fault::Status(500),
            (1, 1) => Fault::TooMany(1),
            (1, 2) => Fault::Hang,
            (1, 3) => Fault::Slow(Duration::from_millis(200)),
            (1, 4) => Fault::Status(503),
            (2, k) if k % 3 == 0 => Fault::Status(502),
            _ => Fault::Accept,
        }),
        None,
    );
    let all_in = wait_until(Duration::from_secs(30), || {
        let d = lake.state.delivered();
        accepted.iter().all(|(_, id)| d.contains_key(id))
    });
    let requests = lake.state.requests();
    assert!(
        all_in,
        "not all delivered: {:?}",
        requests
            .iter()
            .map(|r| (&r.key, r.status))
            .collect::<Vec<_>>()
    );
    for (tenant, id) in &accepted {
        let mine: Vec<_> = requests.iter().filter(|r| &r.key == id).collect();
        assert!(mine.iter().all(|r| &r.agent == tenant), "processingAgent");
        let rec = status(&s, tenant, id);
        let f = &rec["forwarding"];
        // The worker records after the answer: give it a moment.
        let f = if f["state"] != "delivered" {
            assert!(wait_until(Duration::from_secs(5), || status(
                &s, tenant, id
            )["forwarding"]["state"]
                == "delivered"));
            status(&s, tenant, id)["forwarding"].clone()
        } else {
            f.clone()
        };
        assert_eq!(f["destination"], "lake");
        let h = f["history"].as_array().unwrap();
        assert_eq!(h.last().unwrap()["outcome"], "delivered", "{f}");
        // Every request the lake saw is an attempt in the history (which
        // also has the refused connections).
        assert!(h.len() >= mine.len(), "{f}");
    }
    // Faults were met: more requests than bundles.
    assert!(requests.len() > accepted.len() + 4);
    // Retry-After honoured: the 429'd key came back no sooner than 1 s.
    let tm: Vec<_> = requests.iter().filter(|r| r.status == 429).collect();
    assert!(!tm.is_empty());
    for r in tm {
        let next = requests
            .iter()
            .find(|x| x.key == r.key && x.attempt == r.attempt + 1)
            .expect("retried after 429");
        assert!(
            next.at.duration_since(r.at) >= Duration::from_millis(950),
            "{:?}",
            next.at.duration_since(r.at)
        );
    }
    // The hang was timed out and retried.
    let hung = requests.iter().find(|r| r.status == 0).expect("a hang");
    assert!(requests
        .iter()
        .any(|r| r.key == hung.key && r.attempt > hung.attempt));
    // B's transforms; A's bundle untouched.
    let b_req = requests
        .iter()
        .find(|r| r.agent == "qe-b" && r.status == 201)
        .unwrap();
    let b: serde_json::Value = serde_json::from_slice(&b_req.body).unwrap();
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(
        entries.last().unwrap()["resource"]["resourceType"],
        "OperationOutcome"
    );
    assert!(
        b["meta"]["security"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "HTEST"),
        "{}",
        b["meta"]
    );
    assert!(entries.iter().all(|e| e["resource"].get("text").is_none()));
    let a_req = requests
        .iter()
        .find(|r| r.agent == "qe-a" && r.status == 201)
        .unwrap();
    let bundles: HashMap<_, _> = example_bundles()
        .into_iter()
        .map(|(_, b)| (b.clone(), ()))
        .collect();
    assert!(
        bundles.contains_key(&a_req.body),
        "A's bundle is forwarded as received"
    );

    // A refused bundle (400) is dead-lettered at once, then replayed.
    lake.state.set_script(Box::new(|_, _| Fault::Status(400)));
    let refused = submit(&s, 1).remove(0);
    assert!(wait_until(Duration::from_secs(10), || {
        status(&s, &refused.0, &refused.1)["forwarding"]["state"] == "dead_letter"
    }));
    let rec = status(&s, &refused.0, &refused.1);
    assert_eq!(rec["state"], "dead-letter");
    assert_eq!(rec["forwarding"]["attempts"], 1);
    assert_eq!(rec["forwarding"]["history"][0]["status"], 400);
    assert!(rec["forwarding"]["history"][0]["responseBody"]
        .as_str()
        .unwrap()
        .contains("mock data lake"));
    let metrics = s.request("GET", "/metrics").send().text();
    assert!(
        metrics.contains("shinny_forward_queue_depth{state=\"dead_letter\"} 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("shinny_forward_dead_letters_total 1\n"));
    assert!(
        metrics.contains("shinny_forward_deliveries_total 12\n"),
        "{metrics}"
    );
    assert!(metrics.contains("shinny_forward_attempts_total{outcome=\"retry\"}"));
    assert!(metrics.contains("shinny_forward_delivery_latency_seconds_count 12\n"));

    lake.state.set_script(Box::new(|_, _| Fault::Accept));
    let replay = |key: &str, body: &str| {
        s.request("POST", "/Bundle/$replay")
            .header("Authorization", &format!("Bearer {key}"))
            .header("Content-Type", "application/json")
            .body(body.as_bytes())
            .send()
    };
    replay(common::KEY_A, r#"{"deadLetters": true}"#).assert_outcome(401);
    replay(ADMIN_KEY, r#"{"deadLetters": true, "ids": ["x"]}"#).assert_outcome(400);
    let r = replay(ADMIN_KEY, r#"{"deadLetters": true}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["requeued"][0]["id"], refused.1.as_str());
    assert!(wait_until(Duration::from_secs(10), || {
        lake.state.delivered().contains_key(&refused.1)
    }));
    assert!(wait_until(Duration::from_secs(5), || {
        status(&s, &refused.0, &refused.1)["state"] == "forwarded"
    }));
    // A chosen, already delivered interaction can be sent again.
    let (t0, id0) = &accepted[0];
    let r = replay(
        ADMIN_KEY,
        &format!(r#"{{"tenant": "{t0}", "ids": ["{id0}", "no-such-id"]}}"#),
    );
    let j = r.json();
    assert_eq!(j["requeued"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["notFound"][0]["id"], "no-such-id");
    assert!(wait_until(Duration::from_secs(10), || {
        lake.state.delivered().get(id0.as_str()) == Some(&2)
    }));

    // The data lake posts its processing result with its own credential.
    let result = |key: &str, id: &str| {
        s.request("POST", &format!("/Bundle/$result/{id}"))
            .header("X-API-Key", key)
            .header("Content-Type", "application/json")
            .body(br#"{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"loaded"}]}"#)
            .send()
    };
    result(common::KEY_A, id0).assert_outcome(401);
    result(LAKE_KEY, "unknown").assert_outcome(404);
    // Bodies past the configured limit (4 MiB here) are refused with an
    // OperationOutcome, on both forwarding endpoints.
    let big = vec![b' '; 5 << 20];
    for (path, key) in [
        (format!("/Bundle/$result/{id0}"), LAKE_KEY),
        ("/Bundle/$replay".to_string(), ADMIN_KEY),
    ] {
        s.request("POST", &path)
            .header("X-API-Key", key)
            .header("Content-Type", "application/json")
            .body(&big)
            .send()
            .assert_outcome(413);
    }
    s.request("POST", "/Bundle/$result/%FF")
        .header("X-API-Key", LAKE_KEY)
        .header("Content-Type", "application/json")
        .body(b"{}")
        .send()
        .assert_outcome(400);
    let r = result(LAKE_KEY, id0);
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = status(&s, t0, id0);
    assert_eq!(
        rec["forwarding"]["result"]["issue"][0]["diagnostics"],
        "loaded"
    );
    // Another tenant cannot see it.
    let other = if t0 == "qe-a" { "qe-b" } else { "qe-a" };
    let r = if other == "qe-a" {
        s.as_a("GET", &format!("/Bundle/$status/{id0}"))
    } else {
        s.as_b("GET", &format!("/Bundle/$status/{id0}"))
    }
    .send();
    assert_eq!(r.status, 404);
}

#[test]
fn faults_replay_and_results_sqlite() {
    faults_replay_and_results(Db::Sqlite);
}

#[test]
fn faults_replay_and_results_postgres() {
    faults_replay_and_results(Db::Postgres);
}

#[test]
fn bad_forwarding_configuration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, _) = TestServer::config(Mode::Gateway, Db::Sqlite, dir.path()).unwrap();
    config.forwarding = Some(forwarding("http://127.0.0.1:9/lake"));
    config.tenants[0].forwarding = Some(
        toml::from_str(r#"transforms = [{ op = "remove", path = "Bundle.entry[0]" }]"#).unwrap(),
    );
    let contexts = shinny_service::contexts::load(&config.validation).unwrap();
    let store = shinny_service::app::open_store(&config).unwrap();
    let err = shinny_service::AppState::new(config, contexts, store)
        .err()
        .unwrap();
    assert!(err.contains("tenant qe-a: transform 1"), "{err}");
}

/// Deliveries per second to a lake that accepts at once, with 4 deliveries
/// in flight; the jobs are written straight into the outbox so that
/// validation is not what is measured.
fn throughput(db: Db) {
    use shinny_service::storage::{now_micros, NewInteraction, RequestInfo, StateChange};
    let lake = Lake::start(Box::new(|_, _| Fault::Accept));
    let url = lake.url("http");
    let Some(s) = TestServer::start_with(Mode::Gateway, db, |c| {
        let mut f = forwarding(&url);
        f.destinations[0].timeout_ms = 4000;
        c.forwarding = Some(f);
        c.tenants[0].forwarding = Some(toml::from_str("select = \"all\"").unwrap());
    }) else {
        return;
    };
    let state = s.server.as_ref().unwrap().state.clone();
    // Held at the lake until every job is written: what is measured is
    // draining a full outbox.
    lake.state.close_gate();
    let (_, payload) = &example_bundles()[0];
    let n = 400;
    let ids: Vec<String> = (0..n)
        .map(|_| {
            let id = uuid::Uuid::new_v4().to_string();
            let now = now_micros();
            state
                .store
                .record(&NewInteraction {
                    id: id.clone(),
                    tenant_id: "qe-a".into(),
                    received_micros: now,
                    request: RequestInfo {
                        payload_bytes: payload.len() as i64,
                        payload_sha256: "00".repeat(32),
                        ..Default::default()
                    },
                    payload: payload.clone(),
                    full_outcome: serde_json::json!({"resourceType": "OperationOutcome", "issue": []}),
                    reported_outcome: serde_json::json!({"resourceType": "OperationOutcome", "issue": []}),
                    summary: Default::default(),
                    states: vec![StateChange::new("stored", now, None)],
                    forward: Some("lake".into()),
                })
                .unwrap();
            id
        })
        .collect();
    let started = std::time::Instant::now();
    lake.state.open_gate();
    assert!(wait_until(Duration::from_secs(60), || {
        lake.state.delivered().len() >= n
    }));
    let secs = started.elapsed().as_secs_f64();
    let d = lake.state.delivered();
    assert!(
        ids.iter().all(|id| d.get(id) == Some(&1)),
        "each exactly once"
    );
    eprintln!(
        "{db:?}: {n} deliveries of {} KB in {secs:.2} s: {:.0}/s",
        payload.len() / 1024,
        n as f64 / secs
    );
}

#[test]
fn throughput_sqlite() {
    throughput(Db::Sqlite);
}

#[test]
fn throughput_postgres() {
    throughput(Db::Postgres);
}

/// `select = "no-errors"` (the default) forwards only bundles without an
/// error after the policy; the request's severity level, which only trims
/// what the submitter sees, does not change that.
#[test]
fn only_bundles_without_errors_are_forwarded_by_default() {
    let lake = Lake::start(Box::new(|_, _| Fault::Accept));
    let url = lake.url("http");
    let s = TestServer::start_with(Mode::Gateway, Db::Sqlite, |c| {
        c.forwarding = Some(forwarding(&url));
    })
    .unwrap();
    let mut submitted = Vec::new();
    for (_, body) in example_bundles().iter().take(4) {
        let r = s.as_a("POST", "/Bundle").fhir(body).send();
        assert_eq!(r.status, 201);
        submitted.push(r.header("x-techbd-interaction-id").unwrap().to_string());
    }
    let bad = br#"{"resourceType": "Bundle", "type": "not-a-bundle-type", "entry": [{"resource": {"resourceType": "Patient", "gender": "sometimes"}}]}"#;
    let r = s
        .as_a("POST", "/Bundle")
        .header("X-TechBD-Validation-Severity-Level", "fatal")
        .fhir(bad)
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    submitted.push(r.header("x-techbd-interaction-id").unwrap().to_string());
    let mut forwarded = 0;
    for id in &submitted {
        let rec = status(&s, "qe-a", id);
        let errors = rec["validation"]["error"].as_i64().unwrap()
            + rec["validation"]["fatal"].as_i64().unwrap();
        assert_eq!(rec.get("forwarding").is_some(), errors == 0, "{rec}");
        if errors == 0 {
            forwarded += 1;
            assert!(wait_until(Duration::from_secs(10), || lake
                .state
                .delivered()
                .contains_key(id)));
        }
    }
    let last = status(&s, "qe-a", submitted.last().unwrap());
    assert!(last["validation"]["error"].as_i64().unwrap() > 0, "{last}");
    assert!(forwarded > 0, "no example bundle was valid");
    assert_eq!(lake.state.delivered().len(), forwarded);
}
