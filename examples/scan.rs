//! Developer tool: validates a folder of JSON files and prints error issues.
//! `cargo run --release --example scan -- r4|shinny DIR`
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let t = std::time::Instant::now();
    let ctx = if args[1] == "r4" {
        shinny_suite::r4_context()
    } else {
        shinny_suite::shinny_context()
    };
    eprintln!("compiled in {:?}", t.elapsed());
    let art = ctx.to_artifact();
    let t = std::time::Instant::now();
    let ctx = shinny_engine::Context::from_artifact(&art).unwrap();
    eprintln!("artifact {} bytes, loaded in {:?}", art.len(), t.elapsed());
    let mut files: Vec<_> = std::fs::read_dir(&args[2])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut hist: std::collections::BTreeMap<String, usize> = Default::default();
    let mut bad = 0;
    let mut bytes = 0;
    let t = std::time::Instant::now();
    for f in &files {
        if f.extension().map(|e| e != "json").unwrap_or(true) {
            continue;
        }
        let data = std::fs::read(f).unwrap();
        bytes += data.len();
        let oo = ctx.validate_bytes(&data, &Default::default());
        for i in &oo.issues {
            *hist
                .entry(format!("{:?} {}", i.severity, i.message_id))
                .or_default() += 1;
            if std::env::var_os("SCAN_SHOW").is_some_and(|v| v.to_string_lossy() == i.message_id) {
                println!("   {} {} {}", f.display(), i.expression, i.text);
            }
        }
        let errs: Vec<_> = oo
            .issues
            .iter()
            .filter(|i| i.severity >= shinny_engine::Severity::Error)
            .collect();
        if !errs.is_empty() {
            bad += 1;
            println!("{}", f.display());
            for e in errs.iter().take(5) {
                println!(
                    "   {} {} @{}:{} {}",
                    e.message_id,
                    e.expression,
                    e.pos.map(|p| p.line).unwrap_or(0),
                    e.pos.map(|p| p.col).unwrap_or(0),
                    e.text
                );
            }
        }
    }
    for (k, v) in &hist {
        eprintln!("{v:>6} {k}");
    }
    eprintln!(
        "{} files, {} with errors, {} bytes in {:?}",
        files.len(),
        bad,
        bytes,
        t.elapsed()
    );
}
