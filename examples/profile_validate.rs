//! Developer tool: validates the Synthea corpus N times (for profilers).
//! Structure only; with `ALL=1` in the environment, every check.
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    // `shinny` as the second argument: the SHIN-NY example bundles instead.
    let shinny = std::env::args().nth(2).as_deref() == Some("shinny");
    let ctx = if shinny {
        shinny_suite::shinny_context()
    } else {
        shinny_suite::r4_context()
    };
    let dir = if shinny {
        shinny_suite::package_cache().join("us.ny.hrsn#1.9.4/package/example")
    } else {
        shinny_suite::shared_dir().join("corpus/synthea-r4")
    };
    let files: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !shinny
                || p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("Bundle-")
        })
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let total: usize = files.iter().map(Vec::len).sum();
    let t = std::time::Instant::now();
    let mut issues = 0;
    for _ in 0..n {
        for f in &files {
            let opts = shinny_engine::ValidationOptions {
                skip_invariants: std::env::var_os("ALL").is_none(),
                ..Default::default()
            };
            issues += ctx.validate_bytes(f, &opts).issues.len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} MB in {:.3}s = {:.1} MB/s ({} issues)",
        total * n / 1_000_000,
        secs,
        (total * n) as f64 / 1e6 / secs,
        issues
    );
}
