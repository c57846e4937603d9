//! The CLI contract: flags, formats, exit codes, artifacts, packages.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

fn example(name: &str) -> PathBuf {
    shared()
        .join("fhir-packages/us.ny.hrsn#1.9.4/package/example")
        .join(name)
}

const BUNDLE: &str = "Bundle-AHCHRSNQuestionnaireResponseExample.json";

/// A scratch folder per test, also used as the artifact cache.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("shinny-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn shinny(args: &[&str], cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shinny"));
    c.args(args)
        .env("SHINNY_CACHE_DIR", cache)
        .env("FHIR_PACKAGE_CACHE", shared().join("fhir-packages"))
        .env("NO_COLOR", "1");
    c
}

fn run(args: &[&str], cache: &Path) -> Output {
    shinny(args, cache).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn broken_patient(dir: &Path) -> PathBuf {
    let p = dir.join("broken.json");
    std::fs::write(
        &p,
        "{\n  \"resourceType\": \"Patient\",\n  \"gender\": \"male\",\n  \"birthDate\": \"1970-02-30\"\n}\n",
    )
    .unwrap();
    p
}

#[test]
fn valid_bundle_exits_zero_and_uses_the_cache_second_time() {
    let d = scratch("valid");
    let b = example(BUNDLE);
    let o = run(&["validate", b.to_str().unwrap()], &d);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    let summary = out.lines().last().unwrap();
    assert!(
        summary.starts_with("VALID: 1 input validated, 0 with errors"),
        "{out}"
    );
    let cached: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
    assert_eq!(cached.len(), 1, "one compiled artifact in the cache");
    let again = run(&["validate", b.to_str().unwrap()], &d);
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn broken_input_exits_one_with_json_outcome() {
    let d = scratch("broken");
    let p = broken_patient(&d);
    let o = run(
        &[
            "validate",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--format",
            "json",
            p.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["resourceType"], "OperationOutcome");
    // The only error (a warning, dom-6, says the resource has no narrative).
    let errors: Vec<&serde_json::Value> = v["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1);
    let issue = errors[0];
    assert_eq!(issue["expression"][0], "Patient.birthDate");
    let ids: Vec<&str> = issue["extension"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["valueString"].as_str())
        .collect();
    assert_eq!(ids, vec!["PRIMITIVE_FORMAT"]);
}

#[test]
fn ndjson_folder_and_stdin_inputs() {
    let d = scratch("ndjson");
    let nd = d.join("in.ndjson");
    std::fs::write(
        &nd,
        "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\n{\"resourceType\":\"Patient\",\"foo\":1}\n",
    )
    .unwrap();
    let o = run(
        &[
            "validate",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--format",
            "ndjson",
            nd.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["path"].as_str().unwrap().ends_with("in.ndjson:1"));
    assert!(lines[1]["path"].as_str().unwrap().ends_with("in.ndjson:3"));
    assert_eq!(
        lines[1]["outcome"]["issue"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["severity"] == "error")
            .unwrap()["expression"][0],
        "Patient.foo"
    );

    // A folder: the json file and the ndjson lines, recursively.
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::copy(example("Patient-PatientExample.json"), d.join("sub/p.json")).unwrap();
    let o = run(&["validate", "--format", "ndjson", d.to_str().unwrap()], &d);
    assert_eq!(stdout(&o).lines().count(), 3);

    // Standard input.
    let mut child = shinny(&["validate", "--ig", "hl7.fhir.r4.core#4.0.1", "-"], &d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"resourceType\":\"Patient\",\"active\":true}")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn usage_and_io_failures_exit_two_with_one_line() {
    let d = scratch("fail");
    for args in [
        vec!["validate", "/no/such/file.json"],
        vec!["validate", "--ig", "no.such.package#1.0.0", "x.json"],
        vec!["validate", "--rules", "/no/such.rules", "-"],
        vec!["validate", "--format", "yaml", "x.json"],
        vec!["nonsense"],
    ] {
        let o = run(&args, &d);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?}");
    }
    let o = run(&["validate", "/no/such/file.json"], &d);
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
}

#[test]
fn compile_then_validate_with_rules() {
    let d = scratch("compile");
    let art = d.join("r4.rules");
    let o = run(
        &[
            "compile",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "-o",
            art.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let p = broken_patient(&d);
    let with_rules = run(
        &[
            "validate",
            "--rules",
            art.to_str().unwrap(),
            "--format",
            "json",
            p.to_str().unwrap(),
        ],
        &d,
    );
    let with_ig = run(
        &[
            "validate",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--format",
            "json",
            p.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(with_rules.status.code(), Some(1));
    assert_eq!(stdout(&with_rules), stdout(&with_ig));
    // A corrupt artifact is a clean failure.
    std::fs::write(&art, b"SHINNYRG\x01\x00\x00\x00garbage").unwrap();
    let o = run(
        &[
            "validate",
            "--rules",
            art.to_str().unwrap(),
            p.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn level_and_policy() {
    let d = scratch("policy");
    let p = d.join("w.json");
    // An unknown profile is a warning only.
    std::fs::write(
        &p,
        "{\"resourceType\":\"Patient\",\"meta\":{\"profile\":[\"http://x.org/p\"]}}",
    )
    .unwrap();
    let o = run(
        &[
            "validate",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            p.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("[PROFILE_UNKNOWN]"));
    let o = run(
        &[
            "validate",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--level",
            "error",
            p.to_str().unwrap(),
        ],
        &d,
    );
    assert!(!stdout(&o).contains("PROFILE_UNKNOWN"));
    let policy = d.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"formatVersion": 1, "name": "t", "version": "1",
            "rules": [{"id": "up", "match": {"messageId": "PROFILE_UNKNOWN"}, "action": {"setSeverity": "error"}}]}"#,
    )
    .unwrap();
    let o = run(
        &[
            "validate",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--policy",
            policy.to_str().unwrap(),
            p.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a policy can raise a warning to an error"
    );
    std::fs::write(&policy, "{\"name\": 1}").unwrap();
    let o = run(
        &[
            "validate",
            "--policy",
            policy.to_str().unwrap(),
            p.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1"));
}

#[test]
fn packages_list_and_check() {
    let d = scratch("pkgs");
    let o = run(&["packages", "list"], &d);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("us.ny.hrsn#1.9.4-test"));
    let o = run(&["packages", "check"], &d);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the SHIN-NY context is incomplete offline"
    );
    let text = stdout(&o);
    for missing in [
        "hl7.terminology.r4#7.3.0",
        "hl7.fhir.uv.extensions.r4#5.3.0",
        "us.nlm.vsac#0.9.0",
        "hl7.fhir.uv.subscriptions-backport#0.1.0",
    ] {
        assert!(text.contains(missing), "{missing} in {text}");
    }
    assert!(text.contains("http://terminology.hl7.org/ValueSet/v3-UnitsOfMeasureCaseSensitive"));
    let o = run(
        &[
            "packages",
            "check",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--format",
            "json",
        ],
        &d,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["report"]["missing_packages"], serde_json::json!([]));
}

/// Serves `<id>/<version>` → tgz bytes on 127.0.0.1 for a bounded number of
/// requests.
fn serve(packages: Vec<(String, Vec<u8>)>) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { break };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = packages
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, b)| b.clone());
            let _ = match body {
                Some(b) => {
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n", b.len());
                    s.write_all(&b)
                }
                None => s.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    (url, h)
}

fn tgz_of(folder: &Path) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(enc);
    tar.append_dir_all("package", folder.join("package"))
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn packages_install_from_a_local_registry() {
    let d = scratch("install");
    let cache = d.join("cache");
    let vsac = tgz_of(&shared().join("fhir-packages/local.shinny.vsac-subset#0.0.1"));
    // The dependency (r4.core) is served as 404: reported, exit 1, and the
    // root package is installed whole.
    let (url, h) = serve(vec![("/local.shinny.vsac-subset/0.0.1".into(), vsac)]);
    let o = run(
        &[
            "packages",
            "install",
            "local.shinny.vsac-subset#0.0.1",
            "--registry",
            &url,
            "--package-dir",
            cache.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(cache
        .join("local.shinny.vsac-subset#0.0.1/package/package.json")
        .exists());
    assert!(String::from_utf8_lossy(&o.stderr).contains("hl7.fhir.r4.core"));
    drop(h);
}

#[test]
fn fhirpath_single_and_batch() {
    let d = scratch("fhirpath");
    let patient = shared().join("corpus/r4-examples/Patient-example.json");
    let o = run(
        &[
            "fhirpath",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--input",
            patient.to_str().unwrap(),
            "Patient.name.first().given",
        ],
        &d,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"type": "string", "value": "Peter"}, {"type": "string", "value": "James"}])
    );
    let o = run(
        &[
            "fhirpath",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "5 'mg' + 2 'mg'",
        ],
        &d,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"type": "Quantity", "value": {"value": 7, "unit": "mg"}}])
    );
    let batch = d.join("batch.ndjson");
    std::fs::write(
        &batch,
        format!(
            "{{\"expression\": \"Patient.birthDate\", \"input\": \"{}\"}}\n{{\"expression\": \"1 +\", \"input\": null}}\n",
            patient.display()
        ),
    )
    .unwrap();
    let o = run(
        &[
            "fhirpath",
            "--ig",
            "hl7.fhir.r4.core#4.0.1",
            "--batch",
            batch.to_str().unwrap(),
        ],
        &d,
    );
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"result": [{"type": "date", "value": "1974-12-25"}]})
    );
    assert!(
        lines[1]["error"].as_str().unwrap().contains("Syntax"),
        "{}",
        lines[1]
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn stats_report_invariant_counts() {
    let d = scratch("stats");
    let b = example(BUNDLE);
    let o = run(
        &[
            "validate",
            "--stats",
            "--format",
            "ndjson",
            b.to_str().unwrap(),
        ],
        &d,
    );
    let line: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    let s = &line["stats"];
    assert!(s["constraintsEvaluated"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(
        s["constraintsEvaluated"].as_u64().unwrap(),
        s["errorLevel"].as_u64().unwrap() + s["warningLevel"].as_u64().unwrap()
    );
    let o = run(&["validate", "--stats", b.to_str().unwrap()], &d);
    assert!(
        stdout(&o).contains("constraints evaluated ("),
        "{}",
        stdout(&o)
    );
}

#[test]
fn code_lists_turn_not_checked_into_checked() {
    let d = scratch("codelist");
    let b = example(BUNDLE);
    let issues_at = |o: &Output, expr: &str| -> Vec<(String, String)> {
        let line: serde_json::Value =
            serde_json::from_str(stdout(o).lines().next().unwrap()).unwrap();
        line["outcome"]["issue"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| {
                i["expression"][0]
                    .as_str()
                    .is_some_and(|e| e.starts_with(expr))
            })
            .map(|i| {
                let id = i["extension"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find_map(|e| e["valueString"].as_str())
                    .unwrap()
                    .to_string();
                (i["severity"].as_str().unwrap().to_string(), id)
            })
            .collect()
    };
    let obs7 = "Bundle.entry[7].resource.ofType(Observation).code.coding[0]";
    let obs8 = "Bundle.entry[8].resource.ofType(Observation).code.coding[0]";
    let o = run(&["validate", "--format", "ndjson", b.to_str().unwrap()], &d);
    assert!(issues_at(&o, obs8).contains(&("information".into(), "CODE_NOT_CHECKED".into())));
    // A LOINC list without 100698-0: entry 8's code is now checked, entry 7's
    // is an error.
    let list = d.join("loinc.txt");
    std::fs::write(&list, "71802-3\tHousing status\n96778-6\n").unwrap();
    let arg = format!("http://loinc.org={}", list.display());
    let o = run(
        &[
            "validate",
            "--code-list",
            &arg,
            "--format",
            "ndjson",
            b.to_str().unwrap(),
        ],
        &d,
    );
    assert!(
        !issues_at(&o, obs8)
            .iter()
            .any(|(_, id)| id == "CODE_NOT_CHECKED"),
        "{:?}",
        issues_at(&o, obs8)
    );
    let at7 = issues_at(&o, obs7);
    assert!(
        at7.iter()
            .any(|(s, id)| s == "error" && id.starts_with("CODE_")),
        "{at7:?}"
    );
    assert_eq!(o.status.code(), Some(1));
    let o = run(
        &[
            "validate",
            "--code-list",
            "no-equals-sign",
            b.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(2));
}
