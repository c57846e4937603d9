//! Per-iteration time of evaluating every invariant of the SHIN-NY Bundle
//! profile's root on the largest SHIN-NY example bundle, for
//! `benches/fhirpath-vs-js/run.sh` (the Criterion bench `invariants`
//! measures the same work with statistics).
//!
//! `cargo run --release --example invariants_time -- [--seconds N] [--skip KEY]...`
//! prints the same lines as `benches/fhirpath-vs-js/invariants.js`:
//! outcome counts (true, false, empty, error), the keys not true, and
//! `us_per_iter` (each expression on its own), plus `us_per_iter_shared`
//! (all through one `EvalCache`, as validation evaluates them). `--skip` drops keys the JS engine cannot parse, so both
//! sides do the same work.

use shinny_engine::fhirpath::{Environment, EvalCache, EvalInput};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let mut secs = 3.0f64;
    let mut skip: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                secs = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds N")
            }
            "--skip" => skip.push(args.next().expect("--skip KEY")),
            _ => panic!("unknown argument {a}"),
        }
    }
    let ctx = shinny_suite::shinny_context();
    let exprs: Vec<_> = shinny_suite::compile_bundle_root_constraints(&ctx)
        .into_iter()
        .filter(|(k, _)| !skip.contains(k))
        .collect();
    let bytes = std::fs::read(shinny_suite::largest_shinny_bundle()).unwrap();
    let node = shinny_engine::json::parse(&bytes).unwrap();
    let input = EvalInput::resource(&node);
    let env = Environment::default();

    // The same outcome summary as the JS side prints, so that the two
    // engines are seen to compute the same thing.
    let mut counts = [0usize; 4];
    let mut not_true = Vec::new();
    for (key, e) in &exprs {
        match e.evaluate_bool(&input, &env) {
            Ok(Some(true)) => counts[0] += 1,
            Ok(Some(false)) => {
                counts[1] += 1;
                not_true.push(format!("{key}=false"));
            }
            Ok(None) => {
                counts[2] += 1;
                not_true.push(format!("{key}=empty"));
            }
            Err(err) => {
                counts[3] += 1;
                not_true.push(format!("{key}=error({err})"));
            }
        }
    }
    println!(
        "expressions {} results {} {} {} {}",
        exprs.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    println!("not_true {}", not_true.join(" "));

    // Each expression on its own (as the JS engine runs them), then all of
    // them through one shared subexpression cache, fresh per iteration (as
    // the validator runs the constraints of one element).
    let alone = || {
        for (_, e) in &exprs {
            black_box(e.evaluate(&input, &env).ok());
        }
    };
    let shared = || {
        let cache = EvalCache::for_expressions(exprs.len());
        for (_, e) in &exprs {
            black_box(e.evaluate_shared(&input, &env, Some(&cache)).ok());
        }
    };
    println!("us_per_iter {:.1}", time(secs, alone));
    println!("us_per_iter_shared {:.1}", time(secs, shared));
}

/// Microseconds per call of `run`: warm up, then time batches until `secs`
/// have passed.
fn time(secs: f64, run: impl Fn()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(300) {
        run();
    }
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..10 {
            run();
        }
        iters += 10;
    }
    start.elapsed().as_secs_f64() * 1e6 / iters as f64
}
