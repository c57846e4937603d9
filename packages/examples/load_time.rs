//! Measures resolving a package and reading its conformance resources:
//! `cargo run --release -p shinny-packages --example load_time -- [cache-dir] [id#version]`
//! (defaults: `../shared/fhir-packages`, `us.ny.hrsn#1.9.4`).

use std::path::PathBuf;
use std::time::Instant;

use shinny_packages::{PackageCache, PackageRef};

fn main() -> Result<(), shinny_packages::Error> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../shared/fhir-packages".into()),
    );
    let root = PackageRef::parse(&args.next().unwrap_or_else(|| "us.ny.hrsn#1.9.4".into()))?;
    let types = ["StructureDefinition", "ValueSet", "CodeSystem"];

    let start = Instant::now();
    let resolution = PackageCache::new(vec![dir]).resolve(&[root])?;
    let resolved = start.elapsed();
    let loaded = resolution.load_resources(&types)?;
    let total = start.elapsed();

    let mut files = 0;
    let mut bytes = 0;
    for entry in &loaded {
        let size: usize = entry.resources.iter().map(|r| r.bytes.len()).sum();
        println!(
            "{:45} {:5} files {:10} bytes",
            entry.package.reference().to_string(),
            entry.resources.len(),
            size
        );
        files += entry.resources.len();
        bytes += size;
    }
    for m in &resolution.missing {
        println!(
            "missing {}#{} (required by {:?})",
            m.id,
            m.version,
            m.required_by
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
        );
    }
    println!("resolve: {resolved:?}; resolve + read {files} files ({bytes} bytes): {total:?}");
    Ok(())
}
