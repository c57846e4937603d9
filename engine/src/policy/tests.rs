use super::*;
use crate::json::Pos;
use crate::outcome::{Issue, IssueType, Severity};

const BUNDLE: &str = "http://shinny.org/us/ny/hrsn/StructureDefinition/SHINNYBundleProfile";

fn issue(severity: Severity, code: IssueType, id: &str, expr: &str) -> Issue {
    Issue {
        severity,
        code,
        message_id: id.into(),
        text: format!("text of {id}"),
        expression: expr.into(),
        pos: None,
        profile: None,
        resource_type: None,
        diagnostics: None,
    }
}

fn with(mut i: Issue, profile: &str, rtype: &str) -> Issue {
    i.profile = Some(profile.into());
    i.resource_type = Some(rtype.into());
    i
}

/// A policy with the given `"rules"` array (JSON text) and extra top keys.
fn policy(extra: &str, rules: &str) -> Policy {
    let text =
        format!(r#"{{"formatVersion": 1, "name": "t", "version": "9"{extra}, "rules": {rules}}}"#);
    Policy::from_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// One rule that sets severity to information when `matcher` holds.
fn matcher(m: &str) -> Policy {
    policy(
        "",
        &format!(r#"[{{"id": "r", "match": {m}, "action": {{"setSeverity": "information"}}}}]"#),
    )
}

/// Which of `issues` the single rule changed, by message id.
fn changed(p: &Policy, issues: &[Issue]) -> Vec<String> {
    p.apply(issues)
        .issues
        .into_iter()
        .filter(|r| !r.rules.is_empty())
        .map(|r| r.issue.message_id)
        .collect()
}

fn sample() -> Vec<Issue> {
    vec![
        with(
            issue(
                Severity::Warning,
                IssueType::Invariant,
                "dom-6",
                "Bundle.entry[0].resource.ofType(Patient)",
            ),
            "http://hl7.org/fhir/StructureDefinition/DomainResource",
            "Patient",
        ),
        with(
            issue(
                Severity::Error,
                IssueType::Required,
                "MIN_CARD",
                "Bundle.entry[1].resource.ofType(Task).status",
            ),
            "http://example.org/Task|2.0",
            "Task",
        ),
        with(
            issue(
                Severity::Warning,
                IssueType::Invariant,
                "SHINNY-Patient-MiddleName",
                "Bundle",
            ),
            &format!("{BUNDLE}|1.9.4"),
            "Bundle",
        ),
        issue(
            Severity::Information,
            IssueType::Informational,
            "INFO",
            "Bundle.entry[0].resource.ofType(Patient).name[0].given[0]",
        ),
    ]
}

#[test]
fn each_matcher_selects_its_issues() {
    let s = sample();
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{}"#,
            &["dom-6", "MIN_CARD", "SHINNY-Patient-MiddleName", "INFO"],
        ),
        (r#"{"messageId": "dom-6"}"#, &["dom-6"]),
        (
            r#"{"messageId": ["MIN_CARD", "INFO"]}"#,
            &["MIN_CARD", "INFO"],
        ),
        (
            r#"{"severity": "warning"}"#,
            &["dom-6", "SHINNY-Patient-MiddleName"],
        ),
        (r#"{"severity": ["error", "fatal"]}"#, &["MIN_CARD"]),
        (
            r#"{"code": "invariant"}"#,
            &["dom-6", "SHINNY-Patient-MiddleName"],
        ),
        (
            r#"{"code": ["required", "informational"]}"#,
            &["MIN_CARD", "INFO"],
        ),
        (
            r#"{"expression": "Bundle.entry[*].resource.ofType(Patient).**"}"#,
            &["dom-6", "INFO"],
        ),
        (r#"{"expression": "**.status"}"#, &["MIN_CARD"]),
        (
            r#"{"expression": ["Bundle", "**.given[*]"]}"#,
            &["SHINNY-Patient-MiddleName", "INFO"],
        ),
        // Unversioned canonical matches any version; a versioned one only itself.
        (
            &format!(r#"{{"profile": "{BUNDLE}"}}"#),
            &["SHINNY-Patient-MiddleName"],
        ),
        (
            r#"{"profile": "http://example.org/Task|2.0"}"#,
            &["MIN_CARD"],
        ),
        (r#"{"profile": "http://example.org/Task|1.0"}"#, &[]),
        (r#"{"resourceType": "Patient"}"#, &["dom-6"]),
        (
            r#"{"resourceType": ["Task", "Bundle"]}"#,
            &["MIN_CARD", "SHINNY-Patient-MiddleName"],
        ),
        // All given matchers must hold.
        (
            r#"{"severity": "warning", "resourceType": "Bundle"}"#,
            &["SHINNY-Patient-MiddleName"],
        ),
        (r#"{"messageId": "dom-6", "code": "required"}"#, &[]),
    ];
    for (m, want) in cases {
        assert_eq!(changed(&matcher(m), &s), *want, "matcher {m}");
    }
}

#[test]
fn actions_rewrite_issues() {
    let s = sample();
    let p = policy(
        "",
        r#"[
        {"id": "drop", "match": {"messageId": "dom-6"}, "action": {"drop": true}},
        {"id": "sev", "match": {"messageId": "MIN_CARD"}, "action": {"setSeverity": "warning"}},
        {"id": "txt", "match": {"messageId": "SHINNY-Patient-MiddleName"},
         "action": {"replaceText": "Add a middle name", "appendText": " (policy)",
                    "addCoding": {"system": "http://s", "code": "c", "display": "D"}}},
        {"id": "app", "match": {"messageId": "INFO"}, "action": {"appendText": "!"}}
    ]"#,
    );
    let r = p.apply(&s);
    let got: Vec<(&str, Severity, &str)> = r
        .issues
        .iter()
        .map(|i| {
            (
                i.issue.message_id.as_str(),
                i.issue.severity,
                i.issue.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("MIN_CARD", Severity::Warning, "text of MIN_CARD"),
            (
                "SHINNY-Patient-MiddleName",
                Severity::Warning,
                "Add a middle name (policy)"
            ),
            ("INFO", Severity::Information, "text of INFO!"),
        ]
    );
    let coding = Coding {
        system: "http://s".into(),
        code: "c".into(),
        display: Some("D".into()),
    };
    assert_eq!(r.issues[1].codings, [coding]);
    assert!(r.issues[0].codings.is_empty());
    // Everything else about an issue is kept.
    assert_eq!(r.issues[0].issue.expression, s[1].expression);
    assert_eq!(r.issues[0].issue.profile, s[1].profile);
    assert_eq!(r.unfiltered, s);

    let fhir = r.to_fhir();
    let issue = &fhir["issue"][1];
    assert_eq!(issue["details"]["text"], "Add a middle name (policy)");
    assert_eq!(
        issue["details"]["coding"],
        serde_json::json!([{"system": "http://s", "code": "c", "display": "D"}])
    );
    let rule_ext: Vec<&serde_json::Value> = issue["extension"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["url"] == RULE_EXTENSION_URL)
        .collect();
    assert_eq!(
        rule_ext,
        [&serde_json::json!({"url": RULE_EXTENSION_URL, "valueString": "txt"})]
    );
    assert_eq!(fhir["issue"][0]["severity"], "warning");
    assert!(fhir["issue"][0]["details"].get("coding").is_none());
}

#[test]
fn all_rules_apply_in_order_and_drop_stops() {
    let s = vec![issue(Severity::Warning, IssueType::Invariant, "k", "X")];
    // The second rule sees the severity set by the first.
    let p = policy(
        "",
        r#"[
        {"id": "a", "match": {"severity": "warning"}, "action": {"setSeverity": "error", "appendText": " a"}},
        {"id": "b", "match": {"severity": "error"}, "action": {"appendText": " b"}},
        {"id": "c", "match": {"severity": "warning"}, "action": {"appendText": " c"}}
    ]"#,
    );
    let r = p.apply(&s);
    assert_eq!(r.issues[0].issue.text, "text of k a b");
    assert_eq!(r.issues[0].issue.severity, Severity::Error);
    assert_eq!(r.issues[0].rules, ["a", "b"]);
    let changed: Vec<usize> = r.stats.rules.iter().map(|s| s.changed).collect();
    assert_eq!(changed, [1, 1, 0]);

    // Reversed, "b" no longer matches.
    let p = policy(
        "",
        r#"[
        {"id": "b", "match": {"severity": "error"}, "action": {"appendText": " b"}},
        {"id": "a", "match": {"severity": "warning"}, "action": {"setSeverity": "error", "appendText": " a"}}
    ]"#,
    );
    assert_eq!(p.apply(&s).issues[0].issue.text, "text of k a");

    // A drop ends processing: the later rule neither changes nor drops it.
    let p = policy(
        "",
        r#"[
        {"id": "x", "match": {}, "action": {"appendText": " x"}},
        {"id": "d", "match": {"messageId": "k"}, "action": {"drop": true}},
        {"id": "y", "match": {}, "action": {"appendText": " y"}},
        {"id": "d2", "match": {}, "action": {"drop": true}}
    ]"#,
    );
    let r = p.apply(&s);
    assert!(r.issues.is_empty());
    let st: Vec<(&str, usize, usize)> = r
        .stats
        .rules
        .iter()
        .map(|s| (s.id.as_str(), s.dropped, s.changed))
        .collect();
    assert_eq!(st, [("x", 0, 1), ("d", 1, 0), ("y", 0, 0), ("d2", 0, 0)]);
}

#[test]
fn minimum_severity_applies_to_the_final_severity() {
    let s = sample();
    let p = policy(
        r#", "minSeverity": "warning""#,
        r#"[
        {"id": "down", "match": {"messageId": "dom-6"}, "action": {"setSeverity": "information"}},
        {"id": "up", "match": {"messageId": "INFO"}, "action": {"setSeverity": "fatal"}}
    ]"#,
    );
    let r = p.apply(&s);
    let ids: Vec<&str> = r
        .issues
        .iter()
        .map(|i| i.issue.message_id.as_str())
        .collect();
    assert_eq!(ids, ["MIN_CARD", "SHINNY-Patient-MiddleName", "INFO"]);
    assert_eq!(r.stats.below_minimum, 1);
    assert_eq!(r.stats.rules[0].changed, 1);
    assert_eq!(r.stats.rules[0].dropped, 0);
    assert_eq!(r.stats.reported, 3);
    assert_eq!(r.stats.input, 4);
    assert!(!r.stats.empty_issue_added);
}

#[test]
fn stats_account_for_every_issue_and_render() {
    let s = sample();
    let p = policy(
        r#", "minSeverity": "error""#,
        r#"[{"id": "quiet", "match": {"code": "invariant"}, "action": {"drop": true}}]"#,
    );
    let r = p.apply(&s);
    let st = &r.stats;
    assert_eq!((st.input, st.reported, st.below_minimum), (4, 1, 1));
    assert_eq!(
        st.rules,
        [RuleStats {
            id: "quiet".into(),
            dropped: 2,
            changed: 0
        }]
    );
    assert_eq!(
        st.input,
        st.reported + st.below_minimum + st.rules.iter().map(|r| r.dropped).sum::<usize>()
    );
    assert_eq!(
        (r.policy_name.as_str(), r.policy_version.as_str()),
        ("t", "9")
    );
    assert_eq!(r.to_operation_outcome().issues.len(), 1);

    let fhir = r.to_fhir();
    assert_eq!(fhir["resourceType"], "OperationOutcome");
    assert_eq!(
        fhir["extension"],
        serde_json::json!([{ "url": POLICY_EXTENSION_URL, "extension": [
            { "url": "name", "valueString": "t" },
            { "url": "version", "valueString": "9" },
            { "url": "minSeverity", "valueCode": "error" },
            { "url": "inputIssues", "valueInteger": 4 },
            { "url": "reportedIssues", "valueInteger": 1 },
            { "url": "belowMinimum", "valueInteger": 1 },
            { "url": "rule", "extension": [
                { "url": "id", "valueString": "quiet" },
                { "url": "dropped", "valueInteger": 2 },
                { "url": "changed", "valueInteger": 0 }
            ]}
        ]}])
    );
    assert_eq!(fhir["issue"].as_array().unwrap().len(), 1);
    assert_eq!(fhir["issue"][0]["code"], "required");
    // Deterministic.
    assert_eq!(p.apply(&s), r);
}

#[test]
fn empty_issue_when_nothing_remains() {
    let s = sample();
    let drop_all = r#"[{"id": "all", "match": {}, "action": {"drop": true}}]"#;

    let r = policy(r#", "minSeverity": "error", "emptyIssue": true"#, drop_all).apply(&s);
    assert_eq!(r.issues.len(), 1);
    let i = &r.issues[0].issue;
    assert_eq!(
        (i.severity, i.code),
        (Severity::Information, IssueType::Informational)
    );
    assert_eq!(i.message_id, EMPTY_ISSUE_ID);
    assert_eq!(i.text, "No issues at or above error");
    assert!(r.stats.empty_issue_added);
    assert_eq!(r.stats.reported, 0);
    assert_eq!(
        r.to_fhir()["issue"][0]["details"]["text"],
        "No issues at or above error"
    );

    let r = policy(r#", "emptyIssue": true"#, drop_all).apply(&[]);
    assert_eq!(r.issues[0].issue.text, "No issues");

    let p = policy(
        r#", "emptyIssue": true, "emptyIssueText": "Nothing to fix""#,
        drop_all,
    );
    assert_eq!(p.apply(&s).issues[0].issue.text, "Nothing to fix");

    // Not added while something remains.
    let r = policy(r#", "minSeverity": "error", "emptyIssue": true"#, "[]").apply(&s);
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].issue.message_id, "MIN_CARD");
    assert!(!r.stats.empty_issue_added);

    // Not added unless asked for; FHIR still gets its one issue.
    let r = policy("", drop_all).apply(&s);
    assert!(r.issues.is_empty());
    assert!(!r.stats.empty_issue_added);
    assert_eq!(r.to_fhir()["issue"][0]["details"]["text"], "All OK");
}

#[test]
fn example_policies_load_and_behave() {
    let hub =
        Policy::from_json(include_str!("../../../ig/policies/java-hub-threshold.json")).unwrap();
    assert_eq!(
        (hub.name.as_str(), hub.min_severity),
        ("java-hub-threshold", Some(Severity::Error))
    );
    let r = hub.apply(&sample());
    assert_eq!(r.stats.below_minimum, 3);
    assert_eq!(r.issues.len(), 1);
    let r = hub.apply(&sample()[..1]);
    assert_eq!(r.issues[0].issue.text, "No issues at or above error");

    let down = Policy::from_json(include_str!(
        "../../../ig/policies/shinny-downgrade-warnings.json"
    ))
    .unwrap();
    assert_eq!(down.name, "shinny-downgrade-warnings");
    let mut task = with(
        issue(
            Severity::Warning,
            IssueType::Invariant,
            "Task-Repetitions",
            "Bundle",
        ),
        BUNDLE,
        "Bundle",
    );
    task.profile = Some(format!("{BUNDLE}|1.9.4"));
    let r = down.apply(&[sample()[2].clone(), task, sample()[0].clone()]);
    let sev: Vec<Severity> = r.issues.iter().map(|i| i.issue.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Information,
            Severity::Information,
            Severity::Warning
        ]
    );
    assert!(r.issues[0]
        .issue
        .text
        .ends_with("while senders add this data.)"));
    assert_eq!(r.issues[1].codings[0].code, "sender-grace-period");
}

/// Loads `text` and returns the error's (line, column) and message.
fn load_err(text: &str) -> (u32, u32, String) {
    let e = Policy::from_json(text).expect_err(text);
    let Pos { line, col } = e.pos;
    (line, col, e.message)
}

const HEAD: &str = "{\"formatVersion\": 1, \"name\": \"n\", \"version\": \"1\",\n";

#[test]
fn load_errors_carry_positions() {
    let rule = |body: &str| format!("{HEAD}\"rules\": [\n{body}\n]}}");
    let cases: Vec<(String, u32, u32, &str)> = vec![
        ("{\"name\": \n}".into(), 2, 1, "not valid JSON"),
        ("[]".into(), 1, 1, "policy: expected an object, found array"),
        (format!("{HEAD}  \"minSeverty\": \"error\"}}"), 2, 3, "minSeverty: unknown key"),
        (format!("{HEAD}  \"minSeverity\": \"warn\"}}"), 2, 18, "unknown severity `warn`"),
        (format!("{HEAD}  \"name\": \"again\"}}"), 2, 3, "name: duplicate key"),
        ("{\"name\": \"n\", \"version\": \"1\"}".into(), 1, 1, "formatVersion: required key is missing"),
        ("{\"formatVersion\": 2, \"name\": \"n\", \"version\": \"1\"}".into(), 1, 19, "unsupported"),
        ("{\"formatVersion\": 1, \"name\": \"\", \"version\": \"1\"}".into(), 1, 30, "name: must not be empty"),
        ("{\"formatVersion\": 1, \"name\": \"n\", \"version\": 1}".into(), 1, 46, "version: expected a string, found number"),
        (format!("{HEAD}\"emptyIssueText\": \"x\"}}"), 2, 19, "without"),
        (rule(r#"{"id": "a", "match": {"severity": "warn"}, "action": {"drop": true}}"#), 3, 35, "rules[0].match.severity: unknown severity"),
        (rule(r#"{"id": "a", "match": {"code": ["invariant", "bogus"]}, "action": {"drop": true}}"#), 3, 45, "rules[0].match.code: unknown IssueType code `bogus`"),
        (rule(r#"{"id": "a", "match": {"messageID": "x"}, "action": {"drop": true}}"#), 3, 23, "rules[0].match.messageID: unknown key"),
        (rule(r#"{"id": "a", "match": {}, "action": {"drop": true}, "then": 1}"#), 3, 52, "rules[0].then: unknown key"),
        (rule(r#"{"id": "a", "match": {}, "action": {"drop": false}}"#), 3, 45, "must be `true`"),
        (rule(r#"{"id": "a", "match": {}, "action": {"drop": true, "appendText": "x"}}"#), 3, 51, "cannot be combined with `drop`"),
        (rule(r#"{"id": "a", "match": {}, "action": {}}"#), 3, 36, "no action given"),
        (rule(r#"{"id": "a", "match": {}, "action": {"setSeverity": "Error"}}"#), 3, 52, "unknown severity `Error`"),
        (rule(r#"{"id": "a", "match": {}, "action": {"addCoding": {"code": "c"}}}"#), 3, 50, "addCoding.system: required key is missing"),
        (rule(r#"{"id": "a", "match": {"resourceType": []}, "action": {"drop": true}}"#), 3, 39, "empty list"),
        (rule(r#"{"match": {}, "action": {"drop": true}}"#), 3, 1, "rules[0].id: required key is missing"),
        (rule("{\"id\": \"a\", \"match\": {}, \"action\": {\"drop\": true}},\n {\"id\": \"a\", \"match\": {}, \"action\": {\"drop\": true}}"), 4, 9, "rules[1].id: `a` is already used"),
        // Glob errors point at the offending character inside the string.
        (rule(r#"{"id": "a", "match": {"expression": "Bundle.entry[*.resource"}, "action": {"drop": true}}"#), 3, 50, "`[` is never closed"),
        (rule(r#"{"id": "a", "match": {"expression": ["ok.*", "a..b"]}, "action": {"drop": true}}"#), 3, 49, "empty segment"),
        // Escapes before the problem are counted in source columns: `\u00e9` is one character.
        (rule(r#"{"id": "a", "match": {"expression": "caf\u00e9.na**me"}, "action": {"drop": true}}"#), 3, 50, "whole segment"),
    ];
    for (text, line, col, msg) in &cases {
        let (l, c, m) = load_err(text);
        assert!(m.contains(msg), "{m:?} should contain {msg:?} for\n{text}");
        assert_eq!((l, c), (*line, *col), "{m} for\n{text}");
    }
}

#[test]
fn error_display_names_line_and_column() {
    let e = Policy::from_json(
        "{\"formatVersion\": 1,\n \"name\": \"n\", \"version\": \"1\", \"x\": 0}",
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "x: unknown key (allowed: formatVersion, name, version, description, minSeverity, emptyIssue, emptyIssueText, rules) at line 2, column 31");
}

#[test]
fn glob_error_position_with_bom_and_crlf() {
    let text = "\u{feff}{\"formatVersion\": 1, \"name\": \"n\", \"version\": \"1\",\r\n\"rules\": [{\"id\": \"a\",\r\n  \"match\": {\"expression\": \"Bundle.?\"}, \"action\": {\"drop\": true}}]}";
    let (line, col, msg) = load_err(text);
    assert!(msg.contains("`?` is not a glob wildcard"), "{msg}");
    // Line 3 is `  "match": {"expression": "Bundle.?"}`; `?` is column 35.
    assert_eq!((line, col), (3, 35));
}
