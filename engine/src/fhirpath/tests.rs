//! Unit tests: lexer, parser, evaluator edge cases and limits, using a tiny
//! hand-written model.

use super::*;
use crate::json::{parse as parse_json, Node};
use serde_json::json;

/// A miniature model: Patient (with a backbone `contact`), HumanName,
/// Observation (`value[x]`), Questionnaire (recursive `item`), Bundle.
fn model() -> Arc<dyn ModelInfo> {
    let sd = |ty: &str, kind: &str, base: &str, elements: serde_json::Value| {
        json!({
            "resourceType": "StructureDefinition", "type": ty, "kind": kind,
            "derivation": "specialization",
            "baseDefinition": format!("http://hl7.org/fhir/StructureDefinition/{base}"),
            "snapshot": {"element": elements}
        })
    };
    let el = |path: &str, max: &str, types: &[&str]| json!({"path": path, "max": max, "type": types.iter().map(|t| json!({"code": t})).collect::<Vec<_>>()});
    let defs = vec![
        sd(
            "Resource",
            "resource",
            "Base",
            json!([{"path": "Resource"}, el("Resource.id", "1", &["id"])]),
        ),
        sd(
            "DomainResource",
            "resource",
            "Resource",
            json!([{"path": "DomainResource"}]),
        ),
        sd(
            "Element",
            "complex-type",
            "Base",
            json!([{"path": "Element"}, el("Element.extension", "*", &["Extension"])]),
        ),
        sd(
            "BackboneElement",
            "complex-type",
            "Element",
            json!([{"path": "BackboneElement"}]),
        ),
        sd(
            "Extension",
            "complex-type",
            "Element",
            json!([{"path": "Extension"}, el("Extension.url", "1", &["uri"]), el("Extension.value[x]", "1", &["string", "Quantity"])]),
        ),
        sd(
            "HumanName",
            "complex-type",
            "Element",
            json!([{"path": "HumanName"}, el("HumanName.family", "1", &["string"]), el("HumanName.given", "*", &["string"])]),
        ),
        sd(
            "Quantity",
            "complex-type",
            "Element",
            json!([{"path": "Quantity"}, el("Quantity.value", "1", &["decimal"]), el("Quantity.unit", "1", &["string"]),
                   el("Quantity.system", "1", &["uri"]), el("Quantity.code", "1", &["code"])]),
        ),
        sd(
            "Patient",
            "resource",
            "DomainResource",
            json!([{"path": "Patient"}, el("Patient.id", "1", &["id"]), el("Patient.name", "*", &["HumanName"]),
                   el("Patient.birthDate", "1", &["date"]), el("Patient.active", "1", &["boolean"]),
                   el("Patient.contact", "*", &["BackboneElement"]), el("Patient.contact.name", "1", &["HumanName"])]),
        ),
        sd(
            "Observation",
            "resource",
            "DomainResource",
            json!([{"path": "Observation"}, el("Observation.status", "1", &["code"]),
                   el("Observation.value[x]", "1", &["Quantity", "string", "boolean"]),
                   el("Observation.subject", "1", &["Reference"])]),
        ),
        sd(
            "Questionnaire",
            "resource",
            "DomainResource",
            json!([{"path": "Questionnaire"}, el("Questionnaire.item", "*", &["BackboneElement"]),
                   el("Questionnaire.item.linkId", "1", &["string"]),
                   {"path": "Questionnaire.item.item", "max": "*", "contentReference": "#Questionnaire.item"}]),
        ),
        sd(
            "Bundle",
            "resource",
            "Resource",
            json!([{"path": "Bundle"}, el("Bundle.entry", "*", &["BackboneElement"]),
                   el("Bundle.entry.fullUrl", "1", &["uri"]), el("Bundle.entry.resource", "1", &["Resource"])]),
        ),
        sd(
            "Reference",
            "complex-type",
            "Element",
            json!([{"path": "Reference"}, el("Reference.reference", "1", &["string"])]),
        ),
    ];
    let mut defs = defs;
    for p in ["string", "boolean", "date", "decimal", "uri", "code", "id"] {
        defs.push(sd(p, "primitive-type", "Element", json!([{"path": p}])));
    }
    Arc::new(SnapshotModel::from_structure_definitions(&defs))
}

fn patient() -> Node {
    parse_json(
        br#"{"resourceType":"Patient","id":"p1","active":true,"birthDate":"1974-12-25",
            "_birthDate":{"extension":[{"url":"http://x/ext","valueString":"e"}]},
            "name":[{"family":"Chalmers","given":["Peter","James"]},{"given":["Jim"]}],
            "contact":[{"name":{"family":"Du Marche"}}]}"#,
    )
    .unwrap()
}

fn opts(ctx: Option<&str>) -> CompileOptions {
    CompileOptions {
        model: Some(model()),
        context_type: ctx.map(str::to_string),
        strict: false,
        strict_singletons: false,
        shared_subexpressions: None,
    }
}

/// Evaluates and renders each item as text (`[node]` for complex nodes).
fn run(expr: &str, node: &Node) -> Result<Vec<String>, FhirPathError> {
    let e = compile(expr, &opts(None))?;
    let out = e.evaluate(&EvalInput::resource(node), &Environment::default())?;
    Ok(out
        .iter()
        .map(|i| i.to_display_string().unwrap_or_else(|| "[node]".into()))
        .collect())
}

fn one(expr: &str) -> String {
    let empty = Node::new(crate::json::Value::Object(Default::default()));
    let v = run(expr, &empty).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert_eq!(v.len(), 1, "{expr} gave {v:?}");
    v[0].clone()
}

fn empty(expr: &str) -> bool {
    let e = Node::new(crate::json::Value::Object(Default::default()));
    run(expr, &e)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .is_empty()
}

#[test]
fn lexer_comments_escapes_and_errors() {
    assert_eq!(one("2 + 2 // comment\n"), "4");
    assert_eq!(one("2 /* a */ * 3"), "6");
    assert_eq!(one(r"'a\tb\u0041'"), "a\tbA");
    assert_eq!(one(r"'\uD83E\uDDB6'"), "🦶");
    let err = compile("'unterminated", &CompileOptions::default()).unwrap_err();
    assert_eq!((err.kind, err.pos), (ErrorKind::Syntax, 0));
    let err = compile("1 + /* open", &CompileOptions::default()).unwrap_err();
    assert_eq!((err.kind, err.pos), (ErrorKind::Syntax, 4));
    assert_eq!(
        compile("2 + 2 /", &CompileOptions::default())
            .unwrap_err()
            .kind,
        ErrorKind::Syntax
    );
}

#[test]
fn spans_cover_source() {
    let src = "Patient.name.where(use = 'official').given";
    let e = compile(src, &CompileOptions::default()).unwrap();
    assert_eq!(e.ast().span(), (0, src.chars().count()));
    let ExprKind::Member(Some(target), _) = &e.ast().kind else {
        panic!("member")
    };
    assert_eq!(target.span(), (0, 36));
    assert_eq!(target.pos, 13, "a call is anchored at its name");
}

#[test]
fn parser_precedence() {
    assert_eq!(one("1 + 2 * 3"), "7");
    assert_eq!(one("(1 + 2) * 3"), "9");
    assert_eq!(one("10 - 4 - 3"), "3");
    assert_eq!(one("2 + 3 = 5 and 1 < 2"), "true");
    // `is` binds tighter than `>`: 1 > (2 is Boolean) is an error.
    assert!(run("1 > 2 is Boolean", &patient()).is_err());
    // unary minus applies after invocation: -(1.convertsToInteger())
    assert!(run("-1.convertsToInteger()", &patient()).is_err());
    assert_eq!(one("-1.5.abs()"), "-1.5");
    assert_eq!(one("(-1.5).abs()"), "1.5");
}

#[test]
fn deep_nesting_is_rejected_not_overflowing() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let err = compile(&deep, &CompileOptions::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    // Just inside the limit still parses and evaluates (on a test thread's
    // 2 MiB stack, unoptimized).
    let n = parser::MAX_PARSE_DEPTH - 2;
    let nested = format!("{}1{}", "(".repeat(n), ").abs()".repeat(n));
    assert_eq!(one(&nested), "1");
    let chain = format!("1{}", " + 1".repeat(120));
    assert_eq!(one(&chain), "121");
    let too_long = format!("true{}", " and true".repeat(parser::MAX_AST_DEPTH + 10));
    assert_eq!(
        compile(&too_long, &CompileOptions::default())
            .unwrap_err()
            .kind,
        ErrorKind::Syntax
    );
}

/// An invariant's truth value, computed without building the collections
/// of boolean nodes (`truth.rs`), is the conversion of its result.
#[test]
fn truth_values_agree_with_converted_results() {
    let node = patient();
    let exprs = [
        "name.exists()",
        "name.empty()",
        "nothing.exists()",
        "exists()",
        "empty()",
        "name.given.exists() and birthDate.exists()",
        "name.given and true",
        "true and name.given",
        "{} and false",
        "{} and true",
        "{} or true",
        "{} or false",
        "active implies name.exists()",
        "false implies {}",
        "{} implies true",
        "{} implies false",
        "true xor {}",
        "name.exists() xor active",
        "birthDate.empty() or name.where(given.exists() and family.empty()).exists()",
        "name.where(given.exists() implies family.exists()).count() = 1",
        "name.all(given.exists() or family.exists())",
        "name.exists(family.empty() and given.exists())",
        "(name.given | name.family).empty().not()",
        "name.given.exists() and 1",
        "birthDate and active",
    ];
    for strict in [false, true] {
        let o = CompileOptions {
            strict_singletons: strict,
            ..opts(None)
        };
        for src in exprs {
            let e = compile(src, &o).unwrap();
            let input = EvalInput::resource(&node);
            let env = Environment::default();
            let truth = e.evaluate_bool(&input, &env).map_err(|e| e.to_string());
            let converted = e
                .evaluate(&input, &env)
                .map_err(|e| e.to_string())
                .and_then(|out| match &out[..] {
                    [] => Ok(None),
                    [Item::Boolean(b)] => Ok(Some(*b)),
                    [_] => Ok(Some(true)),
                    _ if !strict => Ok(Some(true)),
                    _ => Err("several".to_string()),
                });
            assert_eq!(truth, converted, "{src} (strict: {strict})");
        }
    }
    // The boolean operators convert their operands by the singleton rules.
    assert_eq!(
        run("name.given and true", &node).unwrap(),
        vec!["true"],
        "lenient: several items are true"
    );
    let strict = CompileOptions {
        strict_singletons: true,
        ..opts(None)
    };
    let e = compile("name.given and true", &strict).unwrap();
    assert!(e
        .evaluate_bool(&EvalInput::resource(&node), &Environment::default())
        .is_err());
    assert_eq!(
        run(
            "name.where(given.exists() and family.exists()).family",
            &node
        )
        .unwrap(),
        vec!["Chalmers"]
    );
    assert_eq!(
        run("name.where(family.empty()).given", &node).unwrap(),
        vec!["Jim"]
    );
}

#[test]
fn three_valued_logic() {
    let cases = [
        ("true and {}", None),
        ("false and {}", Some(false)),
        ("true or {}", Some(true)),
        ("false or {}", None),
        ("{} implies true", Some(true)),
        ("false implies {}", Some(true)),
        ("true implies {}", None),
        ("true xor {}", None),
        ("true xor false", Some(true)),
    ];
    for (e, want) in cases {
        let got = run(e, &patient()).unwrap();
        assert_eq!(got.first().map(|s| s == "true"), want, "{e}");
    }
}

#[test]
fn singleton_rules() {
    let p = patient();
    assert!(run("Patient.name.given + 'x'", &p).is_err());
    assert!(run("Patient.name.single()", &p).is_err());
    assert_eq!(
        run("Patient.name.first().family", &p).unwrap(),
        vec!["Chalmers"]
    );
    // N1 makes several items in a boolean context an error; by default a
    // non-empty collection is true, as in the HL7 Java validator.
    assert_eq!(run("(1 | 2).not()", &p).unwrap(), vec!["false"]);
    let strict = CompileOptions {
        strict_singletons: true,
        ..opts(None)
    };
    let e = compile("(1 | 2).not()", &strict).unwrap();
    assert!(e
        .evaluate(&EvalInput::resource(&p), &Environment::default())
        .is_err());
}

#[test]
fn decimals_and_dates() {
    assert_eq!(one("1.0 / 3"), "0.33333333");
    assert_eq!(one("1.50 + 1"), "2.50");
    assert_eq!(one("(1.2 / 1.8).round(2)"), "0.67");
    assert_eq!(one("1.2 / 1.8 ~ 0.67"), "true");
    assert!(empty("1 / 0"));
    assert!(empty("@2012-04-15 = @2012-04-15T10:00"));
    assert_eq!(one("@2012-04-15 < @2012-04-16T10:00"), "true");
    assert_eq!(
        one("@2012-04-15T10:00:00 = @2012-04-15T10:00:00.000"),
        "true"
    );
    assert_eq!(one("@1973-12-25 + 7 days"), "1974-01-01");
    assert!(run("@1973-12-25 + 1 'mo'", &patient()).is_err());
    // Huge durations are an error, not an overflow.
    assert!(run(
        "@1973-12-25T10:00:00 + 9223372036854775807 'ms'",
        &patient()
    )
    .is_err());
    assert!(run("@1973-12-25 + 9223372036854775807 years", &patient()).is_err());
    assert!(run("@1973-12-25 + 922337203685477 days", &patient()).is_err());
    assert!(run("-(-9223372036854775807 - 1)", &patient()).is_err());
    assert!(run("9223372036854775807 + 1", &patient()).is_err());
}

#[test]
fn quantities() {
    assert_eq!(one("1 'g' = 1000 'mg'"), "true");
    assert_eq!(one("7 days = 1 week"), "true");
    assert_eq!(one("100 'cm' > 0.5 'm'"), "true");
    assert!(empty("1 'm' = 1 'g'"));
    assert_eq!(one("4 'g' ~ 4040 'mg'"), "true");
    assert!(empty("'5 mg'.toQuantity()"));
    // Absurd unit exponents are rejected quickly rather than looped over.
    assert!(empty("1 'm999999999' = 1 'm999999999'.toQuantity('m')"));
    assert_eq!(one("'abc'.substring(1, 9223372036854775807)"), "bc");
    assert_eq!(one("'5 \\'mg\\''.toQuantity() = 5 'mg'"), "true");
}

#[test]
fn navigation_types_and_choices() {
    let p = patient();
    assert_eq!(
        run("Patient.name.given", &p).unwrap(),
        vec!["Peter", "James", "Jim"]
    );
    assert_eq!(run("name[1].given", &p).unwrap(), vec!["Jim"]);
    assert_eq!(
        run("Patient.birthDate < @2000-01-01", &p).unwrap(),
        vec!["true"]
    );
    assert_eq!(
        run("Patient.birthDate.extension('http://x/ext').value", &p).unwrap(),
        vec!["e"]
    );
    assert_eq!(
        run("Patient.birthDate.hasValue()", &p).unwrap(),
        vec!["true"]
    );
    assert_eq!(
        run("Patient.contact.name.family", &p).unwrap(),
        vec!["Du Marche"]
    );
    assert_eq!(
        run("Patient.contact.is(BackboneElement)", &p).unwrap(),
        vec!["true"]
    );
    assert_eq!(run("Patient is DomainResource", &p).unwrap(), vec!["true"]);
    assert!(run("Encounter.name", &p).unwrap().is_empty());

    let obs =
        parse_json(br#"{"resourceType":"Observation","valueQuantity":{"value":185,"unit":"lbs"}}"#)
            .unwrap();
    assert_eq!(run("Observation.value.unit", &obs).unwrap(), vec!["lbs"]);
    assert_eq!(
        run("Observation.value is Quantity", &obs).unwrap(),
        vec!["true"]
    );
    assert_eq!(
        run("Observation.value.ofType(Quantity).value", &obs).unwrap(),
        vec!["185"]
    );
    assert!(run("Observation.value.ofType(string)", &obs)
        .unwrap()
        .is_empty());

    let q = parse_json(br#"{"resourceType":"Questionnaire","item":[{"linkId":"1","item":[{"linkId":"1.1","item":[{"linkId":"1.1.1"}]}]}]}"#)
        .unwrap();
    assert_eq!(
        run("Questionnaire.item.item.item.linkId", &q).unwrap(),
        vec!["1.1.1"]
    );
    assert_eq!(
        run("Questionnaire.repeat(item).linkId", &q).unwrap(),
        vec!["1", "1.1", "1.1.1"]
    );
    assert_eq!(
        run("Questionnaire.descendants().linkId.count()", &q).unwrap(),
        vec!["3"]
    );
}

#[test]
fn static_checks() {
    let o = |strict| CompileOptions {
        strict,
        ..opts(Some("Patient"))
    };
    let e = compile("Patient.name.given1", &o(true)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Semantic);
    assert_eq!(e.pos, 13);
    // Outside strict mode the same mistake is a warning.
    let lenient = compile("Patient.name.given1", &o(false)).unwrap();
    assert_eq!(lenient.warnings().len(), 1);
    assert!(compile("name.given.startsWith('P')", &o(true)).is_ok());
    assert_eq!(
        compile("name.startsWith('P')", &o(false)).unwrap_err().kind,
        ErrorKind::Semantic
    );
    assert_eq!(
        compile("name.nosuch()", &o(false)).unwrap_err().kind,
        ErrorKind::Semantic
    );
    assert_eq!(
        compile("name.first(1)", &o(false)).unwrap_err().kind,
        ErrorKind::Semantic
    );
    assert_eq!(
        compile("name.as(NoSuchType)", &o(false)).unwrap_err().kind,
        ErrorKind::Semantic
    );
    let obs = CompileOptions {
        context_type: Some("Observation".into()),
        ..o(false)
    };
    assert_eq!(
        compile("Observation.valueQuantity.unit", &obs)
            .unwrap_err()
            .kind,
        ErrorKind::Semantic
    );
    assert!(compile("Observation.value.unit", &obs).is_ok());
}

#[test]
fn as_filters_collections_and_resolve_finds_entries() {
    let b = parse_json(
        br#"{"resourceType":"Bundle","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a","contained":[{"resourceType":"Patient","id":"c1"}]}},
            {"fullUrl":"http://x/Observation/o","resource":{"resourceType":"Observation","id":"o",
               "subject":{"reference":"urn:uuid:1"}}},
            {"resource":{"resourceType":"Observation","id":"o2","subject":{"reference":"Patient/a"}}}]}"#,
    )
    .unwrap();
    assert_eq!(
        run("(Bundle.entry.resource as Patient).id", &b).unwrap(),
        vec!["a"]
    );
    assert_eq!(
        run("Bundle.entry.select(resource as Observation).count()", &b).unwrap(),
        vec!["2"]
    );
    assert_eq!(
        run(
            "Bundle.entry.resource.ofType(Observation).subject.resolve().id",
            &b
        )
        .unwrap(),
        vec!["a", "a"]
    );
    // as() filters by default (R4 core dom-3 needs it); strict_singletons follows N1.
    assert_eq!(
        run("Bundle.entry.resource.as(Patient).id", &b).unwrap(),
        vec!["a"]
    );
    let strict = CompileOptions {
        strict_singletons: true,
        ..opts(None)
    };
    let e = compile("Bundle.entry.resource.as(Patient)", &strict).unwrap();
    assert!(e
        .evaluate(&EvalInput::resource(&b), &Environment::default())
        .is_err());
    // `.(expr)`: the HL7 Java engine's scoped evaluation.
    assert_eq!(
        run(
            "Bundle.entry.select(resource as Observation).(id.count())",
            &b
        )
        .unwrap(),
        vec!["2"]
    );
    let contained = default_resolve(
        "#c1",
        &ResolveContext {
            resource: b
                .get("entry")
                .and_then(|e| e.as_array())
                .map(|e| &e[0])
                .and_then(|e| e.get("resource")),
            root: Some(&b),
            bundle: None,
        },
    );
    assert_eq!(
        contained.and_then(|c| c.get("id")).and_then(Node::as_str),
        Some("c1")
    );
}

#[test]
fn select_as_is_evaluated_as_navigation_then_of_type() {
    let b = parse_json(
        br#"{"resourceType":"Bundle","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a","contact":[{"name":{"family":"X"}},{"name":{"family":"Y"}}]}},
            {"fullUrl":"urn:uuid:2"},
            {"resource":{"resourceType":"Observation","id":"o1","valueQuantity":{"value":1,"unit":"mg"}}},
            {"resource":{"resourceType":"Patient","id":"b","contact":[{"name":{"family":"Z"}}]}},
            {"resource":{"resourceType":"Observation","id":"o2","valueString":"s"}}]}"#,
    )
    .unwrap();
    // Each rewritten form against the same selection written so that it
    // is not rewritten (a call, not `as`, inside `select`).
    for (rewritten, as_written) in [
        (
            "Bundle.entry.select(resource as Observation).id",
            "Bundle.entry.select(resource.ofType(Observation)).id",
        ),
        (
            "Bundle.entry.select(resource as Patient).id",
            "Bundle.entry.select(resource.ofType(Patient)).id",
        ),
        (
            "Bundle.entry.select(resource.contact.name as HumanName).family",
            "Bundle.entry.select(resource.contact.name.ofType(HumanName)).family",
        ),
        (
            "Bundle.entry.select(resource.value as Quantity).unit",
            "Bundle.entry.select(resource.value.ofType(Quantity)).unit",
        ),
        (
            "Bundle.entry.tail().select(resource as Observation).id",
            "Bundle.entry.tail().select(resource.ofType(Observation)).id",
        ),
        (
            "Bundle.entry.where(select(resource as Observation).exists()).resource.id",
            "Bundle.entry.where(select(resource.ofType(Observation)).exists()).resource.id",
        ),
        (
            "Bundle.entry.resource.select(value as string)",
            "Bundle.entry.resource.select(value.ofType(string))",
        ),
        (
            "Bundle.entry.resource.value.select($this as Quantity).unit",
            "Bundle.entry.resource.value.select($this.ofType(Quantity)).unit",
        ),
        (
            "Bundle.entry.select(resource.contact.name).family",
            "Bundle.entry.select(resource.contact.name.first() | resource.contact.name.tail()).family",
        ),
        (
            "Bundle.entry.resource.select($this.contact).name.family",
            "Bundle.entry.resource.select(contact.first() | contact.tail()).name.family",
        ),
        (
            "Bundle.entry.select($this).resource.id",
            "Bundle.entry.select($this.first()).resource.id",
        ),
    ] {
        let got = run(rewritten, &b).unwrap();
        assert!(!got.is_empty(), "{rewritten}");
        assert_eq!(got, run(as_written, &b).unwrap(), "{rewritten}");
    }
    assert_eq!(
        run("Bundle.entry.select(resource as Patient).id", &b).unwrap(),
        vec!["a", "b"]
    );
    // The evaluated tree: the path with the target in front, then ofType.
    let e = compile("entry.select(resource as Observation)", &opts(None)).unwrap();
    let ExprKind::Call(Some(path), name, args) = &e.ast().kind else {
        panic!("a call")
    };
    assert_eq!(name, "ofType");
    assert!(
        matches!(&args[..], [Expr { kind: ExprKind::TypeArg(t), .. }] if t.name == "Observation")
    );
    let ExprKind::Member(Some(entry), resource) = &path.kind else {
        panic!("a member")
    };
    assert_eq!(resource, "resource");
    assert!(matches!(&entry.kind, ExprKind::Member(None, n) if n == "entry"));
    // Not rewritten: a projection that is not a chain of names, one whose
    // first name may be a type filter of each item, and `$this` without
    // a collection to put in its place.
    for src in [
        "entry.select(resource.first() as Patient)",
        "entry.select(Patient.id as id)",
        "select($this as Bundle)",
    ] {
        let e = compile(src, &CompileOptions::default()).unwrap();
        assert!(
            matches!(&e.ast().kind, ExprKind::Call(_, n, _) if n == "select"),
            "{src}"
        );
    }
}

#[test]
fn environment_variables() {
    let p = patient();
    let e = compile("%resource.id & %ucum & %\"vs-x\" & %who", &opts(None)).unwrap();
    let mut env = Environment::default();
    env.variables
        .insert("who".into(), vec![Item::String("!".into())]);
    let out = e.evaluate(&EvalInput::resource(&p), &env).unwrap();
    assert_eq!(
        out[0].to_display_string().unwrap(),
        "p1http://unitsofmeasure.orghttp://hl7.org/fhir/ValueSet/x!"
    );
    let missing = compile("%nope", &opts(None)).unwrap();
    assert!(missing
        .evaluate(&EvalInput::resource(&p), &Environment::default())
        .is_err());
}

#[test]
fn limits_stop_runaway_evaluation() {
    let p = patient();
    let small = |src: &str, limits: Limits| {
        let env = Environment {
            limits,
            ..Default::default()
        };
        compile(src, &opts(None))
            .unwrap()
            .evaluate(&EvalInput::resource(&p), &env)
    };
    // repeat() producing ever-new values hits the collection limit.
    let few_items = Limits {
        max_items: 5_000,
        ..Limits::default()
    };
    let err = small("1.repeat($this + 1)", few_items).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Execution);
    assert!(err.message.contains("larger than 5000"), "{}", err.message);
    // ... and with generous item limits, the step budget.
    let few_steps = Limits {
        max_items: usize::MAX,
        max_steps: 20_000,
        ..Limits::default()
    };
    // Strings doubling in an aggregate hit the string limit.
    let doubling = "(1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 21 | 22 | 23 | 24 | 25 | 26 | 27 | 28 | 29 | 30).aggregate($total & $total, 'ab')";
    let err = small(doubling, Limits::default()).unwrap_err();
    assert!(err.message.contains("string longer"), "{}", err.message);
    let err = small("1.repeat($this + 1)", few_steps).unwrap_err();
    assert!(err.message.contains("step limit"), "{}", err.message);
    // repeat() over a cycle terminates (seen items are not revisited).
    assert_eq!(
        run("(1 | 2).repeat(iif($this = 1, 2, 1)).count()", &p).unwrap(),
        vec!["2"]
    );
    // Exponential blow-up is bounded by the item/step limits.
    let bomb = format!(
        "1{}",
        ".combine($this).select($this | $this + 1).combine($this)".repeat(40)
    );
    assert!(small(&bomb, few_items).is_err());
    // Deeply nested JSON is walked iteratively by descendants().
    let mut deep = String::from("{\"resourceType\":\"Basic\"");
    for _ in 0..200 {
        deep.push_str(",\"a\":{\"b\":1");
    }
    deep.push_str(&"}".repeat(201));
    let node = crate::json::parse(deep.as_bytes()).unwrap();
    assert_eq!(run("descendants().count()", &node).unwrap(), vec!["400"]);
}

#[test]
fn narrative_checks() {
    assert!(eval::html_checks_for_test(
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>"#
    ));
    assert!(!eval::html_checks_for_test(
        r#"<div xmlns="http://www.w3.org/1999/xhtml">  </div>"#
    ));
    assert!(!eval::html_checks_for_test(
        r#"<div><script>x</script></div>"#
    ));
    assert!(!eval::html_checks_for_test(
        r#"<div><p onclick="x()">a</p></div>"#
    ));
}

#[test]
fn expression_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expression>();
    assert_send_sync::<SnapshotModel>();
}

#[test]
fn snapshot_model_round_trips_through_serde() {
    let m = SnapshotModel::from_structure_definitions(&[json!({
        "resourceType": "StructureDefinition", "type": "X", "kind": "resource", "derivation": "specialization",
        "snapshot": {"element": [{"path": "X"}, {"path": "X.a[x]", "max": "1", "type": [{"code": "string"}, {"code": "Quantity"}]}]}
    })]);
    let text = serde_json::to_string(&m).unwrap();
    let back: SnapshotModel = serde_json::from_str(&text).unwrap();
    let c = back.child("X", "a").unwrap();
    assert!(c.choice && !c.many);
    assert_eq!(
        resolve_key(&back, "X", "aQuantity").map(|(_, t)| t.to_string()),
        Some("Quantity".into())
    );
}

/// A host answering terminology and profile questions, and a fixed clock.
struct TestHost;

impl EvalHost for TestHost {
    fn member_of(&self, item: &Item<'_>, valueset_url: &str) -> Option<bool> {
        let code = item.json()?.get("code")?.as_str()?;
        (valueset_url == "http://vs").then(|| code == "a")
    }

    fn conforms_to(&self, _item: &Item<'_>, profile_url: &str) -> Option<bool> {
        (profile_url == "http://profile").then_some(true)
    }

    fn now(&self) -> Option<datetime::Temporal> {
        datetime::Temporal::parse_date_time("2020-01-02T03:04:05.006Z")
    }
}

#[test]
fn host_hooks() {
    let obs = parse_json(
        br#"{"resourceType":"Observation","status":"final",
            "valueQuantity":{"value":1},"subject":{"reference":"Patient/x"}}"#,
    )
    .unwrap();
    let coding =
        parse_json(br#"{"resourceType":"Basic","code":{"coding":[{"code":"b"},{"code":"a"}]}}"#)
            .unwrap();
    let env = Environment {
        host: Some(&TestHost),
        ..Default::default()
    };
    let eval = |src: &str, node: &Node| -> Vec<String> {
        let e = compile(src, &opts(None)).unwrap();
        e.evaluate(&EvalInput::resource(node), &env)
            .unwrap()
            .iter()
            .map(|i| i.to_display_string().unwrap_or_default())
            .collect()
    };
    assert_eq!(
        eval("code.coding.memberOf('http://vs')", &coding),
        vec!["true"]
    );
    assert!(eval("code.coding.memberOf('http://other')", &coding).is_empty());
    assert_eq!(eval("conformsTo('http://profile')", &obs), vec!["true"]);
    // Core resource profiles are answered without the host.
    assert_eq!(
        eval(
            "conformsTo('http://hl7.org/fhir/StructureDefinition/Observation')",
            &obs
        ),
        vec!["true"]
    );
    assert_eq!(
        eval(
            "conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')",
            &obs
        ),
        vec!["false"]
    );
    assert_eq!(eval("today()", &obs), vec!["2020-01-02"]);
    assert_eq!(eval("now() > @2019", &obs), vec!["true"]);
    // A reference outside the Bundle does not resolve.
    assert!(eval("subject.resolve()", &obs).is_empty());
    // trace() records into the environment when asked.
    let traced = Environment {
        trace: Some(Default::default()),
        ..Default::default()
    };
    let e = compile("status.trace('s').exists()", &opts(None)).unwrap();
    e.evaluate(&EvalInput::resource(&obs), &traced).unwrap();
    let log = traced.trace.unwrap().into_inner();
    assert_eq!(log, vec![("s".to_string(), vec!["final".to_string()])]);
}

#[test]
fn type_of_path_follows_backbones_and_content_references() {
    let m = model();
    assert_eq!(
        m.type_of_path("Patient.contact.name").as_deref(),
        Some("HumanName")
    );
    assert_eq!(
        m.type_of_path("Patient.contact").as_deref(),
        Some("Patient.contact")
    );
    assert_eq!(
        m.type_of_path("Questionnaire.item.item.item").as_deref(),
        Some("Questionnaire.item")
    );
    assert_eq!(m.type_of_path("Observation.value"), None);
    assert_eq!(m.type_of_path("Patient.nosuch"), None);
}

#[test]
fn every_checked_function_is_implemented() {
    let p = patient();
    for (name, min, _, _, _) in checker::FUNCTIONS {
        let args: Vec<&str> = (0..*min)
            .map(|i| match (i, *name) {
                (0, "is" | "as" | "ofType") => "String",
                (0, "iif") => "true",
                _ => "'a'",
            })
            .collect();
        let src = format!("{{}}.{name}({})", args.join(", "));
        let e = compile(&src, &opts(None)).unwrap_or_else(|e| panic!("{src}: {e}"));
        if let Err(err) = e.evaluate(&EvalInput::resource(&p), &Environment::default()) {
            assert!(!err.message.contains("unknown function"), "{src}: {err}");
        }
    }
}

/// Random token soup must never panic: every input either fails to
/// compile or evaluates (possibly to an error) within the limits.
#[test]
fn random_expressions_never_panic() {
    const POOL: &[&str] = &[
        "Patient",
        "name",
        "given",
        "family",
        ".",
        "(",
        ")",
        "[",
        "]",
        "0",
        "1",
        "-1",
        "2.5",
        "'x'",
        "''",
        "@2012",
        "@2012-01-01T10:00Z",
        "@T10:00",
        "3 'mg'",
        "2 days",
        "+",
        "-",
        "*",
        "/",
        "div",
        "mod",
        "&",
        "|",
        "=",
        "!=",
        "~",
        "!~",
        "<",
        "<=",
        ">",
        ">=",
        "and",
        "or",
        "xor",
        "implies",
        "in",
        "contains",
        "is",
        "as",
        "String",
        "Integer",
        "where(",
        "select(",
        "repeat(",
        "all(",
        "exists(",
        "first()",
        "last()",
        "tail()",
        "skip(",
        "take(",
        "count()",
        "distinct()",
        "not()",
        "empty()",
        "iif(",
        "aggregate(",
        "$this",
        "$index",
        "$total",
        "%resource",
        "children()",
        "descendants()",
        "substring(",
        "replace(",
        "matches(",
        "toString()",
        "toInteger()",
        "toQuantity(",
        "lowBoundary()",
        "sort(",
        "union(",
        "combine(",
        ",",
        "{}",
        "true",
        "false",
        "extension(",
        "ofType(",
        "trace(",
        "power(",
        "round(",
        "birthDate",
        "contact",
        "%ucum",
        "`name`",
        "sum()",
        "encode(",
        "'hex'",
    ];
    let p = patient();
    // JSON that does not match the model must not trip anything up either.
    let odd = parse_json(
        br#"{"resourceType":"Patient","name":"x","given":[[1],null,{}],"birthDate":5,"active":"yes",
            "_birthDate":[1],"contact":[null,{"name":[{"family":[true]}]}],"extension":{"url":3}}"#,
    )
    .unwrap();
    // FP_SEED=<n> explores other sequences.
    let mut seed: u64 = std::env::var("FP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let env = Environment {
        limits: Limits {
            max_items: 10_000,
            max_steps: 100_000,
            ..Limits::default()
        },
        ..Default::default()
    };
    let mut compiled = 0;
    for _ in 0..4000 {
        let n = 1 + next() % 12;
        let src: Vec<&str> = (0..n).map(|_| POOL[next() % POOL.len()]).collect();
        let src = src.join(" ");
        if let Ok(e) = compile(&src, &opts(Some("Patient"))) {
            compiled += 1;
            let _ = e.evaluate(&EvalInput::resource(&p), &env);
            let _ = e.evaluate(&EvalInput::resource(&odd), &env);
        }
    }
    assert!(
        compiled > 100,
        "only {compiled} random expressions compiled"
    );
}

/// Without a host clock, `now()` and `today()` read the clock installed
/// with `set_clock` (the WASM binding installs JavaScript's `Date.now`).
#[test]
fn installed_clock() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    // The system time, so that tests running alongside see the same clock.
    fn clock() -> Option<i64> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        i64::try_from(d.as_millis()).ok()
    }
    assert!(set_clock(clock));
    assert!(!set_clock(clock), "the first clock stays");
    let p = parse_json(br#"{"resourceType":"Patient"}"#).unwrap();
    assert_eq!(
        run("now() > @2020 and today() > @2020-01-01", &p).unwrap(),
        vec!["true"]
    );
    assert!(CALLS.load(Ordering::SeqCst) >= 1);
}

#[test]
fn intersect_and_exclude_on_large_mixed_collections() {
    // Past eight items the other side's strings go into a set: results
    // must match pairwise `=` (strings equal only strings; numbers,
    // dates and nodes compared as before).
    let p = patient();
    let many = "('a'|'b'|'c'|'d'|'e'|'f'|'g'|'h'|1|2.0|@2020-01-01|'x')";
    let cases = [
        (
            format!("('a'|'z'|1|2|@2020-01-01|'h').intersect({many})"),
            vec!["a", "1", "2", "2020-01-01", "h"],
        ),
        (
            format!("('a'|'z'|1|3|@2020-01-02|'h').exclude({many})"),
            vec!["z", "3", "2020-01-02"],
        ),
        (
            format!("name.given.intersect({many} | 'Peter')"),
            vec!["Peter"],
        ),
        (format!("('1'|'2').intersect({many})"), vec![]),
    ];
    for (expr, want) in cases {
        assert_eq!(run(&expr, &p).unwrap(), want, "{expr}");
    }
}

#[test]
fn flattened_child_lookup_agrees_with_the_base_chain() {
    let m = model();
    let names = [
        "id",
        "extension",
        "family",
        "given",
        "contact",
        "name",
        "value",
        "url",
        "nope",
    ];
    for t in [
        "Patient",
        "Patient.contact",
        "HumanName",
        "Extension",
        "Observation",
        "Bundle",
    ] {
        for n in names {
            let interned = TypeName::interned(t);
            let shared = TypeName::from(t);
            assert_eq!(m.child_of(&interned, n), m.child(t, n), "{t}.{n}");
            assert_eq!(m.child_of(&shared, n), m.child(t, n), "{t}.{n}");
        }
    }
    let types = [
        "Patient",
        "Patient.contact",
        "HumanName",
        "Element",
        "Resource",
        "DomainResource",
        "Base",
        "BackboneElement",
        "string",
        "Nope",
    ];
    for t in types {
        for a in types {
            assert_eq!(
                m.is_subtype_of(&TypeName::interned(t), a),
                m.is_subtype(t, a),
                "{t} <: {a}"
            );
        }
    }
    // Inherited elements are found through the flattened table.
    assert!(m.child_of(&TypeName::interned("Patient"), "id").is_some());
    assert!(m
        .child_of(&TypeName::interned("HumanName"), "extension")
        .is_some());
    // Adding a definition drops the table, so new elements are seen.
    let mut sm = SnapshotModel::from_structure_definitions(&[json!({
        "resourceType": "StructureDefinition", "type": "Thing", "kind": "complex-type",
        "derivation": "specialization",
        "snapshot": {"element": [{"path": "Thing"}, {"path": "Thing.a", "max": "1", "type": [{"code": "string"}]}]}
    })]);
    sm.prepare();
    assert!(sm.child_of(&TypeName::interned("Thing"), "b").is_none());
    sm.add(&json!({
        "resourceType": "StructureDefinition", "type": "Thing", "kind": "complex-type",
        "derivation": "specialization",
        "snapshot": {"element": [{"path": "Thing"}, {"path": "Thing.b", "max": "1", "type": [{"code": "string"}]}]}
    }));
    assert!(sm.child_of(&TypeName::interned("Thing"), "b").is_some());
}

/// `X.split(sep)[k]` builds only part `k`; it must answer what indexing
/// all the parts answers (`where(true)` keeps the general way), errors
/// included.
#[test]
fn split_then_index_agrees_with_indexing_all_parts() {
    let node = patient();
    let inputs = [
        "'Patient/123'",
        "'a//b/'",
        "''",
        "'/'",
        "'caf\u{e9}\u{e9}x\u{e9}'",
        "'a--b--c'",
        "name.given",
        "name.family",
        "birthDate",
        "{}",
    ];
    let seps = ["'/'", "'--'", "''", "'\u{e9}'", "'x'", "{}"];
    for input in inputs {
        for sep in seps {
            for k in 0..5 {
                let fused = format!("{input}.split({sep})[{k}]");
                let general = format!("{input}.split({sep}).where(true)[{k}]");
                let (a, b) = (run(&fused, &node), run(&general, &node));
                assert_eq!(
                    a.as_ref().map_err(|e| e.to_string()),
                    b.as_ref().map_err(|e| e.to_string()),
                    "{fused}"
                );
            }
        }
    }
    assert_eq!(run("'Patient/123'.split('/')[1]", &node).unwrap(), ["123"]);
    // Several strings: an error either way.
    assert!(run("name.given.split('/')[0]", &node).is_err());
}
