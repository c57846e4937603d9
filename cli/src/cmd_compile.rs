//! `shinny compile`: write a rules artifact.

use crate::{setup, ContextArgs, Failure};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub context: ContextArgs,
    /// Where to write the artifact.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(a: CompileArgs) -> Result<u8, Failure> {
    let started = std::time::Instant::now();
    let mut args = a.context.clone();
    if args.igs.len() > 1 {
        return Err(Failure(
            "compile takes one --ig (one artifact per context)".into(),
        ));
    }
    args.no_cache = true;
    let loaded = setup::load_contexts(&args)?;
    let ctx = &loaded[0].context;
    let bytes = ctx.to_artifact();
    setup::write_atomically(&a.output, &bytes)
        .map_err(|e| Failure(format!("{}: {e}", a.output.display())))?;
    let r = ctx.report();
    eprintln!(
        "wrote {} ({} bytes): {} structures from {} packages in {:.2?}; {} missing packages, {} unresolved canonicals",
        a.output.display(),
        bytes.len(),
        ctx.structures().len(),
        r.packages.len(),
        started.elapsed(),
        r.missing_packages.len(),
        r.unresolved.len()
    );
    Ok(0)
}
