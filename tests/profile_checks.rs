//! Slicing and extensions on the real SHIN-NY profiles: a valid example is
//! broken in exactly one way and the exact message id and location asserted.

use serde_json::{json, Value};
use shinny_engine::{Context, Severity, UnknownExtensions, ValidationOptions};
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(shinny_suite::shinny_context)
}

fn patient() -> Value {
    let p = shinny_suite::package_cache()
        .join("us.ny.hrsn#1.9.4/package/example/Patient-PatientExample.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// (message id, expression) of the issues at `min` or above.
fn issues(v: &Value, min: Severity, opts: &ValidationOptions) -> Vec<(String, String)> {
    let text = serde_json::to_string_pretty(v).unwrap();
    ctx()
        .validate_bytes(text.as_bytes(), opts)
        .issues
        .into_iter()
        .filter(|i| i.severity >= min)
        .map(|i| (i.message_id, i.expression))
        .collect()
}

fn errors(v: &Value) -> Vec<(String, String)> {
    issues(v, Severity::Error, &ValidationOptions::default())
}

fn one(id: &str, expr: &str) -> Vec<(String, String)> {
    vec![(id.to_string(), expr.to_string())]
}

#[test]
fn example_is_valid() {
    assert_eq!(errors(&patient()), vec![]);
}

#[test]
fn slice_cardinality_min() {
    // Drop the medical record number: slice MR is 1..1.
    let mut p = patient();
    p["identifier"].as_array_mut().unwrap().remove(0);
    let got = errors(&p);
    assert!(
        got.contains(&("SLICE_CARDINALITY_MIN".into(), "Patient.identifier".into())),
        "{got:?}"
    );
}

#[test]
fn slice_cardinality_max() {
    // A second Medicaid identifier: slice CMS is 1..1.
    let mut p = patient();
    let cms = p["identifier"][1].clone();
    p["identifier"].as_array_mut().unwrap().push(cms);
    assert_eq!(
        errors(&p),
        one("SLICE_CARDINALITY_MAX", "Patient.identifier")
    );
}

#[test]
fn slice_constraints_are_scoped_to_their_slice() {
    // MR requires an assigner (1..1 in that slice only).
    let mut p = patient();
    p["identifier"][0]
        .as_object_mut()
        .unwrap()
        .remove("assigner");
    assert_eq!(
        errors(&p),
        one("CARDINALITY_MIN", "Patient.identifier[0].assigner")
    );
    // The CMS identifier (index 1) has no assigner and that is fine: the
    // MR slice's rule is not applied to it, as the valid example shows.
    assert!(patient()["identifier"][1].get("assigner").is_none());
}

#[test]
fn extension_definitions_are_applied() {
    // us-core-birthsex takes valueCode only.
    let mut p = patient();
    let n = p["extension"]
        .as_array()
        .unwrap()
        .iter()
        .position(|x| {
            x["url"] == "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
        })
        .unwrap();
    p["extension"][n] = json!({
        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
        "valueString": "M"
    });
    assert_eq!(
        errors(&p),
        one(
            "CHOICE_TYPE_NOT_ALLOWED",
            &format!("Patient.extension[{n}].valueString")
        )
    );
    // A complex extension's part with the wrong type (race "text" is a string).
    let mut p = patient();
    p["extension"][0]["extension"][3] = json!({"url": "text", "valueBoolean": true});
    assert_eq!(
        errors(&p),
        one(
            "CHOICE_TYPE_NOT_ALLOWED",
            "Patient.extension[0].extension[3].valueBoolean"
        )
    );
}

/// An extension must be used where its definition's context allows it:
/// by element path, by the type of the element holding it, or inside a
/// datatype (`HumanName.family` on any HumanName's family).
#[test]
fn extension_context() {
    let birthsex = json!({"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "M"});
    let own_prefix = json!({"url": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix", "valueString": "van"});
    // Allowed on Patient, not on Patient.address.
    let mut p = patient();
    p["address"][0]["extension"] = json!([birthsex]);
    assert_eq!(
        errors(&p),
        one("EXTENSION_CONTEXT", "Patient.address[0].extension[0].url")
    );
    // HumanName.family: on the primitive's `_family`, not on `_given`.
    let mut p = patient();
    p["name"][0]["_family"] = json!({"extension": [own_prefix]});
    assert_eq!(errors(&p), vec![]);
    let mut p = patient();
    p["name"][0]["_given"] = json!([{"extension": [own_prefix]}]);
    assert_eq!(
        errors(&p),
        one(
            "EXTENSION_CONTEXT",
            "Patient.name[0].given[0].extension[0].url"
        )
    );
}

#[test]
fn unknown_extensions() {
    let mut p = patient();
    p["extension"]
        .as_array_mut()
        .unwrap()
        .push(json!({"url": "http://example.org/unknown", "valueString": "x"}));
    let n = p["extension"].as_array().unwrap().len() - 1;
    let expr = format!("Patient.extension[{n}].url");
    let only_ext = |v: Vec<(String, String)>| -> Vec<(String, String)> {
        v.into_iter()
            .filter(|(id, _)| id.starts_with("EXTENSION"))
            .collect()
    };
    let warn = only_ext(issues(&p, Severity::Warning, &ValidationOptions::default()));
    assert_eq!(warn, vec![("EXTENSION_UNKNOWN".to_string(), expr.clone())]);
    let strict = ValidationOptions {
        unknown_extensions: UnknownExtensions::Error,
        ..Default::default()
    };
    assert_eq!(
        issues(&p, Severity::Error, &strict),
        vec![("EXTENSION_UNKNOWN".to_string(), expr)]
    );
    let quiet = ValidationOptions {
        unknown_extensions: UnknownExtensions::Ignore,
        ..Default::default()
    };
    assert_eq!(only_ext(issues(&p, Severity::Warning, &quiet)), vec![]);
    // Unknown modifier extensions are always an error.
    let mut p = patient();
    p["modifierExtension"] =
        json!([{"url": "http://example.org/unknown-modifier", "valueBoolean": true}]);
    assert_eq!(
        errors(&p),
        one(
            "MODIFIER_EXTENSION_UNKNOWN",
            "Patient.modifierExtension[0].url"
        )
    );
    // A known, non-modifier extension used as a modifier.
    let mut p = patient();
    p["modifierExtension"] = json!([{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "M"}]);
    assert_eq!(
        errors(&p),
        one(
            "EXTENSION_MODIFIER_MISMATCH",
            "Patient.modifierExtension[0]"
        )
    );
}

fn bundle() -> Value {
    let p = shinny_suite::package_cache()
        .join("us.ny.hrsn#1.9.4/package/example/Bundle-AHCHRSNScreeningResponseExample.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn bundle_example_is_valid() {
    assert_eq!(errors(&bundle()), vec![]);
}

#[test]
fn reference_format_and_resolution() {
    let subject = "Bundle.entry[1].resource.ofType(Observation).subject.reference";
    let mut b = bundle();
    b["entry"][1]["resource"]["subject"]["reference"] = json!("Patient/has space");
    assert_eq!(errors(&b), one("REFERENCE_FORMAT", subject));
    let mut b = bundle();
    b["entry"][1]["resource"]["subject"]["reference"] =
        json!("urn:uuid:0b6a4f37-9e1c-4a3a-9a64-6f1f9f1e2d11");
    assert_eq!(errors(&b), one("REFERENCE_NOT_FOUND", subject));
    let mut b = bundle();
    b["entry"][1]["resource"]["subject"]["reference"] = json!("#nope");
    // ref-1 (contained references resolve) says it too, on the Reference.
    assert_eq!(
        errors(&b),
        vec![
            (
                "ref-1".to_string(),
                subject.trim_end_matches(".reference").to_string()
            ),
            ("REFERENCE_NOT_FOUND".to_string(), subject.to_string()),
        ]
    );
}

#[test]
fn reference_target_type() {
    // The SHIN-NY observation's subject must be a Patient.
    let mut b = bundle();
    b["entry"][1]["resource"]["subject"]["reference"] =
        json!("Organization/OrganizationExampleOther-SCN1");
    let got = errors(&b);
    assert_eq!(
        got,
        one(
            "REFERENCE_TARGET_TYPE",
            "Bundle.entry[1].resource.ofType(Observation).subject.reference"
        )
    );
}

#[test]
fn reference_target_profile() {
    // A Patient without meta.profile that breaks shinny-patient (no MR
    // identifier): references to it whose target profile is shinny-patient
    // fail, and the Patient itself (validated against base R4 only) passes.
    let mut b = bundle();
    let patient = b["entry"][0]["resource"].as_object_mut().unwrap();
    patient.remove("meta");
    patient["identifier"].as_array_mut().unwrap().remove(0);
    let got = errors(&b);
    assert!(!got.is_empty());
    // The Bundle profile's own rule on the MRN fires as well.
    assert!(
        got.iter()
            .all(
                |(id, expr)| (id == "REFERENCE_TARGET_PROFILE" && expr.ends_with(".reference"))
                    || (id == "SHINNY-Patient-MRN" && expr == "Bundle")
            ),
        "{got:?}"
    );
    assert!(got.contains(&("SHINNY-Patient-MRN".to_string(), "Bundle".to_string())));
    // The Encounter profile targets shinny-patient; the observations target
    // us-core-patient, which the patient still satisfies.
    assert!(got.contains(&(
        "REFERENCE_TARGET_PROFILE".to_string(),
        "Bundle.entry[4].resource.ofType(Encounter).subject.reference".to_string()
    )));
    assert!(!got
        .iter()
        .any(|(_, e)| e.contains("ofType(Observation).subject")));
}
