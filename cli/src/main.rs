//! The `shinny` command line: validate FHIR resources and bundles, compile
//! rule artifacts, manage FHIR packages.
//!
//! Exit status: 0 no error or fatal issue; 1 some input has an error or
//! fatal issue (or, for `packages check`, the context is incomplete);
//! 2 usage or I/O failure, with a one-line reason on stderr.

mod cmd_compile;
mod cmd_fhirpath;
mod cmd_packages;
mod cmd_validate;
mod inputs;
mod output;
mod setup;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc: validation allocates many small short-lived blocks (JSON
/// trees, FHIRPath collections), where it takes a fraction of the system
/// allocator's time. The engine library itself leaves the choice to the
/// program that links it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "shinny",
    version,
    about = "Fast, offline FHIR R4 validation (SHIN-NY HRSN by default)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate JSON resources, Bundles, .ndjson files or folders of them.
    Validate(cmd_validate::ValidateArgs),
    /// Compile a validation context into a rules artifact file.
    Compile(cmd_compile::CompileArgs),
    /// Evaluate a FHIRPath expression (or a batch of them) and print the
    /// result as JSON.
    Fhirpath(cmd_fhirpath::FhirpathArgs),
    /// Install, list and check FHIR packages.
    Packages {
        #[command(subcommand)]
        command: cmd_packages::PackagesCommand,
    },
}

/// Where the definitions come from; shared by validate, compile and
/// packages check.
#[derive(Args, Clone, Default)]
pub struct ContextArgs {
    /// A FHIR package cache folder (repeatable). Default: $FHIR_PACKAGE_CACHE,
    /// else ~/.fhir/packages.
    #[arg(long = "package-dir", value_name = "DIR")]
    pub package_dirs: Vec<PathBuf>,
    /// An IG package as ID#VERSION (a cache folder name) or a path to a
    /// package folder or .tgz (repeatable; each gets its own context).
    /// Default: us.ny.hrsn#1.9.4.
    #[arg(long = "ig", value_name = "ID#VERSION|PATH")]
    pub igs: Vec<String>,
    /// Extra StructureDefinition/ValueSet/CodeSystem JSON files or folders
    /// (repeatable), added to every context.
    #[arg(long = "definitions", value_name = "FILE|DIR")]
    pub definitions: Vec<PathBuf>,
    /// A licensed code list, `SYSTEM=FILE`: one code per line (optionally
    /// `code<TAB>display`), so that codes of that system (LOINC, SNOMED CT,
    /// ...) are checked instead of reported as not checked (repeatable).
    #[arg(long = "code-list", value_name = "SYSTEM=FILE")]
    pub code_lists: Vec<String>,
    /// Do not read or write the compiled-context cache (~/.cache/shinny).
    #[arg(long)]
    pub no_cache: bool,
}

/// Output formats of `validate`.
#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: one block per input with issues, and a summary line.
    Text,
    /// One OperationOutcome (a Bundle of them for several inputs).
    Json,
    /// One line per input resource: {"path": ..., "outcome": ...}.
    Ndjson,
}

/// Failure modes that end the program with status 2.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => cmd_validate::run(a),
        Command::Compile(a) => cmd_compile::run(a),
        Command::Fhirpath(a) => cmd_fhirpath::run(a),
        Command::Packages { command } => cmd_packages::run(command),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(reason)) => {
            let line = reason.lines().next().unwrap_or("failed").to_string();
            eprintln!("shinny: {line}");
            ExitCode::from(2)
        }
    }
}
