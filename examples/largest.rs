//! Times validation of the largest SHIN-NY example bundle (40 entries), with
//! every check and structure only, so that the difference is the time of
//! every invariant evaluated on that bundle (Bundle rules and element-level
//! constraints alike).
//!
//! `cargo run --release --example largest [N] [all|structure|alternate]`,
//! with the system allocator; add `--features mimalloc` for the allocator
//! that the `shinny` CLI and `shinny-service` binaries use.
//!
//! `alternate` runs blocks of N validations structure only and with every
//! check in turn (40 pairs), so that each difference is taken over the
//! same moment of the machine, and prints the median and quartiles of the
//! per-pair differences: two long runs one after the other drift apart by
//! more than the invariants cost on a shared virtual machine.

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use shinny_engine::ValidationOptions;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
        .max(1);
    let ctx = shinny_suite::shinny_context();
    let bytes = std::fs::read(shinny_suite::largest_shinny_bundle()).expect("largest bundle");
    let alloc = if cfg!(feature = "mimalloc") {
        "mimalloc"
    } else {
        "system allocator"
    };
    let opts = |skip_invariants| ValidationOptions {
        skip_invariants,
        ..Default::default()
    };
    // Mean milliseconds per validation over `n` validations.
    let block = |skip: bool, n: usize| {
        let o = opts(skip);
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(ctx.validate_bytes(&bytes, &o));
        }
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    };
    let modes: Vec<bool> = match std::env::args().nth(2).as_deref() {
        Some("all") => vec![false],
        Some("structure") => vec![true],
        Some("alternate") => return alternate(n, &block, alloc),
        _ => vec![true, false, true, false],
    };
    for skip in modes {
        let _ = ctx.validate_bytes(&bytes, &opts(skip));
        let ms = block(skip, n);
        let what = if skip { "structure only" } else { "all checks" };
        println!("{what}: {ms:.3} ms per validation ({alloc})");
    }
}

/// 40 pairs of blocks (structure only, then every check), the order
/// swapped every pair; prints quartiles of each and of the differences.
fn alternate(n: usize, block: &dyn Fn(bool, usize) -> f64, alloc: &str) {
    const PAIRS: usize = 40;
    block(true, 3);
    block(false, 3);
    let (mut structure, mut all, mut diff) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PAIRS {
        let (s, a) = if i % 2 == 0 {
            let s = block(true, n);
            (s, block(false, n))
        } else {
            let a = block(false, n);
            (block(true, n), a)
        };
        structure.push(s);
        all.push(a);
        diff.push(a - s);
    }
    let q = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        format!(
            "median {:.3} ms (quartiles {:.3}-{:.3}, range {:.3}-{:.3})",
            at(0.5),
            at(0.25),
            at(0.75),
            v[0],
            v[v.len() - 1]
        )
    };
    println!(
        "invariants (all checks minus structure only, {PAIRS} pairs of {n} validations, {alloc}): {}",
        q(&mut diff)
    );
    println!("structure only: {}", q(&mut structure));
    println!("all checks: {}", q(&mut all));
}
