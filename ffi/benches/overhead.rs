//! Per-call overhead of the C ABI over the Rust API, validating the 18
//! SHIN-NY example bundles with one context.
//!
//! `cargo bench -p shinny-ffi --bench overhead` prints, for two workloads
//! (counts only; counts plus the OperationOutcome JSON), the time of one
//! pass over the bundles through each path (the sum of each bundle's best
//! call) and their ratio. `SHINNY_BENCH_ROUNDS` sets the number of calls
//! per bundle and path (default 31).

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

    // Warm caches, allocator and CPU frequency before measuring.
    for _ in 0..5 {
        rust_pass(&context, &bundles, true);
        ffi_pass(handle, &bundles, true);
    }
    for json in [false, true] {
        // Both paths must agree before their times mean anything.
        assert_eq!(
            rust_pass(&context, &bundles, json),
            ffi_pass(handle, &bundles, json),
            "the two paths disagree"
        );
        // Per bundle, the fastest of `rounds` calls through each path, the
        // two paths alternating call by call: on a shared machine other
        // load only ever adds time, so the minimum is the stable estimate
        // of each path's own cost.
        let mut best_rust = vec![Duration::MAX; bundles.len()];
        let mut best_ffi = vec![Duration::MAX; bundles.len()];
        for round in 0..rounds {
            for (i, b) in bundles.iter().enumerate() {
                let one = std::slice::from_ref(b);
                let r = || time(|| rust_pass(&context, one, json));
                let c = || time(|| ffi_pass(handle, one, json));
                let (tr, tc) = if round % 2 == 0 {
                    let tr = r();
                    (tr, c())
                } else {
                    let tc = c();
                    (r(), tc)
                };
                best_rust[i] = best_rust[i].min(tr);
                best_ffi[i] = best_ffi[i].min(tc);
            }
        }
        let r: Duration = best_rust.iter().sum();
        let c: Duration = best_ffi.iter().sum();
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
    // The absolute cost of the boundary, on a document that takes almost
    // no validation work.
    let tiny = vec![br#"{"resourceType":"Patient","active":true}"#.to_vec()];
    let calls = 20_000u32;
    let (mut r, mut c) = (Duration::MAX, Duration::MAX);
    for _ in 0..7 {
        r = r.min(time(|| {
            (0..calls).fold((0, 0), |a, _| add(a, rust_pass(&context, &tiny, false)))
        }));
        c = c.min(time(|| {
            (0..calls).fold((0, 0), |a, _| add(a, ffi_pass(handle, &tiny, false)))
        }));
    }
    println!(
        "{:<28} Rust API {:>9.3} us   C ABI {:>9.3} us   difference {:+.3} us per call",
        "tiny Patient, per call:",
        r.as_secs_f64() * 1e6 / calls as f64,
        c.as_secs_f64() * 1e6 / calls as f64,
        (c.as_secs_f64() - r.as_secs_f64()) * 1e6 / calls as f64
    );
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

fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0 + b.0, a.1 + b.1)
}

fn time(mut f: impl FnMut() -> (usize, usize)) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}
