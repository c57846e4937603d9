//! One hand-made broken instance per structural check, asserting the exact
//! message id, expression and line.

use serde_json::json;
use shinny_engine::{Context, IssueType, Severity, ValidationOptions};
use std::sync::OnceLock;

const TEST_PROFILE: &str = "http://example.org/StructureDefinition/test-patient";

/// Plain R4 plus one test profile derived from Patient.
fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut b = shinny_suite::builder_from_folders(&["hl7.fhir.r4.core#4.0.1"]);
        b.add_definitions("test", vec![("test-patient.json".into(), test_profile())]);
        b.build()
    })
}

/// The base Patient definition turned into a profile with a few tightened
/// rules, one per check family.
fn test_profile() -> Vec<u8> {
    let path = shinny_suite::package_cache()
        .join("hl7.fhir.r4.core#4.0.1/package/StructureDefinition-Patient.json");
    let mut sd: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    sd["url"] = json!(TEST_PROFILE);
    sd["name"] = json!("TestPatient");
    sd["derivation"] = json!("constraint");
    sd["baseDefinition"] = json!("http://hl7.org/fhir/StructureDefinition/Patient");
    for e in sd["snapshot"]["element"].as_array_mut().unwrap() {
        match e["path"].as_str().unwrap() {
            "Patient.id" => e["maxLength"] = json!(8),
            "Patient.active" => e["min"] = json!(1),
            "Patient.name" => e["max"] = json!("1"),
            "Patient.gender" => e["fixedCode"] = json!("female"),
            "Patient.birthDate" => {
                e["minValueDate"] = json!("1900-01-01");
                e["maxValueDate"] = json!("2030-12-31");
            }
            "Patient.maritalStatus" => {
                e["patternCodeableConcept"] = json!({"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]})
            }
            "Patient.multipleBirth[x]" => e["type"] = json!([{"code": "boolean"}]),
            _ => {}
        }
    }
    serde_json::to_vec_pretty(&sd).unwrap()
}

/// Validates `src` and returns (message id, expression, line) of every
/// issue at `min` severity or above.
fn issues_with(src: &str, min: Severity, profiles: &[&str]) -> Vec<(String, String, u32)> {
    let opts = ValidationOptions {
        profiles: profiles.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    ctx()
        .validate_bytes(src.as_bytes(), &opts)
        .issues
        .into_iter()
        .filter(|i| i.severity >= min)
        // Invariants (ele-1, dom-6, org-1, bdl-7, ...) restate some of these
        // problems in their own words; they have their own tests.
        .filter(|i| i.code != IssueType::Invariant)
        .map(|i| {
            (
                i.message_id,
                i.expression,
                i.pos.map(|p| p.line).unwrap_or(0),
            )
        })
        .collect()
}

fn errors(src: &str) -> Vec<(String, String, u32)> {
    issues_with(src, Severity::Error, &[])
}

fn expect(src: &str, id: &str, expr: &str, line: u32) {
    let got = errors(src);
    let want = (id.to_string(), expr.to_string(), line);
    assert_eq!(got, vec![want], "for:\n{src}");
}

#[test]
fn valid_patient_has_no_errors() {
    let src = r#"{
  "resourceType": "Patient",
  "id": "ok",
  "name": [{"family": "Doe", "given": ["Jane", "Q"]}],
  "birthDate": "1970-02-28",
  "deceasedBoolean": false
}"#;
    assert_eq!(errors(src), vec![]);
}

#[test]
fn json_syntax() {
    expect(
        "{\n  \"resourceType\": \"Patient\",\n  \"id\": \"x\"",
        "JSON_SYNTAX",
        "",
        3,
    );
}

#[test]
fn json_duplicate_key() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"id\": \"a\",\n  \"id\": \"b\"\n}";
    expect(src, "JSON_DUPLICATE_KEY", "Patient.id", 4);
}

/// Every kind of repeated key (element, `_x` part, choice type, unknown,
/// `resourceType`, inside datatypes and in a profile pass) is reported
/// once per repeat, exactly where comparing each key with all earlier keys
/// of its object says.
#[test]
fn json_duplicate_keys_of_every_kind() {
    let src = format!(
        "{{\n\"resourceType\": \"Patient\",\n\"meta\": {{\"profile\": [\"{TEST_PROFILE}\"]}},\n\"active\": true,\n\"birthDate\": \"1970-01-01\",\n\"_birthDate\": {{\"id\": \"x\"}},\n\"_birthDate\": {{\"id\": \"y\"}},\n\"birthDate\": \"1970-01-02\",\n\"multipleBirthBoolean\": true,\n\"multipleBirthBoolean\": false,\n\"multipleBirthInteger\": 2,\n\"foo\": 1,\n\"foo\": 2,\n\"_foo\": 3,\n\"resourceType\": \"Patient\",\n\"name\": [{{\"family\": \"a\", \"given\": [\"b\"], \"family\": \"c\", \"given\": [\"d\"]}}],\n\"active\": false\n}}"
    );
    // The rule, by brute force over the parsed members.
    let mut want = Vec::new();
    fn walk(n: &shinny_engine::json::Node, want: &mut Vec<u32>) {
        if let Some(ms) = n.as_object() {
            for (i, m) in ms.iter().enumerate() {
                if ms[..i].iter().any(|o| o.key == m.key) {
                    want.push(m.key_pos.line);
                }
                walk(&m.value, want);
            }
        }
        for item in n.as_array().unwrap_or(&[]) {
            walk(item, want);
        }
    }
    walk(
        &shinny_engine::json::parse(src.as_bytes()).unwrap(),
        &mut want,
    );
    let got: Vec<u32> = issues_with(&src, Severity::Information, &[])
        .into_iter()
        .filter(|(id, _, _)| id == "JSON_DUPLICATE_KEY")
        .map(|(_, _, line)| line)
        .collect();
    assert_eq!(want, vec![7, 8, 10, 13, 15, 16, 16, 17]);
    assert_eq!(got, want);
}

#[test]
fn json_null() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"gender\": null\n}";
    expect(src, "JSON_NULL", "Patient.gender", 3);
}

#[test]
fn json_empty_object_array_string() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"maritalStatus\": {}\n}";
    expect(src, "JSON_EMPTY", "Patient.maritalStatus", 3);
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"name\": []\n}";
    expect(src, "JSON_EMPTY", "Patient.name", 3);
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"gender\": \"\"\n}";
    expect(src, "JSON_EMPTY", "Patient.gender", 3);
}

#[test]
fn json_type() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"active\": \"true\"\n}";
    expect(src, "JSON_TYPE", "Patient.active", 3);
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"name\": [\n    \"Doe\"\n  ]\n}";
    expect(src, "JSON_TYPE", "Patient.name[0]", 4);
}

#[test]
fn json_array_rules() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"gender\": [\"male\"]\n}";
    expect(src, "JSON_ARRAY_NOT_ALLOWED", "Patient.gender", 3);
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"name\": {\"family\": \"Doe\"}\n}";
    expect(src, "JSON_ARRAY_EXPECTED", "Patient.name", 3);
}

#[test]
fn primitive_extension_alignment() {
    let src = r#"{
  "resourceType": "Patient",
  "name": [{
    "given": ["A", "B"],
    "_given": [{"extension": [{"url": "http://x.org/e", "valueString": "v"}]}]
  }]
}"#;
    expect(
        src,
        "JSON_PRIMITIVE_EXTENSION_MISMATCH",
        "Patient.name[0].given",
        5,
    );
    // Aligned null is fine.
    let ok = r#"{
  "resourceType": "Patient",
  "name": [{
    "given": ["A", null],
    "_given": [null, {"extension": [{"url": "http://x.org/e", "valueString": "v"}]}]
  }]
}"#;
    assert_eq!(errors(ok), vec![]);
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"_gender\": {\"value\": \"x\"}\n}";
    expect(src, "ELEMENT_UNKNOWN", "Patient.gender.value", 3);
}

#[test]
fn limits() {
    let deep = format!(
        "{{\"resourceType\": \"Patient\", \"x\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let got = errors(&deep);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "LIMIT_EXCEEDED");
}

#[test]
fn resource_type() {
    expect("{\n  \"id\": \"x\"\n}", "RESOURCE_TYPE_MISSING", "", 1);
    expect(
        "{\n  \"resourceType\": \"Patientx\"\n}",
        "RESOURCE_TYPE_UNKNOWN",
        "",
        2,
    );
    expect("[1]", "RESOURCE_TYPE_MISSING", "", 1);
}

#[test]
fn element_unknown() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"name\": [{\"famly\": \"Doe\"}]\n}";
    expect(src, "ELEMENT_UNKNOWN", "Patient.name[0].famly", 3);
}

#[test]
fn choice_types() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"deceasedString\": \"yes\"\n}";
    expect(src, "CHOICE_TYPE_NOT_ALLOWED", "Patient.deceasedString", 3);
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"deceasedBoolean\": true,\n  \"deceasedDateTime\": \"2020-01-01\"\n}";
    expect(src, "CHOICE_MULTIPLE", "Patient.deceased", 4);
    // Choice paths use ofType().
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"deceasedDateTime\": \"2020-13-01\"\n}";
    expect(
        src,
        "PRIMITIVE_FORMAT",
        "Patient.deceased.ofType(dateTime)",
        3,
    );
}

#[test]
fn cardinality_min() {
    let src = "{\n  \"resourceType\": \"Observation\",\n  \"status\": \"final\"\n}";
    expect(src, "CARDINALITY_MIN", "Observation.code", 1);
}

#[test]
fn primitive_formats_and_ranges() {
    let cases = [
        ("\"birthDate\": \"1970-13-01\"", "Patient.birthDate"),
        ("\"birthDate\": \"2023-02-29\"", "Patient.birthDate"),
        ("\"id\": \"has space\"", "Patient.id"),
        (
            "\"maritalStatus\": {\"coding\": [{\"code\": \" M\"}]}",
            "Patient.maritalStatus.coding[0].code",
        ),
        ("\"photo\": [{\"data\": \"abc\"}]", "Patient.photo[0].data"),
        ("\"telecom\": [{\"system\": \"url\", \"period\": {\"start\": \"2020-01-01T10:00:00\"}}]", "Patient.telecom[0].period.start"),
        ("\"multipleBirthInteger\": 1.5", "Patient.multipleBirth.ofType(integer)"),
    ];
    for (prop, expr) in cases {
        let src = format!("{{\n  \"resourceType\": \"Patient\",\n  {prop}\n}}");
        expect(&src, "PRIMITIVE_FORMAT", expr, 3);
    }
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"multipleBirthInteger\": 3000000000\n}";
    expect(
        src,
        "PRIMITIVE_RANGE",
        "Patient.multipleBirth.ofType(integer)",
        3,
    );
    let src = "{\n  \"resourceType\": \"Observation\", \"status\": \"final\", \"code\": {\"text\": \"x\"},\n  \"valueQuantity\": {\"value\": 1.}\n}";
    expect(src, "JSON_SYNTAX", "", 3);
}

#[test]
fn profile_rules() {
    let p = &[TEST_PROFILE];
    let run = |body: &str| {
        let src = format!("{{\n  \"resourceType\": \"Patient\",\n  \"active\": true,\n{body}\n}}");
        issues_with(&src, Severity::Error, p)
    };
    let one = |id: &str, expr: &str| vec![(id.to_string(), expr.to_string(), 4)];
    assert_eq!(
        run("  \"gender\": \"male\""),
        one("FIXED_VALUE", "Patient.gender")
    );
    assert_eq!(
        run("  \"maritalStatus\": {\"coding\": [{\"system\": \"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus\", \"code\": \"S\"}]}"),
        one("PATTERN_VALUE", "Patient.maritalStatus")
    );
    assert_eq!(
        run("  \"id\": \"123456789\""),
        one("MAX_LENGTH", "Patient.id")
    );
    assert_eq!(
        run("  \"birthDate\": \"1899-12-31\""),
        one("MIN_VALUE", "Patient.birthDate")
    );
    assert_eq!(
        run("  \"birthDate\": \"2031-01-01\""),
        one("MAX_VALUE", "Patient.birthDate")
    );
    assert_eq!(
        run("  \"name\": [{\"family\": \"A\"}, {\"family\": \"B\"}]"),
        one("CARDINALITY_MAX", "Patient.name")
    );
    assert_eq!(
        run("  \"multipleBirthInteger\": 2"),
        one("CHOICE_TYPE_NOT_ALLOWED", "Patient.multipleBirthInteger")
    );
    // The pattern is satisfied by a superset; active is required by the profile.
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"maritalStatus\": {\"coding\": [{\"system\": \"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus\", \"code\": \"M\", \"display\": \"Married\"}]}\n}";
    assert_eq!(
        issues_with(src, Severity::Error, p),
        vec![(
            "CARDINALITY_MIN".to_string(),
            "Patient.active".to_string(),
            1
        )]
    );
    // Through meta.profile, without the option.
    let src = format!("{{\n  \"resourceType\": \"Patient\",\n  \"meta\": {{\"profile\": [\"{TEST_PROFILE}\"]}},\n  \"gender\": \"male\", \"active\": true\n}}");
    assert_eq!(
        errors(&src),
        vec![("FIXED_VALUE".into(), "Patient.gender".into(), 4)]
    );
}

#[test]
fn profile_unknown_and_wrong_type() {
    let src = "{\n  \"resourceType\": \"Patient\",\n  \"meta\": {\"profile\": [\n    \"http://example.org/nope\"\n  ]}\n}";
    assert_eq!(
        issues_with(src, Severity::Warning, &[]),
        vec![("PROFILE_UNKNOWN".into(), "Patient".into(), 4)]
    );
    let src = "{\n  \"resourceType\": \"Observation\", \"status\": \"final\", \"code\": {\"text\": \"x\"}\n}";
    assert_eq!(
        issues_with(src, Severity::Error, &[TEST_PROFILE]),
        vec![("PROFILE_WRONG_TYPE".into(), "Observation".into(), 1)]
    );
}

#[test]
fn nested_resources_are_validated() {
    let src = r#"{
  "resourceType": "Bundle",
  "type": "collection",
  "entry": [{
    "fullUrl": "urn:uuid:0b6a4f37-9e1c-4a3a-9a64-6f1f9f1e2d11",
    "resource": {
      "resourceType": "Patient",
      "contained": [{"resourceType": "Organization", "nme": "x"}],
      "genderx": "male"
    }
  }]
}"#;
    assert_eq!(
        errors(src),
        vec![
            (
                "ELEMENT_UNKNOWN".into(),
                "Bundle.entry[0].resource.ofType(Patient).contained[0].ofType(Organization).nme"
                    .into(),
                8
            ),
            (
                "ELEMENT_UNKNOWN".into(),
                "Bundle.entry[0].resource.ofType(Patient).genderx".into(),
                9
            ),
        ]
    );
}

#[test]
fn bundle_full_urls() {
    let bundle = |entries: &str| {
        format!("{{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"collection\",\n  \"entry\": [\n{entries}\n  ]\n}}")
    };
    let src = bundle(
        "    {\"fullUrl\": \"http://x.org/fhir/Patient/1\", \"resource\": {\"resourceType\": \"Patient\", \"id\": \"1\"}},\n    {\"fullUrl\": \"http://x.org/fhir/Patient/1\", \"resource\": {\"resourceType\": \"Patient\", \"id\": \"1\"}}",
    );
    expect(
        &src,
        "BUNDLE_FULLURL_DUPLICATE",
        "Bundle.entry[1].fullUrl",
        6,
    );
    let src = bundle("    {\"fullUrl\": \"http://x.org/fhir/Patient/2\", \"resource\": {\"resourceType\": \"Patient\", \"id\": \"1\"}}");
    expect(
        &src,
        "BUNDLE_FULLURL_MISMATCH",
        "Bundle.entry[0].fullUrl",
        5,
    );
    let src = bundle(
        "    {\"fullUrl\": \"urn:uuid:1234\", \"resource\": {\"resourceType\": \"Patient\"}}",
    );
    expect(&src, "BUNDLE_FULLURL_INVALID", "Bundle.entry[0].fullUrl", 5);
    let src = bundle("    {\"fullUrl\": \"Patient/1\", \"resource\": {\"resourceType\": \"Patient\", \"id\": \"1\"}}");
    expect(&src, "BUNDLE_FULLURL_INVALID", "Bundle.entry[0].fullUrl", 5);
}

#[test]
fn issues_render_as_operation_outcome() {
    let oo = ctx().validate_bytes(
        b"{\n  \"resourceType\": \"Patient\",\n  \"foo\": 1\n}",
        &ValidationOptions::default(),
    );
    let v = oo.to_fhir();
    assert_eq!(v["resourceType"], "OperationOutcome");
    let issue = v["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["severity"] == "error")
        .unwrap();
    assert_eq!(issue["code"], "structure");
    assert_eq!(issue["expression"][0], "Patient.foo");
    let ext = issue["extension"].as_array().unwrap();
    let get = |suffix: &str| {
        ext.iter()
            .find(|e| e["url"].as_str().unwrap().ends_with(suffix))
            .cloned()
            .unwrap()
    };
    assert_eq!(get("operationoutcome-issue-line")["valueInteger"], 3);
    assert_eq!(get("operationoutcome-issue-col")["valueInteger"], 3);
    assert_eq!(
        get("operationoutcome-message-id")["valueString"],
        "ELEMENT_UNKNOWN"
    );
}
