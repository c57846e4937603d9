//! QuestionnaireResponse validation against its Questionnaire: the
//! published examples pass, and one hand-made broken response per rule
//! fails with the exact message id and location.

use serde_json::{json, Value};
use shinny_engine::{Context, Severity, ValidationOptions};
use std::path::Path;
use std::sync::OnceLock;

/// R4 + SDC + SDOH CC + SHIN-NY, with the example Questionnaires of SDC and
/// SDOH CC and one test Questionnaire.
fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut b =
            shinny_suite::builder_from_folders(&shinny_suite::shinny_folders("us.ny.hrsn#1.9.4"));
        b.add_definitions(
            "test",
            vec![(
                "q.json".into(),
                serde_json::to_vec(&test_questionnaire()).unwrap(),
            )],
        );
        b.build()
    })
}

const TEST_Q: &str = "http://example.org/Questionnaire/test";

fn test_questionnaire() -> Value {
    json!({
        "resourceType": "Questionnaire", "url": TEST_Q, "status": "active",
        "item": [
            {"linkId": "name", "type": "string", "required": true, "maxLength": 5},
            {"linkId": "smoker", "type": "boolean"},
            {"linkId": "packs", "type": "integer",
             "enableWhen": [{"question": "smoker", "operator": "=", "answerBoolean": true}],
             "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 1},
                {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 10}]},
            {"linkId": "zip", "type": "string",
             "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "[0-9]{5}"}]},
            {"linkId": "color", "type": "choice", "answerOption": [
                {"valueCoding": {"system": "http://example.org/colors", "code": "red"}},
                {"valueCoding": {"system": "http://example.org/colors", "code": "blue"}}]},
            {"linkId": "note", "type": "display", "text": "Thanks"},
            {"linkId": "meds", "type": "group", "repeats": false, "item": [
                {"linkId": "med", "type": "string", "repeats": true}]},
            {"linkId": "gender", "type": "choice",
             "answerValueSet": "http://hl7.org/fhir/ValueSet/administrative-gender"},
            {"linkId": "site", "type": "string", "readOnly": true,
             "initial": [{"valueString": "main"}]},
            {"linkId": "score", "type": "integer", "readOnly": true,
             "initial": [{"valueInteger": 0}],
             "extension": [{"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
                            "valueExpression": {"language": "text/fhirpath", "expression": "1 + 1"}}]},
            {"linkId": "visit", "type": "group", "repeats": true,
             "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs", "valueInteger": 2},
                {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs", "valueInteger": 3}],
             "item": [{"linkId": "when", "type": "date"}]},
            {"linkId": "test", "type": "choice",
             "answerValueSet": "http://hl7.org/fhir/ValueSet/observation-codes"}
        ]
    })
}

fn response(items: Value) -> Value {
    json!({"resourceType": "QuestionnaireResponse", "questionnaire": TEST_Q, "status": "completed", "item": items})
}

fn valid_items() -> Value {
    json!([
        {"linkId": "name", "answer": [{"valueString": "Ann"}]},
        {"linkId": "smoker", "answer": [{"valueBoolean": true}]},
        {"linkId": "packs", "answer": [{"valueInteger": 2}]},
        {"linkId": "zip", "answer": [{"valueString": "10032"}]},
        {"linkId": "color", "answer": [{"valueCoding": {"system": "http://example.org/colors", "code": "red"}}]},
        {"linkId": "meds", "item": [{"linkId": "med", "answer": [{"valueString": "a"}, {"valueString": "b"}]}]}
    ])
}

fn errors(v: &Value) -> Vec<(String, String)> {
    let text = serde_json::to_string_pretty(v).unwrap();
    ctx()
        .validate_bytes(text.as_bytes(), &ValidationOptions::default())
        .issues
        .into_iter()
        .filter(|i| i.severity >= Severity::Error)
        .map(|i| (i.message_id, i.expression))
        .collect()
}

fn one(id: &str, expr: &str) -> Vec<(String, String)> {
    vec![(id.into(), expr.into())]
}

fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut items = valid_items();
    f(&mut items);
    response(items)
}

#[test]
fn valid_response() {
    assert_eq!(errors(&response(valid_items())), vec![]);
}

#[test]
fn each_rule() {
    let q = "QuestionnaireResponse";
    assert_eq!(
        errors(&with(|i| i[0]["linkId"] = json!("nme"))),
        vec![
            ("QR_REQUIRED_MISSING".into(), q.into()),
            ("QR_LINKID_UNKNOWN".into(), format!("{q}.item[0]"))
        ]
    );
    assert_eq!(
        errors(&with(|i| i.as_array_mut().unwrap().swap(0, 1))),
        one("QR_ITEM_ORDER", &format!("{q}.item[1]"))
    );
    assert_eq!(
        errors(&with(|i| {
            i.as_array_mut().unwrap().remove(0);
        })),
        one("QR_REQUIRED_MISSING", q)
    );
    assert_eq!(
        errors(&with(|i| i[1]["answer"] = json!([{"valueString": "yes"}]))),
        vec![
            (
                "QR_ANSWER_TYPE".into(),
                format!("{q}.item[1].answer[0].value.ofType(string)")
            ),
            ("QR_DISABLED_ANSWERED".into(), format!("{q}.item[2]")),
        ]
    );
    assert_eq!(
        errors(&with(|i| i[1]["answer"] = json!([{"valueBoolean": false}]))),
        one("QR_DISABLED_ANSWERED", &format!("{q}.item[2]"))
    );
    assert_eq!(
        errors(&with(
            |i| i[0]["answer"] = json!([{"valueString": "Annabel"}])
        )),
        one(
            "QR_MAX_LENGTH",
            &format!("{q}.item[0].answer[0].value.ofType(string)")
        )
    );
    assert_eq!(
        errors(&with(
            |i| i[0]["answer"] = json!([{"valueString": "A"}, {"valueString": "B"}])
        )),
        one("QR_ANSWER_REPEATS", &format!("{q}.item[0]"))
    );
    assert_eq!(
        errors(&with(|i| i[2]["answer"] = json!([{"valueInteger": 11}]))),
        one(
            "QR_VALUE_RANGE",
            &format!("{q}.item[2].answer[0].value.ofType(integer)")
        )
    );
    assert_eq!(
        errors(&with(|i| i[3]["answer"] = json!([{"valueString": "1003"}]))),
        one(
            "QR_REGEX",
            &format!("{q}.item[3].answer[0].value.ofType(string)")
        )
    );
    assert_eq!(
        errors(&with(
            |i| i[4]["answer"] =
                json!([{"valueCoding": {"system": "http://example.org/colors", "code": "green"}}])
        )),
        one(
            "QR_ANSWER_NOT_IN_OPTIONS",
            &format!("{q}.item[4].answer[0].value.ofType(Coding)")
        )
    );
    assert_eq!(
        errors(&with(|i| i.as_array_mut().unwrap().insert(
            5,
            json!({"linkId": "note", "answer": [{"valueString": "x"}]})
        ))),
        one("QR_DISPLAY_ANSWERED", &format!("{q}.item[5]"))
    );
    assert_eq!(
        errors(&with(|i| {
            let meds = i[5].clone();
            i.as_array_mut().unwrap().push(meds);
        })),
        one("QR_ITEM_REPEATS", &format!("{q}.item[6]"))
    );
    // Nested items keep their path.
    assert_eq!(
        errors(&with(
            |i| i[5]["item"][0]["answer"][1] = json!({"valueInteger": 3})
        )),
        one(
            "QR_ANSWER_TYPE",
            &format!("{q}.item[5].item[0].answer[1].value.ofType(integer)")
        )
    );
}

#[test]
fn answer_value_set() {
    let q = "QuestionnaireResponse";
    let gender = |code: &str| {
        with(|i| {
            i.as_array_mut().unwrap().push(json!({"linkId": "gender", "answer": [
                {"valueCoding": {"system": "http://hl7.org/fhir/administrative-gender", "code": code}}]}))
        })
    };
    assert_eq!(errors(&gender("female")), vec![]);
    assert_eq!(
        errors(&gender("femme")),
        one(
            "QR_ANSWER_NOT_IN_VALUESET",
            &format!("{q}.item[6].answer[0].value.ofType(Coding)")
        )
    );
}

/// readOnly with a static initial value: the answer must keep it (a
/// warning otherwise); computed items may hold any answer.
#[test]
fn read_only() {
    let readonly_issues = |site: &str, score: i64| {
        let r = with(|i| {
            let a = i.as_array_mut().unwrap();
            a.push(json!({"linkId": "site", "answer": [{"valueString": site}]}));
            a.push(json!({"linkId": "score", "answer": [{"valueInteger": score}]}));
        });
        let text = serde_json::to_vec(&r).unwrap();
        ctx()
            .validate_bytes(&text, &ValidationOptions::default())
            .issues
            .into_iter()
            .filter(|i| i.message_id.starts_with("QR_"))
            .map(|i| (i.severity, i.message_id, i.expression))
            .collect::<Vec<_>>()
    };
    assert_eq!(readonly_issues("main", 2), vec![]);
    assert_eq!(
        readonly_issues("branch", 7),
        vec![(
            Severity::Warning,
            "QR_READONLY_CHANGED".to_string(),
            "QuestionnaireResponse.item[6].answer[0].value.ofType(string)".to_string()
        )]
    );
}

/// SDC minOccurs/maxOccurs on a repeating group.
#[test]
fn occurs() {
    let visits = |n: usize| {
        with(|i| {
            for _ in 0..n {
                i.as_array_mut().unwrap().push(
                    json!({"linkId": "visit", "item": [{"linkId": "when", "answer": [{"valueDate": "2024-01-01"}]}]}),
                );
            }
        })
    };
    assert_eq!(errors(&visits(2)), vec![]);
    assert_eq!(errors(&visits(3)), vec![]);
    assert_eq!(
        errors(&visits(1)),
        one("QR_OCCURS", "QuestionnaireResponse")
    );
    assert_eq!(
        errors(&visits(4)),
        one("QR_OCCURS", "QuestionnaireResponse")
    );
}

/// An answerValueSet over LOINC cannot be checked offline: information,
/// not an error and not silence.
#[test]
fn answer_value_set_not_checkable() {
    let r = with(|i| {
        i.as_array_mut()
            .unwrap()
            .push(json!({"linkId": "test", "answer": [
            {"valueCoding": {"system": "http://loinc.org", "code": "8867-4"}}]}))
    });
    let text = serde_json::to_vec(&r).unwrap();
    let got: Vec<_> = ctx()
        .validate_bytes(&text, &ValidationOptions::default())
        .issues
        .into_iter()
        .filter(|i| i.message_id.starts_with("QR_"))
        .map(|i| (i.severity, i.message_id, i.expression))
        .collect();
    assert_eq!(
        got,
        vec![(
            Severity::Information,
            "QR_VALUESET_NOT_CHECKED".to_string(),
            "QuestionnaireResponse.item[6].answer[0].value.ofType(Coding)".to_string()
        )]
    );
}

#[test]
fn unknown_questionnaire() {
    let mut r = response(valid_items());
    r["questionnaire"] = json!("http://example.org/Questionnaire/nope");
    let text = serde_json::to_vec(&r).unwrap();
    let warn = ctx().validate_bytes(&text, &ValidationOptions::default());
    let ids: Vec<_> = warn
        .issues
        .iter()
        .filter(|i| i.message_id != "dom-6") // no narrative: best practice only
        .map(|i| (i.severity, i.message_id.as_str()))
        .collect();
    assert_eq!(ids, vec![(Severity::Warning, "QR_QUESTIONNAIRE_UNKNOWN")]);
    let strict = ValidationOptions {
        unknown_questionnaire_is_error: true,
        ..Default::default()
    };
    assert_eq!(ctx().validate_bytes(&text, &strict).error_count(), 1);
}

#[test]
fn questionnaire_in_the_same_bundle() {
    let mut q = test_questionnaire();
    q["url"] = json!("http://example.org/Questionnaire/in-bundle");
    let mut r = response(json!([{"linkId": "zzz", "answer": [{"valueString": "x"}]}]));
    r["questionnaire"] = json!("http://example.org/Questionnaire/in-bundle");
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://example.org/Questionnaire/in-bundle", "resource": q},
        {"fullUrl": "urn:uuid:0b6a4f37-9e1c-4a3a-9a64-6f1f9f1e2d11", "resource": r}]});
    let got = errors(&bundle);
    assert!(
        got.contains(&(
            "QR_LINKID_UNKNOWN".into(),
            "Bundle.entry[1].resource.ofType(QuestionnaireResponse).item[0]".into()
        )),
        "{got:?}"
    );
}

/// Every QuestionnaireResponse example of SHIN-NY, SDC and SDOH CC whose
/// Questionnaire is available validates with 0 errors, and the check ran.
#[test]
fn published_examples() {
    let mut checked = 0;
    for pkg in [
        "us.ny.hrsn#1.9.4",
        "hl7.fhir.uv.sdc#3.0.0",
        "hl7.fhir.us.sdoh-clinicalcare#2.2.0",
    ] {
        let dir = shinny_suite::package_cache()
            .join(pkg)
            .join("package/example");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if !name.starts_with("QuestionnaireResponse-") {
                continue;
            }
            let out =
                ctx().validate_bytes(&std::fs::read(&f).unwrap(), &ValidationOptions::default());
            let errs: Vec<_> = out
                .issues
                .iter()
                .filter(|i| i.severity >= Severity::Error)
                .collect();
            assert!(errs.is_empty(), "{}: {errs:#?}", Path::new(&name).display());
            if !out
                .issues
                .iter()
                .any(|i| i.message_id == "QR_QUESTIONNAIRE_UNKNOWN")
            {
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 12,
        "only {checked} responses were checked against a Questionnaire"
    );
}
