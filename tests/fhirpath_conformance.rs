//! FHIRPath conformance: the official HL7 R4 suite and the R4-applicable
//! fhirpath.js cases, against checked-in expected-failure lists.
//!
//! Set `FHIRPATH_WRITE_EXPECTED=1` to rewrite the lists from the current
//! failures (then review the reasons by hand).

use serde_json::Value as J;
use shinny_engine::fhirpath::{
    compile, CompileOptions, Environment, EvalCache, EvalInput, Item, ModelInfo, TypeName,
};
use shinny_engine::json::{self, Node};
use shinny_suite::shared_dir;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The R4 core model, built once.
fn model() -> Arc<dyn ModelInfo> {
    shinny_suite::r4_model()
}

/// Outcome of one case: `Ok` passed, `Err(reason)` failed, `None` skipped.
type Outcome = Option<Result<(), String>>;

fn expected_list(name: &str) -> (PathBuf, BTreeMap<String, String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fhirpath-expected-failures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let map = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('\t') {
            Some((n, r)) => (n.to_string(), r.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    (path, map)
}

/// Compares outcomes with the expected-failure list; returns (passed, failed, skipped, problems).
fn reconcile(list: &str, results: &[(String, Outcome)]) -> (usize, usize, usize, Vec<String>) {
    let (path, expected) = expected_list(list);
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    let mut problems = Vec::new();
    let mut now_failing = Vec::new();
    for (name, out) in results {
        match out {
            None => skip += 1,
            Some(Ok(())) => {
                pass += 1;
                if expected.contains_key(name) {
                    problems.push(format!("{list}: {name} is listed as failing but passes"));
                }
            }
            Some(Err(why)) => {
                fail += 1;
                now_failing.push(format!("{name}\t{}", why.replace(['\n', '\t'], " ")));
                if !expected.contains_key(name) {
                    problems.push(format!("{list}: {name} fails: {why}"));
                }
            }
        }
    }
    if std::env::var_os("FHIRPATH_WRITE_EXPECTED").is_some() {
        // Keep the file's comment header.
        let header: String = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut body = if header.is_empty() {
            "# test name<TAB>reason (one per line); the harness fails if one of these passes\n"
                .to_string()
        } else {
            header
        };
        for l in &now_failing {
            let name = l.split('\t').next().unwrap();
            let reason = expected
                .get(name)
                .filter(|r| !r.is_empty())
                .cloned()
                .unwrap_or_else(|| l.split('\t').nth(1).unwrap_or("").to_string());
            body.push_str(&format!("{name}\t{reason}\n"));
        }
        std::fs::write(&path, body).unwrap();
    }
    (pass, fail, skip, problems)
}

fn load_json(path: &Path) -> Node {
    json::parse(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("input parses")
}

/// Renders an item as the official suite writes outputs: (type, value).
fn official_render(it: &Item<'_>) -> (String, String) {
    match it {
        Item::Node(n) => {
            let t = n.type_name.to_string();
            let v = match it.to_system() {
                Some(Item::Temporal(tm)) => {
                    format!("@{}{}", if t == "time" { "T" } else { "" }, tm.render())
                }
                Some(s) => s.to_display_string().unwrap_or_default(),
                None => n.node.map(|x| x.to_serde().to_string()).unwrap_or_default(),
            };
            (t, v)
        }
        Item::Boolean(b) => ("boolean".into(), b.to_string()),
        Item::String(s) => ("string".into(), s.clone()),
        Item::Integer(i) => ("integer".into(), i.to_string()),
        Item::Decimal(d) => ("decimal".into(), d.to_string()),
        Item::Temporal(t) => {
            use shinny_engine::fhirpath::datetime::TemporalKind::*;
            match t.kind {
                Date => ("date".into(), format!("@{}", t.render())),
                DateTime => ("dateTime".into(), format!("@{}", t.render())),
                Time => ("time".into(), format!("@T{}", t.render())),
            }
        }
        Item::Quantity(q) => ("Quantity".into(), q.render()),
        Item::Type(ns, n) => ("TypeInfo".into(), format!("{ns}.{n}")),
    }
}

fn same_value(t: &str, got: &str, want: &str) -> bool {
    if got == want {
        return true;
    }
    if t == "decimal" || t == "integer" {
        if let (Ok(a), Ok(b)) = (got.parse::<f64>(), want.parse::<f64>()) {
            return a == b;
        }
    }
    false
}

fn run_official() -> Vec<(String, Outcome)> {
    let base = shared_dir().join("conformance/fhirpath/hl7-official");
    let doc: J =
        serde_json::from_slice(&std::fs::read(base.join("tests-fhir-r4.json")).unwrap()).unwrap();
    let mut inputs: HashMap<String, Node> = HashMap::new();
    let mut out = Vec::new();
    for t in doc["tests"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        // The 23 `version="2.1.0"` tests (optional for R4) run too.

        let file = t
            .get("inputfile_json")
            .and_then(J::as_str)
            .filter(|s| !s.is_empty());
        if let Some(f) = file {
            inputs
                .entry(f.to_string())
                .or_insert_with(|| load_json(&base.join("input/json").join(f)));
        }
        let input = file.map(|f| &inputs[f]);
        let r = official_case(t, input);
        out.push((name, Some(r)));
    }
    out
}

fn official_case(t: &J, input: Option<&Node>) -> Result<(), String> {
    let expr = t["expression"].as_str().unwrap();
    let invalid = t.get("invalid").and_then(J::as_str);
    let opts = CompileOptions {
        model: Some(model()),
        context_type: input
            .and_then(|n| n.get("resourceType"))
            .and_then(Node::as_str)
            .map(str::to_string),
        strict: t.get("mode").and_then(J::as_str) == Some("strict"),
        strict_singletons: true,
        ..Default::default()
    };
    let inp = input.map(EvalInput::resource).unwrap_or_default();
    let env = Environment::default();
    let compiled = compile(expr, &opts);
    let result = compiled
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|e| e.evaluate(&inp, &env));
    if let Ok(e) = &compiled {
        // Through a shared cache, cold and then warm, the result is the same.
        let cache = EvalCache::default();
        for pass in ["cold", "warm"] {
            let shared = e.evaluate_shared(&inp, &env, Some(&cache));
            if format!("{shared:?}") != format!("{result:?}") {
                return Err(format!(
                    "{pass} shared cache gave {shared:?}, alone {result:?}"
                ));
            }
        }
    }
    let items = match (result, invalid) {
        (Err(_), Some(_)) => return Ok(()),
        (Ok(v), Some(k)) => return Err(format!("expected a {k} error, got {} items", v.len())),
        (Err(e), None) => return Err(format!("error: {e}")),
        (Ok(v), None) => v,
    };
    let mut got: Vec<(String, String)> = items.iter().map(official_render).collect();
    if t.get("predicate").and_then(J::as_str) == Some("true") {
        got = vec![("boolean".into(), (!items.is_empty()).to_string())];
    }
    let want: Vec<(String, String)> = t["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["type"].as_str().unwrap_or("").to_string(),
                o["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let matches = |g: &(String, String), w: &(String, String)| {
        (w.0.is_empty() || g.0 == w.0) && same_value(&w.0, &g.1, &w.1)
    };
    let ok = if t.get("ordered").and_then(J::as_str) == Some("false") {
        let mut used = vec![false; want.len()];
        got.len() == want.len()
            && got.iter().all(|g| {
                let i = want
                    .iter()
                    .enumerate()
                    .position(|(i, w)| !used[i] && matches(g, w));
                i.map(|i| used[i] = true).is_some()
            })
    } else {
        got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| matches(g, w))
    };
    if ok {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}"))
    }
}

// ---------------------------------------------------------------- fhirpath.js

fn yaml_to_json(v: &serde_yaml::Value) -> J {
    serde_json::to_value(v).unwrap_or(J::Null)
}

/// An item in fhirpath.js `toJSON` form.
fn js_render(it: &Item<'_>) -> J {
    match it.to_system() {
        Some(Item::Boolean(b)) => J::Bool(b),
        Some(Item::String(s)) => J::String(s),
        Some(Item::Integer(i)) => J::from(i),
        Some(Item::Decimal(d)) => serde_json::from_str(&d.to_string()).unwrap_or(J::Null),
        Some(Item::Temporal(t)) => J::String(t.render()),
        Some(Item::Quantity(q)) if matches!(it, Item::Quantity(_)) => J::String(q.render()),
        _ if matches!(it, Item::Type(..)) => match it {
            Item::Type(ns, name) => serde_json::json!({"namespace": ns, "name": name}),
            _ => J::Null,
        },
        _ => it.json().map(Node::to_serde).unwrap_or(J::Null),
    }
}

fn js_equal(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9,
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| js_equal(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| js_equal(v, w)))
        }
        (J::String(x), J::String(y)) => {
            x == y || x.trim_start_matches('@') == y.trim_start_matches('@')
        }
        _ => a == b,
    }
}

/// fhirpath.js extensions beyond FHIRPath N1 / FHIR R4 (`%factory`, Long
/// literals, the Long type, defineVariable): counted as skipped.
fn uses_non_r4_feature(expr: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"%factory|\b\d+L\b|\b(toLong|convertsToLong|defineVariable)\(").unwrap()
    });
    re.is_match(expr)
}

struct JsCtx<'s> {
    file: String,
    subject: Option<&'s serde_yaml::Value>,
    out: Vec<(String, Outcome)>,
    seen: HashMap<String, usize>,
}

fn walk_js(ctx: &mut JsCtx<'_>, items: &[serde_yaml::Value], group: &str, disabled: bool) {
    for it in items {
        let Some(map) = it.as_mapping() else { continue };
        if let Some((k, v)) = map
            .iter()
            .find(|(k, _)| k.as_str().is_some_and(|k| k.starts_with("group")))
        {
            let g = k.as_str().unwrap().trim_start_matches("group:").trim();
            let dis =
                disabled || map.get("disable").and_then(serde_yaml::Value::as_bool) == Some(true);
            if let Some(list) = v.as_sequence() {
                walk_js(ctx, list, &format!("{group}/{g}"), dis);
            }
            continue;
        }
        let Some(expr) = map.get("expression") else {
            continue;
        };
        let desc = map
            .get("desc")
            .and_then(|d| d.as_str())
            .unwrap_or("")
            .to_string();
        let exprs: Vec<String> = match expr {
            serde_yaml::Value::Sequence(s) => s
                .iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect(),
            e => e.as_str().map(str::to_string).into_iter().collect(),
        };
        for e in exprs {
            let base = format!("{}{}::{}::{}", ctx.file, group, desc, e).replace(['\n', '\t'], " ");
            let n = ctx.seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let name = if *n > 1 { format!("{base}#{n}") } else { base };
            let model_name = map.get("model").and_then(|m| m.as_str());
            let skip = disabled
                || uses_non_r4_feature(&e)
                || map.get("disable").and_then(serde_yaml::Value::as_bool) == Some(true)
                || matches!(model_name, Some("r5" | "stu3" | "dstu2"));
            if skip {
                ctx.out.push((name, None));
                continue;
            }
            let r = js_case(ctx.subject, map, &e);
            ctx.out.push((name, Some(r)));
        }
    }
}

fn js_case(
    subject: Option<&serde_yaml::Value>,
    t: &serde_yaml::Mapping,
    expr: &str,
) -> Result<(), String> {
    let model_name = t.get("model").and_then(|m| m.as_str());
    let input: Option<Node> = match t.get("inputfile").and_then(|f| f.as_str()) {
        Some(f) => Some(load_json(
            &shared_dir()
                .join("conformance/fhirpath/fhirpath-js/resources")
                .join(model_name.unwrap_or("r4"))
                .join(f),
        )),
        None => t
            .get("subject")
            .or(subject)
            .map(|s| Node::from_serde(&yaml_to_json(s))),
    };
    // `error: true` or `error: [true]`
    let want_error = match t.get("error") {
        Some(serde_yaml::Value::Bool(b)) => *b,
        Some(serde_yaml::Value::Sequence(v)) => v.iter().any(|e| e.as_bool() == Some(true)),
        _ => false,
    };
    let opts = CompileOptions {
        model: model_name.map(|_| model()),
        context_type: None,
        strict: false,
        strict_singletons: true,
        ..Default::default()
    };
    let var_nodes: Vec<(String, Node)> = t
        .get("variables")
        .and_then(|v| v.as_mapping())
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().unwrap_or("").to_string(),
                        Node::from_serde(&yaml_to_json(v)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let result = (|| {
        let mut env = Environment::default();
        for (k, v) in &var_nodes {
            let values: Vec<&Node> = match &v.value {
                json::Value::Array(a) => a.iter().collect(),
                _ => vec![v],
            };
            let items = values
                .into_iter()
                .filter_map(|v| {
                    Some(match &v.value {
                        json::Value::Null => return None,
                        json::Value::Bool(b) => Item::Boolean(*b),
                        json::Value::String(s) => Item::String(s.to_string()),
                        json::Value::Number(n) if !n.contains('.') => {
                            Item::Integer(n.parse().unwrap_or(0))
                        }
                        json::Value::Number(n) => {
                            Item::Decimal(shinny_engine::fhirpath::decimal::Decimal::parse(n)?)
                        }
                        _ => Item::node(
                            v,
                            TypeName::from(
                                v.get("resourceType").and_then(Node::as_str).unwrap_or(""),
                            ),
                        ),
                    })
                })
                .collect();
            env.variables.insert(k.clone(), items);
        }
        let mut inp = input.as_ref().map(EvalInput::resource).unwrap_or_default();
        if let Some(c) = t.get("context").and_then(|c| c.as_str()) {
            let ce = compile(c, &opts)?;
            let focus = ce.evaluate(&inp, &env)?;
            inp.context = Some(focus.clone());
            inp.focus = focus;
        }
        let e = compile(expr, &opts)?;
        e.evaluate(&inp, &env)
            // fhirpath.js leaves primitives without a value out of its JSON output.
            .map(|v| {
                v.iter()
                    .map(js_render)
                    .filter(|j| !j.is_null())
                    .collect::<Vec<_>>()
            })
    })();
    match (result, want_error) {
        (Err(_), true) => Ok(()),
        (Ok(v), true) => Err(format!("expected an error, got {v:?}")),
        (Err(e), false) => Err(format!("error: {e}")),
        (Ok(got), false) => {
            let want = t
                .get("result")
                .map(yaml_to_json)
                .unwrap_or(J::Array(vec![]));
            let got = J::Array(got);
            if js_equal(&got, &want) {
                Ok(())
            } else {
                Err(format!("got {got}, want {want}"))
            }
        }
    }
}

fn run_fhirpath_js() -> Vec<(String, Outcome)> {
    let dir = shared_dir().join("conformance/fhirpath/fhirpath-js/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut all = Vec::new();
    for f in files {
        let fname = f.file_name().unwrap().to_string_lossy().to_string();
        if fname == "fhir-r5.yaml" {
            continue;
        }
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let mut ctx = JsCtx {
            file: fname,
            subject: doc.get("subject"),
            out: Vec::new(),
            seen: HashMap::new(),
        };
        if let Some(tests) = doc.get("tests").and_then(|t| t.as_sequence()) {
            walk_js(&mut ctx, tests, "", false);
        }
        all.extend(ctx.out);
    }
    all
}

#[test]
fn fhirpath_conformance() {
    let official = run_official();
    let js = run_fhirpath_js();
    let (p1, f1, s1, mut problems) = reconcile("hl7-official.txt", &official);
    let (p2, f2, s2, pr2) = reconcile("fhirpath-js.txt", &js);
    problems.extend(pr2);
    let rate = |p: usize, f: usize| 100.0 * p as f64 / (p + f).max(1) as f64;
    println!(
        "hl7-official: {p1} passed, {f1} failed, {s1} skipped ({:.1}% of run)",
        rate(p1, f1)
    );
    let ext = js
        .iter()
        .filter(|(n, o)| o.is_none() && uses_non_r4_feature(n))
        .count();
    println!(
        "fhirpath-js: {p2} passed, {f2} failed, {s2} skipped ({:.1}% of run; {ext} skips use fhirpath.js extensions beyond N1/R4, the rest are disabled or r5/stu3/dstu2)",
        rate(p2, f2)
    );
    for p in problems.iter().take(400) {
        println!("{p}");
    }
    println!(
        "{} passed, {} failed, {} skipped",
        p1 + p2,
        f1 + f2,
        s1 + s2
    );
    assert!(
        problems.is_empty(),
        "{} unexpected results (see above)",
        problems.len()
    );
}
