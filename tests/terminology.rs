//! Offline terminology on the real SHIN-NY context: local value sets are
//! expanded exactly, external terminologies are reported as not checked.

use shinny_engine::messages;
use shinny_engine::terminology::{
    check_binding, BindingValue, CodingRef, DisplayCheck, Membership, NotCheckedKind,
};
use shinny_engine::{Context, Severity};
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        // Go through the artifact so the round trip is covered too.
        let built = shinny_suite::shinny_context();
        Context::from_artifact(&built.to_artifact()).expect("artifact loads")
    })
}

const PRONOUNS: &str = "http://shinny.org/us/ny/hrsn/ValueSet/SHINNYPersonalPronounsVS";
const GENDER: &str = "http://hl7.org/fhir/ValueSet/administrative-gender";
const LOINC: &str = "http://loinc.org";
const NULL_FLAVOR: &str = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";

fn is_member(m: &Membership) -> bool {
    matches!(m, Membership::Member { .. })
}

#[test]
fn shinny_pronouns_value_set_is_enumerated() {
    let t = ctx().terminology();
    assert!(t.value_set_known(PRONOUNS));
    for code in ["LA29518-0", "LA29519-8", "LA29520-6"] {
        assert!(
            is_member(&t.check_code(PRONOUNS, Some(LOINC), code, None)),
            "{code}"
        );
    }
    // An explicit list of LOINC answers is known exactly, even offline.
    assert_eq!(
        t.check_code(PRONOUNS, Some(LOINC), "LA12345-6", None),
        Membership::NotMember
    );
    assert!(is_member(&t.check_code(
        PRONOUNS,
        Some(NULL_FLAVOR),
        "UNK",
        None
    )));
    assert_eq!(
        t.check_code(PRONOUNS, Some(NULL_FLAVOR), "NI", None),
        Membership::NotMember
    );
    // The display is checked against the NullFlavor code system.
    assert_eq!(
        t.check_code(PRONOUNS, Some(NULL_FLAVOR), "UNK", Some("Unknown")),
        Membership::Member {
            display: DisplayCheck::Ok
        }
    );
    assert!(matches!(
        t.check_code(PRONOUNS, Some(NULL_FLAVOR), "UNK", Some("no idea")),
        Membership::Member {
            display: DisplayCheck::Mismatch { .. }
        }
    ));
}

#[test]
fn administrative_gender() {
    let t = ctx().terminology();
    for code in ["male", "female", "other", "unknown"] {
        assert!(is_member(&t.check_code(GENDER, None, code, None)), "{code}");
    }
    assert_eq!(
        t.check_code(GENDER, None, "Male", None),
        Membership::NotMember
    );
    assert_eq!(t.check_code(GENDER, None, "M", None), Membership::NotMember);
    let f = check_binding(t, "required", GENDER, BindingValue::Code("M"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].message_id, messages::CODE_NOT_IN_VALUESET);
    assert_eq!(f[0].severity, Severity::Error);
    assert!(check_binding(t, "required", GENDER, BindingValue::Code("female")).is_empty());
}

#[test]
fn loinc_and_snomed_value_sets_are_not_checked() {
    let t = ctx().terminology();
    for (vs, system, code) in [
        (
            "http://hl7.org/fhir/ValueSet/observation-codes",
            LOINC,
            "88122-7",
        ),
        (
            "http://hl7.org/fhir/us/core/ValueSet/us-core-diagnosticreport-report-and-note-codes",
            LOINC,
            "11506-3",
        ),
        (
            "http://shinny.org/us/ny/hrsn/ValueSet/SHINNYSNOMEDSDOHCategory",
            "http://snomed.info/sct",
            "160695008",
        ),
    ] {
        match t.check_code(vs, Some(system), code, None) {
            Membership::NotChecked { kind, reason } => {
                assert_eq!(kind, NotCheckedKind::ContentUnavailable, "{vs}");
                assert!(reason.contains(system), "{reason}");
            }
            other => panic!("{vs}: {other:?}"),
        }
        let f = check_binding(
            t,
            "required",
            vs,
            BindingValue::CodeableConcept {
                codings: vec![CodingRef {
                    system: Some(system),
                    code: Some(code),
                    display: None,
                }],
                text: None,
            },
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].message_id, messages::CODE_NOT_CHECKED);
        assert_eq!(f[0].severity, Severity::Information);
    }
}

#[test]
fn languages_and_units() {
    let t = ctx().terminology();
    let lang = "http://shinny.org/us/ny/hrsn/ValueSet/SHINNYLanguageVS";
    assert!(is_member(&t.check_code(
        lang,
        Some("urn:ietf:bcp:47"),
        "en-US",
        None
    )));
    assert_eq!(
        t.check_code(lang, Some("urn:ietf:bcp:47"), "not a tag", None),
        Membership::NotMember
    );
    // The screening valueQuantity binding: any valid UCUM code.
    let units = "http://terminology.hl7.org/ValueSet/v3-UnitsOfMeasureCaseSensitive";
    let q = |code| BindingValue::Quantity {
        system: Some("http://unitsofmeasure.org"),
        code: Some(code),
    };
    assert!(check_binding(t, "required", units, q("{score}")).is_empty());
    assert!(check_binding(t, "required", units, q("kg/m2")).is_empty());
    let f = check_binding(t, "required", units, q("pounds"));
    assert_eq!(f[0].message_id, messages::UCUM_INVALID);
}

#[test]
fn unknown_value_set_has_its_own_id() {
    let t = ctx().terminology();
    let f = check_binding(
        t,
        "required",
        "http://example.org/ValueSet/never-loaded",
        BindingValue::Code("x"),
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].message_id, messages::VALUESET_UNKNOWN);
    assert_eq!(f[0].severity, Severity::Warning);
}

#[test]
fn code_list_makes_loinc_checkable() {
    let mut b = shinny_engine::ContextBuilder::new();
    b.add_package(
        shinny_engine::PackageInfo {
            id: "hl7.fhir.r4.core".into(),
            version: "4.0.1".into(),
            canonical: None,
        },
        shinny_suite::package_files("hl7.fhir.r4.core#4.0.1"),
    );
    b.add_code_list(
        LOINC,
        "88122-7\tWithin the past 12Mo we worried\n8867-4\tHeart rate\n",
    );
    let ctx = b.build();
    let t = ctx.terminology();
    let vs = "http://hl7.org/fhir/ValueSet/observation-codes";
    assert!(is_member(&t.check_code(vs, Some(LOINC), "8867-4", None)));
    assert_eq!(
        t.check_code(vs, Some(LOINC), "0000-0", None),
        Membership::NotMember
    );
}

#[test]
fn newer_code_system_version_than_loaded_is_not_a_false_error() {
    // SHINNYIdentiferTypeVS includes v2-0203 version 5.0.0; r4.core has 2.9.
    let t = ctx().terminology();
    let vs = "http://shinny.org/us/ny/hrsn/ValueSet/SHINNYIdentiferTypeVS";
    let v2 = "http://terminology.hl7.org/CodeSystem/v2-0203";
    assert!(is_member(&t.check_code(vs, Some(v2), "MR", None)));
    assert!(matches!(
        t.check_code(vs, Some(v2), "NEWCODE", None),
        Membership::NotChecked {
            kind: NotCheckedKind::ContentUnavailable,
            ..
        }
    ));
    // A code from another system is still definitely not in it.
    assert_eq!(
        t.check_code(vs, Some("http://example.org/other"), "MR", None),
        Membership::NotMember
    );
}

#[test]
fn vsac_precomputed_expansion_is_exact() {
    // The VSAC subset carries expansions; its compose imports value sets
    // that are not loaded, so only the expansion makes it checkable.
    let t = ctx().terminology();
    let vs = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113762.1.4.1021.32";
    let sct = "http://snomed.info/sct";
    assert!(is_member(&t.check_code(vs, Some(sct), "407376001", None)));
    assert!(is_member(&t.check_code(
        vs,
        Some(sct),
        "33791000087105",
        None
    )));
    assert_eq!(
        t.check_code(vs, Some(sct), "38341003", None),
        Membership::NotMember
    );
    let f = check_binding(
        t,
        "extensible",
        vs,
        BindingValue::Coding(CodingRef {
            system: Some(sct),
            code: Some("38341003"),
            display: None,
        }),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].message_id, messages::CODE_NOT_IN_VALUESET_EXTENSIBLE);
}
