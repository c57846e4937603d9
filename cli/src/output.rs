//! Printing validation results as text, JSON or NDJSON.

use crate::{Failure, Format};
use clap::ValueEnum;
use shinny_engine::{Issue, OperationOutcome, Severity};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// `--level`: the lowest severity printed.
#[derive(ValueEnum, Clone, Copy)]
pub enum Level {
    Information,
    Warning,
    Error,
}

impl Level {
    fn severity(self) -> Severity {
        match self {
            Level::Information => Severity::Information,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        }
    }
}

/// The result for one input document.
pub struct Outcome {
    pub label: String,
    pub outcome: OperationOutcome,
    /// The policy-rendered OperationOutcome, when a policy was applied.
    pub policy_fhir: Option<serde_json::Value>,
}

impl Outcome {
    pub fn has_error(&self) -> bool {
        self.outcome.error_count() > 0
    }

    fn fhir(&self, level: Level) -> serde_json::Value {
        let min = level.severity();
        let mut v = self
            .policy_fhir
            .clone()
            .unwrap_or_else(|| self.outcome.to_fhir());
        if let Some(issues) = v.get_mut("issue").and_then(|i| i.as_array_mut()) {
            issues.retain(|i| {
                i["severity"]
                    .as_str()
                    .and_then(Severity::from_code)
                    .is_some_and(|s| s >= min)
            });
            if issues.is_empty() {
                issues.push(serde_json::json!({
                    "severity": "information",
                    "code": "informational",
                    "details": {"text": format!("No issues at or above {}", min.code())}
                }));
            }
        }
        v
    }
}

/// The `--stats` figures of one outcome.
fn stats_json(o: &OperationOutcome) -> serde_json::Value {
    let s = &o.stats;
    serde_json::json!({
        "constraintsEvaluated": s.evaluated(),
        "errorLevel": s.evaluated_error,
        "warningLevel": s.evaluated_warning,
        "failed": s.failed,
        "notEvaluated": s.not_evaluated,
    })
}

fn stats_text(o: &OperationOutcome) -> String {
    let s = &o.stats;
    format!(
        "{} constraints evaluated ({} error-level, {} warning-level): {} failed, {} not evaluated",
        s.evaluated(),
        s.evaluated_error,
        s.evaluated_warning,
        s.failed,
        s.not_evaluated
    )
}

pub fn print(
    outcomes: &[Outcome],
    format: Format,
    level: Level,
    stats: bool,
    elapsed: Duration,
) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            let v = if outcomes.len() == 1 {
                outcomes[0].fhir(level)
            } else {
                serde_json::json!({
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": outcomes.iter().map(|o| serde_json::json!({
                        "fullUrl": file_url(&o.label),
                        "resource": o.fhir(level),
                    })).collect::<Vec<_>>(),
                })
            };
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
            if stats {
                // The OperationOutcome stays standard; the figures go to stderr.
                for o in outcomes {
                    eprintln!(
                        "{}",
                        serde_json::json!({"path": o.label, "stats": stats_json(&o.outcome)})
                    );
                }
            }
        }
        Format::Ndjson => {
            for o in outcomes {
                let mut line = serde_json::json!({"path": o.label, "outcome": o.fhir(level)});
                if stats {
                    line["stats"] = stats_json(&o.outcome);
                }
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
        }
        Format::Text => text(&mut out, outcomes, level, stats, elapsed)?,
    }
    out.flush()?;
    Ok(())
}

fn file_url(label: &str) -> String {
    let abs = std::path::Path::new(label.rsplit_once(':').map_or(label, |(p, _)| p));
    match std::fs::canonicalize(abs) {
        Ok(p) if label.contains(".ndjson:") => {
            format!(
                "file://{}#{}",
                p.display(),
                label.rsplit(':').next().unwrap_or("")
            )
        }
        Ok(p) => format!("file://{}", p.display()),
        Err(_) => format!("urn:shinny:input:{label}"),
    }
}

fn text(
    out: &mut impl Write,
    outcomes: &[Outcome],
    level: Level,
    stats: bool,
    elapsed: Duration,
) -> Result<(), Failure> {
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let paint = |code: &str, s: &str| {
        if colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let min = level.severity();
    let (mut e, mut w, mut i) = (0usize, 0usize, 0usize);
    let mut failed = 0usize;
    for o in outcomes {
        let shown: Vec<&Issue> = o
            .outcome
            .issues
            .iter()
            .filter(|x| x.severity >= min)
            .collect();
        for x in &o.outcome.issues {
            match x.severity {
                Severity::Fatal | Severity::Error => e += 1,
                Severity::Warning => w += 1,
                Severity::Information => i += 1,
            }
        }
        if o.has_error() {
            failed += 1;
        }
        if shown.is_empty() && !stats {
            continue;
        }
        writeln!(out, "{}", paint("1", &o.label))?;
        if stats {
            writeln!(out, "  stats: {}", stats_text(&o.outcome))?;
        }
        for x in shown {
            let (code, name) = match x.severity {
                Severity::Fatal => ("1;31", "fatal"),
                Severity::Error => ("31", "error"),
                Severity::Warning => ("33", "warning"),
                Severity::Information => ("36", "info"),
            };
            let at = x
                .pos
                .map(|p| format!("{}:{}", p.line, p.col))
                .unwrap_or_default();
            writeln!(
                out,
                "  {:<7} {:>9}  {}{}  [{}]",
                paint(code, name),
                at,
                if x.expression.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", x.expression)
                },
                x.text,
                x.message_id
            )?;
        }
    }
    let verdict = if failed == 0 {
        paint("32", "VALID")
    } else {
        paint("31", "INVALID")
    };
    writeln!(
        out,
        "{verdict}: {} input{} validated, {failed} with errors; {e} error{}, {w} warning{}, {i} information ({:.2?})",
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" },
        if e == 1 { "" } else { "s" },
        if w == 1 { "" } else { "s" },
        elapsed
    )?;
    Ok(())
}
