//! Smoke test: every core invariant evaluated on every element it applies
//! to, over all example resources in the shared packages. Reports how many
//! fail or error; asserts that errors stay rare (they point at engine bugs).

use serde_json::Value as J;
use shinny_engine::fhirpath::{
    compile, CompileOptions, Environment, EvalInput, Expression, ModelInfo,
};
use shinny_engine::json;
use shinny_suite::{r4_model, shared_dir};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

struct Invariant {
    key: String,
    path: Expression,
    check: Expression,
}

fn core_invariants(
    model: &Arc<dyn ModelInfo>,
    rtype: &str,
    cache: &mut HashMap<String, Vec<Invariant>>,
) {
    if cache.contains_key(rtype) {
        return;
    }
    let file = shared_dir().join(format!(
        "fhir-packages/hl7.fhir.r4.core#4.0.1/package/StructureDefinition-{rtype}.json"
    ));
    let mut out = Vec::new();
    if let Ok(bytes) = std::fs::read(&file) {
        let sd: J = serde_json::from_slice(&bytes).unwrap();
        for el in sd["snapshot"]["element"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let path = el["path"].as_str().unwrap_or("");
            if path.contains("[x]") {
                continue;
            }
            for c in el["constraint"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let (Some(key), Some(expr)) = (c["key"].as_str(), c["expression"].as_str()) else {
                    continue;
                };
                let opts = CompileOptions {
                    model: Some(model.clone()),
                    ..Default::default()
                };
                let (Ok(p), Ok(e)) = (compile(path, &opts), compile(expr, &opts)) else {
                    continue;
                };
                out.push(Invariant {
                    key: key.to_string(),
                    path: p,
                    check: e,
                });
            }
        }
    }
    cache.insert(rtype.to_string(), out);
}

#[test]
fn core_invariants_on_package_examples() {
    let model: Arc<dyn ModelInfo> = r4_model();
    let mut cache = HashMap::new();
    let (mut evals, mut falses, mut errors) = (0usize, 0usize, 0usize);
    let mut by_error: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_false: BTreeMap<String, usize> = BTreeMap::new();
    let mut html_fail = Vec::new();
    let mut files = 0;
    let mut pkgs: Vec<_> = std::fs::read_dir(shared_dir().join("fhir-packages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pkgs.sort();
    for pkg in pkgs {
        for dir in [pkg.join("package/example"), pkg.join("package")] {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut paths: Vec<_> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            paths.sort();
            for p in paths.into_iter().take(400) {
                let Ok(node) = json::parse(&std::fs::read(&p).unwrap()) else {
                    continue;
                };
                let Some(rt) = node.get("resourceType").and_then(json::Node::as_str) else {
                    continue;
                };
                if rt == "StructureDefinition" || rt == "ImplementationGuide" {
                    continue;
                }
                files += 1;
                core_invariants(&model, rt, &mut cache);
                let input = EvalInput::resource(&node);
                let env = Environment::default();
                let html = compile("text.div.htmlChecks()", &CompileOptions::default()).unwrap();
                if html.evaluate_bool(&input, &env).unwrap() == Some(false) {
                    html_fail.push(p.display().to_string());
                }
                for inv in &cache[rt] {
                    let Ok(targets) = inv.path.evaluate(&input, &env) else {
                        continue;
                    };
                    for t in targets {
                        evals += 1;
                        let i = EvalInput::with_focus(vec![t], Some(&node), Some(&node));
                        match inv.check.evaluate_bool(&i, &env) {
                            Ok(Some(false)) => {
                                falses += 1;
                                *by_false.entry(format!("{} {}", rt, inv.key)).or_default() += 1;
                            }
                            Ok(_) => {}
                            Err(e) => {
                                errors += 1;
                                *by_error
                                    .entry(format!("{} {}: {}", rt, inv.key, e.message))
                                    .or_default() += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    println!("{files} resources, {evals} invariant evaluations, {falses} false, {errors} errors");
    println!("{} narratives fail htmlChecks()", html_fail.len());
    for f in &html_fail {
        println!("  htmlChecks false: {f}");
    }
    for (k, n) in &by_false {
        println!("{n:6}  false: {k}");
    }
    for (k, n) in &by_error {
        println!("{n:6}  {k}");
    }
    assert!(evals > 1000);
    // Falses are content (e.g. dom-6 narrative best practice); errors would be engine bugs.
    assert_eq!(errors, 0, "invariant evaluation errors (see above)");
    assert!(
        html_fail.is_empty(),
        "published narratives fail htmlChecks()"
    );
}

/// Profile invariants of every IG package, on the examples that claim the profile.
#[test]
fn profile_invariants_on_claiming_examples() {
    let model: Arc<dyn ModelInfo> = r4_model();
    let opts = CompileOptions {
        model: Some(model.clone()),
        ..Default::default()
    };
    let mut profiles: HashMap<String, Vec<Invariant>> = HashMap::new();
    let mut examples = Vec::new();
    let mut pkgs: Vec<_> = std::fs::read_dir(shared_dir().join("fhir-packages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pkgs.sort();
    for pkg in pkgs
        .iter()
        .filter(|p| !p.to_string_lossy().contains("r4.core"))
    {
        for dir in [pkg.join("package"), pkg.join("package/example")] {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for p in rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
            {
                let bytes = std::fs::read(&p).unwrap();
                let Ok(v) = serde_json::from_slice::<J>(&bytes) else {
                    continue;
                };
                if v["resourceType"] == "StructureDefinition" && v["derivation"] == "constraint" {
                    let mut invs = Vec::new();
                    for el in v["snapshot"]["element"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or(&[])
                    {
                        let path = el["path"].as_str().unwrap_or("");
                        if path.contains("[x]") || path.starts_with("Extension") {
                            continue;
                        }
                        for c in el["constraint"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                        {
                            let (Some(key), Some(expr)) =
                                (c["key"].as_str(), c["expression"].as_str())
                            else {
                                continue;
                            };
                            let (Ok(pe), Ok(e)) = (compile(path, &opts), compile(expr, &opts))
                            else {
                                continue;
                            };
                            invs.push(Invariant {
                                key: key.to_string(),
                                path: pe,
                                check: e,
                            });
                        }
                    }
                    profiles.insert(v["url"].as_str().unwrap_or("").to_string(), invs);
                } else if v["meta"]["profile"].is_array() {
                    examples.push(p);
                }
            }
        }
    }
    let (mut evals, mut falses) = (0, 0);
    let mut errors = Vec::new();
    let mut false_keys: BTreeMap<String, usize> = BTreeMap::new();
    for p in &examples {
        let node = json::parse(&std::fs::read(p).unwrap()).unwrap();
        let claimed: Vec<String> = node
            .get("meta")
            .and_then(|m| m.get("profile"))
            .and_then(json::Node::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| {
                        x.as_str()
                            .map(|s| s.split('|').next().unwrap_or(s).to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let input = EvalInput::resource(&node);
        let env = Environment::default();
        for url in claimed {
            for inv in profiles.get(&url).map(Vec::as_slice).unwrap_or(&[]) {
                let Ok(targets) = inv.path.evaluate(&input, &env) else {
                    continue;
                };
                for t in targets {
                    evals += 1;
                    let i = EvalInput::with_focus(vec![t], Some(&node), Some(&node));
                    match inv.check.evaluate_bool(&i, &env) {
                        Ok(Some(false)) => {
                            falses += 1;
                            *false_keys.entry(inv.key.clone()).or_insert(0usize) += 1;
                        }
                        Ok(_) => {}
                        Err(e) => errors.push(format!("{} on {}: {}", inv.key, p.display(), e)),
                    }
                }
            }
        }
    }
    println!(
        "{} profiles, {} claiming examples, {evals} evaluations, {falses} false, {} errors",
        profiles.len(),
        examples.len(),
        errors.len()
    );
    for e in &errors {
        println!("  {e}");
    }
    for (k, n) in &false_keys {
        println!("{n:6}  false: {k}");
    }
    assert!(evals > 100);
    assert!(errors.is_empty(), "invariant evaluation errors (see above)");
    // ele-1 holds on every element of every published example.
    assert!(!false_keys.contains_key("ele-1"));
}
