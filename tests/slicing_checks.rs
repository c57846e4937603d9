//! Slicing features that the published packages do not exercise: reslicing,
//! the `@default` slice, and `extension('url')` discriminator paths; and
//! the `extension` kind of extension context. The
//! test profiles are built from the R4 Patient snapshot, so that they have
//! real, complete snapshots.

use serde_json::{json, Value};
use shinny_engine::{Context, Severity, ValidationOptions};
use std::sync::OnceLock;

const PROFILE: &str = "http://example.org/StructureDefinition/sliced-patient";
const SYS_A: &str = "http://example.org/ids/a";
const SYS_B: &str = "http://example.org/ids/b";
const EXT: &str = "http://example.org/StructureDefinition/flag";
const PARENT: &str = "http://example.org/StructureDefinition/parent";
const CHILD: &str = "http://example.org/StructureDefinition/child";

/// The R4 Patient snapshot's elements.
fn patient_elements() -> Vec<Value> {
    let f = shinny_suite::package_cache()
        .join("hl7.fhir.r4.core#4.0.1/package/StructureDefinition-Patient.json");
    let sd: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
    sd["snapshot"]["element"].as_array().unwrap().clone()
}

/// A slice (or reslice) of `base`: the slice element (a copy of the base
/// element) and one child element per fixed value.
fn slice(base: &Value, name: &str, card: (u32, &str), fixed: &[(&str, &str, Value)]) -> Vec<Value> {
    let base_id = base["id"].as_str().unwrap();
    let mut head = base.clone();
    head["id"] = json!(format!("{base_id}:{name}"));
    head["sliceName"] = json!(name);
    head["min"] = json!(card.0);
    head["max"] = json!(card.1);
    head.as_object_mut().unwrap().remove("slicing");
    let mut out = vec![head];
    for (child, ty, v) in fixed {
        let mut c = json!({
            "id": format!("{base_id}:{name}.{child}"),
            "path": format!("{}.{child}", base["path"].as_str().unwrap()),
            "min": 1, "max": "1", "type": [{"code": ty}]
        });
        let key = format!("fixed{}{}", ty[..1].to_uppercase(), &ty[1..]);
        c[key] = v.clone();
        out.push(c);
    }
    out
}

/// Patient.telecom slice `name` whose `extension:flag` (EXT) has the
/// cardinality `flag`.
fn telecom_slice(base: &Value, name: &str, max: &str, flag: (u32, &str)) -> Vec<Value> {
    let mut out = slice(base, name, (0, max), &[]);
    out.push(json!({
        "id": format!("Patient.telecom:{name}.extension"), "path": "Patient.telecom.extension",
        "min": 0, "max": "*", "type": [{"code": "Extension"}],
        "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}
    }));
    out.push(json!({
        "id": format!("Patient.telecom:{name}.extension:flag"), "path": "Patient.telecom.extension",
        "sliceName": "flag", "min": flag.0, "max": flag.1,
        "type": [{"code": "Extension", "profile": [EXT]}]
    }));
    out
}

/// Patient.identifier sliced closed by system: slice `a` (1..*, resliced by
/// use into `a/official` 1..1 and `a/old` 0..1, closed) and `@default`
/// (0..1). Patient.telecom sliced by `exists:extension('EXT')`: slice
/// `flagged` (0..1) requires the extension, `plain` forbids it.
/// Patient.name sliced by use, ordered and openAtEnd: `official`, `usual`,
/// and two slices that both take `nickname` (an ambiguous profile).
fn profile() -> Value {
    let mut els = Vec::new();
    for e in patient_elements() {
        let id = e["id"].as_str().unwrap().to_string();
        if id == "Patient.identifier" {
            let mut head = e.clone();
            head["slicing"] =
                json!({"discriminator": [{"type": "value", "path": "system"}], "rules": "closed"});
            els.push(head);
            let sys_a = ("system", "uri", json!(SYS_A));
            let mut a = slice(&e, "a", (1, "*"), std::slice::from_ref(&sys_a));
            a[0]["slicing"] =
                json!({"discriminator": [{"type": "value", "path": "use"}], "rules": "closed"});
            els.extend(a);
            for u in ["official", "old"] {
                let max = if u == "official" { (1, "1") } else { (0, "1") };
                els.extend(slice(
                    &e,
                    &format!("a/{u}"),
                    max,
                    &[sys_a.clone(), ("use", "code", json!(u))],
                ));
            }
            els.extend(slice(&e, "@default", (0, "1"), &[]));
        } else if id == "Patient.name" {
            let mut head = e.clone();
            head["slicing"] = json!({"discriminator": [{"type": "value", "path": "use"}],
                                     "ordered": true, "rules": "openAtEnd"});
            els.push(head);
            for (name, use_) in [
                ("official", "official"),
                ("usual", "usual"),
                ("nick1", "nickname"),
                ("nick2", "nickname"),
            ] {
                els.extend(slice(&e, name, (0, "*"), &[("use", "code", json!(use_))]));
            }
        } else if id == "Patient.telecom" {
            let mut head = e.clone();
            head["slicing"] = json!({"discriminator": [{"type": "exists", "path": format!("extension('{EXT}')")}], "rules": "open"});
            els.push(head);
            els.extend(telecom_slice(&e, "flagged", "1", (1, "1")));
            els.extend(telecom_slice(&e, "plain", "*", (0, "0")));
        } else {
            els.push(e);
        }
    }
    json!({
        "resourceType": "StructureDefinition", "url": PROFILE, "name": "SlicedPatient",
        "status": "active", "kind": "resource", "abstract": false, "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "derivation": "constraint", "snapshot": {"element": els}
    })
}

/// An R4 extension definition renamed to `url`, with `context`.
fn extension_definition_from(file: &str, url: &str, context: Value) -> Value {
    let f = shinny_suite::package_cache().join(format!("hl7.fhir.r4.core#4.0.1/package/{file}"));
    let mut sd: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
    sd["url"] = json!(url);
    sd["id"] = json!(url.rsplit('/').next().unwrap());
    sd["context"] = context;
    for e in sd["snapshot"]["element"].as_array_mut().unwrap() {
        if e["id"] == "Extension.url" {
            e["fixedUri"] = json!(url);
        }
    }
    sd
}

fn extension_definition() -> Value {
    extension_definition_from(
        "StructureDefinition-patient-interpreterRequired.json",
        EXT,
        json!([{"type": "element", "expression": "Element"}]),
    )
}

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut b = shinny_suite::builder_from_folders(&["hl7.fhir.r4.core#4.0.1"]);
        b.add_definitions(
            "test",
            vec![
                ("p.json".into(), serde_json::to_vec(&profile()).unwrap()),
                (
                    "x.json".into(),
                    serde_json::to_vec(&extension_definition()).unwrap(),
                ),
                (
                    "parent.json".into(),
                    serde_json::to_vec(&extension_definition_from(
                        "StructureDefinition-patient-nationality.json",
                        PARENT,
                        json!([{"type": "element", "expression": "Patient"}]),
                    ))
                    .unwrap(),
                ),
                (
                    "child.json".into(),
                    serde_json::to_vec(&extension_definition_from(
                        "StructureDefinition-patient-interpreterRequired.json",
                        CHILD,
                        json!([{"type": "extension", "expression": PARENT}]),
                    ))
                    .unwrap(),
                ),
            ],
        );
        let ctx = b.build();
        assert!(ctx.structure_by_url(PROFILE).is_some());
        ctx
    })
}

fn patient(identifiers: Value, telecom: Value) -> Value {
    json!({"resourceType": "Patient", "meta": {"profile": [PROFILE]},
           "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
           "identifier": identifiers, "telecom": telecom})
    .as_object()
    .unwrap()
    .iter()
    .filter(|(_, v)| !v.is_null())
    .map(|(k, v)| (k.clone(), v.clone()))
    .collect()
}

fn id(system: &str, use_: &str, value: &str) -> Value {
    json!({"system": system, "use": use_, "value": value})
}

fn errors(v: &Value) -> Vec<(String, String)> {
    let text = serde_json::to_vec(v).unwrap();
    ctx()
        .validate_bytes(&text, &ValidationOptions::default())
        .issues
        .into_iter()
        .filter(|i| i.severity >= Severity::Error || i.message_id == "SLICING_NOT_CHECKED")
        .map(|i| (i.message_id, i.expression))
        .collect()
}

fn one(id: &str, expr: &str) -> Vec<(String, String)> {
    vec![(id.into(), expr.into())]
}

#[test]
fn valid_profile_instance() {
    let p = patient(
        json!([
            id(SYS_A, "official", "1"),
            id(SYS_A, "old", "2"),
            id(SYS_B, "usual", "3")
        ]),
        json!([{"system": "phone", "value": "1", "extension": [{"url": EXT, "valueBoolean": true}]},
               {"system": "phone", "value": "2"}]),
    );
    assert_eq!(errors(&p), vec![]);
}

#[test]
fn reslicing() {
    // Two items in reslice a/official (max 1).
    let p = patient(
        json!([id(SYS_A, "official", "1"), id(SYS_A, "official", "2")]),
        json!(null),
    );
    assert_eq!(
        errors(&p),
        one("SLICE_CARDINALITY_MAX", "Patient.identifier")
    );
    // Reslice a/official (min 1) missing while slice a is present.
    let p = patient(json!([id(SYS_A, "old", "2")]), json!(null));
    assert_eq!(
        errors(&p),
        one("SLICE_CARDINALITY_MIN", "Patient.identifier")
    );
    // An item of slice a that matches no reslice; the reslicing is closed.
    let p = patient(
        json!([id(SYS_A, "official", "1"), id(SYS_A, "temp", "2")]),
        json!(null),
    );
    assert_eq!(errors(&p), one("SLICE_NO_MATCH", "Patient.identifier[1]"));
}

#[test]
fn default_slice() {
    // Unmatched items go to @default (0..1), so a closed slicing accepts one...
    let p = patient(
        json!([id(SYS_A, "official", "1"), id(SYS_B, "usual", "3")]),
        json!(null),
    );
    assert_eq!(errors(&p), vec![]);
    // ...and its cardinality applies.
    let p = patient(
        json!([id(SYS_A, "official", "1"), id(SYS_B, "usual", "3"), {"system": "http://other", "value": "4"}]),
        json!(null),
    );
    assert_eq!(
        errors(&p),
        one("SLICE_CARDINALITY_MAX", "Patient.identifier")
    );
}

#[test]
fn extension_discriminator() {
    // Two telecoms carry the extension: slice `flagged` allows one.
    let flagged =
        json!({"system": "phone", "value": "1", "extension": [{"url": EXT, "valueBoolean": true}]});
    let p = patient(
        json!([id(SYS_A, "official", "1")]),
        json!([flagged.clone(), flagged]),
    );
    assert_eq!(errors(&p), one("SLICE_CARDINALITY_MAX", "Patient.telecom"));
}

#[test]
fn ordered_open_at_end_and_ambiguous_slices() {
    let ids = json!([id(SYS_A, "official", "1")]);
    let name = |use_: &str| json!({"use": use_, "family": "X"});
    let with_names = |names: Value| {
        let mut p = patient(ids.clone(), json!(null));
        p["name"] = names;
        p
    };
    assert_eq!(
        errors(&with_names(json!([
            name("official"),
            name("usual"),
            name("temp")
        ]))),
        vec![]
    );
    // Ordered: usual before official.
    assert_eq!(
        errors(&with_names(json!([name("usual"), name("official")]))),
        one("SLICE_ORDER", "Patient.name[1]")
    );
    // openAtEnd: an unsliced item before a sliced one.
    assert_eq!(
        errors(&with_names(json!([name("temp"), name("usual")]))),
        one("SLICE_ORDER", "Patient.name[1]")
    );
    // Two slices take nickname.
    assert_eq!(
        errors(&with_names(json!([name("nickname")]))),
        one("SLICE_MULTIPLE_MATCH", "Patient.name[0]")
    );
}

/// An `extension` context: the child extension is allowed inside the
/// parent extension only.
#[test]
fn extension_context_of_kind_extension() {
    let context_issues = |exts: Value| -> Vec<(String, String)> {
        let mut p = patient(json!([id(SYS_A, "official", "1")]), json!(null));
        p["extension"] = exts;
        let text = serde_json::to_vec(&p).unwrap();
        ctx()
            .validate_bytes(&text, &ValidationOptions::default())
            .issues
            .into_iter()
            .filter(|i| i.message_id == "EXTENSION_CONTEXT")
            .map(|i| (i.message_id, i.expression))
            .collect()
    };
    let child = json!({"url": CHILD, "valueBoolean": true});
    let parent = json!({"url": PARENT, "extension": [
        {"url": "code", "valueCodeableConcept": {"text": "NL"}}, child.clone()]});
    assert_eq!(context_issues(json!([parent])), vec![]);
    assert_eq!(
        context_issues(json!([child])),
        one("EXTENSION_CONTEXT", "Patient.extension[0].url")
    );
}
