//! `shinny fhirpath`: evaluate FHIRPath expressions against the model of a
//! validation context.

use crate::{setup, ContextArgs, Failure};
use clap::Args;
use shinny_engine::fhirpath::{self, CompileOptions, Environment, EvalInput, Item, ModelInfo};
use shinny_engine::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args)]
pub struct FhirpathArgs {
    #[command(flatten)]
    pub context: ContextArgs,
    /// Load the model from a rules artifact instead of packages.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// The resource to evaluate against (JSON); none evaluates on an
    /// empty context.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// JSON lines `{"expression": "...", "input": "path or null"}`; prints
    /// one line per input line: `{"result": [...]}` or `{"error": "..."}`.
    #[arg(long, value_name = "FILE", conflicts_with = "expression")]
    pub batch: Option<PathBuf>,
    /// The expression.
    #[arg(required_unless_present = "batch")]
    pub expression: Option<String>,
}

pub fn run(a: FhirpathArgs) -> Result<u8, Failure> {
    let set = setup::context_set(&a.context, a.rules.as_deref())?;
    let model: Arc<dyn ModelInfo> = set.contexts()[0].fhirpath_model().clone();
    match (&a.batch, &a.expression) {
        (Some(batch), _) => {
            let text = std::fs::read_to_string(batch)
                .map_err(|e| Failure(format!("{}: {e}", batch.display())))?;
            let mut failed = false;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let out = match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(v) => {
                        let expr = v["expression"].as_str().unwrap_or("");
                        let input = v["input"].as_str().map(Path::new);
                        match evaluate(expr, input, &model) {
                            Ok(r) => serde_json::json!({ "result": r }),
                            Err(e) => {
                                failed = true;
                                serde_json::json!({ "error": e })
                            }
                        }
                    }
                    Err(e) => {
                        failed = true;
                        serde_json::json!({ "error": format!("not a JSON line: {e}") })
                    }
                };
                println!("{out}");
            }
            Ok(u8::from(failed))
        }
        (None, Some(expr)) => match evaluate(expr, a.input.as_deref(), &model) {
            Ok(r) => {
                println!("{}", serde_json::to_string_pretty(&r)?);
                Ok(0)
            }
            Err(e) => Err(Failure(e)),
        },
        (None, None) => Err(Failure("give an EXPRESSION or --batch FILE".into())),
    }
}

/// Compiles and evaluates one expression; the result as JSON items.
fn evaluate(
    expr: &str,
    input: Option<&Path>,
    model: &Arc<dyn ModelInfo>,
) -> Result<Vec<serde_json::Value>, String> {
    let node = match input {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(json::parse(&bytes).map_err(|e| format!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let context_type = node
        .as_ref()
        .and_then(|n| n.get("resourceType"))
        .and_then(json::Node::as_str)
        .map(str::to_string);
    let compiled = fhirpath::compile(
        expr,
        &CompileOptions {
            model: Some(model.clone()),
            context_type,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    for w in compiled.warnings() {
        eprintln!("warning: {w}");
    }
    let input = match &node {
        Some(n) => EvalInput::resource(n),
        None => EvalInput::default(),
    };
    let items = compiled
        .evaluate(&input, &Environment::default())
        .map_err(|e| e.to_string())?;
    Ok(items.iter().map(render).collect())
}

/// `{"type": <FHIRPath type name>, "value": ...}`; dates as written,
/// quantities as `{"value": 1, "unit": "mg"}`.
fn render(item: &Item<'_>) -> serde_json::Value {
    let number = |s: String| {
        serde_json::from_str::<serde_json::Value>(&s).unwrap_or(serde_json::Value::String(s))
    };
    match item {
        Item::Node(n) => serde_json::json!({
            "type": &*n.type_name,
            "value": n.node.map(|x| x.to_serde()).unwrap_or(serde_json::Value::Null),
        }),
        Item::Boolean(b) => serde_json::json!({"type": "boolean", "value": b}),
        Item::String(s) => serde_json::json!({"type": "string", "value": s}),
        Item::Integer(i) => serde_json::json!({"type": "integer", "value": i}),
        Item::Decimal(d) => serde_json::json!({"type": "decimal", "value": number(d.to_string())}),
        Item::Temporal(_) => {
            let (_, name) = item.type_info();
            let name = match name.as_str() {
                "Date" => "date",
                "DateTime" => "dateTime",
                _ => "time",
            };
            serde_json::json!({"type": name, "value": item.to_display_string()})
        }
        Item::Quantity(q) => {
            let text = q.render();
            let (value, unit) = text.split_once(' ').unwrap_or((&text, ""));
            serde_json::json!({"type": "Quantity", "value": {
                "value": number(value.to_string()),
                "unit": unit.trim_matches('\''),
            }})
        }
        Item::Type(ns, name) => {
            serde_json::json!({"type": "TypeInfo", "value": {"namespace": ns, "name": name}})
        }
    }
}
