//! The service over real HTTP on 127.0.0.1: every endpoint, both tenant
//! modes, both storage backends, every error status, tenant isolation.

mod common;

use common::{example_bundles, Db, TestServer, KEY_A, KEY_B};
use serde_json::Value;
use shinny_service::config::Mode;

fn issues(oo: &Value) -> &Vec<Value> {
    oo["issue"].as_array().expect("issue array")
}

fn errors(oo: &Value) -> usize {
    issues(oo)
        .iter()
        .filter(|i| i["severity"] == "error" || i["severity"] == "fatal")
        .count()
}

/// An example bundle with an element no profile defines (an error).
fn broken_bundle() -> Vec<u8> {
    let (_, bytes) = &example_bundles()[0];
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    v["notAnElement"] = Value::from(1);
    serde_json::to_vec_pretty(&v).unwrap()
}

fn server_timing_ms(h: &str, name: &str) -> f64 {
    let part = h
        .split(',')
        .map(str::trim)
        .find(|p| p.starts_with(&format!("{name};dur=")))
        .unwrap_or_else(|| panic!("no {name} in Server-Timing {h:?}"));
    part.split("dur=").nth(1).unwrap().parse().unwrap()
}

fn list_all(s: &TestServer, as_a: bool, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/Bundle/$status?{query}");
    loop {
        let r = if as_a {
            s.as_a("GET", &path)
        } else {
            s.as_b("GET", &path)
        }
        .send();
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        out.extend(v["items"].as_array().unwrap().iter().cloned());
        match v["next"].as_str() {
            Some(n) => path = n.to_string(),
            None => break,
        }
    }
    out
}

fn validate_examples(db: Db) {
    let Some(s) = TestServer::start(Mode::Gateway, db) else {
        return;
    };
    for (name, bytes) in example_bundles() {
        let r = s.as_a("POST", "/Bundle/$validate").fhir(&bytes).send();
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/fhir+json"));
        let oo = r.json();
        assert_eq!(oo["resourceType"], "OperationOutcome");
        assert_eq!(errors(&oo), 0, "{name}: {oo}");
        assert_eq!(oo["meta"]["tag"][0]["code"], "qe-a");
        let timing = r.header("server-timing").expect("Server-Timing");
        let total = server_timing_ms(timing, "total");
        let validate = server_timing_ms(timing, "validate");
        // Milliseconds: a validation takes well under a minute and more
        // than nothing; total includes validate.
        assert!(
            validate > 0.0 && validate <= total && total < 60_000.0,
            "{timing}"
        );
        assert!(uuid::Uuid::parse_str(r.header("x-techbd-interaction-id").unwrap()).is_ok());
        assert!(r.header("location").is_none());
    }
    // The broken bundle is reported, with line and column.
    let r = s
        .as_a("POST", "/Bundle/$validate")
        .fhir(&broken_bundle())
        .send();
    assert_eq!(r.status, 200);
    let oo = r.json();
    assert!(errors(&oo) >= 1, "{oo}");
    let ext = issues(&oo)[0]["extension"].as_array().unwrap();
    assert!(ext
        .iter()
        .any(|e| e["url"].as_str().unwrap().ends_with("issue-line")));
    // $validate stores nothing.
    assert!(list_all(&s, true, "").is_empty());
}

fn submit_and_status(db: Db) {
    let Some(s) = TestServer::start(Mode::Gateway, db) else {
        return;
    };
    let bundles = example_bundles();
    // A valid bundle.
    let r = s
        .as_a("POST", "/Bundle")
        .header(
            "X-TechBD-FHIR-Profile-URI",
            "http://shinny.org/us/ny/hrsn/StructureDefinition/SHINNYBundleProfile",
        )
        .header("X-SHIN-NY-IG-Version", "1.9.4")
        .fhir(&bundles[0].1)
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let oo = r.json();
    let id = oo["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location").unwrap(),
        format!("/Bundle/$status/{id}")
    );
    assert_eq!(r.header("x-techbd-interaction-id"), Some(id.as_str()));
    assert!(server_timing_ms(r.header("server-timing").unwrap(), "store") >= 0.0);

    let st = s.as_a("GET", &format!("/Bundle/$status/{id}")).send();
    assert_eq!(st.status, 200, "{}", st.text());
    assert_eq!(st.header("content-type"), Some("application/json"));
    let rec = st.json();
    assert_eq!(rec["id"], id.as_str());
    assert_eq!(rec["tenantId"], "qe-a");
    assert_eq!(rec["state"], "stored");
    assert_eq!(rec["outcome"], oo, "the stored outcome is the one returned");
    assert_eq!(rec["validation"]["valid"], true);
    assert_eq!(rec["request"]["igVersion"], "1.9.4");
    assert_eq!(rec["request"]["payloadBytes"], bundles[0].1.len());
    assert!(rec["request"]["profileUri"]
        .as_str()
        .unwrap()
        .ends_with("SHINNYBundleProfile"));
    let states: Vec<&str> = rec["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["received", "validated", "stored"]);
    let received =
        chrono::DateTime::parse_from_rfc3339(rec["receivedAt"].as_str().unwrap()).unwrap();
    assert!(
        (chrono::Utc::now() - received.with_timezone(&chrono::Utc))
            .num_seconds()
            .abs()
            < 60
    );

    // An invalid bundle is stored too, with its counts.
    let r = s.as_a("POST", "/Bundle").fhir(&broken_bundle()).send();
    assert_eq!(r.status, 201);
    let rec = s.as_a("GET", r.header("location").unwrap()).send().json();
    assert_eq!(rec["validation"]["valid"], false);
    assert!(rec["validation"]["error"].as_i64().unwrap() >= 1);

    // X-Correlation-ID: a UUID becomes the interaction id; reuse is 409.
    let corr = uuid::Uuid::new_v4().to_string();
    let r = s
        .as_a("POST", "/Bundle")
        .header("X-Correlation-ID", &corr)
        .fhir(&bundles[1].1)
        .send();
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("location").unwrap(),
        format!("/Bundle/$status/{corr}")
    );
    let again = s
        .as_a("POST", "/Bundle")
        .header("X-Correlation-ID", &corr)
        .fhir(&bundles[1].1)
        .send();
    again.assert_outcome(409);
    // Another tenant may use the same correlation id.
    let r = s
        .as_b("POST", "/Bundle")
        .header("X-Correlation-ID", &corr)
        .fhir(&bundles[1].1)
        .send();
    assert_eq!(r.status, 201);
    // A non-UUID correlation id is recorded, and a new id is made.
    let r = s
        .as_a("POST", "/Bundle")
        .header("X-Correlation-ID", "batch-7")
        .fhir(&bundles[2].1)
        .send();
    assert_eq!(r.status, 201);
    let rec = s.as_a("GET", r.header("location").unwrap()).send().json();
    assert_ne!(rec["id"], "batch-7");
    assert_eq!(rec["request"]["correlationId"], "batch-7");

    // Health check: validated, not recorded.
    let before = list_all(&s, true, "").len();
    let r = s
        .as_a("POST", "/Bundle")
        .header("X-TechBD-HealthCheck", "true")
        .fhir(&bundles[3].1)
        .send();
    assert_eq!(r.status, 200);
    assert!(r.header("location").is_none());
    assert_eq!(list_all(&s, true, "").len(), before);

    // Listing: paging, filters.
    for (_, b) in bundles.iter().take(5) {
        assert_eq!(s.as_a("POST", "/Bundle").fhir(b).send().status, 201);
    }
    let all = list_all(&s, true, "");
    assert_eq!(all.len(), before + 5);
    let paged = list_all(&s, true, "_count=2");
    assert_eq!(paged, all);
    let times: Vec<&str> = all
        .iter()
        .map(|r| r["receivedAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert!(all.iter().all(|r| r.get("outcome").is_none()));
    let since = times[before];
    let recent = list_all(&s, true, &format!("since={since}&_count=1"));
    assert_eq!(
        recent.len(),
        all.iter()
            .filter(|r| r["receivedAt"].as_str().unwrap() >= since)
            .count()
    );
    assert!(list_all(&s, true, "state=stored").len() == all.len());
    assert!(list_all(&s, true, "state=forwarded").is_empty());
    assert!(list_all(&s, true, "since=2999-01-01T00:00:00Z").is_empty());
    s.as_a("GET", "/Bundle/$status?since=yesterday")
        .send()
        .assert_outcome(400);
    s.as_a("GET", "/Bundle/$status?_count=0")
        .send()
        .assert_outcome(400);
    s.as_a("GET", "/Bundle/$status?colour=red")
        .send()
        .assert_outcome(400);
    s.as_a("GET", "/Bundle/$status?cursor=zzz")
        .send()
        .assert_outcome(400);

    // Tenant isolation: B sees none of A's, and A's ids are 404 for B.
    let b_items = list_all(&s, false, "");
    assert_eq!(b_items.len(), 1);
    assert!(b_items.iter().all(|r| r["tenantId"] == "qe-b"));
    for r in &all {
        let id = r["id"].as_str().unwrap();
        if id != corr {
            s.as_b("GET", &format!("/Bundle/$status/{id}"))
                .send()
                .assert_outcome(404);
        }
    }
    // The shared correlation id resolves to each tenant's own record.
    let mine = s
        .as_b("GET", &format!("/Bundle/$status/{corr}"))
        .send()
        .json();
    assert_eq!(mine["tenantId"], "qe-b");
    s.as_a("GET", &format!("/Bundle/$status/{}", uuid::Uuid::new_v4()))
        .send()
        .assert_outcome(404);
    // An id that does not decode to text is a 400 with an OperationOutcome.
    s.as_a("GET", "/Bundle/$status/%FF%FE")
        .send()
        .assert_outcome(400);
}

fn severity_and_ig_headers(db: Db) {
    let Some(s) = TestServer::start(Mode::Gateway, db) else {
        return;
    };
    let broken = broken_bundle();
    let full = s
        .as_a("POST", "/Bundle/$validate")
        .fhir(&broken)
        .send()
        .json();
    assert!(errors(&full) >= 1);
    // Only fatal issues reported: the errors are filtered from the
    // response, but stored in full.
    let r = s
        .as_a("POST", "/Bundle")
        .header("X-TechBD-Validation-Severity-Level", "fatal")
        .fhir(&broken)
        .send();
    assert_eq!(r.status, 201);
    assert_eq!(errors(&r.json()), 0, "{}", r.text());
    let rec = s.as_a("GET", r.header("location").unwrap()).send().json();
    assert!(rec["validation"]["error"].as_i64().unwrap() >= 1);
    assert_eq!(rec["validation"]["reported"], 0);
    assert_eq!(rec["request"]["severityLevel"], "fatal");
    assert!(rec.get("fullOutcome").is_none());
    // The full diagnostics are kept: the errors the response left out.
    let loc = r.header("location").unwrap();
    let rec = s
        .as_a("GET", &format!("{loc}?diagnostics=full"))
        .send()
        .json();
    assert_eq!(rec["fullOutcome"]["issue"], full["issue"]);
    s.as_a("GET", &format!("{loc}?diagnostics=all"))
        .send()
        .assert_outcome(400);
    s.as_a("POST", "/Bundle/$validate")
        .header("X-TechBD-Validation-Severity-Level", "loud")
        .fhir(&broken)
        .send()
        .assert_outcome(400);
    // IG versions side by side: the test IG context does not know the
    // production profile a production example claims.
    let (_, prod) = &example_bundles()[0];
    let ok = s
        .as_a("POST", "/Bundle/$validate")
        .header("X-SHIN-NY-IG-Version", "1.9.4")
        .fhir(prod)
        .send();
    assert_eq!(errors(&ok.json()), 0);
    let test = s
        .as_a("POST", "/Bundle/$validate")
        .header("X-SHIN-NY-IG-Version", "1.9.4-test")
        .fhir(prod)
        .send();
    assert_eq!(test.status, 200);
    assert_ne!(test.json(), ok.json());
    let bad = s
        .as_a("POST", "/Bundle/$validate")
        .header("X-SHIN-NY-IG-Version", "0.1")
        .fhir(prod)
        .send();
    let oo = bad.assert_outcome(400);
    assert!(oo.to_string().contains("1.9.4-test"));
}

fn error_statuses(db: Db) {
    let Some(s) =
        TestServer::start_with(Mode::Gateway, db, |c| c.server.max_body_bytes = 256 * 1024)
    else {
        return;
    };
    let (_, good) = &example_bundles()[0];
    // 401: no key, wrong key, another tenant's key, no tenant header.
    let r = s
        .request("POST", "/Bundle/$validate")
        .header("X-TechBD-Tenant-ID", "qe-a")
        .fhir(good)
        .send();
    r.assert_outcome(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    s.request("POST", "/Bundle")
        .header("X-TechBD-Tenant-ID", "qe-a")
        .header("X-API-Key", "nope")
        .fhir(good)
        .send()
        .assert_outcome(401);
    s.request("POST", "/Bundle")
        .header("X-TechBD-Tenant-ID", "qe-a")
        .header("X-API-Key", KEY_B)
        .fhir(good)
        .send()
        .assert_outcome(401);
    s.request("POST", "/Bundle")
        .header("X-TechBD-Tenant-ID", "qe-zz")
        .header("X-API-Key", KEY_B)
        .fhir(good)
        .send()
        .assert_outcome(401);
    s.request("POST", "/Bundle")
        .header("X-API-Key", KEY_A)
        .fhir(good)
        .send()
        .assert_outcome(401);
    s.request("GET", "/Bundle/$status")
        .header("X-TechBD-Tenant-ID", "qe-a")
        .send()
        .assert_outcome(401);
    // 415
    s.as_a("POST", "/Bundle/$validate")
        .header("Content-Type", "application/xml")
        .body(good)
        .send()
        .assert_outcome(415);
    s.as_a("POST", "/Bundle")
        .body(good)
        .send()
        .assert_outcome(415);
    // 413, whether or not the length is declared up front.
    let big = vec![b' '; 300 * 1024];
    s.as_a("POST", "/Bundle/$validate")
        .fhir(&big)
        .send()
        .assert_outcome(413);
    // 400: malformed JSON, with the position; not a Bundle.
    let oo = s
        .as_a("POST", "/Bundle")
        .fhir(b"{\"resourceType\": \"Bundle\",\n  \"type\": }")
        .send()
        .assert_outcome(400);
    assert_eq!(oo["issue"][0]["severity"], "fatal");
    assert!(oo.to_string().contains("issue-line"));
    s.as_a("POST", "/Bundle/$validate")
        .fhir(br#"{"resourceType":"Patient"}"#)
        .send()
        .assert_outcome(400);
    s.as_a("POST", "/Bundle/$validate")
        .fhir(b"[1,2]")
        .send()
        .assert_outcome(400);
    // Nothing of these was stored.
    assert!(list_all(&s, true, "").is_empty());
    // 404, 405
    s.as_a("GET", "/Patient/1").send().assert_outcome(404);
    s.as_a("DELETE", "/Bundle").send().assert_outcome(405);
    // 503 with Retry-After when every slot and queue place is taken.
    let total = s
        .server
        .as_ref()
        .unwrap()
        .state
        .admission
        .available_permits() as u32;
    let held = s
        .server
        .as_ref()
        .unwrap()
        .state
        .admission
        .try_acquire_many(total)
        .unwrap();
    let r = s.as_a("POST", "/Bundle/$validate").fhir(good).send();
    r.assert_outcome(503);
    assert_eq!(r.header("retry-after"), Some("1"));
    drop(held);
    assert_eq!(
        s.as_a("POST", "/Bundle/$validate").fhir(good).send().status,
        200
    );
    let metrics = s.request("GET", "/metrics").send().text();
    assert!(
        metrics.contains("shinny_rejected_saturated_total 1\n"),
        "{metrics}"
    );
}

fn white_label(db: Db) {
    let Some(s) = TestServer::start(Mode::WhiteLabel, db) else {
        return;
    };
    let (_, good) = &example_bundles()[0];
    let a = |m: &str, p: &str| {
        s.request(m, p)
            .header("Host", "a.example")
            .header("X-API-Key", KEY_A)
    };
    let r = a("POST", "/Bundle").fhir(good).send();
    assert_eq!(r.status, 201, "{}", r.text());
    let oo = r.json();
    assert_eq!(oo["meta"]["tag"][0]["display"], "Alpha QE");
    let loc = r.header("location").unwrap().to_string();
    assert_eq!(a("GET", &loc).send().json()["tenantId"], "qe-a");
    // B's host with B's key cannot see A's interaction.
    s.request("GET", &loc)
        .header("Host", "B.example:443")
        .header("X-API-Key", KEY_B)
        .send()
        .assert_outcome(404);
    // A's key on B's host is refused; an unknown host too; the tenant
    // header is not what identifies a tenant in this mode.
    s.request("GET", &loc)
        .header("Host", "b.example")
        .header("X-API-Key", KEY_A)
        .send()
        .assert_outcome(401);
    s.request("POST", "/Bundle")
        .header("Host", "c.example")
        .header("X-API-Key", KEY_A)
        .fhir(good)
        .send()
        .assert_outcome(401);
    // Branding of the CapabilityStatement by host.
    for (host, name) in [
        ("a.example", "Alpha QE"),
        ("b.example", "Beta QE"),
        ("other.example", "shinny"),
    ] {
        let cs = s.request("GET", "/metadata").header("Host", host).send();
        assert_eq!(cs.status, 200);
        let v = cs.json();
        assert_eq!(v["resourceType"], "CapabilityStatement");
        assert_eq!(v["publisher"], name);
    }
}

fn public_endpoints(db: Db) {
    let Some(s) = TestServer::start(Mode::Gateway, db) else {
        return;
    };
    let cs = s.request("GET", "/metadata").send();
    assert_eq!(cs.header("content-type"), Some("application/fhir+json"));
    let v = cs.json();
    assert_eq!(v["fhirVersion"], "4.0.1");
    assert_eq!(v["rest"][0]["resource"][0]["type"], "Bundle");
    let branded = s
        .request("GET", "/metadata")
        .header("X-TechBD-Tenant-ID", "qe-b")
        .send()
        .json();
    assert_eq!(branded["publisher"], "Beta QE");
    assert_eq!(s.request("GET", "/healthz").send().json()["status"], "ok");
    let ready = s.request("GET", "/readyz").send();
    assert_eq!(ready.status, 200);
    let expected = if db == Db::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(ready.json()["storage"], expected);
    let (_, good) = &example_bundles()[0];
    for _ in 0..3 {
        assert_eq!(s.as_a("POST", "/Bundle").fhir(good).send().status, 201);
    }
    let m = s.request("GET", "/metrics").send();
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = m.text();
    assert!(
        text.contains("shinny_http_requests_total{route=\"/Bundle\",status=\"201\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("shinny_interactions_stored_total 3\n"));
    assert!(text.contains("shinny_validation_duration_seconds_count 3\n"));
    let api = s.request("GET", "/openapi.json").send();
    assert_eq!(api.status, 200);
    let served = api.json();
    let file: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
    assert_eq!(served, file);
    for p in [
        "/Bundle/$validate",
        "/Bundle",
        "/Bundle/$status",
        "/Bundle/$status/{id}",
        "/Bundle/$result/{id}",
        "/Bundle/$replay",
        "/metadata",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(file["paths"].get(p).is_some(), "openapi.json lacks {p}");
    }
}

fn concurrent_clients(db: Db) {
    let Some(s) = TestServer::start_with(Mode::Gateway, db, |c| c.server.max_queued = 1000) else {
        return;
    };
    let bundles = example_bundles();
    std::thread::scope(|scope| {
        for t in 0..6 {
            let s = &s;
            let bundles = &bundles;
            scope.spawn(move || {
                for n in 0..5 {
                    let (_, b) = &bundles[(t + n) % bundles.len()];
                    let path = if n % 2 == 0 {
                        "/Bundle"
                    } else {
                        "/Bundle/$validate"
                    };
                    let r = s.as_a("POST", path).fhir(b).send();
                    assert!(r.status == 200 || r.status == 201, "{}", r.text());
                }
            });
        }
    });
    assert_eq!(list_all(&s, true, "").len(), 6 * 3);
}

/// The global policy applies to responses; a tenant's own policy
/// overrides it; storage keeps the full diagnostics either way.
#[test]
fn policies() {
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ig/policies");
    let s = TestServer::start_with(Mode::Gateway, Db::Sqlite, |c| {
        c.validation.policy = Some(policies.join("java-hub-threshold.json"));
        c.tenants[1].policy = Some(policies.join("shinny-downgrade-warnings.json"));
    })
    .unwrap();
    let (_, good) = &example_bundles()[0];
    let policy_name = |oo: &Value| -> String {
        let ext = oo["extension"].as_array().unwrap();
        let p = ext
            .iter()
            .find(|e| e["url"] == "http://shinny.org/fhir/StructureDefinition/validation-policy")
            .unwrap();
        p["extension"][0]["valueString"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let a = s.as_a("POST", "/Bundle").fhir(good).send();
    assert_eq!(a.status, 201);
    let oo = a.json();
    assert_eq!(policy_name(&oo), "java-hub-threshold");
    // Nothing at error or above: the single "no issues" issue.
    assert_eq!(issues(&oo).len(), 1);
    assert_eq!(issues(&oo)[0]["severity"], "information");
    let rec = s.as_a("GET", a.header("location").unwrap()).send().json();
    assert_eq!(rec["validation"]["policyName"], "java-hub-threshold");
    assert_eq!(rec["validation"]["reported"], 0);
    let b = s.as_b("POST", "/Bundle/$validate").fhir(good).send().json();
    assert_eq!(policy_name(&b), "shinny-downgrade-warnings");
}

/// A large validation runs on a blocking thread: other requests are
/// answered while it is in flight.
#[test]
fn large_bundle_does_not_stall_others() {
    let s = TestServer::start_with(Mode::Gateway, Db::Sqlite, |c| {
        c.server.max_body_bytes = 256 << 20;
        c.server.max_concurrent_validations = 2;
    })
    .unwrap();
    let (_, first) = &example_bundles()[0];
    let mut v: Value = serde_json::from_slice(first).unwrap();
    let entries = v["entry"].as_array().unwrap().clone();
    let mut big = Vec::new();
    for _ in 0..150 {
        big.extend(entries.iter().cloned());
    }
    v["entry"] = Value::Array(big);
    let big = serde_json::to_vec(&v).unwrap();
    let state = s.server.as_ref().unwrap().state.clone();
    std::thread::scope(|scope| {
        let h = scope.spawn(|| s.as_a("POST", "/Bundle/$validate").fhir(&big).send());
        let start = std::time::Instant::now();
        while state
            .metrics
            .validations_in_flight
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0
        {
            assert!(
                start.elapsed().as_secs() < 60,
                "the large validation never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let t = std::time::Instant::now();
        assert_eq!(s.request("GET", "/healthz").send().status, 200);
        let healthz = t.elapsed();
        let small = s.as_a("POST", "/Bundle/$validate").fhir(first).send();
        assert_eq!(small.status, 200);
        let still_running = state
            .metrics
            .validations_in_flight
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0;
        let r = h.join().unwrap();
        assert_eq!(r.status, 200);
        // Only meaningful if the large one was still running meanwhile.
        if still_running {
            assert!(healthz.as_millis() < 1000, "healthz took {healthz:?}");
        } else {
            eprintln!("large bundle finished before the probes; stall check inconclusive");
        }
    });
}

macro_rules! both_backends {
    ($($name:ident),*) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Db::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Db::Postgres) } )*
        }
    };
}

both_backends!(
    validate_examples,
    submit_and_status,
    severity_and_ig_headers,
    error_statuses,
    white_label,
    public_endpoints,
    concurrent_clients
);

/// A client that stops sending its body gets 408 once
/// `server.body_read_timeout_seconds` has passed, instead of holding its
/// admission slot forever.
#[test]
fn stalled_body_times_out() {
    use std::io::{Read, Write};
    let s = TestServer::start_with(Mode::Gateway, Db::Sqlite, |c| {
        c.server.body_read_timeout_seconds = 1;
    })
    .unwrap();
    let mut tcp = std::net::TcpStream::connect(s.addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /Bundle/$validate HTTP/1.1\r\nHost: {}\r\nX-TechBD-Tenant-ID: qe-a\r\nX-API-Key: {KEY_A}\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n{{\"resourceType\":",
        s.addr
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no response within the read timeout: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

/// A client that sends part of its headers and then nothing is
/// disconnected after `header_read_timeout_seconds` (slowloris), over plain
/// HTTP (the TLS path shares the accept loop); a normal request on the
/// same server is still served.
#[test]
fn stalled_headers_are_cut_off() {
    use std::io::{Read, Write};
    let s = TestServer::start_with(Mode::Gateway, Db::Sqlite, |c| {
        c.server.header_read_timeout_seconds = 1;
    })
    .unwrap();
    let mut tcp = std::net::TcpStream::connect(s.addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    tcp.write_all(b"GET /metadata HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A reset is a close as well.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("connection still open after the read timeout: {e}"),
        }
    }
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "{waited:?}"
    );
    assert!(waited < std::time::Duration::from_secs(15), "{waited:?}");
    // Nothing but (at most) a 408 was sent back.
    let text = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    // The server still answers.
    assert_eq!(s.request("GET", "/metadata").send().status, 200);
}
