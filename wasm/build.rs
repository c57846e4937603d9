//! Link options for the WebAssembly module only.

fn main() {
    // wasm32-unknown-unknown gives the module a 1 MiB stack by default; the
    // validator recurses once per JSON nesting level (up to the parser's
    // limit) and per FHIRPath sub-expression, so give it 8 MiB like a
    // native main thread. Host builds are left alone.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=8388608");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
