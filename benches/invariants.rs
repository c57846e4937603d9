//! Criterion benchmark: every invariant on the SHIN-NY Bundle profile's root
//! element (about 93 FHIRPath expressions), compiled once, evaluated on the
//! largest SHIN-NY example bundle (40 entries). Target: under 1 ms.
//!
//! `…_shared` is what validation does: the expressions of one element share
//! one `EvalCache` (fresh for every iteration, as for every bundle), so
//! identical subexpressions are evaluated once, and each result is taken as
//! a truth value (`evaluate_bool_shared`). `…_each_alone` evaluates
//! every expression on its own, for comparison.
//!
//! `cargo bench --bench invariants` (system allocator; add
//! `--features mimalloc` for the allocator the `shinny` CLI and
//! `shinny-service` binaries ship with); `benches/fhirpath-vs-js/run.sh`
//! compares the same work with the reference JS engine.

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shinny_engine::fhirpath::{Environment, EvalCache, EvalInput};

fn invariants(c: &mut Criterion) {
    let ctx = shinny_suite::shinny_context();
    let exprs = shinny_suite::compile_bundle_root_constraints(&ctx);
    let bytes = std::fs::read(shinny_suite::largest_shinny_bundle()).unwrap();
    let node = shinny_engine::json::parse(&bytes).unwrap();
    let input = EvalInput::resource(&node);
    let env = Environment::default();
    // Every expression must evaluate (an early error would make the timing
    // measure less work).
    for (key, e) in &exprs {
        let r = e.evaluate_bool(&input, &env);
        assert!(r.is_ok(), "{key}: {r:?}");
    }
    let mut g = c.benchmark_group("invariants");
    g.bench_function(
        format!("bundle_profile_root_{}_expressions_shared", exprs.len()),
        |b| {
            b.iter(|| {
                let cache = EvalCache::for_expressions(exprs.len());
                for (_, e) in &exprs {
                    black_box(e.evaluate_bool_shared(&input, &env, Some(&cache)).ok());
                }
            })
        },
    );
    g.bench_function(
        format!("bundle_profile_root_{}_expressions_each_alone", exprs.len()),
        |b| {
            b.iter(|| {
                for (_, e) in &exprs {
                    black_box(e.evaluate(&input, &env).ok());
                }
            })
        },
    );
    g.finish();
}

criterion_group!(benches, invariants);
criterion_main!(benches);
