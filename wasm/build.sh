#!/usr/bin/env bash
# Builds the npm package wasm/pkg/ (gitignored) and the web page's files:
#
#   wasm/pkg/package.json, README.md
#   wasm/pkg/web/    ES module for browsers and bundlers (wasm-bindgen --target web)
#   wasm/pkg/node/   CommonJS module for Node (wasm-bindgen --target nodejs)
#   target/shinny.rules, target/shinny-test.rules   SHIN-NY rules artifacts
#                    (production and test canonicals, from `shinny compile`)
#   bindings-examples/web/pkg/, shinny.rules, shinny-test.rules   (copies)
#
# Needs: the wasm32-unknown-unknown target, and the wasm-bindgen CLI at the
# exact version of the wasm-bindgen crate in Cargo.lock (.ci/run installs
# it). Environment: PACKAGE_DIR (default ../shared/fhir-packages).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
package_dir=${PACKAGE_DIR:-../shared/fhir-packages}
# Cargo's output folder (binaries, the .wasm); the artifacts go to target/.
cargo_target=${CARGO_TARGET_DIR:-target}
mkdir -p target

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
    echo "wasm/build.sh: wasm-bindgen CLI ${have:-not found}, the crate is $want;" >&2
    echo "  install it: cargo install wasm-bindgen-cli --version $want" >&2
    exit 2
fi

echo "== rules artifacts (shinny compile)"
cargo build --release -p shinny-cli
"$cargo_target/release/shinny" compile --package-dir "$package_dir" -o target/shinny.rules
"$cargo_target/release/shinny" compile --package-dir "$package_dir" --ig 'us.ny.hrsn#1.9.4-test' \
    -o target/shinny-test.rules

echo "== shinny-wasm for wasm32-unknown-unknown (profile wasm-release)"
cargo build -p shinny-wasm --target wasm32-unknown-unknown --profile wasm-release
wasm=$cargo_target/wasm32-unknown-unknown/wasm-release/shinny_wasm.wasm

echo "== wasm-bindgen: web and node"
rm -rf wasm/pkg
wasm-bindgen --target web --out-dir wasm/pkg/web "$wasm"
wasm-bindgen --target nodejs --out-dir wasm/pkg/node "$wasm"
echo '{ "type": "module" }' > wasm/pkg/web/package.json
echo '{ "type": "commonjs" }' > wasm/pkg/node/package.json
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
sed "s/@VERSION@/$version/" wasm/npm/package.json > wasm/pkg/package.json
cp wasm/README.md wasm/pkg/README.md

echo "== web page files (bindings-examples/web)"
web=bindings-examples/web
rm -rf "$web/pkg"
mkdir -p "$web/pkg"
cp wasm/pkg/web/shinny_wasm.js wasm/pkg/web/shinny_wasm_bg.wasm wasm/pkg/web/shinny_wasm.d.ts "$web/pkg/"
cp target/shinny.rules target/shinny-test.rules "$web/"

ls -l "$wasm" wasm/pkg/web/shinny_wasm_bg.wasm target/shinny.rules
echo "built $root/wasm/pkg (shinny-wasm $version)"
