//! The published examples stay valid: the 119 SHIN-NY examples (production
//! and test canonicals, each chosen by meta.profile) and the 713 R4 examples
//! (except the hand-checked defective ones listed in
//! `tests/known-defective-r4-examples.txt`).

use shinny_engine::{Context, ContextSet, Severity, ValidationOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

fn shinny_set() -> &'static ContextSet {
    static SET: OnceLock<ContextSet> = OnceLock::new();
    SET.get_or_init(|| {
        let test = shinny_suite::shinny_test_context();
        ContextSet::new(vec![shinny_suite::shinny_context(), test]).unwrap()
    })
}

fn json_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

/// file name → error message ids.
fn errors_by_file(
    files: &[std::path::PathBuf],
    validate: impl Fn(&[u8]) -> Vec<(Severity, String)>,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for f in files {
        let issues = validate(&std::fs::read(f).unwrap());
        let errs: Vec<String> = issues
            .into_iter()
            .filter(|(s, _)| *s >= Severity::Error)
            .map(|(_, id)| id)
            .collect();
        if !errs.is_empty() {
            out.insert(f.file_name().unwrap().to_string_lossy().to_string(), errs);
        }
    }
    out
}

fn shinny_examples(folder: &str, expected_bundle_profile: &str) {
    let dir = shinny_suite::package_cache()
        .join(folder)
        .join("package/example");
    let files = json_files(&dir);
    assert_eq!(files.len(), 119);
    let set = shinny_set();
    let errs = errors_by_file(&files, |b| {
        set.validate_bytes(b, &ValidationOptions::default())
            .issues
            .into_iter()
            .map(|i| (i.severity, i.message_id))
            .collect()
    });
    assert!(errs.is_empty(), "{errs:#?}");
    // Each example found its own canonical's context: no profile is unknown.
    for f in &files {
        let out = set.validate_bytes(&std::fs::read(f).unwrap(), &ValidationOptions::default());
        assert!(
            !out.issues.iter().any(|i| i.message_id == "PROFILE_UNKNOWN"),
            "{}: {:?}",
            f.display(),
            out.issues
                .iter()
                .find(|i| i.message_id == "PROFILE_UNKNOWN")
        );
    }
    let bundle =
        std::fs::read(dir.join("Bundle-AHCHRSNQuestionnaireResponseExample.json")).unwrap();
    let node = shinny_engine::json::parse(&bundle).unwrap();
    let ctx = set.select(&node, &[]);
    assert!(ctx.structure_by_url(expected_bundle_profile).is_some());
}

#[test]
fn shinny_examples_prod_canonical() {
    shinny_examples(
        "us.ny.hrsn#1.9.4",
        "http://shinny.org/us/ny/hrsn/StructureDefinition/SHINNYBundleProfile",
    );
}

#[test]
fn shinny_examples_test_canonical() {
    shinny_examples(
        "us.ny.hrsn#1.9.4-test",
        "http://test.shinny.org/us/ny/hrsn/StructureDefinition/SHINNYBundleProfile",
    );
}

fn r4() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(shinny_suite::r4_context)
}

#[test]
fn r4_examples() {
    let files = json_files(&shinny_suite::shared_dir().join("corpus/r4-examples"));
    assert_eq!(files.len(), 713);
    let errs = errors_by_file(&files, |b| {
        r4().validate_bytes(b, &ValidationOptions::default())
            .issues
            .into_iter()
            .map(|i| (i.severity, i.message_id))
            .collect()
    });
    let listed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/known-defective-r4-examples.txt"),
    )
    .unwrap();
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    for line in listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        known.insert(parts[0].to_string(), parts[1].to_string());
    }
    for (file, ids) in &errs {
        let expected = known
            .get(file)
            .unwrap_or_else(|| panic!("unexpected errors in {file}: {ids:?}"));
        let listed: Vec<&str> = expected.split(',').map(str::trim).collect();
        assert!(
            ids.iter().all(|i| listed.contains(&i.as_str())),
            "{file}: {ids:?}, listed {expected}"
        );
    }
    for file in known.keys() {
        assert!(
            errs.contains_key(file),
            "{file} is listed as defective but now validates"
        );
    }
}

/// Synthea's bundles are valid R4 (contained references in entries
/// included: `%rootResource` is the entry's resource, not the Bundle), and
/// validating twice gives the same result.
#[test]
fn synthea_bundles_are_valid_and_stable() {
    let files: Vec<_> = json_files(&shinny_suite::shared_dir().join("corpus/synthea-r4"))
        .into_iter()
        .filter(|f| !f.ends_with("MANIFEST.json"))
        .collect();
    assert!(files.len() >= 28);
    for (i, f) in files.iter().enumerate() {
        let b = std::fs::read(f).unwrap();
        let a = r4().validate_bytes(&b, &ValidationOptions::default());
        let errors: Vec<_> = a
            .issues
            .iter()
            .filter(|i| i.severity >= Severity::Error)
            .map(|i| format!("{} {} {}", i.message_id, i.expression, i.text))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
        if i < 6 {
            let again = r4().validate_bytes(&b, &ValidationOptions::default());
            assert_eq!(a, again);
        }
    }
}

#[test]
fn one_context_validates_from_many_threads() {
    let set = shinny_set();
    let dir = shinny_suite::package_cache().join("us.ny.hrsn#1.9.4/package/example");
    let files: Vec<Vec<u8>> = json_files(&dir)
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let broken = br#"{"resourceType": "Patient", "gender": ["x"], "foo": 1}"#.to_vec();
    let expected: Vec<_> = files
        .iter()
        .chain(std::iter::once(&broken))
        .map(|b| set.validate_bytes(b, &ValidationOptions::default()))
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (files, expected, broken) = (&files, &expected, &broken);
            s.spawn(move || {
                for round in 0..3 {
                    for (i, b) in files.iter().chain(std::iter::once(broken)).enumerate() {
                        if (i + t + round) % 2 == 0 {
                            let got = set.validate_bytes(b, &ValidationOptions::default());
                            assert_eq!(got, expected[i]);
                        }
                    }
                }
            });
        }
    });
    // gender: an array, and "x" is no administrative gender; foo: unknown.
    assert_eq!(expected.last().unwrap().error_count(), 3);
}

/// The examples of the SHIN-NY dependencies that ship some: SDOH Clinical
/// Care (all valid) and US Core 3.1.1 (four hand-checked defects).
#[test]
fn dependency_examples() {
    let set = shinny_set();
    let validate = |b: &[u8]| -> Vec<(Severity, String)> {
        set.validate_bytes(b, &ValidationOptions::default())
            .issues
            .into_iter()
            .map(|i| (i.severity, i.message_id))
            .collect()
    };
    let examples = |pkg: &str| -> Vec<std::path::PathBuf> {
        json_files(
            &shinny_suite::package_cache()
                .join(pkg)
                .join("package/example"),
        )
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
    };
    let sdoh = examples("hl7.fhir.us.sdoh-clinicalcare#2.2.0");
    assert_eq!(sdoh.len(), 59);
    let errs = errors_by_file(&sdoh, validate);
    assert!(errs.is_empty(), "{errs:#?}");

    let us_core = examples("hl7.fhir.us.core#3.1.1");
    assert_eq!(us_core.len(), 84);
    let errs = errors_by_file(&us_core, validate);
    // Each checked by hand against the files.
    let known: BTreeMap<String, Vec<String>> = [
        // entry[2].fullUrl ends with Endpoint/Endpoint-71, the id is 71.
        (
            "Bundle-66c8856b-ba11-4876-8aa8-467aad8c11a2.json",
            "BUNDLE_FULLURL_MISMATCH",
        ),
        // entry[1].fullUrl is the relative '/Medication/uscore-med2'.
        ("Bundle-uscore-mo3.json", "BUNDLE_FULLURL_INVALID"),
        // presentedForm[0].hash 'EQH/..AgME' is not base64.
        (
            "DiagnosticReport-cardiology-report.json",
            "PRIMITIVE_FORMAT",
        ),
        // 'L/min' is not in the required ucum-vitals-common value set.
        ("Observation-satO2-fiO2.json", "CODE_NOT_IN_VALUESET"),
    ]
    .into_iter()
    .map(|(f, id)| (f.to_string(), vec![id.to_string()]))
    .collect();
    assert_eq!(errs, known);
}
