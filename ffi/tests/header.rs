//! The checked-in `include/shinny.h` must be what cbindgen generates from
//! the current sources. `SHINNY_BLESS=1` rewrites it instead of failing.

use std::path::Path;

#[test]
fn checked_in_header_is_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    // Parse the sources directly rather than through `cargo metadata`, so
    // the test needs no cargo invocation of its own.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = dir.join("include/shinny.h");
    if std::env::var_os("SHINNY_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/shinny.h");
        return;
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "ffi/include/shinny.h is stale; regenerate it with \
         `SHINNY_BLESS=1 cargo test -p shinny-ffi --test header`"
    );
}
