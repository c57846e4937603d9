//! Every SHIN-NY error-severity invariant (constraints whose `source` is a
//! SHIN-NY profile) broken on purpose: a valid example bundle gets one
//! minimal JSON edit, and exactly that key must fire as an error. A second
//! test reads the IG's StructureDefinitions at run time and fails if a
//! SHIN-NY error-level key has no case here (or is not listed as
//! untestable with a reason).

use serde_json::{json, Value};
use shinny_engine::{
    Context, ContextSet, IssueType, OperationOutcome, Severity, ValidationOptions,
};
use std::collections::BTreeSet;
use std::sync::OnceLock;

const PROD: &str = "us.ny.hrsn#1.9.4";
const TEST: &str = "us.ny.hrsn#1.9.4-test";

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(shinny_suite::shinny_context)
}

/// Production and `-test` canonicals side by side; `meta.profile` picks.
fn set() -> &'static ContextSet {
    static SET: OnceLock<ContextSet> = OnceLock::new();
    SET.get_or_init(|| {
        let test = shinny_suite::shinny_test_context();
        ContextSet::new(vec![shinny_suite::shinny_context(), test]).unwrap()
    })
}

fn example(package: &str, name: &str) -> Value {
    let p = shinny_suite::package_cache()
        .join(package)
        .join("package/example")
        .join(format!("Bundle-{name}.json"));
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// The resource of the entry with this type and id.
fn res<'a>(b: &'a mut Value, ty: &str, id: &str) -> &'a mut Value {
    b["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|e| &mut e["resource"])
        .find(|r| r["resourceType"] == ty && r["id"] == id)
        .unwrap_or_else(|| panic!("no {ty}/{id} in the example"))
}

/// Removes the entries whose resource has this type.
fn drop_entries(b: &mut Value, ty: &str) {
    let entries = b["entry"].as_array_mut().unwrap();
    let before = entries.len();
    entries.retain(|e| e["resource"]["resourceType"] != ty);
    assert!(entries.len() < before, "no {ty} entry to remove");
}

fn remove(v: &mut Value, key: &str) {
    assert!(
        v.as_object_mut().unwrap().remove(key).is_some(),
        "no {key} to remove"
    );
}

/// One way to break one invariant.
struct Case {
    /// The id of the StructureDefinition the constraint comes from.
    profile: &'static str,
    key: &'static str,
    /// `Bundle-<example>.json`.
    example: &'static str,
    mutate: fn(&mut Value),
    /// Other error ids the edit necessarily causes (why: see the case).
    also: &'static [&'static str],
    /// Profiles to validate against beyond `meta.profile`.
    profiles: &'static [&'static str],
}

const PATIENT: &str = "PatientExample";
const AHC: &str = "AHCHRSNScreeningResponseExample";
const HOUSING: &str = "ObservationResponseInadequateHousing96778-6";
const AHC_GROUP: &str = "ObservationResponseMainAHCScreeningGroup96777-8";

fn cases() -> Vec<Case> {
    vec![
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Patient-MRN",
            example: AHC,
            // A blank MR value: no MR identifier with a value is left.
            mutate: |b| res(b, "Patient", PATIENT)["identifier"][0]["value"] = json!(" "),
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Patient-MA",
            example: AHC,
            // Medicaid ids are 2 letters, 5 digits, 1 letter.
            mutate: |b| res(b, "Patient", PATIENT)["identifier"][1]["value"] = json!("A112345C"),
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Patient-DOB",
            example: AHC,
            // A valid FHIR date, but not YYYY-MM-DD.
            mutate: |b| res(b, "Patient", PATIENT)["birthDate"] = json!("1981-07"),
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Patient-Gender",
            example: AHC,
            // gender is 1..1 in US Core: keep the element but without a value
            // (a data-absent-reason extension), so only the invariant fails.
            mutate: |b| {
                let p = res(b, "Patient", PATIENT);
                remove(p, "gender");
                p["_gender"] = json!({"extension": [{
                    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                    "valueCode": "unknown"
                }]});
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-Obs-hasMember-RI",
            example: AHC,
            // Two members the same: intersect() deduplicates, so fewer
            // members resolve than are listed.
            mutate: |b| {
                let g = res(b, "Observation", AHC_GROUP);
                g["hasMember"][1] = g["hasMember"][0].clone();
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-Obs-derivedFrom-RI",
            example: AHC,
            mutate: |b| {
                let o = res(b, "Observation", "ObservationResponseMentalStateScore");
                o["derivedFrom"][1] = o["derivedFrom"][0].clone();
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Obs-Category",
            example: AHC,
            // The SDOH category coding gets another system.
            mutate: |b| {
                res(b, "Observation", HOUSING)["category"][0]["coding"][0]["system"] =
                    json!("http://example.org/other-categories")
            },
            // The observation profile's required 'SDOH' category slice
            // (matched by value set membership) is left empty too.
            also: &["SLICE_CARDINALITY_MIN"],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Screening-Patient",
            example: AHC,
            // The group's subject by display only (subject is 1..1).
            mutate: |b| res(b, "Observation", AHC_GROUP)["subject"] = json!({"display": "Patient"}),
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Screening-Consent",
            example: AHC,
            mutate: |b| drop_entries(b, "Consent"),
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Assessment-Encounter",
            example: "ObservationAssessmentFoodInsecurityExample",
            // The encounter by display only (encounter is 1..1).
            mutate: |b| {
                res(b, "Observation", "AssessmentFoodInsecurityExample")["encounter"] =
                    json!({"display": "Visit"})
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Assessment-Patient",
            example: "ObservationAssessmentFoodInsecurityExample",
            mutate: |b| {
                res(b, "Observation", "AssessmentFoodInsecurityExample")["subject"] =
                    json!({"display": "Patient"})
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNYServiceRequestSDOHCategory",
            example: "ServiceRequestExample",
            mutate: |b| {
                res(b, "ServiceRequest", "ServiceRequestActiveExample")["category"][1]["coding"]
                    [0]["system"] = json!("http://example.org/other-categories")
            },
            // As above: the ServiceRequest profile's 'SDOH' category slice.
            also: &["SLICE_CARDINALITY_MIN"],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "Task-StatusReason",
            example: "TaskCompletedExample",
            // A completed task without a status reason (statusReason is
            // 0..1; only its text is 1..1).
            mutate: |b| {
                remove(
                    res(b, "Task", "TaskReferralCompletedExample"),
                    "statusReason",
                )
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-Required-Resources",
            example: "PatientNegativeConsent",
            // Nothing in this bundle refers to its Encounter.
            mutate: |b| drop_entries(b, "Encounter"),
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-Patient-Org-RI",
            example: AHC,
            // The MR assigner names an organization that is not in the
            // bundle (an unresolved Type/id reference is not an error).
            mutate: |b| {
                res(b, "Patient", PATIENT)["identifier"][0]["assigner"]["reference"] =
                    json!("Organization/ElsewhereOrg")
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-Encounter-RI",
            example: AHC,
            // The procedure's encounter is not in the bundle (not an
            // Observation, so the Observation rules do not see it).
            mutate: |b| {
                res(b, "Procedure", "ScreeningProcedureExample")["encounter"]["reference"] =
                    json!("Encounter/ElsewhereEncounter")
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-Obs-Encounter-RI",
            example: AHC,
            // A second, unreferenced Encounter: the screening responses'
            // encounters no longer equal the bundle's.
            mutate: |b| {
                let mut e = b["entry"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["resource"]["resourceType"] == "Encounter")
                    .unwrap()
                    .clone();
                e["fullUrl"] = json!("http://shinny.org/us/ny/hrsn/Encounter/SecondEncounter");
                e["resource"]["id"] = json!("SecondEncounter");
                b["entry"].as_array_mut().unwrap().push(e);
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-Obs-Patient-RI",
            example: "ObservationAssessmentFoodInsecurityExample",
            // Two SHIN-NY observations share one encounter reference that
            // does not contain the Encounter's id. The screening response
            // loses its encounter so that the distinct references stay a
            // single string (`contains()` is the string function here);
            // its encounter is 1..1, so it keeps one by display.
            // Also SHINNY-Bundle-Encounter-RI, necessarily: with one
            // Encounter in the bundle, a reference not containing its id
            // cannot have it after the '/' either.
            mutate: |b| {
                let elsewhere = json!({"reference": "Encounter/ElsewhereEncounter"});
                res(b, "Observation", "AssessmentFoodInsecurityExample")["encounter"] =
                    elsewhere.clone();
                res(b, "Observation", "SexualOrientationExample")["encounter"] = elsewhere;
                res(b, "Observation", "ObservationResponseFoodInsecurity88122-7")["encounter"] =
                    json!({"display": "Visit"});
            },
            also: &["SHINNY-Bundle-Encounter-RI"],
            profiles: &[],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Bundle-screening-consent",
            example: AHC,
            // The rule applies only when the Bundle's meta.profile is not
            // the SHIN-NY Bundle profile, so the profile is requested
            // explicitly and meta.profile names base Bundle; then the
            // Consent is removed. SHINNY-Resources-Profile-Check fails too
            // (it requires that meta.profile: the two rules exclude each
            // other), and so does SHINNY-Screening-Consent (screening
            // responses without a Consent).
            mutate: |b| {
                b["meta"]["profile"] = json!(["http://hl7.org/fhir/StructureDefinition/Bundle"]);
                drop_entries(b, "Consent");
            },
            also: &["SHINNY-Resources-Profile-Check", "SHINNY-Screening-Consent"],
            profiles: &["http://shinny.org/us/ny/hrsn/StructureDefinition/SHINNYBundleProfile"],
        },
        Case {
            profile: "SHINNYBundleProfile",
            key: "SHINNY-Resources-Profile-Check",
            example: AHC,
            // The Patient claims US Core Patient instead of shinny-patient.
            mutate: |b| {
                res(b, "Patient", PATIENT)["meta"]["profile"] =
                    json!(["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"])
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "SHINNY-SDOHCC-Condition",
            key: "Condition-RecordedDate",
            example: "ObservationAssessmentFoodInsecurityExample",
            mutate: |b| {
                remove(
                    res(b, "Condition", "ConditionFoodInsecurityExample"),
                    "recordedDate",
                )
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "shin-ny-organization",
            key: "Organization-ID",
            example: AHC,
            // No identifier type code at all: the NPI identifier's type as
            // text only. (Any other code would not do: in the IG's
            // expression `(identifier.type.coding.code='TAX').exists()` is
            // true as soon as some code exists, since `exists()` of `false`
            // is true; the rule only fails when no type code is present.)
            mutate: |b| {
                res(b, "Organization", "OrganizationExampleOther-SCN1")["identifier"][1]["type"] =
                    json!({"text": "NPI"})
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "shin-ny-organization",
            key: "SHINNY-ZipCode",
            example: AHC,
            mutate: |b| {
                res(b, "Organization", "OrganizationExampleOther-SCN1")["address"][0]
                    ["postalCode"] = json!("1180")
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "shinny-patient",
            key: "SHINNY-ZipCode",
            example: AHC,
            mutate: |b| res(b, "Patient", PATIENT)["address"][0]["postalCode"] = json!("10032-12"),
            // The Encounter's subject must conform to shinny-patient, which
            // the patient no longer does.
            also: &["REFERENCE_TARGET_PROFILE"],
            profiles: &[],
        },
        Case {
            profile: "shinny-observation-assessment",
            key: "Observation-PerformerOrganizationAssessment",
            example: "ObservationAssessmentFoodInsecurityExample",
            // Performed by the practitioner in the bundle instead.
            mutate: |b| {
                res(b, "Observation", "AssessmentFoodInsecurityExample")["performer"] =
                    json!([{"reference": "Practitioner/PractitionerExampleCBO"}])
            },
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "shinny-observation-screening-response",
            key: "Observation-PerformerOrganizationScreening",
            example: AHC,
            mutate: |b| remove(res(b, "Observation", AHC_GROUP), "performer"),
            also: &[],
            profiles: &[],
        },
        Case {
            profile: "shinny-observation-screening-response",
            key: "SHINNYScreeningHousingComponent",
            example: AHC,
            // The housing component keeps its code but loses its answer.
            mutate: |b| {
                remove(
                    &mut res(b, "Observation", HOUSING)["component"][0],
                    "valueCodeableConcept",
                )
            },
            also: &[],
            profiles: &[],
        },
    ]
}

/// Rules that no edit of a valid bundle can break alone, with the reason.
const UNTESTABLE: &[(&str, &str, &str)] = &[(
    "SHINNYBundleProfile",
    "SHINNY-Bundle-Required",
    "`select($this as Bundle).exists()` is evaluated on the Bundle itself, \
     so it is always true",
)];

/// Error issues (message id, profile id, text) of one validation.
fn errors(out: &OperationOutcome) -> Vec<(String, String, String)> {
    out.issues
        .iter()
        .filter(|i| i.severity >= Severity::Error)
        .map(|i| {
            let profile = i.profile.as_deref().unwrap_or("");
            let profile = profile.rsplit('/').next().unwrap_or("").to_string();
            (i.message_id.clone(), profile, i.text.clone())
        })
        .collect()
}

/// Runs every case on `package`'s examples; returns the mismatches.
fn run_cases(
    package: &str,
    cases: &[Case],
    validate: impl Fn(&Value, &ValidationOptions) -> OperationOutcome,
) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cases {
        let opts = ValidationOptions {
            profiles: c.profiles.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        };
        let original = example(package, c.example);
        let before = errors(&validate(&original, &ValidationOptions::default()));
        if !before.is_empty() {
            failures.push(format!(
                "{}: example {} not valid: {before:?}",
                c.key, c.example
            ));
            continue;
        }
        let mut b = original.clone();
        (c.mutate)(&mut b);
        let out = validate(&b, &opts);
        let got = errors(&out);
        let mut got_ids: Vec<&str> = got.iter().map(|(id, _, _)| id.as_str()).collect();
        got_ids.sort();
        let mut want: Vec<&str> = c.also.iter().copied().chain([c.key]).collect();
        want.sort();
        if got_ids != want {
            failures.push(format!(
                "{} ({}): want {want:?}, got {got:?}",
                c.key, c.profile
            ));
            continue;
        }
        // The key fired as an invariant of the profile it comes from.
        let issue = out
            .issues
            .iter()
            .find(|i| i.message_id == c.key && i.severity == Severity::Error)
            .unwrap();
        let from = issue.profile.as_deref().unwrap_or("");
        if issue.code != IssueType::Invariant
            || !from.ends_with(&format!("/{}", c.profile))
            || !issue
                .text
                .starts_with(&format!("Constraint failed: {}: '", c.key))
        {
            failures.push(format!("{}: unexpected issue {issue:?}", c.key));
        }
    }
    failures
}

#[test]
fn each_shinny_error_invariant_fires_alone() {
    let failures = run_cases(PROD, &cases(), |v, opts| {
        ctx().validate_bytes(serde_json::to_string(v).unwrap().as_bytes(), opts)
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

/// (StructureDefinition id, key) of every error-level constraint that a
/// SHIN-NY profile defines (its `source` is under the package canonical).
fn shinny_error_keys(package: &str, canonical: &str) -> BTreeSet<(String, String)> {
    let dir = shinny_suite::package_cache().join(package).join("package");
    let mut keys = BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("StructureDefinition-") && name.ends_with(".json")) {
            continue;
        }
        let sd: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        for el in sd["snapshot"]["element"].as_array().into_iter().flatten() {
            for c in el["constraint"].as_array().into_iter().flatten() {
                let source = c["source"].as_str().unwrap_or("");
                if c["severity"] == "error" && source.starts_with(canonical) {
                    let profile = source.rsplit('/').next().unwrap().to_string();
                    keys.insert((profile, c["key"].as_str().unwrap().to_string()));
                }
            }
        }
    }
    keys
}

#[test]
fn every_shinny_error_invariant_has_a_case() {
    let found = shinny_error_keys(PROD, "http://shinny.org/");
    assert!(found.len() > 20, "too few keys found: {found:?}");
    let mut listed = BTreeSet::new();
    for c in cases() {
        assert!(
            listed.insert((c.profile.to_string(), c.key.to_string())),
            "{} listed twice",
            c.key
        );
    }
    for (profile, key, _) in UNTESTABLE {
        assert!(listed.insert((profile.to_string(), key.to_string())));
    }
    let missing: Vec<_> = found.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&found).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "without a case: {missing:?}; not in the IG: {unknown:?}"
    );
    // The -test package has the same rules under its own canonical.
    assert_eq!(shinny_error_keys(TEST, "http://test.shinny.org/"), found);
}

/// The same edits on the `-test` package's examples (canonical
/// `http://test.shinny.org/...`), each bundle routed to its context by
/// `meta.profile`, give the same errors.
#[test]
fn test_canonical_invariants_fire_alone() {
    // Removing the Consent breaks a second rule there: see
    // `test_canonical_screening_consent`.
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.profiles.is_empty() && c.key != "SHINNY-Screening-Consent")
        .collect();
    assert!(cases.len() > 20);
    let failures = run_cases(TEST, &cases, |v, opts| {
        set().validate_bytes(serde_json::to_string(v).unwrap().as_bytes(), opts)
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

/// In the `-test` package, SHINNY-Bundle-screening-consent still compares
/// the Bundle's meta.profile with the *production* canonical (the other
/// rules were rewritten to `test.shinny.org`), so on a test bundle its
/// first condition always holds: removing the Consent is enough to break
/// it, alongside SHINNY-Screening-Consent (screening responses without a
/// Consent). In production the same edit breaks only the latter (see
/// `cases`).
#[test]
fn test_canonical_screening_consent() {
    let case = Case {
        profile: "SHINNYBundleProfile",
        key: "SHINNY-Bundle-screening-consent",
        example: AHC,
        mutate: |b| drop_entries(b, "Consent"),
        also: &["SHINNY-Screening-Consent"],
        profiles: &[],
    };
    let failures = run_cases(TEST, &[case], |v, opts| {
        set().validate_bytes(serde_json::to_string(v).unwrap().as_bytes(), opts)
    });
    assert!(failures.is_empty(), "{failures:#?}");
}
