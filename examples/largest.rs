//! Times validation of the largest SHIN-NY example bundle (40 entries), with
//! every check and structure only, so that the difference is the time of
//! every invariant evaluated on that bundle (Bundle rules and element-level
//! constraints alike).
//!
//! `cargo run --release --example largest [N] [all|structure]`, with the
//! system allocator; add `--features mimalloc` for the allocator that the
//! `shinny` CLI and `shinny-service` binaries use.

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let modes: Vec<bool> = match std::env::args().nth(2).as_deref() {
        Some("all") => vec![false],
        Some("structure") => vec![true],
        _ => vec![true, false, true, false],
    };
    let ctx = shinny_suite::shinny_context();
    let bytes = std::fs::read(shinny_suite::largest_shinny_bundle()).expect("largest bundle");
    for skip in modes {
        let opts = shinny_engine::ValidationOptions {
            skip_invariants: skip,
            ..Default::default()
        };
        let _ = ctx.validate_bytes(&bytes, &opts);
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(ctx.validate_bytes(&bytes, &opts));
        }
        let what = if skip { "structure only" } else { "all checks" };
        let alloc = if cfg!(feature = "mimalloc") {
            "mimalloc"
        } else {
            "system allocator"
        };
        println!(
            "{what}: {:.3} ms per validation ({alloc})",
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    }
}
