//! Per-call overhead of the C ABI over the Rust API, validating the 18
//! SHIN-NY example bundles with one context.
//!
//! `cargo bench -p shinny-ffi --bench overhead` prints, for two workloads
//! (counts only; counts plus the OperationOutcome JSON), the median time per
//! pass over the bundles through each path and their ratio. Rounds
//! alternate the two paths so that frequency and cache drift hit both.
//! `SHINNY_BENCH_ROUNDS` sets the number of rounds (default 31).

use shinny::*;
use shinny_engine::{Context, ValidationOptions};
use std::ffi::c_char;
use std::hint::black_box;
use std::path::PathBuf;
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

fn main() {
    let packages = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fhir-packages");
    let cache = shinny_packages::PackageCache::new(vec![packages.clone()]);
    let context = shinny_packages::context::load_ig(&cache, "us.ny.hrsn#1.9.4").expect("context");
    let artifact = context.to_artifact();
    let mut handle = null_mut();
    let st =
        unsafe { shinny_context_from_artifact(artifact.as_ptr(), artifact.len(), &mut handle) };
    assert_eq!(st, ShinnyStatus::Ok);

    let dir = packages.join("us.ny.hrsn#1.9.4/package/example");
    let mut bundles: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("example folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("Bundle-") && name.ends_with(".json")
        })
        .map(|p| std::fs::read(p).expect("bundle"))
        .collect();
    bundles.sort();
    let bytes: usize = bundles.iter().map(Vec::len).sum();
    println!(
        "{} SHIN-NY example bundles, {:.1} KiB per pass",
        bundles.len(),
        bytes as f64 / 1024.0
    );
    let rounds: usize = std::env::var("SHINNY_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(31);

    for json in [false, true] {
        let rust = || rust_pass(&context, &bundles, json);
        let ffi = || ffi_pass(handle, &bundles, json);
        // Both paths must agree before their times mean anything.
        assert_eq!(rust(), ffi(), "the two paths disagree");
        let (mut r, mut c) = (Vec::new(), Vec::new());
        for i in 0..rounds {
            if i % 2 == 0 {
                r.push(time(rust));
                c.push(time(ffi));
            } else {
                c.push(time(ffi));
                r.push(time(rust));
            }
        }
        let (r, c) = (median(r), median(c));
        let ratio = c.as_secs_f64() / r.as_secs_f64();
        println!(
            "{:<28} Rust API {:>9.3} ms   C ABI {:>9.3} ms   ratio {:.4} ({:+.2}%)",
            if json {
                "validate + outcome JSON:"
            } else {
                "validate + counts:"
            },
            r.as_secs_f64() * 1e3,
            c.as_secs_f64() * 1e3,
            ratio,
            (ratio - 1.0) * 100.0
        );
    }
    unsafe { shinny_context_free(handle) };
}

/// One pass through the Rust API; returns the total error count and JSON
/// length so that nothing is optimised away and the paths can be compared.
fn rust_pass(ctx: &Context, bundles: &[Vec<u8>], json: bool) -> (usize, usize) {
    let options = ValidationOptions::default();
    let (mut errors, mut len) = (0, 0);
    for b in bundles {
        let outcome = ctx.validate_bytes(black_box(b), &options);
        errors += outcome.error_count();
        if json {
            len += outcome.to_fhir().to_string().len();
        }
    }
    (errors, len)
}

/// One pass through the C entry points, as a C caller makes them.
fn ffi_pass(ctx: *const ShinnyContext, bundles: &[Vec<u8>], json: bool) -> (usize, usize) {
    let (mut errors, mut len) = (0, 0);
    for b in bundles {
        let b = black_box(b);
        unsafe {
            let mut r = null_mut();
            let st = shinny_validate(ctx, b.as_ptr(), b.len(), null(), null(), &mut r);
            assert_eq!(st, ShinnyStatus::Ok);
            let mut n = 0;
            shinny_result_error_count(r, &mut n);
            errors += n;
            if json {
                let mut p: *const c_char = null();
                let mut l = 0;
                shinny_result_outcome_json(r, &mut p, &mut l);
                len += l;
            }
            shinny_result_free(r);
        }
    }
    (errors, len)
}

fn time(mut f: impl FnMut() -> (usize, usize)) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
