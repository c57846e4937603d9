#!/usr/bin/env bash
# Installs what wasm/build.sh and the wasm tests need, each only when
# missing: the wasm32-unknown-unknown target, the wasm-bindgen CLI at the
# exact version of the wasm-bindgen crate in Cargo.lock, Debian's Chromium
# (for the end-to-end test; no browser download), Node and npm, and the
# tests' playwright-core from the committed package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi

rustup target add wasm32-unknown-unknown

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
    echo "wasm-bindgen CLI: installing $want (found: ${have:-none})"
    # --locked first; the CLI's own lock file can name a dependency version
    # the registry no longer serves, then resolve afresh.
    cargo install wasm-bindgen-cli --version "$want" --locked \
        || cargo install wasm-bindgen-cli --version "$want"
else
    echo "wasm-bindgen CLI $have: present"
fi

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
have_cmd node || need+=(nodejs)
have_cmd npm || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "apt: installing ${need[*]}"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

# playwright-core drives the system Chromium; it downloads no browser.
(cd wasm/test && npm ci --ignore-scripts --no-audit --no-fund)
