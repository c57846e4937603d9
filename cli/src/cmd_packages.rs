//! `shinny packages install | list | check`.

use crate::{setup, ContextArgs, Failure, Format};
use clap::Subcommand;
use shinny_packages::{InstallEvent, PackageCache, PackageRef, DEFAULT_REGISTRY};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PackagesCommand {
    /// Download a package and its dependencies from a FHIR package registry
    /// into the cache.
    Install {
        /// The package, as ID#VERSION.
        package: String,
        /// The registry base URL.
        #[arg(long, default_value = DEFAULT_REGISTRY, env = "SHINNY_REGISTRY")]
        registry: String,
        /// Cache folder to install into (default: $FHIR_PACKAGE_CACHE, else
        /// ~/.fhir/packages).
        #[arg(long = "package-dir", value_name = "DIR")]
        package_dir: Option<PathBuf>,
    },
    /// List the packages in the cache.
    List {
        #[arg(long = "package-dir", value_name = "DIR")]
        package_dirs: Vec<PathBuf>,
    },
    /// Report what a context could not resolve: missing packages and
    /// canonicals referenced but not defined. Exit 1 when incomplete.
    Check {
        #[command(flatten)]
        context: ContextArgs,
        /// Output format (text or json).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

pub fn run(c: PackagesCommand) -> Result<u8, Failure> {
    match c {
        PackagesCommand::Install {
            package,
            registry,
            package_dir,
        } => install(&package, &registry, package_dir),
        PackagesCommand::List { package_dirs } => list(&package_dirs),
        PackagesCommand::Check { context, format } => check(&context, format),
    }
}

fn install(package: &str, registry: &str, dir: Option<PathBuf>) -> Result<u8, Failure> {
    let r = PackageRef::parse(package)?;
    let dir = match dir {
        Some(d) => d,
        None => PackageCache::discover(&[])
            .folders()
            .first()
            .cloned()
            .ok_or_else(|| Failure("no package cache folder: pass --package-dir".into()))?,
    };
    let report = shinny_packages::install(registry, &r, &dir, &mut |e| match e {
        InstallEvent::Downloading { package, url } => eprintln!("downloading {package} from {url}"),
        InstallEvent::Installed {
            package,
            folder,
            bytes,
        } => {
            eprintln!(
                "installed {package} ({bytes} bytes) in {}",
                folder.display()
            )
        }
        InstallEvent::AlreadyInstalled { package } => eprintln!("{package} is already installed"),
        InstallEvent::Failed { package, error } => eprintln!("failed {package}: {error}"),
        _ => {}
    })?;
    if report.is_complete() {
        Ok(0)
    } else {
        for f in &report.failed {
            eprintln!(
                "not installed: {} (required by {}): {}",
                f.package, f.required_by, f.error
            );
        }
        Ok(1)
    }
}

fn list(dirs: &[PathBuf]) -> Result<u8, Failure> {
    let cache = PackageCache::discover(dirs);
    for entry in cache.list() {
        match &entry.package {
            Ok(p) => {
                let counts = p.resource_counts();
                let sd = counts.get("StructureDefinition").copied().unwrap_or(0);
                let vs = counts.get("ValueSet").copied().unwrap_or(0);
                let cs = counts.get("CodeSystem").copied().unwrap_or(0);
                println!(
                    "{:<45} {:<40} {sd:>4} SD {vs:>5} VS {cs:>5} CS  {}",
                    entry.reference.to_string(),
                    p.manifest().canonical.as_deref().unwrap_or("-"),
                    entry.folder.display()
                );
            }
            Err(e) => println!("{:<45} unreadable: {e}", entry.reference.to_string()),
        }
    }
    Ok(0)
}

fn check(args: &ContextArgs, format: Format) -> Result<u8, Failure> {
    let loaded = setup::load_contexts(args)?;
    let mut complete = true;
    let mut json = Vec::new();
    for l in &loaded {
        let r = l.context.report();
        complete &= r.is_complete();
        match format {
            Format::Text => {
                println!(
                    "Context {} ({})",
                    l.label,
                    if l.from_cache {
                        "from the compiled-context cache"
                    } else {
                        "compiled"
                    }
                );
                print!("{}", r.to_text());
            }
            _ => json.push(serde_json::json!({"ig": l.label, "report": r})),
        }
    }
    if format != Format::Text {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(if complete { 0 } else { 1 })
}
