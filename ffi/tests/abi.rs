//! The C ABI contract, exercised through the exported functions: status
//! codes, NULL and invalid UTF-8 handling, the last-error message, output
//! handles on failure, validation results and policies.

use shinny::*;
use std::ffi::{c_char, CStr, CString};
use std::path::PathBuf;
use std::ptr::{null, null_mut, NonNull};
use std::sync::OnceLock;

fn packages_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir-packages")
}

fn example(name: &str) -> Vec<u8> {
    let p = packages_dir()
        .join("us.ny.hrsn#1.9.4/package/example")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const VALID: &str = "Bundle-AHCHRSNQuestionnaireResponseExample.json";

/// One context for all tests, built through the C entry point.
struct Shared(*mut ShinnyContext);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn ctx() -> *const ShinnyContext {
    static CTX: OnceLock<Shared> = OnceLock::new();
    CTX.get_or_init(|| {
        let dir = CString::new(packages_dir().to_str().unwrap()).unwrap();
        let mut out = null_mut();
        let st = unsafe { shinny_context_from_packages(dir.as_ptr(), null(), &mut out) };
        assert_eq!(st, ShinnyStatus::Ok, "{}", last_error());
        Shared(out)
    })
    .0
}

fn last_error() -> String {
    let p = shinny_last_error();
    if p.is_null() {
        return String::new();
    }
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

struct Validated {
    json: serde_json::Value,
    errors: usize,
    max: ShinnySeverity,
}

impl Validated {
    fn message_ids(&self) -> Vec<String> {
        self.json["issue"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| i["extension"].as_array().cloned().unwrap_or_default())
            .filter(|e| {
                e["url"]
                    .as_str()
                    .is_some_and(|u| u.ends_with("/operationoutcome-message-id"))
            })
            .map(|e| e["valueString"].as_str().unwrap().to_string())
            .collect()
    }
}

fn validate(input: &[u8], profile: Option<&str>, policy: *const ShinnyPolicy) -> Validated {
    let profile = profile.map(|p| CString::new(p).unwrap());
    let mut r = null_mut();
    unsafe {
        let st = shinny_validate(
            ctx(),
            input.as_ptr(),
            input.len(),
            profile.as_ref().map_or(null(), |p| p.as_ptr()),
            policy,
            &mut r,
        );
        assert_eq!(st, ShinnyStatus::Ok, "{}", last_error());
        let mut json: *const c_char = null();
        let mut len = 0usize;
        assert_eq!(
            shinny_result_outcome_json(r, &mut json, &mut len),
            ShinnyStatus::Ok
        );
        let text = CStr::from_ptr(json).to_str().unwrap();
        assert_eq!(text.len(), len, "length excludes the NUL");
        // A second call hands out the same string.
        let mut again: *const c_char = null();
        shinny_result_outcome_json(r, &mut again, null_mut());
        assert_eq!(again, json);
        let mut errors = usize::MAX;
        assert_eq!(shinny_result_error_count(r, &mut errors), ShinnyStatus::Ok);
        let mut max = ShinnySeverity::Fatal;
        assert_eq!(shinny_result_max_severity(r, &mut max), ShinnyStatus::Ok);
        let v = Validated {
            json: serde_json::from_str(text).unwrap(),
            errors,
            max,
        };
        shinny_result_free(r);
        v
    }
}

#[test]
fn versions() {
    assert_eq!(shinny_abi_version(), SHINNY_ABI_VERSION);
    let v = unsafe { CStr::from_ptr(shinny_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn valid_bundle_has_no_error() {
    let v = validate(&example(VALID), None, null());
    assert_eq!(v.errors, 0, "{}", v.json);
    assert!((v.max as u32) < ShinnySeverity::Error as u32);
    assert_eq!(v.json["resourceType"], "OperationOutcome");
    assert!(last_error().is_empty(), "success clears the last error");
}

#[test]
fn missing_required_element_is_reported() {
    let mut b: serde_json::Value = serde_json::from_slice(&example(VALID)).unwrap();
    b.as_object_mut().unwrap().remove("type");
    let v = validate(b.to_string().as_bytes(), None, null());
    assert!(v.errors >= 1);
    assert_eq!(v.max, ShinnySeverity::Error);
    assert!(
        v.message_ids().iter().any(|m| m == "CARDINALITY_MIN"),
        "{}",
        v.json
    );
}

#[test]
fn unparseable_input_is_a_fatal_issue_not_a_call_failure() {
    for input in [
        &b"{\"resourceType\": "[..],
        &[0xff, 0xfe, 0x00][..],
        &b""[..],
    ] {
        let v = validate(input, None, null());
        assert_eq!(v.max, ShinnySeverity::Fatal);
        assert_eq!(v.errors, 1);
        assert_eq!(v.message_ids(), vec!["JSON_SYNTAX".to_string()]);
    }
}

#[test]
fn null_pointers_give_a_status_and_null_outputs() {
    unsafe {
        let mut c = NonNull::<ShinnyContext>::dangling().as_ptr();
        assert_eq!(
            shinny_context_from_artifact_file(null(), &mut c),
            ShinnyStatus::NullPointer
        );
        assert!(c.is_null(), "the output handle is set to NULL on failure");
        assert!(last_error().contains("path"), "{}", last_error());
        assert_eq!(
            shinny_context_from_artifact(null(), 10, &mut c),
            ShinnyStatus::NullPointer
        );
        assert_eq!(
            shinny_context_from_artifact(null(), 0, null_mut()),
            ShinnyStatus::NullPointer
        );
        let mut r = NonNull::<ShinnyResult>::dangling().as_ptr();
        let input = b"{}";
        assert_eq!(
            shinny_validate(null(), input.as_ptr(), 2, null(), null(), &mut r),
            ShinnyStatus::NullPointer
        );
        assert!(r.is_null());
        assert!(last_error().contains("ctx"));
        assert_eq!(
            shinny_validate(ctx(), null(), 2, null(), null(), &mut r),
            ShinnyStatus::NullPointer
        );
        let mut n = 0usize;
        assert_eq!(
            shinny_result_error_count(null(), &mut n),
            ShinnyStatus::NullPointer
        );
        let mut s = ShinnySeverity::None;
        assert_eq!(
            shinny_result_max_severity(null(), &mut s),
            ShinnyStatus::NullPointer
        );
        let mut j: *const c_char = NonNull::<c_char>::dangling().as_ptr().cast_const();
        assert_eq!(
            shinny_result_outcome_json(null(), &mut j, null_mut()),
            ShinnyStatus::NullPointer
        );
        assert!(j.is_null());
        let mut p = NonNull::<ShinnyPolicy>::dangling().as_ptr();
        assert_eq!(
            shinny_policy_from_json(null(), 3, &mut p),
            ShinnyStatus::NullPointer
        );
        assert!(p.is_null());
        // Freeing NULL is a no-op.
        shinny_context_free(null_mut());
        shinny_policy_free(null_mut());
        shinny_result_free(null_mut());
    }
}

#[test]
fn invalid_utf8_strings_give_a_status() {
    let bad = [b'a', 0xff, b'b', 0];
    let bad = bad.as_ptr().cast::<c_char>();
    unsafe {
        let mut c = null_mut();
        assert_eq!(
            shinny_context_from_artifact_file(bad, &mut c),
            ShinnyStatus::InvalidUtf8
        );
        assert_eq!(
            shinny_context_from_packages(bad, null(), &mut c),
            ShinnyStatus::InvalidUtf8
        );
        assert_eq!(
            shinny_context_from_packages(null(), bad, &mut c),
            ShinnyStatus::InvalidUtf8
        );
        assert!(last_error().contains("ig"), "{}", last_error());
        let mut r = null_mut();
        let input = b"{}";
        assert_eq!(
            shinny_validate(ctx(), input.as_ptr(), 2, bad, null(), &mut r),
            ShinnyStatus::InvalidUtf8
        );
        let mut p = null_mut();
        let policy = [b'{', 0xc3, b'}'];
        assert_eq!(
            shinny_policy_from_json(policy.as_ptr(), 3, &mut p),
            ShinnyStatus::InvalidUtf8
        );
    }
}

#[test]
fn artifact_errors_and_round_trip() {
    unsafe {
        let mut c = null_mut();
        let junk = b"definitely not rules";
        assert_eq!(
            shinny_context_from_artifact(junk.as_ptr(), junk.len(), &mut c),
            ShinnyStatus::Artifact
        );
        assert!(last_error().contains("magic"), "{}", last_error());
        let missing = CString::new("/nonexistent/shinny.rules").unwrap();
        assert_eq!(
            shinny_context_from_artifact_file(missing.as_ptr(), &mut c),
            ShinnyStatus::Io
        );
        assert!(last_error().contains("/nonexistent/shinny.rules"));

        // An artifact of the packaged context loads and validates alike.
        let cache = shinny_packages::PackageCache::new(vec![packages_dir()]);
        let built = shinny_packages::context::load_ig(&cache, "us.ny.hrsn#1.9.4").unwrap();
        let bytes = built.to_artifact();
        assert_eq!(
            shinny_context_from_artifact(bytes.as_ptr(), bytes.len(), &mut c),
            ShinnyStatus::Ok
        );
        let input = example(VALID);
        let mut r = null_mut();
        assert_eq!(
            shinny_validate(c, input.as_ptr(), input.len(), null(), null(), &mut r),
            ShinnyStatus::Ok
        );
        let mut n = usize::MAX;
        shinny_result_error_count(r, &mut n);
        assert_eq!(n, 0);
        // Results do not borrow the context: free it first.
        shinny_context_free(c);
        let mut j: *const c_char = null();
        assert_eq!(
            shinny_result_outcome_json(r, &mut j, null_mut()),
            ShinnyStatus::Ok
        );
        shinny_result_free(r);
    }
}

#[test]
fn unknown_ig_is_a_packages_error() {
    let dir = CString::new(packages_dir().to_str().unwrap()).unwrap();
    let ig = CString::new("no.such.ig#9.9.9").unwrap();
    let mut c = null_mut();
    let st = unsafe { shinny_context_from_packages(dir.as_ptr(), ig.as_ptr(), &mut c) };
    assert_eq!(st, ShinnyStatus::Packages);
    assert!(c.is_null());
    assert!(
        last_error().contains("no.such.ig#9.9.9 is not in the package cache"),
        "{}",
        last_error()
    );
}

#[test]
fn empty_profile_is_rejected() {
    let input = example(VALID);
    let empty = CString::new("").unwrap();
    let mut r = null_mut();
    let st = unsafe {
        shinny_validate(
            ctx(),
            input.as_ptr(),
            input.len(),
            empty.as_ptr(),
            null(),
            &mut r,
        )
    };
    assert_eq!(st, ShinnyStatus::InvalidArgument);
}

#[test]
fn policies_filter_results() {
    let bad = br#"{"formatVersion": 1, "name": "x"}"#;
    let mut p = null_mut();
    let st = unsafe { shinny_policy_from_json(bad.as_ptr(), bad.len(), &mut p) };
    assert_eq!(st, ShinnyStatus::Policy);
    assert!(last_error().contains("version"), "{}", last_error());

    let text = br#"{"formatVersion": 1, "name": "demo", "version": "1",
      "rules": [{"id": "quiet-type", "match": {"messageId": "CARDINALITY_MIN"},
                 "action": {"setSeverity": "warning"}}]}"#;
    let st = unsafe { shinny_policy_from_json(text.as_ptr(), text.len(), &mut p) };
    assert_eq!(st, ShinnyStatus::Ok, "{}", last_error());

    let mut b: serde_json::Value = serde_json::from_slice(&example(VALID)).unwrap();
    b.as_object_mut().unwrap().remove("type");
    let input = b.to_string();
    let plain = validate(input.as_bytes(), None, null());
    let with = validate(input.as_bytes(), None, p);
    unsafe { shinny_policy_free(p) };
    assert!(plain.errors >= 1);
    // The counts follow the policy: downgraded issues are no longer errors.
    let downgraded = plain
        .message_ids()
        .iter()
        .filter(|m| *m == "CARDINALITY_MIN")
        .count();
    assert_eq!(with.errors, plain.errors - downgraded);
    assert_eq!(
        with.json["extension"][0]["url"],
        "http://shinny.org/fhir/StructureDefinition/validation-policy"
    );
}

#[test]
fn one_context_from_many_threads() {
    let inputs: Vec<Vec<u8>> = [
        "Bundle-TaskExample.json",
        VALID,
        "Bundle-PatientNegativeConsent.json",
    ]
    .iter()
    .map(|n| example(n))
    .collect();
    let baseline: Vec<String> = inputs
        .iter()
        .map(|i| validate(i, None, null()).json.to_string())
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (inputs, baseline) = (&inputs, &baseline);
            s.spawn(move || {
                for k in 0..inputs.len() * 3 {
                    let i = (k + t) % inputs.len();
                    assert_eq!(
                        validate(&inputs[i], None, null()).json.to_string(),
                        baseline[i]
                    );
                }
            });
        }
    });
}

#[test]
fn production_and_test_canonicals_side_by_side() {
    let dir = CString::new(packages_dir().to_str().unwrap()).unwrap();
    let names = [
        CString::new("us.ny.hrsn#1.9.4").unwrap(),
        CString::new("us.ny.hrsn#1.9.4-test").unwrap(),
    ];
    let igs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let input = std::fs::read(
        packages_dir()
            .join("us.ny.hrsn#1.9.4-test/package/example")
            .join(VALID),
    )
    .unwrap();
    let unknown_profiles = |c: *const ShinnyContext| unsafe {
        let mut r = null_mut();
        let st = shinny_validate(c, input.as_ptr(), input.len(), null(), null(), &mut r);
        assert_eq!(st, ShinnyStatus::Ok);
        let mut json: *const c_char = null();
        shinny_result_outcome_json(r, &mut json, null_mut());
        let n = CStr::from_ptr(json)
            .to_str()
            .unwrap()
            .matches("\"PROFILE_UNKNOWN\"")
            .count();
        shinny_result_free(r);
        n
    };
    unsafe {
        let mut both = null_mut();
        let st = shinny_context_from_packages_multi(dir.as_ptr(), igs.as_ptr(), 2, &mut both);
        assert_eq!(st, ShinnyStatus::Ok, "{}", last_error());
        // The production-only context does not know the test profiles.
        assert!(unknown_profiles(ctx()) > 0);
        assert_eq!(unknown_profiles(both), 0);
        shinny_context_free(both);
        let mut c = null_mut();
        assert_eq!(
            shinny_context_from_packages_multi(dir.as_ptr(), null(), 2, &mut c),
            ShinnyStatus::NullPointer
        );
    }
}

#[test]
fn an_extra_profile_is_checked() {
    let patient = br#"{"resourceType": "Patient"}"#;
    let plain = validate(patient, None, null());
    assert_eq!(plain.errors, 0, "{}", plain.json);
    let profiled = validate(
        patient,
        Some("http://shinny.org/us/ny/hrsn/StructureDefinition/shinny-patient"),
        null(),
    );
    assert!(profiled.errors > 0);
    assert!(
        profiled
            .message_ids()
            .iter()
            .any(|m| m == "CARDINALITY_MIN"),
        "{}",
        profiled.json
    );
}
