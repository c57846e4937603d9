use super::*;
use crate::messages;
use crate::outcome::Severity;
use serde_json::json;

const CS: &str = "http://example.org/cs/animals";
const CI: &str = "http://example.org/cs/insensitive";

/// Animals:
/// animal > mammal > (dog > puppy, cat), animal > bird (parent property
/// on `parrot`), plus a `legs` property and `sound`.
fn animals() -> serde_json::Value {
    json!({
        "resourceType": "CodeSystem", "url": CS, "content": "complete",
        "caseSensitive": true, "hierarchyMeaning": "is-a",
        "concept": [{
            "code": "animal", "display": "Animal",
            "concept": [
                {"code": "mammal", "display": "Mammal", "concept": [
                    {"code": "dog", "display": "Dog",
                     "designation": [{"language": "fr", "value": "Chien"}],
                     "property": [{"code": "legs", "valueInteger": 4}, {"code": "sound", "valueCode": "bark"}],
                     "concept": [{"code": "puppy", "display": "Puppy",
                                  "property": [{"code": "legs", "valueInteger": 4}]}]},
                    {"code": "cat", "display": "Cat",
                     "property": [{"code": "legs", "valueInteger": 4}, {"code": "sound", "valueCode": "meow"}]}
                ]},
                {"code": "bird", "display": "Bird",
                 "property": [{"code": "legs", "valueInteger": 2}]}
            ]
        }, {
            "code": "parrot", "display": "Parrot",
            "property": [{"code": "parent", "valueCode": "bird"}, {"code": "legs", "valueInteger": 2}]
        }]
    })
}

fn insensitive() -> serde_json::Value {
    json!({
        "resourceType": "CodeSystem", "url": CI, "content": "complete", "caseSensitive": false,
        "concept": [{"code": "Alpha", "display": "First"}, {"code": "Beta", "display": "Second"}]
    })
}

fn vs(url: &str, compose: serde_json::Value) -> serde_json::Value {
    json!({"resourceType": "ValueSet", "url": url, "compose": compose})
}

fn build(value_sets: &[serde_json::Value]) -> Terminology {
    let mut b = TerminologyBuilder::new();
    b.add_code_system(&animals(), "test");
    b.add_code_system(&insensitive(), "test");
    for v in value_sets {
        b.add_value_set(v, "test");
    }
    b.build()
}

fn member(m: &Membership) -> bool {
    matches!(m, Membership::Member { .. })
}

/// The codes of `CS` that are members of `url`.
fn members(t: &Terminology, url: &str) -> Vec<&'static str> {
    ["animal", "mammal", "dog", "puppy", "cat", "bird", "parrot"]
        .into_iter()
        .filter(|c| member(&t.check_code(url, Some(CS), c, None)))
        .collect()
}

fn filter_vs(url: &str, property: &str, op: &str, value: &str) -> serde_json::Value {
    vs(
        url,
        json!({"include": [{"system": CS, "filter": [{"property": property, "op": op, "value": value}]}]}),
    )
}

#[test]
fn concept_list_and_whole_system() {
    let t = build(&[
        vs(
            "http://x/list",
            json!({"include": [{"system": CS, "concept": [{"code": "dog"}, {"code": "cat"}]}]}),
        ),
        vs("http://x/all", json!({"include": [{"system": CS}]})),
    ]);
    assert_eq!(members(&t, "http://x/list"), ["dog", "cat"]);
    assert_eq!(members(&t, "http://x/all").len(), 7);
    assert_eq!(
        t.check_code("http://x/all", Some(CS), "unicorn", None),
        Membership::NotMember
    );
    // The system is implied for a single-system value set.
    assert!(member(&t.check_code("http://x/list", None, "dog", None)));
    assert_eq!(
        t.check_code("http://x/list", None, "bird", None),
        Membership::NotMember
    );
    // A different system is not a member.
    assert_eq!(
        t.check_code("http://x/list", Some("http://other"), "dog", None),
        Membership::NotMember
    );
    // Versions are ignored.
    assert!(member(&t.check_code(
        "http://x/list|1.0",
        Some(CS),
        "dog",
        None
    )));
}

#[test]
fn hierarchy_filters() {
    let t = build(&[
        filter_vs("http://x/isa", "concept", "is-a", "mammal"),
        filter_vs("http://x/desc", "concept", "descendent-of", "mammal"),
        filter_vs("http://x/notisa", "concept", "is-not-a", "mammal"),
        filter_vs("http://x/gen", "concept", "generalizes", "puppy"),
        filter_vs("http://x/birds", "concept", "is-a", "bird"),
    ]);
    assert_eq!(
        members(&t, "http://x/isa"),
        ["mammal", "dog", "puppy", "cat"]
    );
    assert_eq!(members(&t, "http://x/desc"), ["dog", "puppy", "cat"]);
    assert_eq!(members(&t, "http://x/notisa"), ["animal", "bird", "parrot"]);
    assert_eq!(
        members(&t, "http://x/gen"),
        ["animal", "mammal", "dog", "puppy"]
    );
    // `parent` property links parrot under bird.
    assert_eq!(members(&t, "http://x/birds"), ["bird", "parrot"]);
}

#[test]
fn property_filters() {
    let t = build(&[
        filter_vs("http://x/eq", "legs", "=", "2"),
        filter_vs("http://x/in", "sound", "in", "bark, meow"),
        filter_vs("http://x/regex", "code", "regex", "p.*"),
        filter_vs("http://x/exists", "sound", "exists", "true"),
        filter_vs("http://x/parent", "parent", "=", "mammal"),
        filter_vs("http://x/bad", "legs", "is-a", "2"),
    ]);
    assert_eq!(members(&t, "http://x/eq"), ["bird", "parrot"]);
    assert_eq!(members(&t, "http://x/in"), ["dog", "cat"]);
    assert_eq!(members(&t, "http://x/regex"), ["puppy", "parrot"]);
    assert_eq!(members(&t, "http://x/exists"), ["dog", "cat"]);
    assert_eq!(members(&t, "http://x/parent"), ["dog", "cat"]);
    // A filter that cannot be evaluated: not checked, never a false error.
    match t.check_code("http://x/bad", Some(CS), "dog", None) {
        Membership::NotChecked { kind, .. } => assert_eq!(kind, NotCheckedKind::TooComplex),
        other => panic!("{other:?}"),
    }
}

#[test]
fn imports_intersect_and_exclude() {
    let t = build(&[
        filter_vs("http://x/mammals", "concept", "is-a", "mammal"),
        filter_vs("http://x/four", "legs", "=", "4"),
        // Two value sets in one include: intersection.
        vs(
            "http://x/both",
            json!({"include": [{"valueSet": ["http://x/mammals", "http://x/four"]}]}),
        ),
        // System concepts and a value set in one include: intersection.
        vs(
            "http://x/sysvs",
            json!({"include": [{"system": CS, "concept": [{"code": "dog"}, {"code": "bird"}], "valueSet": ["http://x/mammals"]}]}),
        ),
        // Separate includes: union; then exclude.
        vs(
            "http://x/union",
            json!({
                "include": [{"valueSet": ["http://x/mammals"]}, {"system": CS, "concept": [{"code": "bird"}]}],
                "exclude": [{"system": CS, "concept": [{"code": "puppy"}]}, {"system": CS, "filter": [{"property": "sound", "op": "=", "value": "meow"}]}]
            }),
        ),
    ]);
    assert_eq!(members(&t, "http://x/both"), ["dog", "puppy", "cat"]);
    assert_eq!(members(&t, "http://x/sysvs"), ["dog"]);
    assert_eq!(members(&t, "http://x/union"), ["mammal", "dog", "bird"]);
}

#[test]
fn precomputed_expansion_is_used() {
    let mut v = vs(
        "http://x/exp",
        json!({"include": [{"valueSet": ["http://not/loaded"]}]}),
    );
    v["expansion"] = json!({"total": 2, "contains": [
        {"system": CS, "code": "cat"},
        {"system": "http://loinc.org", "code": "1234-5", "contains": [{"system": "http://loinc.org", "code": "9999-9"}]}
    ]});
    let mut partial = vs(
        "http://x/partial",
        json!({"include": [{"system": CS, "concept": [{"code": "dog"}]}]}),
    );
    partial["expansion"] = json!({"total": 50, "contains": [{"system": CS, "code": "cat"}]});
    let t = build(&[v, partial]);
    assert!(member(&t.check_code("http://x/exp", Some(CS), "cat", None)));
    assert!(member(&t.check_code(
        "http://x/exp",
        Some("http://loinc.org"),
        "9999-9",
        None
    )));
    assert_eq!(
        t.check_code("http://x/exp", Some("http://loinc.org"), "0000-0", None),
        Membership::NotMember
    );
    // An incomplete expansion is not trusted: the compose is used.
    assert_eq!(members(&t, "http://x/partial"), ["dog"]);
}

#[test]
fn unknown_imports_are_not_checked() {
    let t = build(&[vs(
        "http://x/imp",
        json!({"include": [{"valueSet": ["http://not/loaded"]}, {"system": CS, "concept": [{"code": "cat"}]}]}),
    )]);
    assert!(member(&t.check_code("http://x/imp", Some(CS), "cat", None)));
    match t.check_code("http://x/imp", Some(CS), "dog", None) {
        Membership::NotChecked { kind, reason } => {
            assert_eq!(kind, NotCheckedKind::UnknownValueSet);
            assert!(reason.contains("http://not/loaded"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.check_code("http://x/nope", None, "a", None),
        Membership::UnknownValueSet
    );
    assert!(!t.value_set_known("http://x/nope"));
    let incomplete = t.incomplete_value_sets();
    assert_eq!(incomplete.len(), 1, "{incomplete:?}");
    assert_eq!(incomplete[0].0, "http://x/imp");
    assert_eq!(incomplete[0].1, NotCheckedKind::UnknownValueSet);
}

#[test]
fn case_sensitivity() {
    let t = build(&[vs("http://x/ci", json!({"include": [{"system": CI}]}))]);
    assert!(member(&t.check_in_code_system(CI, "alpha", None)));
    assert!(member(&t.check_code(
        "http://x/ci",
        Some(CI),
        "ALPHA",
        None
    )));
    assert!(member(&t.check_in_code_system(CS, "dog", None)));
    assert_eq!(
        t.check_in_code_system(CS, "Dog", None),
        Membership::NotMember
    );
    let t2 = build(&[vs("http://x/cs", json!({"include": [{"system": CS}]}))]);
    assert_eq!(
        t2.check_code("http://x/cs", Some(CS), "DOG", None),
        Membership::NotMember
    );
}

#[test]
fn display_checks() {
    let t = build(&[vs("http://x/all", json!({"include": [{"system": CS}]}))]);
    let d = |display| match t.check_code("http://x/all", Some(CS), "dog", Some(display)) {
        Membership::Member { display } => display,
        other => panic!("{other:?}"),
    };
    assert_eq!(d("Dog"), DisplayCheck::Ok);
    assert_eq!(d("  dog "), DisplayCheck::Ok);
    assert_eq!(d("chien"), DisplayCheck::Ok);
    assert_eq!(
        d("Wolf"),
        DisplayCheck::Mismatch {
            expected: "Dog".into()
        }
    );
}

#[test]
fn external_systems_are_not_checked_until_a_code_list_is_given() {
    let loinc_vs = vs(
        "http://x/loinc",
        json!({"include": [{"system": "http://loinc.org"}, {"system": "http://snomed.info/sct", "filter": [{"property": "concept", "op": "is-a", "value": "404684003"}]}]}),
    );
    let t = build(std::slice::from_ref(&loinc_vs));
    for (sys, code) in [
        ("http://loinc.org", "8867-4"),
        ("http://snomed.info/sct", "1234"),
    ] {
        match t.check_code("http://x/loinc", Some(sys), code, None) {
            Membership::NotChecked { kind, reason } => {
                assert_eq!(kind, NotCheckedKind::ContentUnavailable);
                assert!(reason.contains(sys), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            t.check_in_code_system(sys, code, None),
            Membership::NotChecked { .. }
        ));
    }
    assert!(matches!(
        t.check_in_code_system("http://unheard.of/cs", "x", None),
        Membership::NotChecked {
            kind: NotCheckedKind::UnknownCodeSystem,
            ..
        }
    ));
    // With a code list, LOINC is checked for real.
    let mut b = TerminologyBuilder::new();
    b.add_value_set(&loinc_vs, "test");
    b.add_code_list(
        "http://loinc.org",
        "# LOINC subset\n8867-4\tHeart rate\n\n9279-1\r\n",
    );
    let t = b.build();
    match t.check_code(
        "http://x/loinc",
        Some("http://loinc.org"),
        "8867-4",
        Some("Pulse"),
    ) {
        Membership::Member { display } => assert_eq!(
            display,
            DisplayCheck::Mismatch {
                expected: "Heart rate".into()
            }
        ),
        other => panic!("{other:?}"),
    }
    assert!(member(&t.check_code(
        "http://x/loinc",
        Some("http://loinc.org"),
        "9279-1",
        None
    )));
    assert_eq!(
        t.check_code("http://x/loinc", Some("http://loinc.org"), "0000-0", None),
        Membership::NotMember
    );
    assert_eq!(
        t.check_in_code_system("http://loinc.org", "0000-0", None),
        Membership::NotMember
    );
}

#[test]
fn ucum_syntax() {
    for ok in [
        "mg/dL",
        "mmol/L",
        "kg/m2",
        "/min",
        "%",
        "[in_i]",
        "[lb_av]",
        "{score}",
        "1",
        "a",
        "mo",
        "wk",
        "d",
        "h",
        "min",
        "s",
        "mm[Hg]",
        "Cel",
        "[degF]",
        "10*3/uL",
        "10*-3",
        "mL/min/{1.73_m2}",
        "mg/(24.h)",
        "ug/mL",
        "[iU]/L",
        "kg{total}",
        "cm",
        "g/dL",
        "m/s2",
        "mL/{h'b}",
        "[ppm]",
        "ng/mL",
    ] {
        assert!(Terminology::is_valid_ucum(ok), "{ok} should be valid");
    }
    for bad in [
        "",
        "mg/",
        "/",
        "kg m",
        "xyz",
        "mg//dL",
        "{unclosed",
        "mg)",
        "(mg",
        "lbs",
        "Kg",
        "[in_i",
        "degF",
        "mg/dl2x",
        "kmin",
    ] {
        assert!(!Terminology::is_valid_ucum(bad), "{bad} should be invalid");
    }
}

#[test]
fn syntax_systems_and_ucum_value_set() {
    let t = build(&[
        vs("http://x/lang", json!({"include": [{"system": BCP47}]})),
        vs("http://x/ucum", json!({"include": [{"system": UCUM}]})),
    ]);
    assert!(member(&t.check_code(
        "http://x/lang",
        Some(BCP47),
        "en-US",
        None
    )));
    assert!(member(&t.check_code(
        "http://x/lang",
        None,
        "zh-Hant-TW",
        None
    )));
    assert_eq!(
        t.check_code("http://x/lang", None, "english!", None),
        Membership::NotMember
    );
    assert!(member(&t.check_code("http://x/ucum", None, "mg/dL", None)));
    assert_eq!(
        t.check_code("http://x/ucum", None, "mg/dx", None),
        Membership::NotMember
    );
    let any = "http://terminology.hl7.org/ValueSet/v3-UnitsOfMeasureCaseSensitive";
    assert!(t.value_set_known(any));
    assert!(member(&t.check_code(any, Some(UCUM), "kg/m2", None)));
    assert_eq!(
        t.check_code(any, Some(UCUM), "kilos", None),
        Membership::NotMember
    );
    assert_eq!(
        t.check_code(any, Some("http://other"), "kg", None),
        Membership::NotMember
    );
    assert!(is_valid_bcp47("x-private"));
    assert!(!is_valid_bcp47("e"));
}

fn ids(f: &[BindingFinding]) -> Vec<(&'static str, Severity, &str)> {
    f.iter()
        .map(|f| (f.message_id, f.severity, f.path.as_str()))
        .collect()
}

fn coding<'a>(system: &'a str, code: &'a str, display: Option<&'a str>) -> CodingRef<'a> {
    CodingRef {
        system: Some(system),
        code: Some(code),
        display,
    }
}

#[test]
fn binding_strengths_for_code_and_string() {
    let t = build(&[filter_vs("http://x/mammals", "concept", "is-a", "mammal")]);
    let vs = "http://x/mammals";
    for value in [BindingValue::Code("dog"), BindingValue::String("dog")] {
        assert!(check_binding(&t, "required", vs, value).is_empty());
    }
    let bad = || BindingValue::Code("bird");
    assert_eq!(
        ids(&check_binding(&t, "required", vs, bad())),
        [(messages::CODE_NOT_IN_VALUESET, Severity::Error, "")]
    );
    assert_eq!(
        ids(&check_binding(&t, "extensible", vs, bad())),
        [(
            messages::CODE_NOT_IN_VALUESET_EXTENSIBLE,
            Severity::Warning,
            ""
        )]
    );
    assert!(check_binding(&t, "preferred", vs, bad()).is_empty());
    assert!(check_binding(&t, "example", vs, bad()).is_empty());
    assert_eq!(
        ids(&check_binding(
            &t,
            "required",
            vs,
            BindingValue::String("bird")
        )),
        [(messages::CODE_NOT_IN_VALUESET, Severity::Error, "")]
    );
    assert_eq!(
        ids(&check_binding(&t, "required", "http://x/missing", bad())),
        [(messages::VALUESET_UNKNOWN, Severity::Warning, "")]
    );
}

#[test]
fn binding_for_coding() {
    let t = build(&[filter_vs("http://x/mammals", "concept", "is-a", "mammal")]);
    let vs = "http://x/mammals";
    let c = |code, display| BindingValue::Coding(coding(CS, code, display));
    assert!(check_binding(&t, "required", vs, c("dog", Some("Dog"))).is_empty());
    assert_eq!(
        ids(&check_binding(&t, "required", vs, c("dog", Some("Wolf")))),
        [(messages::DISPLAY_MISMATCH, Severity::Warning, "display")]
    );
    assert_eq!(
        ids(&check_binding(&t, "required", vs, c("bird", None))),
        [(messages::CODE_NOT_IN_VALUESET, Severity::Error, "")]
    );
    assert_eq!(
        ids(&check_binding(&t, "extensible", vs, c("unicorn", None))),
        [
            (
                messages::CODE_NOT_IN_VALUESET_EXTENSIBLE,
                Severity::Warning,
                ""
            ),
            (
                messages::CODE_UNKNOWN_IN_CODESYSTEM,
                Severity::Error,
                "code"
            )
        ]
    );
    // A code from another (external) system under an extensible binding.
    let loinc = BindingValue::Coding(coding("http://loinc.org", "8867-4", None));
    assert_eq!(
        ids(&check_binding(&t, "extensible", vs, loinc)),
        [(
            messages::CODE_NOT_IN_VALUESET_EXTENSIBLE,
            Severity::Warning,
            ""
        )]
    );
}

#[test]
fn binding_for_codeable_concept() {
    let t = build(&[
        filter_vs("http://x/mammals", "concept", "is-a", "mammal"),
        vs(
            "http://x/snomed",
            json!({"include": [{"system": "http://snomed.info/sct"}]}),
        ),
    ]);
    let vs = "http://x/mammals";
    let cc =
        |codings: Vec<CodingRef<'static>>, text| BindingValue::CodeableConcept { codings, text };
    // One coding in the value set is enough; a wrong display still warns.
    assert_eq!(
        ids(&check_binding(
            &t,
            "required",
            vs,
            cc(
                vec![coding(CS, "bird", None), coding(CS, "cat", Some("Kitty"))],
                None
            )
        )),
        [(
            messages::DISPLAY_MISMATCH,
            Severity::Warning,
            "coding[1].display"
        )]
    );
    assert_eq!(
        ids(&check_binding(
            &t,
            "required",
            vs,
            cc(vec![coding(CS, "bird", None)], None)
        )),
        [(messages::CODE_NOT_IN_VALUESET, Severity::Error, "")]
    );
    // Text only: an error for required, fine for extensible.
    assert_eq!(
        ids(&check_binding(
            &t,
            "required",
            vs,
            cc(vec![], Some("a dog"))
        )),
        [(messages::CODE_NOT_IN_VALUESET, Severity::Error, "")]
    );
    assert!(check_binding(&t, "extensible", vs, cc(vec![], Some("a dog"))).is_empty());
    assert_eq!(
        ids(&check_binding(
            &t,
            "extensible",
            vs,
            cc(vec![coding(CS, "bird", None)], None)
        )),
        [(
            messages::CODE_NOT_IN_VALUESET_EXTENSIBLE,
            Severity::Warning,
            ""
        )]
    );
    assert!(check_binding(
        &t,
        "preferred",
        vs,
        cc(vec![coding(CS, "bird", None)], None)
    )
    .is_empty());
    // SNOMED: not checked, information, never an error.
    let f = check_binding(
        &t,
        "required",
        "http://x/snomed",
        cc(
            vec![coding("http://snomed.info/sct", "38341003", None)],
            None,
        ),
    );
    assert_eq!(
        ids(&f),
        [(
            messages::CODE_NOT_CHECKED,
            Severity::Information,
            "coding[0]"
        )]
    );
}

#[test]
fn binding_for_quantity() {
    let t = build(&[vs(
        "http://x/units",
        json!({"include": [{"system": UCUM, "concept": [{"code": "mg/dL"}, {"code": "mmol/L"}]}]}),
    )]);
    let q = |code| BindingValue::Quantity {
        system: Some(UCUM),
        code: Some(code),
    };
    assert!(check_binding(&t, "required", "http://x/units", q("mg/dL")).is_empty());
    assert_eq!(
        ids(&check_binding(&t, "required", "http://x/units", q("kg"))),
        [(messages::CODE_NOT_IN_VALUESET, Severity::Error, "code")]
    );
    assert_eq!(
        ids(&check_binding(&t, "extensible", "http://x/units", q("kg"))),
        [(
            messages::CODE_NOT_IN_VALUESET_EXTENSIBLE,
            Severity::Warning,
            "code"
        )]
    );
    assert_eq!(
        ids(&check_binding(
            &t,
            "preferred",
            "http://x/units",
            q("mg/dx")
        )),
        [(messages::UCUM_INVALID, Severity::Error, "code")]
    );
    let any = "http://terminology.hl7.org/ValueSet/v3-UnitsOfMeasureCaseSensitive";
    assert!(check_binding(&t, "required", any, q("{score}")).is_empty());
    assert_eq!(
        ids(&check_binding(&t, "required", any, q("bogus"))),
        [(messages::UCUM_INVALID, Severity::Error, "code")]
    );
}

#[test]
fn postcard_round_trip() {
    let t = build(&[
        filter_vs("http://x/mammals", "concept", "is-a", "mammal"),
        vs(
            "http://x/loinc",
            json!({"include": [{"system": "http://loinc.org"}]}),
        ),
    ]);
    let bytes = postcard::to_allocvec(&t).unwrap();
    let back: Terminology = postcard::from_bytes(&bytes).unwrap();
    assert!(member(&back.check_code(
        "http://x/mammals",
        Some(CS),
        "dog",
        None
    )));
    assert_eq!(
        back.check_code("http://x/mammals", Some(CS), "bird", None),
        Membership::NotMember
    );
    assert!(matches!(
        back.check_code("http://x/loinc", None, "1-8", None),
        Membership::NotChecked { .. }
    ));
}

#[test]
fn version_mismatch_and_empty_complete_systems_are_not_trusted_to_reject() {
    let mut cs = animals();
    cs["version"] = json!("1.0");
    let mut b = TerminologyBuilder::new();
    b.add_code_system(&cs, "test");
    b.add_code_system(
        &json!({"resourceType": "CodeSystem", "url": "http://x/empty", "content": "complete"}),
        "test",
    );
    for (url, version) in [("http://x/v1", "1.0"), ("http://x/v2", "2.0")] {
        b.add_value_set(
            &vs(
                url,
                json!({"include": [{"system": CS, "version": version}]}),
            ),
            "test",
        );
    }
    b.add_value_set(
        &vs(
            "http://x/empty-vs",
            json!({"include": [{"system": "http://x/empty"}]}),
        ),
        "test",
    );
    let t = b.build();
    assert_eq!(
        t.check_code("http://x/v1", Some(CS), "unicorn", None),
        Membership::NotMember
    );
    assert!(member(&t.check_code("http://x/v2", Some(CS), "dog", None)));
    match t.check_code("http://x/v2", Some(CS), "unicorn", None) {
        Membership::NotChecked { kind, reason } => {
            assert_eq!(kind, NotCheckedKind::ContentUnavailable);
            assert!(reason.contains("2.0"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        t.check_code("http://x/empty-vs", None, "anything", None),
        Membership::NotChecked { .. }
    ));
    assert!(matches!(
        t.check_in_code_system("http://x/empty", "anything", None),
        Membership::NotChecked { .. }
    ));
}

#[test]
fn undecided_membership_does_not_turn_into_a_code_system_error() {
    let mut cs = animals();
    cs["version"] = json!("1.0");
    let mut b = TerminologyBuilder::new();
    b.add_code_system(&cs, "test");
    b.add_value_set(
        &vs(
            "http://x/v2",
            json!({"include": [{"system": CS, "version": "2.0"}]}),
        ),
        "test",
    );
    let t = b.build();
    let f = check_binding(
        &t,
        "required",
        "http://x/v2",
        BindingValue::Coding(coding(CS, "axolotl", None)),
    );
    assert_eq!(
        ids(&f),
        [(messages::CODE_NOT_CHECKED, Severity::Information, "")]
    );
    // Display checks still use the loaded code system.
    let f = check_binding(
        &t,
        "required",
        "http://x/v2",
        BindingValue::Coding(coding(CS, "dog", Some("Wolf"))),
    );
    assert_eq!(
        ids(&f),
        [(messages::DISPLAY_MISMATCH, Severity::Warning, "display")]
    );
}

#[test]
fn ucum_parser_never_panics_and_rejects_garbage() {
    let alphabet = [
        "m", "g", "/", ".", "(", ")", "{", "}", "[", "]", "1", "-", "é", " ", "*", "^",
    ];
    let mut valid = 0;
    for a in alphabet {
        for b in alphabet {
            for c in alphabet {
                let s = format!("{a}{b}{c}");
                if Terminology::is_valid_ucum(&s) {
                    valid += 1;
                    assert!(!s.contains(' ') && !s.contains('é'), "{s}");
                }
            }
        }
    }
    // Some combinations are valid (`m/g`, `mg1`, `(m)`...), most are not.
    assert!(valid > 10 && valid < 500, "{valid}");
    assert!(!Terminology::is_valid_ucum(&"(".repeat(100)));
    assert!(!Terminology::is_valid_ucum(&format!(
        "{}m{}",
        "(".repeat(40),
        ")".repeat(40)
    )));
}

#[test]
fn build_is_deterministic() {
    let sets = || {
        [
            filter_vs("http://x/mammals", "concept", "is-a", "mammal"),
            vs(
                "http://x/mixed",
                json!({"include": [{"valueSet": ["http://x/mammals", "http://not/loaded"]}, {"system": "http://loinc.org"}],
                       "exclude": [{"valueSet": ["http://also/missing"]}]}),
            ),
        ]
    };
    let a = postcard::to_allocvec(&build(&sets())).unwrap();
    let b = postcard::to_allocvec(&build(&sets())).unwrap();
    assert_eq!(a, b);
}
