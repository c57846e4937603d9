//! Criterion benchmarks: compile from packages, artifact load, structural
//! validation throughput (SHIN-NY example bundles, Synthea bundles).
//!
//! `cargo bench --bench engine`; figures go in the README.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shinny_engine::{Context, ValidationOptions};
use std::path::Path;

fn files(dir: &Path, prefix: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(prefix) && n.ends_with(".json") && n != "MANIFEST.json"
        })
        .collect();
    v.sort();
    v.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("context");
    g.sample_size(10);
    // Reading the package files (shinny-packages) plus compiling.
    g.bench_function("compile_shinny_from_packages", |b| {
        b.iter(|| {
            let cache = shinny_packages::PackageCache::new(vec![shinny_suite::package_cache()]);
            let roots: Vec<_> = ["local.shinny.vsac-subset#0.0.1", "us.ny.hrsn#1.9.4"]
                .iter()
                .map(|r| shinny_packages::PackageRef::parse(r).unwrap())
                .collect();
            let res = cache.resolve(&roots).unwrap();
            let mut builder = shinny_engine::ContextBuilder::new();
            for p in res
                .load_resources(&["StructureDefinition", "ValueSet", "CodeSystem"])
                .unwrap()
            {
                builder.add_package(
                    shinny_engine::PackageInfo {
                        id: p.package.reference().id().into(),
                        version: p.package.reference().version().into(),
                        canonical: None,
                    },
                    p.resources
                        .into_iter()
                        .map(|r| (r.file.path, r.bytes))
                        .collect(),
                );
            }
            builder.build()
        })
    });
    let ctx = shinny_suite::shinny_context();
    let artifact = ctx.to_artifact();
    g.bench_function("load_shinny_artifact", |b| {
        b.iter(|| Context::from_artifact(&artifact).unwrap())
    });
    g.finish();
}

fn validate(c: &mut Criterion) {
    let ctx = shinny_suite::shinny_context();
    let full = ValidationOptions::default();
    let structural = ValidationOptions {
        skip_invariants: true,
        ..Default::default()
    };
    let mut g = c.benchmark_group("validate");
    g.sample_size(10);
    let shinny = files(
        &shinny_suite::package_cache().join("us.ny.hrsn#1.9.4/package/example"),
        "Bundle-",
    );
    let synthea = files(&shinny_suite::shared_dir().join("corpus/synthea-r4"), "");
    for (name, set) in [
        ("shinny_example_bundles", &shinny),
        ("synthea_bundles", &synthea),
    ] {
        let bytes: usize = set.iter().map(Vec::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        for (mode, opts) in [("structure", &structural), ("all_checks", &full)] {
            g.bench_function(format!("{name}_{}_{mode}", set.len()), |b| {
                b.iter(|| {
                    for f in set.iter() {
                        criterion::black_box(ctx.validate_bytes(f, opts));
                    }
                })
            });
        }
    }
    g.finish();
}

/// A transaction bundle of `n` entries (a tenth Patients, the rest
/// Observations), each Observation holding 11 references (subject and ten
/// hasMember): about 100,000 references for 10,000 entries.
pub fn reference_bundle(n: usize) -> Vec<u8> {
    let uuid = |i: usize| format!("urn:uuid:00000000-0000-4000-8000-{i:012}");
    let patients = n / 10;
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let resource = if i < patients {
            serde_json::json!({"resourceType": "Patient", "active": true})
        } else {
            let members: Vec<_> = (1..=10)
                .map(
                    |k| serde_json::json!({"reference": uuid(patients + (i + k) % (n - patients))}),
                )
                .collect();
            serde_json::json!({
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": uuid(i % patients)},
                "hasMember": members
            })
        };
        entries.push(serde_json::json!({"fullUrl": uuid(i), "resource": resource,
            "request": {"method": "POST", "url": "Observation"}}));
    }
    serde_json::to_vec(
        &serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
    )
    .unwrap()
}

fn references(c: &mut Criterion) {
    let ctx = shinny_suite::r4_context();
    let opts = ValidationOptions::default();
    let mut g = c.benchmark_group("references");
    g.sample_size(10);
    for n in [1_000usize, 10_000] {
        let b = reference_bundle(n);
        assert_eq!(ctx.validate_bytes(&b, &opts).error_count(), 0);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(
            format!("bundle_{n}_entries_{}_references", (n - n / 10) * 11),
            |bch| bch.iter(|| criterion::black_box(ctx.validate_bytes(&b, &opts))),
        );
    }
    g.finish();
}

/// Policy cost relative to validation, on the largest SHIN-NY example
/// bundle (target: under 5%).
fn policy(c: &mut Criterion) {
    let ctx = shinny_suite::shinny_context();
    let opts = ValidationOptions::default();
    let dir = shinny_suite::package_cache().join("us.ny.hrsn#1.9.4/package/example");
    let largest = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("Bundle-")
        })
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let bundle = std::fs::read(&largest).unwrap();
    let outcome = ctx.validate_bytes(&bundle, &opts);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ig/policies");
    let mut g = c.benchmark_group("policy");
    g.bench_function("validate_largest_shinny_bundle", |b| {
        b.iter(|| criterion::black_box(ctx.validate_bytes(&bundle, &opts)))
    });
    for name in ["java-hub-threshold.json", "shinny-downgrade-warnings.json"] {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        let p = shinny_engine::policy::Policy::from_json(&text).unwrap();
        g.bench_function(format!("apply_{name}"), |b| {
            b.iter(|| criterion::black_box(p.apply(&outcome.issues).to_fhir()))
        });
    }
    g.finish();
}

criterion_group!(benches, compile, validate, references, policy);
criterion_main!(benches);
