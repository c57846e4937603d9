//! The shared subexpression cache (`EvalCache`) changes speed, never
//! results: every invariant on the SHIN-NY Bundle profile's root gives the
//! same result alone and through one cache shared by all of them, on every
//! SHIN-NY example bundle and on broken variants of each (entries removed,
//! codes changed) that make many rules false.

use serde_json::Value;
use shinny_engine::fhirpath::{Environment, EvalCache, EvalInput};

/// Every `"code"` string member replaced, so crosswalk rules fail.
fn recode(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "code" && x.is_string() {
                    *x = Value::String("zzz".into());
                } else {
                    recode(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(recode),
        _ => {}
    }
}

fn variants(bundle: &Value) -> Vec<(String, Value)> {
    let mut out = vec![("as published".to_string(), bundle.clone())];
    let mut recoded = bundle.clone();
    recode(&mut recoded);
    out.push(("codes changed".into(), recoded));
    let types: std::collections::BTreeSet<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["resourceType"].as_str().map(str::to_string))
        .collect();
    for t in types {
        let mut b = bundle.clone();
        if let Some(entries) = b["entry"].as_array_mut() {
            entries.retain(|e| e["resource"]["resourceType"] != t.as_str());
        }
        out.push((format!("without {t}"), b));
    }
    out
}

#[test]
fn shared_cache_gives_the_same_results() {
    let ctx = shinny_suite::shinny_context();
    let exprs = shinny_suite::compile_bundle_root_constraints(&ctx);
    assert!(exprs.len() > 90, "{} Bundle root constraints", exprs.len());
    let dir = shinny_suite::package_cache().join("us.ny.hrsn#1.9.4/package/example");
    let mut bundles: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("Bundle-") && n.ends_with(".json")
        })
        .collect();
    bundles.sort();
    assert!(bundles.len() >= 18, "{} bundles", bundles.len());
    let env = Environment::default();
    let (mut compared, mut falses, mut max_kept) = (0, 0, 0);
    for path in &bundles {
        let json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        for (what, v) in variants(&json) {
            let bytes = serde_json::to_vec(&v).unwrap();
            let node = shinny_engine::json::parse(&bytes).unwrap();
            let input = EvalInput::resource(&node);
            let cache = EvalCache::default();
            for (key, e) in &exprs {
                let alone = e.evaluate(&input, &env);
                let shared = e.evaluate_shared(&input, &env, Some(&cache));
                assert_eq!(
                    format!("{shared:?}"),
                    format!("{alone:?}"),
                    "{key} on {} ({what})",
                    path.display()
                );
                if matches!(e.evaluate_bool(&input, &env), Ok(Some(false))) {
                    falses += 1;
                }
                compared += 1;
            }
            max_kept = max_kept.max(cache.len());
        }
    }
    // The comparison covered failing rules too, and the cache was used.
    assert!(compared > 5_000, "{compared} evaluations compared");
    assert!(falses > 100, "only {falses} false results");
    assert!(max_kept > 100, "the cache kept at most {max_kept} results");
    println!("{compared} evaluations compared, {falses} false, cache up to {max_kept} results");
}

/// Compile options with the R4 model, for expressions on `context_type`.
fn r4_options(context_type: &str) -> shinny_engine::fhirpath::CompileOptions {
    let ctx = shinny_suite::r4_context();
    shinny_engine::fhirpath::CompileOptions {
        model: Some(ctx.fhirpath_model().clone()),
        context_type: Some(context_type.into()),
        ..Default::default()
    }
}

#[test]
fn cache_serves_one_input_at_a_time() {
    let opts = r4_options("Patient");
    let e = shinny_engine::fhirpath::compile("name.given.first()", &opts).unwrap();
    let a = shinny_engine::json::parse(br#"{"resourceType":"Patient","name":[{"given":["Ann"]}]}"#)
        .unwrap();
    let b = shinny_engine::json::parse(br#"{"resourceType":"Patient","name":[{"given":["Bob"]}]}"#)
        .unwrap();
    let env = Environment::default();
    let cache = EvalCache::default();
    let show = |n| {
        let input = EvalInput::resource(n);
        let out = e.evaluate_shared(&input, &env, Some(&cache)).unwrap();
        out.iter()
            .map(|i| i.to_display_string().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(show(&a), ["Ann"]);
    assert!(!cache.is_empty());
    // Another input empties the cache instead of answering from it.
    assert_eq!(show(&b), ["Bob"]);
    assert_eq!(show(&a), ["Ann"]);
}

/// `where(path = 'literal')` and `where(path contains 'literal')` over a
/// collection of eight or more items read an index of the path's strings
/// that the cache keeps for the next filter of the same collection by the
/// same path: the answers are those without the cache, whatever the
/// items hold (several codes, none, booleans, dates, extension-only
/// primitives, complex values) and whichever literal comes first.
#[test]
fn literal_filters_through_the_index_give_the_same_results() {
    let opts = r4_options("Bundle");
    let obs = [
        r#"{"code": {"coding": [{"code": "a"}]}, "status": "final"}"#,
        r#"{"code": {"coding": [{"code": "a"}, {"code": "b"}]}, "status": "final"}"#,
        r#"{"code": {"coding": [{"code": "b"}]}, "status": "amended"}"#,
        r#"{"code": {"coding": [{"_code": {"id": "x"}}]}, "status": "final"}"#,
        r#"{"code": {"coding": [{"code": "a", "userSelected": true}]}}"#,
        r#"{"code": {"text": "no coding"}, "effectiveDateTime": "2020-01-01"}"#,
        r#"{"code": {"coding": [{"code": ""}]}, "effectiveDateTime": "2020"}"#,
        r#"{"code": {"coding": [{"code": "A"}]}, "valueQuantity": {"value": 1, "code": "a"}}"#,
        r#"{"status": "final"}"#,
        r#"{"code": {"coding": [{"code": "a"}, {"code": "a"}]}, "valueString": "a"}"#,
        r#"{"code": {"coding": [{"code": "c"}]}, "_status": {"id": "s"}}"#,
        r#"{"code": {"coding": [{"code": "b"}, {"code": "c"}]}, "status": "final"}"#,
    ];
    let entries: Vec<String> = obs
        .iter()
        .map(|o| {
            format!(
                r#"{{"resource": {{"resourceType": "Observation", {}}}}}"#,
                &o[1..o.len() - 1]
            )
        })
        .collect();
    let bundle = format!(
        r#"{{"resourceType": "Bundle", "type": "collection", "entry": [{}]}}"#,
        entries.join(",")
    );
    let node = shinny_engine::json::parse(bundle.as_bytes()).unwrap();
    let input = EvalInput::resource(&node);
    let env = Environment::default();
    let paths = [
        "code.coding.code",
        "code.coding.userSelected",
        "effective",
        "status",
        "value",
        "value.code",
        "code",
    ];
    let mut exprs = Vec::new();
    for path in paths {
        for op in ["=", "contains"] {
            for lit in ["a", "b", "c", "", "zzz", "true", "2020", "final", "A"] {
                exprs.push(format!(
                    "entry.select(resource as Observation).where({path} {op} '{lit}').id | \
                     entry.select(resource as Observation).where({path} {op} '{lit}').status"
                ));
                exprs.push(format!(
                    "entry.select(resource as Observation).where({path} {op} '{lit}').count()"
                ));
            }
        }
    }
    // In order and in reverse, so that each filter both builds and reads
    // indexes.
    for order in [false, true] {
        let cache = EvalCache::default();
        let mut list: Vec<&String> = exprs.iter().collect();
        if order {
            list.reverse();
        }
        for src in list {
            let e = shinny_engine::fhirpath::compile(src, &opts).unwrap();
            let alone = e.evaluate(&input, &env);
            let shared = e.evaluate_shared(&input, &env, Some(&cache));
            assert_eq!(format!("{shared:?}"), format!("{alone:?}"), "{src}");
        }
        assert!(!cache.is_empty());
    }
}

/// Compiled with one `SubexpressionRegistry`, a group keeps only the
/// results that can be read again: subexpressions that occur more than
/// once in the group, or that do not read their focus. The results are
/// those of the group compiled without one (which keeps every shareable
/// result); on the largest SHIN-NY bundle most kept results were never
/// read again.
#[test]
fn a_registry_keeps_only_results_that_can_be_read_again() {
    use shinny_engine::fhirpath::{compile, CompileOptions, SubexpressionRegistry};
    let ctx = shinny_suite::shinny_context();
    let sources = shinny_suite::bundle_root_constraints();
    let build = |registry: Option<std::sync::Arc<SubexpressionRegistry>>| {
        let opts = CompileOptions {
            model: Some(ctx.fhirpath_model().clone()),
            context_type: Some("Bundle".into()),
            shared_subexpressions: registry,
            ..Default::default()
        };
        sources
            .iter()
            .map(|(key, src)| (key.clone(), compile(src, &opts).unwrap()))
            .collect::<Vec<_>>()
    };
    let all = build(None);
    let planned = build(Some(Default::default()));
    let bytes = std::fs::read(shinny_suite::largest_shinny_bundle()).unwrap();
    let node = shinny_engine::json::parse(&bytes).unwrap();
    let input = EvalInput::resource(&node);
    let env = Environment::default();
    let (cache_all, cache_planned) = (EvalCache::default(), EvalCache::default());
    for ((key, a), (_, p)) in all.iter().zip(&planned) {
        let ra = a.evaluate_shared(&input, &env, Some(&cache_all));
        let rp = p.evaluate_shared(&input, &env, Some(&cache_planned));
        assert_eq!(format!("{rp:?}"), format!("{ra:?}"), "{key}");
    }
    let (kept_all, kept_planned) = (cache_all.len(), cache_planned.len());
    println!("kept {kept_all} results without a registry, {kept_planned} with one");
    assert!(
        kept_planned * 2 < kept_all,
        "{kept_planned} kept with a registry, {kept_all} without"
    );
    // Results that are read again are still kept.
    assert!(kept_planned > 50, "{kept_planned} kept with a registry");
}
