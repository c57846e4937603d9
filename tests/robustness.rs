//! No panic on any input: truncated JSON, deep nesting, a 100 MB bundle,
//! invalid UTF-8, random bytes and mutated examples all give issues.

use shinny_engine::{Context, Severity, ValidationOptions};
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(shinny_suite::r4_context)
}

fn example() -> Vec<u8> {
    std::fs::read(shinny_suite::shared_dir().join("corpus/r4-examples/Patient-example.json"))
        .unwrap()
}

/// Deterministic xorshift generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn first_id(input: &[u8]) -> Option<(String, Severity)> {
    let oo = ctx().validate_bytes(input, &ValidationOptions::default());
    oo.issues
        .first()
        .map(|i| (i.message_id.clone(), i.severity))
}

#[test]
fn truncated_json_is_a_fatal_syntax_issue() {
    let full = example();
    for cut in (1..full.len() - 2).step_by(7) {
        let got = first_id(&full[..cut]);
        assert_eq!(
            got,
            Some(("JSON_SYNTAX".to_string(), Severity::Fatal)),
            "cut at {cut}"
        );
    }
}

#[test]
fn invalid_utf8_is_a_fatal_syntax_issue() {
    let mut bad = example();
    bad[40] = 0xC3;
    bad[41] = 0x28;
    assert_eq!(
        first_id(&bad),
        Some(("JSON_SYNTAX".into(), Severity::Fatal))
    );
    assert_eq!(
        first_id(b"\xff\xfe{}"),
        Some(("JSON_SYNTAX".into(), Severity::Fatal))
    );
}

#[test]
fn deep_nesting_is_limited() {
    for open in ["[", "{\"a\":"] {
        let doc = open.repeat(100_000);
        assert_eq!(
            first_id(doc.as_bytes()),
            Some(("LIMIT_EXCEEDED".into(), Severity::Fatal))
        );
    }
    // Deep but within the limit: a resource nested in extensions.
    let mut doc = String::from("{\"resourceType\": \"Patient\", ");
    let depth = 60;
    for _ in 0..depth {
        doc.push_str("\"extension\": [{\"url\": \"http://x.org/e\", ");
    }
    doc.push_str("\"valueString\": \"x\"");
    for _ in 0..depth {
        doc.push_str("}]");
    }
    doc.push('}');
    let oo = ctx().validate_bytes(doc.as_bytes(), &ValidationOptions::default());
    // Nested extensions cannot carry both extension and value; no invariants
    // are checked here, so the structure is simply valid.
    assert_eq!(oo.error_count(), 0, "{:?}", oo.issues.first());
}

#[test]
fn random_bytes_and_mutations_never_panic() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for _ in 0..2_000 {
        let len = (rng.next() % 200) as usize;
        let buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let oo = ctx().validate_bytes(&buf, &ValidationOptions::default());
        assert!(!oo.issues.is_empty(), "random input must not be valid");
    }
    // Mutations of a real resource: structural tokens swapped in.
    let base = example();
    let tokens: &[&[u8]] = &[
        b"{", b"}", b"[", b"]", b"null", b"\"", b",", b":", b"0", b"\\u", b"\xff",
    ];
    for _ in 0..2_000 {
        let mut m = base.clone();
        for _ in 0..3 {
            let at = (rng.next() as usize) % m.len();
            let t = tokens[(rng.next() as usize) % tokens.len()];
            m.splice(at..at + 1, t.iter().copied());
        }
        let _ = ctx().validate_bytes(&m, &ValidationOptions::default());
    }
}

#[test]
fn hundred_megabyte_bundle() {
    // Synthea entries repeated until the bundle passes 100 MB.
    let src = std::fs::read(
        shinny_suite::shared_dir()
            .join("corpus/synthea-r4/Angelic_Mueller_29d755a6-32fa-482e-8fdd-081300209df8.json"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&src).unwrap();
    let entries: Vec<String> = v["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let mut doc = String::with_capacity(105 << 20);
    doc.push_str("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[");
    let mut n = 0usize;
    while doc.len() < 100 << 20 {
        let e = &entries[n % entries.len()];
        if n > 0 {
            doc.push(',');
        }
        // Fresh fullUrls keep the entries distinct.
        let fresh = e.replacen("urn:uuid:", &format!("urn:uuid:{:08x}-", n), 1);
        doc.push_str(&fresh);
        n += 1;
    }
    doc.push_str("]}");
    assert!(doc.len() > 100 << 20);
    let oo = ctx().validate_bytes(doc.as_bytes(), &ValidationOptions::default());
    // The prefixed urn:uuids are not valid UUIDs any more: one issue per
    // entry proves every entry was visited.
    let invalid = oo
        .issues
        .iter()
        .filter(|i| i.message_id == "BUNDLE_FULLURL_INVALID")
        .count();
    assert_eq!(invalid, n);
}
