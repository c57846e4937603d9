//! The derived-profile shortcut for conformance questions (a resource that
//! conforms to a profile in its `meta.profile` conforms to that profile's
//! ancestors), the replay of conformance passes by the main walk, and the
//! profile pass leaving out base datatypes after a clean base pass must
//! not change any outcome: every example of the SHIN-NY, SDOH CC and US
//! Core packages, and hundreds of broken SHIN-NY bundles, give the same
//! issues as with `exhaustive_conformance`, where every question gets its
//! own profile pass.

use serde_json::Value;
use shinny_engine::{Context, Issue, ValidationOptions};

fn examples(pkg: &str) -> Vec<(String, Vec<u8>)> {
    let dir = shinny_suite::package_cache()
        .join(pkg)
        .join("package/example");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

type Key = (String, String, String, Option<(u32, u32)>, String);

fn keys(issues: Vec<Issue>) -> Vec<Key> {
    let mut k: Vec<Key> = issues
        .into_iter()
        .map(|i| {
            (
                format!("{:?}", i.severity),
                i.message_id,
                i.expression,
                i.pos.map(|p| (p.line, p.col)),
                i.text,
            )
        })
        .collect();
    k.sort();
    k
}

/// Validates `doc` both ways; panics on any difference. Returns the issues.
fn same_both_ways(ctx: &Context, name: &str, doc: &[u8], skip_invariants: bool) -> Vec<Key> {
    let fast = ValidationOptions {
        skip_invariants,
        ..Default::default()
    };
    let exhaustive = ValidationOptions {
        exhaustive_conformance: true,
        ..fast.clone()
    };
    let a = ctx.validate_bytes(doc, &fast);
    let b = ctx.validate_bytes(doc, &exhaustive);
    assert_eq!(a.stats, b.stats, "{name}: invariant counts differ");
    let (a, b) = (keys(a.issues), keys(b.issues));
    assert_eq!(a, b, "{name}: outcomes differ");
    a
}

/// Broken variants checked both ways (structure only), and how many
/// reference target profile errors they gave.
#[derive(Default)]
struct Tally {
    variants: usize,
    target_profile_errors: usize,
}

impl Tally {
    fn check(&mut self, ctx: &Context, label: &str, doc: &Value) -> Vec<Key> {
        let bytes = serde_json::to_vec_pretty(doc).expect("serializes");
        let issues = same_both_ways(ctx, label, &bytes, true);
        self.target_profile_errors += issues
            .iter()
            .filter(|k| k.1 == "REFERENCE_TARGET_PROFILE")
            .count();
        self.variants += 1;
        issues
    }
}

#[test]
fn package_examples_give_the_same_outcome() {
    let ctx = shinny_suite::shinny_context();
    let mut n = 0;
    for pkg in [
        "us.ny.hrsn#1.9.4",
        "hl7.fhir.us.sdoh-clinicalcare#2.2.0",
        "hl7.fhir.us.core#3.1.1",
    ] {
        for (name, doc) in examples(pkg) {
            same_both_ways(&ctx, &format!("{pkg}/{name}"), &doc, false);
            n += 1;
        }
    }
    assert_eq!(n, 119 + 59 + 84);
}

/// Each variant removes one property of one entry resource; the property
/// rotates with the entry, so that required elements of the SHIN-NY
/// profiles and of their SDOH CC and US Core bases both go missing.
#[test]
fn broken_bundles_give_the_same_outcome() {
    let ctx = shinny_suite::shinny_context();
    let bundles: Vec<(String, Vec<u8>)> = examples("us.ny.hrsn#1.9.4")
        .into_iter()
        .filter(|(n, _)| n.starts_with("Bundle-"))
        .collect();
    assert_eq!(bundles.len(), 18);
    let mut tally = Tally::default();
    for (name, doc) in &bundles {
        let bundle: Value = serde_json::from_slice(doc).expect("example parses");
        let entries = bundle["entry"].as_array().expect("entries").len();
        for i in 0..entries {
            let keys: Vec<String> = bundle["entry"][i]["resource"]
                .as_object()
                .expect("resource")
                .keys()
                .filter(|k| !matches!(k.as_str(), "resourceType" | "meta" | "id"))
                .cloned()
                .collect();
            if keys.is_empty() {
                continue;
            }
            for round in 0..3 {
                let key = &keys[(i + round * 3) % keys.len()];
                let mut broken = bundle.clone();
                broken["entry"][i]["resource"]
                    .as_object_mut()
                    .expect("resource")
                    .remove(key);
                let label = format!("{name} without entry[{i}].resource.{key}");
                tally.check(&ctx, &label, &broken);
            }
        }
    }
    let Tally {
        variants,
        target_profile_errors,
    } = tally;
    eprintln!("{variants} variants, {target_profile_errors} reference target profile errors");
    assert!(variants > 900, "{variants} variants");
    // Conformance questions that the shortcut cannot answer (the derived
    // profile fails) did come up, and failed, in both modes.
    assert!(
        target_profile_errors >= 10,
        "{target_profile_errors} reference target profile errors"
    );
}

/// Each variant gives one entry's first identifier a `use` outside its
/// required value set: an error inside a base datatype, which the profile
/// passes of that resource must still see (its conformance verdict, asked
/// by the references to it, depends on it).
#[test]
fn datatype_errors_give_the_same_outcome() {
    let ctx = shinny_suite::shinny_context();
    let mut tally = Tally::default();
    for (name, doc) in examples("us.ny.hrsn#1.9.4")
        .into_iter()
        .filter(|(n, _)| n.starts_with("Bundle-"))
    {
        let bundle: Value = serde_json::from_slice(&doc).expect("example parses");
        let entries = bundle["entry"].as_array().expect("entries").len();
        for i in 0..entries {
            if !bundle["entry"][i]["resource"]["identifier"][0].is_object() {
                continue;
            }
            let mut broken = bundle.clone();
            broken["entry"][i]["resource"]["identifier"][0]["use"] = "bogus".into();
            let label = format!("{name} with entry[{i}].resource.identifier[0].use bogus");
            let issues = tally.check(&ctx, &label, &broken);
            assert!(
                issues.iter().any(|k| k.0 == "Error"),
                "{label}: the bad code is not reported"
            );
        }
    }
    let Tally {
        variants,
        target_profile_errors,
    } = tally;
    eprintln!("{variants} variants, {target_profile_errors} reference target profile errors");
    assert!(variants > 50, "{variants} variants");
    // The broken resources fail the target profiles of references to them.
    assert!(
        target_profile_errors > 0,
        "{target_profile_errors} reference target profile errors"
    );
}

/// Two Observations that reference each other through `hasMember` (a
/// target-profile cycle), with and without a broken member: passes that
/// lean on a pair still being computed are not replayed, and outcomes
/// match the exhaustive mode.
#[test]
fn reference_cycles_give_the_same_outcome() {
    let ctx = shinny_suite::shinny_context();
    let path = shinny_suite::package_cache()
        .join("us.ny.hrsn#1.9.4/package/example/Bundle-AHCHRSNQuestionnaireResponseExample.json");
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    let entries = bundle["entry"].as_array().expect("entries");
    assert!(entries
        .iter()
        .any(|e| e["resource"]["id"] == "ObservationResponseQuestion1grouper"));
    let member = entries
        .iter()
        .position(|e| e["resource"]["id"] == "ObservationResponseHousingInstability71802-3")
        .expect("a member Observation");
    let mut cyclic = bundle.clone();
    cyclic["entry"][member]["resource"]["hasMember"] =
        serde_json::json!([{"reference": "Observation/ObservationResponseQuestion1grouper"}]);
    let mut broken = cyclic.clone();
    broken["entry"][member]["resource"]
        .as_object_mut()
        .expect("resource")
        .remove("status");
    let mut seen = Vec::new();
    for (label, doc) in [("cycle", &cyclic), ("cycle with a broken member", &broken)] {
        let bytes = serde_json::to_vec_pretty(doc).expect("serializes");
        seen.push(same_both_ways(&ctx, label, &bytes, false));
    }
    // The broken member is reported (missing status), at its own path.
    let at_member = format!("Bundle.entry[{member}].resource.ofType(Observation)");
    assert!(
        seen[1]
            .iter()
            .any(|k| k.0 == "Error" && k.2.starts_with(&at_member)),
        "{:#?}",
        seen[1]
    );
}
