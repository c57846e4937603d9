use super::*;
use crate::fhirpath::{
    compile, CompileOptions, Environment, EvalInput, Item, ModelInfo, NodeItem, SnapshotModel,
    TypeName,
};
use std::sync::{Arc, OnceLock};

const CORE: &str = "../../shared/fhir-packages/hl7.fhir.r4.core#4.0.1/package";

/// The R4 core type model, for evaluating the expressions as validation does.
fn model() -> Arc<dyn ModelInfo> {
    static MODEL: OnceLock<Arc<SnapshotModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let defs: Vec<serde_json::Value> = std::fs::read_dir(CORE)
                .expect("core package")
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    n.starts_with("StructureDefinition-") && n.ends_with(".json")
                })
                .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
                .collect();
            let m = SnapshotModel::from_structure_definitions(&defs);
            m.prepare();
            Arc::new(m)
        })
        .clone()
}

/// The input of an invariant on `focus` (typed `t`) in resource `root`.
fn input_on<'a>(focus: &'a Node, t: TypeName, root: &'a Node) -> EvalInput<'a> {
    EvalInput::with_focus(
        vec![Item::Node(NodeItem {
            node: Some(focus),
            ext: None,
            type_name: t,
        })],
        Some(root),
        Some(root),
    )
}

/// `(key, expression)` of every constraint of a core definition.
fn core_constraints(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{CORE}/{file}")).expect("core package");
    let sd: serde_json::Value = serde_json::from_str(&text).unwrap();
    sd["snapshot"]["element"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["constraint"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            (
                c["key"].as_str().unwrap_or("").to_string(),
                c["expression"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn simple_natives() {
    let p = |s: &str| crate::json::parse(s.as_bytes()).unwrap();
    assert!(ele_1(Some(&p("\"x\"")), None));
    assert!(!ele_1(Some(&p("{\"id\": \"a\"}")), None));
    assert!(ele_1(Some(&p("{\"id\": \"a\", \"text\": \"t\"}")), None));
    assert!(!ele_1(None, Some(&p("{\"id\": \"a\"}"))));
    assert!(ext_1(&p("{\"url\": \"u\", \"valueString\": \"x\"}")));
    assert!(!ext_1(&p("{\"url\": \"u\"}")));
    assert!(!ext_1(&p(
        "{\"url\": \"u\", \"valueString\": \"x\", \"extension\": []}"
    )));
    assert_eq!(ref_1(&p("{\"reference\": \"Patient/1\"}")), Some(true));
    assert_eq!(ref_1(&p("{\"reference\": \"#c1\"}")), None);
    assert_eq!(ref_1(&p("{\"display\": \"x\"}")), None);
}

/// The natives are chosen by expression text: the texts here must be
/// those of the R4 core definitions, or the natives never run.
#[test]
fn native_texts_are_the_core_definitions() {
    let has = |file: &str, key: &str, src: &str, want: Native| {
        assert!(
            core_constraints(file)
                .iter()
                .any(|(k, e)| k == key && e == src),
            "{key}"
        );
        assert_eq!(native_for(key, src), Some(want), "{key}");
    };
    for (key, src) in ["dom-2", "dom-3", "dom-4", "dom-5"]
        .iter()
        .zip(DOM_CONTAINED)
    {
        has(
            "StructureDefinition-DomainResource.json",
            key,
            src,
            Native::NoContained,
        );
    }
    has(
        "StructureDefinition-Reference.json",
        "ref-1",
        REF_1,
        Native::Ref1,
    );
    has(
        "StructureDefinition-Element.json",
        "ele-1",
        ELE_1,
        Native::Ele1,
    );
    has(
        "StructureDefinition-Extension.json",
        "ext-1",
        EXT_1,
        Native::Ext1,
    );
    has(
        "StructureDefinition-Observation.json",
        "obs-6",
        OBS_6,
        Native::Obs6,
    );
    has(
        "StructureDefinition-Observation.json",
        "obs-7",
        OBS_7,
        Native::Obs7,
    );
    let bundle = "StructureDefinition-Bundle.json";
    for (key, src, n) in [
        ("bdl-1", BDL_1, Native::Bdl1),
        ("bdl-2", BDL_2, Native::Bdl2),
        ("bdl-3", BDL_3, Native::Bdl3),
        ("bdl-4", BDL_4, Native::Bdl4),
        ("bdl-5", BDL_5, Native::Bdl5),
        ("bdl-7", BDL_7, Native::Bdl7),
        ("bdl-8", BDL_8, Native::Bdl8),
        ("bdl-9", BDL_9, Native::IfDocument),
        ("bdl-10", BDL_10, Native::IfDocument),
        ("bdl-11", BDL_11, Native::IfDocument),
        ("bdl-12", BDL_12, Native::IfMessage),
    ] {
        has(bundle, key, src, n);
    }
    // Every Bundle constraint of R4 has a native.
    for (key, src) in core_constraints(bundle) {
        if key.starts_with("bdl-") {
            assert!(native_for(&key, &src).is_some(), "{key}");
        }
    }
}

/// dom-2 to dom-5 hold on a resource without contained resources, as
/// their expressions say; with contained resources they are evaluated.
#[test]
fn dom_natives_agree_with_the_expressions() {
    let bare = crate::json::parse(
        br##"{"resourceType": "Observation", "id": "o", "meta": {"versionId": "1"}, "subject": {"reference": "#p"}}"##,
    )
    .unwrap();
    let with = crate::json::parse(
        br#"{"resourceType": "Observation", "contained": [{"resourceType": "Patient", "id": "p"}]}"#,
    )
    .unwrap();
    assert_eq!(no_contained(&with), None);
    for src in DOM_CONTAINED {
        let e = compile(src, &CompileOptions::default()).unwrap();
        let input = input_on(&bare, TypeName::from("Observation"), &bare);
        let full = e.evaluate_bool(&input, &Environment::default()).unwrap();
        assert_eq!(no_contained(&bare), full, "{src}");
    }
}

/// ref-1's native gives what its expression gives.
#[test]
fn ref_1_native_agrees_with_the_expression() {
    let e = compile(REF_1, &CompileOptions::default()).unwrap();
    let root = crate::json::parse(
        br##"{"resourceType": "Observation", "contained": [{"resourceType": "Patient", "id": "c1"}],
             "subject": {"reference": "Patient/1"}, "performer": [{"reference": "#c1"}, {"reference": "#zz"}, {"reference": "http://x/Patient/2"}]}"##,
    )
    .unwrap();
    let mut refs: Vec<&Node> = vec![root.get("subject").unwrap()];
    refs.extend(root.get("performer").unwrap().as_array().unwrap());
    for r in refs {
        let input = input_on(r, TypeName::from("Reference"), &root);
        let full = e.evaluate_bool(&input, &Environment::default()).unwrap();
        if let Some(native) = ref_1(r) {
            assert_eq!(Some(native), full, "{:?}", r.get("reference"));
        }
    }
}

/// Bundles that vary what the Bundle rules read: type, total, and entries
/// with and without request, response, search, fullUrl (repeated, with
/// `/_history/`) and versionId, plus odd shapes the natives leave alone.
fn synthetic_bundles() -> Vec<String> {
    use serde_json::json;
    let types = [
        None,
        Some("batch"),
        Some("transaction"),
        Some("history"),
        Some("document"),
        Some("message"),
        Some("searchset"),
        Some("collection"),
        Some("batch-response"),
        Some("transaction-response"),
    ];
    let entry = |i: usize, shape: usize| {
        let mut e = serde_json::Map::new();
        if shape & 1 != 0 {
            e.insert(
                "request".into(),
                json!({"method": "POST", "url": "Patient"}),
            );
        }
        if shape & 2 != 0 {
            e.insert("response".into(), json!({"status": "201"}));
        }
        if shape & 4 != 0 {
            e.insert("search".into(), json!({"mode": "match"}));
        }
        match shape / 8 % 4 {
            0 => {}
            1 => {
                e.insert("fullUrl".into(), json!(format!("urn:uuid:{i}")));
            }
            2 => {
                e.insert("fullUrl".into(), json!("http://x/Patient/1"));
            }
            _ => {
                e.insert("fullUrl".into(), json!("http://x/Patient/1/_history/2"));
            }
        }
        match shape / 32 % 3 {
            0 => {}
            1 => {
                e.insert(
                    "resource".into(),
                    json!({"resourceType": "Patient", "meta": {"versionId": "1"}}),
                );
            }
            _ => {
                e.insert("resource".into(), json!({"resourceType": "Composition"}));
            }
        }
        serde_json::Value::Object(e)
    };
    let mut out = Vec::new();
    for (ti, ty) in types.iter().enumerate() {
        for seed in 0..24usize {
            let n = seed % 5;
            let entries: Vec<serde_json::Value> = (0..n)
                .map(|i| entry(i, (seed * 7 + i * 13 + ti) % 96))
                .collect();
            let mut b = json!({"resourceType": "Bundle"});
            if let Some(t) = ty {
                b["type"] = json!(t);
            }
            if seed % 3 == 0 {
                b["total"] = json!(n);
            }
            if n > 0 || seed % 2 == 0 {
                b["entry"] = json!(entries);
            }
            out.push(b.to_string());
        }
    }
    // Odd shapes.
    out.extend(
        [
            r#"{"resourceType": "Bundle", "type": "batch", "_type": {"id": "t"}, "entry": [{"request": {}}]}"#,
            r#"{"resourceType": "Bundle", "type": "batch", "entry": [null, {"request": {}}]}"#,
            r#"{"resourceType": "Bundle", "type": "batch", "entry": [{"request": [{}]}]}"#,
            r#"{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "a", "_fullUrl": {"id": "x"}}]}"#,
            r#"{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "ab"}, {"fullUrl": "a", "resource": {"resourceType": "Patient", "meta": {"versionId": "b"}}}]}"#,
            r#"{"resourceType": "Bundle", "entry": [{"fullUrl": "a"}, {"fullUrl": "a"}]}"#,
            r#"{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "http://x/_history"}]}"#,
            r#"{"resourceType": "Bundle", "type": 3, "entry": [{"fullUrl": "a"}]}"#,
            r#"{"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Composition"}}]}"#,
        ]
        .map(String::from),
    );
    out
}

/// Every Bundle native agrees with its expression wherever it answers, on
/// the R4 and SHIN-NY example Bundles and on synthetic ones: false exactly
/// when the expression is false, true when it is true or empty; no answer
/// where the expression fails to evaluate.
#[test]
fn bundle_natives_agree_with_the_expressions() {
    let model = model();
    let compile_at = |src: &str, context: &str| {
        compile(
            src,
            &CompileOptions {
                model: Some(model.clone()),
                context_type: Some(context.into()),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let on_bundle = [
        (BDL_1, Native::Bdl1),
        (BDL_2, Native::Bdl2),
        (BDL_3, Native::Bdl3),
        (BDL_4, Native::Bdl4),
        (BDL_7, Native::Bdl7),
        (BDL_9, Native::IfDocument),
        (BDL_10, Native::IfDocument),
        (BDL_11, Native::IfDocument),
        (BDL_12, Native::IfMessage),
    ]
    .map(|(src, n)| (src, n, compile_at(src, "Bundle")));
    let on_entry = [(BDL_5, Native::Bdl5), (BDL_8, Native::Bdl8)]
        .map(|(src, n)| (src, n, compile_at(src, "Bundle.entry")));

    let mut texts = synthetic_bundles();
    for dir in [
        "../../shared/corpus/r4-examples",
        "../../shared/fhir-packages/us.ny.hrsn#1.9.4/package/example",
    ] {
        for p in std::fs::read_dir(dir).expect("examples") {
            let p = p.unwrap().path();
            if p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("Bundle-")
            {
                texts.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    let mut answered = std::collections::HashMap::<&str, (usize, usize)>::new();
    let mut compare = |src: &'static str,
                       n: Native,
                       e: &crate::fhirpath::Expression,
                       focus: &Node,
                       t: &str,
                       bundle: &Node,
                       text: &str| {
        let input = input_on(
            focus,
            model.type_name(t).unwrap_or_else(|| TypeName::from(t)),
            bundle,
        );
        let full = e.evaluate_bool(&input, &Environment::default());
        let native = check(n, Some(focus), None, || Some(bundle));
        let counts = answered.entry(src).or_default();
        if let Some(v) = native {
            counts.0 += 1;
            counts.1 += usize::from(!v);
            let fails = matches!(full, Ok(Some(false)));
            assert!(full.is_ok(), "{src}: native {v}, expression {full:?}");
            assert_eq!(!v, fails, "{src} on {}", &text[..text.len().min(300)]);
        }
    };
    for text in &texts {
        let b = crate::json::parse(text.as_bytes()).unwrap();
        for (src, n, e) in &on_bundle {
            compare(src, *n, e, &b, "Bundle", &b, text);
        }
        for entry in b.get("entry").and_then(Node::as_array).unwrap_or(&[]) {
            if entry.as_object().is_some() {
                for (src, n, e) in &on_entry {
                    compare(src, *n, e, entry, "Bundle.entry", &b, text);
                }
            }
        }
    }
    // Each native answered often, and said false sometimes (bdl-1, bdl-2
    // and the `implies` rules only ever answer true).
    for (src, _, _) in on_bundle.iter().chain(&on_entry) {
        let (n, fails) = answered.get(src).copied().unwrap_or_default();
        assert!(n >= 50, "{src}: {n} answers");
        if [BDL_3, BDL_4, BDL_5, BDL_7, BDL_8].contains(src) {
            assert!(fails > 0, "{src}: never false");
        }
    }
    // A Bundle that is not its own %resource is left to the expression.
    let outer = crate::json::parse(br#"{"resourceType": "Bundle", "type": "batch"}"#).unwrap();
    let inner = crate::json::parse(br#"{"resourceType": "Bundle", "type": "batch"}"#).unwrap();
    assert_eq!(
        check(Native::Bdl3, Some(&inner), None, || Some(&outer)),
        None
    );
}

/// dom-6's native gives what its expression gives, where it answers.
#[test]
fn dom_6_native_agrees_with_the_expression() {
    let e = compile(DOM_6, &CompileOptions::default()).unwrap();
    let mut answered = 0;
    for (text, native) in [
        (r#"{"resourceType": "Patient"}"#, Some(false)),
        (
            r#"{"resourceType": "Patient", "text": {"status": "generated"}}"#,
            Some(false),
        ),
        (
            r#"{"resourceType": "Patient", "text": {"div": "<div>x</div>"}}"#,
            Some(true),
        ),
        (
            r#"{"resourceType": "Patient", "text": {"div": null}}"#,
            None,
        ),
        (
            r#"{"resourceType": "Patient", "text": {"_div": {"id": "d"}}}"#,
            None,
        ),
        (r#"{"resourceType": "Patient", "_text": {"id": "t"}}"#, None),
        (r#"{"resourceType": "Patient", "text": "x"}"#, None),
    ] {
        let r = crate::json::parse(text.as_bytes()).unwrap();
        assert_eq!(
            check(Native::Dom6, Some(&r), None, || Some(&r)),
            native,
            "{text}"
        );
        let input = input_on(&r, TypeName::from("Patient"), &r);
        let full = e.evaluate_bool(&input, &Environment::default()).unwrap();
        if let Some(v) = native {
            answered += 1;
            assert_eq!(Some(v), full, "{text}");
        }
    }
    assert_eq!(answered, 3);
}

/// obs-6 and obs-7's natives give what their expressions give, on every
/// Observation of the R4 and SHIN-NY examples (Bundle entries included)
/// and on shapes made to have both sides, one side, or odd members.
#[test]
fn observation_natives_agree_with_the_expressions() {
    let model = model();
    let rules = [(OBS_6, Native::Obs6), (OBS_7, Native::Obs7)].map(|(src, n)| {
        let e = compile(
            src,
            &CompileOptions {
                model: Some(model.clone()),
                context_type: Some("Observation".into()),
                ..Default::default()
            },
        )
        .unwrap();
        (src, n, e)
    });
    let mut texts: Vec<String> = [
        r#"{"resourceType": "Observation", "valueString": "x"}"#,
        r#"{"resourceType": "Observation", "dataAbsentReason": {"text": "t"}}"#,
        r#"{"resourceType": "Observation", "valueString": "x", "dataAbsentReason": {"text": "t"}}"#,
        r#"{"resourceType": "Observation", "_valueString": {"id": "v"}, "dataAbsentReason": {"text": "t"}}"#,
        r#"{"resourceType": "Observation", "valueString": "x", "_dataAbsentReason": {"id": "d"}}"#,
        r#"{"resourceType": "Observation", "valueQuantity": {"value": 1}, "code": {"coding": [{"code": "a"}]}, "component": [{"code": {"coding": [{"code": "a"}]}}]}"#,
        r#"{"resourceType": "Observation", "valueQuantity": {"value": 1}, "code": {"coding": [{"code": "a"}]}, "component": [{"code": {"coding": [{"code": "b"}]}}]}"#,
        r#"{"resourceType": "Observation", "code": {"coding": [{"code": "a"}]}, "component": [{"code": {"coding": [{"code": "a"}]}}]}"#,
        r#"{"resourceType": "Observation", "component": []}"#,
    ]
    .map(String::from)
    .to_vec();
    for dir in [
        "../../shared/corpus/r4-examples",
        "../../shared/fhir-packages/us.ny.hrsn#1.9.4/package/example",
    ] {
        for p in std::fs::read_dir(dir).expect("examples") {
            let p = p.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("Bundle-") || name.starts_with("Observation-") {
                texts.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    let mut answers = [(0usize, 0usize); 2];
    let t = model.type_name("Observation").unwrap();
    for text in &texts {
        let root = crate::json::parse(text.as_bytes()).unwrap();
        let mut observations = vec![&root];
        for entry in root.get("entry").and_then(Node::as_array).unwrap_or(&[]) {
            observations.extend(entry.get("resource"));
        }
        for o in observations {
            if o.get("resourceType").and_then(Node::as_str) != Some("Observation") {
                continue;
            }
            for (i, (src, n, e)) in rules.iter().enumerate() {
                let input = input_on(o, t.clone(), o);
                let full = e.evaluate_bool(&input, &Environment::default()).unwrap();
                match check(*n, Some(o), None, || Some(o)) {
                    Some(v) => {
                        answers[i].0 += 1;
                        assert_eq!(Some(v), full, "{src} on {}", &text[..text.len().min(300)]);
                    }
                    None => answers[i].1 += 1,
                }
            }
        }
    }
    // Most Observations are answered natively; those with both sides are
    // left to the expression (the synthetic ones above at least).
    for (answered, left) in answers {
        assert!(
            answered >= 100 && left >= 2,
            "{answered} answered, {left} left"
        );
    }
}
