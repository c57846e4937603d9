#!/usr/bin/env bash
# Prints the WASM figures of the README (sizes; validation time of the
# SHIN-NY example bundles in headless Chromium and Node against native).
# Run wasm/build.sh and `npm ci` in wasm/test first. RUNS (default 20)
# measured runs per bundle, after one warm-up run; the median is shown.
# NATIVE_PROFILE (default release, the CLI's profile; wasm-release builds
# the native side with the WebAssembly module's LTO settings).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
profile=${NATIVE_PROFILE:-release}
examples="../shared/fhir-packages/us.ny.hrsn#1.9.4/package/example"
native=$(mktemp)
trap 'rm -f "$native"' EXIT
cargo run --quiet --profile "$profile" -p shinny-wasm --example native_timing -- \
    target/shinny.rules "$examples" "$runs" > "$native"
echo "native: profile $profile"
(cd wasm/test && node measure.mjs "$native" "$runs")
