//! Developer tool: validates the Synthea corpus N times (for profilers).
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let ctx = shinny_suite::r4_context();
    let dir = shinny_suite::shared_dir().join("corpus/synthea-r4");
    let files: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let total: usize = files.iter().map(Vec::len).sum();
    let t = std::time::Instant::now();
    let mut issues = 0;
    for _ in 0..n {
        for f in &files {
            issues += ctx.validate_bytes(f, &Default::default()).issues.len();
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
