//! Prints the resident memory of a process with the SHIN-NY context loaded
//! from its artifact, before and after validating the SHIN-NY example
//! bundles. `cargo run --release --example memory`
fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l.trim_start_matches(field).trim().to_string())
        .unwrap_or_else(|| "?".into())
}

fn main() {
    // The parent compiles and writes the artifact; a fresh child process
    // loads it, so the figures are those of a process that only loads.
    let path = std::env::temp_dir().join("shinny-memory.rules");
    if std::env::args().nth(1).as_deref() != Some("--child") {
        std::fs::write(&path, shinny_suite::shinny_context().to_artifact()).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--child")
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        return;
    }
    let before = status("VmRSS:");
    let bytes = std::fs::read(&path).unwrap();
    let ctx = shinny_engine::Context::from_artifact(&bytes).unwrap();
    drop(bytes);
    println!(
        "artifact: {} bytes",
        std::fs::metadata(&path).unwrap().len()
    );
    println!(
        "RSS before load: {before}; after load: {}",
        status("VmRSS:")
    );
    let dir = shinny_suite::package_cache().join("us.ny.hrsn#1.9.4/package/example");
    for e in std::fs::read_dir(dir).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        let _ = ctx.validate_bytes(&b, &Default::default());
    }
    println!(
        "after validating the 119 examples: RSS {}, peak {}",
        status("VmRSS:"),
        status("VmHWM:")
    );
}
