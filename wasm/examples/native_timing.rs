//! Native baseline for `wasm/measure.sh`: validates each SHIN-NY example
//! Bundle with the same code path as the WebAssembly module (the
//! `shinny_wasm::Validator` core: validate, then render the
//! OperationOutcome JSON) and prints one JSON line per bundle with the
//! median and the fastest time of N runs.
//!
//! ```sh
//! cargo run --release -p shinny-wasm --example native_timing -- \
//!     target/shinny.rules "../shared/fhir-packages/us.ny.hrsn#1.9.4/package/example" 20
//! ```

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: native_timing RULES EXAMPLE_DIR [RUNS]");
        std::process::exit(2);
    }
    let runs: usize = args
        .get(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
        .max(1);
    let rules = std::fs::read(&args[0]).unwrap_or_else(|e| fail(&format!("{}: {e}", args[0])));
    let validator = shinny_wasm::Validator::from_artifacts(&[&rules]).unwrap_or_else(|e| fail(&e));
    let mut names: Vec<String> = std::fs::read_dir(&args[1])
        .unwrap_or_else(|e| fail(&format!("{}: {e}", args[1])))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("Bundle-") && n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let path = std::path::Path::new(&args[1]).join(&name);
        let text = std::fs::read(&path).unwrap_or_else(|e| fail(&format!("{name}: {e}")));
        let mut times = Vec::with_capacity(runs);
        let mut issues = 0;
        // One warm-up run, then the measured ones.
        for i in 0..=runs {
            let t0 = Instant::now();
            let outcome = validator
                .validate(&text, None, None)
                .unwrap_or_else(|e| fail(&e));
            let json = outcome.to_string();
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            if i > 0 {
                times.push(ms);
            }
            issues = outcome["issue"].as_array().map_or(0, Vec::len);
            std::hint::black_box(json);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{}",
            serde_json::json!({
                "name": name,
                "bytes": text.len(),
                "issues": issues,
                "median_ms": median,
                "min_ms": times[0],
            })
        );
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("native_timing: {msg}");
    std::process::exit(2);
}
