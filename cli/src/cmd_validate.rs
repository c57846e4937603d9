//! `shinny validate`.

use crate::inputs::{self, Document};
use crate::output::{self, Level, Outcome};
use crate::{setup, ContextArgs, Failure, Format};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use shinny_engine::policy::Policy;
use shinny_engine::{ContextSet, ValidationOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub context: ContextArgs,
    /// A profile the top-level resources must also conform to (repeatable).
    #[arg(long = "profile", value_name = "URL")]
    pub profiles: Vec<String>,
    /// Load the context from a rules artifact (`shinny compile`) instead of
    /// packages.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// A diagnostics policy (JSON) applied to every outcome.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Lowest severity to report.
    #[arg(long, value_enum, default_value = "information")]
    pub level: Level,
    /// Report how many invariants were evaluated, per severity, per input.
    #[arg(long)]
    pub stats: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Files (.json, .ndjson), folders, or - for standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
}

pub fn run(a: ValidateArgs) -> Result<u8, Failure> {
    let policy = match &a.policy {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| Failure(format!("{}: {e}", p.display())))?;
            Some(Policy::from_json(&text).map_err(|e| Failure(format!("{}: {e}", p.display())))?)
        }
        None => None,
    };
    let sources = inputs::sources(&a.paths).map_err(Failure)?;
    let started = Instant::now();
    let set = setup::context_set(&a.context, a.rules.as_deref())?;
    let options = ValidationOptions {
        profiles: a.profiles.clone(),
        ..Default::default()
    };

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.unwrap_or(0))
        .build()?;
    let bar = progress_bar(sources.len(), a.format);
    let results: Vec<Result<Vec<Outcome>, String>> = pool.install(|| {
        sources
            .par_iter()
            .map(|s| {
                let docs = inputs::read(s)?;
                let out = docs
                    .into_par_iter()
                    .map(|d| validate_one(&set, d, &options, policy.as_ref()))
                    .collect();
                tick(&bar, started);
                Ok(out)
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut outcomes = Vec::new();
    for r in results {
        outcomes.extend(r.map_err(Failure)?);
    }
    output::print(&outcomes, a.format, a.level, a.stats, started.elapsed())?;
    Ok(if outcomes.iter().any(|o| o.has_error()) {
        1
    } else {
        0
    })
}

fn validate_one(
    set: &ContextSet,
    d: Document,
    options: &ValidationOptions,
    policy: Option<&Policy>,
) -> Outcome {
    let outcome = set.validate_bytes(&d.bytes, options);
    match policy {
        None => Outcome {
            label: d.label,
            outcome,
            policy_fhir: None,
        },
        Some(p) => {
            let result = p.apply(&outcome.issues);
            let mut filtered = result.to_operation_outcome();
            filtered.stats = outcome.stats;
            Outcome {
                label: d.label,
                outcome: filtered,
                policy_fhir: Some(result.to_fhir()),
            }
        }
    }
}

/// A bar on stderr for text output on a terminal, shown only once the
/// batch has run for a second.
fn progress_bar(n: usize, format: Format) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::hidden());
    if format == Format::Text && std::io::stderr().is_terminal() && n > 1 {
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} files  {elapsed}  eta {eta}")
        {
            bar.set_style(style);
        }
    }
    bar
}

fn tick(bar: &ProgressBar, started: Instant) {
    bar.inc(1);
    if bar.is_hidden()
        && started.elapsed() > Duration::from_secs(1)
        && std::io::stderr().is_terminal()
        && bar.length().unwrap_or(0) > 1
    {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
}
